//! The suites: each a list of test cases, the session they run on, and its PICS template.

pub mod iec104;
pub mod sunspec;

use crate::Error;
use crate::case::TestCase;
use crate::pics::Pics;
use crate::trace::Trace;

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
}
