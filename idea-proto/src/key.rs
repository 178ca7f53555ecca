//! ed25519 public keys of agents, users, meters and devices.

use crate::Error;
use crate::error::Result;
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// An ed25519 public key that is a valid curve point of large order. Small-order ("weak") keys are refused at
/// construction: any signature verifies under some of them. Text and JSON forms are 64 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// From the 32-byte compressed point; refuses invalid and weak keys.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<PublicKey> {
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| Error::InvalidKey)?;
        if key.is_weak() {
            return Err(Error::WeakKey);
        }
        Ok(PublicKey(key))
    }

    /// From a slice that must be exactly 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<PublicKey> {
        let array: &[u8; 32] = bytes.try_into().map_err(|_| Error::InvalidKey)?;
        PublicKey::from_bytes(array)
    }

    /// The 32-byte compressed point.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The underlying ed25519-dalek key, for verification.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.0
    }
}

impl From<&ed25519_dalek::SigningKey> for PublicKey {
    /// A key derived from a secret scalar is never weak.
    fn from(key: &ed25519_dalek::SigningKey) -> PublicKey {
        PublicKey(key.verifying_key())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::hex::encode(&self.to_bytes()))
    }
}

impl FromStr for PublicKey {
    type Err = Error;
    fn from_str(s: &str) -> Result<PublicKey> {
        let bytes = crate::hex::decode(s).map_err(|_| Error::InvalidKey)?;
        PublicKey::from_slice(&bytes)
    }
}

impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<PublicKey, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_and_invalid_keys_are_refused() {
        // The identity point (small order) encodes as 1 followed by zeros.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(PublicKey::from_bytes(&identity), Err(Error::WeakKey));
        // A point of order 2: y = -1.
        let mut order2 = [0xff; 32];
        order2[0] = 0xec;
        order2[31] = 0x7f;
        assert_eq!(PublicKey::from_bytes(&order2), Err(Error::WeakKey));
        // y = 2 is not on the curve.
        let mut off_curve = [0u8; 32];
        off_curve[0] = 2;
        assert_eq!(PublicKey::from_bytes(&off_curve), Err(Error::InvalidKey));
        assert_eq!(PublicKey::from_slice(&[1; 31]), Err(Error::InvalidKey));
    }

    #[test]
    fn text_round_trip() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let public = PublicKey::from(&key);
        let text = public.to_string();
        assert_eq!(text.len(), 64);
        assert_eq!(text.parse::<PublicKey>().unwrap(), public);
        let json = serde_json::to_string(&public).unwrap();
        assert_eq!(serde_json::from_str::<PublicKey>(&json).unwrap(), public);
    }
}
