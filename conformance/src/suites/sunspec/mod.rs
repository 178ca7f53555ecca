//! The Modbus/SunSpec suite `sunspec`: the device under test is a Modbus TCP server with a SunSpec map (a
//! meter, an energy hub, a port); the runner is the client.

mod adoption;
pub(crate) mod cases;
mod freq_droop;
pub mod session;

use super::{CaseSuite, SuiteSession};
use crate::pics::Pics;
use crate::trace::Trace;
pub use session::Session;

/// `sunspec`: discovery, the model chain, the declared models, the common model, scale factors, Modbus
/// exceptions and writes read back.
pub type SunSpec = CaseSuite<Session>;

impl SunSpec {
    /// The suite.
    pub fn new() -> SunSpec {
        CaseSuite::from_parts(
            "sunspec",
            "0.2",
            include_str!("../../../data/pics/sunspec.toml"),
            ("modbus", |pics| pics.modbus.is_some()),
            cases::cases(),
        )
    }
}

impl Default for SunSpec {
    fn default() -> SunSpec {
        SunSpec::new()
    }
}

impl SuiteSession for Session {
    fn connect(target: &str, pics: &Pics) -> Result<Session, String> {
        Session::connect(target, pics)
    }

    fn finish(self) -> Trace {
        Session::finish(self)
    }
}
