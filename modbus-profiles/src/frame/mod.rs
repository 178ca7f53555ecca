//! Modbus frames (Modbus Application Protocol v1.1b3; Modbus over serial line v1.02): the PDU of every
//! function code this crate serves — 1–6, 15, 16, 0x17 (read/write multiple registers) and 0x2B/0x0E (read
//! device identification) — as typed requests and responses, exceptions as values, and the two ADUs: TCP
//! (MBAP header) and RTU (unit id and CRC-16). Pure: `decode(&[u8]) -> (T, used)`, `encode(&self, &mut Vec)`.

mod pdu;
mod rtu;
mod tcp;
pub mod view;

pub use pdu::{DeviceIdObject, ExceptionCode, FunctionCode, Request, Response};
pub use rtu::{RtuFrame, char_gap, crc16, frame_gap};
pub use tcp::{MbapHeader, TcpFrame};

use crate::error::Error;

/// A PDU the ADUs can carry: [`Request`] or [`Response`].
pub trait Pdu: Sized {
    /// Decodes the PDU at the start of `pdu`; returns it and the bytes used.
    fn decode_pdu(pdu: &[u8]) -> Result<(Self, usize), Error>;
    /// Appends the PDU.
    fn encode_pdu(&self, out: &mut Vec<u8>) -> Result<(), Error>;
    /// The length of the PDU starting `pdu`, for RTU framing.
    fn len_of(pdu: &[u8]) -> Result<usize, Error>;
}

impl Pdu for Request {
    fn decode_pdu(pdu: &[u8]) -> Result<(Request, usize), Error> {
        Request::decode(pdu)
    }
    fn encode_pdu(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        self.encode(out)
    }
    fn len_of(pdu: &[u8]) -> Result<usize, Error> {
        Request::len_of(pdu)
    }
}

impl Pdu for Response {
    fn decode_pdu(pdu: &[u8]) -> Result<(Response, usize), Error> {
        Response::decode(pdu)
    }
    fn encode_pdu(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        self.encode(out)
    }
    fn len_of(pdu: &[u8]) -> Result<usize, Error> {
        Response::len_of(pdu)
    }
}

/// The largest PDU: 253 bytes (a 256-byte RTU ADU less unit id and CRC).
pub const MAX_PDU: usize = 253;
