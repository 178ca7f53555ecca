//! JUnit XML: one `testsuite`, one `testcase` per case (`classname` the suite, `name` the case ID), the
//! requirement IDs and the clause as properties; fail as `failure`, error and inconclusive as `error`,
//! not-applicable as `skipped`.

use crate::runner::Report;
use crate::verdict::Verdict;
use std::fmt::Write as _;

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if u32::from(c) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => {}
            c => out.push(c),
        }
    }
    out
}

fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// The report as JUnit XML.
pub fn junit(report: &Report) -> String {
    let s = &report.summary;
    let total_ms: u64 = report
        .results
        .iter()
        .map(|r| r.duration_ms)
        .fold(0, u64::saturating_add);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\">",
        escape(&report.suite),
        report.results.len(),
        s.fail,
        s.error.saturating_add(s.inconclusive),
        s.not_applicable,
        seconds(total_ms)
    );
    let _ = writeln!(
        out,
        "  <properties><property name=\"target\" value=\"{}\"/><property name=\"suite-version\" value=\"{}\"/><property name=\"tool\" value=\"{}\"/><property name=\"seed\" value=\"{}\"/></properties>",
        escape(&report.target),
        escape(&report.suite_version),
        escape(&report.tool),
        report.seed
    );
    for r in &report.results {
        let _ = writeln!(
            out,
            "  <testcase classname=\"{}\" name=\"{}\" time=\"{}\">",
            escape(&report.suite),
            escape(&r.case.id),
            seconds(r.duration_ms)
        );
        out.push_str("    <properties>");
        for id in &r.case.requirements {
            let _ = write!(
                out,
                "<property name=\"requirement\" value=\"{}\"/>",
                escape(id)
            );
        }
        let _ = write!(
            out,
            "<property name=\"clause\" value=\"{}\"/><property name=\"verdict\" value=\"{}\"/>",
            escape(&r.case.clause),
            r.verdict.name()
        );
        out.push_str("</properties>\n");
        let detail = escape(&r.verdict.detail());
        if r.unexpected_pass {
            let _ = writeln!(
                out,
                "    <failure message=\"expected to fail ({}), but passed: update the expectations\"/>",
                escape(r.expected_failure.as_deref().unwrap_or_default())
            );
            out.push_str("  </testcase>\n");
            continue;
        }
        if let (Some(why), Verdict::Fail(_)) = (&r.expected_failure, &r.verdict) {
            let _ = writeln!(
                out,
                "    <skipped message=\"expected failure ({}): {detail}\"/>",
                escape(why)
            );
            out.push_str("  </testcase>\n");
            continue;
        }
        match &r.verdict {
            Verdict::Fail(_) => {
                let _ = writeln!(out, "    <failure message=\"{detail}\"/>");
            }
            Verdict::Error(_) | Verdict::Inconclusive(_) => {
                let _ = writeln!(
                    out,
                    "    <error type=\"{}\" message=\"{detail}\"/>",
                    r.verdict.name()
                );
            }
            Verdict::NotApplicable(_) => {
                let _ = writeln!(out, "    <skipped message=\"{detail}\"/>");
            }
            _ => {
                if !detail.is_empty() {
                    let _ = writeln!(out, "    <system-out>{detail}</system-out>");
                }
            }
        }
        out.push_str("  </testcase>\n");
    }
    out.push_str("</testsuite>\n");
    out
}
