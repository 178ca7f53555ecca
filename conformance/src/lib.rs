//! IDEA conformance: the requirement catalogue that reports and certificates quote, and the runner that
//! certifies devices against it.
//!
//! What it does: loads the catalogue of numbered requirements (`data/requirements.toml`) and renders it; runs a
//! suite's test cases against a device ([`runner::run`]) — each case with a stable ID
//! (`<suite>/<clause>/<n>`, `N` for negative tests), the requirement IDs and protocol clause it checks, a
//! maturity flag, and one of six verdicts ([`Verdict`]) — selected by the vendor's PICS ([`Pics`]), with a wire
//! trace per case; writes JSON, JUnit XML and self-contained HTML reports ([`report`]). Suites: `iec104-outstation`
//! ([`suites::iec104::Outstation`]: the runner connects to a controlled station), `iec104-controlling`
//! ([`suites::iec104::Controlling`]: the runner listens and a controlling station connects) and `sunspec`
//! ([`suites::sunspec::SunSpec`]).
//!
//! Evidence ([`evidence`]): the reports, each case's trace as text and its exchange as pcap for Wireshark; a
//! certificate ([`certificate`]) listing the SHA-256 of every evidence file, signed with the lab's ed25519 key,
//! and its verification.
//!
//! What it does not do yet: the 2030.5, FIPA agent, TE and NG suites; the IEC 104 energy-router profile cases
//! (NG-R1..R5 under commands) and select-before-operate timeout.
//!
//! ```
//! let catalogue = idea_conformance::Catalogue::builtin()?;
//! let te = catalogue.in_area("te");
//! assert!(te.iter().any(|r| r.id == "TE-08"));
//! let json = idea_conformance::render::json(&te);
//! assert!(json.contains("\"TE-08\""));
//! // The coverage comes from the suites' own cases.
//! let coverage = idea_conformance::coverage::cases_by_requirement();
//! assert!(coverage["NG-R6"].contains(&"iec104-outstation/5.3/1".to_owned()));
//! // Every case of a suite names requirements the catalogue has.
//! use idea_conformance::Suite;
//! let suite = idea_conformance::suites::iec104::Outstation::new();
//! for case in suite.cases() {
//!     assert!(case.requirements.iter().all(|id| catalogue.get(id).is_some()), "{}", case.id);
//! }
//! # Ok::<(), idea_conformance::Error>(())
//! ```
#![forbid(unsafe_code)]

mod case;
mod catalogue;
pub mod certificate;
pub mod coverage;
mod error;
pub mod evidence;
pub mod expectations;
mod pcap;
mod pics;
pub mod render;
pub mod report;
pub mod runner;
pub mod suites;
mod trace;
mod verdict;

pub use case::{Applicability, CaseInfo, Maturity, TestCase};
pub use catalogue::{Area, Catalogue, Check, Requirement};
pub use error::Error;
pub use pcap::pcap;
pub use pics::{DevicePics, Iec104Pics, ModbusPics, Pics, WritePoint};
pub use suites::Suite;
pub use trace::{Direction, MAX_TRACE_ENTRIES, Trace, TraceEntry};
pub use verdict::Verdict;
