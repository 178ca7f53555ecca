//! Running out of file descriptors on purpose, for the tests that servers survive EMFILE
//! (`#[path = "../../test-support/fd_limit.rs"] mod fd_limit;`). Lowers this process's soft `RLIMIT_NOFILE`
//! with util-linux's `prlimit` (no unsafe code here) and restores it when dropped. Use it in a test binary
//! of its own: the limit is the whole process's.

#![allow(
    clippy::arithmetic_side_effects,
    clippy::expect_used,
    clippy::panic,
    dead_code
)]

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

/// Runs this process out of file descriptors while a server listens at `address`: the soft limit is lowered
/// to a few above what is open, clients connect until no descriptor is left on either side, the server gets
/// time to fail its accepts (EMFILE), then the clients close and the limit is restored.
pub(crate) fn run_out_while_serving(address: std::net::SocketAddr) {
    let _lowered = LoweredNofile::to(open_now() + 24);
    let mut held = Vec::new();
    while let Ok(stream) = std::net::TcpStream::connect(address) {
        held.push(stream);
        assert!(held.len() < 100, "the limit did not take");
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
}

/// Sends `request` on a new connection to `address` until the first `expected.len()` octets of the answer
/// are `expected`, for at most five seconds (the accept back-off is at most one second); panics otherwise.
pub(crate) fn answers_again(address: std::net::SocketAddr, request: &[u8], expected: &[u8]) {
    use std::io::{Read, Write};
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let answer = std::net::TcpStream::connect(address)
            .ok()
            .and_then(|mut s| {
                s.set_read_timeout(Some(std::time::Duration::from_secs(2)))
                    .ok()?;
                s.write_all(request).ok()?;
                let mut answer = vec![0u8; expected.len()];
                s.read_exact(&mut answer).ok()?;
                Some(answer)
            });
        if answer.as_deref() == Some(expected) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the server no longer serves"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
