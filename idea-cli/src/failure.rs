//! Why a command did not succeed, and the exit code that says so.

use std::io::Write;
use std::process::ExitCode;

/// Why a command did not succeed, and so its exit code: 1 a check or verdict failed, 2 usage or input, 3 a peer
/// or device did not answer.
#[derive(Debug)]
pub(crate) enum Failure {
    /// A check or verdict failed (exit 1).
    Check(String),
    /// Bad usage or input (exit 2).
    Usage(String),
    /// A peer or device did not answer (exit 3).
    NoAnswer(String),
}

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure::Usage(message)
    }
}

impl From<idea_cli::iec104_client::ClientFailure> for Failure {
    fn from(failure: idea_cli::iec104_client::ClientFailure) -> Failure {
        use idea_cli::iec104_client::ClientFailure;
        match failure {
            ClientFailure::NoAnswer(why) => Failure::NoAnswer(why),
            other => Failure::Usage(other.to_string()),
        }
    }
}

impl Failure {
    /// Reports the failure on standard error — one line for a person, or with `json` one JSON object
    /// `{"error": …, "exit": …}` — and returns its exit code.
    pub(crate) fn exit(self, json: bool) -> ExitCode {
        let (code, message) = match self {
            Failure::Check(m) => (1u8, m),
            Failure::Usage(m) => (2, m),
            Failure::NoAnswer(m) => (3, m),
        };
        let mut stderr = std::io::stderr().lock();
        let _ = if json {
            writeln!(
                stderr,
                "{}",
                serde_json::json!({"error": message, "exit": code})
            )
        } else {
            writeln!(stderr, "idea: {message}")
        };
        ExitCode::from(code)
    }
}
