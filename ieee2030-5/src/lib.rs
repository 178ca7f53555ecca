//! IEEE 2030.5-2018 (Smart Energy Profile 2.0), the M2M protocol the IDEA architecture names for the IoT
//! system (IOT-04): the resources DER devices and their servers exchange, and their XML.
//!
//! What it does:
//! - [`resources`]: one type per schema type of the DER, device, metering, response and subscription
//!   function sets (`DERControl`, `EndDevice`, `MirrorMeterReading`, …), generated from the schema with the
//!   CSIP-AUS extension; [`resources::AnyResource`] for any of them.
//! - [`xml`]: the codec. Output follows the schema's element order and validates against the official XSD;
//!   input is tolerant where real servers deviate: any namespace prefix, CSIP-AUS elements in the
//!   `https://csipaus.org/ns` or `…/ns/v1.3` namespace, elements out of schema order, lowercase or short hex.
//!   Elements no type knows are kept ([`xml::Unknown`]) and written back, never dropped. Depth and size are
//!   bounded; errors carry the byte offset.
//! - [`primitives`]: fixed-width uppercase `HexBinary`, mRIDs with their PEN; [`identity`]: LFDI and SFDI.
//! - [`scheduler`]: the DER event scheduler of a client, sans-IO with explicit time: primacy, superseding,
//!   randomisation, cancellation, default controls, responses.
//! - [`server`]: the server core, sans-IO: the resources a DER server serves, registration by certificate
//!   LFDI, paging, server-kept event status, responses, mirrors, subscriptions.
//! - `net` (feature `net`): the server core behind hyper and rustls with mutual TLS, and a DER client that
//!   walks a server, runs the scheduler and posts responses.
//!
//! What it does not do: EXI, or subscribe as a client (the client polls). It never reads
//! the schema at run time: the schema is IEEE-copyrighted and only its structure is turned into code.
//!
//! ```
//! use ieee2030_5::resources::{AnyResource, Time};
//!
//! let xml = br#"<sep:Time xmlns:sep="urn:ieee:std:2030.5:ns" href="/tm">
//!   <sep:currentTime>1700000000</sep:currentTime><sep:dstEndTime>0</sep:dstEndTime>
//!   <sep:dstOffset>0</sep:dstOffset><sep:dstStartTime>0</sep:dstStartTime>
//!   <sep:quality>7</sep:quality><sep:tzOffset>36000</sep:tzOffset></sep:Time>"#;
//! let (time, _) = Time::decode(xml)?;
//! assert_eq!(time.current_time, 1_700_000_000);
//!
//! let mut out = Vec::new();
//! time.encode(&mut out);
//! assert!(out.starts_with(br#"<Time xmlns="urn:ieee:std:2030.5:ns" href="/tm"><currentTime>"#));
//! let (again, _) = ieee2030_5::resources::decode(&out)?;
//! assert_eq!(again, AnyResource::Time(time));
//! # Ok::<(), ieee2030_5::Error>(())
//! ```
#![forbid(unsafe_code)]

mod error;
pub mod identity;
#[cfg(feature = "net")]
pub mod net;
pub mod primitives;
pub mod resources;
pub mod scheduler;
pub mod server;
pub mod view;
pub mod xml;

pub use error::Error;

/// The README's examples, compiled and run as doctests.
#[cfg(all(doctest, feature = "net"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
