//! Fuzz target bodies for `iec104`, shared by `fuzz/fuzz_targets/*` and `iec104/tests/fuzz_corpus.rs`.
#![allow(
    unreachable_pub,
    dead_code,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects
)]

use iec104::{Apdu, AsduParams};

/// The first octet picks the ASDU field sizes; the rest is an APDU stream. Whatever decodes re-encodes to the
/// same octets.
pub fn apdu(data: &[u8]) {
    let Some((&selector, mut rest)) = data.split_first() else {
        return;
    };
    let params = AsduParams {
        cot_size: 1 + (selector & 1),
        ca_size: 1 + ((selector >> 1) & 1),
        ioa_size: 1 + ((selector >> 2) % 3),
    };
    while let Ok((apdu, used)) = Apdu::decode(rest, &params) {
        let mut again = Vec::new();
        apdu.encode(&params, &mut again)
            .expect("a decoded APDU encodes");
        assert_eq!(
            again.as_slice(),
            rest.get(..used).expect("used is within the input")
        );
        let _ = iec104::view::to_json(&apdu);
        let Some(next) = rest.get(used..) else { break };
        rest = next;
    }
}
