//! Helpers shared by the tests that run the `idea` binary.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing
)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// Runs the `idea` binary with `args`; returns whether it succeeded, its stdout and its stderr.
pub(crate) fn idea(args: &[&str]) -> (bool, String, String) {
    let (code, stdout, stderr) = idea_code(args);
    (code == Some(0), stdout, stderr)
}

/// A free address on 127.0.0.1 for a server to listen on.
pub(crate) fn free_address() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("127.0.0.1:{port}")
}

/// A served process, killed when dropped.
pub(crate) struct Served(Child);

impl From<Child> for Served {
    fn from(child: Child) -> Served {
        Served(child)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Where the calendar of a simulated device starts when a test does not say: a summer evening, no sun, the
/// demonstration complex's cells importing about 13 kW through the router. What a test sees of the microgrid
/// then does not depend on the hour it runs (around noon the cells export, the router in NG-R1 carries
/// nothing into their bus, and a hub forms the island instead of following its setpoint).
pub(crate) const EVENING: &str = "2026-06-21T20:00:00Z";

/// `idea serve NAME --listen ADDRESS` and `extra`, with `--start EVENING` for a device of the simulated
/// microgrid whose start `extra` does not give.
fn serve_args<'a>(name: &'a str, address: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["serve", name, "--listen", address];
    args.extend_from_slice(extra);
    let on_the_microgrid =
        name.starts_with("modbus-") || name.starts_with("iec104-") || name == "mqtt-devices";
    if on_the_microgrid && !extra.contains(&"--start") {
        args.extend_from_slice(&["--start", EVENING]);
    }
    args
}

/// Starts `idea serve NAME` on a free port; returns the process and the address, once it listens.
pub(crate) fn serve(name: &str, extra: &[&str]) -> (Served, String) {
    let address = free_address();
    let (served, line) = spawn(&serve_args(name, &address, extra));
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

/// A served process whose standard error is read line by line on a thread of its own.
pub(crate) struct Logged {
    /// The process, killed when dropped.
    pub(crate) served: Served,
    /// The lines written to standard error after the first.
    pub(crate) lines: std::sync::mpsc::Receiver<String>,
}

impl Logged {
    /// Waits up to `within` for a line containing `needle`; returns it.
    pub(crate) fn wait_for(&self, needle: &str, within: std::time::Duration) -> Option<String> {
        let deadline = std::time::Instant::now() + within;
        loop {
            let left = deadline.checked_duration_since(std::time::Instant::now())?;
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return Some(line),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    }
}

/// Starts `idea serve NAME` on a free port with its standard error kept; returns it, the address and the
/// start-up line.
pub(crate) fn serve_logged(name: &str, extra: &[&str]) -> (Logged, String, String) {
    let address = free_address();
    let mut child = Command::new(env!("CARGO_BIN_EXE_idea"))
        .args(serve_args(name, &address, extra))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    assert!(first.contains("serving"), "{first}");
    let (sender, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in reader.lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    (
        Logged {
            served: Served(child),
            lines,
        },
        address,
        first,
    )
}

/// Runs the `idea` binary with `args`; returns its exit code, stdout and stderr.
pub(crate) fn idea_code(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_idea"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// One HTTP/1.1 exchange with a bearer token (an operator's or owner's interface); the whole answer.
pub(crate) fn http(host: &str, method: &str, path: &str, token: &str, body: &str) -> String {
    use std::io::{Read, Write};
    let mut tcp = std::net::TcpStream::connect(host).unwrap();
    write!(
        tcp,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).unwrap();
    answer
}

/// A fresh scratch directory for a test (`idea-{prefix}-{name}-{pid}` under the temporary directory).
pub(crate) fn scratch_dir(prefix: &str, name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("idea-{prefix}-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `idea conform SUITE` against `target` with the PICS at `pics`, reports into `reports`; returns the
/// exit code, each case's verdict name from `report.json`, and what it printed.
pub(crate) fn conform_run(
    suite: &str,
    target: &str,
    pics: &std::path::Path,
    reports: &std::path::Path,
) -> (
    Option<i32>,
    std::collections::BTreeMap<String, String>,
    String,
) {
    conform_run_with(suite, target, pics, reports, &[])
}

/// [`conform_run`] with more arguments (`--only ID`, …).
pub(crate) fn conform_run_with(
    suite: &str,
    target: &str,
    pics: &std::path::Path,
    reports: &std::path::Path,
    more: &[&str],
) -> (
    Option<i32>,
    std::collections::BTreeMap<String, String>,
    String,
) {
    // The suites where the device connects to the runner take the address to listen at.
    let flag = if suite == "iec104-controlling" {
        "--listen"
    } else {
        "--target"
    };
    let mut args = vec![
        "conform",
        suite,
        flag,
        target,
        "--pics",
        pics.to_str().unwrap(),
        "--report-dir",
        reports.to_str().unwrap(),
    ];
    args.extend_from_slice(more);
    let (code, stdout, stderr) = idea_code(&args);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join("report.json")).unwrap())
            .unwrap();
    let verdicts = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_owned(),
                r["verdict"]["verdict"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (code, verdicts, format!("{stdout}\n{stderr}"))
}

/// Starts the pymodbus SunSpec server (`modbus-profiles/tests/peers/pymodbus_sunspec_server.py`) with
/// `python`; gives the process (killed when dropped), what it printed (its port and models) and its address,
/// once it takes connections.
pub(crate) fn pymodbus_sunspec_server(
    python: &std::path::Path,
) -> (Served, serde_json::Value, String) {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../modbus-profiles");
    let mut child = Command::new(python)
        .arg(root.join("tests/peers/pymodbus_sunspec_server.py"))
        .arg(root.join("models/sunspec"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let served: serde_json::Value = serde_json::from_str(&line).unwrap();
    let address = format!("127.0.0.1:{}", served["port"]);
    // The server binds after printing its port.
    for _ in 0..100 {
        if std::net::TcpStream::connect(&address).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    (Served(child), served, address)
}

/// The IEEE 2030.5 test identities (`ieee2030-5/tests/certs`) and a DER client holding the device's.
pub(crate) mod sep2 {
    use ieee2030_5::net::{ClientConfig, Connection, DerClient, RustlsConnector, tls};
    use ieee2030_5::scheduler::ModeSet;
    use std::path::PathBuf;
    use std::sync::Arc;

    pub(crate) fn certs() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ieee2030-5/tests/certs")
    }

    pub(crate) fn read(name: &str) -> Vec<u8> {
        std::fs::read(certs().join(name)).unwrap()
    }

    /// The LFDI of the test device's certificate.
    pub(crate) fn device_lfdi() -> ieee2030_5::primitives::HexBinary160 {
        tls::Identity::from_pem(&read("device.pem"), &read("device.key"))
            .unwrap()
            .lfdi()
    }

    /// Our DER client with the test device's certificate, for the server at `address`.
    pub(crate) fn der_client(address: String, pin: Option<u32>) -> DerClient {
        let device = tls::Identity::from_pem(&read("device.pem"), &read("device.key")).unwrap();
        let lfdi = device.lfdi();
        let config =
            tls::client_config(device, tls::trust_anchors(&read("ca.pem")).unwrap()).unwrap();
        let connector = RustlsConnector {
            address,
            server_name: "localhost".try_into().unwrap(),
            config: Arc::new(config),
        };
        DerClient::new(
            Connection::new(connector, "localhost"),
            ClientConfig {
                lfdi,
                pin,
                dcap: "/dcap".into(),
                server: "demo".into(),
                device_category: None,
                supported: ModeSet::all(),
                seed: 1,
            },
        )
    }
}
