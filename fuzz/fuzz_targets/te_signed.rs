#![no_main]

#[path = "../bodies/te_contract.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    bodies::signed(data);
});
