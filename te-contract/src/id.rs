//! Identifiers: 128-bit ids of avatars, channels and debts, and the deployment name that scopes every
//! signature.

use crate::codec::{Codec, Put, Reader};
use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::fmt;

macro_rules! id128 {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub [u8; 16]);

        impl $name {
            /// The id with these bytes.
            pub const fn from_bytes(bytes: [u8; 16]) -> Self {
                $name(bytes)
            }

            /// A deterministic id: the first 16 bytes of SHA-256 over a label and the given parts, each
            /// length-prefixed (so ids derived from different parts never collide by concatenation).
            pub fn derive(parts: &[&[u8]]) -> Self {
                let mut h = Sha256::new();
                for part in std::iter::once(stringify!($name).as_bytes()).chain(parts.iter().copied()) {
                    h.update((part.len() as u64).to_be_bytes());
                    h.update(part);
                }
                let digest: [u8; 32] = h.finalize().into();
                let mut bytes = [0; 16];
                bytes.copy_from_slice(digest.get(..16).unwrap_or(&[0; 16]));
                $name(bytes)
            }

            /// The 16 bytes.
            pub const fn as_bytes(&self) -> &[u8; 16] {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                for b in self.0 {
                    write!(f, "{b:02x}")?;
                }
                Ok(())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({self})", stringify!($name))
            }
        }

        impl std::str::FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                let bad = || Error::invalid(stringify!($name), format!("{s:?} is not 32 hex digits"));
                if s.len() != 32 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(bad());
                }
                let mut bytes = [0u8; 16];
                for (b, pair) in bytes.iter_mut().zip(s.as_bytes().chunks_exact(2)) {
                    let pair = std::str::from_utf8(pair).map_err(|_| bad())?;
                    *b = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
                }
                Ok($name(bytes))
            }
        }

        impl Codec for $name {
            fn encode(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.0);
            }
            fn read(reader: &mut Reader<'_>) -> Result<Self> {
                reader.array(stringify!($name)).map($name)
            }
        }
    };
}

id128!(
    /// Identifies an avatar: the TE representative of an agent, a user or a meter. It stays the same when
    /// the avatar's key is rotated.
    AvatarId
);
id128!(
    /// Identifies a debt payment channel between two avatars.
    ChannelId
);
id128!(
    /// Identifies one debt (IOU) within a channel.
    DebtId
);
id128!(
    /// Identifies a bid or an offer in the market.
    OrderId
);

/// The longest deployment name, in bytes.
pub const MAX_DEPLOYMENT_LEN: usize = 64;

/// Names one deployment of the TE platform (`idea-demo`, `utility-x.prod`). Every signature covers it, so
/// an object signed for one deployment never verifies in another (a test network's signatures are
/// worthless in production).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeploymentId(String);

impl DeploymentId {
    /// 1 to 64 bytes of `[a-z0-9.-]`.
    pub fn new(name: &str) -> Result<DeploymentId> {
        let ok = !name.is_empty()
            && name.len() <= MAX_DEPLOYMENT_LEN
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
        if ok {
            Ok(DeploymentId(name.to_owned()))
        } else {
            Err(Error::invalid(
                "deployment",
                format!("{name:?} is not 1 to {MAX_DEPLOYMENT_LEN} bytes of [a-z0-9.-]"),
            ))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DeploymentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Codec for DeploymentId {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_text(&self.0);
    }
    fn read(reader: &mut Reader<'_>) -> Result<Self> {
        let at = reader.offset();
        let name = reader.text("deployment", MAX_DEPLOYMENT_LEN)?;
        DeploymentId::new(name).map_err(|e| Error::Decode {
            offset: at,
            field: "deployment",
            reason: e.to_string(),
        })
    }
}
