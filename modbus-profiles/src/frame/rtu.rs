//! The Modbus RTU ADU: unit id, PDU, CRC-16 (Modbus over serial line v1.02 §2.5.1). RTU has no length field:
//! the PDU's length follows from its function code and byte counts ([`super::Request::len_of`],
//! [`super::Response::len_of`]).

use super::Pdu;
use super::tcp::shift;
use crate::error::Error;
use std::time::Duration;

/// The Modbus CRC-16 (polynomial 0xA001 reflected, initial 0xFFFF), sent low byte first.
pub fn crc16(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0xffff;
    for &b in bytes {
        crc ^= u16::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xa001
            } else {
                crc >> 1
            };
        }
    }
    crc
}

/// An RTU ADU.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RtuFrame<P> {
    /// The unit (slave) id: 0 broadcast, 1–247.
    pub unit: u8,
    /// The PDU.
    pub pdu: P,
}

impl<P: Pdu> RtuFrame<P> {
    /// Decodes one frame from the start of `bytes`; returns it and the bytes used. [`Error::Incomplete`]
    /// while the frame is not all there; a CRC mismatch is an error at the CRC's offset.
    pub fn decode(bytes: &[u8]) -> Result<(RtuFrame<P>, usize), Error> {
        let unit = *bytes.first().ok_or(Error::Incomplete {
            needed: 4,
            available: 0,
        })?;
        let rest = bytes.get(1..).unwrap_or_default();
        let pdu_len = P::len_of(rest).map_err(|e| shift(e, 1))?;
        let total = pdu_len.saturating_add(3);
        let frame = bytes.get(..total).ok_or(Error::Incomplete {
            needed: total,
            available: bytes.len(),
        })?;
        let body_len = total.saturating_sub(2);
        let body = frame.get(..body_len).unwrap_or_default();
        let sent = u16::from_le_bytes([
            frame.get(body_len).copied().unwrap_or(0),
            frame.get(body_len.saturating_add(1)).copied().unwrap_or(0),
        ]);
        let computed = crc16(body);
        if sent != computed {
            return Err(Error::Decode {
                offset: body_len,
                field: "crc",
                reason: format!("0x{sent:04x} sent, 0x{computed:04x} computed"),
            });
        }
        let pdu_bytes = body.get(1..).unwrap_or_default();
        let (pdu, used) = P::decode_pdu(pdu_bytes).map_err(|e| shift(e, 1))?;
        if used != pdu_bytes.len() {
            return Err(Error::Decode {
                offset: used.saturating_add(1),
                field: "pdu",
                reason: format!("{} bytes framed, {used} decoded", pdu_bytes.len()),
            });
        }
        Ok((RtuFrame { unit, pdu }, total))
    }

    /// Appends the frame to `out`; on error nothing is appended.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        let mut frame = vec![self.unit];
        self.pdu.encode_pdu(&mut frame)?;
        let crc = crc16(&frame);
        frame.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&frame);
        Ok(())
    }
}

/// The silent interval that ends an RTU frame at `baud` bits per second: 3.5 character times of 11 bits,
/// and a fixed 1.75 ms above 19 200 baud (§2.5.1.1).
pub fn frame_gap(baud: u32) -> Duration {
    if baud == 0 || baud > 19_200 {
        return Duration::from_micros(1_750);
    }
    // 3.5 × 11 bits = 38.5 bits.
    Duration::from_micros(38_500_000u64.checked_div(u64::from(baud)).unwrap_or(1_750))
}

/// The longest silence allowed inside an RTU frame at `baud`: 1.5 character times (750 µs above 19 200).
pub fn char_gap(baud: u32) -> Duration {
    if baud == 0 || baud > 19_200 {
        return Duration::from_micros(750);
    }
    Duration::from_micros(16_500_000u64.checked_div(u64::from(baud)).unwrap_or(750))
}
