//! Verdicts of test cases, as conformance tools give them (ETSI TTCN-3 verdicts, with the h2spec and OCTT
//! distinctions between a device that failed and a run that could not decide).

use serde::{Deserialize, Serialize};

/// What a test case found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", content = "detail", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Verdict {
    /// The device behaved as the standard requires.
    Pass,
    /// The device behaved acceptably but not strictly (the remarks say how).
    PassWithRemarks(Vec<String>),
    /// The device broke a requirement (the text says what it did and what was required).
    Fail(String),
    /// The case does not apply to this device, by its PICS.
    NotApplicable(String),
    /// The device did not answer in time, so the case could not decide.
    Inconclusive(String),
    /// The runner itself failed (it could not connect, or a case could not be carried out).
    Error(String),
}

impl Verdict {
    /// The kebab-case name used in reports: `pass`, `pass-with-remarks`, `fail`, `not-applicable`,
    /// `inconclusive`, `error`.
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::PassWithRemarks(_) => "pass-with-remarks",
            Verdict::Fail(_) => "fail",
            Verdict::NotApplicable(_) => "not-applicable",
            Verdict::Inconclusive(_) => "inconclusive",
            Verdict::Error(_) => "error",
        }
    }

    /// Whether the case passed (strictly or with remarks).
    pub fn passed(&self) -> bool {
        matches!(self, Verdict::Pass | Verdict::PassWithRemarks(_))
    }

    /// The detail: the remarks, the failure, the reason; empty for a plain pass.
    pub fn detail(&self) -> String {
        match self {
            Verdict::Pass => String::new(),
            Verdict::PassWithRemarks(remarks) => remarks.join("; "),
            Verdict::Fail(d)
            | Verdict::NotApplicable(d)
            | Verdict::Inconclusive(d)
            | Verdict::Error(d) => d.clone(),
        }
    }

    /// `Pass` when there is no remark, else `PassWithRemarks`.
    pub fn pass_noting(remarks: Vec<String>) -> Verdict {
        if remarks.is_empty() {
            Verdict::Pass
        } else {
            Verdict::PassWithRemarks(remarks)
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let detail = self.detail();
        if detail.is_empty() {
            f.write_str(self.name())
        } else {
            write!(f, "{}: {detail}", self.name())
        }
    }
}
