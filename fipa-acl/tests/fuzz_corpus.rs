//! Replays the fuzz corpus `fuzz/corpus/fipa_string/` through the fuzz target body.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../fuzz/bodies/fipa.rs"]
mod bodies;

#[test]
fn fipa_string_corpus() {
    let dir =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/fipa_string");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{} files", files.len());
    for f in files {
        bodies::string(&std::fs::read(&f).unwrap());
    }
}

#[test]
fn fipa_bit_efficient_corpus() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus/fipa_bit_efficient");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{} files", files.len());
    let mut decoded = 0;
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        if fipa_acl::AclMessage::decode_bit_efficient(&bytes).is_ok() {
            decoded += 1;
        }
        bodies::bit_efficient(&bytes);
    }
    assert!(decoded >= 5, "the seed messages decode");
}
