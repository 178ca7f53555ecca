//! Reading a fuzz corpus for replay as an ordinary test; included by each crate's `tests/fuzz_corpus.rs`.
#![allow(unreachable_pub, dead_code, clippy::unwrap_used, clippy::panic)]

/// The files of corpus `fuzz/corpus/NAME/`, in name order; at least `at_least` of them (the seeds).
pub fn corpus(name: &str, at_least: usize) -> Vec<Vec<u8>> {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(name);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= at_least, "{name}: {} files", files.len());
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}
