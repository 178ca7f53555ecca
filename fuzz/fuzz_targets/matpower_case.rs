#![no_main]

#[path = "../bodies/ng_control.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::matpower_case(data));
