//! Protocol data units: function code and data (Modbus Application Protocol v1.1b3 §6), requests and
//! responses as typed values. An exception response is a value ([`Response::Exception`]), not an error.

use crate::error::Error;

/// The function codes this crate knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FunctionCode {
    /// 0x01.
    ReadCoils,
    /// 0x02.
    ReadDiscreteInputs,
    /// 0x03.
    ReadHoldingRegisters,
    /// 0x04.
    ReadInputRegisters,
    /// 0x05.
    WriteSingleCoil,
    /// 0x06.
    WriteSingleRegister,
    /// 0x0F.
    WriteMultipleCoils,
    /// 0x10.
    WriteMultipleRegisters,
    /// 0x17.
    ReadWriteMultipleRegisters,
    /// 0x2B with MEI type 0x0E.
    ReadDeviceIdentification,
}

impl FunctionCode {
    /// The code on the wire.
    pub fn code(self) -> u8 {
        match self {
            FunctionCode::ReadCoils => 0x01,
            FunctionCode::ReadDiscreteInputs => 0x02,
            FunctionCode::ReadHoldingRegisters => 0x03,
            FunctionCode::ReadInputRegisters => 0x04,
            FunctionCode::WriteSingleCoil => 0x05,
            FunctionCode::WriteSingleRegister => 0x06,
            FunctionCode::WriteMultipleCoils => 0x0f,
            FunctionCode::WriteMultipleRegisters => 0x10,
            FunctionCode::ReadWriteMultipleRegisters => 0x17,
            FunctionCode::ReadDeviceIdentification => 0x2b,
        }
    }

    /// The function with code `code`.
    pub fn from_code(code: u8) -> Option<FunctionCode> {
        Some(match code {
            0x01 => FunctionCode::ReadCoils,
            0x02 => FunctionCode::ReadDiscreteInputs,
            0x03 => FunctionCode::ReadHoldingRegisters,
            0x04 => FunctionCode::ReadInputRegisters,
            0x05 => FunctionCode::WriteSingleCoil,
            0x06 => FunctionCode::WriteSingleRegister,
            0x0f => FunctionCode::WriteMultipleCoils,
            0x10 => FunctionCode::WriteMultipleRegisters,
            0x17 => FunctionCode::ReadWriteMultipleRegisters,
            0x2b => FunctionCode::ReadDeviceIdentification,
            _ => return None,
        })
    }
}

/// A Modbus exception code (§7); shown as its code and name ("2 (illegal data address)").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExceptionCode {
    /// 1: the function is not supported.
    IllegalFunction,
    /// 2: the address (or address range) is not valid.
    IllegalDataAddress,
    /// 3: a value in the request is not allowed.
    IllegalDataValue,
    /// 4: the server failed while performing the action.
    ServerDeviceFailure,
    /// 5: accepted, processing takes long.
    Acknowledge,
    /// 6: busy; retry later.
    ServerDeviceBusy,
    /// 8: memory parity error (file records).
    MemoryParityError,
    /// 0x0A: the gateway has no path to the target.
    GatewayPathUnavailable,
    /// 0x0B: the target behind the gateway did not answer.
    GatewayTargetFailedToRespond,
    /// Any other code.
    Other(u8),
}

impl std::fmt::Display for ExceptionCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.code(), self.name())
    }
}

impl ExceptionCode {
    /// The code on the wire.
    pub fn code(self) -> u8 {
        match self {
            ExceptionCode::IllegalFunction => 1,
            ExceptionCode::IllegalDataAddress => 2,
            ExceptionCode::IllegalDataValue => 3,
            ExceptionCode::ServerDeviceFailure => 4,
            ExceptionCode::Acknowledge => 5,
            ExceptionCode::ServerDeviceBusy => 6,
            ExceptionCode::MemoryParityError => 8,
            ExceptionCode::GatewayPathUnavailable => 0x0a,
            ExceptionCode::GatewayTargetFailedToRespond => 0x0b,
            ExceptionCode::Other(c) => c,
        }
    }

    /// Its name in the Modbus Application Protocol (§7), lower case: "illegal data address".
    pub fn name(self) -> &'static str {
        match self {
            ExceptionCode::IllegalFunction => "illegal function",
            ExceptionCode::IllegalDataAddress => "illegal data address",
            ExceptionCode::IllegalDataValue => "illegal data value",
            ExceptionCode::ServerDeviceFailure => "server device failure",
            ExceptionCode::Acknowledge => "acknowledge",
            ExceptionCode::ServerDeviceBusy => "server device busy",
            ExceptionCode::MemoryParityError => "memory parity error",
            ExceptionCode::GatewayPathUnavailable => "gateway path unavailable",
            ExceptionCode::GatewayTargetFailedToRespond => {
                "gateway target device failed to respond"
            }
            ExceptionCode::Other(_) => "unknown exception",
        }
    }

    /// The exception with code `code`.
    pub fn from_code(code: u8) -> ExceptionCode {
        match code {
            1 => ExceptionCode::IllegalFunction,
            2 => ExceptionCode::IllegalDataAddress,
            3 => ExceptionCode::IllegalDataValue,
            4 => ExceptionCode::ServerDeviceFailure,
            5 => ExceptionCode::Acknowledge,
            6 => ExceptionCode::ServerDeviceBusy,
            8 => ExceptionCode::MemoryParityError,
            0x0a => ExceptionCode::GatewayPathUnavailable,
            0x0b => ExceptionCode::GatewayTargetFailedToRespond,
            other => ExceptionCode::Other(other),
        }
    }
}

/// The MEI type of Read Device Identification.
const MEI_DEVICE_ID: u8 = 0x0e;

/// A request PDU.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Request {
    /// 0x01: `count` coils from `address` (1–2000).
    ReadCoils {
        /// First coil.
        address: u16,
        /// How many.
        count: u16,
    },
    /// 0x02: `count` discrete inputs (1–2000).
    ReadDiscreteInputs {
        /// First input.
        address: u16,
        /// How many.
        count: u16,
    },
    /// 0x03: `count` holding registers (1–125).
    ReadHoldingRegisters {
        /// First register.
        address: u16,
        /// How many.
        count: u16,
    },
    /// 0x04: `count` input registers (1–125).
    ReadInputRegisters {
        /// First register.
        address: u16,
        /// How many.
        count: u16,
    },
    /// 0x05: one coil on (`0xFF00`) or off (`0x0000`).
    WriteSingleCoil {
        /// The coil.
        address: u16,
        /// On or off.
        value: bool,
    },
    /// 0x06: one holding register.
    WriteSingleRegister {
        /// The register.
        address: u16,
        /// Its new value.
        value: u16,
    },
    /// 0x0F: coils from `address` (1–1968).
    WriteMultipleCoils {
        /// First coil.
        address: u16,
        /// The values.
        values: Vec<bool>,
    },
    /// 0x10: registers from `address` (1–123).
    WriteMultipleRegisters {
        /// First register.
        address: u16,
        /// The values.
        values: Vec<u16>,
    },
    /// 0x17: writes `values` from `write_address` (1–121), then reads `read_count` from `read_address`
    /// (1–125), in one transaction.
    ReadWriteMultipleRegisters {
        /// First register read.
        read_address: u16,
        /// How many read.
        read_count: u16,
        /// First register written.
        write_address: u16,
        /// The values written.
        values: Vec<u16>,
    },
    /// 0x2B/0x0E: device identification objects: `code` 1 basic, 2 regular, 3 extended (stream from
    /// `object_id`), 4 one specific object.
    ReadDeviceIdentification {
        /// Read device id code, 1–4.
        code: u8,
        /// The object to start from (or to read, with code 4).
        object_id: u8,
    },
    /// A function this crate does not serve, with its data (a server answers exception 1). Only the TCP ADU,
    /// which carries the PDU length, can deliver one.
    Unsupported {
        /// The function code.
        function: u8,
        /// Its data.
        data: Vec<u8>,
    },
}

/// One device identification object: id and value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeviceIdObject {
    /// 0 vendor name, 1 product code, 2 revision, 3 vendor URL, 4 product name, 5 model name, 6 user
    /// application name, 0x80–0xFF private.
    pub id: u8,
    /// The value (ASCII by convention).
    pub value: Vec<u8>,
}

/// A response PDU.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Response {
    /// 0x01: coil states, packed eight to a byte, first coil in the lowest bit (trailing bits are zero).
    ReadCoils(Vec<u8>),
    /// 0x02: input states, packed as for coils.
    ReadDiscreteInputs(Vec<u8>),
    /// 0x03: register values.
    ReadHoldingRegisters(Vec<u16>),
    /// 0x04: register values.
    ReadInputRegisters(Vec<u16>),
    /// 0x05: the echo of the request.
    WriteSingleCoil {
        /// The coil.
        address: u16,
        /// Its value.
        value: bool,
    },
    /// 0x06: the echo of the request.
    WriteSingleRegister {
        /// The register.
        address: u16,
        /// Its value.
        value: u16,
    },
    /// 0x0F: first coil and count written.
    WriteMultipleCoils {
        /// First coil.
        address: u16,
        /// How many.
        count: u16,
    },
    /// 0x10: first register and count written.
    WriteMultipleRegisters {
        /// First register.
        address: u16,
        /// How many.
        count: u16,
    },
    /// 0x17: the registers read.
    ReadWriteMultipleRegisters(Vec<u16>),
    /// 0x2B/0x0E.
    ReadDeviceIdentification {
        /// The read device id code answered.
        code: u8,
        /// Conformity level (0x01–0x03, 0x81–0x83).
        conformity: u8,
        /// Whether more objects follow (`0xFF`).
        more_follows: bool,
        /// The object to ask for next when more follow.
        next_object_id: u8,
        /// The objects.
        objects: Vec<DeviceIdObject>,
    },
    /// An exception response: the function (without the 0x80 bit) and the code.
    Exception {
        /// The function that failed.
        function: u8,
        /// Why.
        code: ExceptionCode,
    },
}

/// Reads big-endian 16-bit words.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(bytes: &'a [u8]) -> Cursor<'a> {
        Cursor { bytes, pos: 0 }
    }

    fn u8(&mut self) -> Result<u8, Error> {
        let b = self.bytes.get(self.pos).copied().ok_or(Error::Incomplete {
            needed: self.pos.saturating_add(1),
            available: self.bytes.len(),
        })?;
        self.pos = self.pos.saturating_add(1);
        Ok(b)
    }

    fn u16(&mut self) -> Result<u16, Error> {
        Ok(u16::from_be_bytes([self.u8()?, self.u8()?]))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let end = self.pos.saturating_add(n);
        let bytes = self.bytes.get(self.pos..end).ok_or(Error::Incomplete {
            needed: end,
            available: self.bytes.len(),
        })?;
        self.pos = end;
        Ok(bytes)
    }

    /// A single coil's value at offset 3: `0xFF00` on, `0x0000` off, nothing else.
    fn coil(&mut self) -> Result<bool, Error> {
        match self.u16()? {
            0xff00 => Ok(true),
            0x0000 => Ok(false),
            other => Err(bad(
                3,
                "value",
                format!("0x{other:04x} is neither 0xFF00 nor 0x0000"),
            )),
        }
    }

    fn words(&mut self, n: usize) -> Result<Vec<u16>, Error> {
        Ok(self
            .take(n.saturating_mul(2))?
            .chunks_exact(2)
            .map(|w| {
                u16::from_be_bytes([
                    w.first().copied().unwrap_or(0),
                    w.get(1).copied().unwrap_or(0),
                ])
            })
            .collect())
    }
}

fn bad(offset: usize, field: &'static str, reason: impl Into<String>) -> Error {
    Error::Decode {
        offset,
        field,
        reason: reason.into(),
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> Error {
    Error::Invalid {
        field,
        reason: reason.into(),
    }
}

fn count_in(field: &'static str, n: usize, max: usize) -> Result<u16, Error> {
    if n == 0 || n > max {
        return Err(invalid(field, format!("{n} is outside 1..={max}")));
    }
    u16::try_from(n).map_err(|_| invalid(field, format!("{n} does not fit 16 bits")))
}

/// Packs `bits` eight to a byte, first in the lowest bit.
fn pack(bits: &[bool]) -> Vec<u8> {
    let mut bytes = vec![0u8; bits.len().div_ceil(8)];
    for (i, bit) in bits.iter().enumerate() {
        if *bit && let Some(byte) = bytes.get_mut(i / 8) {
            *byte |= 1u8 << (i % 8);
        }
    }
    bytes
}

fn unpack(bytes: &[u8], count: usize) -> Vec<bool> {
    (0..count)
        .map(|i| bytes.get(i / 8).is_some_and(|b| b & (1u8 << (i % 8)) != 0))
        .collect()
}

/// A single coil's value on the wire.
fn coil_value(on: bool) -> [u8; 2] {
    if on { [0xff, 0x00] } else { [0x00, 0x00] }
}

fn push_words(out: &mut Vec<u8>, words: &[u16]) {
    for w in words {
        out.extend_from_slice(&w.to_be_bytes());
    }
}

fn byte_count(field: &'static str, n: usize) -> Result<u8, Error> {
    u8::try_from(n).map_err(|_| invalid(field, format!("{n} bytes do not fit a byte count")))
}

impl Request {
    /// The function code.
    pub fn function(&self) -> u8 {
        match self {
            Request::ReadCoils { .. } => 0x01,
            Request::ReadDiscreteInputs { .. } => 0x02,
            Request::ReadHoldingRegisters { .. } => 0x03,
            Request::ReadInputRegisters { .. } => 0x04,
            Request::WriteSingleCoil { .. } => 0x05,
            Request::WriteSingleRegister { .. } => 0x06,
            Request::WriteMultipleCoils { .. } => 0x0f,
            Request::WriteMultipleRegisters { .. } => 0x10,
            Request::ReadWriteMultipleRegisters { .. } => 0x17,
            Request::ReadDeviceIdentification { .. } => 0x2b,
            Request::Unsupported { function, .. } => *function,
        }
    }

    /// The length of the request PDU that starts `pdu`, from its function code and (for the write-multiple
    /// functions) its byte count: what RTU framing needs, having no length field.
    pub fn len_of(pdu: &[u8]) -> Result<usize, Error> {
        let function = *pdu.first().ok_or(Error::Incomplete {
            needed: 1,
            available: 0,
        })?;
        let counted = |at: usize, fixed: usize| -> Result<usize, Error> {
            let n = pdu.get(at).copied().ok_or(Error::Incomplete {
                needed: at.saturating_add(1),
                available: pdu.len(),
            })?;
            Ok(fixed.saturating_add(usize::from(n)))
        };
        match function {
            0x01..=0x06 => Ok(5),
            0x0f | 0x10 => counted(5, 6),
            0x17 => counted(9, 10),
            0x2b => Ok(4),
            other => Err(bad(
                0,
                "function",
                format!("0x{other:02x} is not a function this crate frames"),
            )),
        }
    }

    /// Decodes a request PDU from the start of `pdu`; returns it and the bytes used. Structure only:
    /// whether quantities and addresses are acceptable is the server's question ([`Request::check`]).
    pub fn decode(pdu: &[u8]) -> Result<(Request, usize), Error> {
        let mut c = Cursor::new(pdu);
        let function = c.u8()?;
        let request = match function {
            0x01..=0x04 => {
                let address = c.u16()?;
                let count = c.u16()?;
                match function {
                    0x01 => Request::ReadCoils { address, count },
                    0x02 => Request::ReadDiscreteInputs { address, count },
                    0x03 => Request::ReadHoldingRegisters { address, count },
                    _ => Request::ReadInputRegisters { address, count },
                }
            }
            0x05 => {
                let address = c.u16()?;
                let value = c.coil()?;
                Request::WriteSingleCoil { address, value }
            }
            0x06 => Request::WriteSingleRegister {
                address: c.u16()?,
                value: c.u16()?,
            },
            0x0f => {
                let address = c.u16()?;
                let count = usize::from(c.u16()?);
                let n = usize::from(c.u8()?);
                if n != count.div_ceil(8) {
                    return Err(bad(5, "byte count", format!("{n} bytes for {count} coils")));
                }
                Request::WriteMultipleCoils {
                    address,
                    values: unpack(c.take(n)?, count),
                }
            }
            0x10 => {
                let address = c.u16()?;
                let count = usize::from(c.u16()?);
                let n = usize::from(c.u8()?);
                if n != count.saturating_mul(2) {
                    return Err(bad(
                        5,
                        "byte count",
                        format!("{n} bytes for {count} registers"),
                    ));
                }
                Request::WriteMultipleRegisters {
                    address,
                    values: c.words(count)?,
                }
            }
            0x17 => {
                let read_address = c.u16()?;
                let read_count = c.u16()?;
                let write_address = c.u16()?;
                let count = usize::from(c.u16()?);
                let n = usize::from(c.u8()?);
                if n != count.saturating_mul(2) {
                    return Err(bad(
                        9,
                        "byte count",
                        format!("{n} bytes for {count} registers"),
                    ));
                }
                Request::ReadWriteMultipleRegisters {
                    read_address,
                    read_count,
                    write_address,
                    values: c.words(count)?,
                }
            }
            0x2b => {
                let mei = c.u8()?;
                if mei != MEI_DEVICE_ID {
                    return Err(bad(
                        1,
                        "MEI type",
                        format!("0x{mei:02x} is not read device identification (0x0E)"),
                    ));
                }
                Request::ReadDeviceIdentification {
                    code: c.u8()?,
                    object_id: c.u8()?,
                }
            }
            other => {
                if other & 0x80 != 0 {
                    return Err(bad(
                        0,
                        "function",
                        format!("0x{other:02x} is an exception code, not a request"),
                    ));
                }
                let data = c.take(pdu.len().saturating_sub(1))?.to_vec();
                Request::Unsupported {
                    function: other,
                    data,
                }
            }
        };
        Ok((request, c.pos))
    }

    /// Whether a server may act on the request as far as the protocol goes: quantities within their ranges
    /// and address ranges within 16 bits (§6); the exception to answer if not. Whether the addresses exist
    /// is the server's map's question.
    pub fn check(&self) -> Result<(), ExceptionCode> {
        let within = |address: u16, count: usize, max: usize| {
            if count == 0 || count > max {
                Err(ExceptionCode::IllegalDataValue)
            } else if usize::from(address).saturating_add(count) > 0x1_0000 {
                Err(ExceptionCode::IllegalDataAddress)
            } else {
                Ok(())
            }
        };
        match self {
            Request::ReadCoils { address, count }
            | Request::ReadDiscreteInputs { address, count } => {
                within(*address, usize::from(*count), 2000)
            }
            Request::ReadHoldingRegisters { address, count }
            | Request::ReadInputRegisters { address, count } => {
                within(*address, usize::from(*count), 125)
            }
            Request::WriteSingleCoil { .. } | Request::WriteSingleRegister { .. } => Ok(()),
            Request::WriteMultipleCoils { address, values } => within(*address, values.len(), 1968),
            Request::WriteMultipleRegisters { address, values } => {
                within(*address, values.len(), 123)
            }
            Request::ReadWriteMultipleRegisters {
                read_address,
                read_count,
                write_address,
                values,
            } => within(*read_address, usize::from(*read_count), 125).and(within(
                *write_address,
                values.len(),
                121,
            )),
            Request::ReadDeviceIdentification { code, .. } => {
                if (1..=4).contains(code) {
                    Ok(())
                } else {
                    Err(ExceptionCode::IllegalDataValue)
                }
            }
            Request::Unsupported { .. } => Err(ExceptionCode::IllegalFunction),
        }
    }

    /// Appends the PDU to `out`; on error nothing is appended. Refuses quantities outside their ranges.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        if let Request::Unsupported { function, data } = self {
            if function & 0x80 != 0 || data.len() >= super::MAX_PDU {
                return Err(invalid("function", "not a request function, or too long"));
            }
            out.push(*function);
            out.extend_from_slice(data);
            return Ok(());
        }
        if self.check().is_err() {
            return Err(invalid(
                "quantity",
                format!("{self:?} is outside the function's ranges"),
            ));
        }
        let mut pdu = vec![self.function()];
        match self {
            Request::ReadCoils { address, count }
            | Request::ReadDiscreteInputs { address, count }
            | Request::ReadHoldingRegisters { address, count }
            | Request::ReadInputRegisters { address, count } => {
                pdu.extend_from_slice(&address.to_be_bytes());
                pdu.extend_from_slice(&count.to_be_bytes());
            }
            Request::WriteSingleCoil { address, value } => {
                pdu.extend_from_slice(&address.to_be_bytes());
                pdu.extend_from_slice(&coil_value(*value));
            }
            Request::WriteSingleRegister { address, value } => {
                pdu.extend_from_slice(&address.to_be_bytes());
                pdu.extend_from_slice(&value.to_be_bytes());
            }
            Request::WriteMultipleCoils { address, values } => {
                let packed = pack(values);
                pdu.extend_from_slice(&address.to_be_bytes());
                pdu.extend_from_slice(&count_in("quantity", values.len(), 1968)?.to_be_bytes());
                pdu.push(byte_count("byte count", packed.len())?);
                pdu.extend_from_slice(&packed);
            }
            Request::WriteMultipleRegisters { address, values } => {
                pdu.extend_from_slice(&address.to_be_bytes());
                pdu.extend_from_slice(&count_in("quantity", values.len(), 123)?.to_be_bytes());
                pdu.push(byte_count("byte count", values.len().saturating_mul(2))?);
                push_words(&mut pdu, values);
            }
            Request::ReadWriteMultipleRegisters {
                read_address,
                read_count,
                write_address,
                values,
            } => {
                pdu.extend_from_slice(&read_address.to_be_bytes());
                pdu.extend_from_slice(&read_count.to_be_bytes());
                pdu.extend_from_slice(&write_address.to_be_bytes());
                pdu.extend_from_slice(
                    &count_in("write quantity", values.len(), 121)?.to_be_bytes(),
                );
                pdu.push(byte_count("byte count", values.len().saturating_mul(2))?);
                push_words(&mut pdu, values);
            }
            Request::ReadDeviceIdentification { code, object_id } => {
                pdu.extend_from_slice(&[MEI_DEVICE_ID, *code, *object_id]);
            }
            Request::Unsupported { .. } => {}
        }
        out.extend_from_slice(&pdu);
        Ok(())
    }
}

impl Response {
    /// The function code on the wire (with the 0x80 bit for an exception).
    pub fn function(&self) -> u8 {
        match self {
            Response::ReadCoils(_) => 0x01,
            Response::ReadDiscreteInputs(_) => 0x02,
            Response::ReadHoldingRegisters(_) => 0x03,
            Response::ReadInputRegisters(_) => 0x04,
            Response::WriteSingleCoil { .. } => 0x05,
            Response::WriteSingleRegister { .. } => 0x06,
            Response::WriteMultipleCoils { .. } => 0x0f,
            Response::WriteMultipleRegisters { .. } => 0x10,
            Response::ReadWriteMultipleRegisters(_) => 0x17,
            Response::ReadDeviceIdentification { .. } => 0x2b,
            Response::Exception { function, .. } => function | 0x80,
        }
    }

    /// The first `count` bits of a coil or discrete-input response.
    pub fn bits(&self, count: usize) -> Option<Vec<bool>> {
        match self {
            Response::ReadCoils(b) | Response::ReadDiscreteInputs(b) => Some(unpack(b, count)),
            _ => None,
        }
    }

    /// A coil or input response for `bits`.
    pub fn from_bits(function: FunctionCode, bits: &[bool]) -> Option<Response> {
        match function {
            FunctionCode::ReadCoils => Some(Response::ReadCoils(pack(bits))),
            FunctionCode::ReadDiscreteInputs => Some(Response::ReadDiscreteInputs(pack(bits))),
            _ => None,
        }
    }

    /// The length of the response PDU that starts `pdu` (RTU framing).
    pub fn len_of(pdu: &[u8]) -> Result<usize, Error> {
        let function = *pdu.first().ok_or(Error::Incomplete {
            needed: 1,
            available: 0,
        })?;
        let at = |i: usize| {
            pdu.get(i)
                .copied()
                .map(usize::from)
                .ok_or(Error::Incomplete {
                    needed: i.saturating_add(1),
                    available: pdu.len(),
                })
        };
        match function {
            f if f & 0x80 != 0 => Ok(2),
            0x01..=0x04 | 0x17 => Ok(2usize.saturating_add(at(1)?)),
            0x05 | 0x06 | 0x0f | 0x10 => Ok(5),
            0x2b => {
                // MEI, code, conformity, more, next, number of objects, then (id, length, value)…
                let objects = at(6)?;
                let mut len = 7usize;
                for _ in 0..objects {
                    let value_len = at(len.saturating_add(1))?;
                    len = len.saturating_add(2).saturating_add(value_len);
                }
                Ok(len)
            }
            other => Err(bad(
                0,
                "function",
                format!("0x{other:02x} is not a function this crate frames"),
            )),
        }
    }

    /// Decodes a response PDU from the start of `pdu`; returns it and the bytes used.
    pub fn decode(pdu: &[u8]) -> Result<(Response, usize), Error> {
        let mut c = Cursor::new(pdu);
        let function = c.u8()?;
        let response = match function {
            f if f & 0x80 != 0 => Response::Exception {
                function: f & 0x7f,
                code: ExceptionCode::from_code(c.u8()?),
            },
            0x01 | 0x02 => {
                let n = usize::from(c.u8()?);
                let bytes = c.take(n)?.to_vec();
                if function == 0x01 {
                    Response::ReadCoils(bytes)
                } else {
                    Response::ReadDiscreteInputs(bytes)
                }
            }
            0x03 | 0x04 | 0x17 => {
                let n = usize::from(c.u8()?);
                if n % 2 != 0 {
                    return Err(bad(
                        1,
                        "byte count",
                        format!("{n} is odd: registers are two bytes"),
                    ));
                }
                let words = c.words(n / 2)?;
                match function {
                    0x03 => Response::ReadHoldingRegisters(words),
                    0x04 => Response::ReadInputRegisters(words),
                    _ => Response::ReadWriteMultipleRegisters(words),
                }
            }
            0x05 => {
                let address = c.u16()?;
                let value = c.coil()?;
                Response::WriteSingleCoil { address, value }
            }
            0x06 => Response::WriteSingleRegister {
                address: c.u16()?,
                value: c.u16()?,
            },
            0x0f | 0x10 => {
                let address = c.u16()?;
                let count = c.u16()?;
                if function == 0x0f {
                    Response::WriteMultipleCoils { address, count }
                } else {
                    Response::WriteMultipleRegisters { address, count }
                }
            }
            0x2b => {
                let mei = c.u8()?;
                if mei != MEI_DEVICE_ID {
                    return Err(bad(
                        1,
                        "MEI type",
                        format!("0x{mei:02x} is not read device identification (0x0E)"),
                    ));
                }
                let code = c.u8()?;
                let conformity = c.u8()?;
                let more_follows = match c.u8()? {
                    0x00 => false,
                    0xff => true,
                    other => {
                        return Err(bad(
                            4,
                            "more follows",
                            format!("0x{other:02x} is neither 0x00 nor 0xFF"),
                        ));
                    }
                };
                let next_object_id = c.u8()?;
                let n = c.u8()?;
                let mut objects = Vec::with_capacity(usize::from(n));
                for _ in 0..n {
                    let id = c.u8()?;
                    let len = usize::from(c.u8()?);
                    objects.push(DeviceIdObject {
                        id,
                        value: c.take(len)?.to_vec(),
                    });
                }
                Response::ReadDeviceIdentification {
                    code,
                    conformity,
                    more_follows,
                    next_object_id,
                    objects,
                }
            }
            other => {
                return Err(bad(
                    0,
                    "function",
                    format!("0x{other:02x} is not a function this crate decodes"),
                ));
            }
        };
        Ok((response, c.pos))
    }

    /// Appends the PDU to `out`; on error nothing is appended.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        let mut pdu = vec![self.function()];
        match self {
            Response::ReadCoils(bytes) | Response::ReadDiscreteInputs(bytes) => {
                pdu.push(byte_count("byte count", bytes.len())?);
                pdu.extend_from_slice(bytes);
            }
            Response::ReadHoldingRegisters(words)
            | Response::ReadInputRegisters(words)
            | Response::ReadWriteMultipleRegisters(words) => {
                if words.len() > 125 {
                    return Err(invalid(
                        "quantity",
                        format!("{} registers; at most 125", words.len()),
                    ));
                }
                pdu.push(byte_count("byte count", words.len().saturating_mul(2))?);
                push_words(&mut pdu, words);
            }
            Response::WriteSingleCoil { address, value } => {
                pdu.extend_from_slice(&address.to_be_bytes());
                pdu.extend_from_slice(&coil_value(*value));
            }
            Response::WriteSingleRegister { address, value } => {
                pdu.extend_from_slice(&address.to_be_bytes());
                pdu.extend_from_slice(&value.to_be_bytes());
            }
            Response::WriteMultipleCoils { address, count }
            | Response::WriteMultipleRegisters { address, count } => {
                pdu.extend_from_slice(&address.to_be_bytes());
                pdu.extend_from_slice(&count.to_be_bytes());
            }
            Response::ReadDeviceIdentification {
                code,
                conformity,
                more_follows,
                next_object_id,
                objects,
            } => {
                pdu.extend_from_slice(&[
                    MEI_DEVICE_ID,
                    *code,
                    *conformity,
                    if *more_follows { 0xff } else { 0x00 },
                    *next_object_id,
                    byte_count("number of objects", objects.len())?,
                ]);
                for o in objects {
                    pdu.push(o.id);
                    pdu.push(byte_count("object length", o.value.len())?);
                    pdu.extend_from_slice(&o.value);
                }
            }
            Response::Exception { function, code } => {
                if function & 0x80 != 0 {
                    return Err(invalid(
                        "function",
                        "an exception names the function without 0x80",
                    ));
                }
                pdu.push(code.code());
            }
        }
        if pdu.len() > super::MAX_PDU {
            return Err(invalid(
                "pdu",
                format!("{} bytes; at most {}", pdu.len(), super::MAX_PDU),
            ));
        }
        out.extend_from_slice(&pdu);
        Ok(())
    }
}
