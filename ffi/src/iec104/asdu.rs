//! ASDUs (IEC 60870-5-101 clause 7, as IEC 104 clause 5 carries them) as handles: read through
//! [`IdeaIec104AsduHeader`] and per-object, per-element views, or built object by object for encoding.

use super::element::{IdeaIec104Element, kind_number};
use crate::IdeaResult;
use crate::buffer::{value_out, write_bytes};
use crate::error::FfiError;
use crate::guard::guard;
use crate::handle::{borrow, borrow_mut, free_handle, new_handle, opaque};
use iec104::{Asdu, Cot, InformationObject, Objects, type_info};
use std::ffi::c_char;

/// An ASDU: decoded from an APDU, delivered by a link, or built with `idea_iec104_asdu_new`. Free it with
/// `idea_iec104_asdu_free`. Not safe to use from two threads at once; may move between threads.
pub struct IdeaIec104Asdu {
    _private: [u8; 0],
}

opaque!(IdeaIec104Asdu, Asdu, 0x4944_4541_3130_3441);

/// Most objects in one ASDU: the variable structure qualifier counts to 127.
const MAX_OBJECTS: usize = 127;

/// Cause of transmission (IEC 60870-5-101 clause 7.2.3).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct IdeaIec104Cot {
    /// Cause, 0–63 (3 spontaneous, 6 activation, 7 activation confirmation, 20 interrogated by station, 44–47
    /// unknown type/cause/common address/object address).
    pub cause: u8,
    /// The P/N bit: a negative confirmation.
    pub negative: bool,
    /// The test bit.
    pub test: bool,
    /// Originator address (with a two-octet COT; 0 when absent).
    pub originator: u8,
}

/// What an ASDU's data unit identifier says, and how many objects it holds.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct IdeaIec104AsduHeader {
    /// Type identification (13 is `M_ME_NC_1`); `idea_iec104_type_name` names it.
    pub type_id: u8,
    /// The SQ bit: one address, consecutive objects.
    pub sq: bool,
    /// The number of objects (or elements with SQ) as sent, 0–127.
    pub count: u8,
    /// Cause of transmission.
    pub cot: IdeaIec104Cot,
    /// Common address of the ASDU (0xFFFF is global).
    pub common_address: u16,
    /// Information objects readable with `idea_iec104_asdu_object` (0 for a type this library does not know).
    pub object_count: usize,
    /// Whether the type is unknown to this library: its octets after the header are read with
    /// `idea_iec104_asdu_raw`.
    pub raw: bool,
}

/// A new, empty ASDU of a known type, for `idea_iec104_asdu_push_object` and encoding.
///
/// Ownership: `*out` is a new handle the caller frees with `idea_iec104_asdu_free`. Thread safety: any thread.
///
/// # Safety
/// `cot` is valid for reading; `out` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_iec104_asdu_new(
    type_id: u8,
    cot: *const IdeaIec104Cot,
    common_address: u16,
    out: *mut *mut IdeaIec104Asdu,
) -> IdeaResult {
    guard(|| {
        // SAFETY: null or valid by the caller's guarantee.
        let cot = unsafe { cot.as_ref() }.ok_or_else(|| FfiError::null("cot"))?;
        if type_info(type_id).is_none() {
            return Err(FfiError::invalid(format!(
                "type {type_id} is not a type this library encodes"
            )));
        }
        if cot.cause > 63 {
            return Err(FfiError::invalid(format!("cause {} exceeds 63", cot.cause)));
        }
        let asdu = Asdu {
            type_id,
            sq: false,
            count: 0,
            cot: Cot {
                cause: cot.cause,
                negative: cot.negative,
                test: cot.test,
                originator: cot.originator,
            },
            common_address,
            objects: Objects::Known(Vec::new()),
        };
        // SAFETY: the caller's guarantee.
        unsafe { new_handle(out, asdu) }
    })
}

/// Appends an information object: its address and its elements, which must be the type's elements in order
/// (for `M_ME_NC_1`: R32 then QDS).
///
/// Thread safety: not with other calls on the same ASDU.
///
/// # Safety
/// `asdu` is a live handle; `elements` is valid for reading `count` elements (or null with `count` 0).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_iec104_asdu_push_object(
    asdu: *mut IdeaIec104Asdu,
    ioa: u32,
    elements: *const IdeaIec104Element,
    count: usize,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let handle = unsafe { borrow_mut(asdu) }?;
        let views: &[IdeaIec104Element] = if elements.is_null() {
            if count != 0 {
                return Err(FfiError::null("elements"));
            }
            &[]
        } else {
            // SAFETY: valid for `count` elements by the caller's guarantee.
            unsafe { std::slice::from_raw_parts(elements, count) }
        };
        let layout = type_info(handle.type_id)
            .map(|t| t.elements)
            .unwrap_or_default();
        if views.len() != layout.len() {
            return Err(FfiError::invalid(format!(
                "type {} has {} elements per object, {} were given",
                handle.type_id,
                layout.len(),
                views.len()
            )));
        }
        let mut decoded = Vec::with_capacity(views.len());
        for (i, (view, kind)) in views.iter().zip(layout).enumerate() {
            if view.kind != kind_number(*kind) {
                return Err(FfiError::invalid(format!(
                    "element {i} of type {} must be {kind:?}, kind {} was given",
                    handle.type_id, view.kind
                )));
            }
            decoded.push(view.to_element()?);
        }
        if ioa > 0x00FF_FFFF {
            return Err(FfiError::invalid(format!(
                "address {ioa} exceeds three octets"
            )));
        }
        let Objects::Known(objects) = &mut handle.objects else {
            return Err(FfiError::new(
                IdeaResult::WrongState,
                "objects cannot be added to an ASDU of an unknown type",
            ));
        };
        if objects.len() >= MAX_OBJECTS {
            return Err(FfiError::invalid("an ASDU holds at most 127 objects"));
        }
        objects.push(InformationObject {
            ioa,
            elements: decoded,
        });
        handle.count = u8::try_from(objects.len()).unwrap_or(u8::MAX);
        Ok(())
    })
}

/// The ASDU's header and object count.
///
/// Thread safety: any thread, while no other call changes the ASDU.
///
/// # Safety
/// `asdu` is a live handle; `out` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_iec104_asdu_header(
    asdu: *const IdeaIec104Asdu,
    out: *mut IdeaIec104AsduHeader,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let a = unsafe { borrow(asdu) }?;
        let (object_count, raw) = match &a.objects {
            Objects::Known(objects) => (objects.len(), false),
            Objects::Raw(_) => (0, true),
        };
        let header = IdeaIec104AsduHeader {
            type_id: a.type_id,
            sq: a.sq,
            count: a.count,
            cot: IdeaIec104Cot {
                cause: a.cot.cause,
                negative: a.cot.negative,
                test: a.cot.test,
                originator: a.cot.originator,
            },
            common_address: a.common_address,
            object_count,
            raw,
        };
        // SAFETY: the caller's guarantee.
        unsafe { value_out(out, header, "out") }
    })
}

fn object(a: &Asdu, index: usize) -> Result<&InformationObject, FfiError> {
    match &a.objects {
        Objects::Known(objects) => objects.get(index).ok_or_else(|| {
            FfiError::invalid(format!(
                "object {index} of {}: index out of range",
                objects.len()
            ))
        }),
        Objects::Raw(_) => Err(FfiError::new(
            IdeaResult::WrongState,
            "an ASDU of an unknown type has no objects; read it with idea_iec104_asdu_raw",
        )),
    }
}

/// Object `index` (from 0 to `object_count` − 1): its information object address and how many elements it has.
///
/// Thread safety: any thread, while no other call changes the ASDU.
///
/// # Safety
/// `asdu` is a live handle; `out_ioa` and `out_element_count` are valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_iec104_asdu_object(
    asdu: *const IdeaIec104Asdu,
    index: usize,
    out_ioa: *mut u32,
    out_element_count: *mut usize,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let o = object(unsafe { borrow(asdu) }?, index)?;
        // SAFETY: the caller's guarantee.
        unsafe {
            value_out(out_ioa, o.ioa, "out_ioa")?;
            value_out(out_element_count, o.elements.len(), "out_element_count")
        }
    })
}

/// Element `element_index` (from 0) of object `object_index`.
///
/// Thread safety: any thread, while no other call changes the ASDU.
///
/// # Safety
/// `asdu` is a live handle; `out` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_iec104_asdu_element(
    asdu: *const IdeaIec104Asdu,
    object_index: usize,
    element_index: usize,
    out: *mut IdeaIec104Element,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let o = object(unsafe { borrow(asdu) }?, object_index)?;
        let e = o.elements.get(element_index).ok_or_else(|| {
            FfiError::invalid(format!(
                "element {element_index} of {}: index out of range",
                o.elements.len()
            ))
        })?;
        // SAFETY: the caller's guarantee.
        unsafe { value_out(out, IdeaIec104Element::from_element(e), "out") }
    })
}

/// The octets after the header of an ASDU whose type this library does not know (file transfer, private
/// types), copied into `buf`; `*out_len` always receives their length.
///
/// Thread safety: any thread, while no other call changes the ASDU.
///
/// # Safety
/// `asdu` is a live handle; `buf` is null or valid for `cap` bytes; `out_len` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_iec104_asdu_raw(
    asdu: *const IdeaIec104Asdu,
    buf: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let a = unsafe { borrow(asdu) }?;
        let Objects::Raw(octets) = &a.objects else {
            return Err(FfiError::new(
                IdeaResult::WrongState,
                "the ASDU's type is known; read its objects",
            ));
        };
        // SAFETY: the caller's guarantee.
        unsafe { write_bytes(octets, buf, cap, out_len) }
    })
}

/// Frees the ASDU in `*asdu` and sets `*asdu` to null; a null `asdu` or `*asdu` does nothing, so freeing the
/// same variable twice is harmless.
///
/// Ownership: the handle is released; any other copy of its pointer dangles. Thread safety: not while
/// another call uses the handle.
///
/// # Safety
/// `asdu` is null or valid for reading and writing a pointer that is null or a live ASDU handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_iec104_asdu_free(asdu: *mut *mut IdeaIec104Asdu) -> IdeaResult {
    // SAFETY: the caller's guarantee.
    guard(|| unsafe { free_handle(asdu) })
}

/// The name of a type identification (`"M_ME_NC_1"` for 13), NUL-terminated; null for a type this library does
/// not know.
///
/// Ownership: static; do not free. Thread safety: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn idea_iec104_type_name(type_id: u8) -> *const c_char {
    TYPE_NAMES
        .iter()
        .find(|(id, _)| *id == type_id)
        .map_or(std::ptr::null(), |(_, name)| name.as_ptr())
}

/// NUL-terminated names of the types `iec104` knows, built once.
static TYPE_NAMES: std::sync::LazyLock<Vec<(u8, std::ffi::CString)>> =
    std::sync::LazyLock::new(|| {
        iec104::TYPES
            .iter()
            .filter_map(|t| Some((t.id, std::ffi::CString::new(t.name).ok()?)))
            .collect()
    });
