//! The crate's error type.

/// What went wrong reading or writing an IEEE 2030.5 document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is not well-formed XML; `offset` is the byte where reading stopped.
    #[error("byte {offset}: {reason}")]
    Xml {
        /// Byte offset in the input.
        offset: u64,
        /// What was wrong.
        reason: String,
    },
    /// An element or attribute holds a value its type does not allow (`<version>x</version>`).
    #[error("byte {offset}: {field}: {reason}")]
    Value {
        /// Byte offset of the element or attribute.
        offset: u64,
        /// `Type.element` or `Type@attribute`.
        field: String,
        /// What was wrong.
        reason: String,
    },
    /// A required element or attribute is missing, or a single one occurs twice.
    #[error("byte {offset}: {resource}: {reason} {field}")]
    Structure {
        /// Byte offset of the enclosing element.
        offset: u64,
        /// The resource type being read.
        resource: &'static str,
        /// The element or attribute.
        field: &'static str,
        /// `missing` or `repeated`.
        reason: &'static str,
    },
    /// The root element is not a resource this crate reads.
    #[error("byte {offset}: <{name}> is not an IEEE 2030.5 resource this crate reads")]
    UnknownResource {
        /// Byte offset of the root element.
        offset: u64,
        /// Its local name.
        name: String,
    },
    /// A size or nesting limit was exceeded.
    #[error("byte {offset}: limit exceeded: {what}")]
    Limit {
        /// Byte offset where the limit was crossed.
        offset: u64,
        /// Which limit.
        what: &'static str,
    },
    /// A value cannot be built or represented (an identity from a short digest, a hex string too long).
    #[error("{field}: {reason}")]
    Invalid {
        /// What was being built.
        field: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// A request was answered with an HTTP status other than success.
    #[error("{method} {path}: HTTP {status}")]
    Http {
        /// The method.
        method: &'static str,
        /// The path requested.
        path: String,
        /// The status received.
        status: u16,
    },
    /// The connection, TLS or HTTP framing failed.
    #[error("transport: {0}")]
    Transport(String),
    /// The server does not have this device as registered: no EndDevice for its LFDI, or another PIN.
    #[error("registration: {0}")]
    Registration(String),
}
