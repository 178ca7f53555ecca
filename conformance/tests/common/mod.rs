//! Helpers shared by the tests that run the `idea` binary.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// Runs the `idea` binary with `args`; returns whether it succeeded, its stdout and its stderr.
pub(crate) fn idea(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_idea"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A served process, killed when dropped.
pub(crate) struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `idea serve NAME` on a free port; returns the process and the address, once it listens.
pub(crate) fn serve(name: &str, extra: &[&str]) -> (Served, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("127.0.0.1:{port}");
    let (served, line) = spawn(&[&["serve", name, "--listen", &address], extra].concat());
    assert!(line.contains("serving"), "{line}");
    (served, address)
}

/// Starts the `idea` binary with `args`; returns the process and the first line it wrote to stderr.
pub(crate) fn spawn(args: &[&str]) -> (Served, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_idea"))
        .args(args)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (Served(child), line)
}
