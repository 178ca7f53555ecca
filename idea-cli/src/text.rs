//! Terminal views of results that have no view of their own in their crate: a power flow, a SunSpec device.

use std::fmt::Write as _;

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

/// A simulated run for a terminal: what was run, the ranges seen, each meter's energy, each storage's state of
/// charge, and the events.
pub fn sim_run(r: &idea_sim::run::RunSummary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {:.2} h simulated in {} steps",
        r.name,
        r.simulated_s / 3600.0,
        r.steps
    );
    let _ = writeln!(
        out,
        "frequency {:.3}–{:.3} Hz, voltage {:.4}–{:.4} p.u. on energised buses; from the network {:.3} kWh",
        r.frequency_range_hz.0,
        r.frequency_range_hz.1,
        r.voltage_range_pu.0,
        r.voltage_range_pu.1,
        r.network_kwh
    );
    if !r.meters.is_empty() {
        let _ = writeln!(
            out,
            "{:<28}  {:>12}  {:>12}",
            "METER", "IMPORT kWh", "EXPORT kWh"
        );
        for m in &r.meters {
            let _ = writeln!(
                out,
                "{:<28}  {:>12.3}  {:>12.3}",
                m.name, m.import_kwh, m.export_kwh
            );
        }
    }
    if !r.storage.is_empty() {
        let _ = writeln!(out, "{:<28}  {:>6}", "STORAGE", "SOC %");
        for (name, soc) in &r.storage {
            let _ = writeln!(out, "{name:<28}  {:>6.1}", soc * 100.0);
        }
    }
    let _ = writeln!(out, "{} events", r.events.len());
    for e in &r.events {
        let _ = writeln!(out, "  {:>10.1} s  {}", e.at_s, e.what);
    }
    out
}
