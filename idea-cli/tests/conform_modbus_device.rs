//! `idea conform modbus-device` as a lab runs it: the reference energy hub passes every applicable case, each
//! Modbus TCP fault of `idea serve modbus-hub --fault` that breaks what the suite checks fails its case, and a
//! pymodbus server — software no one here wrote, with coils, discrete inputs and input registers besides its
//! holding registers — is certified, its exception 1 for a read of 0 registers (3 is due) a remark.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;
#[path = "../../interop/python.rs"]
mod python;

use common::{idea, serve};
use std::path::Path;

const SUITE: &str = "modbus-device";

fn run(
    target: &str,
    pics: &str,
    dir: &Path,
    more: &[&str],
) -> (
    Option<i32>,
    std::collections::BTreeMap<String, String>,
    String,
) {
    let path = dir.join("pics.toml");
    std::fs::write(&path, pics).unwrap();
    common::conform_run_with(SUITE, target, &path, &dir.join("reports"), more)
}

fn template() -> String {
    let (ok, template, _) = idea(&["conform", SUITE, "--pics-template"]);
    assert!(ok);
    template
}

#[test]
fn the_reference_hub_passes_every_applicable_case() {
    let (_hub, address) = serve("modbus-hub", &[]);
    let dir = common::scratch_dir("conform-modbus", "hub");
    let (code, verdicts, out) = run(&address, &template(), &dir, &[]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(verdicts.len(), 13, "{out}");
    for (id, verdict) in &verdicts {
        // The hub has no coils and no discrete inputs.
        let expected = if matches!(id.as_str(), "modbus-device/6.1/1" | "modbus-device/6.2/1") {
            "not-applicable"
        } else {
            "pass"
        };
        assert_eq!(verdict, expected, "{id}: {out}");
    }
}

/// Eight Modbus TCP frame faults, each failing the case that checks what it breaks (the SunSpec map faults —
/// `suns-marker-missing`, `wrong-scale-factor`, `broken-model-chain` — break nothing this suite reads).
#[test]
fn each_modbus_frame_fault_fails_its_case() {
    let template = template();
    for (fault, case) in [
        ("register-off-by-one", "modbus-device/6.3/1"),
        ("write-not-applied", "modbus-device/6.6/1"),
        ("trailing-byte", "modbus-device/6.3/1"),
        ("exception-missing", "modbus-device/6.3/2N"),
        ("transaction-id-mismatch", "modbus-device/6.3/1"),
        ("unit-id-mismatch", "modbus-device/6.3/1"),
        ("protocol-id-nonzero", "modbus-device/6.3/1"),
        ("identification-missing", "modbus-device/6.21/1"),
        // The template declares function 43: the device refuses it as an illegal function.
        ("identification-missing", "modbus-device/6/1"),
    ] {
        let (_hub, address) = serve("modbus-hub", &["--fault", fault]);
        let dir = common::scratch_dir("conform-modbus", fault);
        let (code, verdicts, out) = run(&address, &template, &dir, &[]);
        assert_eq!(code, Some(1), "{fault}: {out}");
        assert_eq!(verdicts[case], "fail", "{fault} fails {case}: {out}");
    }
}

/// What the PICS claims about the device is checked against what it says about itself: a PICS naming another
/// vendor and version fails `6.21/2` (and only it), the identification itself still passing.
#[test]
fn a_pics_claiming_another_identity_fails() {
    let (_hub, address) = serve("modbus-hub", &[]);
    let dir = common::scratch_dir("conform-modbus", "claims");
    let pics = template()
        .replace("vendor = \"IDEA SDK\"", "vendor = \"Someone Else\"")
        .replace("version = \"0.1.0\"", "version = \"9.9\"");
    let (code, verdicts, out) = run(&address, &pics, &dir, &["--only", "modbus-device/6.21"]);
    assert_eq!(code, Some(1), "{out}");
    assert_eq!(verdicts["modbus-device/6.21/1"], "pass", "{out}");
    assert_eq!(verdicts["modbus-device/6.21/2"], "fail", "{out}");
    assert!(
        out.contains("the PICS declares vendor \"Someone Else\", the device reports \"IDEA SDK\"")
            && out.contains("the PICS declares version \"9.9\", the device reports \"0.1.0\""),
        "{out}"
    );
}

#[test]
fn a_pymodbus_server_is_certified() {
    let Some(python) = python::python("idea conform modbus-device against a pymodbus server")
    else {
        return;
    };
    let (_peer, served, address) = common::pymodbus_sunspec_server(&python);
    // The map ends with the end marker's two registers after the last model.
    let end = served["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["address"].as_u64().unwrap() + m["registers"].as_array().unwrap().len() as u64)
        .max()
        .unwrap()
        + 2;
    let last = end - 1;
    // pymodbus keeps coils, discrete inputs and input registers over the whole address space by default; its
    // holding registers are the SunSpec map. Register 40005 is inside the common model's Mn.
    let pics = format!(
        "[device]\nvendor = \"pymodbus\"\nmodel = \"server\"\nversion = \"3.16.1\"\n[modbus]\nunit = 1\n\
         holding_registers = [40000, {last}]\ninput_registers = [0, 99]\ncoils = [0, 99]\n\
         discrete_inputs = [0, 99]\ndevice_identification = false\n\
         functions = [1, 2, 3, 4, 5, 6, 15, 16, 23]\n\
         [modbus.write_register]\naddress = 40005\nvalue = 16706\n"
    );
    let dir = common::scratch_dir("conform-modbus", "pymodbus");
    let (code, verdicts, out) = run(&address, &pics, &dir, &[]);
    assert_eq!(code, Some(0), "{out}");
    for (id, verdict) in &verdicts {
        let expected = match id.as_str() {
            "modbus-device/6.21/1" | "modbus-device/6.21/2" => "not-applicable",
            // pymodbus refuses a malformed quantity with exception 1, not 3: its deviation, a remark.
            "modbus-device/6.3/3N" => "pass-with-remarks",
            _ => "pass",
        };
        assert_eq!(verdict, expected, "{id}: {out}");
    }
}
