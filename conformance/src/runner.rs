//! The runner: the selected cases of a suite, each on a fresh session with the device under test, their
//! verdicts, timings and traces gathered into a [`Report`].

use crate::case::{Applicability, CaseInfo, Maturity, TestCase};
use crate::pics::Pics;
use crate::trace::{Trace, TraceEntry};
use crate::verdict::Verdict;
use crate::{Error, Suite};
use serde::Serialize;
use std::time::Instant;

/// Which cases run: `only` (IDs or ID prefixes; empty means all) minus `skip`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Selection {
    /// IDs or prefixes to run; empty runs every case.
    pub only: Vec<String>,
    /// IDs or prefixes not to run.
    pub skip: Vec<String>,
}

impl Selection {
    fn matches(patterns: &[String], id: &str) -> bool {
        patterns
            .iter()
            .any(|p| id == p || id.starts_with(&format!("{p}/")))
    }

    /// Whether the case with `id` is selected.
    pub fn selects(&self, id: &str) -> bool {
        (self.only.is_empty() || Selection::matches(&self.only, id))
            && !Selection::matches(&self.skip, id)
    }
}

/// One case's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    /// The case.
    #[serde(flatten)]
    pub case: CaseInfo,
    /// What it found.
    pub verdict: Verdict,
    /// How long it took, milliseconds (wall clock).
    pub duration_ms: u64,
    /// When it started, milliseconds since the Unix epoch (wall clock).
    pub started_unix_ms: u64,
    /// The runner's end of the connection, once connected.
    pub runner_address: Option<String>,
    /// The device's end of the connection, once connected.
    pub device_address: Option<String>,
    /// Why the case was expected to fail, when the expectations file says so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_failure: Option<String>,
    /// An expected failure that passed: the run fails so that it is noticed.
    pub unexpected_pass: bool,
    /// The wire trace.
    pub trace: Vec<TraceEntry>,
    /// The connection's ends as addresses, for the pcap evidence.
    #[serde(skip)]
    pub endpoints: Option<(std::net::SocketAddr, std::net::SocketAddr)>,
}

impl CaseResult {
    /// The case's exchange as a pcap file, if a connection was made.
    pub fn pcap(&self) -> Option<Vec<u8>> {
        let (runner, device) = self.endpoints?;
        Some(crate::pcap::pcap(
            runner,
            device,
            self.started_unix_ms,
            &self.trace,
        ))
    }
}

/// Counts of verdicts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Passed.
    pub pass: usize,
    /// Passed with remarks.
    pub pass_with_remarks: usize,
    /// Failed.
    pub fail: usize,
    /// Not applicable.
    pub not_applicable: usize,
    /// Inconclusive.
    pub inconclusive: usize,
    /// Runner errors.
    pub error: usize,
}

/// A run of a suite against one device.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The tool and its version.
    pub tool: String,
    /// The suite.
    pub suite: String,
    /// The suite's version.
    pub suite_version: String,
    /// The device's address.
    pub target: String,
    /// The seed of anything random in the run.
    pub seed: u64,
    /// Which cases were asked for.
    pub selection: Selection,
    /// The vendor's declaration.
    pub pics: Pics,
    /// Every selected case, in suite order.
    pub results: Vec<CaseResult>,
    /// The counts.
    pub summary: Summary,
    /// Whether the device passed: every selected stable case passed or does not apply.
    pub passed: bool,
}

/// How a run is configured.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// The device's address, `HOST:PORT`.
    pub target: String,
    /// The seed.
    pub seed: u64,
    /// Which cases.
    pub selection: Selection,
    /// Skips and expected failures, each with its reason.
    pub expectations: crate::expectations::Expectations,
}

/// Runs the selected cases of `suite` against the device, calling `progress` before each case (with `None`)
/// and after it (with its result).
pub fn run<S: Suite>(
    suite: &S,
    pics: &Pics,
    config: &RunConfig,
    progress: &mut dyn FnMut(&CaseInfo, Option<&CaseResult>),
) -> Result<Report, Error> {
    suite.check_pics(pics)?;
    let selected: Vec<&TestCase<S::Session>> = suite
        .cases()
        .iter()
        .filter(|c| config.selection.selects(c.id))
        .collect();
    if selected.is_empty() {
        return Err(Error::Selection(format!(
            "no case of {} matches the selection",
            suite.name()
        )));
    }
    let mut results = Vec::with_capacity(selected.len());
    for case in selected {
        let info = CaseInfo::from(case);
        progress(&info, None);
        let started = Instant::now();
        let (verdict, trace) = match config.expectations.skipped(case.id) {
            Some(reason) => (Verdict::NotApplicable(format!("skipped: {reason}")), None),
            None => run_case(suite, case, pics, config),
        };
        let expected_failure = config
            .expectations
            .expected_to_fail(case.id)
            .map(str::to_owned);
        let unexpected_pass = expected_failure.is_some() && verdict.passed();
        let endpoints = trace.as_ref().and_then(Trace::endpoints);
        let result = CaseResult {
            case: info.clone(),
            verdict,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            started_unix_ms: trace.as_ref().map_or(0, Trace::start_unix_ms),
            runner_address: endpoints.map(|(r, _)| r.to_string()),
            device_address: endpoints.map(|(_, d)| d.to_string()),
            expected_failure,
            unexpected_pass,
            trace: trace.map(Trace::into_entries).unwrap_or_default(),
            endpoints,
        };
        progress(&info, Some(&result));
        results.push(result);
    }
    let summary = summarise(&results);
    let passed = results.iter().all(|r| {
        if r.unexpected_pass {
            return false;
        }
        r.case.maturity == Maturity::Watchlist
            || r.verdict.passed()
            || matches!(r.verdict, Verdict::NotApplicable(_))
            || (r.expected_failure.is_some() && matches!(r.verdict, Verdict::Fail(_)))
    });
    Ok(Report {
        tool: format!("idea-conformance {}", env!("CARGO_PKG_VERSION")),
        suite: suite.name().to_owned(),
        suite_version: suite.version().to_owned(),
        target: config.target.clone(),
        seed: config.seed,
        selection: config.selection.clone(),
        pics: pics.clone(),
        results,
        summary,
        passed,
    })
}

fn run_case<S: Suite>(
    suite: &S,
    case: &TestCase<S::Session>,
    pics: &Pics,
    config: &RunConfig,
) -> (Verdict, Option<Trace>) {
    let undeclared = match (case.applies)(pics) {
        Applicability::NotApplicable(why) => return (Verdict::NotApplicable(why), None),
        Applicability::Undeclared(what) => Some(what),
        Applicability::Applies => None,
    };
    let mut session = match suite.open(&config.target, pics) {
        Ok(s) => s,
        Err(e) => {
            return (Verdict::Error(format!("cannot open a session: {e}")), None);
        }
    };
    let mut verdict = (case.run)(&mut session, pics);
    if let Some(what) = undeclared {
        let remark = format!("the PICS does not declare {what}");
        verdict = match verdict {
            Verdict::Pass => Verdict::PassWithRemarks(vec![remark]),
            Verdict::PassWithRemarks(mut r) => {
                r.push(remark);
                Verdict::PassWithRemarks(r)
            }
            other => other,
        };
    }
    (verdict, Some(suite.close(session)))
}

fn summarise(results: &[CaseResult]) -> Summary {
    let mut s = Summary::default();
    for r in results {
        let slot = match r.verdict {
            Verdict::Pass => &mut s.pass,
            Verdict::PassWithRemarks(_) => &mut s.pass_with_remarks,
            Verdict::Fail(_) => &mut s.fail,
            Verdict::NotApplicable(_) => &mut s.not_applicable,
            Verdict::Inconclusive(_) => &mut s.inconclusive,
            _ => &mut s.error,
        };
        *slot = slot.saturating_add(1);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_selection_matches_whole_ids_and_clause_prefixes() {
        let s = Selection {
            only: vec!["iec104-outstation/5.3".into()],
            skip: vec!["iec104-outstation/5.3/4N".into()],
        };
        assert!(s.selects("iec104-outstation/5.3/1"));
        assert!(!s.selects("iec104-outstation/5.3/4N"));
        assert!(
            !s.selects("iec104-outstation/5.3.1/1"),
            "a prefix ends at a slash"
        );
        assert!(!s.selects("iec104-outstation/7.4.5/1"));
        assert!(Selection::default().selects("anything"));
    }
}
