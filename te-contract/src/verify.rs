//! Ed25519 signature verification with one acceptance rule, for one signature or a batch.
//!
//! The rule (the strictest consistent set of "Taming the many EdDSAs", Chalkias, Garillot and Nikolaenko,
//! SSR 2020; the same equation as ZIP-215): the key `A` and the commitment `R` must be canonical encodings
//! of curve points that are not of small order, `S` must be a canonical scalar (`S < ℓ`), and the
//! cofactored equation `[8][S]B = [8]R + [8][k]A` must hold, with `k = SHA-512(R ‖ A ‖ M) mod ℓ`.
//!
//! Why cofactored: `verify_strict` checks the cofactorless equation `[S]B = R + [k]A`. A batch check
//! multiplies each equation by a random `z` and adds them up; a commitment with a small torsion component
//! then passes the batch whenever `z` kills that component (one time in two to eight), so a batch built on
//! the cofactorless equation accepts signatures the single check refuses, and a signer can grind for that.
//! A channel peer that batch-accepted such a countersignature could later see an adjudicator refuse it. With
//! the cofactored equation the batch accepts exactly what the single check accepts (up to a 2^-128
//! chance per batch), so both give the same verdict on every input.
//!
//! Exactly what is accepted beyond `verify_strict`: every input `verify_strict` refuses for its form
//! (small-order `R` or `A`, non-canonical `S`, non-canonical encodings of `R` or `A`) is refused here too; of
//! the rest, this rule accepts precisely the signatures for which `R − ([S]B − [k]A)` is a small-order point
//! other than the identity — the cofactored equation holds, the cofactorless one does not. That difference
//! comes from a torsion component in `R`, or in the key `A` (a *mixed-order* key: not of small order, so
//! `verify_strict` admits the key, but carrying a torsion component that `[k]A` keeps unless `k` kills it),
//! or both when they do not cancel. Making such a signature needs the discrete logarithm of the prime-order
//! part of `A` — the key's secret — so it is never a forgery of someone else's signature; a key's owner can
//! make signatures that this rule accepts and `verify_strict` refuses. Registration refuses weak keys, but a
//! mixed-order key is not refused there, so the rule is what holds them to one verdict.
//!
//! The batch's multipliers `z` are derived from all of its inputs by SHA-512 (no random source inside the
//! core): from every signature's challenge `k` (a hash of its `R`, key and message) and response `S`, so a
//! forger would have to find inputs whose hash satisfies a 128-bit linear condition. Signatures made by the
//! same key share one multiplication by that key, and each commitment `R` is multiplied by its 128-bit `z`
//! as it is, which costs the multi-scalar multiplication half of what a full-size scalar does.
#![allow(
    clippy::arithmetic_side_effects,
    reason = "scalar arithmetic is modulo the group order and point arithmetic is the group law: nothing overflows"
)]

use crate::signed::SignatureCheck;
use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use idea_proto::PublicKey;
use sha2::{Digest, Sha512};
use std::collections::HashMap;

/// The label that starts the derivation of a batch's multipliers.
const BATCH_LABEL: &[u8] = b"IDEA-SDK/te-contract/v1 batch verification";

/// What one check needs: the key, the digest signed and the signature. A signed object's
/// [`SignatureCheck`] is one; [`DigestCheck`] is any other digest's (an agent's signed ACL message, say).
pub trait Verifiable {
    /// The key the signature must verify under.
    fn key(&self) -> &PublicKey;
    /// The signed digest.
    fn digest(&self) -> &[u8; 32];
    /// The signature.
    fn signature(&self) -> &[u8; 64];
}

impl Verifiable for SignatureCheck {
    fn key(&self) -> &PublicKey {
        &self.key
    }
    fn digest(&self) -> &[u8; 32] {
        &self.digest
    }
    fn signature(&self) -> &[u8; 64] {
        &self.signature
    }
}

/// A signature over a digest, under a key, checked by the same rule as a signed object's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestCheck {
    /// The key it must verify under.
    pub key: PublicKey,
    /// The signed digest.
    pub digest: [u8; 32],
    /// The signature.
    pub signature: [u8; 64],
}

impl Verifiable for DigestCheck {
    fn key(&self) -> &PublicKey {
        &self.key
    }
    fn digest(&self) -> &[u8; 32] {
        &self.digest
    }
    fn signature(&self) -> &[u8; 64] {
        &self.signature
    }
}

/// A signature's parts, decoded and checked for form.
struct Prepared {
    a: EdwardsPoint,
    r: EdwardsPoint,
    s: Scalar,
    k: Scalar,
}

/// Whether a point encoding's `y` (the low 255 bits, little-endian) is below `p = 2^255 − 19`. The sign bit
/// of `x` needs no check here: it can only be wrong for `x = 0`, whose two points are of small order and
/// refused as such.
fn is_canonical_y(bytes: &[u8; 32]) -> bool {
    let [low, middle @ .., high] = bytes;
    !(*high & 0x7f == 0x7f && middle.iter().all(|b| *b == 0xff) && *low >= 0xed)
}

/// The `y` coordinates (little-endian) of the eight points of small order: the identity `(0, 1)`, the point
/// of order two `(0, −1)`, the two of order four (`y = 0`) and the four of order eight, which share two
/// values of `y` in pairs `(±x, y)`.
const SMALL_ORDER_Y: [[u8; 32]; 5] = [
    [
        0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0,
    ],
    [
        0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
    [0; 32],
    [
        0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98,
        0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53,
        0xfc, 0x05,
    ],
    [
        0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67,
        0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac,
        0x03, 0x7a,
    ],
];

/// Whether the point a canonical encoding names is of small order, by its bytes: a point is of small order
/// exactly when its `y` is one of [`SMALL_ORDER_Y`] (whatever the sign bit: the negation of a point of
/// small order is one too). Costs a comparison where multiplying by the cofactor costs three doublings.
fn is_small_order_encoding(bytes: &[u8; 32]) -> bool {
    let mut y = *bytes;
    if let Some(last) = y.last_mut() {
        *last &= 0x7f;
    }
    SMALL_ORDER_Y.contains(&y)
}

/// A point from its encoding if the encoding is canonical and the point not of small order.
fn large_order_point(bytes: &[u8; 32]) -> Option<EdwardsPoint> {
    if !is_canonical_y(bytes) || is_small_order_encoding(bytes) {
        return None;
    }
    CompressedEdwardsY(*bytes).decompress()
}

/// Decodes a check's commitment and response, takes its key's point (decoded once, when the key was
/// made) and computes its challenge; `None` when any is non-canonical or of small order.
fn prepare<C: Verifiable>(check: &C) -> Option<Prepared> {
    let key = check.key().to_bytes();
    let a = check.key().verifying_key().to_edwards();
    if !is_canonical_y(&key) || is_small_order_encoding(&key) {
        return None;
    }
    let (r_bytes, s_bytes) = check.signature().split_first_chunk::<32>()?;
    let s_bytes: [u8; 32] = s_bytes.try_into().ok()?;
    let r = large_order_point(r_bytes)?;
    let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes))?;
    let mut h = Sha512::new();
    h.update(r_bytes);
    h.update(key);
    h.update(check.digest());
    let k = Scalar::from_bytes_mod_order_wide(&h.finalize().into());
    Some(Prepared { a, r, s, k })
}

/// Whether one signature is valid under the rule.
pub fn verify_one<C: Verifiable>(check: &C) -> bool {
    prepare(check).is_some_and(|p| {
        let sb_minus_ka = EdwardsPoint::vartime_double_scalar_mul_basepoint(&p.k, &-p.a, &p.s);
        (sb_minus_ka - p.r).mul_by_cofactor().is_identity()
    })
}

/// Whether every signature in `checks` is valid under the rule, checked together; the same verdict as
/// [`verify_one`] on each (see the module documentation). An empty batch is valid.
pub fn verify_batch<C: Verifiable>(checks: &[C]) -> bool {
    match checks {
        [] => return true,
        [one] => return verify_one(one),
        _ => {}
    }
    let Some(prepared) = checks.iter().map(prepare).collect::<Option<Vec<_>>>() else {
        return false;
    };
    let multipliers = batch_multipliers(&prepared);
    let mut base = Scalar::ZERO;
    let mut by_key: HashMap<[u8; 32], (Scalar, EdwardsPoint)> = HashMap::new();
    let mut scalars = Vec::with_capacity(checks.len().saturating_mul(2).saturating_add(1));
    let mut points = Vec::with_capacity(scalars.capacity());
    // Σ z·([k]A + R − [S]B) = 0: each commitment's multiplier is its 128-bit `z` as it is, which halves the
    // additions the multi-scalar multiplication spends on it; the sign goes to the key and base terms.
    for ((p, z), check) in prepared.iter().zip(&multipliers).zip(checks) {
        base -= z * p.s;
        scalars.push(*z);
        points.push(p.r);
        let entry = by_key
            .entry(check.key().to_bytes())
            .or_insert((Scalar::ZERO, p.a));
        entry.0 += z * p.k;
    }
    for (coefficient, a) in by_key.into_values() {
        scalars.push(coefficient);
        points.push(a);
    }
    scalars.push(base);
    points.push(ED25519_BASEPOINT_POINT);
    EdwardsPoint::vartime_multiscalar_mul(scalars, points)
        .mul_by_cofactor()
        .is_identity()
}

/// Below twice this many signatures, [`verify_batch_on_cores`] stays on the calling thread: a part smaller than
/// this is not worth a thread.
const PER_CORE_AT_LEAST: usize = 64;

/// [`verify_batch`] with a large batch split in parts verified side by side, one per core, on scoped threads
/// joined before it returns: the same verdict on every input (the batch holds exactly when every part
/// does), in about half the time on two cores when they are otherwise idle — for a caller such as an audit
/// of a whole ledger; a caller whose other cores are busy gains nothing and pays for the threads. How the
/// batch is split never changes a verdict, since each part's verdict is that of its signatures one by one.
pub fn verify_batch_on_cores<C: Verifiable + Sync>(checks: &[C]) -> bool {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let parts = cores.min(checks.len() / PER_CORE_AT_LEAST);
    if parts < 2 {
        return verify_batch(checks);
    }
    let size = checks.len().div_ceil(parts);
    std::thread::scope(|scope| {
        let mut chunks = checks.chunks(size);
        let mine = chunks.next().unwrap_or_default();
        let others: Vec<_> = chunks
            .map(|part| scope.spawn(move || verify_batch(part)))
            .collect();
        let mut valid = verify_batch(mine);
        for other in others {
            match other.join() {
                Ok(part) => valid &= part,
                // Verifying never panics on its input; a panic there is raised here as it would have been.
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        valid
    })
}

/// The first signature in `checks` that is not valid, checking the batch together first and one by one only
/// when the batch fails; `None` when all are valid.
pub fn first_invalid<C: Verifiable>(checks: &[C]) -> Option<usize> {
    if verify_batch(checks) {
        return None;
    }
    checks.iter().position(|c| !verify_one(c))
}

/// One 128-bit multiplier per signature, four from each SHA-512 over a seed that hashes every input of the
/// batch: each signature's challenge `k` (which hashes its `R`, key and message) and response `S`.
fn batch_multipliers(prepared: &[Prepared]) -> Vec<Scalar> {
    let mut transcript = Sha512::new();
    transcript.update(BATCH_LABEL);
    transcript.update((prepared.len() as u64).to_be_bytes());
    for p in prepared {
        transcript.update(p.k.as_bytes());
        transcript.update(p.s.as_bytes());
    }
    let seed = transcript.finalize();
    let blocks = prepared.len().div_ceil(4) as u64;
    let mut multipliers = Vec::with_capacity(prepared.len().saturating_add(3));
    for block in 0..blocks {
        let mut h = Sha512::new();
        h.update(seed);
        h.update(block.to_be_bytes());
        let wide: [u8; 64] = h.finalize().into();
        let (quarters, _) = wide.as_chunks::<16>();
        multipliers.extend(
            quarters
                .iter()
                .map(|q| Scalar::from(u128::from_le_bytes(*q))),
        );
    }
    multipliers.truncate(prepared.len());
    multipliers
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::arithmetic_side_effects,
        clippy::indexing_slicing
    )]
    use super::*;

    /// `y + p` for `y < 19`, little-endian: the second encoding of the points with such a `y`.
    fn plus_p(y: u8) -> [u8; 32] {
        let mut bytes = [0xff; 32];
        bytes[0] = 0xed + y;
        bytes[31] = 0x7f;
        bytes
    }

    #[test]
    fn a_second_encoding_of_a_point_is_refused() {
        let mut large = 0;
        for y in 0..19u8 {
            let mut canonical = [0; 32];
            canonical[0] = y;
            let Some(point) = CompressedEdwardsY(canonical).decompress() else {
                continue;
            };
            // The second encoding names the same point, and is refused whatever the point's order.
            assert_eq!(CompressedEdwardsY(plus_p(y)).decompress(), Some(point));
            assert!(!is_canonical_y(&plus_p(y)), "y = {y} + p");
            assert!(large_order_point(&plus_p(y)).is_none(), "y = {y} + p");
            if !point.is_small_order() {
                assert!(large_order_point(&canonical).is_some(), "y = {y}");
                large += 1;
            }
        }
        assert!(large > 0, "no large-order point with y < 19 to test with");
    }

    #[test]
    fn small_order_by_bytes_is_small_order_by_arithmetic() {
        use curve25519_dalek::constants::EIGHT_TORSION;
        let mut ys: Vec<[u8; 32]> = EIGHT_TORSION
            .iter()
            .map(|p| {
                let mut y = p.compress().0;
                y[31] &= 0x7f;
                y
            })
            .collect();
        ys.sort_unstable();
        ys.dedup();
        let mut table = SMALL_ORDER_Y.to_vec();
        table.sort_unstable();
        assert_eq!(ys, table);
        // Every point made of a multiple of the base point and a torsion point, with either sign bit,
        // including the two encodings of x = 0 that set it.
        for i in 0..64u64 {
            let large = ED25519_BASEPOINT_POINT * Scalar::from(i);
            for torsion in EIGHT_TORSION {
                let point = large + torsion;
                for sign in [0u8, 0x80] {
                    let mut bytes = point.compress().0;
                    bytes[31] ^= sign;
                    let Some(decoded) = CompressedEdwardsY(bytes).decompress() else {
                        continue;
                    };
                    assert_eq!(
                        is_small_order_encoding(&bytes),
                        decoded.is_small_order(),
                        "{i}·B + torsion, sign flipped {sign}"
                    );
                }
            }
        }
    }

    #[test]
    fn canonical_y_is_exactly_below_p() {
        // p − 1 is canonical, p is not; the sign bit does not count.
        let mut below = plus_p(0);
        below[0] = 0xec;
        assert!(is_canonical_y(&below));
        below[31] |= 0x80;
        assert!(is_canonical_y(&below));
        assert!(!is_canonical_y(&plus_p(0)));
        let mut with_sign = plus_p(0);
        with_sign[31] |= 0x80;
        assert!(!is_canonical_y(&with_sign));
        assert!(is_canonical_y(&[0; 32]));
        for point in curve25519_dalek::constants::EIGHT_TORSION {
            assert!(is_canonical_y(&point.compress().0));
        }
    }
}
