//! The one error type of this crate.

/// Everything that can go wrong in `iec104`. Protocol negatives (a negative confirmation) are values in the
/// ASDU, not errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not a well-formed APDU or ASDU.
    #[error("byte {offset}: {field}: {reason}")]
    Decode {
        /// Offset into the input where the problem was found.
        offset: usize,
        /// The field being read, e.g. `VSQ`.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A value to encode does not fit the frame or the parameters.
    #[error("{field}: {reason}")]
    Encode {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Link-layer parameters that break the standard's rules.
    #[error("link parameters: {0}")]
    Parameters(String),
    /// The connection failed or closed.
    #[error("transport: {0}")]
    Transport(String),
    /// A request was not answered in time.
    #[error("no answer within {0:?}")]
    Timeout(std::time::Duration),
}

pub(crate) fn decode_error<T>(
    offset: usize,
    field: &'static str,
    reason: impl Into<String>,
) -> Result<T, Error> {
    Err(Error::Decode {
        offset,
        field,
        reason: reason.into(),
    })
}
