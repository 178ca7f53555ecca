//! IEC 60870-5-104, the energy router's higher-level control protocol (NG-R6): a sans-IO codec for APDUs and
//! ASDUs and the link layer.
//!
//! What it does: decodes and encodes I, S and U frames (start 0x68, length ≤ 253, sequence numbers modulo
//! 32768) and ASDUs with configurable field sizes (COT 1|2, CA 1|2, IOA 1|2|3; IEC 104 uses 2/2/3), for every
//! standard type in monitor direction (1–21, 30–40), end of initialisation (70), commands (45–51, 58–64), system
//! commands (100–107) and parameters (110–113), in both sequence forms; unknown types decode as raw octets.
//! Decoding then encoding gives back the same octets. Errors carry the offset and the field.
//!
//! The [`link`] module is the link layer as a sans-IO state machine: STARTDT/STOPDT/TESTFR, the k and w
//! windows and the t1–t3 timers, driven by explicit time.
//!
//! The [`station`] module is the controlled station's application logic (sans-IO: point database,
//! interrogations, commands, negative confirmations, redundancy groups); `net` (feature `tokio`) runs controlled
//! and controlling stations over TCP, and over TLS to the IEC 62351-3 profile with feature `tls` (rustls).
//! [`profile`] reads the energy-router information-object map.
//!
//! What it does not do: file transfer (types 120–127 decode as raw octets with their type id), IEC 60870-5-101
//! serial link framing (its ASDU field sizes are supported), TLS 1.2 renegotiation and certificate revocation.
//!
//! ```
//! use iec104::{Apdu, AsduParams, Element, Objects, parse_hex};
//! // I frame N(S)=0 N(R)=0; M_ME_NC_1, one object, spontaneous (3), CA 1; IOA 1001 = 50.0, good quality.
//! let bytes = parse_hex("68 12 00 00 00 00  0d 01 03 00 01 00  e9 03 00  00 00 48 42  00")?;
//! let (apdu, used) = Apdu::decode(&bytes, &AsduParams::IEC104)?;
//! assert_eq!(used, bytes.len());
//! let Apdu::I { asdu, .. } = &apdu else { unreachable!() };
//! assert_eq!(asdu.type_info().map(|t| t.name), Some("M_ME_NC_1"));
//! let Objects::Known(objects) = &asdu.objects else { unreachable!() };
//! assert_eq!(objects[0].ioa, 1001);
//! assert_eq!(objects[0].elements, [Element::R32(50.0f32.to_bits()), Element::Qds(0)]);
//! let mut again = Vec::new();
//! apdu.encode(&AsduParams::IEC104, &mut again)?;
//! assert_eq!(again, bytes);
//! # Ok::<(), iec104::Error>(())
//! ```
#![forbid(unsafe_code)]

mod apci;
mod asdu;
mod command;
mod element;
mod error;
pub mod link;
#[cfg(feature = "tokio")]
pub mod net;
pub mod profile;
pub mod station;
mod time;
mod types;
pub mod view;

pub use apci::{Apdu, MAX_LENGTH, SEQUENCE_MODULUS, START, UFunction};
pub use asdu::{Asdu, AsduParams, Cot, InformationObject, Objects};
pub use command::Command;
pub use element::Element;
pub use error::Error;
pub use time::{Cp24Time2a, Cp56Time2a};
pub use types::{ElementKind, TYPES, TypeInfo, elements_width, type_by_name, type_info};

/// Bytes from hex text (white space and colons allowed between octets), by the workspace's one hex reader
/// ([`idea_proto::hex::decode_spaced`]).
///
/// # Errors
/// [`Error::Decode`] with field `hex`: an odd count of digits or a character that is not one.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, Error> {
    idea_proto::hex::decode_spaced(text).map_err(|reason| Error::Decode {
        offset: 0,
        field: "hex",
        reason,
    })
}

/// The README's examples, compiled and run as doctests.
#[cfg(all(doctest, feature = "tokio"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
