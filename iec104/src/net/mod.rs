//! Stations over TCP on tokio (feature `tokio`): a controlled station serving several clients and a controlling
//! station with requests that await their confirmations. Thin adapters: all protocol logic is in [`crate::link`]
//! and [`crate::station`], driven here with the socket and the clock.

mod client;
mod framing;
mod server;
#[cfg(feature = "tls")]
pub mod tls;

pub use client::{
    Client, ClientConfig, CommandOutcome, ConnectionState, MAX_PENDING_EVENTS, ReconnectPolicy,
    StateChanges,
};
pub use server::{Server, ServerConfig};
