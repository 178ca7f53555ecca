//! Replays the fuzz corpora `fuzz/corpus/modbus_*/` through the fuzz target bodies.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../../fuzz/bodies/modbus.rs"]
mod bodies;

#[path = "../../fuzz/bodies/corpus.rs"]
mod corpus_files;
use corpus_files::corpus;

#[test]
fn modbus_tcp_corpus() {
    let inputs = corpus("modbus_tcp", 10);
    let framed = inputs
        .iter()
        .filter(|c| {
            modbus_profiles::frame::TcpFrame::<modbus_profiles::frame::Request>::decode(c).is_ok()
                || modbus_profiles::frame::TcpFrame::<modbus_profiles::frame::Response>::decode(c)
                    .is_ok()
        })
        .count();
    assert!(framed >= 17, "the seeds frame");
    inputs.iter().for_each(|c| bodies::tcp(c));
}

#[test]
fn modbus_rtu_corpus() {
    let inputs = corpus("modbus_rtu", 10);
    inputs.iter().for_each(|c| bodies::rtu(c));
}
