//! Modbus TCP frames from C (Modbus Messaging on TCP/IP Implementation Guide v1.0b §3.1.3; Modbus Application
//! Protocol v1.1b3 §6.3, 6.4, 6.12): the register requests a gateway sends and their answers, with an exception
//! answered by the device as a value, not an error. The caller owns the socket.

use crate::IdeaResult;
use crate::buffer::{bytes_in, value_out, write_bytes};
use crate::error::FfiError;
use crate::guard::guard;
use modbus_profiles::frame::{MbapHeader, Request, Response, TcpFrame};

/// The most octets one Modbus TCP frame takes (MBAP 7 + PDU 253): a buffer this large always suffices.
pub const IDEA_MODBUS_TCP_MAX_FRAME: usize = 260;

/// The most registers one read answers (function 3 or 4).
pub const IDEA_MODBUS_MAX_READ: usize = 125;

/// An answer to a register request, as `idea_modbus_tcp_response_decode` reads it.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct IdeaModbusResponse {
    /// The transaction id it answers.
    pub transaction: u16,
    /// The unit id.
    pub unit: u8,
    /// The function code (without the exception bit).
    pub function: u8,
    /// The exception code when the device refused (1 illegal function, 2 illegal data address, 3 illegal data
    /// value, 4 server device failure, 6 busy, …); 0 for a normal answer.
    pub exception: u8,
    /// For a write: the first register written (functions 6 and 16).
    pub address: u16,
    /// Registers read (copied to the caller's array) or written.
    pub count: u16,
}

/// How many octets the Modbus TCP frame at the front of `bytes` takes, from its MBAP header: 7 while the header
/// is not all there (read at least that many, then ask again). A protocol id other than 0 or a length outside
/// 2–254 is `IDEA_RESULT_MODBUS_DECODE`: close the connection.
///
/// Thread safety: any thread.
///
/// # Safety
/// `bytes` is null or valid for `len` bytes; `out_needed` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_modbus_tcp_frame_length(
    bytes: *const u8,
    len: usize,
    out_needed: *mut usize,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let input = unsafe { bytes_in(bytes, len, "bytes") }?;
        let needed = match input {
            [_, _, p0, p1, l0, l1, ..] => {
                if [*p0, *p1] != [0, 0] {
                    return Err(modbus_profiles::Error::Decode {
                        offset: 2,
                        field: "protocol id",
                        reason: format!("{} is not 0 (Modbus)", u16::from_be_bytes([*p0, *p1])),
                    }
                    .into());
                }
                let length = usize::from(u16::from_be_bytes([*l0, *l1]));
                if !(2..=254).contains(&length) {
                    return Err(modbus_profiles::Error::Decode {
                        offset: 4,
                        field: "length",
                        reason: format!("{length} is not within 2..=254"),
                    }
                    .into());
                }
                length.saturating_add(6)
            }
            _ => 7,
        };
        // SAFETY: the caller's guarantee.
        unsafe { value_out(out_needed, needed, "out_needed") }
    })
}

/// Encodes a read of `count` (1–125) registers from `address`: holding registers (function 3) or, with
/// `input_registers`, input registers (function 4).
///
/// Thread safety: any thread.
///
/// # Safety
/// `buf` is null or valid for `cap` bytes; `out_len` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_modbus_tcp_read_request(
    transaction: u16,
    unit: u8,
    input_registers: bool,
    address: u16,
    count: u16,
    buf: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> IdeaResult {
    guard(|| {
        if count == 0 || usize::from(count) > IDEA_MODBUS_MAX_READ {
            return Err(FfiError::new(
                IdeaResult::ModbusInvalid,
                format!("a read asks for 1 to 125 registers, not {count}"),
            ));
        }
        let pdu = if input_registers {
            Request::ReadInputRegisters { address, count }
        } else {
            Request::ReadHoldingRegisters { address, count }
        };
        let frame = TcpFrame {
            header: MbapHeader { transaction, unit },
            pdu,
        };
        let mut wire = Vec::with_capacity(12);
        frame.encode(&mut wire)?;
        // SAFETY: the caller's guarantee.
        unsafe { write_bytes(&wire, buf, cap, out_len) }
    })
}

/// Encodes a write of `count` (1–123) registers from `address` (function 16, Write Multiple Registers).
///
/// Thread safety: any thread.
///
/// # Safety
/// `values` is valid for `count` registers; `buf` is null or valid for `cap` bytes; `out_len` is valid for
/// writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_modbus_tcp_write_request(
    transaction: u16,
    unit: u8,
    address: u16,
    values: *const u16,
    count: usize,
    buf: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> IdeaResult {
    guard(|| {
        if values.is_null() {
            return Err(FfiError::null("values"));
        }
        // SAFETY: valid for `count` registers by the caller's guarantee.
        let values = unsafe { std::slice::from_raw_parts(values, count) }.to_vec();
        let frame = TcpFrame {
            header: MbapHeader { transaction, unit },
            pdu: Request::WriteMultipleRegisters { address, values },
        };
        let mut wire = Vec::with_capacity(IDEA_MODBUS_TCP_MAX_FRAME);
        frame.encode(&mut wire)?;
        // SAFETY: the caller's guarantee.
        unsafe { write_bytes(&wire, buf, cap, out_len) }
    })
}

/// Decodes the answer at the front of `bytes` to a register request: `*out` says what it is; the registers of
/// a read are copied into `registers` (room for `cap` of them; `IDEA_RESULT_BUFFER_TOO_SMALL` with the count in
/// `out->count` otherwise); an exception is `out->exception`, not a failure. `*out_used` receives the octets
/// taken. A frame not all there is `IDEA_RESULT_MODBUS_INCOMPLETE`; an answer of another function is
/// `IDEA_RESULT_MODBUS_INVALID`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `bytes` is null or valid for `len` bytes; `registers` is null or valid for `cap` registers; `out` and
/// `out_used` are valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_modbus_tcp_response_decode(
    bytes: *const u8,
    len: usize,
    out: *mut IdeaModbusResponse,
    registers: *mut u16,
    cap: usize,
    out_used: *mut usize,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let input = unsafe { bytes_in(bytes, len, "bytes") }?;
        if out.is_null() {
            return Err(FfiError::null("out"));
        }
        let (frame, used) = TcpFrame::<Response>::decode(input)?;
        let mut answer = IdeaModbusResponse {
            transaction: frame.header.transaction,
            unit: frame.header.unit,
            function: frame.pdu.function() & 0x7f,
            ..IdeaModbusResponse::default()
        };
        let mut read: &[u16] = &[];
        match &frame.pdu {
            Response::ReadHoldingRegisters(values) | Response::ReadInputRegisters(values) => {
                read = values;
                answer.count = u16::try_from(values.len()).unwrap_or(u16::MAX);
            }
            Response::WriteSingleRegister { address, .. } => {
                answer.address = *address;
                answer.count = 1;
            }
            Response::WriteMultipleRegisters { address, count } => {
                answer.address = *address;
                answer.count = *count;
            }
            Response::Exception { function, code } => {
                answer.function = *function;
                answer.exception = code.code();
            }
            other => {
                return Err(FfiError::new(
                    IdeaResult::ModbusInvalid,
                    format!(
                        "function {} is not a register read or write",
                        other.function()
                    ),
                ));
            }
        }
        // SAFETY: `out` checked non-null; the caller's guarantee.
        unsafe {
            out.write(answer);
            value_out(out_used, used, "out_used")?;
        }
        if read.len() > cap || (registers.is_null() && !read.is_empty()) {
            return Err(FfiError::new(
                IdeaResult::BufferTooSmall,
                format!("{} registers were read, the array holds {cap}", read.len()),
            ));
        }
        if !read.is_empty() {
            // SAFETY: `registers` is valid for `cap >= read.len()` registers by the caller's guarantee.
            unsafe { std::ptr::copy_nonoverlapping(read.as_ptr(), registers, read.len()) };
        }
        Ok(())
    })
}
