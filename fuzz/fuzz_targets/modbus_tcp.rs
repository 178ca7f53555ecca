#![no_main]

#[path = "../bodies/modbus.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::tcp(data));
