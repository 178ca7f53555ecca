//! `idea serve mqtt-broker|directory|agent`: a deployment as processes. Two agents started from owner
//! settings register with the directory and find each other with no manual step (their event logs, JSON
//! lines on standard output, say so); options that belong to devices are refused.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use common::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Starts `idea` with `args`; returns the process, its first stderr line and its stdout lines.
fn start(args: &[&str]) -> (Served, String, std::sync::mpsc::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_idea"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (Served::from(child), first, rx)
}

fn wait_for(lines: &std::sync::mpsc::Receiver<String>, needle: &str) -> serde_json::Value {
    wait_for_within(lines, needle, 20)
}

/// [`wait_for`] for up to `secs` seconds.
fn wait_for_within(
    lines: &std::sync::mpsc::Receiver<String>,
    needle: &str,
    secs: u64,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut seen = Vec::new();
    loop {
        let left = deadline
            .checked_duration_since(Instant::now())
            .unwrap_or_default();
        let line = lines.recv_timeout(left).unwrap_or_else(|_| {
            panic!(
                "no event with {needle} in {secs} s; the events seen meanwhile:\n{}",
                seen.join("\n")
            )
        });
        if line.contains(needle) {
            return serde_json::from_str(&line).unwrap();
        }
        seen.push(line);
    }
}

/// Waits for an event line with each of `needles`, in whatever order they come; returns them in the order of
/// `needles`.
fn wait_for_all(
    lines: &std::sync::mpsc::Receiver<String>,
    needles: &[&str],
) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut found: Vec<Option<serde_json::Value>> = vec![None; needles.len()];
    while found.iter().any(Option::is_none) {
        let left = deadline
            .checked_duration_since(Instant::now())
            .unwrap_or_default();
        let line = lines
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("in 20 s, no event with each of {needles:?}: {found:?}"));
        for (needle, slot) in needles.iter().zip(found.iter_mut()) {
            if slot.is_none() && line.contains(needle) {
                *slot = Some(serde_json::from_str(&line).unwrap());
            }
        }
    }
    found.into_iter().map(Option::unwrap).collect()
}

/// A directory of files for one test, removed at its end.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("idea-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    /// Writes `text` to `name` there; returns the path.
    fn file(&self, name: &str, text: String) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    }

    /// The prosumer settings of `data/prosumer.toml` as cell `cell`.
    fn settings(&self, cell: &str) -> String {
        self.file(
            &format!("{cell}.toml"),
            include_str!("../../idea-agent/data/prosumer.toml")
                .replace("id = \"cell-1\"", &format!("id = \"{cell}\""))
                .replace(
                    "agent = \"agent-cell-1\"",
                    &format!("agent = \"agent-{cell}\""),
                ),
        )
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Starts a directory process on the broker at `address`; returns it and its `--directory` argument.
fn directory(scratch: &Scratch, address: &str) -> (Served, String) {
    let key = scratch.file("df.key", "5a".repeat(32));
    let (df, first, _) = start(&[
        "serve",
        "directory",
        "--broker",
        address,
        "--signing-key",
        &key,
    ]);
    assert!(first.contains("serving directory df@idea"), "{first}");
    let public = first
        .split("key ")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    (df, format!("df@idea={public}"))
}

/// The operator interface's host in a TE node's or service's start line.
fn operator_host(first: &str) -> String {
    first
        .split("operator interface on http://")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned()
}

/// The owner interface's host and path in an agent's start line.
fn owner_url(first: &str) -> (String, String) {
    let url = first
        .split("owner interface on http://")
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap();
    let (host, path) = url.split_once('/').unwrap();
    (host.to_owned(), format!("/{path}"))
}

#[test]
fn two_agents_started_from_settings_find_each_other_through_the_directory() {
    let scratch = Scratch::new("serve-agents");
    let a1_key = scratch.file("a1.key", "01".repeat(32));
    let a2_key = scratch.file("a2.key", format!("  {}\n", "02".repeat(32)));
    let cell1 = scratch.settings("cell-1");
    let cell2 = scratch.settings("cell-2");
    let address = free_address();
    let (_broker, first, _) = start(&["serve", "mqtt-broker", "--listen", &address]);
    assert!(first.contains("serving mqtt-broker"), "{first}");
    let (_df, directory) = directory(&scratch, &address);
    let token = scratch.file("owner.token", "s3cret\n".to_owned());
    let (_a1, first, a1) = start(&[
        "serve",
        "agent",
        "--owner-api",
        "127.0.0.1:0",
        "--owner-token",
        &token,
        "--broker",
        &address,
        "--signing-key",
        &a1_key,
        "--directory",
        &directory,
        "--settings",
        &cell1,
        "--stored-wh",
        "8000",
    ]);
    assert!(first.contains("serving agent cell-1@idea"), "{first}");
    assert_eq!(wait_for(&a1, "\"registered\"")["step"], "AUX-01");
    // The owner's interface (AG-08) on the address the start line names, behind the token.
    let (host, path) = owner_url(&first);
    let get = |token: &str| http(&host, "GET", &path, token, "");
    assert!(get("wrong").starts_with("HTTP/1.1 401"), "{}", get("wrong"));
    let answer = get("s3cret");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"agent\":\"cell-1@idea\""), "{answer}");
    let (a2_process, _, a2) = start(&[
        "serve",
        "agent",
        "--broker",
        &address,
        "--signing-key",
        &a2_key,
        "--directory",
        &directory,
        "--settings",
        &cell2,
        "--lease-s",
        "3",
    ]);
    let found = wait_for(&a2, "\"peer-found\"");
    assert_eq!(found["counterparty"], "cell-1@idea");
    assert_eq!(found["detail"], "cell-1 (prosumer)");
    let found = wait_for(&a1, "\"peer-found\"");
    assert_eq!(found["counterparty"], "cell-2@idea");
    // Cell 2's agent is killed (no deregistration): its 3 s lease runs out and cell 1 hears it left.
    drop(a2_process);
    let left = wait_for(&a1, "\"peer-left\"");
    assert_eq!(left["counterparty"], "cell-2@idea");
}

#[test]
fn service_and_device_options_do_not_mix_and_bad_keys_are_named() {
    let (code, _, err) = idea_code(&[
        "serve",
        "agent",
        "--broker",
        "127.0.0.1:1",
        "--fault",
        "silent",
    ]);
    assert_eq!(code, Some(2));
    assert!(err.contains("agent is not a simulated device"), "{err}");
    let (code, _, err) = idea_code(&[
        "serve",
        "modbus-meter",
        "--listen",
        "127.0.0.1:1",
        "--broker",
        "x:1",
    ]);
    assert_eq!(code, Some(2));
    assert!(err.contains("modbus-meter is a simulated device"), "{err}");
    let (code, _, err) = idea_code(&["serve", "directory", "--broker", "127.0.0.1:1"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("directory needs --signing-key FILE"), "{err}");
    let key = std::env::temp_dir().join(format!("idea-short-{}.key", std::process::id()));
    std::fs::write(&key, "abcd").unwrap();
    let (code, _, err) = idea_code(&[
        "serve",
        "directory",
        "--broker",
        "127.0.0.1:1",
        "--signing-key",
        key.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("a signing key is 32 bytes (64 hex digits), not 2"),
        "{err}"
    );
    let (code, _, err) = idea_code(&[
        "serve",
        "agent",
        "--broker",
        "127.0.0.1:1",
        "--directory",
        "df@idea=zz",
    ]);
    assert_eq!(code, Some(2));
    assert!(err.contains("df@idea's key"), "{err}");
    let (code, _, err) = idea_code(&[
        "serve",
        "directory",
        "--broker",
        "127.0.0.1:1",
        "--stored-wh",
        "5",
    ]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("directory does not take --settings, --stored-wh or --owner-api"),
        "{err}"
    );
    let (code, _, err) = idea_code(&[
        "serve",
        "agent",
        "--broker",
        "127.0.0.1:1",
        "--owner-api",
        "0.0.0.0:0",
    ]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("is not a loopback address: give --owner-token FILE"),
        "{err}"
    );
    let (code, _, err) = idea_code(&[
        "serve",
        "directory",
        "--broker",
        "127.0.0.1:1",
        "--ledger",
        "x.sqlite",
    ]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("directory does not take --ledger: it applies to te-node only"),
        "{err}"
    );
    let (code, _, err) = idea_code(&[
        "serve",
        "te-node",
        "--broker",
        "127.0.0.1:1",
        "--te-node",
        &format!(
            "te@idea={}",
            idea_proto::PublicKey::from(&idea_proto::SigningKey::from_bytes(&[1; 32]))
        ),
    ]);
    assert_eq!(code, Some(2));
    assert!(err.contains("te-node does not take --te-node"), "{err}");
    let good_key = std::env::temp_dir().join(format!("idea-good-{}.key", std::process::id()));
    std::fs::write(&good_key, "5c".repeat(32)).unwrap();
    let (code, _, err) = idea_code(&[
        "serve",
        "te-node",
        "--broker",
        "127.0.0.1:1",
        "--signing-key",
        good_key.to_str().unwrap(),
        "--deployment",
        "no spaces",
    ]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--deployment no spaces: "), "{err}");
    let _ = std::fs::remove_file(&good_key);
    let _ = std::fs::remove_file(&key);
}

/// The demonstration complex's devices on MQTT, the directory, the load-shedding service and cell 4's agent,
/// each a process: the owner asks through the agent's interface to shed load; the service, found through the
/// directory, opens the workshop's relay (its published state says so), then closes it on restore.
#[test]
fn an_owner_sheds_and_restores_load_through_processes_on_one_broker() {
    let scratch = Scratch::new("serve-shedding");
    let ls_key = scratch.file("ls.key", "5b".repeat(32));
    let a4_key = scratch.file("a4.key", "04".repeat(32));
    let token = scratch.file("owner.token", "t0ken".to_owned());
    let cell4 = scratch.settings("cell-4");
    let address = free_address();
    let (_devices, first, _) = start(&[
        "serve",
        "mqtt-devices",
        "--listen",
        &address,
        "--speed",
        "10",
    ]);
    assert!(first.contains("serving mqtt-devices"), "{first}");
    let (_df, directory) = directory(&scratch, &address);
    let (_ls, first, _) = start(&[
        "serve",
        "load-shedding",
        "--broker",
        &address,
        "--signing-key",
        &ls_key,
        "--directory",
        &directory,
    ]);
    assert!(
        first.contains("serving load-shedding load-shedding@idea"),
        "{first}"
    );
    assert!(first.contains("1 loads"), "{first}");
    let (_a4, first, events) = start(&[
        "serve",
        "agent",
        "--broker",
        &address,
        "--signing-key",
        &a4_key,
        "--directory",
        &directory,
        "--settings",
        &cell4,
        "--owner-api",
        "127.0.0.1:0",
        "--owner-token",
        &token,
    ]);
    let found = wait_for(&events, "\"service-offered\"");
    assert_eq!(found["counterparty"], "load-shedding@idea");
    let (host, path) = owner_url(&first);
    let path = format!("{path}/shedding");

    // The workshop's relay as the devices publish it.
    let relay = {
        let (host, port) = address.rsplit_once(':').unwrap();
        let mut options = rumqttc::MqttOptions::new("relay-watch", host, port.parse().unwrap());
        options.set_keep_alive(Duration::from_secs(10));
        let (client, mut connection) = rumqttc::Client::new(options, 16);
        client
            .subscribe(
                "idea/devices/cell4.workshop.relay/state",
                rumqttc::QoS::AtLeastOnce,
            )
            .unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<bool>();
        std::thread::spawn(move || {
            for event in connection.iter() {
                if let Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p))) = event {
                    let state: serde_json::Value = serde_json::from_slice(&p.payload).unwrap();
                    if tx.send(state["closed"].as_bool().unwrap()).is_err() {
                        break;
                    }
                }
            }
        });
        rx
    };
    let until = |closed: bool| {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline
                .checked_duration_since(Instant::now())
                .unwrap_or_default();
            match relay.recv_timeout(left) {
                Ok(c) if c == closed => return,
                Ok(_) => {}
                Err(_) => panic!("the relay never read closed = {closed}"),
            }
        }
    };
    until(true);
    let answer = http(&host, "POST", &path, "t0ken", r#"{"power_w": 100}"#);
    assert!(answer.starts_with("HTTP/1.1 202"), "{answer}");
    let shed = wait_for(&events, "\"load-shed\"");
    assert!(
        shed["detail"]
            .as_str()
            .unwrap()
            .contains("cell4.workshop.relay"),
        "{shed}"
    );
    until(false);
    let answer = http(&host, "DELETE", &path, "t0ken", "");
    assert!(answer.starts_with("HTTP/1.1 202"), "{answer}");
    wait_for(&events, "\"load-restored\"");
    until(true);
}

/// Starts a TE node process (registrar of deployment `idea`) with `extra` options; returns it, its start line
/// and its `--te-node` argument.
fn te_node(key: &str, address: &str, extra: &[&str]) -> (Served, String, String) {
    let mut args = vec![
        "serve",
        "te-node",
        "--broker",
        address,
        "--signing-key",
        key,
    ];
    args.extend_from_slice(extra);
    let (te, first, _) = start(&args);
    assert!(first.contains("serving te-node te@idea"), "{first}");
    assert!(first.contains("deployment idea"), "{first}");
    let public = first
        .split("key ")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    (te, first, format!("te@idea={public}"))
}

/// Starts an agent process on the broker at `address` with the directory and TE node given, its key and
/// settings files, and `extra` options.
/// `idea ledger verify --json` of the TE node process's ledger, under the registrar its start line `first_te`
/// names and its key (`te_node`, NAME=KEY): the report, after asserting that it verifies.
fn verified_ledger(ledger: &str, first_te: &str, te_node: &str) -> serde_json::Value {
    let registrar = first_te
        .split("registrar avatar ")
        .nth(1)
        .unwrap()
        .split(' ')
        .collect::<Vec<_>>();
    let te_public = te_node.split('=').nth(1).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_idea"))
        .args([
            "ledger",
            "verify",
            ledger,
            "--deployment",
            "idea",
            "--registrar",
            registrar[0],
            "--registrar-key",
            te_public,
            "--genesis",
            registrar[2].trim_end_matches(','),
            "--json",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&text).unwrap()
}

fn te_agent_process(
    address: &str,
    directory: &str,
    te_node: &str,
    key: &str,
    settings: &str,
    extra: &[&str],
) -> (Served, String, std::sync::mpsc::Receiver<String>) {
    let mut args = vec![
        "serve",
        "agent",
        "--broker",
        address,
        "--signing-key",
        key,
        "--directory",
        directory,
        "--te-node",
        te_node,
        "--settings",
        settings,
    ];
    args.extend_from_slice(extra);
    start(&args)
}

/// The TE node as a process, registrar of an open deployment with a ledger: two agents register their
/// avatars through the network (AUX-01), then the owner of cell 2 buys bilaterally through its agent's
/// interface and both agents see the contract recorded at the node (UC-04); the ledger verifies.
#[test]
fn agents_register_at_a_te_node_process_and_a_bilateral_trade_is_recorded_there() {
    let scratch = Scratch::new("serve-te-node");
    let te_key = scratch.file("te.key", "5c".repeat(32));
    let a1_key = scratch.file("a1.key", "11".repeat(32));
    let a2_key = scratch.file("a2.key", "12".repeat(32));
    let token = scratch.file("owner.token", "buyer".to_owned());
    let ledger = scratch.0.join("te.sqlite");
    let ledger = ledger.to_str().unwrap();
    let cell1 = scratch.settings("cell-1");
    let cell2 = scratch.settings("cell-2");
    let address = free_address();
    let (_broker, _, _) = start(&["serve", "mqtt-broker", "--listen", &address]);
    let (_df, directory) = directory(&scratch, &address);
    let operator_token = scratch.file("operator.token", "operator".to_owned());
    let (te, first_te, te_node) = te_node(
        &te_key,
        &address,
        &[
            "--ledger",
            ledger,
            "--operator-api",
            "127.0.0.1:0",
            "--operator-token",
            &operator_token,
        ],
    );
    let operator = operator_host(&first_te);
    let agent = |key: &str, settings: &str, extra: &[&str]| {
        te_agent_process(&address, &directory, &te_node, key, settings, extra)
    };
    let (_a1, _, a1) = agent(
        &a1_key,
        &cell1,
        &["--stored-wh", "8000", "--channel-credit-limit", "5000"],
    );
    let registered = wait_for(&a1, "\"te-registered\"");
    assert_eq!(registered["step"], "AUX-01");
    let (_a2, first, a2) = agent(
        &a2_key,
        &cell2,
        &[
            "--owner-api",
            "127.0.0.1:0",
            "--owner-token",
            &token,
            "--channel-credit-limit",
            "5000",
        ],
    );
    // Registered at the node and found each other, in whatever order the node and the directory answer.
    let [registered, _] = <[serde_json::Value; 2]>::try_from(wait_for_all(
        &a2,
        &["\"te-registered\"", "\"peer-found\""],
    ))
    .unwrap();
    wait_for(&a1, "\"peer-found\"");
    // The operator pays money into the buyer's wallet (TE-02) through the node's interface.
    let buyer_avatar = registered["detail"]
        .as_str()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .to_owned();
    let body = format!(r#"{{"avatar": "{buyer_avatar}", "minor": 5000, "currency": "EUR"}}"#);
    assert!(http(&operator, "POST", "/deposits", "wrong", &body).starts_with("HTTP/1.1 401"));
    let answer = http(&operator, "POST", "/deposits", "operator", &body);
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    let answer = http(&operator, "GET", "/wallets", "operator", "");
    assert!(
        answer.contains(&format!(r#""avatar":"{buyer_avatar}""#)),
        "{answer}"
    );
    assert!(answer.contains(r#""minor":5000"#), "{answer}");

    // An hour ahead, on a quarter hour.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let start_at =
        idea_proto::Timestamp::from_unix_secs(i64::try_from((now / 900) * 900 + 3_600).unwrap())
            .unwrap()
            .to_string();
    let (host, path) = owner_url(&first);
    let order = |start_at: &str| {
        http(
            &host,
            "POST",
            &format!("{path}/orders"),
            "buyer",
            &format!(r#"{{"start": "{start_at}", "wh": [500], "reply_within_s": 10}}"#),
        )
    };
    let answer = order(&start_at);
    assert!(answer.starts_with("HTTP/1.1 202"), "{answer}");
    let recorded = wait_for(&a2, "\"recorded\"");
    assert_eq!(recorded["step"], "UC-04");
    let seller = wait_for(&a1, "\"recorded\"");
    assert_eq!(seller["transaction"], recorded["transaction"]);
    // Both keep debt channels (TE-09): the seller opens one to the buyer, who countersigns and submits it.
    for events in [&a1, &a2] {
        assert_eq!(wait_for(events, "\"channel-open\"")["step"], "TE-09");
    }

    // The node's ledger holds both registrations and the contract, and verifies.
    let report = verified_ledger(ledger, &first_te, &te_node);
    // Two registrations, the agents' bindings, the deposit, the contract and the channel.
    assert_eq!(report["entries"], 7, "{report}");

    // The node restarts over its ledger (TE-01): verified, replayed, and the money is where it was.
    drop(te);
    let (_te, first, _) = self::te_node(
        &te_key,
        &address,
        &[
            "--ledger",
            ledger,
            "--operator-api",
            "127.0.0.1:0",
            "--operator-token",
            &operator_token,
        ],
    );
    assert!(
        first.contains(
            "rebuilt from 7 entries: 3 avatars, 1 contracts, 0 intervals due, 1 deposits, 1 channels"
        ),
        "{first}"
    );
    let operator = operator_host(&first);
    let answer = http(&operator, "GET", "/wallets", "operator", "");
    assert!(
        answer.contains(&format!(r#""avatar":"{buyer_avatar}""#)),
        "{answer}"
    );
    assert!(answer.contains(r#""minor":5000"#), "{answer}");
    let answer = http(&operator, "GET", "/", "operator", "");
    assert!(answer.contains(r#""contracts":1"#), "{answer}");
    // Trading goes on: the next trade is recorded by the restarted node and both agents hear of it (the
    // bindings came back from the ledger).
    let later =
        idea_proto::Timestamp::from_unix_secs(i64::try_from((now / 900) * 900 + 4_500).unwrap())
            .unwrap()
            .to_string();
    let answer = order(&later);
    assert!(answer.starts_with("HTTP/1.1 202"), "{answer}");
    let again = wait_for(&a2, "\"recorded\"");
    assert_ne!(again["transaction"], recorded["transaction"]);
    assert_eq!(
        wait_for(&a1, "\"recorded\"")["transaction"],
        again["transaction"]
    );
    let answer = http(&operator, "GET", "/", "operator", "");
    assert!(answer.contains(r#""contracts":2"#), "{answer}");
}

/// The P2P market as a process: two agents (processes) find it through the directory, their owners place a
/// sell and a buy order through their interfaces, the market clears the period at gate closure and the
/// contract is recorded at the TE node process — both agents see it.
#[test]
fn owners_orders_on_a_market_process_clear_into_a_contract_recorded_at_the_te_node() {
    let scratch = Scratch::new("serve-market");
    let te_key = scratch.file("te.key", "5d".repeat(32));
    let market_key = scratch.file("market.key", "5e".repeat(32));
    let a1_key = scratch.file("a1.key", "21".repeat(32));
    let a2_key = scratch.file("a2.key", "22".repeat(32));
    let token = scratch.file("owner.token", "owner".to_owned());
    let cell1 = scratch.settings("cell-1");
    let cell2 = scratch.settings("cell-2");
    // The next period at least a minute ahead; its book closes 40 s from now, time to start and order.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // 40 s leaves room for six processes to start and register while other tests run beside this one.
    let period = (now + 60).div_ceil(900) * 900;
    let gate_closure = (period - now - 40).to_string();
    let start_at = idea_proto::Timestamp::from_unix_secs(i64::try_from(period).unwrap())
        .unwrap()
        .to_string();
    let address = free_address();
    let (_broker, _, _) = start(&["serve", "mqtt-broker", "--listen", &address]);
    let (_df, directory) = directory(&scratch, &address);
    let (_te, _, te_node) = te_node(&te_key, &address, &[]);
    let (_market, first, _) = start(&[
        "serve",
        "market",
        "--broker",
        &address,
        "--signing-key",
        &market_key,
        "--directory",
        &directory,
        "--gate-closure-s",
        &gate_closure,
    ]);
    assert!(first.contains("serving market market@idea"), "{first}");
    let agent = |key: &str, settings: &str, extra: &[&str]| {
        let mut args = vec!["--owner-api", "127.0.0.1:0", "--owner-token", &token];
        args.extend_from_slice(extra);
        te_agent_process(&address, &directory, &te_node, key, settings, &args)
    };
    let (_a1, first1, a1) = agent(&a1_key, &cell1, &["--stored-wh", "8000"]);
    let (_a2, first2, a2) = agent(&a2_key, &cell2, &[]);
    for (events, other) in [(&a1, "cell-2@idea"), (&a2, "cell-1@idea")] {
        let found = wait_for_all(
            events,
            &[
                "\"te-registered\"",
                "\"service-offered\"",
                &format!("\"counterparty\":\"{other}\""),
            ],
        );
        assert_eq!(found[1]["counterparty"], "market@idea", "{found:?}");
    }
    for (first, side) in [(&first1, "sell"), (&first2, "buy")] {
        let (host, path) = owner_url(first);
        let answer = http(
            &host,
            "POST",
            &format!("{path}/market-orders"),
            "owner",
            &format!(r#"{{"side": "{side}", "start": "{start_at}", "wh": 500}}"#),
        );
        assert!(answer.starts_with("HTTP/1.1 202"), "{side}: {answer}");
    }
    // Cleared at gate closure (about 40 s after the start of the test), then signed by both and recorded.
    let recorded = wait_for_within(&a2, "\"recorded\"", 60);
    assert_eq!(recorded["step"], "UC-04");
    let seller = wait_for(&a1, "\"recorded\"");
    assert_eq!(seller["transaction"], recorded["transaction"]);
}

/// ARCH-08 option 1 as processes: an arbitrator serves a section where cell 2 hangs behind a connection that
/// cannot import another watt; the seller's agent, told to ask it (`--arbitrator`), asks before its offer over
/// signed ACL and refuses the owner's call with the binding limit, and the buyer hears the refusal.
#[test]
fn a_seller_asks_the_arbitrator_process_and_a_call_beyond_the_section_is_refused() {
    let scratch = Scratch::new("serve-arbitrator");
    let arb_key = scratch.file("arb.key", "5d".repeat(32));
    let a1_key = scratch.file("a1.key", "21".repeat(32));
    let a2_key = scratch.file("a2.key", "22".repeat(32));
    let token = scratch.file("owner.token", "buyer".to_owned());
    let case = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../ng-control/data/cases/case33bw.m");
    let section = scratch.file(
        "section.toml",
        format!(
            "case = {:?}\n\n[[site]]\ncell = \"cell-1\"\nbus = 2\nmax_import_w = 1e9\nmax_export_w = 1e9\n\n\
             [[site]]\ncell = \"cell-2\"\nbus = 30\nconnection = {{ branch = 28, bus = 30 }}\n\
             max_import_w = 1000.0\nmax_export_w = 1e9\n",
            case.to_str().unwrap()
        ),
    );
    let cell1 = scratch.settings("cell-1");
    let cell2 = scratch.settings("cell-2");
    let address = free_address();
    let (_broker, _, _) = start(&["serve", "mqtt-broker", "--listen", &address]);
    let (_df, directory) = directory(&scratch, &address);
    let (_arb, first, _) = start(&[
        "serve",
        "arbitrator",
        "--broker",
        &address,
        "--signing-key",
        &arb_key,
        "--directory",
        &directory,
        "--section",
        &section,
    ]);
    assert!(
        first.contains("serving arbitrator arbitrator@idea"),
        "{first}"
    );
    assert!(first.contains("2 cells"), "{first}");
    let agent = |key: &str, settings: &str, extra: &[&str]| {
        let mut args = vec![
            "serve",
            "agent",
            "--broker",
            &address,
            "--signing-key",
            key,
            "--directory",
            &directory,
            "--settings",
            settings,
        ];
        args.extend_from_slice(extra);
        start(&args)
    };
    let (_a1, _, a1) = agent(
        &a1_key,
        &cell1,
        &["--stored-wh", "8000", "--arbitrator", "arbitrator@idea"],
    );
    wait_for(&a1, "arbitrator@idea");
    let (_a2, first, a2) = agent(
        &a2_key,
        &cell2,
        &["--owner-api", "127.0.0.1:0", "--owner-token", &token],
    );
    wait_for(&a2, "\"peer-found\"");

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let start_at =
        idea_proto::Timestamp::from_unix_secs(i64::try_from((now / 900) * 900 + 3_600).unwrap())
            .unwrap()
            .to_string();
    let (host, path) = owner_url(&first);
    let answer = http(
        &host,
        "POST",
        &format!("{path}/orders"),
        "buyer",
        &format!(r#"{{"start": "{start_at}", "wh": [500], "reply_within_s": 10}}"#),
    );
    assert!(answer.starts_with("HTTP/1.1 202"), "{answer}");
    let [asked, refused] = <[serde_json::Value; 2]>::try_from(wait_for_all(
        &a1,
        &["\"arbitration-asked\"", "\"arbitration-refused\""],
    ))
    .unwrap();
    assert_eq!(asked["step"], "ARCH-08");
    assert_eq!(refused["transaction"], asked["transaction"]);
    let detail = refused["detail"].as_str().unwrap();
    assert!(detail.contains("cell-2"), "{detail}");
    let rejected = wait_for(&a2, "\"rejected\"");
    assert_eq!(rejected["transaction"], asked["transaction"]);
}

/// The demand-response service as a process (P2O): registered with the directory and, as the operator's
/// avatar, at the TE node; the operator calls for 2 kW of flexibility through its interface, the cell's agent
/// (a process) offers at its floor, the service buys it, countersigns the cell's contract and the TE node
/// records it — the agent's log and the operator's `GET /calls` both say so.
#[test]
fn an_operator_buys_flexibility_through_the_demand_response_process() {
    let scratch = Scratch::new("serve-demand-response");
    let te_key = scratch.file("te.key", "5f".repeat(32));
    let dr_key = scratch.file("dr.key", "60".repeat(32));
    let a1_key = scratch.file("a1.key", "31".repeat(32));
    let token = scratch.file("operator.token", "operator".to_owned());
    let cell1 = scratch.settings("cell-1");
    let address = free_address();
    let (_broker, _, _) = start(&["serve", "mqtt-broker", "--listen", &address]);
    let (_df, directory) = directory(&scratch, &address);
    let (_te, _, te_node) = te_node(&te_key, &address, &[]);
    let (_dr, first, _) = start(&[
        "serve",
        "demand-response",
        "--broker",
        &address,
        "--signing-key",
        &dr_key,
        "--directory",
        &directory,
        "--te-node",
        &te_node,
        "--price-cap",
        "10",
        "--operator-api",
        "127.0.0.1:0",
        "--operator-token",
        &token,
    ]);
    assert!(
        first.contains("serving demand-response demand-response@idea"),
        "{first}"
    );
    let operator = operator_host(&first);
    let (_a1, _, a1) = te_agent_process(
        &address,
        &directory,
        &te_node,
        &a1_key,
        &cell1,
        &["--stored-wh", "8000"],
    );
    wait_for_all(&a1, &["\"te-registered\"", "demand-response@idea"]);
    // The service knows the cell once the directory told it.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !http(&operator, "GET", "/", "operator", "").contains(r#""cells":1"#) {
        assert!(
            Instant::now() < deadline,
            "the service never learnt of the cell"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let start_at =
        idea_proto::Timestamp::from_unix_secs(i64::try_from((now / 900) * 900 + 3_600).unwrap())
            .unwrap()
            .to_string();
    let bad = http(
        &operator,
        "POST",
        "/calls",
        "operator",
        r#"{"need_w": 2000}"#,
    );
    assert!(bad.starts_with("HTTP/1.1 400"), "{bad}");
    let answer = http(
        &operator,
        "POST",
        "/calls",
        "operator",
        &format!(r#"{{"start": "{start_at}", "intervals": 1, "need_w": 2000}}"#),
    );
    assert!(answer.starts_with("HTTP/1.1 202"), "{answer}");
    let [agreed, recorded] =
        <[serde_json::Value; 2]>::try_from(wait_for_all(&a1, &["\"agreed\"", "\"recorded\""]))
            .unwrap();
    assert_eq!(agreed["transaction"], recorded["transaction"]);
    assert_eq!(agreed["counterparty"], "demand-response@idea");
    // The operator sees the purchase, recorded at the node.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let calls = http(&operator, "GET", "/calls", "operator", "");
        if calls.contains(r#""te":"recorded""#) {
            assert!(calls.contains(r#""agent":"cell-1@idea""#), "{calls}");
            assert!(calls.contains(r#""shortfall_w":0"#), "{calls}");
            break;
        }
        assert!(Instant::now() < deadline, "{calls}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// AG-07 in a process: an agent started with its cell's energy hub and connection meter (each an `idea serve`
/// Modbus/SunSpec device) links to them before it serves, and its owner reads the storage's energy the hub
/// reports (cell 1's hub of the demonstration complex: 55 % of 10 kWh, about 5,500 Wh). An agent whose router does not answer
/// does not start, and says which device.
#[test]
fn an_agent_process_links_to_its_cells_devices_and_one_that_does_not_answer_stops_it() {
    let scratch = Scratch::new("serve-agent-devices");
    let key = scratch.file("a1.key", "01".repeat(32));
    let cell1 = scratch.settings("cell-1");
    let address = free_address();
    let (_broker, _, _) = start(&["serve", "mqtt-broker", "--listen", &address]);
    let (_df, directory) = directory(&scratch, &address);
    let hub = free_address();
    let (_hub, first, _) = start(&["serve", "modbus-hub", "--listen", &hub]);
    assert!(first.contains("serving modbus-hub"), "{first}");
    let meter = free_address();
    let (_meter, first, _) = start(&["serve", "modbus-meter", "--listen", &meter]);
    assert!(first.contains("serving modbus-meter"), "{first}");
    let token = scratch.file("owner.token", "s3cret\n".to_owned());
    let (_agent, first, _) = start(&[
        "serve",
        "agent",
        "--owner-api",
        "127.0.0.1:0",
        "--owner-token",
        &token,
        "--broker",
        &address,
        "--signing-key",
        &key,
        "--directory",
        &directory,
        "--settings",
        &cell1,
        "--stored-wh",
        "1",
        "--hub",
        &hub,
        "--meter",
        &meter,
    ]);
    assert!(
        first.contains(&format!(
            "devices: hub {hub} (Modbus/SunSpec), meter {meter} (Modbus/SunSpec)"
        )),
        "{first}"
    );
    let (host, path) = owner_url(&first);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let answer = http(&host, "GET", &path, "s3cret", "");
        let body: serde_json::Value =
            serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap_or("{}")).unwrap();
        // The hub's SoC times its rating, not the 1 Wh given at start.
        if (5_400..=5_600).contains(&body["stored_wh"].as_i64().unwrap_or(0)) {
            break;
        }
        assert!(Instant::now() < deadline, "{answer}");
        std::thread::sleep(Duration::from_millis(200));
    }

    // A router nobody answers at: the agent does not start.
    let nobody = free_address();
    let out = Command::new(env!("CARGO_BIN_EXE_idea"))
        .args([
            "serve",
            "agent",
            "--broker",
            &address,
            "--signing-key",
            &key,
            "--directory",
            &directory,
            "--settings",
            &cell1,
            "--router",
            &nobody,
            "--iec104-meter",
            &meter,
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("the devices of cell-1@idea"), "{stderr}");
    assert!(stderr.contains(&nobody), "{stderr}");

    // Devices half given: refused before anything starts.
    let out = Command::new(env!("CARGO_BIN_EXE_idea"))
        .args([
            "serve",
            "agent",
            "--broker",
            &address,
            "--signing-key",
            &key,
            "--directory",
            &directory,
            "--settings",
            &cell1,
            "--hub",
            &hub,
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--meter HOST:PORT or"), "{stderr}");
}

/// A cell whose interface device is a DER (Table 3): the agent process serves the DER's IEEE 2030.5 server
/// (`--der-listen`, mutual TLS with the agent's certificate) and links to it and the connection meter before
/// it trades; the DER enrolled with `--der-enrol` registers and finds its program (the caps of the agent's
/// setpoints come as `DERControl` events there — `idea-agent`'s `tests/device_links.rs` follows one onto the
/// simulated DER). A DER given with a router is refused: one interface device.
#[test]
fn an_agent_process_serves_its_der_over_2030_5() {
    use common::sep2::{certs, der_client, device_lfdi};
    let scratch = Scratch::new("serve-agent-der");
    let key = scratch.file("a1.key", "01".repeat(32));
    let cell1 = scratch.settings("cell-1");
    let address = free_address();
    let (_broker, _, _) = start(&["serve", "mqtt-broker", "--listen", &address]);
    let (_df, directory) = directory(&scratch, &address);
    let meter = free_address();
    let (_meter, first, _) = start(&["serve", "modbus-meter", "--listen", &meter]);
    assert!(first.contains("serving modbus-meter"), "{first}");
    let der = free_address();
    let path = |name: &str| certs().join(name).display().to_string();
    let enrolment = format!("{}=424242", device_lfdi());
    let agent_args = |interface: &[&str]| {
        let mut args = vec![
            "serve".to_owned(),
            "agent".to_owned(),
            "--broker".to_owned(),
            address.clone(),
            "--signing-key".to_owned(),
            key.clone(),
            "--directory".to_owned(),
            directory.clone(),
            "--settings".to_owned(),
            cell1.clone(),
            "--meter".to_owned(),
            meter.clone(),
            "--der-enrol".to_owned(),
            enrolment.clone(),
            "--der-rating-w".to_owned(),
            "10000".to_owned(),
            "--device-cert".to_owned(),
            path("server.pem"),
            "--device-key".to_owned(),
            path("server.key"),
            "--device-ca".to_owned(),
            path("ca.pem"),
        ];
        args.extend(interface.iter().map(|a| (*a).to_owned()));
        args
    };
    let args = agent_args(&["--der-listen", &der]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (_agent, first, _) = start(&args);
    assert!(
        first.contains("devices: DER (IEEE 2030.5 DERControl events, rated 10000 W)")
            && first.contains(&format!("the DER's 2030.5 server on {der} (mutual TLS)")),
        "{first}"
    );
    let mut client = der_client(der.clone(), Some(424_242));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime
        .block_on(client.step(ieee2030_5::net::system_clock()()))
        .unwrap();
    assert_eq!(client.end_device(), Some("/edev/0"), "the DER registered");

    // A DER and a router at once: refused before anything starts.
    let router = free_address();
    let args = agent_args(&["--der-listen", &free_address(), "--router", &router]);
    let out = Command::new(env!("CARGO_BIN_EXE_idea"))
        .args(&args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("one interface device"), "{stderr}");
}

/// TE-04 as processes: a TE node that enrolled cell 1's meter (`--meters`), the meter (`idea serve
/// modbus-meter`) and its gateway (`idea serve meter-gateway`): the gateway registers the meter and its
/// signed readings reach the node, which records them in its ledger; a gateway whose key was not enrolled is
/// refused and says why.
#[test]
fn a_meter_gateway_process_registers_its_enrolled_meter_and_its_readings_reach_the_te_node() {
    let scratch = Scratch::new("serve-meter-gateway");
    let te_key = scratch.file("te.key", "5f".repeat(32));
    let meter_key = scratch.file("meter.key", "4d".repeat(32));
    let stranger_key = scratch.file("stranger.key", "4e".repeat(32));
    let meter_public =
        idea_proto::PublicKey::from(&idea_proto::SigningKey::from_bytes(&[0x4d; 32]));
    let meters = scratch.file(
        "meters.toml",
        format!(
            "[[meter]]\nid = \"cell1.meter\"\ncell = \"cell-1\"\nkey = \"{meter_public}\"\nmax_power_w = 25000\nreading_interval_s = 1\n"
        ),
    );
    let operator_token = scratch.file("operator.token", "operator".to_owned());
    let ledger = scratch.0.join("te.sqlite");
    let ledger = ledger.to_str().unwrap();
    let address = free_address();
    let (_broker, _, _) = start(&["serve", "mqtt-broker", "--listen", &address]);
    let (_te, first_te, te_node) = te_node(
        &te_key,
        &address,
        &[
            "--meters",
            &meters,
            "--ledger",
            ledger,
            "--operator-api",
            "127.0.0.1:0",
            "--operator-token",
            &operator_token,
        ],
    );
    assert!(first_te.contains("1 enrolled meters"), "{first_te}");
    let operator = operator_host(&first_te);
    let meter = free_address();
    let (_meter, first, _) = start(&["serve", "modbus-meter", "--listen", &meter]);
    assert!(first.contains("serving modbus-meter"), "{first}");
    let gateway = |key: &str| {
        vec![
            "serve".to_owned(),
            "meter-gateway".to_owned(),
            "--broker".to_owned(),
            address.clone(),
            "--signing-key".to_owned(),
            key.to_owned(),
            "--te-node".to_owned(),
            te_node.clone(),
            "--meter".to_owned(),
            meter.clone(),
            "--meter-id".to_owned(),
            "cell1.meter".to_owned(),
            "--cell".to_owned(),
            "cell-1".to_owned(),
            "--every-s".to_owned(),
            "1".to_owned(),
        ]
    };
    let args = gateway(&meter_key);
    let (_gateway, first, _) = start(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        first.contains("serving meter-gateway meter-gateway-cell1.meter@idea"),
        "{first}"
    );
    assert!(first.contains("registered as avatar"), "{first}");
    let answer = http(&operator, "GET", "/", "operator", "");
    assert!(answer.contains(r#""meters":1"#), "{answer}");

    // Readings every second reach the node's ledger (a registration and readings, each signed).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let report = verified_ledger(ledger, &first_te, &te_node);
        if report["entries"].as_u64().unwrap_or(0) >= 4 {
            break;
        }
        assert!(Instant::now() < deadline, "{report}");
        std::thread::sleep(Duration::from_millis(500));
    }
    let answer = http(&operator, "GET", "/", "operator", "");
    assert!(answer.contains(r#""refusals":0"#), "{answer}");

    // A key the node did not enrol: refused, and the gateway says so.
    let args = gateway(&stranger_key);
    let out = Command::new(env!("CARGO_BIN_EXE_idea"))
        .args(&args[..])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is not enrolled"), "{stderr}");
}

/// The IEC 104 devices' certificates of the TLS tests.
fn iec104_cert(name: &str) -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../iec104/tests/certs")
        .join(name)
        .display()
        .to_string()
}

/// NG-R6 over IEC 62351-3 from a process: an agent reaches its router and its meter (`idea serve iec104-router`,
/// `iec104-meter`, mutual TLS only) with its own certificate; one with a certificate from another CA is refused
/// during the handshake and does not start.
#[test]
fn an_agent_process_reaches_its_router_and_meter_over_mutual_tls() {
    let scratch = Scratch::new("serve-agent-tls");
    let key = scratch.file("a1.key", "31".repeat(32));
    let cell1 = scratch.settings("cell-1");
    let address = free_address();
    let (_broker, _, _) = start(&["serve", "mqtt-broker", "--listen", &address]);
    let (_df, directory) = directory(&scratch, &address);
    let tls_server = [
        "--cert".to_owned(),
        iec104_cert("outstation.pem"),
        "--key".to_owned(),
        iec104_cert("outstation.key"),
        "--client-ca".to_owned(),
        iec104_cert("ca.pem"),
    ];
    let serve = |kind: &str| {
        let listen = free_address();
        let mut args = vec![
            "serve".to_owned(),
            kind.to_owned(),
            "--listen".to_owned(),
            listen.clone(),
        ];
        args.extend(tls_server.iter().cloned());
        let (served, first, _) = start(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(first.contains(&format!("serving {kind}")), "{first}");
        (served, listen)
    };
    let (_router, router) = serve("iec104-router");
    let (_meter, meter) = serve("iec104-meter");
    let agent = |who: &str| {
        vec![
            "serve".to_owned(),
            "agent".to_owned(),
            "--broker".to_owned(),
            address.clone(),
            "--signing-key".to_owned(),
            key.clone(),
            "--directory".to_owned(),
            directory.clone(),
            "--settings".to_owned(),
            cell1.clone(),
            "--router".to_owned(),
            router.clone(),
            "--iec104-meter".to_owned(),
            meter.clone(),
            "--device-cert".to_owned(),
            iec104_cert(&format!("{who}.pem")),
            "--device-key".to_owned(),
            iec104_cert(&format!("{who}.key")),
            "--device-ca".to_owned(),
            iec104_cert("ca.pem"),
        ]
    };
    let args = agent("scada");
    let (_agent, first, _) = start(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        first.contains(&format!(
            "devices: router {router} port 1 (IEC 104 over TLS), meter {meter} (IEC 104 over TLS)"
        )),
        "{first}"
    );

    let args = agent("rogue");
    let out = Command::new(env!("CARGO_BIN_EXE_idea"))
        .args(&args[..])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("the devices of cell-1@idea"), "{stderr}");
    assert!(stderr.contains(&router), "{stderr}");
}
