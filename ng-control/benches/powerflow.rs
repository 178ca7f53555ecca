//! Power-flow benchmarks: criterion figures for our solvers, then the same cases solved by pandapower's
//! Newton–Raphson in the same run, reported as a ratio of medians (the machines are shared and noisy; ratios
//! travel, absolute times do not). The pandapower part needs `$IDEA_PYTHON` (the interop virtual environment).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    missing_docs
)]

use criterion::Criterion;
use ng_control::Case;
use ng_control::powerflow::{Method, Options, solve};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

fn cases() -> Vec<(&'static str, Case, Method)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/cases");
    let read = |name: &str| {
        Case::from_matpower(&std::fs::read_to_string(dir.join(format!("{name}.m"))).unwrap())
            .unwrap()
    };
    let mut meshed = read("case33bw");
    meshed.branches.iter_mut().for_each(|b| b.in_service = true);
    vec![
        ("case33bw", read("case33bw"), Method::Sweep),
        ("case33bw", read("case33bw"), Method::NewtonRaphson),
        ("case33bw-meshed", meshed, Method::NewtonRaphson),
        ("case69", read("case69"), Method::Sweep),
        (
            "feeder1500",
            ng_control::synthetic::radial_feeder(1500, 2026),
            Method::Sweep,
        ),
        ("case69", read("case69"), Method::NewtonRaphson),
        (
            "meshed1000",
            ng_control::synthetic::meshed_grid(1_000, 2026),
            Method::NewtonRaphson,
        ),
        (
            "meshed3000",
            ng_control::synthetic::meshed_grid(3_000, 2026),
            Method::NewtonRaphson,
        ),
        (
            "meshed10000",
            ng_control::synthetic::meshed_grid(10_000, 2026),
            Method::NewtonRaphson,
        ),
    ]
}

fn median_seconds(case: &Case, options: &Options, runs: usize) -> f64 {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            black_box(solve(black_box(case), options).unwrap());
            start.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn compare_with_pandapower(cases: &[(&'static str, Case, Method)]) {
    let Some(python) = std::env::var_os("IDEA_PYTHON") else {
        println!(
            "pandapower comparison not run: set IDEA_PYTHON to the interop virtual environment's python"
        );
        return;
    };
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/pandapower_pf.py");
    println!(
        "\n{:<18} {:<16} {:>12} {:>16} {:>10}",
        "case", "our method", "ours (µs)", "pandapower (µs)", "ratio"
    );
    for (name, case, method) in cases {
        let file = std::env::temp_dir().join(format!("idea-bench-{name}.m"));
        std::fs::write(&file, case.to_matpower(name)).unwrap();
        let out = std::process::Command::new(&python)
            .arg(&script)
            .arg(&file)
            .args(["--repeat", "30"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let theirs = theirs["seconds"].as_f64().unwrap();
        let ours = median_seconds(
            case,
            &Options {
                method: *method,
                ..Options::default()
            },
            200,
        );
        println!(
            "{name:<18} {:<16} {:>12.1} {:>16.1} {:>9.0}×",
            format!("{method:?}"),
            ours * 1e6,
            theirs * 1e6,
            theirs / ours
        );
    }
}

fn main() {
    let cases = cases();
    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("powerflow");
    for (name, case, method) in &cases {
        let options = Options {
            method: *method,
            ..Options::default()
        };
        group.bench_function(format!("{name}/{method:?}"), |b| {
            b.iter(|| solve(black_box(case), &options).unwrap())
        });
    }
    group.finish();
    c.final_summary();
    compare_with_pandapower(&cases);
}
