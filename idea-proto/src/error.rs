//! The one error type of this crate.

use crate::cell::{PowerCellType, Side, Subject};
use crate::lifecycle::TransactionState;
use crate::units::Currency;

/// Everything that can go wrong in `idea-proto`: decoding, validating, arithmetic and signatures.
///
/// Field paths use the protobuf field names (`terms.window.period_s`), so one path serves the JSON form, the
/// wire form and error reports alike.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not a well-formed message of the expected type.
    #[error("cannot decode {message} at byte {offset}: {reason}")]
    Decode {
        /// The protobuf message being decoded, e.g. `idea.v1.PowerCell`.
        message: &'static str,
        /// Offset into the input where the problem was found (the message start for errors inside it).
        offset: usize,
        /// What is wrong, with the protobuf field path where the decoder knows it.
        reason: String,
    },
    /// A field is missing or holds a value the domain does not allow.
    #[error("{}", field_and_reason(.field, .reason))]
    InvalidField {
        /// Path of the field, e.g. `terms.window.start_unix_ms`.
        field: String,
        /// Why the value is refused.
        reason: String,
    },
    /// A cell takes a side that Table 2 of IDEA v2.0 does not allow it (ARCH-03).
    #[error(
        "{field}: a {cell_type} cell may not be the {side} of {subject} (IDEA Table 2, ARCH-03)"
    )]
    RoleNotAllowed {
        /// Path of the party, e.g. `p2p.seller`.
        field: String,
        /// The party's cell type.
        cell_type: PowerCellType,
        /// The transaction's subject.
        subject: Subject,
        /// The side the party would take.
        side: Side,
    },
    /// A transaction lifecycle was asked to make a transition the use cases do not allow.
    #[error("illegal transaction transition from {from} to {to}")]
    IllegalTransition {
        /// The current state.
        from: TransactionState,
        /// The state asked for.
        to: TransactionState,
    },
    /// Checked arithmetic overflowed.
    #[error("arithmetic overflow: {operation}")]
    Overflow {
        /// The operation, e.g. `Energy + Energy`.
        operation: &'static str,
    },
    /// Two amounts of money in different currencies were combined.
    #[error("currency mismatch: {left} and {right}")]
    CurrencyMismatch {
        /// The left operand's currency.
        left: Currency,
        /// The right operand's currency.
        right: Currency,
    },
    /// An ed25519 public key is not a valid curve point.
    #[error("invalid ed25519 public key")]
    InvalidKey,
    /// An ed25519 public key has small order; anyone could forge signatures for it.
    #[error("weak ed25519 public key refused")]
    WeakKey,
    /// A signature does not verify (strictly) for its signer, message type and payload.
    #[error("signature does not verify")]
    BadSignature,
    /// A signed envelope carries another message type than the one asked for.
    #[error("envelope carries {found}, expected {expected}")]
    WrongMessageType {
        /// The type asked for.
        expected: &'static str,
        /// The type the envelope declares.
        found: String,
    },
}

/// `field: reason`, or the reason alone for a value that is not a field of anything (a timestamp parsed on its
/// own).
fn field_and_reason(field: &str, reason: &str) -> String {
    if field.is_empty() {
        reason.to_owned()
    } else {
        format!("{field}: {reason}")
    }
}

impl Error {
    /// An [`Error::InvalidField`] for `field`.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::InvalidField {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Places a field error under a parent path: `window.period_s` under `terms` becomes
    /// `terms.window.period_s`. Other errors are returned unchanged.
    #[must_use]
    pub fn within(self, parent: &str) -> Error {
        let join = |field: String| {
            if field.is_empty() {
                parent.to_owned()
            } else {
                format!("{parent}.{field}")
            }
        };
        match self {
            Error::InvalidField { field, reason } => Error::InvalidField {
                field: join(field),
                reason,
            },
            Error::RoleNotAllowed {
                field,
                cell_type,
                subject,
                side,
            } => Error::RoleNotAllowed {
                field: join(field),
                cell_type,
                subject,
                side,
            },
            other => other,
        }
    }
}

/// Shorthand used by the validating constructors.
pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;
