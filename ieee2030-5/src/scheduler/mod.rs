//! The DER event scheduler of an IEEE 2030.5 client (IEEE 2030.5-2018 clause 10.10, DER function set, and
//! clause 12.1.3, event rules): from the `DERProgram`s assigned to one EndDevice, their `DERControl` events
//! and `DefaultDERControl`s, it decides which control holds each mode at each moment and which `Response`s
//! the device owes.
//!
//! What it does: primacy between programs, superseding by creation time between overlapping events on the
//! same modes, randomised start and duration (seeded, reproducible), cancellation with and without
//! randomisation, event states, the default control when no event holds a mode, the server's clock offset
//! from `/tm`, and the response codes of Table 27 with their triggers and `responseRequired` bits.
//!
//! What it does not do: fetch anything, keep a clock or draw random numbers. It is sans-IO: every input
//! carries `now` (device time, Unix seconds); [`Scheduler::poll_timeout`] says when to call
//! [`Scheduler::handle_timeout`]; responses wait in [`Scheduler::poll_response`] for the caller to post.
//! It does not resolve the curves a mode links to (`opModVoltVar` holds a link; the caller fetches it).
//!
//! ```
//! use ieee2030_5::primitives::{HexBinary, Mrid};
//! use ieee2030_5::resources::{DERControl, DERControlBase, DERProgram, DateTimeInterval, EventStatus};
//! use ieee2030_5::scheduler::{DerMode, ModeSet, ResponseStatus, Scheduler, SchedulerConfig};
//!
//! let mut scheduler = Scheduler::new(SchedulerConfig {
//!     lfdi: HexBinary([0x3E; 20]),
//!     device_category: None,
//!     supported: ModeSet::all(),
//!     seed: 1,
//! });
//! let program = DERProgram { mrid: Mrid::from([1; 16]), primacy: 1, ..Default::default() };
//! let limit = DERControl {
//!     mrid: Mrid::from([2; 16]),
//!     creation_time: 900,
//!     interval: DateTimeInterval { start: 1_000, duration: 600, ..Default::default() },
//!     event_status: EventStatus { current_status: 0, date_time: 900, ..Default::default() },
//!     der_control_base: DERControlBase { op_mod_max_lim_w: Some(5_000), ..Default::default() },
//!     response_required: Some(HexBinary([0x03])),
//!     reply_to: Some("/rsps/1/rsp".into()),
//!     ..Default::default()
//! };
//!
//! scheduler.update_program("https://server", &program, &[limit], None, 950);
//! assert_eq!(scheduler.poll_response().and_then(|r| r.status()), Some(ResponseStatus::EventReceived));
//! assert_eq!(scheduler.poll_timeout(), Some(1_000));
//!
//! scheduler.handle_timeout(1_000);
//! assert_eq!(scheduler.active().base().op_mod_max_lim_w, Some(5_000));
//! assert_eq!(scheduler.poll_response().and_then(|r| r.status()), Some(ResponseStatus::EventStarted));
//!
//! scheduler.handle_timeout(1_600);
//! assert!(scheduler.active().source(DerMode::MaxLimW).is_none());
//! assert_eq!(scheduler.poll_response().and_then(|r| r.status()), Some(ResponseStatus::EventCompleted));
//! ```

mod active;
mod event;
mod modes;
mod randomize;
mod response;
mod schedule;

pub use active::{ActiveControls, ControlSource};
pub use event::EventState;
pub use modes::{CapabilityBit, DerMode, ModeSet};
pub use response::{ResponseRequired, ResponseStatus};
pub use schedule::{
    EventView, OutgoingResponse, Scheduler, SchedulerConfig, SchedulerEvent, TIME_LIMIT,
};

use crate::primitives::Mrid;

/// Unix time in seconds.
pub type UnixTime = i64;

/// A DER program: the server it comes from (the caller's name for it, such as its base URL) and its mRID.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProgramId {
    /// The server.
    pub server: String,
    /// The program's mRID.
    pub mrid: Mrid,
}
