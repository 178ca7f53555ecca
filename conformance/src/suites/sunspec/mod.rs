//! The Modbus/SunSpec suite `sunspec`: the device under test is a Modbus TCP server with a SunSpec map (a
//! meter, an energy hub, a port); the runner is the client.

mod cases;
pub mod session;

use crate::case::TestCase;
use crate::pics::Pics;
use crate::trace::Trace;
use crate::{Error, Suite};
pub use session::Session;

/// `sunspec`: discovery, the model chain, the declared models, the common model, scale factors, Modbus
/// exceptions and writes read back.
pub struct SunSpec {
    cases: Vec<TestCase<Session>>,
}

impl SunSpec {
    /// The suite.
    pub fn new() -> SunSpec {
        SunSpec {
            cases: cases::cases(),
        }
    }
}

impl Default for SunSpec {
    fn default() -> SunSpec {
        SunSpec::new()
    }
}

impl Suite for SunSpec {
    type Session = Session;

    fn name(&self) -> &'static str {
        "sunspec"
    }

    fn version(&self) -> &'static str {
        "0.1"
    }

    fn cases(&self) -> &[TestCase<Session>] {
        &self.cases
    }

    fn pics_template(&self) -> &'static str {
        include_str!("../../../data/pics/sunspec.toml")
    }

    fn check_pics(&self, pics: &Pics) -> Result<(), Error> {
        if pics.modbus.is_none() {
            return Err(Error::Pics {
                file: "PICS".into(),
                reason: "it has no [modbus] section: the suite needs the device's declaration"
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
