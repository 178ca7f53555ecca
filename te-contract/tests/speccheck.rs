//! The acceptance rule pinned against the ed25519-speccheck vectors (tests/data/ed25519-speccheck, from "Taming
//! the many EdDSAs") and against ed25519-dalek's `verify_strict`: the verdict of every vector, alone and in a
//! batch, is the one written here, so any change of the rule fails CI; and on random signatures with random
//! damage the two rules agree, differing only where `src/verify.rs` says they may (torsion the cofactor
//! removes, which random damage does not make).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use ed25519_dalek::{Signature as DalekSignature, Signer, VerifyingKey};
use idea_proto::{PublicKey, SigningKey};
use proptest::prelude::*;
use te_contract::signed::SignatureCheck;
use te_contract::verify::{verify_batch, verify_one};
use te_contract::{AvatarId, MessageKind};

/// One vector: message, key, signature (hex in the file).
struct Case {
    message: [u8; 32],
    key: [u8; 32],
    signature: [u8; 64],
}

fn unhex<const N: usize>(text: &str) -> [u8; N] {
    let bytes: Vec<u8> = (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect();
    bytes.try_into().unwrap()
}

fn cases() -> Vec<Case> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/ed25519-speccheck/cases.json"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json.as_array()
        .unwrap()
        .iter()
        .map(|c| Case {
            message: unhex(c["message"].as_str().unwrap()),
            key: unhex(c["pub_key"].as_str().unwrap()),
            signature: unhex(c["signature"].as_str().unwrap()),
        })
        .collect()
}

/// Our verdict: the key must be a valid point of large order (refused at construction otherwise), then the
/// signature must pass the rule.
fn ours(case: &Case) -> Option<SignatureCheck> {
    let key = PublicKey::from_bytes(&case.key).ok()?;
    Some(SignatureCheck {
        kind: MessageKind::ChannelState,
        digest: case.message,
        key,
        signature: case.signature,
        signer: AvatarId::from_bytes([1; 16]),
    })
}

fn strict(message: &[u8], key: &[u8; 32], signature: &[u8; 64]) -> bool {
    VerifyingKey::from_bytes(key).is_ok_and(|k| {
        k.verify_strict(message, &DalekSignature::from_bytes(signature))
            .is_ok()
    })
}

/// The speccheck table: for each of the twelve cases, (our rule, `verify_strict`). Cases 0–2 have a
/// small-order key or commitment, 3 is a mixed-order key and commitment both equations accept, 4 and 5 pass
/// only the cofactored equation (mixed-order key: the torsion `[k]A` keeps), 6–7 have `S ≥ ℓ`, 8–9 a
/// non-canonical `R`, 10–11 a non-canonical (and small-order) key.
const VERDICTS: [(bool, bool); 12] = [
    (false, false),
    (false, false),
    (false, false),
    (true, true),
    (true, false),
    (true, false),
    (false, false),
    (false, false),
    (false, false),
    (false, false),
    (false, false),
    (false, false),
];

#[test]
fn every_speccheck_vector_has_its_pinned_verdict_alone_and_in_a_batch() {
    let cases = cases();
    assert_eq!(cases.len(), VERDICTS.len());
    let honest: Vec<SignatureCheck> = (0..4u8)
        .map(|n| {
            let key = SigningKey::from_bytes(&[n + 1; 32]);
            let digest = [n; 32];
            SignatureCheck {
                kind: MessageKind::ChannelState,
                digest,
                key: PublicKey::from(&key),
                signature: key.sign(&digest).to_bytes(),
                signer: AvatarId::from_bytes([n; 16]),
            }
        })
        .collect();
    for (i, (case, (expected, expected_strict))) in cases.iter().zip(VERDICTS).enumerate() {
        let check = ours(case);
        let alone = check.as_ref().is_some_and(verify_one);
        assert_eq!(alone, expected, "case {i}: our rule");
        assert_eq!(
            strict(&case.message, &case.key, &case.signature),
            expected_strict,
            "case {i}: verify_strict"
        );
        // Whatever verify_strict accepts, we accept.
        assert!(!expected_strict || expected, "case {i}");
        if let Some(check) = check {
            let mut batch = honest.clone();
            batch.insert(1, check);
            assert_eq!(verify_batch(&batch), expected, "case {i} in a batch");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Differential: an honest signature, possibly damaged in one bit of the signature, the message or the
    /// key, gets the same verdict from our rule and from `verify_strict`.
    #[test]
    fn random_damage_gets_the_verdict_of_verify_strict(
        seed in any::<[u8; 32]>(),
        message in any::<[u8; 32]>(),
        damage in proptest::option::of((0usize..3, 0usize..512)),
    ) {
        let key = SigningKey::from_bytes(&seed);
        let mut public = PublicKey::from(&key).to_bytes();
        let mut signature = key.sign(&message).to_bytes();
        let mut digest = message;
        match damage {
            Some((0, bit)) => signature[bit / 8] ^= 1 << (bit % 8),
            Some((1, bit)) => digest[(bit / 8) % 32] ^= 1 << (bit % 8),
            Some((_, bit)) => public[(bit / 8) % 32] ^= 1 << (bit % 8),
            None => {}
        }
        let theirs = strict(&digest, &public, &signature);
        let mine = ours(&Case { message: digest, key: public, signature }).is_some_and(|c| verify_one(&c));
        prop_assert_eq!(mine, theirs);
        prop_assert_eq!(damage.is_none(), mine);
    }
}
