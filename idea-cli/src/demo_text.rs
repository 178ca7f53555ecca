//! Terminal views of `idea demo`: a line per settlement interval as the run goes, and per scenario a summary
//! table of the cells, the trades and the checks with their verdicts.

use idea_demo::{IntervalRecord, ScenarioReport};
use std::fmt::Write;

/// `2026-06-21T09:15:00Z` as `09:15`.
fn clock(t: idea_proto::Timestamp) -> String {
    let text = t.to_string();
    text.get(11..16).unwrap_or(&text).to_owned()
}

/// Minor units of EUR as euros, signed.
fn euros(minor: i64) -> String {
    let sign = if minor < 0 { "−" } else { "" };
    let m = minor.unsigned_abs();
    format!("{sign}€{}.{:02}", m / 100, m % 100)
}

/// The line of a scenario's start.
pub fn demo_started(
    scenario: &str,
    title: &str,
    start: idea_proto::Timestamp,
    end: idea_proto::Timestamp,
) -> String {
    format!(
        "{} — {title} ({} {}–{} UTC)\n",
        scenario.to_uppercase(),
        start.to_string().get(..10).unwrap_or_default(),
        clock(start),
        clock(end)
    )
}

/// Up to this many cells, an interval's line shows each; beyond, their sums.
const CELLS_SHOWN_APART: usize = 6;
/// The most cells a summary table lists.
const ROWS_SHOWN: usize = 12;

/// One interval's line: frequency, voltage, the network's exchange, each cell's net import, state of charge
/// and commanded setpoint (their sums for many cells), and the contracts recorded so far.
pub fn demo_interval(record: &IntervalRecord, contracts: usize) -> String {
    let s = &record.system;
    let mut out = format!(
        "  {} {:<7} {:>6.2} Hz  {:.3}–{:.3} pu  network {:>+6.2} kWh │",
        clock(record.start),
        if record.phase == "with-transactions" {
            "trading"
        } else {
            "alone"
        },
        (s.frequency_hz.0 + s.frequency_hz.1) / 2.0,
        s.voltage_pu.0,
        s.voltage_pu.1,
        s.network_wh / 1000.0
    );
    if record.cells.len() > CELLS_SHOWN_APART {
        // Many cells (the scale run): the sums, not each.
        let net: f64 = record
            .cells
            .iter()
            .map(|c| c.physics.import_wh - c.physics.export_wh)
            .sum();
        let held = record
            .cells
            .iter()
            .filter(|c| c.setpoint_w.is_some())
            .count();
        // A count of cells: exact in an f64.
        #[allow(clippy::cast_precision_loss)]
        let soc =
            record.cells.iter().map(|c| c.physics.soc).sum::<f64>() / record.cells.len() as f64;
        let _ = write!(
            out,
            " {} cells net {:>+7.2} kWh, mean SoC {:>3.0}%, {held} holding a contracted flow ",
            record.cells.len(),
            net / 1000.0,
            soc * 100.0
        );
    }
    for c in record
        .cells
        .iter()
        .filter(|_| record.cells.len() <= CELLS_SHOWN_APART)
    {
        let _ = write!(
            out,
            " {} {:>+5.2} kWh {:>3.0}%",
            c.cell,
            (c.physics.import_wh - c.physics.export_wh) / 1000.0,
            c.physics.soc * 100.0
        );
        if let Some(w) = c.setpoint_w {
            let _ = write!(out, " ⇢{w:+} W");
        }
        out.push(' ');
    }
    let _ = writeln!(out, "│ contracts {contracts}");
    out
}

/// A scenario's summary: the cells, the trades, the ledger (with the command that verifies it, when it was
/// kept in `ledger_file`) and the checks.
pub fn demo_summary(r: &ScenarioReport, ledger_file: Option<&std::path::Path>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n  {:<8} {:>10} {:>10} {:>11} {:>8} {:>8} {:>9} {:>6}",
        "CELL", "GEN kWh", "LOAD kWh", "IMPORT kWh", "SOLD Wh", "BOUGHT", "MONEY", "SOC %"
    );
    for (k, cell) in r.cells.iter().enumerate().take(ROWS_SHOWN) {
        let of = |f: &dyn Fn(&idea_demo::CellInterval) -> f64| -> f64 {
            r.intervals
                .iter()
                .filter_map(|i| i.cells.get(k))
                .map(f)
                .sum()
        };
        let sold: i64 = r
            .trades
            .iter()
            .filter(|t| t.seller == *cell)
            .map(|t| t.contracted_wh)
            .sum();
        let bought: i64 = r
            .trades
            .iter()
            .filter(|t| t.buyer == *cell)
            .map(|t| t.contracted_wh)
            .sum();
        let money = r
            .money
            .iter()
            .find(|m| m.cell == *cell)
            .map_or(0, |m| m.closing_minor.saturating_sub(m.opening_minor));
        let soc = r
            .intervals
            .last()
            .and_then(|i| i.cells.get(k))
            .map_or(0.0, |c| c.physics.soc * 100.0);
        let _ = writeln!(
            out,
            "  {:<8} {:>10.2} {:>10.2} {:>+11.2} {:>8} {:>8} {:>9} {:>6.1}",
            cell,
            of(&|c| c.physics.generation_wh) / 1000.0,
            of(&|c| c.physics.load_wh) / 1000.0,
            of(&|c| c.physics.import_wh - c.physics.export_wh) / 1000.0,
            sold,
            bought,
            euros(money),
            soc
        );
    }
    if r.cells.len() > ROWS_SHOWN {
        let _ = writeln!(
            out,
            "  … and {} more cells (--json FILE has every one)",
            r.cells.len().saturating_sub(ROWS_SHOWN)
        );
    }
    let traded: i64 = r.trades.iter().map(|t| t.contracted_wh).sum();
    let settled: i64 = r.trades.iter().filter_map(|t| t.amount_minor).sum();
    let penalties: i64 = r.trades.iter().filter_map(|t| t.penalty_minor).sum();
    let _ = writeln!(
        out,
        "  {} contracts for {:.2} kWh, {} settled (penalties {}); ledger {} entries, {} signatures verified; {} messages over the broker",
        r.trades.len(),
        // Watt-hours of a run: exact in an f64.
        {
            #[allow(clippy::cast_precision_loss)]
            let kwh = traded as f64 / 1000.0;
            kwh
        },
        euros(settled),
        euros(penalties),
        r.ledger.entries,
        r.ledger.signatures,
        r.messages
    );
    if let Some(file) = ledger_file {
        let l = &r.ledger;
        let _ = writeln!(
            out,
            "  idea ledger verify {} --deployment {} --registrar {} --registrar-key {} --genesis {} --head {}",
            file.display(),
            l.deployment,
            l.registrar,
            l.registrar_key,
            l.genesis,
            l.head
        );
    }
    let _ = writeln!(out, "\n  {:<20} {:<7} DETAIL", "CHECK", "VERDICT");
    for c in &r.checks {
        let _ = writeln!(
            out,
            "  {:<20} {:<7} {} ({})",
            c.name,
            if c.passed { "pass" } else { "FAIL" },
            c.detail,
            c.requirement
        );
    }
    out.push('\n');
    out
}

/// Where each scenario's real time went: its phases, the longest first, with their shares.
pub fn demo_phases(timing: &idea_demo::Timing) -> String {
    let mut out = String::new();
    for (scenario, phases) in &timing.phases_s {
        let total: f64 = phases.iter().map(|(_, s)| s).sum();
        let _ = writeln!(
            out,
            "\n  where {}'s {:.1} s went:",
            scenario.to_uppercase(),
            total
        );
        for (phase, s) in phases {
            let _ = writeln!(
                out,
                "    {:<40} {:>8.2} s {:>5.1} %",
                phase,
                s,
                100.0 * s / total.max(1e-9)
            );
        }
    }
    out
}
