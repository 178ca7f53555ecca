//! Inputs and outputs through raw pointers: byte slices and NUL-terminated text in, bytes and text out through
//! the caller's buffer with a required-length query, and single values out.

use crate::IdeaResult;
use crate::error::FfiError;
use std::ffi::{CStr, c_char};

/// The bytes at `ptr`; a null `ptr` is an empty input when `len` is 0.
///
/// # Safety
/// `ptr` is null or valid for `len` bytes of reading for `'a`.
pub(crate) unsafe fn bytes_in<'a>(
    ptr: *const u8,
    len: usize,
    name: &str,
) -> Result<&'a [u8], FfiError> {
    if ptr.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(FfiError::null(name))
        };
    }
    // SAFETY: non-null and, by the caller's guarantee, valid for `len` bytes.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// The UTF-8 text of a NUL-terminated string.
///
/// # Safety
/// `ptr` is null or points to a NUL-terminated string that stays valid for `'a`.
pub(crate) unsafe fn text_in<'a>(ptr: *const c_char, name: &str) -> Result<&'a str, FfiError> {
    if ptr.is_null() {
        return Err(FfiError::null(name));
    }
    // SAFETY: non-null and NUL-terminated by the caller's guarantee.
    let raw = unsafe { CStr::from_ptr(ptr) };
    raw.to_str().map_err(|e| {
        FfiError::new(
            IdeaResult::InvalidUtf8,
            format!("{name} is not UTF-8 (byte {})", e.valid_up_to()),
        )
    })
}

/// Writes `value` through `out`.
///
/// # Safety
/// `out` is null or valid for writing a `T`.
pub(crate) unsafe fn value_out<T>(out: *mut T, value: T, name: &str) -> Result<(), FfiError> {
    if out.is_null() {
        return Err(FfiError::null(name));
    }
    // SAFETY: non-null and valid for writing by the caller's guarantee.
    unsafe { out.write(value) };
    Ok(())
}

/// Copies `data` into the caller's buffer: `*out_len` always receives `data.len()`; nothing is written and
/// `IDEA_RESULT_BUFFER_TOO_SMALL` returned unless `cap >= data.len()`. A null `buf` asks only the length.
///
/// # Safety
/// `buf` is null or valid for `cap` bytes of writing; `out_len` is null or valid for writing.
pub(crate) unsafe fn write_bytes(
    data: &[u8],
    buf: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> Result<(), FfiError> {
    // SAFETY: passed on from the caller.
    unsafe { value_out(out_len, data.len(), "out_len") }?;
    if buf.is_null() || cap < data.len() {
        return Err(FfiError::new(
            IdeaResult::BufferTooSmall,
            format!("{} bytes are needed, the buffer has {cap}", data.len()),
        ));
    }
    // SAFETY: `buf` is valid for `cap >= data.len()` bytes and cannot overlap `data`, which Rust owns.
    unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), buf, data.len()) };
    Ok(())
}

/// Copies `text` and a NUL into the caller's buffer: `*out_len` always receives the length without the NUL;
/// nothing is written unless `cap > text.len()`.
///
/// # Safety
/// As [`write_bytes`].
pub(crate) unsafe fn write_text(
    text: &str,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> Result<(), FfiError> {
    // SAFETY: passed on from the caller.
    unsafe { value_out(out_len, text.len(), "out_len") }?;
    if buf.is_null() || cap <= text.len() {
        return Err(FfiError::new(
            IdeaResult::BufferTooSmall,
            format!(
                "{} bytes are needed (with the NUL), the buffer has {cap}",
                text.len().saturating_add(1)
            ),
        ));
    }
    let buf = buf.cast::<u8>();
    // SAFETY: `buf` is valid for `cap > text.len()` bytes; the text is Rust's and cannot overlap it.
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr(), buf, text.len());
        buf.add(text.len()).write(0);
    }
    Ok(())
}
