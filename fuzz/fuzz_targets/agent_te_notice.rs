#![no_main]

#[path = "../bodies/idea_agent.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    bodies::te_notice(data);
});
