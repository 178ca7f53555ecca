//! Fuzz target bodies for `idea-proto`, shared by `fuzz/fuzz_targets/*` and the corpus-replay test
//! `idea-proto/tests/fuzz_corpus.rs`. Each body must never panic except on a broken invariant, which is the
//! bug the fuzzer looks for.
#![allow(unreachable_pub, dead_code, clippy::expect_used, clippy::panic)]

use idea_proto::wire::AnyMessage;
use idea_proto::{SignedEnvelope, WireMessage};

/// First byte picks the message type; the rest is its protobuf payload. Whatever decodes must re-encode to
/// bytes that decode to the same message.
pub fn proto_message(data: &[u8]) {
    let Some((&selector, payload)) = data.split_first() else {
        return;
    };
    let names = AnyMessage::TYPE_NAMES;
    let Some(name) = usize::from(selector)
        .checked_rem(names.len())
        .and_then(|i| names.get(i))
    else {
        return;
    };
    if let Ok(message) = AnyMessage::decode_payload(name, payload) {
        let again = AnyMessage::decode_payload(name, &message.encode_payload());
        assert_eq!(
            again.as_ref(),
            Ok(&message),
            "re-encoded {name} does not decode to itself"
        );
    }
}

/// A length-delimited signed envelope: decode, verify, open. Forged input must fail cleanly.
pub fn signed_envelope(data: &[u8]) {
    if let Ok((envelope, used)) = SignedEnvelope::decode(data) {
        assert!(used <= data.len());
        if let Ok(message) = envelope.open_any() {
            assert_eq!(message.type_name(), envelope.message_type());
        }
    }
}

/// JSON of any message; whatever parses is valid and survives a round trip.
pub fn json_message(data: &[u8]) {
    if let Ok(message) = serde_json::from_slice::<AnyMessage>(data) {
        let text = serde_json::to_vec(&message).expect("a parsed message serialises");
        let again: AnyMessage = serde_json::from_slice(&text).expect("serialised JSON parses");
        assert_eq!(again, message);
    }
}
