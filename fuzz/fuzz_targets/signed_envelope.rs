#![no_main]

#[path = "../bodies/idea_proto.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::signed_envelope(data));
