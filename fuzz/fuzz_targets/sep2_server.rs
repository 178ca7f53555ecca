#![no_main]

#[path = "../bodies/ieee2030_5.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    bodies::server(data);
});
