//! Test cases: a stable ID, the requirements and protocol clause they check, maturity, and the code that runs.

use crate::catalogue::Catalogue;
use crate::pics::Pics;
use crate::verdict::Verdict;
use serde::Serialize;
use std::sync::OnceLock;

/// How settled the requirement a case checks is: the IDEA standard is a draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Maturity {
    /// The requirement and the case are settled; a failure fails certification.
    Stable,
    /// The requirement may still change; a failure is reported but does not fail the run.
    Watchlist,
}

/// Whether a case applies to a device, by its PICS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applicability {
    /// The PICS declares what the case needs.
    Applies,
    /// The PICS does not say: the case runs (an item not declared is not assumed false) and says so.
    Undeclared(String),
    /// The PICS declares the device does not implement it.
    NotApplicable(String),
}

/// One test case of a suite. `run` gets a session with the device under test and returns the verdict.
pub struct TestCase<S> {
    /// `<suite>/<clause>/<n>`, with a trailing `N` for a negative test (the device must refuse or resist).
    pub id: &'static str,
    /// What it checks, in a line.
    pub title: &'static str,
    /// The IDs of `idea requirements` it checks.
    pub requirements: &'static [&'static str],
    /// The protocol clause it comes from (IEC 60870-5-104 clause, Modbus section, SunSpec model).
    pub clause: &'static str,
    /// How settled its requirement is.
    pub maturity: Maturity,
    /// Whether it applies to a device with this PICS.
    pub applies: fn(&Pics) -> Applicability,
    /// Runs the case.
    pub run: fn(&mut S, &Pics) -> Verdict,
}

impl<S> TestCase<S> {
    /// Whether the ID marks a negative test.
    pub fn is_negative(&self) -> bool {
        self.id.ends_with('N')
    }
}

/// What reports say about a case besides its verdict.
#[derive(Debug, Clone, Serialize)]
pub struct CaseInfo {
    /// The case ID.
    pub id: String,
    /// Its title.
    pub title: String,
    /// The requirement IDs it checks.
    pub requirements: Vec<String>,
    /// Each of those requirements quoted from the catalogue (`idea requirements`), in the same order.
    pub quoted: Vec<String>,
    /// The protocol clause.
    pub clause: String,
    /// Its maturity.
    pub maturity: Maturity,
}

/// The catalogue's text of requirement `id` (the catalogue's tests see that every case's IDs are in it).
fn quote(id: &str) -> String {
    static CATALOGUE: OnceLock<Option<Catalogue>> = OnceLock::new();
    CATALOGUE
        .get_or_init(|| Catalogue::builtin().ok())
        .as_ref()
        .and_then(|c| c.get(id))
        .map_or_else(
            || format!("{id}: not in the requirement catalogue"),
            |r| r.text.clone(),
        )
}

impl<S> From<&TestCase<S>> for CaseInfo {
    fn from(case: &TestCase<S>) -> CaseInfo {
        CaseInfo {
            id: case.id.to_owned(),
            title: case.title.to_owned(),
            requirements: case.requirements.iter().map(|r| (*r).to_owned()).collect(),
            quoted: case.requirements.iter().map(|r| quote(r)).collect(),
            clause: case.clause.to_owned(),
            maturity: case.maturity,
        }
    }
}
