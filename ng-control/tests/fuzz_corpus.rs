//! Replays the MATPOWER fuzz corpus (`fuzz/corpus/matpower_case/`) through the fuzz target body.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../../fuzz/bodies/ng_control.rs"]
mod bodies;

#[test]
fn matpower_case_corpus() {
    let dir =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/matpower_case");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{} files", files.len());
    for f in files {
        bodies::matpower_case(&std::fs::read(&f).unwrap());
    }
}
