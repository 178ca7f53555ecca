//! Replays the IEC 104 fuzz corpus (`fuzz/corpus/iec104_apdu/`) through the fuzz target body.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../../fuzz/bodies/iec104.rs"]
mod bodies;

#[test]
fn iec104_apdu_corpus() {
    let dir =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/iec104_apdu");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{} files", files.len());
    for f in files {
        bodies::apdu(&std::fs::read(&f).unwrap());
    }
}
