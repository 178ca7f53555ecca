//! Replays the IEC 104 fuzz corpora (`fuzz/corpus/iec104_apdu/`, `fuzz/corpus/iec104_link/`) through the fuzz
//! target bodies.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../../fuzz/bodies/iec104.rs"]
mod bodies;

fn corpus(name: &str) -> Vec<Vec<u8>> {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(name);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{name}: {} files", files.len());
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

#[test]
fn iec104_apdu_corpus() {
    corpus("iec104_apdu").iter().for_each(|c| bodies::apdu(c));
}

#[test]
fn iec104_link_corpus() {
    corpus("iec104_link").iter().for_each(|c| bodies::link(c));
}
