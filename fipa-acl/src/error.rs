//! The crate's error type.

/// What went wrong decoding or building a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input does not follow the representation's grammar; `offset` is the byte where it went wrong.
    #[error("byte {offset}: {field}: {reason}")]
    Decode {
        /// Byte offset in the input.
        offset: usize,
        /// The parameter or grammar element being read.
        field: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// A limit (size, nesting depth) was exceeded.
    #[error("byte {offset}: limit exceeded: {what}")]
    Limit {
        /// Byte offset in the input.
        offset: usize,
        /// Which limit.
        what: &'static str,
    },
    /// A named parameter of SL content has no value (`(service-description :name :type t)`): the content is
    /// well-formed up to that point, and the FIPA answer is a `missing-parameter` refusal, not
    /// `not-understood`.
    #[error("byte {offset}: parameter :{parameter} of {function} has no value")]
    MissingValue {
        /// Byte offset of the parameter name.
        offset: usize,
        /// The function symbol of the frame.
        function: String,
        /// The parameter name, without `:`.
        parameter: String,
    },
    /// The transport failed: the broker is unreachable, the connection dropped, a publish was refused.
    #[error("transport: {reason}")]
    Transport {
        /// What happened.
        reason: String,
    },
    /// A value cannot be represented (for example a user parameter name that is not a word).
    #[error("{field}: {reason}")]
    Invalid {
        /// The parameter.
        field: &'static str,
        /// What was wrong.
        reason: String,
    },
}
