//! Fuzz target bodies for `ng-control`, shared by `fuzz/fuzz_targets/*` and the corpus-replay test
//! `ng-control/tests/fuzz_corpus.rs`.
#![allow(unreachable_pub, dead_code, clippy::expect_used, clippy::panic)]

use ng_control::Case;
use ng_control::powerflow::{Options, solve};

/// A MATPOWER case file: whatever parses must write back to text that parses to the same case, and solving it
/// must return a result or an error, never panic.
pub fn matpower_case(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(case) = Case::from_matpower(text) {
        let again = Case::from_matpower(&case.to_matpower("again")).expect("written cases parse");
        assert_eq!(again.buses.len(), case.buses.len());
        assert_eq!(again.branches.len(), case.branches.len());
        if case.buses.len() <= 200 {
            let _ = solve(
                &case,
                &Options {
                    max_iterations: 20,
                    ..Options::default()
                },
            );
        }
    }
}
