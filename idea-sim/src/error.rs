//! The one error type of this crate.

/// Everything that can go wrong in `idea-sim`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A topology file (or a built-in one) is malformed or inconsistent; `field` names where.
    #[error("topology {field}: {reason}")]
    Topology {
        /// The table or key at fault, such as `bus[2].kv` or `meter "m1".branch`.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// A command names an element the model does not have, or of another kind.
    #[error("no {kind} named {name:?} in the model")]
    UnknownElement {
        /// The kind sought: `router`, `hub`, `relay`…
        kind: &'static str,
        /// The name given.
        name: String,
    },
    /// A command carries a value the element cannot take.
    #[error("{element}: {reason}")]
    Command {
        /// The element commanded.
        element: String,
        /// Why it was refused.
        reason: String,
    },
    /// The power flow or the frequency dynamics failed.
    #[error("the physics failed: {0}")]
    Physics(#[from] ng_control::Error),
    /// A fault name that the device does not have.
    #[error("no fault {name:?} (this device has: {known})")]
    UnknownFault {
        /// The name given.
        name: String,
        /// The faults the device has, comma separated.
        known: String,
    },
    /// A device's protocol layer failed to start (profile, TLS files, socket).
    #[error("{0}")]
    Device(String),
}

/// The result type of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// A topology error at `field`.
pub(crate) fn topology(field: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::Topology {
        field: field.into(),
        reason: reason.into(),
    }
}
