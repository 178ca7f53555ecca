//! Reference Neural Grid algorithms of IDEA (NG-01..NG-06): the physical side of energy transactions.
//!
//! What it does today: reads power-flow cases in the MATPOWER text format ([`Case`]) and solves the balanced
//! steady state ([`powerflow::solve`]) by backward/forward sweep on radial feeders or Newton–Raphson on meshed
//! networks, reporting bus voltages, branch flows, loading and losses. Results are checked against pandapower
//! on the IEEE 33-bus and 69-bus feeders and a synthetic feeder of over 1000 buses.
//!
//! What it does not do yet: the energy hub's droop and secondary control, the IEEE 1547-2018 functions, the
//! energy router modes, transaction-pool arbitration of nested cells, load shedding, protection and the
//! dynamic simulation. Newton–Raphson factorises a dense Jacobian, which suits networks of a few hundred buses;
//! radial feeders of any size go through the sweep.
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
mod error;
pub mod powerflow;
pub mod synthetic;

pub use case::{Branch, Bus, BusType, Case, Generator, MAX_CASE_BYTES};
pub use error::Error;
