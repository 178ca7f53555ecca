//! The CSIP-AUS server harness (`cactus-client`, pinned in `interop/requirements.txt`) against `idea serve
//! sep2-server`: every test procedure it has, each against a fresh server over mutual TLS, its preconditions
//! prepared by our admin plugin (`interop/cactus/plugin`) through the server's operator API, its
//! subscriptions notified through the harness's own notification helper. Procedures run concurrently.
//!
//! Every procedure must pass; the 72-hour simulation must pass every step it reaches before it is stopped.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects
)]
#![allow(missing_docs)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The 72-hour simulation (a client posting readings and reading controls every minute): run for this long
/// (beside the longest other procedure, so it costs no time), every step it reached must have passed, and
/// at least [`SIMULATION_ROUNDS`] of its one-minute rounds.
const SIMULATION: &str = "S-ALL-50";
const SIMULATION_SECONDS: u64 = 300;
const SIMULATION_ROUNDS: usize = 4;

/// Procedures run at once (each is a harness process and a server; most wait on poll timers).
const CONCURRENT: usize = 12;
/// A procedure that takes longer fails.
const PROCEDURE_TIMEOUT_SECONDS: u64 = 1500;

/// Where the harness runs: `$IDEA_CACTUS_ROOT` (`/`, or the Debian root `cargo xtask` made) and the
/// interpreter inside it.
struct Harness {
    root: PathBuf,
    python: PathBuf,
}

impl Harness {
    fn from_env() -> Option<Harness> {
        match (
            std::env::var_os("IDEA_CACTUS_ROOT"),
            std::env::var_os("IDEA_CACTUS_PYTHON"),
        ) {
            (Some(root), Some(python)) => Some(Harness {
                root: root.into(),
                python: python.into(),
            }),
            _ if std::env::var_os("IDEA_SKIP_INTEROP").is_some_and(|v| v == "1") => {
                eprintln!("SKIPPED: the CSIP-AUS harness (IDEA_SKIP_INTEROP=1)");
                None
            }
            _ => panic!(
                "IDEA_CACTUS_ROOT and IDEA_CACTUS_PYTHON are not set: run `cargo xtask test`, or set IDEA_SKIP_INTEROP=1"
            ),
        }
    }

    fn chrooted(&self) -> bool {
        self.root != Path::new("/")
    }

    /// `inside` (absolute, within the root) as seen from here.
    fn outside(&self, inside: &Path) -> PathBuf {
        self.root.join(inside.strip_prefix("/").unwrap_or(inside))
    }

    /// A command running `program` (a path inside the root) there.
    fn command(&self, program: &Path) -> Command {
        if self.chrooted() {
            let mut cmd = Command::new("chroot");
            cmd.arg(&self.root).arg(program);
            cmd
        } else {
            Command::new(program)
        }
    }

    fn cactus(&self) -> PathBuf {
        self.python.with_file_name("cactus")
    }
}

fn wait_for_port(port: u16, within: Duration) {
    let deadline = Instant::now() + within;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "nothing listens on {port} after {within:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn certs() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../interop/cactus/certs")
}

/// A harness client: its name in the configuration, type, and certificate files.
struct ClientCert {
    id: &'static str,
    kind: &'static str,
}

const CLIENTS: [ClientCert; 4] = [
    ClientCert {
        id: "device1",
        kind: "device",
    },
    ClientCert {
        id: "device2",
        kind: "device",
    },
    ClientCert {
        id: "aggregator1",
        kind: "aggregator",
    },
    ClientCert {
        id: "aggregator2",
        kind: "aggregator",
    },
];

/// The harness's configuration for a server at `port`, its files in `dir` (a path inside the root).
fn configuration(dir: &Path, port: u16, notifications: u16) -> String {
    use ieee2030_5::identity::sfdi;
    use ieee2030_5::net::tls::Identity;
    let mut yaml = format!(
        "output_dir: {out}\nserver:\n  device_capability_uri: https://127.0.0.1:{port}/dcap\n  verify_ssl: true\n  verify_host_name: true\n  serca_pem_file: {dir}/ca.pem\n  notification_uri: http://127.0.0.1:{notifications}/\n  pen: 37244\nclients:\n",
        out = dir.join("out").display(),
        dir = dir.display(),
    );
    for client in &CLIENTS {
        let read = |ext: &str| std::fs::read(certs().join(format!("{}.{ext}", client.id))).unwrap();
        let lfdi = Identity::from_pem(&read("pem"), &read("key"))
            .unwrap()
            .lfdi();
        yaml.push_str(&format!(
            "  - id: {id}\n    type: {kind}\n    certificate_file: {dir}/{id}.pem\n    key_file: {dir}/{id}.key\n    lfdi: {lfdi}\n    sfdi: {sfdi}\n    pen: 37244\n    pin: 111115\n    max_watts: 5000\n",
            id = client.id,
            kind = client.kind,
            dir = dir.display(),
            sfdi = sfdi(&lfdi),
        ));
    }
    yaml
}

/// The procedures the installed harness has, with the client types each needs (`any`, `device`,
/// `aggregator`), in order.
fn procedures(harness: &Harness) -> Vec<(String, Vec<String>)> {
    let script = "from cactus_test_definitions.server.test_procedures import get_all_test_procedures as a\n\
        for i, p in a().items():\n    print(i, *[str(c.client_type or 'any') for c in p.preconditions.required_clients])";
    let out = harness
        .command(&harness.python)
        .args(["-c", script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace().map(str::to_owned);
            Some((words.next()?, words.collect()))
        })
        .collect()
}

/// The configured clients for a procedure's required client types.
fn clients_for(types: &[String]) -> Vec<&'static str> {
    let (mut devices, mut aggregators) = (
        ["device1", "device2"].into_iter(),
        ["aggregator1", "aggregator2"].into_iter(),
    );
    types
        .iter()
        .map(|t| {
            if t == "aggregator" {
                aggregators.next().unwrap()
            } else {
                devices.next().unwrap()
            }
        })
        .collect()
}

/// What became of one procedure.
#[derive(Debug)]
struct Outcome {
    id: String,
    passed: bool,
    /// The harness's summary lines of failure (or, for the simulation, how far it came).
    detail: String,
    seconds: u64,
}

/// Runs procedure `id` against a fresh server; the working files in `work` (inside the root).
fn run_procedure(
    harness: &Harness,
    work: &Path,
    id: &str,
    types: &[String],
    notifications: u16,
) -> Outcome {
    let started = Instant::now();
    let dir = work.join(id);
    let here = harness.outside(&dir);
    std::fs::create_dir_all(here.join("out")).unwrap();
    for client in ["ca", "device1", "device2", "aggregator1", "aggregator2"] {
        for ext in ["pem", "key"] {
            let from = certs().join(format!("{client}.{ext}"));
            if from.exists() {
                std::fs::copy(&from, here.join(format!("{client}.{ext}"))).unwrap();
            }
        }
    }
    let path = |name: &str| certs().join(name).display().to_string();
    let (server, address, first) = common::serve_logged(
        "sep2-server",
        &[
            "--cert",
            &path("server.pem"),
            "--key",
            &path("server.key"),
            "--client-ca",
            &path("ca.pem"),
            "--empty",
            "--in-band",
            "--operator-api",
            "127.0.0.1:0",
        ],
    );
    let operator = first
        .split("operator interface on http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .map(|host| format!("http://{host}"))
        .unwrap_or_else(|| panic!("no operator interface in {first}"));
    let port: u16 = address.rsplit(':').next().unwrap().parse().unwrap();
    std::fs::write(
        here.join(".cactus.yaml"),
        configuration(&dir, port, notifications),
    )
    .unwrap();
    let simulation = id == SIMULATION;
    let timeout = if simulation {
        SIMULATION_SECONDS
    } else {
        PROCEDURE_TIMEOUT_SECONDS
    };
    let config = dir.join(".cactus.yaml");
    let out = harness
        .command(&harness.cactus())
        .arg("run")
        .arg(id)
        .args(clients_for(types))
        .args(["--headless", "--timeout", &timeout.to_string(), "-c"])
        .arg(&config)
        .env("IDEA_OPERATOR_API", &operator)
        .env("COLUMNS", "200")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    drop(server);
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(here.join("harness.log"), &log).unwrap();
    let failures: Vec<&str> = log
        .lines()
        .filter(|l| {
            l.contains("marked as failed")
                || l.contains("Exception raised during action/check")
                || l.contains("Check Failure")
        })
        .collect();
    let (passed, detail) = if simulation {
        // Stopped by its timeout: the steps it reached passed, and its rounds went on.
        let rounds = log
            .lines()
            .filter(|l| {
                l.contains("Simulate Client") && l.contains("Success with all checks passing")
            })
            .count();
        (
            failures.is_empty() && rounds >= SIMULATION_ROUNDS,
            format!(
                "{rounds} one-minute rounds passed before the stop; failures: {}",
                failures.join(" | ")
            ),
        )
    } else {
        (
            out.status.success(),
            failures
                .iter()
                .rev()
                .take(2)
                .map(|l| l.split(" - ").skip(1).collect::<Vec<_>>().join(" - "))
                .collect::<Vec<_>>()
                .join(" | "),
        )
    };
    Outcome {
        id: id.to_owned(),
        passed,
        detail,
        seconds: started.elapsed().as_secs(),
    }
}

#[test]
fn every_csip_aus_server_procedure_passes_against_idea_serve_sep2_server() {
    let Some(harness) = Harness::from_env() else {
        return;
    };
    let work = PathBuf::from(format!("/tmp/idea-csip-aus-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(harness.outside(&work));
    std::fs::create_dir_all(harness.outside(&work)).unwrap();
    // The harness's notification helper: our server POSTs notifications to it; the harness collects them.
    let notifications: u16 = common::free_address()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap();
    let _helper = common::Served::from(
        harness
            .command(&harness.python)
            .args(["-m", "cactus_client_notifications.server.main"])
            .env("APP_PORT", notifications.to_string())
            .env("SERVER_URL", format!("http://127.0.0.1:{notifications}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for_port(notifications, Duration::from_secs(60));

    let mut all = procedures(&harness);
    assert!(
        all.len() >= 61,
        "the harness lists {} procedures",
        all.len()
    );
    // IDEA_CACTUS_ONLY=S-ALL-41,S-ALL-46 runs only these (while working on them); CI runs every one.
    let only = std::env::var("IDEA_CACTUS_ONLY").unwrap_or_default();
    if !only.is_empty() {
        all.retain(|(id, _)| only.split(',').any(|o| o.trim() == id));
    }
    let queue = Arc::new(Mutex::new(all.into_iter()));
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let harness = Arc::new(harness);
    std::thread::scope(|scope| {
        for _ in 0..CONCURRENT {
            let (queue, outcomes, harness, work) = (
                Arc::clone(&queue),
                Arc::clone(&outcomes),
                Arc::clone(&harness),
                work.clone(),
            );
            scope.spawn(move || {
                loop {
                    let next = queue.lock().unwrap().next();
                    let Some((id, types)) = next else { break };
                    let outcome = run_procedure(&harness, &work, &id, &types, notifications);
                    outcomes.lock().unwrap().push(outcome);
                }
            });
        }
    });
    let mut outcomes = std::mem::take(&mut *outcomes.lock().unwrap());
    outcomes.sort_by(|a, b| a.id.cmp(&b.id));
    let mut wrong = Vec::new();
    for o in &outcomes {
        let verdict = if o.passed { "pass" } else { "FAIL" };
        if !o.passed {
            wrong.push(format!("{}: {}", o.id, o.detail));
        }
        let detail = if o.passed && o.id != SIMULATION {
            ""
        } else {
            o.detail.as_str()
        };
        eprintln!("{:<9} {verdict:<5} {:>4} s  {detail}", o.id, o.seconds);
    }
    let passed = outcomes.iter().filter(|o| o.passed).count();
    eprintln!(
        "CSIP-AUS harness: {passed} of {} procedures pass",
        outcomes.len()
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    let _ = std::fs::remove_dir_all(harness.outside(&work));
}
