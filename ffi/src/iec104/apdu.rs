//! APDUs (IEC 60870-5-104 clause 5): decoded into a frame view and an ASDU handle; encoded from a frame kind,
//! sequence numbers and an ASDU handle.

use super::asdu::IdeaIec104Asdu;
use super::{IdeaIec104AsduParams, asdu_params};
use crate::IdeaResult;
use crate::buffer::{bytes_in, value_out, write_bytes};
use crate::error::FfiError;
use crate::guard::guard;
use crate::handle::{borrow, new_handle};
use iec104::{Apdu, UFunction};

/// The most octets one APDU takes on the wire (start, length, 253): a buffer this large always suffices.
pub const IDEA_IEC104_MAX_APDU: usize = 255;

/// The format of an APDU's control field.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdeaIec104FrameKind {
    /// Information transfer (I format): sequence numbers and an ASDU.
    I = 0,
    /// Numbered supervisory (S format): an acknowledgement.
    S = 1,
    /// Unnumbered control (U format): STARTDT, STOPDT, TESTFR.
    U = 2,
}

/// U-format functions; the numbers are the first control octet.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdeaIec104UFunction {
    /// No U function (an I or S frame).
    None = 0,
    /// STARTDT act.
    StartDtAct = 0x07,
    /// STARTDT con.
    StartDtCon = 0x0b,
    /// STOPDT act.
    StopDtAct = 0x13,
    /// STOPDT con.
    StopDtCon = 0x23,
    /// TESTFR act.
    TestFrAct = 0x43,
    /// TESTFR con.
    TestFrCon = 0x83,
}

const FUNCTIONS: [UFunction; 6] = [
    UFunction::StartDtAct,
    UFunction::StartDtCon,
    UFunction::StopDtAct,
    UFunction::StopDtCon,
    UFunction::TestFrAct,
    UFunction::TestFrCon,
];

/// The U function whose first control octet is `number`.
pub(crate) fn u_function(number: u32) -> Result<UFunction, FfiError> {
    FUNCTIONS
        .into_iter()
        .find(|f| u32::from(f.octet()) == number)
        .ok_or_else(|| FfiError::invalid(format!("{number:#x} is not an IdeaIec104UFunction")))
}

/// The control field of an APDU.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct IdeaIec104ApduInfo {
    /// An `IdeaIec104FrameKind`.
    pub kind: u32,
    /// N(S), I frames only.
    pub ns: u16,
    /// N(R), I and S frames.
    pub nr: u16,
    /// An `IdeaIec104UFunction`, U frames only (else `IDEA_IEC104_U_FUNCTION_NONE`).
    pub u_function: u32,
}

impl IdeaIec104ApduInfo {
    pub(crate) fn of(apdu: &Apdu) -> IdeaIec104ApduInfo {
        match apdu {
            Apdu::I { ns, nr, .. } => IdeaIec104ApduInfo {
                kind: IdeaIec104FrameKind::I as u32,
                ns: *ns,
                nr: *nr,
                u_function: 0,
            },
            Apdu::S { nr } => IdeaIec104ApduInfo {
                kind: IdeaIec104FrameKind::S as u32,
                ns: 0,
                nr: *nr,
                u_function: 0,
            },
            Apdu::U(f) => IdeaIec104ApduInfo {
                kind: IdeaIec104FrameKind::U as u32,
                ns: 0,
                nr: 0,
                u_function: u32::from(f.octet()),
            },
        }
    }
}

/// How many octets the APDU at the front of `bytes` takes, read from its first two octets: 2 while fewer than
/// two have arrived (read at least that many, then ask again). For a reader that takes frames off a stream.
///
/// Thread safety: any thread.
///
/// # Safety
/// `bytes` is null or valid for `len` bytes; `out_needed` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_iec104_apdu_frame_length(
    bytes: *const u8,
    len: usize,
    out_needed: *mut usize,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let input = unsafe { bytes_in(bytes, len, "bytes") }?;
        let needed = frame_length(input)?;
        // SAFETY: the caller's guarantee.
        unsafe { value_out(out_needed, needed, "out_needed") }
    })
}

/// The length of the frame at the front of `input` (2 until the length octet is there).
pub(crate) fn frame_length(input: &[u8]) -> Result<usize, FfiError> {
    match input {
        [] => Ok(2),
        [start, ..] if *start != iec104::START => Err(iec104::Error::Decode {
            offset: 0,
            field: "start",
            reason: format!("0x{start:02x} is not 0x68"),
        }
        .into()),
        [_] => Ok(2),
        [_, length, ..] => {
            let length = usize::from(*length);
            if (4..=iec104::MAX_LENGTH).contains(&length) {
                Ok(length.saturating_add(2))
            } else {
                Err(iec104::Error::Decode {
                    offset: 1,
                    field: "length",
                    reason: format!("{length} is not within 4..=253"),
                }
                .into())
            }
        }
    }
}

/// Decodes the APDU at the front of `bytes` (IEC 104 clause 5): its control field into `*out_info`, the octets
/// it took into `*out_used`, and for an I frame its ASDU into `*out_asdu` (a new handle; null for S and U
/// frames). `params` null means IEC 104's field sizes. Malformed input gives `IDEA_RESULT_IEC104_DECODE` with
/// the offset and field in `idea_last_error`.
///
/// Ownership: `*out_asdu`, when not null, is the caller's to free with `idea_iec104_asdu_free`. Thread safety:
/// any thread.
///
/// # Safety
/// `bytes` is null or valid for `len` bytes; `params` is null or valid; the outputs are valid for writing
/// (`out_asdu` may be null when the caller does not want the ASDU).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_iec104_apdu_decode(
    bytes: *const u8,
    len: usize,
    params: *const IdeaIec104AsduParams,
    out_info: *mut IdeaIec104ApduInfo,
    out_asdu: *mut *mut IdeaIec104Asdu,
    out_used: *mut usize,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let input = unsafe { bytes_in(bytes, len, "bytes") }?;
        // SAFETY: the caller's guarantee.
        let params = unsafe { asdu_params(params) }?;
        if out_info.is_null() {
            return Err(FfiError::null("out_info"));
        }
        if out_used.is_null() {
            return Err(FfiError::null("out_used"));
        }
        let (apdu, used) = Apdu::decode(input, &params)?;
        // SAFETY: checked non-null above; valid by the caller's guarantee.
        unsafe {
            value_out(out_info, IdeaIec104ApduInfo::of(&apdu), "out_info")?;
            value_out(out_used, used, "out_used")?;
        }
        if !out_asdu.is_null() {
            match apdu {
                // SAFETY: the caller's guarantee.
                Apdu::I { asdu, .. } => unsafe { new_handle(out_asdu, asdu) }?,
                // SAFETY: the caller's guarantee.
                _ => unsafe { out_asdu.write(std::ptr::null_mut()) },
            }
        }
        Ok(())
    })
}

/// Encodes `apdu` into the caller's buffer.
///
/// # Safety
/// As `write_bytes`.
unsafe fn encode_into(
    apdu: &Apdu,
    params: &iec104::AsduParams,
    buf: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> Result<(), FfiError> {
    let mut wire = Vec::with_capacity(IDEA_IEC104_MAX_APDU);
    apdu.encode(params, &mut wire)?;
    // SAFETY: passed on from the caller.
    unsafe { write_bytes(&wire, buf, cap, out_len) }
}

fn sequence(n: u16, name: &str) -> Result<u16, FfiError> {
    if n < iec104::SEQUENCE_MODULUS {
        Ok(n)
    } else {
        Err(FfiError::invalid(format!("{name} = {n} exceeds 32767")))
    }
}

/// Encodes an I frame carrying `asdu` with N(S) `ns` and N(R) `nr` (0–32767). `params` null means IEC 104's
/// field sizes. `*out_len` always receives the frame's length; `IDEA_RESULT_BUFFER_TOO_SMALL` unless `cap` holds
/// it (`IDEA_IEC104_MAX_APDU` always does).
///
/// Thread safety: any thread, while no other call changes the ASDU.
///
/// # Safety
/// `asdu` is a live handle; `params` is null or valid; `buf` is null or valid for `cap` bytes; `out_len` is valid
/// for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_iec104_apdu_encode_i(
    ns: u16,
    nr: u16,
    asdu: *const IdeaIec104Asdu,
    params: *const IdeaIec104AsduParams,
    buf: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let asdu = unsafe { borrow(asdu) }?.clone();
        // SAFETY: the caller's guarantee.
        let params = unsafe { asdu_params(params) }?;
        let apdu = Apdu::I {
            ns: sequence(ns, "N(S)")?,
            nr: sequence(nr, "N(R)")?,
            asdu,
        };
        // SAFETY: the caller's guarantee.
        unsafe { encode_into(&apdu, &params, buf, cap, out_len) }
    })
}

/// Encodes an S frame acknowledging up to N(R) `nr` (0–32767); six octets.
///
/// Thread safety: any thread.
///
/// # Safety
/// `buf` is null or valid for `cap` bytes; `out_len` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_iec104_apdu_encode_s(
    nr: u16,
    buf: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> IdeaResult {
    guard(|| {
        let apdu = Apdu::S {
            nr: sequence(nr, "N(R)")?,
        };
        // SAFETY: the caller's guarantee.
        unsafe { encode_into(&apdu, &iec104::AsduParams::IEC104, buf, cap, out_len) }
    })
}

/// Encodes a U frame with `function` (an `IdeaIec104UFunction` other than `NONE`); six octets.
///
/// Thread safety: any thread.
///
/// # Safety
/// `buf` is null or valid for `cap` bytes; `out_len` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_iec104_apdu_encode_u(
    function: u32,
    buf: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> IdeaResult {
    guard(|| {
        let apdu = Apdu::U(u_function(function)?);
        // SAFETY: the caller's guarantee.
        unsafe { encode_into(&apdu, &iec104::AsduParams::IEC104, buf, cap, out_len) }
    })
}
