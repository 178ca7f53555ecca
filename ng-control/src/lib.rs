//! Reference Neural Grid algorithms of IDEA (NG-01..NG-06): the physical side of energy transactions.
//!
//! What it does today:
//! - [`powerflow`]: reads power-flow cases in the MATPOWER text format ([`Case`]) and solves the balanced
//!   steady state by backward/forward sweep on radial feeders or Newton–Raphson on meshed networks, reporting
//!   bus voltages, branch flows, loading and losses; checked against pandapower on the IEEE 33-bus and 69-bus
//!   feeders and a synthetic feeder of over 1000 buses.
//! - [`der`]: the IEEE 1547-2018 DER functions with the Category A/B defaults, the open-loop response lag, the
//!   Category I–III trip settings with a range checker and a must-trip evaluator, and the ride-through regions
//!   with a trip checker (defaults as data).
//! - [`hub`]: the energy hub as a virtual synchronous machine (droop with deadband, virtual inertia, frequency
//!   restoration, Q–V droop), the frequency norms of isolated systems as a trace checker, and a time-domain
//!   simulation of an isolated microgrid with load steps, generation loss and cells joining.
//!
//! - [`router`]: the energy router's modes NG-R1..NG-R5 as a controller over its ports.
//! - [`pool`]: the transaction pool turned into flows, with deterministic, explained arbitration of line,
//!   voltage and nested-cell connection limits (NG-06, ARCH-08).
//! - [`shedding`]: the exact least-cost load-shedding plan with feeder minimums.
//! - [`protection`]: inverse-time (IEC 60255-151, IEEE C37.112) and directional elements, adaptive setting
//!   groups, and a coordination check.
//!
//! What it does not do: I/O (callers read case files and drive time). Newton–Raphson factorises a dense
//! Jacobian, which suits networks of a few hundred buses; radial feeders of any size go through the sweep.
//!
//! ```
//! use ng_control::{Case, powerflow};
//! let case = ng_control::synthetic::radial_feeder(200, 7);
//! let result = powerflow::solve(&case, &powerflow::Options::default())?;
//! assert_eq!(result.method, powerflow::Method::Sweep);
//! assert!(result.min_voltage().unwrap().vm_pu > 0.9);
//! let text = case.to_matpower("feeder");
//! assert_eq!(Case::from_matpower(&text)?, case);
//! # Ok::<(), ng_control::Error>(())
//! ```
#![forbid(unsafe_code)]
// Numerical kernels index vectors whose sizes are fixed by the network built and checked in
// `powerflow::network`; every index there is a bus or branch position of that network.
#![allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

mod case;
pub mod der;
mod error;
pub mod hub;
pub mod pool;
pub mod powerflow;
pub mod protection;
pub mod router;
pub mod shedding;
pub mod synthetic;

pub use case::{Branch, Bus, BusType, Case, Generator, MAX_CASE_BYTES};
pub use error::Error;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
