//! A run's evidence as files: the reports, and per case its wire trace as text and its exchange as pcap. The
//! certificate lists each with its SHA-256, so a lab's report cannot be altered after it was signed.

use crate::report;
use crate::runner::{CaseResult, Report};
use std::fmt::Write as _;

/// The file name stem of a case (`iec104-outstation/5.3/1` → `iec104-outstation_5.3_1`).
pub fn case_stem(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A case's trace, one line per unit: time, direction, what it is, its bytes.
pub fn trace_text(result: &CaseResult) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}  {}", result.case.id, result.case.title);
    let _ = writeln!(out, "verdict: {}", result.verdict);
    for e in &result.trace {
        let arrow = match e.direction {
            crate::Direction::Sent => "->",
            crate::Direction::Received => "<-",
            crate::Direction::Note => "  ",
        };
        let _ = writeln!(out, "{:>8} ms {arrow} {}", e.at_ms, e.summary);
        if !e.hex.is_empty() {
            let _ = writeln!(out, "{:>14}{}", "", e.hex);
        }
    }
    out
}

/// Every evidence file of a run, by its path under the report directory: `report.json`,
/// `report.junit.xml`, `report.html`, and `cases/<stem>.txt` and `cases/<stem>.pcap` for each case that
/// connected.
pub fn files(report: &Report) -> Vec<(String, Vec<u8>)> {
    let mut out = vec![
        ("report.json".to_owned(), report::json(report).into_bytes()),
        (
            "report.junit.xml".to_owned(),
            report::junit(report).into_bytes(),
        ),
        ("report.html".to_owned(), report::html(report).into_bytes()),
    ];
    for r in &report.results {
        let stem = case_stem(&r.case.id);
        out.push((format!("cases/{stem}.txt"), trace_text(r).into_bytes()));
        if let Some(pcap) = r.pcap() {
            out.push((format!("cases/{stem}.pcap"), pcap));
        }
    }
    out
}
