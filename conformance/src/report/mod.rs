//! Reports of a run: JSON (everything, traces included), JUnit XML (for CI systems; requirement IDs as
//! properties) and one self-contained HTML page for people.

mod html;
mod junit;

pub use html::html;
pub use junit::junit;

use crate::runner::Report;

/// The report as pretty JSON: every case with its verdict, requirement IDs, timing and trace.
pub fn json(report: &Report) -> String {
    serde_json::to_string_pretty(report).unwrap_or_default()
}
