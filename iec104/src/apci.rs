//! The application protocol data unit of IEC 60870-5-104 (clause 5): start octet 0x68, length, four control
//! octets (I, S or U format), and for I frames an ASDU.

use crate::asdu::{Asdu, AsduParams};
use crate::error::{Error, decode_error};

/// The start octet.
pub const START: u8 = 0x68;
/// The longest APDU length (the octet after the start octet).
pub const MAX_LENGTH: usize = 253;
/// Sequence numbers count modulo this.
pub const SEQUENCE_MODULUS: u16 = 32_768;

/// U-format functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UFunction {
    /// Start data transfer, activation.
    StartDtAct,
    /// Start data transfer, confirmation.
    StartDtCon,
    /// Stop data transfer, activation.
    StopDtAct,
    /// Stop data transfer, confirmation.
    StopDtCon,
    /// Test frame, activation.
    TestFrAct,
    /// Test frame, confirmation.
    TestFrCon,
}

impl UFunction {
    const ALL: [(UFunction, u8, &'static str); 6] = [
        (UFunction::StartDtAct, 0x07, "STARTDT_ACT"),
        (UFunction::StartDtCon, 0x0b, "STARTDT_CON"),
        (UFunction::StopDtAct, 0x13, "STOPDT_ACT"),
        (UFunction::StopDtCon, 0x23, "STOPDT_CON"),
        (UFunction::TestFrAct, 0x43, "TESTFR_ACT"),
        (UFunction::TestFrCon, 0x83, "TESTFR_CON"),
    ];

    /// The first control octet.
    pub fn octet(self) -> u8 {
        Self::ALL
            .iter()
            .find(|(f, _, _)| *f == self)
            .map_or(0, |(_, o, _)| *o)
    }

    /// The name, e.g. `STARTDT_ACT`.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(f, _, _)| *f == self)
            .map_or("", |(_, _, n)| n)
    }

    fn from_octet(o: u8) -> Option<UFunction> {
        Self::ALL
            .iter()
            .find(|(_, v, _)| *v == o)
            .map(|(f, _, _)| *f)
    }
}

/// An APDU.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Apdu {
    /// Information transfer: send and receive sequence numbers and an ASDU.
    I {
        /// N(S), 0–32767.
        ns: u16,
        /// N(R), 0–32767.
        nr: u16,
        /// The ASDU.
        asdu: Asdu,
    },
    /// Supervisory: acknowledges up to N(R).
    S {
        /// N(R), 0–32767.
        nr: u16,
    },
    /// Unnumbered control.
    U(UFunction),
}

impl Apdu {
    /// Decodes one APDU from the front of `input`; returns it and the octets used.
    pub fn decode(input: &[u8], params: &AsduParams) -> Result<(Apdu, usize), Error> {
        let Some(&start) = input.first() else {
            return decode_error(0, "start", "empty input");
        };
        if start != START {
            return decode_error(0, "start", format!("0x{start:02x} is not 0x68"));
        }
        let Some(&len) = input.get(1) else {
            return decode_error(1, "length", "missing");
        };
        let len = usize::from(len);
        if !(4..=MAX_LENGTH).contains(&len) {
            return decode_error(1, "length", format!("{len} is not within 4..=253"));
        }
        let Some(frame) = input.get(2..len.saturating_add(2)) else {
            let present = input.len().saturating_sub(2);
            return decode_error(
                input.len(),
                "length",
                format!("{len} octets announced, {present} present"),
            );
        };
        let [c0, c1, c2, c3, asdu_bytes @ ..] = frame else {
            return decode_error(2, "control", "four control octets are needed");
        };
        // N(S) and N(R) sit in the upper 15 bits of two little-endian octets.
        let number = |lo: u8, hi: u8| u16::from_le_bytes([lo, hi]) >> 1;
        let apdu = if c0 & 0x01 == 0 {
            if c2 & 0x01 != 0 {
                return decode_error(
                    4,
                    "control",
                    "bit 0 of the third control octet must be 0 in an I frame",
                );
            }
            if asdu_bytes.is_empty() {
                return decode_error(6, "ASDU", "an I frame carries an ASDU");
            }
            let asdu = Asdu::decode(asdu_bytes, params, 6)?;
            Apdu::I {
                ns: number(*c0, *c1),
                nr: number(*c2, *c3),
                asdu,
            }
        } else if c0 & 0x03 == 0x01 {
            if *c0 != 0x01 || *c1 != 0 || c2 & 0x01 != 0 {
                return decode_error(
                    2,
                    "control",
                    "an S frame has control octets 01 00 and an even third octet",
                );
            }
            if !asdu_bytes.is_empty() {
                return decode_error(1, "length", "an S frame is 4 octets long");
            }
            Apdu::S {
                nr: number(*c2, *c3),
            }
        } else {
            let Some(f) = UFunction::from_octet(*c0) else {
                return decode_error(2, "control", format!("0x{c0:02x} is not one U function"));
            };
            if *c1 != 0 || *c2 != 0 || *c3 != 0 {
                return decode_error(3, "control", "a U frame's other control octets are 0");
            }
            if !asdu_bytes.is_empty() {
                return decode_error(1, "length", "a U frame is 4 octets long");
            }
            Apdu::U(f)
        };
        Ok((apdu, len.saturating_add(2)))
    }

    /// Appends the APDU.
    pub fn encode(&self, params: &AsduParams, out: &mut Vec<u8>) -> Result<(), Error> {
        let start = out.len();
        out.extend_from_slice(&[START, 4]);
        let numbers = |out: &mut Vec<u8>, first: u16, second: u16| -> Result<(), Error> {
            if first >= SEQUENCE_MODULUS || second >= SEQUENCE_MODULUS {
                return Err(Error::Encode {
                    field: "N(S)/N(R)",
                    reason: format!("{first}/{second} are not below 32768"),
                });
            }
            // Below 32768, shifting left by one stays within 16 bits.
            out.extend_from_slice(&(first << 1).to_le_bytes());
            out.extend_from_slice(&(second << 1).to_le_bytes());
            Ok(())
        };
        let body = match self {
            Apdu::I { ns, nr, asdu } => {
                numbers(out, *ns, *nr).and_then(|()| asdu.encode(params, out))
            }
            Apdu::S { nr } => {
                out.extend_from_slice(&[0x01, 0x00]);
                // The first "number" here is the 0x0000 the two octets above already wrote: write only N(R).
                if *nr >= SEQUENCE_MODULUS {
                    Err(Error::Encode {
                        field: "N(R)",
                        reason: format!("{nr} is not below 32768"),
                    })
                } else {
                    out.extend_from_slice(&(nr << 1).to_le_bytes());
                    Ok(())
                }
            }
            Apdu::U(f) => {
                out.extend_from_slice(&[f.octet(), 0, 0, 0]);
                Ok(())
            }
        };
        let len = out.len().saturating_sub(start).saturating_sub(2);
        let length_octet = u8::try_from(len)
            .ok()
            .filter(|l| usize::from(*l) <= MAX_LENGTH);
        match (body, length_octet, out.get_mut(start.saturating_add(1))) {
            (Ok(()), Some(l), Some(slot)) => {
                *slot = l;
                Ok(())
            }
            (Err(e), _, _) => {
                out.truncate(start);
                Err(e)
            }
            _ => {
                out.truncate(start);
                Err(Error::Encode {
                    field: "length",
                    reason: format!("{len} octets exceed 253"),
                })
            }
        }
    }
}
