//! Signed envelopes refuse tampered payloads, other keys, other message types and weak keys.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation
)]

use idea_proto::wire::pb;
use idea_proto::*;
use prost::Message;

fn service() -> ServiceDescription {
    ServiceDescription::new(ServiceFields {
        id: ServiceId::new("p2p-market").unwrap(),
        name: "P2P market".into(),
        kind: ServiceKind::P2pMarket,
        operator: UserId::new("operator").unwrap(),
        version: 3,
        subjects: vec![Subject::Energy, Subject::Flexibility],
    })
    .unwrap()
}

fn alice() -> SigningKey {
    SigningKey::from_bytes(&[0xa1; 32])
}

fn reencode(wire: &pb::SignedEnvelope) -> SignedEnvelope {
    SignedEnvelope::decode_payload(&wire.encode_to_vec()).unwrap()
}

#[test]
fn a_sealed_message_opens() {
    let env = SignedEnvelope::seal(&service(), &alice());
    assert_eq!(env.message_type(), "idea.v1.ServiceDescription");
    assert_eq!(env.signer(), &PublicKey::from(&alice()));
    assert_eq!(env.open::<ServiceDescription>().unwrap(), service());
}

#[test]
fn every_single_bit_flip_of_the_payload_is_rejected() {
    let env = SignedEnvelope::seal(&service(), &alice());
    let wire = pb::SignedEnvelope::from(&env);
    for i in 0..wire.payload.len() * 8 {
        let mut tampered = wire.clone();
        tampered.payload[i / 8] ^= 1 << (i % 8);
        assert_eq!(
            reencode(&tampered).open::<ServiceDescription>(),
            Err(Error::BadSignature),
            "bit {i}"
        );
    }
}

#[test]
fn another_signer_key_is_rejected() {
    let env = SignedEnvelope::seal(&service(), &alice());
    let mut wire = pb::SignedEnvelope::from(&env);
    wire.signer = PublicKey::from(&SigningKey::from_bytes(&[0xb0; 32]))
        .to_bytes()
        .to_vec();
    assert_eq!(reencode(&wire).verify(), Err(Error::BadSignature));
}

#[test]
fn a_signature_for_one_type_never_verifies_as_another() {
    let env = SignedEnvelope::seal(&service(), &alice());
    // Asking for another type is refused before verification.
    assert!(matches!(
        env.open::<Subscription>(),
        Err(Error::WrongMessageType { .. })
    ));
    // Relabelling the envelope as another type breaks the signature, for every registered type.
    for name in idea_proto::wire::AnyMessage::TYPE_NAMES
        .iter()
        .filter(|n| **n != "idea.v1.ServiceDescription")
    {
        let mut wire = pb::SignedEnvelope::from(&env);
        wire.message_type = (*name).to_owned();
        assert_eq!(reencode(&wire).verify(), Err(Error::BadSignature), "{name}");
        assert_eq!(
            reencode(&wire).open_any(),
            Err(Error::BadSignature),
            "{name}"
        );
    }
    // The same payload bytes sealed under a type name the tag does not cover would need a new signature.
    let raw =
        SignedEnvelope::seal_payload("idea.v1.Subscription", service().encode_payload(), &alice());
    assert_ne!(raw.signature(), env.signature());
}

#[test]
fn weak_signer_keys_are_refused_when_decoded() {
    // The identity point with signature (R = identity, s = 0) "verifies" any message under non-strict,
    // cofactored checks. The envelope refuses the key before any verification.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let mut signature = vec![0u8; 64];
    signature[0] = 1;
    let wire = pb::SignedEnvelope {
        message_type: "idea.v1.ServiceDescription".into(),
        payload: service().encode_payload(),
        signer: identity.to_vec(),
        signature,
    };
    let bytes = wire.encode_to_vec();
    assert_eq!(
        SignedEnvelope::decode_payload(&bytes).unwrap_err(),
        Error::WeakKey
    );
    // Other small-order points are refused as weak too.
    let small_order: [[u8; 32]; 2] = [
        [0; 32], // y = 0: order 4
        {
            let mut p = [0xff; 32];
            p[0] = 0xec;
            p[31] = 0x7f;
            p
        }, // y = -1: order 2
    ];
    for p in small_order {
        assert_eq!(PublicKey::from_bytes(&p), Err(Error::WeakKey));
    }
}

#[test]
fn malformed_signature_and_type_fields_are_errors() {
    let env = SignedEnvelope::seal(&service(), &alice());
    let mut wire = pb::SignedEnvelope::from(&env);
    wire.signature.pop();
    let err = SignedEnvelope::decode_payload(&wire.encode_to_vec()).unwrap_err();
    assert_eq!(err.to_string(), "signature: 64 bytes, not 63");
    let mut wire = pb::SignedEnvelope::from(&env);
    wire.message_type.clear();
    assert!(SignedEnvelope::decode_payload(&wire.encode_to_vec()).is_err());
    // An unknown type verifies (the signer did sign it) but does not open.
    let odd = SignedEnvelope::seal_payload("vendor.v1.Thing", vec![1, 2, 3], &alice());
    assert!(odd.verify().is_ok());
    assert!(
        odd.open_any()
            .unwrap_err()
            .to_string()
            .contains("not an IDEA message type")
    );
}

#[test]
fn signatures_are_deterministic_and_digest_is_domain_separated() {
    // ed25519 is deterministic: the same key, type and payload give the same signature.
    let a = SignedEnvelope::seal(&service(), &alice());
    let b = SignedEnvelope::seal(&service(), &alice());
    assert_eq!(a.signature(), b.signature());
    // Moving bytes between the type and the payload changes the digest (length prefixes).
    let x = SignedEnvelope::seal_payload("ab", b"c".to_vec(), &alice());
    let y = SignedEnvelope::seal_payload("a", b"bc".to_vec(), &alice());
    assert_ne!(x.signature(), y.signature());
    let mut wire = pb::SignedEnvelope::from(&x);
    wire.message_type = "a".into();
    wire.payload = b"bc".to_vec();
    assert_eq!(reencode(&wire).verify(), Err(Error::BadSignature));
}
