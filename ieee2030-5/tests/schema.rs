//! The official schema, read from `../shared` at run time, checks what we write, with the Python `xmlschema`
//! package (pinned in `interop/requirements.txt`): every sample document written back stays valid (and two
//! that real servers got wrong become valid), every resource type's minimal document is valid, and the
//! generated declarations are exactly what the schema says today.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr,
    missing_docs
)]

mod common;
#[path = "../../interop/python.rs"]
mod python;

use common::{every_type, samples, scratch, sep_xsd, shared, validate};
use ieee2030_5::resources::{decode, encode};
use std::path::Path;
use std::process::Command;

#[test]
fn written_samples_are_schema_valid() {
    let Some(sep) = sep_xsd("written_samples_are_schema_valid") else {
        return;
    };
    let Some(python) = python::python("XSD validation with xmlschema") else {
        return;
    };
    let dir = scratch("samples");
    let mut originals = Vec::new();
    let mut ours = Vec::new();
    for (name, bytes) in samples() {
        let (resource, _) = decode(&bytes).unwrap();
        let mut out = Vec::new();
        encode(&resource, &mut out);
        let original = shared().join("samples").join(&name);
        let written = dir.join(&name);
        std::fs::write(&written, &out).unwrap();
        originals.push(original);
        ours.push(written);
    }
    let before = validate(&python, &sep, &originals);
    let after = validate(&python, &sep, &ours);
    let mut valid_before = 0;
    let mut valid_after = 0;
    for (original, written) in originals.iter().zip(&ours) {
        let b = &before[&original.display().to_string()];
        let a = &after[&written.display().to_string()];
        valid_before += usize::from(b.is_none());
        valid_after += usize::from(a.is_none());
        if b.is_none() {
            assert!(
                a.is_none(),
                "{} was valid, ours is not: {}\n{}",
                original.display(),
                a.as_deref().unwrap_or_default(),
                std::fs::read_to_string(written).unwrap()
            );
        }
    }
    println!("schema-valid: {valid_before} of 33 samples as found, {valid_after} as we write them");
    assert_eq!(valid_before, 30, "three samples are invalid on purpose");
    // The two that only put elements out of schema order (20, 31) come out valid.
    assert_eq!(valid_after, 32);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn minimal_documents_of_every_type_are_schema_valid() {
    let Some(sep) = sep_xsd("minimal_documents_of_every_type_are_schema_valid") else {
        return;
    };
    let Some(python) = python::python("XSD validation with xmlschema") else {
        return;
    };
    let dir = scratch("minimal");
    let mut files = Vec::new();
    for resource in every_type() {
        let mut out = Vec::new();
        encode(&resource, &mut out);
        let file = dir.join(format!("{:02}_{}.xml", files.len(), resource.type_name()));
        std::fs::write(&file, out).unwrap();
        files.push(file);
    }
    assert_eq!(files.len(), every_type().len());
    let result = validate(&python, &sep, &files);
    let invalid: Vec<_> = result
        .iter()
        .filter_map(|(f, e)| e.as_ref().map(|e| format!("{f}: {e}")))
        .collect();
    assert!(invalid.is_empty(), "{invalid:#?}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn generated_code_matches_the_schema() {
    if sep_xsd("generated_code_matches_the_schema").is_none() {
        return;
    }
    let Some(python) = python::python("regenerating the resource declarations") else {
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(python)
        .arg(root.join("codegen/generate.py"))
        .arg(shared().join("csipaus-1.2/csipaus-core.xsd"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let committed = std::fs::read_to_string(root.join("src/resources/generated.rs")).unwrap();
    let fresh = String::from_utf8(out.stdout).unwrap();
    assert!(
        committed == fresh,
        "src/resources/generated.rs differs from what codegen/generate.py makes of the schema; run it again"
    );
}

/// The schema's facets, at and one past each limit: what the official schema refuses, our reader refuses too
/// (naming the field), and what it accepts we accept — `String32`/`String16` lengths, the `UInt40` range of
/// `sFDI` and the `Int48` range of a subscription's thresholds.
#[test]
fn the_schemas_facets_are_enforced_as_the_schema_enforces_them() {
    use ieee2030_5::Error;
    use ieee2030_5::resources::{
        AnyResource, Condition, DeviceInformation, EndDevice, Subscription,
    };
    let Some(sep) = sep_xsd("the_schemas_facets_are_enforced_as_the_schema_enforces_them") else {
        return;
    };
    let Some(python) = python::python("XSD validation with xmlschema") else {
        return;
    };
    let int48 = 1i64 << 47;
    let condition = |lower: i64| Condition {
        lower_threshold: lower,
        ..Default::default()
    };
    let cases: Vec<(&str, AnyResource, Option<&str>)> = vec![
        (
            "mfModel of 32",
            DeviceInformation {
                mf_model: "m".repeat(32),
                ..Default::default()
            }
            .into(),
            None,
        ),
        (
            "mfModel of 33",
            DeviceInformation {
                mf_model: "m".repeat(33),
                ..Default::default()
            }
            .into(),
            Some("DeviceInformation.mfModel"),
        ),
        (
            "sFDI at the schema's UInt40 maximum (2^48 - 1 as the schema writes it)",
            EndDevice {
                sfdi: (1 << 48) - 1,
                ..Default::default()
            }
            .into(),
            None,
        ),
        (
            "sFDI past it",
            EndDevice {
                sfdi: 1 << 48,
                ..Default::default()
            }
            .into(),
            Some("EndDevice.sFDI"),
        ),
        (
            "level of 16",
            Subscription {
                level: "l".repeat(16),
                ..Default::default()
            }
            .into(),
            None,
        ),
        (
            "level of 17",
            Subscription {
                level: "l".repeat(17),
                ..Default::default()
            }
            .into(),
            Some("Subscription.level"),
        ),
        (
            "a threshold at the Int48 bounds",
            Subscription {
                condition: Some(condition(-int48)),
                ..Default::default()
            }
            .into(),
            None,
        ),
        (
            "a threshold past them",
            Subscription {
                condition: Some(condition(-int48 - 1)),
                ..Default::default()
            }
            .into(),
            Some("Condition.lowerThreshold"),
        ),
    ];
    let dir = scratch("facets");
    let mut files = Vec::new();
    for (i, (name, resource, refused)) in cases.iter().enumerate() {
        let mut out = Vec::new();
        encode(resource, &mut out);
        let ours = decode(&out);
        match refused {
            None => assert!(ours.is_ok(), "{name}: {ours:?}"),
            Some(field) => assert!(
                matches!(&ours, Err(Error::Value { field: f, .. }) if f == field),
                "{name}: {ours:?}"
            ),
        }
        let file = dir.join(format!("{i:02}.xml"));
        std::fs::write(&file, out).unwrap();
        files.push(file);
    }
    let verdicts = validate(&python, &sep, &files);
    for ((name, _, refused), file) in cases.iter().zip(&files) {
        let schema = &verdicts[&file.display().to_string()];
        assert_eq!(
            schema.is_some(),
            refused.is_some(),
            "{name}: the schema says {schema:?}"
        );
    }
    std::fs::remove_dir_all(dir).ok();
}
