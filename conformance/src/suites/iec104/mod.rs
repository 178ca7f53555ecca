//! The IEC 60870-5-104 suites: `iec104-outstation` (the device is the controlled station; the runner connects
//! as controlling station).

mod asdus;
mod outstation;
pub mod session;

use crate::case::TestCase;
use crate::pics::Pics;
use crate::trace::Trace;
use crate::{Error, Suite};
pub use session::Session;

/// `iec104-outstation`: the device under test is an IEC 104 controlled station (an energy router, a meter).
pub struct Outstation {
    cases: Vec<TestCase<Session>>,
}

impl Outstation {
    /// The suite.
    pub fn new() -> Outstation {
        Outstation {
            cases: outstation::cases(),
        }
    }
}

impl Default for Outstation {
    fn default() -> Outstation {
        Outstation::new()
    }
}

impl Suite for Outstation {
    type Session = Session;

    fn name(&self) -> &'static str {
        "iec104-outstation"
    }

    fn version(&self) -> &'static str {
        "0.1"
    }

    fn cases(&self) -> &[TestCase<Session>] {
        &self.cases
    }

    fn pics_template(&self) -> &'static str {
        include_str!("../../../data/pics/iec104-outstation.toml")
    }

    fn check_pics(&self, pics: &Pics) -> Result<(), Error> {
        if pics.iec104.is_none() {
            return Err(Error::Pics {
                file: "PICS".into(),
                reason: "it has no [iec104] section: the suite needs the station's declaration"
                    .into(),
            });
        }
        Ok(())
    }

    fn open(&self, target: &str, pics: &Pics) -> Result<Session, String> {
        Session::connect(target, pics)
    }

    fn close(&self, session: Session) -> Trace {
        session.finish()
    }
}
