//! Tables 1, 2 and 3 as compiled from `data/cell-types.toml`, checked cell by cell against the reading in
//! `../shared/idea-requirements.md`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation
)]

use idea_proto::*;
use std::path::PathBuf;

fn requirements_document() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/idea-requirements.md");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{} must be readable: {e}", path.display()))
}

/// The rows of the markdown table that follows the line starting with `heading`.
fn table_rows(doc: &str, heading: &str) -> Vec<Vec<String>> {
    let start = doc
        .find(heading)
        .unwrap_or_else(|| panic!("no {heading:?} in the requirements document"));
    doc[start..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2) // header and separator
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_owned())
                .collect()
        })
        .collect()
}

/// The type a document name denotes: letters only, parenthetical remarks and the word "variable" dropped, so
/// "stochastic (variable) generator" and "consumer with own variable generation" match our names.
fn cell_type_named(name: &str) -> PowerCellType {
    fn key(s: &str) -> String {
        let mut out = String::new();
        let mut depth = 0;
        for c in s.to_lowercase().chars() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                c if depth == 0 && c.is_ascii_alphabetic() => out.push(c),
                _ => {}
            }
        }
        out.replace("variable", "")
    }
    PowerCellType::ALL
        .into_iter()
        .find(|t| key(t.name()) == key(name))
        .unwrap_or_else(|| panic!("no cell type for {name:?}"))
}

#[test]
fn table_2_matches_the_requirements_file_cell_by_cell() {
    let doc = requirements_document();
    let rows = table_rows(&doc, "Table 2 — allowed sides");
    assert_eq!(rows.len(), 6, "six cell types");
    let columns = [
        (Subject::Energy, Side::Seller),
        (Subject::Energy, Side::Buyer),
        (Subject::Power, Side::Seller),
        (Subject::Power, Side::Buyer),
        (Subject::Flexibility, Side::Seller),
        (Subject::Flexibility, Side::Buyer),
    ];
    let mut checked = 0;
    for row in &rows {
        let t = cell_type_named(&row[0]);
        for (cell, (subject, side)) in row[1..].iter().zip(columns) {
            let expected = match cell.as_str() {
                "+" => true,
                "−" | "-" => false,
                other => panic!("unexpected cell {other:?} for {t}"),
            };
            assert_eq!(
                allowed(t, subject, side),
                expected,
                "{t} as {side} of {subject}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 36);
}

#[test]
fn table_1_matches_the_requirements_file() {
    let doc = requirements_document();
    let rows = table_rows(&doc, "Table 1 — cell types");
    let supplies = [
        SupplyCapability::SupplyOnly,
        SupplyCapability::SupplyAndConsumption,
        SupplyCapability::ConsumptionOnly,
    ];
    assert_eq!(rows.len(), 3);
    for (row, supply) in rows.iter().zip(supplies) {
        for (cell, flexibility) in row[1..]
            .iter()
            .zip([Flexibility::Available, Flexibility::Unavailable])
        {
            // "stochastic (variable) generator (solar, wind)": the name before the last parenthesis, the examples.
            let name = cell
                .rsplit_once(" (")
                .map_or(cell.as_str(), |(name, _)| name);
            let t = cell_type_named(name);
            assert_eq!(
                PowerCellType::from_properties(supply, flexibility),
                t,
                "{name}"
            );
            assert_eq!((t.supply(), t.flexibility()), (supply, flexibility));
        }
    }
}

#[test]
fn table_3_matches_the_requirements_file() {
    let doc = requirements_document();
    let rows = table_rows(&doc, "Table 3 — interconnecting device");
    assert_eq!(rows.len(), 3);
    for row in &rows {
        let device = if row[1].contains("energy router") {
            InterfaceDevice::EnergyRouter
        } else if row[1].contains("energy port") {
            InterfaceDevice::EnergyPort
        } else if row[1].contains("smart electricity meter") {
            InterfaceDevice::SmartMeterWithProtection
        } else {
            panic!("unknown device {:?}", row[1]);
        };
        for name in row[0].split(", ") {
            assert_eq!(cell_type_named(name).interface_device(), device, "{name}");
        }
    }
}
