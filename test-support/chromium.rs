//! Headless Chromium for the tests that look at a page as a person would (`#[path =
//! "../../test-support/chromium.rs"] mod chromium;`): Debian's `chromium`, which `.ci/run` installs, with the
//! flags this machine's closed network needs.

#![allow(clippy::panic, clippy::unwrap_used, dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The browser. Without it the test fails, unless `IDEA_SKIP_BROWSER=1` asks to skip, visibly (`what` names
/// what is skipped).
pub(crate) fn chromium(what: &str) -> Option<PathBuf> {
    let path = PathBuf::from("/usr/bin/chromium");
    if path.exists() {
        return Some(path);
    }
    if std::env::var_os("IDEA_SKIP_BROWSER").is_some_and(|v| v == "1") {
        eprintln!("SKIPPED: {what} in a browser (IDEA_SKIP_BROWSER=1)");
        return None;
    }
    panic!(
        "/usr/bin/chromium is missing: `.ci/run` installs it (Debian's chromium), or set IDEA_SKIP_BROWSER=1"
    );
}

/// Runs `browser` headless with its profile in `profile` and `args` (`--dump-dom URL`, `--screenshot=…`),
/// giving the page's scripts `budget_ms` of virtual time.
pub(crate) fn headless(
    browser: &Path,
    profile: &Path,
    budget_ms: u32,
    args: &[&str],
) -> std::process::Output {
    Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--virtual-time-budget={budget_ms}"))
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .unwrap()
}
