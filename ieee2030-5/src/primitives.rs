//! The schema's primitive types that need more than a Rust integer: fixed-width `HexBinary` values and mRIDs
//! (IEEE 2030.5-2018 clause 6.3 and the `HexBinary*` and `mRIDType` simple types of the schema).
//!
//! Integers (`UInt8`…`Int64`, `TimeType` as signed Unix seconds, `PowerOfTenMultiplierType` as a signed
//! `i8`) map to Rust integers directly.

use crate::Error;
use std::fmt;

/// A `HexBinary` value of at most `N` bytes, held at its full width: it is written as exactly `2 × N`
/// uppercase hex digits (`HexBinary32` as `00000040`) and read tolerantly (lowercase, fewer digits, an odd
/// count), the value right-aligned as the number it denotes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HexBinary<const N: usize>(pub [u8; N]);

/// `HexBinary8` (one byte: `responseRequired`, …).
pub type HexBinary8 = HexBinary<1>;
/// `HexBinary16` (`qualityFlags`, `localID`).
pub type HexBinary16 = HexBinary<2>;
/// `HexBinary32` (`deviceCategory`, `DERControlType`, `alarmStatus`).
pub type HexBinary32 = HexBinary<4>;
/// `HexBinary48`.
pub type HexBinary48 = HexBinary<6>;
/// `HexBinary64` (`functionsImplemented`).
pub type HexBinary64 = HexBinary<8>;
/// `HexBinary128`.
pub type HexBinary128 = HexBinary<16>;
/// `HexBinary160` (an LFDI).
pub type HexBinary160 = HexBinary<20>;

impl<const N: usize> Default for HexBinary<N> {
    fn default() -> Self {
        Self([0; N])
    }
}

impl<const N: usize> From<[u8; N]> for HexBinary<N> {
    fn from(bytes: [u8; N]) -> Self {
        Self(bytes)
    }
}

impl<const N: usize> HexBinary<N> {
    /// Reads hex digits (either case, at most `2 × N`, surrounding white space ignored); fewer digits are
    /// the low-order ones.
    ///
    /// # Errors
    /// [`Error::Invalid`] for an empty string, a non-hex character, or more than `2 × N` digits.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let digits = text.trim().as_bytes();
        let invalid = |reason: String| Error::Invalid {
            field: "HexBinary",
            reason,
        };
        if digits.is_empty() {
            return Err(invalid("no hex digits".into()));
        }
        if digits.len() > N.saturating_mul(2) {
            return Err(invalid(format!(
                "{} hex digits for a {}-byte value",
                digits.len(),
                N
            )));
        }
        let mut out = [0u8; N];
        // Fill from the right, two digits per byte.
        for (i, d) in digits.iter().rev().enumerate() {
            let nibble = hex_value(*d)
                .ok_or_else(|| invalid(format!("{:?} is not a hex digit", char::from(*d))))?;
            let byte = N.saturating_sub(1).saturating_sub(i / 2);
            if let Some(slot) = out.get_mut(byte) {
                *slot |= if i % 2 == 0 { nibble } else { nibble << 4 };
            }
        }
        Ok(Self(out))
    }

    /// The value as an unsigned number (the low 64 bits for values wider than 8 bytes).
    pub fn to_u64(&self) -> u64 {
        self.0
            .iter()
            .fold(0u64, |acc, b| acc.wrapping_shl(8) | u64::from(*b))
    }

    /// A value from a number; bits that do not fit in `N` bytes are dropped.
    pub fn from_u64(value: u64) -> Self {
        let mut out = [0u8; N];
        let bytes = value.to_be_bytes();
        for (slot, b) in out.iter_mut().rev().zip(bytes.iter().rev()) {
            *slot = *b;
        }
        Self(out)
    }

    /// Whether bit `bit` (0 = least significant) is set, as in a `DERControlType` or `functionsImplemented`
    /// bitmap.
    pub fn bit(&self, bit: usize) -> bool {
        let byte = N.checked_sub(1).and_then(|last| last.checked_sub(bit / 8));
        byte.and_then(|i| self.0.get(i))
            .is_some_and(|b| b & (1 << (bit % 8)) != 0)
    }
}

fn hex_value(d: u8) -> Option<u8> {
    match d {
        b'0'..=b'9' => Some(d.wrapping_sub(b'0')),
        b'a'..=b'f' => Some(d.wrapping_sub(b'a').wrapping_add(10)),
        b'A'..=b'F' => Some(d.wrapping_sub(b'A').wrapping_add(10)),
        _ => None,
    }
}

impl<const N: usize> fmt::Display for HexBinary<N> {
    /// Exactly `2 × N` uppercase hex digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02X}"))
    }
}

impl<const N: usize> fmt::Debug for HexBinary<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HexBinary({self})")
    }
}

impl<const N: usize> serde::Serialize for HexBinary<N> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de, const N: usize> serde::Deserialize<'de> for HexBinary<N> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// An `mRIDType`: a 128-bit master resource identifier. IEEE 2030.5-2018 clause 6.3.4 reserves its low 32
/// bits for the IANA Private Enterprise Number of the organisation that created it; CSIP-AUS servers, its
/// test harness and the published examples write the PEN's decimal digits there (PEN 37244 ends the mRID in
/// `…00037244`), and so does this crate.
#[doc(alias = "mRIDType")]
pub type Mrid = HexBinary<16>;

impl HexBinary<16> {
    /// The Private Enterprise Number in the low 32 bits of an mRID, read as eight decimal digits; `None`
    /// where a nibble there is not a decimal digit (an mRID made by a creator who wrote its PEN in binary).
    pub fn pen(&self) -> Option<u32> {
        let [.., a, b, c, d] = self.0;
        [a, b, c, d].iter().try_fold(0u32, |pen, byte| {
            let (high, low) = (u32::from(byte >> 4), u32::from(byte & 0x0F));
            let two = (high < 10 && low < 10).then(|| high.wrapping_mul(10).wrapping_add(low))?;
            // At most eight digits: below 10⁸, no overflow.
            Some(pen.wrapping_mul(100).wrapping_add(two))
        })
    }

    /// An mRID from 96 bits of the creator's choosing and its PEN, written as eight decimal digits (the PEN
    /// modulo 10⁸; IANA's numbers are far below).
    pub fn with_pen(high: [u8; 12], pen: u32) -> Self {
        let mut out = [0u8; 16];
        let (h, l) = out.split_at_mut(12);
        h.copy_from_slice(&high);
        let mut rest = pen % 100_000_000;
        for byte in l.iter_mut().rev() {
            let digits = rest % 100;
            rest /= 100;
            // Two decimal digits, one per nibble: both below 10, so the byte fits.
            *byte = u8::try_from(((digits / 10) << 4) | (digits % 10)).unwrap_or(0);
        }
        Self(out)
    }
}
