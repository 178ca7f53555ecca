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

#[path = "../../fuzz/bodies/sunspec.rs"]
mod sunspec_bodies;

#[test]
fn sunspec_scan_corpus() {
    let inputs = corpus("sunspec_scan", 7);
    // The seeds are the seven simulated devices' maps: each scans to a device of two models or more.
    let devices = inputs
        .iter()
        .filter(|c| sunspec_bodies::scan_image(c) >= 2)
        .count();
    assert!(devices >= 7, "{devices} seeds scan to devices");
}

#[test]
fn sunspec_model_corpus() {
    corpus("sunspec_model", 5)
        .iter()
        .for_each(|c| sunspec_bodies::model_json(c));
    // And every official model shipped with the crate.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/sunspec");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            sunspec_bodies::model_json(&std::fs::read(&path).unwrap());
            seen += 1;
        }
    }
    assert!(seen >= 20, "{seen} shipped models");
}
