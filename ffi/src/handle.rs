//! Typed opaque handles. C holds a pointer to an opaque type (`IdeaIec104Asdu`, …); behind it is a boxed
//! [`Tagged`] value whose first field is its type's tag, checked on every use, so a handle of another type (or
//! one whose memory was reused) is refused with `IDEA_RESULT_INVALID_HANDLE` instead of being read as the
//! wrong thing. Handles are freed through a pointer to the caller's variable, which is set to null: freeing
//! the same variable twice does nothing.

use crate::IdeaResult;
use crate::error::FfiError;

/// What a handle points to: the tag, at offset 0 in every handle type, then the value.
#[repr(C)]
struct Tagged<T> {
    tag: u64,
    value: T,
}

/// An opaque type C holds a pointer to, and the Rust value behind it.
pub(crate) trait Handle {
    /// The Rust value.
    type Inner;
    /// The name C knows the type by, for messages.
    const NAME: &'static str;
    /// The tag every live value of this type carries.
    const TAG: u64;
}

/// Boxes `value` and writes the handle through `out`.
///
/// # Safety
/// `out` is null or valid for writing a pointer.
pub(crate) unsafe fn new_handle<H: Handle>(
    out: *mut *mut H,
    value: H::Inner,
) -> Result<(), FfiError> {
    if out.is_null() {
        return Err(FfiError::null("the handle output"));
    }
    let boxed = Box::new(Tagged { tag: H::TAG, value });
    // SAFETY: non-null and valid for writing by the caller's guarantee.
    unsafe { out.write(Box::into_raw(boxed).cast::<H>()) };
    Ok(())
}

/// The tagged value behind `ptr`, after checking it is non-null and of type `H`.
///
/// # Safety
/// `ptr` is null or a handle made by this library and not freed.
unsafe fn tagged<H: Handle>(ptr: *const H) -> Result<*mut Tagged<H::Inner>, FfiError> {
    if ptr.is_null() {
        return Err(FfiError::null(H::NAME));
    }
    // SAFETY: every handle this library makes points to a `Tagged`, whose tag is a u64 at offset 0.
    let tag = unsafe { ptr.cast::<u64>().read() };
    if tag != H::TAG {
        return Err(FfiError::new(
            IdeaResult::InvalidHandle,
            format!("not a live {}", H::NAME),
        ));
    }
    Ok(ptr.cast::<Tagged<H::Inner>>().cast_mut())
}

/// The value behind a handle, shared.
///
/// # Safety
/// `ptr` is null or a handle made by this library and not freed, not used mutably elsewhere meanwhile.
pub(crate) unsafe fn borrow<'a, H: Handle>(ptr: *const H) -> Result<&'a H::Inner, FfiError> {
    // SAFETY: the caller's guarantee; `tagged` checked the type.
    Ok(unsafe { &(*tagged(ptr)?).value })
}

/// The value behind a handle, exclusively.
///
/// # Safety
/// `ptr` is null or a handle made by this library and not freed, not used elsewhere meanwhile.
pub(crate) unsafe fn borrow_mut<'a, H: Handle>(ptr: *mut H) -> Result<&'a mut H::Inner, FfiError> {
    // SAFETY: the caller's guarantee; `tagged` checked the type.
    Ok(unsafe { &mut (*tagged(ptr)?).value })
}

/// Frees the handle in `*slot` and sets `*slot` to null; a null `slot` or `*slot` does nothing.
///
/// # Safety
/// `slot` is null or valid for reading and writing a pointer, which is null or a live handle of this type.
pub(crate) unsafe fn free_handle<H: Handle>(slot: *mut *mut H) -> Result<(), FfiError> {
    if slot.is_null() {
        return Ok(());
    }
    // SAFETY: valid for reading by the caller's guarantee.
    let ptr = unsafe { slot.read() };
    if ptr.is_null() {
        return Ok(());
    }
    // SAFETY: the caller's guarantee; the tag is checked.
    let tagged = unsafe { tagged(ptr) }?;
    // SAFETY: made by Box::into_raw in `new_handle` and, by its tag, not yet freed.
    let mut boxed = unsafe { Box::from_raw(tagged) };
    boxed.tag = 0;
    drop(boxed);
    // SAFETY: valid for writing by the caller's guarantee.
    unsafe { slot.write(std::ptr::null_mut()) };
    Ok(())
}

/// Makes a declared opaque type a handle over a Rust value: `opaque!(Name, Inner, TAG);`. The type itself is
/// written out where it is declared (`pub struct Name { _private: [u8; 0] }`), so cbindgen sees it.
macro_rules! opaque {
    ($name:ident, $inner:ty, $tag:expr) => {
        impl $crate::handle::Handle for $name {
            type Inner = $inner;
            const NAME: &'static str = stringify!($name);
            const TAG: u64 = $tag;
        }
    };
}
pub(crate) use opaque;
