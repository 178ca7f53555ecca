//! The IEC 60870-5-104 suites: `iec104-outstation` (the device is the controlled station; the runner connects
//! as controlling station) and `iec104-controlling` (the device is the controlling station; the runner listens
//! as controlled station).

mod asdus;
mod controlling;
mod declared_types;
mod energy_router;
mod outstation;
mod router_under_load;
pub mod session;
mod timers;

use super::{CaseSuite, Suite, SuiteSession};
use crate::Error;
use crate::case::TestCase;
use crate::pics::Pics;
use crate::trace::Trace;
pub use session::Session;
use std::net::{TcpListener, ToSocketAddrs};
use std::sync::{Arc, Mutex, PoisonError};

/// `iec104-outstation`: the device under test is an IEC 104 controlled station (an energy router, a meter).
pub type Outstation = CaseSuite<Session>;

impl Outstation {
    /// The suite.
    pub fn new() -> Outstation {
        CaseSuite::from_parts(
            "iec104-outstation",
            "0.2",
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

/// `iec104-controlling`: the device under test is an IEC 104 controlling station (a SCADA master, an agent's
/// link to its energy router). The runner listens at the target and plays the controlled station; the device
/// connects for every case (a controlling station connects again when its connection ends).
pub struct Controlling {
    cases: CaseSuite<Session>,
    /// Bound at the first case and kept for the run, so the device always finds the runner.
    listener: Mutex<Option<(String, Arc<TcpListener>)>>,
}

impl Controlling {
    /// The suite.
    pub fn new() -> Controlling {
        Controlling {
            cases: CaseSuite::from_parts(
                "iec104-controlling",
                "0.1",
                include_str!("../../../data/pics/iec104-controlling.toml"),
                ("iec104", |pics| pics.iec104.is_some()),
                controlling::cases(),
            ),
            listener: Mutex::new(None),
        }
    }

    /// The listener at `target`, bound on first use.
    fn listener(&self, target: &str) -> Result<Arc<TcpListener>, String> {
        let mut bound = self.listener.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((at, listener)) = bound.as_ref()
            && at == target
        {
            return Ok(Arc::clone(listener));
        }
        let address = target
            .to_socket_addrs()
            .map_err(|e| format!("{target}: {e}"))?
            .next()
            .ok_or_else(|| format!("{target}: no address"))?;
        let listener = Arc::new(
            TcpListener::bind(address).map_err(|e| format!("cannot listen at {target}: {e}"))?,
        );
        *bound = Some((target.to_owned(), Arc::clone(&listener)));
        Ok(listener)
    }
}

impl Default for Controlling {
    fn default() -> Controlling {
        Controlling::new()
    }
}

impl Suite for Controlling {
    type Session = Session;

    fn name(&self) -> &'static str {
        self.cases.name()
    }

    fn version(&self) -> &'static str {
        self.cases.version()
    }

    fn cases(&self) -> &[TestCase<Session>] {
        self.cases.cases()
    }

    fn pics_template(&self) -> &'static str {
        self.cases.pics_template()
    }

    fn check_pics(&self, pics: &Pics) -> Result<(), Error> {
        self.cases.check_pics(pics)
    }

    fn open(&self, target: &str, pics: &Pics) -> Result<Session, String> {
        let listener = self.listener(target)?;
        Session::accept(listener, controlling::connect_within(pics), pics)
    }

    fn close(&self, session: Session) -> Trace {
        session.finish()
    }

    fn listens(&self) -> bool {
        true
    }
}
