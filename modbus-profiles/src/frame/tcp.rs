//! The Modbus TCP ADU: the MBAP header (transaction id, protocol id 0, length, unit id) and the PDU
//! (Modbus Messaging on TCP/IP Implementation Guide v1.0b §3.1.3).

use super::Pdu;
use crate::error::Error;

/// The MBAP header fields a frame carries (the protocol id is always 0 and the length is computed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MbapHeader {
    /// Transaction id: the client pairs a response with its request by it.
    pub transaction: u16,
    /// Unit id: the device behind a gateway (0xFF when none).
    pub unit: u8,
}

/// A TCP ADU carrying a request or a response.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TcpFrame<P> {
    /// The header.
    pub header: MbapHeader,
    /// The PDU.
    pub pdu: P,
}

impl<P: Pdu> TcpFrame<P> {
    /// Decodes one frame from the start of `bytes`; returns it and the bytes used. [`Error::Incomplete`]
    /// when the frame is not all there yet.
    pub fn decode(bytes: &[u8]) -> Result<(TcpFrame<P>, usize), Error> {
        let header = bytes.get(..7).ok_or(Error::Incomplete {
            needed: 7,
            available: bytes.len(),
        })?;
        let word = |i: usize| {
            u16::from_be_bytes([
                header.get(i).copied().unwrap_or(0),
                header.get(i.saturating_add(1)).copied().unwrap_or(0),
            ])
        };
        let transaction = word(0);
        let protocol = word(2);
        if protocol != 0 {
            return Err(Error::Decode {
                offset: 2,
                field: "protocol id",
                reason: format!("{protocol}, not 0 (Modbus)"),
            });
        }
        let length = usize::from(word(4));
        if !(2..=super::MAX_PDU.saturating_add(1)).contains(&length) {
            return Err(Error::Decode {
                offset: 4,
                field: "length",
                reason: format!(
                    "{length}: a unit id and a PDU of 1..={} bytes",
                    super::MAX_PDU
                ),
            });
        }
        let total = length.saturating_add(6);
        let frame = bytes.get(..total).ok_or(Error::Incomplete {
            needed: total,
            available: bytes.len(),
        })?;
        let unit = header.get(6).copied().unwrap_or_default();
        let pdu_bytes = frame.get(7..).unwrap_or_default();
        let (pdu, used) = P::decode_pdu(pdu_bytes).map_err(|e| shift(e, 7))?;
        if used != pdu_bytes.len() {
            return Err(Error::Decode {
                offset: 7usize.saturating_add(used),
                field: "length",
                reason: format!(
                    "the header gives a {}-byte PDU, the PDU is {used} bytes",
                    pdu_bytes.len()
                ),
            });
        }
        Ok((
            TcpFrame {
                header: MbapHeader { transaction, unit },
                pdu,
            },
            total,
        ))
    }

    /// Appends the frame to `out`; on error nothing is appended.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        let mut pdu = Vec::with_capacity(64);
        self.pdu.encode_pdu(&mut pdu)?;
        let length = u16::try_from(pdu.len().saturating_add(1)).map_err(|_| Error::Invalid {
            field: "pdu",
            reason: "too long".into(),
        })?;
        out.extend_from_slice(&self.header.transaction.to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&length.to_be_bytes());
        out.push(self.header.unit);
        out.extend_from_slice(&pdu);
        Ok(())
    }
}

/// Moves a PDU-relative error offset to the ADU.
pub(crate) fn shift(e: Error, by: usize) -> Error {
    match e {
        Error::Decode {
            offset,
            field,
            reason,
        } => Error::Decode {
            offset: offset.saturating_add(by),
            field,
            reason,
        },
        Error::Incomplete { needed, available } => Error::Incomplete {
            needed: needed.saturating_add(by),
            available: available.saturating_add(by),
        },
        other => other,
    }
}
