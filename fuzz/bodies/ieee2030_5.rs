//! Fuzz target body for `ieee2030-5`, shared by `fuzz/fuzz_targets/sep2_xml.rs` and
//! `ieee2030-5/tests/fuzz_corpus.rs`.
#![allow(unreachable_pub, dead_code, clippy::expect_used, clippy::panic)]

use ieee2030_5::resources::{decode, encode};

/// Any bytes: an error or a resource; a resource written back reads as the same resource, and writing that
/// again gives the same bytes (the output is canonical). Returns whether a resource was read.
pub fn xml(data: &[u8]) -> bool {
    let Ok((resource, used)) = decode(data) else {
        return false;
    };
    assert!(used <= data.len());
    let mut out = Vec::new();
    encode(&resource, &mut out);
    let (again, _) =
        decode(&out).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out)));
    assert_eq!(again, resource);
    let mut twice = Vec::new();
    encode(&again, &mut twice);
    assert_eq!(twice, out);
    true
}
