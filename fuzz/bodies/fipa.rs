//! Fuzz target bodies for `fipa-acl`, shared by `fuzz/fuzz_targets/*` and `fipa-acl/tests/fuzz_corpus.rs`.
#![allow(unreachable_pub, dead_code, clippy::expect_used, clippy::panic)]

use fipa_acl::AclMessage;

/// Decodes the string representation; whatever decodes encodes, and decodes back to the same message.
pub fn string(data: &[u8]) {
    let Ok((message, used)) = AclMessage::decode_string(data) else {
        return;
    };
    assert!(used <= data.len());
    let mut again = Vec::new();
    message
        .encode_string(&mut again)
        .expect("a decoded message encodes");
    let (back, used) = AclMessage::decode_string(&again).expect("an encoded message decodes");
    assert_eq!(used, again.len());
    assert_eq!(back, message);
}

/// Decodes the bit-efficient representation; a decoded message with a performative converts to the string
/// representation and back with every field.
pub fn bit_efficient(data: &[u8]) {
    let Ok((message, used)) = AclMessage::decode_bit_efficient(data) else {
        return;
    };
    assert!(used <= data.len());
    if message.performative.performative().is_none() {
        return;
    }
    let mut text = Vec::new();
    message
        .encode_string(&mut text)
        .expect("a decoded message encodes as a string");
    let (back, _) = AclMessage::decode_string(&text).expect("and decodes");
    assert_eq!(back, message);
}
