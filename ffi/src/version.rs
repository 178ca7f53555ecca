//! The library's version and the version of its ABI.

use std::ffi::c_char;

/// The ABI version this header describes. It grows by one whenever a function, type or code is changed or
/// removed in a way an already-compiled caller would notice; additions keep it.
pub const IDEA_ABI_VERSION: u32 = 1;

/// The library's version (`"0.1.0"`), NUL-terminated.
///
/// Ownership: static; do not free. Thread safety: any thread, any time.
#[unsafe(no_mangle)]
pub extern "C" fn idea_version() -> *const c_char {
    const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    VERSION.as_ptr().cast()
}

/// The ABI version of the library actually linked: compare it with `IDEA_ABI_VERSION` from the header at
/// start-up, and refuse to run on a difference.
///
/// Thread safety: any thread, any time.
#[unsafe(no_mangle)]
pub extern "C" fn idea_abi_version() -> u32 {
    IDEA_ABI_VERSION
}
