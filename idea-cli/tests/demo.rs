//! `idea demo` as a person runs it: the run printed as it goes, a summary with the checks, the JSON file, the
//! kept ledger verified by `idea ledger verify`, and usage errors with exit 2.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::process::Command;

fn idea(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_idea"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn idea_demo_runs_s1_prints_it_writes_json_and_keeps_a_ledger_that_verifies() {
    let dir = std::env::temp_dir().join(format!("idea-demo-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("run.json");
    let ledgers = dir.join("ledgers");
    let out = idea(&[
        "demo",
        "--scenario",
        "s1",
        "--hours",
        "1.5",
        "--json",
        json.to_str().unwrap(),
        "--ledger-dir",
        ledgers.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("S1 — grid-connected"), "{stdout}");
    assert!(stdout.contains("contracts"), "{stdout}");
    assert!(stdout.contains("energy-balance       pass"), "{stdout}");
    assert!(stdout.contains("every check of S1 passed"), "{stdout}");
    // The JSON: per scenario, per interval, per cell.
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let s1 = &report["scenarios"][0];
    assert_eq!(s1["scenario"], "s1");
    assert_eq!(s1["intervals"].as_array().unwrap().len(), 6);
    assert_eq!(s1["intervals"][0]["cells"].as_array().unwrap().len(), 4);
    assert!(s1["intervals"][0]["system"]["frequency_hz"].is_array());
    assert_eq!(report["passed"], true);
    // The line the summary gives verifies the kept ledger.
    let line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("idea ledger verify"))
        .expect("the verify command");
    let args: Vec<&str> = line.split_whitespace().skip(1).collect();
    let verified = idea(&args);
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn idea_demo_refuses_what_it_cannot_run_with_exit_2() {
    for args in [
        &["demo", "--scenario", "s9"][..],
        &["demo", "--hours", "0.5"],
        &["demo", "--speed=-3"],
        &["demo", "--cells", "0"],
        &["demo", "--cells", "20000"],
        &["demo", "--cells", "8", "--scenario", "s1"],
    ] {
        let out = idea(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.starts_with("idea: "), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    }
}

/// The scale run from the command line: the cells' sums per interval instead of each cell, a summary of the
/// first dozen, every check, and where the time went.
#[test]
fn idea_demo_cells_runs_a_generated_feeder_and_says_where_the_time_went() {
    let out = idea(&["demo", "--cells", "16", "--hours", "1.5"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("SCALE — scale"), "{stdout}");
    assert!(stdout.contains(" 16 cells net "), "{stdout}");
    assert!(stdout.contains("… and 4 more cells"), "{stdout}");
    assert!(stdout.contains("settlement-amounts   pass"), "{stdout}");
    assert!(stdout.contains("where SCALE's"), "{stdout}");
    assert!(stdout.contains("devices (Modbus)"), "{stdout}");
    assert!(stdout.contains("every check of SCALE passed"), "{stdout}");
}
