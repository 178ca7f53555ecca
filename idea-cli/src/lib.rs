//! The library behind the `idea` command line: what its subcommands call that is more than printing, so tests
//! call it too — the device clients for people and labs (an IEC 104 controlling station that asks once, a
//! SunSpec scan, Modbus registers read or written once, an IEEE 2030.5 resource fetched once), the ledger check from command-line arguments, and terminal views of results.
//!
//! What it does not do: protocol, ledger or control logic (that is in the protocol crates, `te-contract` and
//! `ng-control`); simulated devices (`idea-sim`); the requirement catalogue (`idea-conformance`).
//!
//! ```
//! let head = idea_cli::ledger_check::parse_head(
//!     "7:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
//! )?;
//! assert_eq!(head.seq, 7);
//! # Ok::<(), String>(())
//! ```
#![forbid(unsafe_code)]

pub mod client_tls;
pub mod demo_text;
pub mod iec104_client;
pub mod ledger_check;
pub mod modbus_client;
pub mod sep2_client;
pub mod sunspec_client;
pub mod text;

/// The README's examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// The wall clock now, as a [`idea_proto::Timestamp`] (the one place the command line reads it).
pub fn wall_clock() -> Result<idea_proto::Timestamp, String> {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| format!("the clock is before 1970: {e}"))?;
    let ms = i64::try_from(since.as_millis()).map_err(|e| e.to_string())?;
    idea_proto::Timestamp::from_unix_ms(ms).map_err(|e| e.to_string())
}
