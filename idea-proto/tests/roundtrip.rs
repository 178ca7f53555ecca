//! Round trips of every message type through protobuf (length-delimited and bare) and JSON, and decoders fed
//! arbitrary bytes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation
)]

use idea_proto::strategies;
use idea_proto::wire::AnyMessage;
use idea_proto::*;
use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

fn check<M>(message: &M) -> Result<(), TestCaseError>
where
    M: WireMessage + Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    // Length-delimited, with trailing bytes that belong to the next message.
    let mut bytes = Vec::new();
    message.encode(&mut bytes);
    let framed_len = bytes.len();
    bytes.extend_from_slice(&[0xde, 0xad]);
    let (decoded, used) = M::decode(&bytes).unwrap();
    prop_assert_eq!(&decoded, message);
    prop_assert_eq!(used, framed_len);
    // Truncated by one byte: an error, never a panic or a wrong message.
    prop_assert!(M::decode(&bytes[..framed_len - 1]).is_err());
    // Bare payload.
    let payload = message.encode_payload();
    prop_assert_eq!(&M::decode_payload(&payload).unwrap(), message);
    // JSON.
    let json = serde_json::to_string(message).unwrap();
    let back: M = serde_json::from_str(&json).unwrap();
    prop_assert_eq!(&back, message);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn power_cell(m in strategies::power_cell()) { check(&m)?; }

    #[test]
    fn energy_transaction(m in strategies::transaction()) { check(&m)?; }

    #[test]
    fn transaction_request(m in strategies::transaction_request()) { check(&m)?; }

    #[test]
    fn transaction_answer(m in strategies::transaction_answer()) { check(&m)?; }

    #[test]
    fn setpoint_command(m in strategies::setpoint_command()) { check(&m)?; }

    #[test]
    fn measurement_report(m in strategies::measurement_report()) { check(&m)?; }

    #[test]
    fn lifecycle(m in strategies::lifecycle()) { check(&m)?; }

    #[test]
    fn service(m in strategies::service()) { check(&m)?; }

    #[test]
    fn subscription(m in strategies::subscription()) { check(&m)?; }

    #[test]
    fn auxiliary_message(m in strategies::auxiliary_message()) { check(&m)?; }

    #[test]
    fn topology(m in strategies::topology()) { check(&m)?; }

    #[test]
    fn any_message_through_a_signed_envelope(m in strategies::any_message(), seed in any::<[u8; 32]>()) {
        let key = SigningKey::from_bytes(&seed);
        let envelope = SignedEnvelope::seal_payload(m.type_name(), m.encode_payload(), &key);
        let mut bytes = Vec::new();
        envelope.encode(&mut bytes);
        let (received, used) = SignedEnvelope::decode(&bytes).unwrap();
        prop_assert_eq!(used, bytes.len());
        prop_assert_eq!(&received, &envelope);
        prop_assert_eq!(received.open_any().unwrap(), m.clone());
        let json = serde_json::to_string(&m).unwrap();
        prop_assert_eq!(serde_json::from_str::<AnyMessage>(&json).unwrap(), m);
    }

    #[test]
    fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        for name in AnyMessage::TYPE_NAMES {
            let _ = AnyMessage::decode_payload(name, &bytes);
        }
        let _ = SignedEnvelope::decode(&bytes);
        let _ = EnergyTransaction::decode(&bytes);
    }

    #[test]
    fn mutated_messages_decode_or_fail_cleanly(m in strategies::any_message(), flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4)) {
        let mut payload = m.encode_payload();
        if !payload.is_empty() {
            for (at, value) in flips {
                let i = at.index(payload.len());
                payload[i] ^= value;
            }
        }
        // Whatever decodes is valid by construction; it must re-encode and decode to itself.
        if let Ok(decoded) = AnyMessage::decode_payload(m.type_name(), &payload) {
            let again = AnyMessage::decode_payload(m.type_name(), &decoded.encode_payload()).unwrap();
            prop_assert_eq!(again, decoded);
        }
    }
}

#[test]
fn every_registered_type_is_generated() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..2000 {
        let m = strategies::any_message()
            .new_tree(&mut runner)
            .unwrap()
            .current();
        seen.insert(m.type_name());
    }
    let all: std::collections::BTreeSet<_> = AnyMessage::TYPE_NAMES.iter().copied().collect();
    assert_eq!(seen, all);
}

#[test]
fn oversized_length_prefix_is_refused_before_allocating() {
    let mut bytes = Vec::new();
    prost::encoding::encode_varint(u64::MAX, &mut bytes);
    let err = PowerCell::decode(&bytes).unwrap_err();
    assert!(matches!(err, Error::Decode { offset: 0, .. }), "{err}");
    assert!(err.to_string().contains("exceeds the limit"), "{err}");
    let err = PowerCell::decode(&[0x05, 0x0a]).unwrap_err();
    assert!(matches!(err, Error::Decode { offset: 2, .. }), "{err}");
    assert!(err.to_string().contains("truncated"), "{err}");
}
