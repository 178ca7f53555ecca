//! Event randomisation (IEEE 2030.5-2018 clause 12.1.3.3; `RandomizableEvent` in the schema): a value drawn
//! uniformly between 0 and `randomizeStart` is added to the start, one between 0 and `randomizeDuration`
//! to the duration, each bound being signed (−3600…3600 s).
//!
//! The draw is a pure function of the device's seed, the event's mRID and which quantity is drawn, so a
//! device draws the same offsets every time it re-reads the same event, two devices with different seeds
//! spread out, and a test with a fixed seed sees fixed offsets. There is no random number generator inside:
//! the seed comes from the caller (in production from the operating system's generator, once per device).

use crate::primitives::Mrid;

/// Which quantity a draw randomises: each has its own stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Draw {
    /// The start, bounded by `randomizeStart`.
    Start,
    /// The duration, bounded by `randomizeDuration`.
    Duration,
    /// The end of a cancellation with randomisation (`currentStatus` 3), bounded by the larger of
    /// |`randomizeStart`| and |`randomizeDuration`|.
    Cancel,
}

/// The offset in seconds, uniform over `0..=bound` (or `bound..=0` for a negative bound).
pub(crate) fn offset(seed: u64, mrid: &Mrid, draw: Draw, bound: i64) -> i64 {
    if bound == 0 {
        return 0;
    }
    let salt: u64 = match draw {
        Draw::Start => 0x5354_4152_5400_0001,
        Draw::Duration => 0x4455_5241_5400_0002,
        Draw::Cancel => 0x4341_4e43_4500_0003,
    };
    let mut state = seed ^ salt;
    for chunk in mrid.0.chunks(8) {
        let mut word = [0u8; 8];
        for (slot, byte) in word.iter_mut().zip(chunk) {
            *slot = *byte;
        }
        state = splitmix64(state ^ u64::from_be_bytes(word));
    }
    let random = splitmix64(state);
    let span = bound.unsigned_abs().saturating_add(1);
    // Lemire's multiply-shift: the high word of random × span is uniform over 0..span to within 2⁻⁵⁰
    // for spans up to 3601.
    let pick = u128::from(random).saturating_mul(u128::from(span)) >> 64;
    let pick = i64::try_from(pick).unwrap_or(0);
    if bound < 0 {
        pick.saturating_neg()
    } else {
        pick
    }
}

/// One step of SplitMix64 (Steele, Lea and Flood 2014): a bijective 64-bit mix with good avalanche.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
#[allow(
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]
mod tests {
    use super::*;

    fn mrid(n: u32) -> Mrid {
        let mut bytes = [0u8; 16];
        bytes[..4].copy_from_slice(&n.to_be_bytes());
        Mrid::from(bytes)
    }

    #[test]
    fn offsets_stay_within_their_signed_bound() {
        for n in 0..2000 {
            let up = offset(7, &mrid(n), Draw::Start, 600);
            assert!((0..=600).contains(&up));
            let down = offset(7, &mrid(n), Draw::Duration, -300);
            assert!((-300..=0).contains(&down));
        }
        assert_eq!(offset(7, &mrid(1), Draw::Start, 0), 0);
    }

    #[test]
    fn offsets_are_reproducible_and_differ_by_seed_and_quantity() {
        let m = mrid(42);
        assert_eq!(
            offset(1, &m, Draw::Start, 3600),
            offset(1, &m, Draw::Start, 3600)
        );
        let by_seed: std::collections::BTreeSet<i64> = (0..50)
            .map(|seed| offset(seed, &m, Draw::Start, 3600))
            .collect();
        assert!(
            by_seed.len() > 40,
            "seeds should spread the draw: {by_seed:?}"
        );
        let start: Vec<i64> = (0..50)
            .map(|n| offset(1, &mrid(n), Draw::Start, 3600))
            .collect();
        let duration: Vec<i64> = (0..50)
            .map(|n| offset(1, &mrid(n), Draw::Duration, 3600))
            .collect();
        assert_ne!(start, duration);
    }

    #[test]
    fn offsets_are_uniform() {
        // 36,010 draws into ten bins of 0..=3600: each bin expects ~3,601; a chi-squared statistic above
        // 27.9 (p = 0.001, 9 degrees of freedom) would say the draw is skewed.
        let mut bins = [0u32; 10];
        let draws = 36_010;
        for n in 0..draws {
            let value = offset(99, &mrid(n), Draw::Start, 3599);
            bins[(value / 360) as usize] += 1;
        }
        let expected = f64::from(draws) / 10.0;
        let chi2: f64 = bins
            .iter()
            .map(|&b| (f64::from(b) - expected).powi(2) / expected)
            .sum();
        assert!(chi2 < 27.9, "chi² = {chi2}, bins {bins:?}");
    }
}
