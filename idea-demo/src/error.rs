//! The one error type of the demonstration complex.

/// Why the complex could not be built or run. A check that fails is not an error: it is a verdict in the
/// [`crate::RunReport`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An option out of its range, or an unknown scenario or fault.
    #[error("{option}: {reason}")]
    Usage {
        /// The option.
        option: String,
        /// Why it is refused.
        reason: String,
    },
    /// A data file of the complex (topology, owner settings) that does not read.
    #[error("{file}: {reason}")]
    Data {
        /// The file.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// A party or device did not answer over its socket in time (a broker, a device, a service).
    #[error("no answer: {0}")]
    NoAnswer(String),
    /// A device or party refused what the complex asked of it (a command, a registration).
    #[error("refused: {0}")]
    Refused(String),
    /// The simulated plant failed.
    #[error("the simulation: {0}")]
    Sim(#[from] idea_sim::Error),
    /// An agent, the market or the TE node refused something the complex set up.
    #[error("{0}")]
    Agent(#[from] idea_agent::Error),
    /// The ledger, a contract or a signature.
    #[error("{0}")]
    Contract(#[from] te_contract::Error),
    /// The protocol data model.
    #[error("{0}")]
    Proto(#[from] idea_proto::Error),
    /// A file could not be written.
    #[error("{path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
}

/// The result of this crate.
pub type Result<T> = std::result::Result<T, Error>;

pub(crate) fn usage(option: &str, reason: impl Into<String>) -> Error {
    Error::Usage {
        option: option.to_owned(),
        reason: reason.into(),
    }
}

pub(crate) fn no_answer(what: impl std::fmt::Display) -> Error {
    Error::NoAnswer(what.to_string())
}
