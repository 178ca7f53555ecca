//! Renders requirement lists for a terminal or as JSON.

use crate::Requirement;
use std::fmt::Write as _;

/// A plain-text table: ID, check, requirement text wrapped to `width` columns.
pub fn table(requirements: &[&Requirement], width: usize) -> String {
    let id_width = requirements
        .iter()
        .map(|r| r.id.len())
        .max()
        .unwrap_or(2)
        .max(2);
    let check_width = "declared".len();
    let text_width = width
        .saturating_sub(id_width.saturating_add(check_width).saturating_add(4))
        .max(20);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:id_width$}  {:check_width$}  REQUIREMENT",
        "ID", "CHECK"
    );
    for r in requirements {
        let lines = wrap(&r.text, text_width);
        for (i, line) in lines.iter().enumerate() {
            if i == 0 {
                let _ = writeln!(
                    out,
                    "{:id_width$}  {:check_width$}  {line}",
                    r.id,
                    r.check.as_str()
                );
            } else {
                let _ = writeln!(out, "{:id_width$}  {:check_width$}  {line}", "", "");
            }
        }
    }
    let tested = requirements
        .iter()
        .filter(|r| r.check == crate::Check::Test)
        .count();
    let _ = writeln!(
        out,
        "{} requirements: {} checked by test, {} declared",
        requirements.len(),
        tested,
        requirements.len().saturating_sub(tested)
    );
    out
}

/// A JSON array of requirement objects with keys `id`, `area`, `text`, `source`, `check`.
pub fn json(requirements: &[&Requirement]) -> String {
    // Serialising plain strings and enums cannot fail.
    serde_json::to_string_pretty(requirements).unwrap_or_else(|_| String::from("[]"))
}

/// A power-flow result for a terminal: a summary, one line per bus, then one line per branch with its flows at
/// both ends and its loading.
pub fn power_flow(r: &ng_control::powerflow::PowerFlowResult) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "converged by {:?} in {} iterations; losses {:.3} kW; slack supplies {:.4} MW, {:.4} MVAr",
        r.method,
        r.iterations,
        r.losses_mw * 1000.0,
        r.slack_p_mw,
        r.slack_q_mvar
    );
    if let Some(min) = r.min_voltage() {
        let _ = writeln!(
            out,
            "lowest voltage {:.5} p.u. at bus {}",
            min.vm_pu, min.bus
        );
    }
    let _ = writeln!(out, "{:>6}  {:>9}  {:>10}", "BUS", "VM (p.u.)", "VA (deg)");
    for b in &r.buses {
        let _ = writeln!(out, "{:>6}  {:>9.5}  {:>10.4}", b.bus, b.vm_pu, b.va_deg);
    }
    let _ = writeln!(
        out,
        "\n{:>6}  {:>6}  {:>10}  {:>11}  {:>10}  {:>11}  {:>11}",
        "FROM", "TO", "P FROM (MW)", "Q FROM (MVAr)", "P TO (MW)", "Q TO (MVAr)", "LOADING (%)"
    );
    for b in &r.branches {
        if !b.in_service {
            let _ = writeln!(out, "{:>6}  {:>6}  out of service", b.from, b.to);
            continue;
        }
        let loading = b
            .loading
            .map_or_else(|| "-".to_owned(), |l| format!("{l:.1}"));
        let _ = writeln!(
            out,
            "{:>6}  {:>6}  {:>10.4}  {:>11.4}  {:>10.4}  {:>11.4}  {:>11}",
            b.from, b.to, b.p_from_mw, b.q_from_mvar, b.p_to_mw, b.q_to_mvar, loading
        );
    }
    out
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let last = lines.last_mut().map(|l| l.len()).unwrap_or(0);
        if last > 0 && last.saturating_add(1).saturating_add(word.len()) > width {
            lines.push(String::new());
        }
        if let Some(line) = lines.last_mut() {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    lines
}

/// A scanned SunSpec device as text: each model with its address and length, then its points with
/// their scaled values and units (absent points left out).
pub fn sunspec_device(device: &modbus_profiles::sunspec::Device) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "SunSpec map at {}: {} models",
        device.base(),
        device.models().len()
    );
    for model in device.models() {
        let name = model.def().map_or("(unknown model)", |d| d.name());
        let _ = writeln!(
            out,
            "\nmodel {} {name} at {} (L = {})",
            model.id(),
            model.address(),
            model.len()
        );
        if let Some(problem) = model.problem() {
            let _ = writeln!(out, "  problem: {problem}");
        }
        for (path, point) in model.points() {
            if matches!(
                point.def.kind,
                modbus_profiles::sunspec::PointType::Pad
                    | modbus_profiles::sunspec::PointType::Sunssf
            ) {
                continue;
            }
            let value = point.to_json();
            if value.is_null() {
                continue;
            }
            let units = point.def.units.as_deref().unwrap_or("");
            let _ = writeln!(out, "  {path:<28} {value} {units}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_keeps_every_word_within_width() {
        let text = "one two three four five six seven eight nine ten";
        let lines = wrap(text, 12);
        assert!(lines.iter().all(|l| l.len() <= 12), "{lines:?}");
        assert_eq!(lines.join(" "), text);
    }
}
