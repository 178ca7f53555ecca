#![no_main]

#[path = "../bodies/sunspec.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    bodies::scan_image(data);
});
