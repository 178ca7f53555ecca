//! One self-contained HTML report a lab can hand to a vendor: the run's facts, a summary, every case with its
//! requirement IDs and verdict, filters by verdict, and each case's wire trace one click away. Nothing is
//! fetched from elsewhere; `#verdict=fail` in the address opens it filtered.

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
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;color:#1d2330}\
h1{font-size:22px;margin:0 0 4px}.facts{color:#555;margin:0 0 16px}.badge{display:inline-block;padding:4px 10px;\
border-radius:4px;color:#fff;font-weight:600}.PASSED{background:#1f7a3d}.NOT-PASSED{background:#b3261e}\
.counts span{margin-right:14px}.filters button{margin:12px 6px 12px 0;padding:5px 10px;border:1px solid #999;\
background:#f4f4f4;border-radius:4px;cursor:pointer}.filters button.on{background:#1d2330;color:#fff}\
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e2e2e2;\
vertical-align:top;font-size:14px}th{background:#f0f2f5}.v{font-weight:600;white-space:nowrap}.pass{color:#1f7a3d}\
.pass-with-remarks{color:#7a6a00}.fail{color:#b3261e}.not-applicable{color:#666}.inconclusive{color:#a15c00}\
.error{color:#7b1fa2}code{font-size:13px}pre{background:#f7f7f9;padding:8px;overflow-x:auto;font-size:12px}\
.detail{color:#444}";

const SCRIPT: &str = "function show(v){document.querySelectorAll('tr.case').forEach(function(r){\
var hide=v!=='all'&&r.dataset.verdict!==v;r.hidden=hide;var t=document.getElementById(r.id+'-trace');\
if(t)t.hidden=hide;});document.querySelectorAll('.filters button').forEach(function(b){\
b.classList.toggle('on',b.dataset.verdict===v);});}\
document.querySelectorAll('.filters button').forEach(function(b){b.addEventListener('click',function(){\
show(b.dataset.verdict);});});var m=location.hash.match(/verdict=([a-z-]+)/);show(m?m[1]:'all');";

/// The verdict's detail, and what the expectations file says of the case.
fn annotation(r: &crate::runner::CaseResult) -> String {
    let mut notes = Vec::new();
    let detail = r.verdict.detail();
    if !detail.is_empty() {
        notes.push(escape(&detail));
    }
    match (&r.expected_failure, r.unexpected_pass) {
        (Some(why), true) => notes.push(format!(
            "<b>expected to fail ({}), but passed</b>",
            escape(why)
        )),
        (Some(why), false) => notes.push(format!("expected failure: {}", escape(why))),
        (None, _) => {}
    }
    notes
        .iter()
        .map(|n| format!("<br><span class=\"detail\">{n}</span>"))
        .collect()
}

/// The report as one HTML page.
pub fn html(report: &Report) -> String {
    let s = &report.summary;
    let device = &report.pics.device;
    let verdict_badge = if report.passed {
        "PASSED"
    } else {
        "NOT-PASSED"
    };
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} — {}</title><style>{STYLE}</style></head><body>\n",
        escape(&report.suite),
        escape(&device.model)
    );
    let _ = writeln!(
        out,
        "<h1>{} {} <span class=\"badge {verdict_badge}\" id=\"outcome\">{}</span></h1>",
        escape(&report.suite),
        escape(&report.suite_version),
        verdict_badge.replace('-', " ")
    );
    let _ = writeln!(
        out,
        "<p class=\"facts\">{} {} {} at <code>{}</code> · {} · seed {}</p>",
        escape(&device.vendor),
        escape(&device.model),
        escape(&device.version),
        escape(&report.target),
        escape(&report.tool),
        report.seed
    );
    let _ = writeln!(
        out,
        "<p class=\"counts\" id=\"counts\"><span><b>{}</b> cases</span><span class=\"pass\">{} pass</span>\
<span class=\"pass-with-remarks\">{} pass with remarks</span><span class=\"fail\">{} fail</span>\
<span class=\"not-applicable\">{} not applicable</span><span class=\"inconclusive\">{} inconclusive</span>\
<span class=\"error\">{} errors</span></p>",
        report.results.len(),
        s.pass,
        s.pass_with_remarks,
        s.fail,
        s.not_applicable,
        s.inconclusive,
        s.error
    );
    out.push_str("<div class=\"filters\">");
    for v in [
        "all",
        "pass",
        "pass-with-remarks",
        "fail",
        "not-applicable",
        "inconclusive",
        "error",
    ] {
        let _ = write!(out, "<button data-verdict=\"{v}\">{v}</button>");
    }
    out.push_str("</div>\n<table><thead><tr><th>Case</th><th>Requirements</th><th>Clause</th><th>Verdict</th><th>ms</th></tr></thead><tbody>\n");
    for (i, r) in report.results.iter().enumerate() {
        let name = r.verdict.name();
        let _ = writeln!(
            out,
            "<tr class=\"case\" id=\"case-{i}\" data-verdict=\"{name}\"><td><code>{}</code><br>{}{}</td><td>{}</td><td>{}</td><td class=\"v {name}\">{name}</td><td>{}</td></tr>",
            escape(&r.case.id),
            escape(&r.case.title),
            annotation(r),
            requirements(&r.case),
            escape(&r.case.clause),
            r.duration_ms
        );
        if !r.trace.is_empty() || !matches!(r.verdict, Verdict::NotApplicable(_)) {
            let mut trace = String::new();
            for e in &r.trace {
                let arrow = match e.direction {
                    crate::Direction::Sent => "→",
                    crate::Direction::Received => "←",
                    crate::Direction::Note => "·",
                };
                let _ = writeln!(trace, "{:>7} ms {arrow} {}  {}", e.at_ms, e.summary, e.hex);
            }
            let _ = writeln!(
                out,
                "<tr class=\"trace\" id=\"case-{i}-trace\"><td colspan=\"5\"><details><summary>trace ({} units)</summary>{}<pre>{}</pre></details></td></tr>",
                r.trace.len(),
                quotes(&r.case),
                escape(&trace)
            );
        }
    }
    let _ = write!(
        out,
        "</tbody></table>\n<script>{SCRIPT}</script>\n</body></html>\n"
    );
    out
}

/// The requirement IDs, each with its text as a tooltip.
fn requirements(case: &crate::case::CaseInfo) -> String {
    case.requirements
        .iter()
        .zip(&case.quoted)
        .map(|(id, text)| format!("<abbr title=\"{}\">{}</abbr>", escape(text), escape(id)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The requirements quoted, above the trace.
fn quotes(case: &crate::case::CaseInfo) -> String {
    let items: String = case
        .requirements
        .iter()
        .zip(&case.quoted)
        .map(|(id, text)| format!("<li><b>{}</b> {}</li>", escape(id), escape(text)))
        .collect();
    format!("<ul class=\"quotes\">{items}</ul>")
}
