//! The controlled station (outstation) as sans-IO application logic: a point database, and the answers the
//! standard prescribes to interrogations, counter interrogation, clock synchronisation, read, test and
//! commands (direct and select-before-operate), including the negative confirmations (causes 44–47). Time comes in
//! as an argument; a transport (the `tokio` feature) or a test feeds it.

mod database;
mod outstation;
mod redundancy;

pub use database::{Point, PointDatabase};
pub use outstation::{
    CommandHandler, CommandMode, CommandResult, GLOBAL_ADDRESS, Outstation, OutstationConfig,
    negative_confirmation,
};
pub use redundancy::{GroupStatus, RedundancyGroup, RedundancyGroups};

/// Causes of transmission used by the stations (IEC 60870-5-101 clause 7.2.3).
pub mod cause {
    /// Periodic, cyclic.
    pub const PERIODIC: u8 = 1;
    /// Spontaneous.
    pub const SPONTANEOUS: u8 = 3;
    /// Initialised.
    pub const INITIALISED: u8 = 4;
    /// Request or requested.
    pub const REQUEST: u8 = 5;
    /// Activation.
    pub const ACTIVATION: u8 = 6;
    /// Activation confirmation.
    pub const ACTIVATION_CON: u8 = 7;
    /// Deactivation.
    pub const DEACTIVATION: u8 = 8;
    /// Deactivation confirmation.
    pub const DEACTIVATION_CON: u8 = 9;
    /// Activation termination.
    pub const ACTIVATION_TERM: u8 = 10;
    /// Interrogated by station interrogation.
    pub const STATION_INTERROGATION: u8 = 20;
    /// Requested by general counter request.
    pub const COUNTER_INTERROGATION: u8 = 37;
    /// Unknown type identification.
    pub const UNKNOWN_TYPE: u8 = 44;
    /// Unknown cause of transmission.
    pub const UNKNOWN_CAUSE: u8 = 45;
    /// Unknown common address of ASDU.
    pub const UNKNOWN_COMMON_ADDRESS: u8 = 46;
    /// Unknown information object address.
    pub const UNKNOWN_OBJECT_ADDRESS: u8 = 47;
}
