//! Build script: compiles the protobuf schema under `proto/` with protox and prost-build (no system `protoc`),
//! and turns `data/cell-types.toml` (Tables 1–3 of IDEA v2.0) into a constant table. A malformed data file fails
//! the build with the reason.
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use serde::Deserialize;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::PathBuf;

const PROTOS: &[&str] = &[
    "proto/idea/v1/common.proto",
    "proto/idea/v1/cell.proto",
    "proto/idea/v1/transaction.proto",
    "proto/idea/v1/lifecycle.proto",
    "proto/idea/v1/service.proto",
    "proto/idea/v1/auxiliary.proto",
    "proto/idea/v1/topology.proto",
    "proto/idea/v1/envelope.proto",
];

fn main() {
    println!("cargo:rerun-if-changed=proto");
    println!("cargo:rerun-if-changed=data/cell-types.toml");
    compile_protos();
    generate_cell_types();
}

fn compile_protos() {
    let fds = protox::compile(PROTOS, ["proto"]).unwrap_or_else(|e| panic!("protobuf schema: {e}"));
    prost_build::Config::new()
        .compile_fds(fds)
        .unwrap_or_else(|e| panic!("prost-build: {e}"));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CellTypes {
    cell_type: Vec<CellTypeRow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CellTypeRow {
    name: String,
    examples: String,
    supply: String,
    flexibility: String,
    interface_device: String,
    roles: Roles,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Roles {
    energy: Vec<String>,
    power: Vec<String>,
    flexibility: Vec<String>,
}

fn variant(kind: &str, name: &str, table: &[(&str, &'static str)]) -> &'static str {
    table
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
        .unwrap_or_else(|| panic!("data/cell-types.toml: unknown {kind} {name:?}"))
}

fn sides(cell: &str, subject: &str, sides: &[String]) -> String {
    for side in sides {
        if side != "seller" && side != "buyer" {
            panic!("data/cell-types.toml: {cell}: {subject}: unknown side {side:?}");
        }
    }
    let has = |s: &str| sides.iter().any(|x| x == s);
    format!("[{}, {}]", has("seller"), has("buyer"))
}

fn generate_cell_types() {
    let text = std::fs::read_to_string("data/cell-types.toml").expect("read data/cell-types.toml");
    let table: CellTypes =
        toml::from_str(&text).unwrap_or_else(|e| panic!("data/cell-types.toml: {e}"));
    let types = [
        ("load-following-generator", "LoadFollowingGenerator"),
        ("stochastic-generator", "StochasticGenerator"),
        ("prosumer", "Prosumer"),
        ("consumer-with-own-generation", "ConsumerWithOwnGeneration"),
        ("active-consumer", "ActiveConsumer"),
        ("passive-consumer", "PassiveConsumer"),
    ];
    let supplies = [
        ("supply-only", "SupplyOnly"),
        ("supply-and-consumption", "SupplyAndConsumption"),
        ("consumption-only", "ConsumptionOnly"),
    ];
    let flexibilities = [("available", "Available"), ("unavailable", "Unavailable")];
    let devices = [
        ("energy-port", "EnergyPort"),
        ("energy-router", "EnergyRouter"),
        ("smart-meter-with-protection", "SmartMeterWithProtection"),
    ];
    let mut rows: Vec<(usize, String)> = Vec::new();
    let mut pairs = BTreeSet::new();
    for row in &table.cell_type {
        let ty = variant("cell type", &row.name, &types);
        let index = types.iter().position(|(_, v)| *v == ty).unwrap();
        if rows.iter().any(|(i, _)| *i == index) {
            panic!("data/cell-types.toml: {} appears twice", row.name);
        }
        let supply = variant("supply", &row.supply, &supplies);
        let flex = variant("flexibility", &row.flexibility, &flexibilities);
        if !pairs.insert((supply, flex)) {
            panic!(
                "data/cell-types.toml: {}: ({supply}, {flex}) already belongs to another type",
                row.name
            );
        }
        let device = variant("interface device", &row.interface_device, &devices);
        let mut code = String::new();
        write!(
            code,
            "    CellTypeRow {{\n        cell_type: PowerCellType::{ty},\n        examples: {:?},\n        \
             supply: SupplyCapability::{supply},\n        flexibility: Flexibility::{flex},\n        \
             interface_device: InterfaceDevice::{device},\n        roles: [{}, {}, {}],\n    }},\n",
            row.examples,
            sides(&row.name, "energy", &row.roles.energy),
            sides(&row.name, "power", &row.roles.power),
            sides(&row.name, "flexibility", &row.roles.flexibility),
        )
        .unwrap();
        rows.push((index, code));
    }
    if rows.len() != types.len() {
        panic!(
            "data/cell-types.toml: expected the six cell types of Table 1, found {}",
            rows.len()
        );
    }
    rows.sort_by_key(|(i, _)| *i);
    let mut out = String::from(
        "// Generated by build.rs from data/cell-types.toml. Rows in `PowerCellType` order.\n\
         pub(crate) const CELL_TYPE_TABLE: [CellTypeRow; 6] = [\n",
    );
    for (_, code) in rows {
        out.push_str(&code);
    }
    out.push_str("];\n");
    let path = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("cell_types.rs");
    std::fs::write(path, out).expect("write cell_types.rs");
}
