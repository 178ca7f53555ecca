//! The application service data unit (IEC 60870-5-101 clause 7): type identification, variable structure
//! qualifier, cause of transmission, common address and information objects, with the field sizes as
//! parameters.

use crate::element::Element;
use crate::error::{Error, decode_error};
use crate::types::{TypeInfo, elements_width, type_info};

/// Field sizes of the ASDU header: cause of transmission 1 or 2 octets, common address 1 or 2, information
/// object address 1, 2 or 3. IEC 104 uses 2/2/3 ([`AsduParams::IEC104`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AsduParams {
    /// Octets of the cause of transmission (2 carries the originator address).
    pub cot_size: u8,
    /// Octets of the common address.
    pub ca_size: u8,
    /// Octets of an information object address.
    pub ioa_size: u8,
}

impl AsduParams {
    /// The IEC 60870-5-104 sizes: 2, 2, 3.
    pub const IEC104: AsduParams = AsduParams {
        cot_size: 2,
        ca_size: 2,
        ioa_size: 3,
    };

    /// Checks the sizes are ones the standard allows.
    pub fn validate(&self) -> Result<(), Error> {
        let ok = matches!(self.cot_size, 1 | 2)
            && matches!(self.ca_size, 1 | 2)
            && matches!(self.ioa_size, 1..=3);
        if ok {
            Ok(())
        } else {
            Err(Error::Encode {
                field: "parameters",
                reason: format!(
                    "COT {}, CA {}, IOA {} octets: allowed are 1|2, 1|2, 1|2|3",
                    self.cot_size, self.ca_size, self.ioa_size
                ),
            })
        }
    }

    fn header_len(&self) -> usize {
        usize::from(self.cot_size)
            .saturating_add(usize::from(self.ca_size))
            .saturating_add(2)
    }
}

impl Default for AsduParams {
    fn default() -> AsduParams {
        AsduParams::IEC104
    }
}

/// Cause of transmission: the cause (6 bits), the P/N bit (negative confirmation), the test bit and the
/// originator address (with a two-octet COT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cot {
    /// Cause, 0–63 (3 spontaneous, 6 activation, 7 activation confirmation, 10 activation termination, 20 station
    /// interrogation, 44–47 unknown type/cause/common address/object address, …).
    pub cause: u8,
    /// Negative confirmation (P/N = 1).
    pub negative: bool,
    /// Test frame.
    pub test: bool,
    /// Originator address (0 when absent).
    pub originator: u8,
}

impl Cot {
    /// A cause with no flags.
    pub const fn new(cause: u8) -> Cot {
        Cot {
            cause,
            negative: false,
            test: false,
            originator: 0,
        }
    }
}

/// One information object: its address and its elements.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InformationObject {
    /// Information object address.
    pub ioa: u32,
    /// The elements, in the order of the type's layout.
    pub elements: Vec<Element>,
}

/// The objects of an ASDU.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Objects {
    /// Objects of a known type.
    Known(Vec<InformationObject>),
    /// The octets after the header of a type this codec does not know (file transfer, private types).
    Raw(Vec<u8>),
}

/// An ASDU.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Asdu {
    /// Type identification.
    pub type_id: u8,
    /// Sequence of elements (SQ = 1): one address, consecutive objects.
    pub sq: bool,
    /// Number of objects (or elements with SQ = 1), 0–127 as sent.
    pub count: u8,
    /// Cause of transmission.
    pub cot: Cot,
    /// Common address of the ASDU (0xFFFF is global).
    pub common_address: u16,
    /// The information objects.
    pub objects: Objects,
}

fn read_le(input: &[u8], at: usize, len: u8, field: &'static str) -> Result<u32, Error> {
    let bytes = input
        .get(at..at.saturating_add(usize::from(len)))
        .ok_or_else(|| Error::Decode {
            offset: at,
            field,
            reason: format!(
                "needs {len} octets, {} left",
                input.len().saturating_sub(at)
            ),
        })?;
    Ok(bytes
        .iter()
        .rev()
        .fold(0u32, |acc, b| (acc << 8) | u32::from(*b)))
}

fn write_le(out: &mut Vec<u8>, value: u32, len: u8) {
    out.extend(value.to_le_bytes().into_iter().take(usize::from(len)));
}

impl Asdu {
    /// The type's layout, if known.
    pub fn type_info(&self) -> Option<&'static TypeInfo> {
        type_info(self.type_id)
    }

    /// Decodes an ASDU that fills `input` exactly (in IEC 104 the APCI length says where it ends). `base` is
    /// the offset of `input` within the frame, for error positions.
    // Sizes are at most 3 octets, counts at most 127 and object widths at most 14: no sum or product here
    // comes near overflow.
    #[allow(clippy::arithmetic_side_effects)]
    pub fn decode(input: &[u8], params: &AsduParams, base: usize) -> Result<Asdu, Error> {
        params.validate()?;
        let at = |i: usize| base.saturating_add(i);
        let header = params.header_len();
        let (Some(header_bytes), Some(body)) = (input.get(..header), input.get(header..)) else {
            let present = input.len();
            return decode_error(
                at(present),
                "ASDU header",
                format!("needs {header} octets, {present} present"),
            );
        };
        let [type_id, vsq, c, rest @ ..] = header_bytes else {
            return decode_error(at(0), "ASDU header", "too short");
        };
        let (type_id, c) = (*type_id, *c);
        let sq = vsq & 0x80 != 0;
        let count = vsq & 0x7f;
        let originator = if params.cot_size == 2 {
            rest.first().copied().unwrap_or(0)
        } else {
            0
        };
        let cot = Cot {
            cause: c & 0x3f,
            negative: c & 0x40 != 0,
            test: c & 0x80 != 0,
            originator,
        };
        let ca_at = 2 + usize::from(params.cot_size);
        let common_address =
            u16::try_from(read_le(input, ca_at, params.ca_size, "common address")?)
                .unwrap_or(u16::MAX);
        let Some(info) = type_info(type_id) else {
            return Ok(Asdu {
                type_id,
                sq,
                count,
                cot,
                common_address,
                objects: Objects::Raw(body.to_vec()),
            });
        };
        if count == 0 {
            return decode_error(at(1), "VSQ", "a count of zero objects");
        }
        let ioa = usize::from(params.ioa_size);
        let width = elements_width(info.elements);
        let n = usize::from(count);
        let expected = if sq {
            ioa + n * width
        } else {
            n * (ioa + width)
        };
        if body.len() != expected {
            return decode_error(
                at(header + body.len().min(expected)),
                "VSQ",
                format!(
                    "{count} objects of {} need {expected} octets after the header, {} present",
                    info.name,
                    body.len()
                ),
            );
        }
        let mut objects = Vec::with_capacity(n);
        let mut pos = 0usize;
        let mut first = 0u32;
        for i in 0..n {
            let address = if sq && i > 0 {
                first
                    .checked_add(u32::try_from(i).unwrap_or(0))
                    .filter(|a| *a < (1u32 << (8 * ioa)))
                    .ok_or_else(|| Error::Decode {
                        offset: at(header),
                        field: "IOA",
                        reason: "a sequence runs past the largest address".into(),
                    })?
            } else {
                let a =
                    read_le(body, pos, params.ioa_size, "IOA").map_err(|e| shift(e, at(header)))?;
                pos += ioa;
                first = a;
                a
            };
            let mut elements = Vec::with_capacity(info.elements.len());
            for kind in info.elements {
                elements.push(Element::decode(*kind, body, pos).map_err(|e| shift(e, at(header)))?);
                pos += kind.width();
            }
            objects.push(InformationObject {
                ioa: address,
                elements,
            });
        }
        Ok(Asdu {
            type_id,
            sq,
            count,
            cot,
            common_address,
            objects: Objects::Known(objects),
        })
    }

    /// Appends the ASDU. Checks that objects match the type's layout, that the count matches, that addresses fit
    /// the IOA size, and that a sequence (SQ = 1) has consecutive addresses.
    // The shift is by at most 24 bits of a u64.
    #[allow(clippy::arithmetic_side_effects)]
    pub fn encode(&self, params: &AsduParams, out: &mut Vec<u8>) -> Result<(), Error> {
        params.validate()?;
        let bad = |field, reason: String| Err(Error::Encode { field, reason });
        if self.count > 127 || self.cot.cause > 63 {
            return bad(
                "VSQ/COT",
                format!(
                    "count {} (≤ 127), cause {} (≤ 63)",
                    self.count, self.cot.cause
                ),
            );
        }
        if params.ca_size == 1 && self.common_address > 0xff {
            return bad(
                "common address",
                format!("{} does not fit one octet", self.common_address),
            );
        }
        out.push(self.type_id);
        out.push(self.count | if self.sq { 0x80 } else { 0 });
        out.push(
            self.cot.cause
                | if self.cot.negative { 0x40 } else { 0 }
                | if self.cot.test { 0x80 } else { 0 },
        );
        if params.cot_size == 2 {
            out.push(self.cot.originator);
        }
        write_le(out, u32::from(self.common_address), params.ca_size);
        match &self.objects {
            Objects::Raw(bytes) => out.extend_from_slice(bytes),
            Objects::Known(objects) => {
                let Some(info) = self.type_info() else {
                    return bad("type", format!("objects of unknown type {}", self.type_id));
                };
                if objects.len() != usize::from(self.count) {
                    return bad(
                        "VSQ",
                        format!("count {} for {} objects", self.count, objects.len()),
                    );
                }
                let limit = 1u64 << (8 * u32::from(params.ioa_size));
                for (i, o) in objects.iter().enumerate() {
                    if u64::from(o.ioa) >= limit {
                        return bad(
                            "IOA",
                            format!("{} does not fit {} octets", o.ioa, params.ioa_size),
                        );
                    }
                    let kinds: Vec<_> = o.elements.iter().map(Element::kind).collect();
                    if kinds != info.elements {
                        return bad(
                            "elements",
                            format!("object {i} does not match the layout of {}", info.name),
                        );
                    }
                    let first = objects.first().map_or(0, |f| f.ioa);
                    if self.sq
                        && i > 0
                        && Some(o.ioa) != first.checked_add(u32::try_from(i).unwrap_or(u32::MAX))
                    {
                        return bad(
                            "IOA",
                            "a sequence (SQ = 1) needs consecutive addresses".into(),
                        );
                    }
                    if !self.sq || i == 0 {
                        write_le(out, o.ioa, params.ioa_size);
                    }
                    for e in &o.elements {
                        e.encode(out);
                    }
                }
            }
        }
        Ok(())
    }
}

fn shift(e: Error, by: usize) -> Error {
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
        other => other,
    }
}
