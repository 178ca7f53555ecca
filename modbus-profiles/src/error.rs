//! The crate's error type.

/// What went wrong decoding a frame, building one, or reading a model definition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes do not form a valid frame; `offset` is where it went wrong.
    #[error("byte {offset}: {field}: {reason}")]
    Decode {
        /// Byte offset in the input.
        offset: usize,
        /// The field being read.
        field: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// The input ends before the frame does: at least `needed` bytes in all (stream framing waits for more).
    #[error("incomplete frame: {needed} bytes needed, {available} available")]
    Incomplete {
        /// Bytes the frame needs at least.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// A value cannot be encoded (a quantity outside what the function allows, for example).
    #[error("{field}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// A SunSpec model definition is malformed.
    #[error("{file}: {point}: {reason}")]
    Model {
        /// The file (or model id) it came from.
        file: String,
        /// The group or point path, for example `DERVoltVar.Crv.Pt.V`.
        point: String,
        /// What was wrong.
        reason: String,
    },
    /// The connection failed or closed.
    #[error("transport: {0}")]
    Transport(String),
    /// No answer within the request timeout.
    #[error("no answer within {0:?}")]
    Timeout(std::time::Duration),
    /// The device answered something that does not answer the request.
    #[error("unexpected answer: {0}")]
    Unexpected(String),
    /// A write was accepted but reading it back gave other values.
    #[error("read back {address}: wrote {written:?}, read {read:?}")]
    ReadBack {
        /// First register.
        address: u16,
        /// What was written.
        written: Vec<u16>,
        /// What was read back.
        read: Vec<u16>,
    },
}
