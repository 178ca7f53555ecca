//! The one error type of the crate.

use idea_proto::{Side, Subject, Timestamp, TransactionId};

/// What went wrong in the agent, its settings or its dispatching.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The owner's settings do not parse or break a rule; `field` names the key at fault.
    #[error("settings {field}: {reason}")]
    Settings {
        /// The TOML key path, e.g. `prices.sell_energy_min`.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// A domain value from `idea-proto` was refused.
    #[error(transparent)]
    Proto(#[from] idea_proto::Error),
    /// The TE layer refused an object.
    #[error(transparent)]
    Te(#[from] te_contract::Error),
    /// An ACL message could not be handled.
    #[error(transparent)]
    Acl(#[from] fipa_acl::Error),
    /// Table 2 does not let the cell take this side of this subject (ARCH-03).
    #[error("a {cell_type} cell may not be the {side} of {subject} (IDEA Table 2)")]
    RoleNotAllowed {
        /// The cell's type.
        cell_type: idea_proto::PowerCellType,
        /// The subject.
        subject: Subject,
        /// The side.
        side: Side,
    },
    /// A commitment would take the cell beyond one of its limits in an interval (AG-04).
    #[error("interval {interval}: {limit} would be {would_be} but the cell's limit is {allowed}")]
    BeyondLimit {
        /// The start of the interval.
        interval: Timestamp,
        /// Which limit, e.g. `export (W)`.
        limit: &'static str,
        /// What the sum of commitments would reach.
        would_be: i64,
        /// The limit.
        allowed: i64,
    },
    /// The transaction is not in the commitment book or the agent's transactions.
    #[error("no transaction {0}")]
    UnknownTransaction(TransactionId),
    /// The transaction is already committed.
    #[error("transaction {0} is already committed")]
    AlreadyCommitted(TransactionId),
    /// The book or a queue is full.
    #[error("{what} is full ({max})")]
    Full {
        /// What is full.
        what: &'static str,
        /// Its bound.
        max: usize,
    },
    /// A behaviour's name is taken.
    #[error("a behaviour named {0:?} is registered already")]
    DuplicateBehaviour(String),
    /// The section model could not be arbitrated.
    #[error("arbitration: {0}")]
    Arbitration(String),
    /// Something is not in the registry.
    #[error("{0}")]
    NotRegistered(String),
    /// The MQTT link failed.
    #[error("link: {0}")]
    Link(String),
    /// The agent's task has ended.
    #[error("the agent is not running")]
    Stopped,
    /// An arithmetic result does not fit.
    #[error("overflow in {0}")]
    Overflow(&'static str),
}

impl Error {
    pub(crate) fn settings(field: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::Settings {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// This crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
