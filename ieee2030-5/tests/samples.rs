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
