//! Modbus and SunSpec for IDEA devices (IOT-05): the frames agents use to reach power-flow regulators, hubs,
//! AC/DC converters, meters and relays.
//!
//! What it does: Modbus PDUs for function codes 1–6, 15, 16, 0x17 and 0x2B/0x0E as typed requests and
//! responses with exceptions as values, the TCP (MBAP) and RTU (CRC-16) ADUs, as pure codecs that never panic
//! on wire data ([`frame`]); the SunSpec model engine with the official JSON models as data, discovery,
//! scale factors and repeating groups ([`sunspec`]); a sans-IO server core over rmodbus ([`server`]); the IDEA
//! device profiles and simulated devices ([`simulator`]); tokio client and servers for TCP and RTU streams
//! (`net`, feature `tokio`), and serial ports for RTU (feature `serial`).
//!
//! What it does not do: enumerate serial ports (give the device path), Modbus ASCII, TLS (Modbus/TCP
//! Security), or a register map typed by hand.
//!
//! ```
//! use modbus_profiles::frame::{MbapHeader, Request, Response, TcpFrame};
//! let read = TcpFrame {
//!     header: MbapHeader { transaction: 7, unit: 1 },
//!     pdu: Request::ReadHoldingRegisters { address: 40000, count: 2 },
//! };
//! let mut wire = Vec::new();
//! read.encode(&mut wire)?;
//! assert_eq!(wire, [0, 7, 0, 0, 0, 6, 1, 3, 0x9c, 0x40, 0, 2]);
//! let (back, used) = TcpFrame::<Request>::decode(&wire)?;
//! assert_eq!((back, used), (read, wire.len()));
//! // "SunS" answered.
//! let answer = [0, 7, 0, 0, 0, 7, 1, 3, 4, 0x53, 0x75, 0x6e, 0x53];
//! let (frame, _) = TcpFrame::<Response>::decode(&answer)?;
//! assert_eq!(frame.pdu, Response::ReadHoldingRegisters(vec![0x5375, 0x6e53]));
//! # Ok::<(), modbus_profiles::Error>(())
//! ```
#![forbid(unsafe_code)]

mod error;
pub mod frame;
#[cfg(feature = "tokio")]
pub mod net;
pub mod server;
pub mod simulator;
pub mod sunspec;

pub use error::Error;

/// The README's examples, compiled and run as doctests.
#[cfg(all(doctest, feature = "tokio"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
