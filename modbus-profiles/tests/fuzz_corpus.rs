//! Replays the fuzz corpora `fuzz/corpus/modbus_*/` through the fuzz target bodies.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../../fuzz/bodies/modbus.rs"]
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
    assert!(files.len() >= 10, "{name}: {} files", files.len());
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

#[test]
fn modbus_tcp_corpus() {
    let inputs = corpus("modbus_tcp");
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
    let inputs = corpus("modbus_rtu");
    inputs.iter().for_each(|c| bodies::rtu(c));
}
