//! IEC 60870-5-104 from C: ASDUs as handles read through C struct views and built object by object
//! ([`asdu`]), APDUs decoded and encoded ([`apdu`]), and the link layer (clause 5) driven from C with bytes
//! and explicit time ([`link`]).

pub mod apdu;
pub mod asdu;
pub mod element;
pub mod link;

use crate::error::FfiError;
use iec104::AsduParams;

/// ASDU field sizes (IEC 60870-5-101 clause 7.1): cause of transmission 1|2, common address 1|2, information
/// object address 1|2|3 octets. IEC 104 uses 2, 2, 3; wherever a pointer to this struct may be null, null means
/// those.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct IdeaIec104AsduParams {
    /// Octets of the cause of transmission (1 or 2).
    pub cot_size: u8,
    /// Octets of the common address (1 or 2).
    pub ca_size: u8,
    /// Octets of the information object address (1, 2 or 3).
    pub ioa_size: u8,
}

/// The parameters behind `ptr`, IEC 104's when it is null, checked.
///
/// # Safety
/// `ptr` is null or valid for reading.
pub(crate) unsafe fn asdu_params(ptr: *const IdeaIec104AsduParams) -> Result<AsduParams, FfiError> {
    // SAFETY: null or valid by the caller's guarantee.
    let Some(p) = (unsafe { ptr.as_ref() }) else {
        return Ok(AsduParams::IEC104);
    };
    let params = AsduParams {
        cot_size: p.cot_size,
        ca_size: p.ca_size,
        ioa_size: p.ioa_size,
    };
    params
        .validate()
        .map_err(|e| FfiError::new(crate::IdeaResult::Iec104Parameters, format!("IEC 104: {e}")))?;
    Ok(params)
}
