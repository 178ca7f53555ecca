//! Tokio transports (feature `tokio`): a Modbus client for TCP and RTU framing, and servers for Modbus TCP
//! and for RTU over any byte stream. The protocol work is done by the sans-IO cores ([`crate::frame`],
//! [`crate::server`], [`crate::sunspec::Scanner`]); these are the thin loops around them.

mod client;
mod server;

pub use client::{Answer, Client, Framing, MAX_PIPELINE};
pub use server::{Shared, serve_rtu, serve_tcp};
