#![no_main]

#[path = "../bodies/iec104.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::link(data));
