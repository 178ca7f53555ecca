//! Skips and expected failures as a file, each with its reason (TOML: `[[skip]]` and `[[expected-failure]]`
//! tables of `id` and `reason`). A skipped case is reported not applicable with the reason; an expected failure
//! that fails does not fail the run, and one that starts passing does — so a fixed device or suite is noticed.

use crate::Error;
use serde::Deserialize;

/// One skip or expected failure.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// The case ID.
    pub id: String,
    /// Why: required, never empty.
    pub reason: String,
}

/// The skips and expected failures of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectations {
    /// Cases not run.
    #[serde(default)]
    pub skip: Vec<Expectation>,
    /// Cases known to fail.
    #[serde(default, rename = "expected-failure")]
    pub expected_failure: Vec<Expectation>,
}

impl Expectations {
    /// Reads the file; every ID must be one of `known` and every reason given.
    pub fn from_toml(source: &str, text: &str, known: &[&str]) -> Result<Expectations, Error> {
        let bad = |reason: String| Error::Selection(format!("{source}: {reason}"));
        let e: Expectations = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        for x in e.skip.iter().chain(&e.expected_failure) {
            if !known.contains(&x.id.as_str()) {
                return Err(bad(format!("{} is not a case of the suite", x.id)));
            }
            if x.reason.trim().is_empty() {
                return Err(bad(format!("{} has no reason", x.id)));
            }
        }
        Ok(e)
    }

    /// Why the case is skipped, if it is.
    pub fn skipped(&self, id: &str) -> Option<&str> {
        self.skip
            .iter()
            .find(|x| x.id == id)
            .map(|x| x.reason.as_str())
    }

    /// Why the case is expected to fail, if it is.
    pub fn expected_to_fail(&self, id: &str) -> Option<&str> {
        self.expected_failure
            .iter()
            .find(|x| x.id == id)
            .map(|x| x.reason.as_str())
    }
}
