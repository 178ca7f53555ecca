//! The cell's equipment side of the agent (AG-07, AG-11), without I/O:
//! - [`ConnectionController`]: the cell's local automation. The agent gives it setpoints at the connection
//!   point ([`idea_proto::SetpointCommand`]: net export, W); it tracks them with the cell's storage, reading
//!   the connection meter — the agent never drives the equipment itself (AG-11).
//! - [`IntervalMeter`]: the agent's own measurement of each commanded interval (UC-08) from the connection
//!   meter's cumulative registers, as [`idea_proto::MeasurementReport`]s.
//! - [`MeterGateway`]: the meter's side of meter-to-cash (TE-04): readings signed by the meter's avatar, and
//!   the delivery tokens the TE node makes of them, checked and signed.
//!
//! The tokio adapters (feature `devices`) drive these over Modbus/SunSpec, IEC 104 and IEEE 2030.5 to
//! `idea-sim` or real devices ([`link`]).

mod controller;
#[cfg(feature = "devices")]
mod der_link;
mod gateway;
#[cfg(feature = "devices")]
pub mod gateway_link;
#[cfg(feature = "devices")]
mod iec104_link;
mod interval;
#[cfg(feature = "devices")]
pub mod link;
#[cfg(feature = "devices")]
mod sunspec;

pub use controller::{CONTROL_GAIN, ConnectionController, MAX_SETPOINTS};
#[cfg(feature = "devices")]
pub use der_link::DerControls;
pub use gateway::MeterGateway;
pub use interval::{IntervalMeter, MAX_OPEN_INTERVALS};
