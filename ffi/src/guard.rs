//! The wrapper around every exported function's body: a panic is caught and becomes `IDEA_RESULT_PANIC`, a
//! failure is recorded as the thread's last error, and the code is returned.

use crate::IdeaResult;
use crate::error::{FfiError, set_last_error};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Runs `body`, turning its outcome (or its panic) into a result code.
pub(crate) fn guard(body: impl FnOnce() -> Result<(), FfiError>) -> IdeaResult {
    // The body only reaches the caller's objects through the handles it was given; after a panic the handle
    // may hold a half-made change, which is why the code says the call's effect cannot be relied on.
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => IdeaResult::Ok,
        Ok(Err(error)) => {
            let code = error.code;
            set_last_error(error);
            code
        }
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_owned());
            set_last_error(FfiError::new(
                IdeaResult::Panic,
                format!("panic inside the library: {what}"),
            ));
            IdeaResult::Panic
        }
    }
}

/// Panics inside the ABI, so a test can show the panic is caught and reported as `IDEA_RESULT_PANIC` with its
/// message. Built only with the `test-hooks` feature.
///
/// Thread safety: any thread.
#[cfg(feature = "test-hooks")]
#[unsafe(no_mangle)]
pub extern "C" fn idea_test_panic() -> IdeaResult {
    #[allow(clippy::panic)]
    guard(|| panic!("forced by idea_test_panic"))
}
