//! IDEA simulated devices with real physics behind them: a microgrid stepped in simulated time ([`grid`]) and
//! the devices on it ([`devices`], [`physical`]), real protocol servers on real sockets whose points read from
//! and write to the model — what `idea serve` runs and what the conformance suites, the agent and the demo
//! talk to.
//!
//! What it does:
//! - [`grid`]: a topology (TOML, or the built-in demonstration complex) of buses, lines, transformers, loads
//!   with daily shapes, PV under a seeded sky, diesel/CHP generators with ramp limits, batteries, energy hubs,
//!   DER inverters, energy routers and converters, meters and relays; stepped with a power flow per island
//!   per step and the hubs' frequency dynamics, all from `ng-control`. Deterministic from its seed.
//! - [`devices`]: the energy router and a smart meter over IEC 104 (plain or IEC 62351-3 mutual TLS), every IDEA Modbus/SunSpec
//!   device profile over Modbus TCP or RTU — router (NG-R1..R5 enforced, per-port limits, losses), hub
//!   (droop, inertia, restoration when it forms its island), energy port, rectiverter, meter (energy registers
//!   integrating the simulated flow), relay (inverse-time trip, reclose on command), DER (IEEE 1547 volt-var
//!   from its SunSpec 705 curve) — and an IEEE 2030.5 DER server.
//! - [`clock`]: the simulation's clock, running the model faster than real time if asked while the devices
//!   answer on real sockets; the workspace's time model is stated there.
//! - [`fault`]: fault hooks on every device: `silent` (stops answering) and `stale` (measurements freeze).
//! - [`Tasks`]: every device returns its serving tasks; any of them ending is the device failing.
//!
//! - [`der_client`]: a DER of the model driven by an IEEE 2030.5 server through its 2030.5 client.
//!
//! - [`mqtt`]: meters and relays over MQTT (IOT-05).
//!
//! What it does not do: the IEC 104 router profile's ports beyond the model router's read zero; the model's
//! limits are listed in [`grid`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use idea_sim::{clock, devices, fault::Faults, grid::Topology, physical::Binding};
//! let start = idea_proto::Timestamp::from_unix_secs(1_767_268_800)?;
//! // The demonstration complex, ten times faster than real time.
//! let (grid, _clock) = clock::plant(&Topology::builtin("demo-microgrid")?, 1, start, 10.0)?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let binding = Binding::Meter("cell1.meter".into());
//! let (_meter, tasks) =
//!     devices::modbus_model_device(listener, binding, grid, Default::default(), &Faults::default())
//!         .await?;
//! assert_eq!(tasks.len(), 1, "the Modbus TCP server");
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]

pub mod clock;
pub mod der_client;
pub mod devices;
mod error;
pub mod fault;
mod fault_iec104;
pub mod fault_iec104_controlling;
mod fault_modbus;
pub mod grid;
pub mod mqtt;
pub mod physical;
pub mod run;
pub mod tasks;

pub use error::{Error, Result};
pub use tasks::Tasks;

/// The README's examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
