//! Our power flow against pandapower's Newton–Raphson on the same MATPOWER files, in the same run: the IEEE
//! 33-bus and 69-bus feeders, the 33-bus feeder meshed by its tie switches, a synthetic radial feeder of
//! 1200 buses and a synthetic meshed grid of 2000 buses with PV buses. Voltages must agree within 1e-6 p.u., angles within 1e-4°, losses within 0.01 kW.
//!
//! The interpreter comes from `$IDEA_PYTHON`, which `cargo xtask test` points at the pinned virtual
//! environment. Without it this test fails, unless `IDEA_SKIP_INTEROP=1` says to skip on purpose.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use ng_control::Case;
use ng_control::powerflow::{Options, solve};
use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "../../interop/python.rs"]
mod python;

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn compare(python: &Path, name: &str, case: &Case) {
    let file = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("pandapower-{name}.m"));
    std::fs::write(&file, case.to_matpower(name)).unwrap();
    let out = Command::new(python)
        .arg(manifest().join("tests/peers/pandapower_pf.py"))
        .arg(&file)
        .output()
        .expect("run the pandapower harness");
    assert!(
        out.status.success(),
        "pandapower failed on {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(theirs["converged"], true, "{name}");
    let ours = solve(case, &Options::default()).unwrap();
    let buses = theirs["buses"].as_array().unwrap();
    assert_eq!(buses.len(), ours.buses.len(), "{name}");
    let mut worst_vm = 0.0f64;
    let mut worst_va = 0.0f64;
    for (t, o) in buses.iter().zip(&ours.buses) {
        assert_eq!(t["bus"].as_u64().unwrap(), u64::from(o.bus));
        worst_vm = worst_vm.max((t["vm_pu"].as_f64().unwrap() - o.vm_pu).abs());
        worst_va = worst_va.max((t["va_deg"].as_f64().unwrap() - o.va_deg).abs());
    }
    let loss_gap_kw = (theirs["losses_mw"].as_f64().unwrap() - ours.losses_mw).abs() * 1000.0;
    eprintln!(
        "{name}: {} buses, method {:?}, |ΔVm| ≤ {worst_vm:.2e} p.u., |ΔVa| ≤ {worst_va:.2e}°, |Δlosses| = {loss_gap_kw:.2e} kW",
        ours.buses.len(),
        ours.method
    );
    assert!(
        worst_vm < 1e-6,
        "{name}: voltage magnitudes differ by {worst_vm}"
    );
    assert!(worst_va < 1e-4, "{name}: angles differ by {worst_va}°");
    assert!(
        loss_gap_kw < 0.01,
        "{name}: losses differ by {loss_gap_kw} kW"
    );
}

fn published(name: &str) -> Case {
    let text =
        std::fs::read_to_string(manifest().join("data/cases").join(format!("{name}.m"))).unwrap();
    Case::from_matpower(&text).unwrap()
}

#[test]
fn agrees_with_pandapower() {
    let Some(python) = python::python("pandapower comparison") else {
        return;
    };
    compare(&python, "case33bw", &published("case33bw"));
    compare(&python, "case69", &published("case69"));
    let mut meshed = published("case33bw");
    meshed.branches.iter_mut().for_each(|b| b.in_service = true);
    compare(&python, "case33bw-meshed", &meshed);
    compare(
        &python,
        "feeder1200",
        &ng_control::synthetic::radial_feeder(1200, 2026),
    );
    // Meshed, with PV buses: the sparse Newton–Raphson at distribution scale.
    compare(
        &python,
        "meshed2000",
        &ng_control::synthetic::meshed_grid(2000, 2026),
    );
}
