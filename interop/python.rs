//! The interpreter of the pinned interoperability peers, shared by every crate's interop tests
//! (`#[path = "../../interop/python.rs"] mod python;`).

use std::path::PathBuf;

/// The Python of `target/interop-venv` from `$IDEA_PYTHON` (set by `cargo xtask test`). Without it the
/// test fails, unless `IDEA_SKIP_INTEROP=1` asks to skip — then it says so visibly and `what` is skipped.
pub(crate) fn python(what: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("IDEA_PYTHON") {
        return Some(PathBuf::from(p));
    }
    if std::env::var_os("IDEA_SKIP_INTEROP").is_some_and(|v| v == "1") {
        eprintln!("SKIPPED: {what} (IDEA_SKIP_INTEROP=1)");
        return None;
    }
    panic!(
        "IDEA_PYTHON is not set: run `cargo xtask test`, or set IDEA_SKIP_INTEROP=1 to skip interop tests"
    );
}
