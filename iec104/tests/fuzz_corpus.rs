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

#[path = "../../fuzz/bodies/corpus.rs"]
mod corpus_files;
use corpus_files::corpus;

#[test]
fn iec104_apdu_corpus() {
    corpus("iec104_apdu", 5)
        .iter()
        .for_each(|c| bodies::apdu(c));
}

#[test]
fn iec104_link_corpus() {
    corpus("iec104_link", 5)
        .iter()
        .for_each(|c| bodies::link(c));
}
