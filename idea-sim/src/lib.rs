//! IDEA simulated devices: real protocol servers on real sockets, with behaviour behind their points, that the
//! `idea` command line serves and the conformance suites, the agent and the demo talk to.
//!
//! What it does today (`devices`): the IDEA energy router's IEC 104 profile with a router behind it
//! (`ng_control::router` modes NG-R1..R5: setpoints move the measured flows, limits clamp them), the shipped
//! Modbus/SunSpec devices of `modbus_profiles::simulator` over Modbus TCP or RTU, and an IEEE 2030.5 DER
//! server (one program, its default control and an event a minute after start) over HTTP or mutual TLS.
//!
//! What it does not do yet: the microgrid model stepped in simulated time (buses, lines, loads, sources,
//! batteries, the hub's frequency dynamics) that the devices' points should read and write, meters that
//! integrate simulated flows, a relay that trips on protection curves, a DER that follows IEEE 1547 functions,
//! or fault hooks. Each Modbus device answers its registers as `modbus_profiles::simulator` defines them and
//! claims no physics beyond that.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let address = listener.local_addr()?;
//! // The IEC 104 router outstation serves while its tasks run; any of them ending is the device failing.
//! let (state, tasks) = idea_sim::devices::iec104_router(listener, None).await?;
//! assert_eq!(tasks.len(), 2, "the IEC 104 server and the router simulation");
//! assert!(address.port() > 0);
//! # let _ = state;
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]

pub mod devices;
mod error;
pub mod grid;
pub mod tasks;

pub use error::{Error, Result};
pub use tasks::Tasks;

/// The README's examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
