//! The server side as a sans-IO core: one complete request ADU in, the response ADU (or silence) out.
//!
//! Function codes 1–6, 15 and 16 go through [`rmodbus`]'s frame processor, reading and writing the caller's
//! [`Registers`] through its external read/write hooks (so the store can sit at any address, 40000 and up
//! included, and be as large as the profile needs). 0x17 (read/write multiple registers) and 0x2B/0x0E (read
//! device identification), which rmodbus leaves to the caller, and every malformed or unknown request, are
//! handled with this crate's own codec. Requests are checked before rmodbus sees them.

use crate::frame::{
    DeviceIdObject, ExceptionCode, FunctionCode, MbapHeader, Request, Response, RtuFrame, TcpFrame,
    crc16,
};
use rmodbus::server::{ModbusFrame, Read, Write};
use rmodbus::{ErrorKind, ModbusProto};
use std::time::Instant;

/// Which register table a read addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// Holding registers (function 3; written by 6, 16 and 0x17).
    Holding,
    /// Input registers (function 4).
    Input,
}

/// What a server serves: its registers (and optionally coils), and its identification.
pub trait Registers {
    /// Fills `out` with the registers from `address`.
    ///
    /// # Errors
    /// The exception to answer with (2 for addresses the map does not hold).
    fn read(&mut self, table: Table, address: u16, out: &mut [u16]) -> Result<(), ExceptionCode>;

    /// Writes holding registers from `address`, all or nothing.
    ///
    /// # Errors
    /// The exception to answer with: 2 for addresses that are not writable, 3 for values refused.
    fn write(&mut self, address: u16, values: &[u16]) -> Result<(), ExceptionCode>;

    /// Fills `out` with coils (`discrete` false) or discrete inputs from `address`; none by default.
    ///
    /// # Errors
    /// The exception to answer with.
    fn read_bits(
        &mut self,
        discrete: bool,
        address: u16,
        out: &mut [bool],
    ) -> Result<(), ExceptionCode> {
        let _ = (discrete, address, out);
        Err(ExceptionCode::IllegalDataAddress)
    }

    /// Writes coils from `address`; none by default.
    ///
    /// # Errors
    /// The exception to answer with.
    fn write_bits(&mut self, address: u16, values: &[bool]) -> Result<(), ExceptionCode> {
        let _ = (address, values);
        Err(ExceptionCode::IllegalDataAddress)
    }

    /// The basic device identification objects (0 vendor, 1 product code, 2 revision).
    fn identification(&self) -> Vec<DeviceIdObject> {
        Vec::new()
    }

    /// Lets time pass for behaviour behind the registers (reversion timers, measurements following
    /// setpoints). Servers call it before each request and periodically.
    fn tick(&mut self, now: Instant) {
        let _ = now;
    }

    /// When the behaviour behind the registers next needs a [`tick`](Self::tick) if no request comes
    /// first: `None` while nothing changes with time alone (no reversion timer armed, no measurement
    /// following a setpoint), and servers then tick only before requests. The default asks for `now`:
    /// ticked at the server's own pace (every 50 ms over TCP).
    fn poll_timeout(&self, now: Instant) -> Option<Instant> {
        Some(now)
    }
}

/// Whether a response is owed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    /// `out` holds the response ADU.
    Reply,
    /// No response: another unit's request, a broadcast, or bytes that are not a request.
    Silent,
}

/// A Modbus server core for one unit id.
#[derive(Debug)]
pub struct Server<R> {
    unit: u8,
    registers: R,
    scratch: Vec<u16>,
    bits: Vec<bool>,
}

impl<R: Registers> Server<R> {
    /// A server answering as `unit`.
    pub fn new(unit: u8, registers: R) -> Self {
        Self {
            unit,
            registers,
            scratch: Vec::with_capacity(125),
            bits: Vec::new(),
        }
    }

    /// The unit id it answers.
    pub fn unit(&self) -> u8 {
        self.unit
    }

    /// The registers served.
    pub fn registers(&self) -> &R {
        &self.registers
    }

    /// The registers served, mutable.
    pub fn registers_mut(&mut self) -> &mut R {
        &mut self.registers
    }

    /// Handles one complete Modbus TCP ADU (MBAP header and PDU).
    pub fn handle_tcp(&mut self, adu: &[u8], out: &mut Vec<u8>) -> Handled {
        out.clear();
        let (Some(header), Some(pdu)) = (adu.get(..7), adu.get(7..)) else {
            return Handled::Silent;
        };
        let declared = usize::from(be16(header, 4));
        if header.get(2..4) != Some(&[0, 0]) || declared != pdu.len().saturating_add(1) {
            return Handled::Silent;
        }
        let unit = header.get(6).copied().unwrap_or(0);
        if unit != self.unit {
            return Handled::Silent;
        }
        if standard_and_well_formed(pdu) {
            return self.through_rmodbus(adu, ModbusProto::TcpUdp, out);
        }
        let transaction = be16(header, 0);
        let response = self.own(pdu);
        let frame = TcpFrame {
            header: MbapHeader { transaction, unit },
            pdu: response,
        };
        match frame.encode(out) {
            Ok(()) => Handled::Reply,
            Err(_) => Handled::Silent,
        }
    }

    /// Handles one complete RTU ADU (unit id, PDU, CRC). Silent for other units, for broadcasts (unit 0:
    /// writes are applied, nothing is answered) and for frames whose CRC is wrong.
    pub fn handle_rtu(&mut self, adu: &[u8], out: &mut Vec<u8>) -> Handled {
        out.clear();
        let unit = adu.first().copied().unwrap_or(0);
        if unit != self.unit && unit != 0 {
            return Handled::Silent;
        }
        let body_len = adu.len().saturating_sub(2);
        let (Some(body), Some(crc)) = (adu.get(..body_len), adu.get(body_len..)) else {
            return Handled::Silent;
        };
        if body.len() < 2 || crc16(body).to_le_bytes() != crc {
            // A broken frame: a serial server says nothing.
            return Handled::Silent;
        }
        let pdu = body.get(1..).unwrap_or_default();
        if standard_and_well_formed(pdu) {
            return self.through_rmodbus(adu, ModbusProto::Rtu, out);
        }
        let response = self.own(pdu);
        if unit == 0 {
            return Handled::Silent;
        }
        match (RtuFrame {
            unit,
            pdu: response,
        })
        .encode(out)
        {
            Ok(()) => Handled::Reply,
            Err(_) => Handled::Silent,
        }
    }

    fn through_rmodbus(&mut self, adu: &[u8], proto: ModbusProto, out: &mut Vec<u8>) -> Handled {
        let mut frame = ModbusFrame::new(self.unit, adu, proto, out);
        if frame.parse().is_err() || !frame.processing_required && !frame.response_required {
            return Handled::Silent;
        }
        let function = frame.responding_to_fn;
        if frame.processing_required && frame.error.is_none() {
            let outcome = if frame.readonly {
                let result = match frame.get_external_read() {
                    Ok(Read::Words(words)) => {
                        let table = if function == 4 {
                            Table::Input
                        } else {
                            Table::Holding
                        };
                        read_words(
                            &mut self.registers,
                            &mut self.scratch,
                            table,
                            words.address,
                            words.buf,
                        )
                    }
                    Ok(Read::Bits(bits)) => {
                        let discrete = function == 2;
                        read_bits(
                            &mut self.registers,
                            &mut self.bits,
                            discrete,
                            bits.address,
                            bits.count,
                            bits.buf,
                        )
                    }
                    Err(e) => Err(e),
                };
                frame.process_external_read(result)
            } else {
                let result =
                    match frame.get_external_write() {
                        Ok(Write::Words(words)) => {
                            self.scratch.clear();
                            self.scratch
                                .extend(words.data.chunks_exact(2).map(|b| be16(b, 0)));
                            self.registers
                                .write(words.address, &self.scratch)
                                .map_err(to_rmodbus)
                        }
                        Ok(Write::Bits(bits)) => {
                            self.bits.clear();
                            let count = usize::from(bits.count);
                            self.bits.extend((0..count).map(|i| {
                                bits.data.get(i / 8).is_some_and(|b| b >> (i % 8) & 1 == 1)
                            }));
                            self.registers
                                .write_bits(bits.address, &self.bits)
                                .map_err(to_rmodbus)
                        }
                        Err(e) => Err(e),
                    };
                frame.process_external_write(result)
            };
            if outcome.is_err() {
                return Handled::Silent;
            }
        }
        let reply = frame.response_required;
        if frame.finalize_response().is_err() || !reply {
            return Handled::Silent;
        }
        Handled::Reply
    }

    /// Requests rmodbus does not process: 0x17, 0x2B/0x0E, malformed and unknown ones.
    fn own(&mut self, pdu: &[u8]) -> Response {
        let function = pdu.first().copied().unwrap_or(0);
        let exception = |code| Response::Exception {
            function: function & 0x7F,
            code,
        };
        let request = match Request::decode(pdu) {
            Ok((request, used)) if used == pdu.len() => request,
            _ if FunctionCode::from_code(function).is_none() => {
                return exception(ExceptionCode::IllegalFunction);
            }
            _ => return exception(ExceptionCode::IllegalDataValue),
        };
        if let Err(code) = request.check() {
            return exception(code);
        }
        match request {
            Request::ReadWriteMultipleRegisters {
                read_address,
                read_count,
                write_address,
                values,
            } => {
                if let Err(code) = self.registers.write(write_address, &values) {
                    return exception(code);
                }
                let mut read = vec![0u16; usize::from(read_count)];
                match self.registers.read(Table::Holding, read_address, &mut read) {
                    Ok(()) => Response::ReadWriteMultipleRegisters(read),
                    Err(code) => exception(code),
                }
            }
            Request::ReadDeviceIdentification { code, object_id } => {
                let objects: Vec<DeviceIdObject> = self
                    .registers
                    .identification()
                    .into_iter()
                    .filter(|o| {
                        if code == 4 {
                            o.id == object_id
                        } else {
                            o.id >= object_id
                        }
                    })
                    .collect();
                if objects.is_empty() {
                    return exception(ExceptionCode::IllegalDataAddress);
                }
                Response::ReadDeviceIdentification {
                    code,
                    conformity: 0x81,
                    more_follows: false,
                    next_object_id: 0,
                    objects,
                }
            }
            // Anything else decodable is a standard function whose frame rmodbus would not take.
            _ => exception(ExceptionCode::IllegalDataValue),
        }
    }
}

/// The big-endian 16-bit value at `at`, 0 past the end.
pub(crate) fn be16(bytes: &[u8], at: usize) -> u16 {
    match bytes.get(at..at.saturating_add(2)) {
        Some(&[hi, lo]) => u16::from_be_bytes([hi, lo]),
        _ => 0,
    }
}

/// A PDU of function 1–6, 15 or 16 whose length and counts agree, so rmodbus's processor can take it.
fn standard_and_well_formed(pdu: &[u8]) -> bool {
    let quantity = || usize::from(be16(pdu, 3));
    match pdu.first() {
        Some(1..=6) => pdu.len() == 5,
        Some(15) => {
            let bytes = pdu.get(5).map_or(0, |b| usize::from(*b));
            let count = quantity();
            pdu.len() == 6usize.saturating_add(bytes)
                && (1..=1968).contains(&count)
                && bytes == count.div_ceil(8)
        }
        Some(16) => {
            let bytes = pdu.get(5).map_or(0, |b| usize::from(*b));
            let count = quantity();
            pdu.len() == 6usize.saturating_add(bytes)
                && (1..=123).contains(&count)
                && bytes == count.saturating_mul(2)
        }
        _ => false,
    }
}

fn read_words<R: Registers>(
    registers: &mut R,
    scratch: &mut Vec<u16>,
    table: Table,
    address: u16,
    buf: &mut [u8],
) -> Result<(), ErrorKind> {
    let count = buf.len() / 2;
    if count == 0 {
        return Err(ErrorKind::IllegalDataValue);
    }
    scratch.clear();
    scratch.resize(count, 0);
    registers
        .read(table, address, scratch)
        .map_err(to_rmodbus)?;
    for (bytes, value) in buf.chunks_exact_mut(2).zip(scratch.iter()) {
        bytes.copy_from_slice(&value.to_be_bytes());
    }
    Ok(())
}

fn read_bits<R: Registers>(
    registers: &mut R,
    bits: &mut Vec<bool>,
    discrete: bool,
    address: u16,
    count: u16,
    buf: &mut [u8],
) -> Result<(), ErrorKind> {
    if count == 0 {
        return Err(ErrorKind::IllegalDataValue);
    }
    bits.clear();
    bits.resize(usize::from(count), false);
    registers
        .read_bits(discrete, address, bits)
        .map_err(to_rmodbus)?;
    buf.fill(0);
    for (i, bit) in bits.iter().enumerate() {
        if *bit && let Some(byte) = buf.get_mut(i / 8) {
            *byte |= 1 << (i % 8);
        }
    }
    Ok(())
}

fn to_rmodbus(code: ExceptionCode) -> ErrorKind {
    match code {
        ExceptionCode::IllegalFunction => ErrorKind::IllegalFunction,
        ExceptionCode::IllegalDataAddress => ErrorKind::IllegalDataAddress,
        ExceptionCode::IllegalDataValue => ErrorKind::IllegalDataValue,
        ExceptionCode::ServerDeviceBusy => ErrorKind::SlaveDeviceBusy,
        ExceptionCode::Acknowledge => ErrorKind::Acknowledge,
        _ => ErrorKind::SlaveDeviceFailure,
    }
}
