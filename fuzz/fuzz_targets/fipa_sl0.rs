#![no_main]

#[path = "../bodies/fipa.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::sl0(data));
