//! `idea serve modbus-*` and `idea sunspec scan`: the real binary serving each simulated device on a socket,
//! and the real binary scanning it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(missing_docs)]

mod common;

use common::{idea, serve};

fn scan(args: &[&str]) -> (bool, String, String) {
    idea(&[&["sunspec", "scan"], args].concat())
}

#[test]
fn every_modbus_device_serves_and_scans() {
    let expected: &[(&str, &[u64])] = &[
        ("modbus-router", &[1, 64900]),
        ("modbus-hub", &[1, 64901]),
        ("modbus-port", &[1, 64902]),
        ("modbus-rectiverter", &[1, 64903]),
        ("modbus-meter", &[1, 203]),
        ("modbus-relay", &[1, 64904]),
        ("modbus-der", &[1, 701, 702, 704, 705, 711, 712, 713]),
    ];
    for (name, ids) in expected {
        let (_served, address) = serve(name, &[]);
        let (ok, stdout, stderr) = scan(&[&address, "--json"]);
        assert!(ok, "{name}: {stderr}");
        let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(json["base"], 40000);
        let found: Vec<u64> = json["models"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_u64().unwrap())
            .collect();
        assert_eq!(found, *ids, "{name}");
        assert_eq!(json["models"][0]["points"]["Mn"], "IDEA SDK");
    }
}

#[test]
fn base_and_unit_options_and_text_output() {
    let (_served, address) = serve("modbus-meter", &["--base", "50000", "--unit", "7"]);
    let (ok, stdout, stderr) = scan(&[&address, "--unit", "7"]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.starts_with("SunSpec map at 50000: 2 models"),
        "{stdout}"
    );
    assert!(stdout.contains("model 203 ac_meter"), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.trim_start().starts_with("W ") && l.contains("3600")),
        "{stdout}"
    );
    // The wrong unit: no answer, no SunSpec map.
    let (ok, _, stderr) = scan(&[&address, "--unit", "1"]);
    assert!(!ok);
    assert!(stderr.contains("no SunSpec map"), "{stderr}");
    // Nothing listening.
    let (ok, _, stderr) = scan(&["127.0.0.1:1"]);
    assert!(!ok && stderr.contains("127.0.0.1:1"), "{stderr}");
}
