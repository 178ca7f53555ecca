//! Every real document in `../shared/ieee2030-5/samples/` parses; written back and read again it is the same
//! resource.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    missing_docs
)]

mod common;
use common::samples;
use ieee2030_5::resources::{AnyResource, decode, encode};
use ieee2030_5::xml::{Extension, Limits, Reader};

#[test]
fn every_sample_parses_and_round_trips() {
    let files = samples();
    assert_eq!(files.len(), 33, "the shared samples");
    for (name, bytes) in &files {
        let (resource, used) = decode(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(used <= bytes.len());
        let stem = name.split('_').nth(1).unwrap().split('.').next().unwrap();
        let expected = stem.split('-').next().unwrap();
        assert_eq!(resource.type_name(), expected, "{name}");
        let mut out = Vec::new();
        encode(&resource, &mut out);
        let (again, _) = decode(&out)
            .unwrap_or_else(|e| panic!("{name}: {e}\n{}", String::from_utf8_lossy(&out)));
        assert_eq!(again, resource, "{name}");
        if matches!(resource, AnyResource::Other(_)) {
            panic!("{name}: read as an unknown resource");
        }
    }
}

/// The document as a tree (namespaces resolved: CSIP-AUS v1.3 reads as v1.2).
fn tree(bytes: &[u8]) -> Extension {
    let mut reader = Reader::new(bytes, Limits::default()).unwrap();
    let root = reader.root().unwrap();
    reader.capture(&root).unwrap()
}

/// Two lexical forms of one value: the same text, the same integer (`+5`, `05`), the same hex number
/// (`0a` and `000A`), or the same boolean (`1` and `true`).
fn same_value(a: &str, b: &str) -> bool {
    let norm = |s: &str| match s.trim() {
        "true" => "1".to_owned(),
        "false" => "0".to_owned(),
        t => t.trim_start_matches('+').to_owned(),
    };
    let (a, b) = (norm(a), norm(b));
    a == b
        || matches!((a.parse::<i128>(), b.parse::<i128>()), (Ok(x), Ok(y)) if x == y)
        || (is_hex(&a) && is_hex(&b) && hex_digits(&a) == hex_digits(&b))
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Hex digits as a number's: uppercase, no leading zeros.
fn hex_digits(s: &str) -> String {
    s.trim_start_matches('0').to_ascii_uppercase()
}

/// Every attribute and element of `original` is in `written` with the same value; children of one name keep
/// their order, children of different names may move (the schema's order is restored).
fn assert_kept(original: &Extension, written: &Extension, path: &str) {
    let path = format!("{path}/{}", original.name);
    assert_eq!(original.namespace, written.namespace, "{path}");
    assert_eq!(original.name, written.name, "{path}");
    // `xsi:schemaLocation` is a hint to validators, not a value: the writer leaves it out.
    let values = |e: &Extension| -> Vec<(String, String)> {
        e.attributes
            .iter()
            .filter(|(k, _)| k != "xsi:schemaLocation")
            .cloned()
            .collect()
    };
    let mut a = values(original);
    let mut b = values(written);
    a.sort();
    b.sort();
    assert_eq!(a.len(), b.len(), "{path}: attributes {a:?} vs {b:?}");
    for ((ka, va), (kb, vb)) in a.iter().zip(&b) {
        assert!(
            ka == kb && same_value(va, vb),
            "{path}@{ka}: {va:?} vs {vb:?}"
        );
    }
    assert!(
        same_value(&original.text, &written.text),
        "{path}: {:?} vs {:?}",
        original.text,
        written.text
    );
    let key = |e: &Extension| (e.namespace.clone(), e.name.clone());
    let mut names: Vec<_> = original.children.iter().map(key).collect();
    names.sort();
    names.dedup();
    assert_eq!(
        original.children.len(),
        written.children.len(),
        "{path}: children"
    );
    for name in names {
        let ours: Vec<_> = written.children.iter().filter(|c| key(c) == name).collect();
        let theirs: Vec<_> = original
            .children
            .iter()
            .filter(|c| key(c) == name)
            .collect();
        assert_eq!(theirs.len(), ours.len(), "{path}: {name:?}");
        for (t, o) in theirs.into_iter().zip(ours) {
            assert_kept(t, o, &path);
        }
    }
}

#[test]
fn written_samples_keep_every_value() {
    for (name, bytes) in samples() {
        let (resource, _) = decode(&bytes).unwrap();
        let mut out = Vec::new();
        encode(&resource, &mut out);
        assert_kept(&tree(&bytes), &tree(&out), &name);
    }
}

#[test]
fn the_keeper_notices_a_lost_value() {
    // The comparison itself must fail on a changed or dropped value.
    let a = tree(br#"<T xmlns="urn:ieee:std:2030.5:ns"><v>1</v><w>0a</w></T>"#);
    let same = tree(br#"<T xmlns="urn:ieee:std:2030.5:ns"><w>000A</w><v>+1</v></T>"#);
    assert_kept(&a, &same, "");
    let changed = tree(br#"<T xmlns="urn:ieee:std:2030.5:ns"><v>2</v><w>0A</w></T>"#);
    assert!(std::panic::catch_unwind(|| assert_kept(&a, &changed, "")).is_err());
    let dropped = tree(br#"<T xmlns="urn:ieee:std:2030.5:ns"><v>1</v></T>"#);
    assert!(std::panic::catch_unwind(|| assert_kept(&a, &dropped, "")).is_err());
}
