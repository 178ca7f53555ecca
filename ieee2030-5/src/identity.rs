//! Device identities from certificates (IEEE 2030.5-2018 clause 6.3.4): the long-form device identifier
//! (LFDI) and the short-form one (SFDI).

use crate::primitives::HexBinary160;
use sha2::{Digest, Sha256};

/// The LFDI of a device certificate: the first 160 bits of the SHA-256 of the certificate's DER encoding.
#[doc(alias = "LFDI")]
pub fn lfdi(certificate_der: &[u8]) -> HexBinary160 {
    let digest = Sha256::digest(certificate_der);
    let mut out = [0u8; 20];
    out.copy_from_slice(digest.get(..20).unwrap_or(&[0; 20]));
    HexBinary160::from(out)
}

/// The SFDI of an LFDI: its first 36 bits as a decimal number (at most 11 digits), followed by a check digit
/// that makes the sum of all the digits a multiple of 10 (`(10 − sum mod 10) mod 10`; not the Luhn
/// algorithm). The standard's example LFDI `3E4F45AB31…` gives SFDI 167261211391.
#[doc(alias = "SFDI")]
pub fn sfdi(lfdi: &HexBinary160) -> u64 {
    let [a, b, c, d, e, ..] = lfdi.0;
    let first40 = u64::from_be_bytes([0, 0, 0, a, b, c, d, e]);
    let value = first40 >> 4;
    value.wrapping_mul(10).wrapping_add(check_digit(value))
}

/// Whether `sfdi` ends in the right check digit.
pub fn sfdi_is_valid(sfdi: u64) -> bool {
    sfdi % 10 == check_digit(sfdi / 10)
}

fn check_digit(mut value: u64) -> u64 {
    let mut sum = 0u64;
    while value > 0 {
        sum = sum.wrapping_add(value % 10);
        value /= 10;
    }
    10u64.wrapping_sub(sum % 10) % 10
}
