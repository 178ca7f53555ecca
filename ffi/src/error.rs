//! The failure of one call (a code and a message), and the thread-local last error C reads with
//! [`idea_last_error`].

use crate::IdeaResult;
use crate::buffer::write_text;
use std::cell::RefCell;
use std::ffi::c_char;

/// A failed call: the code it returns and the message kept for `idea_last_error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FfiError {
    pub(crate) code: IdeaResult,
    pub(crate) message: String,
}

impl FfiError {
    pub(crate) fn new(code: IdeaResult, message: impl Into<String>) -> FfiError {
        FfiError {
            code,
            message: message.into(),
        }
    }

    pub(crate) fn null(argument: &str) -> FfiError {
        FfiError::new(
            IdeaResult::NullPointer,
            format!("{argument} is a null pointer"),
        )
    }

    pub(crate) fn invalid(message: impl Into<String>) -> FfiError {
        FfiError::new(IdeaResult::InvalidArgument, message)
    }
}

impl From<iec104::Error> for FfiError {
    fn from(e: iec104::Error) -> FfiError {
        let code = match &e {
            iec104::Error::Decode { .. } => IdeaResult::Iec104Decode,
            iec104::Error::Encode { .. } => IdeaResult::Iec104Encode,
            iec104::Error::Parameters(_) => IdeaResult::Iec104Parameters,
            _ => IdeaResult::Iec104Other,
        };
        FfiError::new(code, format!("IEC 104: {e}"))
    }
}

impl From<fipa_acl::Error> for FfiError {
    fn from(e: fipa_acl::Error) -> FfiError {
        let code = match &e {
            fipa_acl::Error::Decode { .. } | fipa_acl::Error::MissingValue { .. } => {
                IdeaResult::FipaDecode
            }
            fipa_acl::Error::Limit { .. } => IdeaResult::FipaLimit,
            fipa_acl::Error::Invalid { .. } => IdeaResult::FipaInvalid,
            _ => IdeaResult::FipaOther,
        };
        FfiError::new(code, format!("FIPA-ACL: {e}"))
    }
}

impl From<modbus_profiles::Error> for FfiError {
    fn from(e: modbus_profiles::Error) -> FfiError {
        let code = match &e {
            modbus_profiles::Error::Decode { .. } => IdeaResult::ModbusDecode,
            modbus_profiles::Error::Incomplete { .. } => IdeaResult::ModbusIncomplete,
            modbus_profiles::Error::Invalid { .. } => IdeaResult::ModbusInvalid,
            modbus_profiles::Error::Model { .. } => IdeaResult::SunspecModel,
            _ => IdeaResult::ModbusOther,
        };
        FfiError::new(code, format!("Modbus/SunSpec: {e}"))
    }
}

impl From<te_contract::Error> for FfiError {
    fn from(e: te_contract::Error) -> FfiError {
        use te_contract::Error as E;
        let code = match &e {
            E::Decode { .. } => IdeaResult::TeDecode,
            E::BadSignature { .. } => IdeaResult::TeBadSignature,
            E::WrongSigners { .. } => IdeaResult::TeWrongSigners,
            E::WrongDomain { .. } => IdeaResult::TeWrongDomain,
            E::UnknownAvatar(_) | E::KeyNotValid { .. } => IdeaResult::TeUnknownKey,
            E::InvalidKey(_) | E::Invalid { .. } | E::Overflow(_) | E::Proto(_) => {
                IdeaResult::TeInvalid
            }
            _ => IdeaResult::TeOther,
        };
        FfiError::new(code, format!("TE: {e}"))
    }
}

impl From<ng_control::Error> for FfiError {
    fn from(e: ng_control::Error) -> FfiError {
        use ng_control::Error as E;
        let code = match &e {
            E::CaseSyntax { .. } => IdeaResult::NgCaseSyntax,
            E::CaseData(_) | E::NoSlack | E::SeveralSlacks(_) | E::Island(_) => {
                IdeaResult::NgCaseData
            }
            E::NotConverged { .. } | E::Singular { .. } => IdeaResult::NgNotConverged,
            E::Unsupported { .. } => IdeaResult::NgUnsupported,
            _ => IdeaResult::NgOther,
        };
        FfiError::new(code, format!("NG: {e}"))
    }
}

impl From<ieee2030_5::Error> for FfiError {
    fn from(e: ieee2030_5::Error) -> FfiError {
        use ieee2030_5::Error as E;
        let code = match &e {
            E::Xml { .. } | E::Limit { .. } => IdeaResult::Sep2Xml,
            E::Value { .. } => IdeaResult::Sep2Value,
            E::Structure { .. } => IdeaResult::Sep2Structure,
            E::UnknownResource { .. } => IdeaResult::Sep2UnknownResource,
            _ => IdeaResult::Sep2Other,
        };
        FfiError::new(code, format!("IEEE 2030.5: {e}"))
    }
}

thread_local! {
    static LAST_ERROR: RefCell<Option<FfiError>> = const { RefCell::new(None) };
}

pub(crate) fn set_last_error(error: FfiError) {
    LAST_ERROR.with(|last| *last.borrow_mut() = Some(error));
}

/// The message of the last call on this thread that failed (NUL-terminated, UTF-8), with the offset and field
/// of a decode error; an empty string when no call on this thread has failed. A successful call leaves it as it
/// was.
///
/// `*out_len` always receives the message's length without the NUL; the call fails with
/// `IDEA_RESULT_BUFFER_TOO_SMALL` (writing nothing) unless `cap > *out_len`. `buf` may be null to ask the length.
///
/// Ownership: writes into the caller's buffer. Thread safety: each thread has its own last error.
///
/// # Safety
/// `buf` is null or valid for `cap` bytes of writing; `out_len` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_last_error(
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> IdeaResult {
    let message = LAST_ERROR.with(|last| {
        last.borrow()
            .as_ref()
            .map(|e| e.message.clone())
            .unwrap_or_default()
    });
    // Reading the last error must not replace it, so this call reports its own failure only by its code.
    // SAFETY: the caller's guarantees are passed on.
    match unsafe { write_text(&message, buf, cap, out_len) } {
        Ok(()) => IdeaResult::Ok,
        Err(e) => e.code,
    }
}
