//! Identities: string identifiers of cells, agents, users, services and the rest; 128-bit transaction ids.

use crate::Error;
use crate::error::Result;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// The longest identifier, in bytes.
pub const MAX_ID_LEN: usize = 128;

fn check_id(kind: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::invalid("", format!("a {kind} cannot be empty")));
    }
    if value.len() > MAX_ID_LEN {
        return Err(Error::invalid(
            "",
            format!(
                "a {kind} is at most {MAX_ID_LEN} bytes, not {}",
                value.len()
            ),
        ));
    }
    if let Some((i, c)) = value.char_indices().find(|(_, c)| {
        !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '@' | '/' | '-'))
    }) {
        return Err(Error::invalid(
            "",
            format!(
                "{value:?} is not a valid {kind}: character {c:?} at byte {i} (allowed: A-Z a-z 0-9 . _ : @ / -)"
            ),
        ));
    }
    Ok(())
}

/// Defines a validated string identifier: 1 to 128 bytes of `[A-Za-z0-9._:@/-]`, so that it is safe in MQTT
/// topics, FIPA agent names, file names and URLs alike.
macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps an identifier.
            pub fn new(value: impl Into<String>) -> Result<$name> {
                let value = value.into();
                check_id(stringify!($name), &value)?;
                Ok($name(value))
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<$name> {
                $name::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = Error;
            fn try_from(s: String) -> Result<$name> {
                $name::new(s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

string_id!(
    /// Identifies a power cell (ARCH-01).
    CellId
);
string_id!(
    /// Identifies the software agent of a power cell; also its FIPA agent name.
    AgentId
);
string_id!(
    /// Identifies a user: a cell owner or a service operator.
    UserId
);
string_id!(
    /// Identifies a service of the Internet of energy and its application.
    ServiceId
);
string_id!(
    /// Identifies a cell's subscription to a service.
    SubscriptionId
);
string_id!(
    /// Identifies an electrical unit (generator, PV array, storage, load) within its cell.
    UnitId
);
string_id!(
    /// Identifies a node (bus) of the electrical grid.
    NodeId
);
string_id!(
    /// Identifies a meter or measuring device.
    MeterId
);
string_id!(
    /// Identifies a microgrid.
    MicrogridId
);
string_id!(
    /// Identifies a topology model.
    TopologyId
);

/// A 128-bit transaction identifier. The core never draws random numbers: callers supply the bytes (from a
/// CSPRNG, a UUID, or a hash of the request). Text and JSON forms are 32 lower-case hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TransactionId([u8; 16]);

impl TransactionId {
    /// From 16 bytes.
    pub const fn from_bytes(bytes: [u8; 16]) -> TransactionId {
        TransactionId(bytes)
    }

    /// The 16 bytes.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// From a byte slice that must be exactly 16 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<TransactionId> {
        let array: [u8; 16] = bytes.try_into().map_err(|_| {
            Error::invalid(
                "",
                format!("a transaction id is 16 bytes, not {}", bytes.len()),
            )
        })?;
        Ok(TransactionId(array))
    }
}

impl fmt::Display for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl FromStr for TransactionId {
    type Err = Error;
    fn from_str(s: &str) -> Result<TransactionId> {
        let bytes = crate::hex::decode(s)
            .map_err(|reason| Error::invalid("", format!("transaction id: {reason}")))?;
        TransactionId::from_slice(&bytes)
    }
}

impl Serialize for TransactionId {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TransactionId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<TransactionId, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_validated() {
        assert!(CellId::new("cell-1@demo/room.2").is_ok());
        assert!(CellId::new("").is_err());
        assert!(CellId::new("a b").is_err());
        assert!(CellId::new("x".repeat(129)).is_err());
        assert!(CellId::new("x".repeat(128)).is_ok());
        let err = AgentId::new("agent#1").unwrap_err().to_string();
        assert!(err.contains("AgentId") && err.contains("'#'"), "{err}");
        assert!(serde_json::from_str::<CellId>("\"no spaces\"").is_err());
    }

    #[test]
    fn transaction_id_text_form() {
        let id = TransactionId::from_bytes([0xab; 16]);
        let text = id.to_string();
        assert_eq!(text, "ab".repeat(16));
        assert_eq!(text.parse::<TransactionId>().unwrap(), id);
        assert!("ab".parse::<TransactionId>().is_err());
        assert!("zz".repeat(16).parse::<TransactionId>().is_err());
    }
}
