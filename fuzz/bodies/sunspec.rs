//! Fuzz target bodies for the SunSpec engine of `modbus-profiles`: discovery over an arbitrary register
//! image, and model definitions from arbitrary JSON. Shared by `fuzz/fuzz_targets/sunspec_*` and
//! `modbus-profiles/tests/fuzz_corpus.rs`.
#![allow(
    unreachable_pub,
    dead_code,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing
)]

use modbus_profiles::frame::ExceptionCode;
use modbus_profiles::sunspec::{Catalog, Device, ModelDef, ReadFailure, Scanner};
use std::sync::OnceLock;

/// Where the image sits.
const BASE: u16 = 40000;

fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| Catalog::builtin().expect("the shipped models load"))
}

/// Scans `image` (registers from [`BASE`]); every address outside it answers exception 2.
fn scan(image: &[u16]) -> (Result<Device, modbus_profiles::Error>, usize) {
    let mut scanner = Scanner::with_bases(catalog().clone(), &[BASE]);
    let mut reads = 0usize;
    while let Some(read) = scanner.poll_read() {
        reads += 1;
        assert!(reads <= 100_000, "the scan ends");
        assert!((1..=125).contains(&read.count), "{read:?}");
        let start = usize::from(read.address).checked_sub(usize::from(BASE));
        let values = start.and_then(|s| image.get(s..s + usize::from(read.count)));
        match values {
            Some(values) => scanner
                .handle_registers(values)
                .expect("the count asked for"),
            None => {
                scanner.handle_failure(&ReadFailure::Exception(ExceptionCode::IllegalDataAddress))
            }
        }
    }
    (scanner.finish(), reads)
}

/// Discovery over big-endian register pairs: it ends, every read is on the map and ≤ 125 registers, every
/// point of every model found reads without panicking, and a device found whole scans the same again from
/// its own re-laid map. Returns how many models were found.
pub fn scan_image(data: &[u8]) -> usize {
    let image: Vec<u16> = data
        .chunks_exact(2)
        .map(|p| u16::from_be_bytes([p[0], p[1]]))
        .collect();
    let (found, _) = scan(&image);
    let Ok(device) = found else { return 0 };
    for model in device.models() {
        for (path, point) in model.points() {
            let _ = point.value();
            let _ = point.scaled();
            let _ = model.get(&path).expect("a listed point reads");
        }
        let _ = model.to_json();
    }
    if device.models().iter().all(|m| m.problem().is_none()) {
        let again = scan(&device.registers()).0.expect("the re-laid map scans");
        assert_eq!(again.models(), device.models());
    }
    device.models().len()
}

/// Model definitions from JSON: refused with an error, or accepted and then instantiable with default counts
/// (or refused as too large), laid out and printable.
pub fn model_json(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(def) = ModelDef::from_json("fuzz.json", text) else {
        return;
    };
    if let Ok(model) = modbus_profiles::sunspec::Model::new(std::sync::Arc::new(def), BASE, &[]) {
        for (path, _) in model.points() {
            let _ = model.get(&path).expect("a listed point reads");
        }
        let _ = model.to_json();
    }
}
