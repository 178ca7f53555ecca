//! Result codes: every exported function returns one. Numbers are stable — a code once published keeps its
//! number and meaning — and grouped in ranges: 0 success, 1–99 the ABI itself, 100–199 IEC 104, 200–299
//! FIPA-ACL, 300–399 IEEE 2030.5, 400–499 Modbus/SunSpec, 500–599 TE, 600–699 NG. Details of a failure are in
//! [`crate::idea_last_error`].

use std::ffi::c_char;

/// What a call came to. `IDEA_RESULT_OK` (0) is success; every other value is a failure whose details are in
/// `idea_last_error`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdeaResult {
    /// Success.
    Ok = 0,
    /// A pointer that must not be null was null.
    NullPointer = 1,
    /// The output buffer is too small; the length it needs was written to the length output.
    BufferTooSmall = 2,
    /// Text that must be UTF-8 is not.
    InvalidUtf8 = 3,
    /// An argument is out of range or inconsistent with the others.
    InvalidArgument = 4,
    /// A panic inside the library was caught; the call had no effect that can be relied on.
    Panic = 5,
    /// A handle of another type, or one already freed, was passed.
    InvalidHandle = 6,
    /// The call is not allowed in the object's present state.
    WrongState = 7,
    /// The field or item asked for is absent (a parameter the message does not carry).
    NotFound = 8,
    /// IEC 104: the bytes are not a well-formed APDU or ASDU.
    Iec104Decode = 100,
    /// IEC 104: a value does not fit the frame or the ASDU parameters.
    Iec104Encode = 101,
    /// IEC 104: link or ASDU parameters break the standard's rules.
    Iec104Parameters = 102,
    /// IEC 104: the link has closed the connection; see the event for why.
    Iec104LinkClosed = 103,
    /// IEC 104: another failure.
    Iec104Other = 199,
    /// FIPA-ACL: the input does not follow the representation's grammar.
    FipaDecode = 200,
    /// FIPA-ACL: a size or nesting limit was exceeded.
    FipaLimit = 201,
    /// FIPA-ACL: a value cannot be represented in the chosen form.
    FipaInvalid = 202,
    /// FIPA-ACL: another failure.
    FipaOther = 299,
    /// IEEE 2030.5: the document is not well-formed XML, or exceeds a size or depth limit.
    Sep2Xml = 300,
    /// IEEE 2030.5: a value does not fit its schema type (a facet, a number out of range, bad hex).
    Sep2Value = 301,
    /// IEEE 2030.5: an element is missing, repeated or out of place for its resource.
    Sep2Structure = 302,
    /// IEEE 2030.5: the root element is not a resource this library reads.
    Sep2UnknownResource = 303,
    /// IEEE 2030.5: another failure.
    Sep2Other = 399,
    /// Modbus: the bytes are not a well-formed frame.
    ModbusDecode = 400,
    /// Modbus: the frame is not all there yet; `idea_modbus_tcp_frame_length` says how much is needed.
    ModbusIncomplete = 401,
    /// Modbus/SunSpec: a value cannot be encoded or does not fit (a quantity, a point's type, a read-only point).
    ModbusInvalid = 402,
    /// SunSpec: a model definition is malformed, or registers do not fit their model.
    SunspecModel = 403,
    /// Modbus/SunSpec: another failure.
    ModbusOther = 499,
    /// TE: the bytes are not a well-formed signed object.
    TeDecode = 500,
    /// TE: a signature does not verify.
    TeBadSignature = 501,
    /// TE: the signatures are not from those who must sign, in their order.
    TeWrongSigners = 502,
    /// TE: the object was made for another deployment.
    TeWrongDomain = 503,
    /// TE: no key was given for a signer (or its key version).
    TeUnknownKey = 504,
    /// TE: a key or a value is not acceptable (a weak key, a token whose id is not its own, a negative register).
    TeInvalid = 505,
    /// TE: a signed object of a kind this ABI does not read.
    TeUnsupportedKind = 506,
    /// TE: another failure.
    TeOther = 599,
    /// NG: a case file is not in the MATPOWER format (the line is in `idea_last_error`).
    NgCaseSyntax = 600,
    /// NG: a case's data cannot be solved as given (no or several reference buses, an island, a bad value).
    NgCaseData = 601,
    /// NG: the power flow did not converge, or its Jacobian was singular.
    NgNotConverged = 602,
    /// NG: the chosen method cannot solve this case (the sweep on a meshed network).
    NgUnsupported = 603,
    /// NG: another failure.
    NgOther = 699,
}

/// Every code, for the name table and its test.
pub(crate) const ALL: [IdeaResult; 41] = [
    IdeaResult::Ok,
    IdeaResult::NullPointer,
    IdeaResult::BufferTooSmall,
    IdeaResult::InvalidUtf8,
    IdeaResult::InvalidArgument,
    IdeaResult::Panic,
    IdeaResult::InvalidHandle,
    IdeaResult::WrongState,
    IdeaResult::NotFound,
    IdeaResult::Iec104Decode,
    IdeaResult::Iec104Encode,
    IdeaResult::Iec104Parameters,
    IdeaResult::Iec104LinkClosed,
    IdeaResult::Iec104Other,
    IdeaResult::FipaDecode,
    IdeaResult::FipaLimit,
    IdeaResult::FipaInvalid,
    IdeaResult::FipaOther,
    IdeaResult::Sep2Xml,
    IdeaResult::Sep2Value,
    IdeaResult::Sep2Structure,
    IdeaResult::Sep2UnknownResource,
    IdeaResult::Sep2Other,
    IdeaResult::ModbusDecode,
    IdeaResult::ModbusIncomplete,
    IdeaResult::ModbusInvalid,
    IdeaResult::SunspecModel,
    IdeaResult::ModbusOther,
    IdeaResult::TeDecode,
    IdeaResult::TeBadSignature,
    IdeaResult::TeWrongSigners,
    IdeaResult::TeWrongDomain,
    IdeaResult::TeUnknownKey,
    IdeaResult::TeInvalid,
    IdeaResult::TeUnsupportedKind,
    IdeaResult::TeOther,
    IdeaResult::NgCaseSyntax,
    IdeaResult::NgCaseData,
    IdeaResult::NgNotConverged,
    IdeaResult::NgUnsupported,
    IdeaResult::NgOther,
];

impl IdeaResult {
    /// The code's name as the header spells it, NUL-terminated.
    pub(crate) fn name(self) -> &'static std::ffi::CStr {
        match self {
            IdeaResult::Ok => c"IDEA_RESULT_OK",
            IdeaResult::NullPointer => c"IDEA_RESULT_NULL_POINTER",
            IdeaResult::BufferTooSmall => c"IDEA_RESULT_BUFFER_TOO_SMALL",
            IdeaResult::InvalidUtf8 => c"IDEA_RESULT_INVALID_UTF8",
            IdeaResult::InvalidArgument => c"IDEA_RESULT_INVALID_ARGUMENT",
            IdeaResult::Panic => c"IDEA_RESULT_PANIC",
            IdeaResult::InvalidHandle => c"IDEA_RESULT_INVALID_HANDLE",
            IdeaResult::WrongState => c"IDEA_RESULT_WRONG_STATE",
            IdeaResult::NotFound => c"IDEA_RESULT_NOT_FOUND",
            IdeaResult::Iec104Decode => c"IDEA_RESULT_IEC104_DECODE",
            IdeaResult::Iec104Encode => c"IDEA_RESULT_IEC104_ENCODE",
            IdeaResult::Iec104Parameters => c"IDEA_RESULT_IEC104_PARAMETERS",
            IdeaResult::Iec104LinkClosed => c"IDEA_RESULT_IEC104_LINK_CLOSED",
            IdeaResult::Iec104Other => c"IDEA_RESULT_IEC104_OTHER",
            IdeaResult::FipaDecode => c"IDEA_RESULT_FIPA_DECODE",
            IdeaResult::FipaLimit => c"IDEA_RESULT_FIPA_LIMIT",
            IdeaResult::FipaInvalid => c"IDEA_RESULT_FIPA_INVALID",
            IdeaResult::FipaOther => c"IDEA_RESULT_FIPA_OTHER",
            IdeaResult::Sep2Xml => c"IDEA_RESULT_SEP2_XML",
            IdeaResult::Sep2Value => c"IDEA_RESULT_SEP2_VALUE",
            IdeaResult::Sep2Structure => c"IDEA_RESULT_SEP2_STRUCTURE",
            IdeaResult::Sep2UnknownResource => c"IDEA_RESULT_SEP2_UNKNOWN_RESOURCE",
            IdeaResult::Sep2Other => c"IDEA_RESULT_SEP2_OTHER",
            IdeaResult::ModbusDecode => c"IDEA_RESULT_MODBUS_DECODE",
            IdeaResult::ModbusIncomplete => c"IDEA_RESULT_MODBUS_INCOMPLETE",
            IdeaResult::ModbusInvalid => c"IDEA_RESULT_MODBUS_INVALID",
            IdeaResult::SunspecModel => c"IDEA_RESULT_SUNSPEC_MODEL",
            IdeaResult::ModbusOther => c"IDEA_RESULT_MODBUS_OTHER",
            IdeaResult::TeDecode => c"IDEA_RESULT_TE_DECODE",
            IdeaResult::TeBadSignature => c"IDEA_RESULT_TE_BAD_SIGNATURE",
            IdeaResult::TeWrongSigners => c"IDEA_RESULT_TE_WRONG_SIGNERS",
            IdeaResult::TeWrongDomain => c"IDEA_RESULT_TE_WRONG_DOMAIN",
            IdeaResult::TeUnknownKey => c"IDEA_RESULT_TE_UNKNOWN_KEY",
            IdeaResult::TeInvalid => c"IDEA_RESULT_TE_INVALID",
            IdeaResult::TeUnsupportedKind => c"IDEA_RESULT_TE_UNSUPPORTED_KIND",
            IdeaResult::TeOther => c"IDEA_RESULT_TE_OTHER",
            IdeaResult::NgCaseSyntax => c"IDEA_RESULT_NG_CASE_SYNTAX",
            IdeaResult::NgCaseData => c"IDEA_RESULT_NG_CASE_DATA",
            IdeaResult::NgNotConverged => c"IDEA_RESULT_NG_NOT_CONVERGED",
            IdeaResult::NgUnsupported => c"IDEA_RESULT_NG_UNSUPPORTED",
            IdeaResult::NgOther => c"IDEA_RESULT_NG_OTHER",
        }
    }
}

/// The name of a result code (`"IDEA_RESULT_BUFFER_TOO_SMALL"`), for logs; `"IDEA_RESULT_UNKNOWN"` for a number
/// that is not a code.
///
/// Ownership: the string is static; do not free it. Thread safety: any thread, any time.
#[unsafe(no_mangle)]
pub extern "C" fn idea_result_name(result: u32) -> *const c_char {
    ALL.iter()
        .find(|r| **r as u32 == result)
        .map_or(c"IDEA_RESULT_UNKNOWN", |r| r.name())
        .as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_its_own_number_and_a_name_spelt_from_its_variant() {
        let mut numbers: Vec<u32> = ALL.iter().map(|r| *r as u32).collect();
        numbers.sort_unstable();
        numbers.dedup();
        assert_eq!(numbers.len(), ALL.len());
        for r in ALL {
            let name = r.name().to_str().unwrap();
            let variant = format!("{r:?}");
            let screaming: String = variant
                .chars()
                .enumerate()
                .flat_map(|(i, c)| {
                    let sep = (i > 0 && c.is_ascii_uppercase()).then_some('_');
                    sep.into_iter()
                        .chain(std::iter::once(c.to_ascii_uppercase()))
                })
                .collect();
            assert_eq!(name, format!("IDEA_RESULT_{screaming}"), "{r:?}");
        }
    }

    #[test]
    fn an_unknown_number_has_the_unknown_name() {
        // SAFETY: idea_result_name returns a static NUL-terminated string.
        let name = unsafe { std::ffi::CStr::from_ptr(idea_result_name(98)) };
        assert_eq!(name, c"IDEA_RESULT_UNKNOWN");
    }
}
