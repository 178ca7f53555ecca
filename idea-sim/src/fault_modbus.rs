//! The Modbus protocol faults: a relay between a client and a Modbus TCP device that reads the frames both
//! ways (MBAP header, then the PDU: Modbus Messaging on TCP/IP Implementation Guide v1.0b clause 3.1.3;
//! exceptions: Modbus Application Protocol v1.1b3 clause 7) and rewrites them as the faults that are on ask.
//! Bytes that do not form a frame are passed on as they are: a conformance suite's malformed input must
//! still reach the device.

use crate::fault::{Fault, Faults, Relayed, Rewrite};
use std::collections::HashMap;

/// Bytes kept while a frame is incomplete; more without a whole frame are passed on raw.
const MAX_PENDING: usize = 1024;
/// Requests remembered per connection (their function and quantity, by transaction).
const MAX_REMEMBERED: usize = 256;

/// "SunS", the SunSpec marker's two registers.
const SUNS: [u8; 4] = *b"SunS";

/// One MBAP frame: its header fields and the PDU.
#[derive(Debug, Clone)]
struct Frame {
    transaction: u16,
    protocol: u16,
    unit: u8,
    pdu: Vec<u8>,
}

impl Frame {
    /// A whole frame at the start of `bytes` and its size; `Ok(None)` while incomplete; `Err` for bytes
    /// that cannot be a frame (a length outside 2..=254).
    fn take(bytes: &[u8]) -> Result<Option<(Frame, usize)>, ()> {
        let Some(header) = bytes.get(..7) else {
            return Ok(None);
        };
        let word = |i: usize| {
            u16::from_be_bytes([
                header.get(i).copied().unwrap_or(0),
                header.get(i.saturating_add(1)).copied().unwrap_or(0),
            ])
        };
        let length = usize::from(word(4));
        if !(2..=254).contains(&length) {
            return Err(());
        }
        let total = length.saturating_add(6);
        let Some(pdu) = bytes.get(7..total) else {
            return Ok(None);
        };
        Ok(Some((
            Frame {
                transaction: word(0),
                protocol: word(2),
                unit: header.get(6).copied().unwrap_or(0),
                pdu: pdu.to_vec(),
            },
            total,
        )))
    }

    fn encode(&self) -> Vec<u8> {
        let length = u16::try_from(self.pdu.len().saturating_add(1)).unwrap_or(u16::MAX);
        let mut wire = Vec::with_capacity(self.pdu.len().saturating_add(7));
        wire.extend_from_slice(&self.transaction.to_be_bytes());
        wire.extend_from_slice(&self.protocol.to_be_bytes());
        wire.extend_from_slice(&length.to_be_bytes());
        wire.push(self.unit);
        wire.extend_from_slice(&self.pdu);
        wire
    }

    fn word(&self, at: usize) -> Option<u16> {
        Some(u16::from_be_bytes([
            *self.pdu.get(at)?,
            *self.pdu.get(at.checked_add(1)?)?,
        ]))
    }
}

/// What a request asked: its PDU (the function and what follows).
#[derive(Debug, Clone)]
struct Asked {
    pdu: Vec<u8>,
}

impl Asked {
    fn function(&self) -> u8 {
        self.pdu.first().copied().unwrap_or(0)
    }

    fn quantity(&self) -> u16 {
        match self.pdu.get(3..5) {
            Some([a, b]) => u16::from_be_bytes([*a, *b]),
            _ => 0,
        }
    }

    /// The normal answer a device would give had it taken the request: registers or coils of zeros for a
    /// read, the echo of a single write, the address and quantity of a multiple write.
    fn normal_answer(&self) -> Option<Vec<u8>> {
        let function = self.function();
        match function {
            0x01 | 0x02 => {
                let bytes = usize::from(self.quantity()).div_ceil(8).min(250);
                let mut pdu = vec![function, u8::try_from(bytes).ok()?];
                pdu.resize(bytes.saturating_add(2), 0);
                Some(pdu)
            }
            0x03 | 0x04 => {
                let bytes = usize::from(self.quantity()).saturating_mul(2).min(250);
                let mut pdu = vec![function, u8::try_from(bytes).ok()?];
                pdu.resize(bytes.saturating_add(2), 0);
                Some(pdu)
            }
            0x05 | 0x06 => Some(self.pdu.get(..5)?.to_vec()),
            0x0F | 0x10 => Some(self.pdu.get(..5)?.to_vec()),
            _ => None,
        }
    }
}

/// What one connection's relay remembers: the requests not yet answered, by transaction.
#[derive(Debug, Default)]
struct State {
    asked: HashMap<u16, Asked>,
}

/// Whether a function addresses registers or coils by a start address in its first two data bytes.
fn addressed(function: u8) -> bool {
    matches!(function, 0x01..=0x06 | 0x0F | 0x10)
}

fn is_write(function: u8) -> bool {
    matches!(function, 0x05 | 0x06 | 0x0F | 0x10)
}

impl State {
    /// A request from the client.
    fn client_frame(&mut self, mut frame: Frame, faults: &Faults) -> Relayed {
        let function = frame.pdu.first().copied().unwrap_or(0);
        if faults.is_on(Fault::RegisterOffByOne)
            && addressed(function)
            && let Some(address) = frame.word(1)
            && let Some(slot) = frame.pdu.get_mut(1..3)
        {
            slot.copy_from_slice(&address.wrapping_add(1).to_be_bytes());
        }
        let asked = Asked {
            pdu: frame.pdu.clone(),
        };
        if faults.is_on(Fault::WriteNotApplied)
            && is_write(function)
            && let Some(pdu) = asked.normal_answer()
        {
            let answer = Frame { pdu, ..frame };
            return Relayed {
                forward: Vec::new(),
                reply: self.server_frame(answer, faults),
                close: false,
            };
        }
        if self.asked.len() >= MAX_REMEMBERED {
            self.asked.clear();
        }
        self.asked.insert(frame.transaction, asked);
        Relayed {
            forward: frame.encode(),
            reply: Vec::new(),
            close: false,
        }
    }

    /// An answer from the device, rewritten for the client.
    fn device_frame(&mut self, frame: Frame, faults: &Faults) -> Vec<u8> {
        let asked = self.asked.remove(&frame.transaction);
        let mut frame = frame;
        let function = frame.pdu.first().copied().unwrap_or(0);
        if function & 0x80 != 0
            && faults.is_on(Fault::ExceptionMissing)
            && let Some(pdu) = asked.as_ref().and_then(Asked::normal_answer)
        {
            frame.pdu = pdu;
        }
        if function == 0x2B && faults.is_on(Fault::IdentificationMissing) {
            // Exception 1, illegal function, for Read Device Identification.
            frame.pdu = vec![0xAB, 0x01];
        }
        self.server_frame(frame, faults)
    }

    /// The header and marker faults every answer goes through.
    fn server_frame(&self, mut frame: Frame, faults: &Faults) -> Vec<u8> {
        let function = frame.pdu.first().copied().unwrap_or(0);
        if faults.is_on(Fault::SunsMarkerMissing) && matches!(function, 0x03 | 0x04) {
            let data = frame.pdu.get_mut(2..).unwrap_or_default();
            let mut at = 0usize;
            while let Some(window) = data.get_mut(at..at.saturating_add(4)) {
                if window == SUNS {
                    window.fill(0);
                }
                at = at.saturating_add(2);
            }
        }
        if faults.is_on(Fault::TransactionIdMismatch) {
            frame.transaction = frame.transaction.wrapping_add(1);
        }
        if faults.is_on(Fault::UnitIdMismatch) {
            frame.unit = frame.unit.wrapping_add(1);
        }
        if faults.is_on(Fault::ProtocolIdNonzero) {
            frame.protocol = 1;
        }
        if faults.is_on(Fault::TrailingByte) {
            frame.pdu.push(0);
        }
        frame.encode()
    }
}

/// Splits whole frames off `pending`, handing each to `each` with the output; bytes that cannot be a frame,
/// or too many without one, are passed on raw.
fn frames(pending: &mut Vec<u8>, mut each: impl FnMut(Frame, &mut Relayed)) -> Relayed {
    let mut out = Relayed::default();
    loop {
        match Frame::take(pending) {
            Ok(Some((frame, used))) => {
                pending.drain(..used);
                each(frame, &mut out);
            }
            Ok(None) if pending.len() <= MAX_PENDING => break,
            Ok(None) | Err(()) => {
                out.forward.append(pending);
                break;
            }
        }
    }
    out
}

/// The Modbus TCP frame rewriting of one connection.
#[derive(Debug, Default)]
pub(crate) struct Rewriter(State);

impl Rewrite for Rewriter {
    fn client_sent(&mut self, pending: &mut Vec<u8>, faults: &Faults) -> Relayed {
        let state = &mut self.0;
        frames(pending, |frame, out| {
            let o = state.client_frame(frame, faults);
            out.forward.extend_from_slice(&o.forward);
            out.reply.extend_from_slice(&o.reply);
        })
    }

    fn device_sent(&mut self, pending: &mut Vec<u8>, faults: &Faults) -> Relayed {
        let state = &mut self.0;
        frames(pending, |frame, out| {
            out.forward
                .extend_from_slice(&state.device_frame(frame, faults));
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn faults(on: &[Fault]) -> Faults {
        let f = Faults::default();
        for fault in on {
            f.set(*fault, true);
        }
        f
    }

    fn frame(transaction: u16, pdu: &[u8]) -> Frame {
        Frame {
            transaction,
            protocol: 0,
            unit: 1,
            pdu: pdu.to_vec(),
        }
    }

    #[test]
    fn a_read_is_moved_one_register_up() {
        let f = faults(&[Fault::RegisterOffByOne]);
        let out = State::default().client_frame(frame(1, &[3, 0x9C, 0x40, 0, 2]), &f);
        let (sent, _) = Frame::take(&out.forward).unwrap().unwrap();
        assert_eq!(sent.pdu, [3, 0x9C, 0x41, 0, 2]);
    }

    #[test]
    fn a_write_is_acknowledged_and_not_passed_on() {
        let f = faults(&[Fault::WriteNotApplied]);
        let out = State::default().client_frame(frame(7, &[6, 0, 10, 0x12, 0x34]), &f);
        assert!(out.forward.is_empty());
        let (answer, _) = Frame::take(&out.reply).unwrap().unwrap();
        assert_eq!(
            (answer.transaction, answer.pdu),
            (7, vec![6, 0, 10, 0x12, 0x34])
        );
    }

    #[test]
    fn an_exception_is_replaced_by_a_normal_answer_or_grows_a_byte() {
        let f = faults(&[Fault::TrailingByte]);
        let mut s = State::default();
        let out = s.device_frame(frame(1, &[0x83, 0x02]), &f);
        assert_eq!(Frame::take(&out).unwrap().unwrap().0.pdu, [0x83, 0x02, 0]);
        let f = faults(&[Fault::ExceptionMissing]);
        let _ = s.client_frame(frame(2, &[3, 0xFF, 0xF0, 0, 3]), &f);
        let out = s.device_frame(frame(2, &[0x83, 0x02]), &f);
        assert_eq!(
            Frame::take(&out).unwrap().unwrap().0.pdu,
            [3, 6, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn the_marker_and_header_faults() {
        let f = faults(&[
            Fault::SunsMarkerMissing,
            Fault::TransactionIdMismatch,
            Fault::UnitIdMismatch,
            Fault::ProtocolIdNonzero,
        ]);
        let out = State::default().device_frame(frame(5, &[3, 4, b'S', b'u', b'n', b'S']), &f);
        let (answer, _) = Frame::take(&out).unwrap().unwrap();
        assert_eq!(answer.pdu, [3, 4, 0, 0, 0, 0]);
        assert_eq!(
            (answer.transaction, answer.unit, answer.protocol),
            (6, 2, 1)
        );
    }

    #[test]
    fn bytes_that_are_no_frame_pass_raw() {
        let mut pending = vec![0, 1, 0, 0, 0x7F, 0xFF, 1, 3];
        let out = frames(&mut pending, |_, _| panic!("no frame"));
        assert_eq!(out.forward.len(), 8);
        assert!(pending.is_empty());
    }
}
