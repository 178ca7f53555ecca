//! Running out of file descriptors on purpose, for the tests that servers survive EMFILE
//! (`#[path = "../../test-support/fd_limit.rs"] mod fd_limit;`). Lowers this process's soft `RLIMIT_NOFILE`
//! with util-linux's `prlimit` (no unsafe code here) and restores it when dropped. Use it in a test binary
//! of its own: the limit is the whole process's.

use std::process::Command;

/// The soft limit lowered until this is dropped.
pub(crate) struct LoweredNofile {
    previous: String,
}

fn prlimit(value: &str) {
    let status = Command::new("prlimit")
        .arg(format!("--pid={}", std::process::id()))
        .arg(format!("--nofile={value}"))
        .status()
        .expect("prlimit (util-linux) must be installed");
    assert!(status.success(), "prlimit --nofile={value} failed");
}

/// This process's current soft and hard `RLIMIT_NOFILE`, from /proc.
fn current() -> (String, String) {
    let limits = std::fs::read_to_string("/proc/self/limits").expect("/proc/self/limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("a Max open files line");
    let mut fields = line.split_whitespace().skip(3);
    (
        fields.next().unwrap_or("1024").to_owned(),
        fields.next().unwrap_or("1024").to_owned(),
    )
}

/// How many file descriptors this process has open now.
pub(crate) fn open_now() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

impl LoweredNofile {
    /// Lowers the soft limit to `soft` (keeping the hard one).
    pub(crate) fn to(soft: usize) -> LoweredNofile {
        let (previous, _) = current();
        prlimit(&format!("{soft}:"));
        LoweredNofile { previous }
    }
}

impl Drop for LoweredNofile {
    fn drop(&mut self) {
        prlimit(&format!("{}:", self.previous));
    }
}
