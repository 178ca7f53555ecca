//! Tokio transports (feature `tokio`): a Modbus client for TCP and RTU framing, and servers for Modbus TCP
//! and for RTU over any byte stream; serial ports with feature `serial`. The protocol work is done by the sans-IO cores ([`crate::frame`],
//! [`crate::server`], [`crate::sunspec::Scanner`]); these are the thin loops around them.

mod client;
#[cfg(feature = "serial")]
mod serial;
mod server;

pub use client::{Answer, Client, Framing, MAX_PIPELINE};
#[cfg(feature = "serial")]
pub use serial::{Parity, SerialLine, SerialStream, serve_serial};
pub use server::{Shared, TcpLimits, serve_rtu, serve_tcp, serve_tcp_with};
