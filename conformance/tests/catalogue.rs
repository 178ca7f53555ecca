//! The catalogue data file against the requirements document it encodes (`../shared/idea-requirements.md`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation
)]

use idea_conformance::{Catalogue, Check};
use std::collections::BTreeSet;
use std::path::PathBuf;

fn requirements_document() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/idea-requirements.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the requirements document {} must be readable: {e}",
            path.display()
        )
    })
}

/// Every ID the document defines: table rows `| ID |`, inline `AUX-01 …`/`PROP-01 …`, `SEC-01:` and `- DEMO-S1:`.
fn document_ids(doc: &str) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for token in doc.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')) {
        let Some((area, number)) = token.split_once('-') else {
            continue;
        };
        let digits = number.trim_start_matches(|c: char| c.is_ascii_uppercase());
        let known = [
            "ARCH", "AG", "UC", "AUX", "PROP", "TE", "IOT", "NG", "SEC", "DEMO",
        ];
        if known.contains(&area) && !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
        {
            ids.insert(token.to_owned());
        }
    }
    // "UC-01..UC-10"-style ranges are not in the document; every ID is written out.
    ids
}

#[test]
fn catalogue_has_exactly_the_documents_ids() {
    let doc = requirements_document();
    let doc_ids = document_ids(&doc);
    let catalogue = Catalogue::builtin().unwrap();
    let ours: BTreeSet<String> = catalogue
        .requirements
        .iter()
        .map(|r| r.id.clone())
        .collect();
    let missing: Vec<_> = doc_ids.difference(&ours).collect();
    let extra: Vec<_> = ours.difference(&doc_ids).collect();
    assert!(
        missing.is_empty(),
        "IDs in the document but not in the catalogue: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "IDs in the catalogue but not in the document: {extra:?}"
    );
    assert_eq!(ours.len(), 78);
}

#[test]
fn table_rows_keep_the_documents_text() {
    let doc = requirements_document();
    let catalogue = Catalogue::builtin().unwrap();
    for line in doc.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // `| ID | text | …`
        if cells.len() >= 4
            && let Some(r) = catalogue.get(cells[1])
        {
            assert_eq!(r.text, cells[2], "text of {}", r.id);
        }
    }
}

#[test]
fn every_area_has_requirements_and_most_are_testable() {
    let catalogue = Catalogue::builtin().unwrap();
    for area in &catalogue.areas {
        assert!(
            !catalogue.in_area(&area.id).is_empty(),
            "area {} is empty",
            area.id
        );
    }
    let declared: Vec<&str> = catalogue
        .requirements
        .iter()
        .filter(|r| r.check == Check::Declared)
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(
        declared,
        ["ARCH-05", "AG-01", "AG-08", "AG-11", "TE-06", "PROP-03"]
    );
}
