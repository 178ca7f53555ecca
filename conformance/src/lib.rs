//! IDEA conformance: the requirement catalogue that reports and certificates quote.
//!
//! What it does today: loads the catalogue of numbered requirements (`data/requirements.toml`, one entry per
//! ID of the IDEA requirements document), filters it by area, and renders it as a terminal table or JSON.
//!
//! What it does not do yet: run suites against devices or agents, write reports or sign certificates. Those
//! arrive with the protocol crates they exercise; each test case will then name the requirement IDs it checks
//! and `idea requirements` will show that coverage.
//!
//! ```
//! let catalogue = idea_conformance::Catalogue::builtin()?;
//! let te = catalogue.in_area("te");
//! assert!(te.iter().any(|r| r.id == "TE-08"));
//! let json = idea_conformance::render::json(&te);
//! assert!(json.contains("\"TE-08\""));
//! # Ok::<(), idea_conformance::Error>(())
//! ```
#![forbid(unsafe_code)]

mod catalogue;
mod error;
pub mod render;

pub use catalogue::{Area, Catalogue, Check, Requirement};
pub use error::Error;
