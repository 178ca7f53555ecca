//! The crate graph keeps the layering of `../shared/ARCHITECTURE.md`: each workspace crate depends only on
//! crates of lower layers (`idea-cli` on top; `conformance`, `idea-demo` and `ffi` below it; `idea-sim` and
//! `idea-agent` beside each other, neither using the other; the protocol and algorithm crates on
//! `idea-proto`). Read from `cargo metadata`, so a new dependency that points upward or sideways fails here.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;

/// Every workspace crate and its layer; a crate missing here fails the test, so a new one is placed.
const LAYERS: &[(&str, u8)] = &[
    ("idea-proto", 0),
    ("fipa-acl", 1),
    ("iec104", 1),
    ("modbus-profiles", 1),
    ("ieee2030-5", 1),
    ("te-contract", 1),
    ("ng-control", 1),
    ("idea-sim", 2),
    ("idea-agent", 2),
    ("idea-conformance", 3),
    ("idea-demo", 3),
    ("idea-ffi", 3),
    ("idea-cli", 4),
    // Project automation, outside the layers: it depends on no workspace crate.
    ("xtask", 5),
];

#[test]
fn no_crate_depends_upward_or_sideways() {
    let out = std::process::Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let layers: BTreeMap<&str, u8> = LAYERS.iter().copied().collect();
    let packages = metadata["packages"].as_array().unwrap();
    let members: Vec<&str> = packages
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(
        members.contains(&"idea-cli") && members.contains(&"idea-sim"),
        "{members:?}"
    );
    let mut wrong = Vec::new();
    for p in packages {
        let name = p["name"].as_str().unwrap();
        let Some(&layer) = layers.get(name) else {
            wrong.push(format!("{name} has no layer: place it in LAYERS"));
            continue;
        };
        for d in p["dependencies"].as_array().unwrap() {
            let dep = d["name"].as_str().unwrap();
            // Dev-dependencies of a crate on itself (doctests with features) are not edges.
            if dep == name || !members.contains(&dep) {
                continue;
            }
            let dep_layer = layers[dep];
            let normal = d["kind"].is_null();
            if normal && dep_layer >= layer {
                wrong.push(format!(
                    "{name} (layer {layer}) depends on {dep} (layer {dep_layer})"
                ));
            }
            if !normal && dep_layer > layer {
                wrong.push(format!(
                    "{name} (layer {layer}) tests with {dep} (layer {dep_layer})"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
