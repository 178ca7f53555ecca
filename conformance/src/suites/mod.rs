//! The suites: each a list of test cases, the session they run on, and its PICS template.

pub mod iec104;
pub mod modbus_device;
mod modbus_functions;
pub mod sunspec;

use crate::Error;
use crate::case::TestCase;
use crate::pics::Pics;
use crate::trace::Trace;

/// Resolves `target` (`HOST:PORT`) and connects to it within 10 s, with Nagle off: how a suite's session
/// reaches the device under test.
pub(crate) fn connect(target: &str) -> Result<std::net::TcpStream, String> {
    use std::net::ToSocketAddrs;
    let address = target
        .to_socket_addrs()
        .map_err(|e| format!("{target}: {e}"))?
        .next()
        .ok_or_else(|| format!("{target}: no address"))?;
    let stream = std::net::TcpStream::connect_timeout(&address, std::time::Duration::from_secs(10))
        .map_err(|e| format!("cannot connect to {target}: {e}"))?;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// A conformance suite: the runner opens one session per case.
pub trait Suite {
    /// What a case runs on: a connection to the device under test, with its trace.
    type Session;
    /// The suite's name on the command line (`iec104-outstation`).
    fn name(&self) -> &'static str;
    /// The suite's version, recorded in reports and certificates.
    fn version(&self) -> &'static str;
    /// Its cases, in the order they run.
    fn cases(&self) -> &[TestCase<Self::Session>];
    /// The commented PICS template (`--pics-template`).
    fn pics_template(&self) -> &'static str;
    /// Refuses a PICS that lacks what the suite needs at all (its protocol's section).
    fn check_pics(&self, pics: &Pics) -> Result<(), Error>;
    /// Opens a session with the device at `target`.
    fn open(&self, target: &str, pics: &Pics) -> Result<Self::Session, String>;
    /// Ends a session, giving its trace.
    fn close(&self, session: Self::Session) -> Trace;
    /// Whether the runner listens at the target and the device connects (the device is a client, such as
    /// an IEC 104 controlling station), rather than the runner connecting to the device.
    fn listens(&self) -> bool {
        false
    }
}

/// What a suite's session is: opened on the device at a target, closed into its trace.
pub trait SuiteSession: Sized {
    /// Opens a session with the device at `target`, as its PICS declares it.
    fn connect(target: &str, pics: &Pics) -> Result<Self, String>;
    /// Ends the session, giving its trace.
    fn finish(self) -> Trace;
}

/// A suite that is a list of cases run on one kind of session: its name, version, PICS template, and the
/// PICS section it cannot run without. The protocol suites are instances ([`iec104::Outstation`],
/// [`sunspec::SunSpec`]).
pub struct CaseSuite<S> {
    name: &'static str,
    version: &'static str,
    template: &'static str,
    /// The PICS section the suite needs (`[iec104]`), and whether a PICS has it.
    section: (&'static str, fn(&Pics) -> bool),
    cases: Vec<TestCase<S>>,
}

impl<S> CaseSuite<S> {
    fn from_parts(
        name: &'static str,
        version: &'static str,
        template: &'static str,
        section: (&'static str, fn(&Pics) -> bool),
        cases: Vec<TestCase<S>>,
    ) -> Self {
        CaseSuite {
            name,
            version,
            template,
            section,
            cases,
        }
    }
}

impl<S: SuiteSession> Suite for CaseSuite<S> {
    type Session = S;

    fn name(&self) -> &'static str {
        self.name
    }

    fn version(&self) -> &'static str {
        self.version
    }

    fn cases(&self) -> &[TestCase<S>] {
        &self.cases
    }

    fn pics_template(&self) -> &'static str {
        self.template
    }

    fn check_pics(&self, pics: &Pics) -> Result<(), Error> {
        let (section, has) = self.section;
        if has(pics) {
            return Ok(());
        }
        Err(Error::Pics {
            file: "PICS".into(),
            reason: format!(
                "it has no [{section}] section: the suite needs the device's declaration"
            ),
        })
    }

    fn open(&self, target: &str, pics: &Pics) -> Result<S, String> {
        S::connect(target, pics)
    }

    fn close(&self, session: S) -> Trace {
        session.finish()
    }
}
