//! The ed25519 acceptance rule: single and batched verification agree on every input, including the edge
//! cases where ed25519 verifiers differ (small-order and mixed-order commitments, non-canonical scalars),
//! and the rule refuses everything `verify_strict` refuses except a commitment whose torsion the cofactor
//! removes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation
)]

use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::Signature as DalekSignature;
use idea_proto::{EnvelopeSigner, PublicKey, SigningKey};
use proptest::prelude::*;
use sha2::{Digest, Sha512};
use te_contract::signed::{SignatureCheck, verify_checks};
use te_contract::verify::{first_invalid, verify_batch, verify_one};
use te_contract::{AvatarId, Error, MessageKind};

/// How a test signature is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Make {
    /// An ordinary signature by the key.
    Honest,
    /// Honest, but over another digest than the one checked.
    WrongDigest,
    /// `R = rB + T` with `T` of order 8 and `S = r + kA`: valid only under the cofactored equation.
    MixedOrderR,
    /// `R = T` of order 8 and `S = k·a`: passes the cofactored equation, but `R` is of small order.
    SmallOrderR,
    /// An honest signature with `S + ℓ` in place of `S`.
    NonCanonicalS,
}

/// A key as a raw scalar, so that signatures can be shaped at will.
struct RawKey {
    a: Scalar,
    public: PublicKey,
}

impl RawKey {
    fn new(seed: u8) -> RawKey {
        let a = Scalar::from_bytes_mod_order_wide(&Sha512::digest([seed; 7]).into());
        let public = PublicKey::from_bytes(&EdwardsPoint::mul_base(&a).compress().0).unwrap();
        RawKey { a, public }
    }

    fn challenge(&self, r: &[u8; 32], digest: &[u8; 32]) -> Scalar {
        let mut h = Sha512::new();
        h.update(r);
        h.update(self.public.to_bytes());
        h.update(digest);
        Scalar::from_bytes_mod_order_wide(&h.finalize().into())
    }

    fn sign(&self, digest: &[u8; 32], make: Make, nonce: u8) -> [u8; 64] {
        let r = Scalar::from_bytes_mod_order_wide(&Sha512::digest([nonce, 0xAA]).into());
        let torsion = EIGHT_TORSION[1];
        let point = match make {
            Make::MixedOrderR => EdwardsPoint::mul_base(&r) + torsion,
            Make::SmallOrderR => torsion,
            _ => EdwardsPoint::mul_base(&r),
        };
        let r_bytes = point.compress().0;
        let k = self.challenge(&r_bytes, digest);
        let s = match make {
            Make::SmallOrderR => k * self.a,
            _ => r + k * self.a,
        };
        let mut s_bytes = s.to_bytes();
        if make == Make::NonCanonicalS {
            add_group_order(&mut s_bytes);
        }
        let mut sig = [0; 64];
        sig[..32].copy_from_slice(&r_bytes);
        sig[32..].copy_from_slice(&s_bytes);
        sig
    }

    fn check(&self, make: Make, nonce: u8) -> SignatureCheck {
        let digest: [u8; 32] = Sha512::digest([nonce, 1]).as_slice()[..32]
            .try_into()
            .unwrap();
        let signed = if make == Make::WrongDigest {
            let mut other = digest;
            other[0] ^= 1;
            other
        } else {
            digest
        };
        SignatureCheck {
            kind: MessageKind::ChannelState,
            digest,
            key: self.public,
            signature: self.sign(&signed, make, nonce),
            signer: AvatarId::from_bytes([nonce; 16]),
        }
    }
}

/// Adds ℓ = 2^252 + 27742317777372353535851937790883648493 to a little-endian scalar (fits in 256 bits for
/// any reduced scalar).
fn add_group_order(s: &mut [u8; 32]) {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut carry = 0u16;
    for (byte, l) in s.iter_mut().zip(L) {
        let sum = u16::from(*byte) + u16::from(l) + carry;
        *byte = sum as u8;
        carry = sum >> 8;
    }
}

fn strict(check: &SignatureCheck) -> bool {
    check
        .key
        .verifying_key()
        .verify_strict(&check.digest, &DalekSignature::from_bytes(&check.signature))
        .is_ok()
}

#[test]
fn each_edge_case_has_the_documented_verdict_alone_and_in_a_batch() {
    let key = RawKey::new(7);
    // (how made, our verdict, verify_strict's verdict)
    let table = [
        (Make::Honest, true, true),
        (Make::WrongDigest, false, false),
        (Make::MixedOrderR, true, false),
        (Make::SmallOrderR, false, false),
        (Make::NonCanonicalS, false, false),
    ];
    for (i, (make, ours, theirs)) in table.into_iter().enumerate() {
        let check = key.check(make, i as u8);
        assert_eq!(verify_one(&check), ours, "{make:?} alone");
        assert_eq!(verify_batch(&[check]), ours, "{make:?} as a batch of one");
        assert_eq!(strict(&check), theirs, "{make:?} under verify_strict");
        // Among honest signatures of other keys, the batch's verdict is still this one's.
        let others: Vec<_> = (0..5)
            .map(|n| RawKey::new(n).check(Make::Honest, 100 + n))
            .collect();
        let mut batch = others.clone();
        batch.insert(2, check);
        assert_eq!(verify_batch(&batch), ours, "{make:?} in a batch");
        assert_eq!(first_invalid(&batch), (!ours).then_some(2), "{make:?}");
    }
}

#[test]
fn the_signatures_of_the_crate_signers_verify_under_both_rules() {
    let key = SigningKey::from_bytes(&[42; 32]);
    let digest = [9; 32];
    let check = SignatureCheck {
        kind: MessageKind::Contract,
        digest,
        key: key.public_key(),
        signature: key.sign_digest(&digest),
        signer: AvatarId::from_bytes([1; 16]),
    };
    assert!(verify_one(&check) && strict(&check));
    assert!(verify_checks(&[check, check, check]).is_ok());
}

#[test]
fn the_error_names_the_first_bad_signature_of_a_batch() {
    let good = RawKey::new(1).check(Make::Honest, 1);
    let bad = RawKey::new(2).check(Make::WrongDigest, 2);
    let err = verify_checks(&[good, good, bad, good]).unwrap_err();
    match err {
        Error::BadSignature { kind, signer } => {
            assert_eq!(kind, MessageKind::ChannelState);
            assert_eq!(signer, bad.signer);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        verify_checks(&[]).is_ok(),
        "an empty batch holds nothing false"
    );
}

fn any_make() -> impl Strategy<Value = Make> {
    prop_oneof![
        10 => Just(Make::Honest),
        1 => Just(Make::WrongDigest),
        3 => Just(Make::MixedOrderR),
        1 => Just(Make::SmallOrderR),
        1 => Just(Make::NonCanonicalS),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the mixture — keys repeated or not, edge cases anywhere — the batch verdict is the
    /// conjunction of the single verdicts, and the first invalid signature it reports is the first one that
    /// fails alone.
    #[test]
    fn batch_and_single_verdicts_agree(
        items in proptest::collection::vec((0u8..4, any_make()), 0..16)
    ) {
        let keys: Vec<RawKey> = (0..4).map(RawKey::new).collect();
        let checks: Vec<SignatureCheck> = items
            .iter()
            .enumerate()
            .map(|(i, (k, make))| keys[usize::from(*k)].check(*make, i as u8))
            .collect();
        let singles: Vec<bool> = checks.iter().map(verify_one).collect();
        prop_assert_eq!(verify_batch(&checks), singles.iter().all(|v| *v));
        prop_assert_eq!(first_invalid(&checks), singles.iter().position(|v| !v));
    }
}

/// A batch large enough to be split over the cores gives the verdict of the whole: valid when every signature
/// is, and invalid when a single bad one sits in any part — the first, the last, or where two parts meet.
#[test]
fn a_batch_split_over_the_cores_gives_the_verdict_of_the_whole() {
    use te_contract::verify::verify_batch_on_cores;
    let keys: Vec<RawKey> = (0..4).map(RawKey::new).collect();
    let honest: Vec<SignatureCheck> = (0..300usize)
        .map(|i| keys[i % 4].check(Make::Honest, i as u8))
        .collect();
    assert!(verify_batch_on_cores(&honest));
    assert!(verify_batch(&honest));
    for bad in [0, 149, 150, 151, 299] {
        for make in [Make::WrongDigest, Make::MixedOrderR, Make::NonCanonicalS] {
            let mut checks = honest.clone();
            checks[bad] = keys[bad % 4].check(make, bad as u8);
            let alone = verify_one(&checks[bad]);
            assert_eq!(
                verify_batch_on_cores(&checks),
                alone,
                "{make:?} at {bad} of {}",
                checks.len()
            );
            assert_eq!(verify_batch_on_cores(&checks), verify_batch(&checks));
        }
    }
    // Too few to split: the same as the batch on one thread.
    assert!(verify_batch_on_cores(&honest[..100]));
    assert!(verify_batch_on_cores::<SignatureCheck>(&[]));
}
