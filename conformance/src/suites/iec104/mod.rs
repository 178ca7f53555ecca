//! The IEC 60870-5-104 suites: `iec104-outstation` (the device is the controlled station; the runner connects
//! as controlling station).

mod asdus;
mod outstation;
pub mod session;

use super::{CaseSuite, SuiteSession};
use crate::pics::Pics;
use crate::trace::Trace;
pub use session::Session;

/// `iec104-outstation`: the device under test is an IEC 104 controlled station (an energy router, a meter).
pub type Outstation = CaseSuite<Session>;

impl Outstation {
    /// The suite.
    pub fn new() -> Outstation {
        CaseSuite::from_parts(
            "iec104-outstation",
            "0.1",
            include_str!("../../../data/pics/iec104-outstation.toml"),
            ("iec104", |pics| pics.iec104.is_some()),
            outstation::cases(),
        )
    }
}

impl Default for Outstation {
    fn default() -> Outstation {
        Outstation::new()
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
