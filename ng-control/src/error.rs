//! The one error type of this crate.

/// Everything that can go wrong in `ng-control`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A case file is malformed; `line` is 1-based.
    #[error("case file line {line}: {reason}")]
    CaseSyntax {
        /// The line where the problem was found.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// The case parses but its data are inconsistent (unknown bus, bad type, missing table…).
    #[error("case data: {0}")]
    CaseData(String),
    /// No reference (slack) bus among the buses in service.
    #[error("no reference (slack, type 3) bus")]
    NoSlack,
    /// More than one reference bus in one network.
    #[error("more than one reference bus: {0:?}")]
    SeveralSlacks(Vec<u32>),
    /// Buses that no in-service branch connects to the reference bus.
    #[error("buses {0:?} are not connected to the reference bus (an island without its own slack)")]
    Island(Vec<u32>),
    /// The chosen method does not apply to this network.
    #[error("{method} cannot solve this case: {reason}")]
    Unsupported {
        /// The method.
        method: &'static str,
        /// Why not.
        reason: String,
    },
    /// The iteration did not converge.
    #[error(
        "{method} did not converge in {iterations} iterations (largest mismatch {mismatch:.3e})"
    )]
    NotConverged {
        /// The method.
        method: &'static str,
        /// Iterations made.
        iterations: usize,
        /// The largest remaining mismatch (MVA for Newton–Raphson, p.u. voltage change for the sweep).
        mismatch: f64,
    },
    /// The Jacobian became singular (a voltage collapsed or the network is ill-posed).
    #[error("singular Jacobian at iteration {iteration}")]
    Singular {
        /// The iteration.
        iteration: usize,
    },
}

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;
