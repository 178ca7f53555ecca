//! Openness (PROP-03): a small agent written in Python from the protocol documentation alone
//! (`tests/peers/python_agent.py`, paho-mqtt and `cryptography` from the interop virtual environment) joins a
//! running deployment — the embedded broker, the directory and a Rust prosumer agent on 127.0.0.1 — is found
//! through the directory, and completes a P2P trade with the Rust agent.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;
#[path = "../../interop/python.rs"]
mod python;

use common::*;
use fipa_acl::AgentIdentifier;
use fipa_acl::mqtt::EmbeddedBroker;
use idea_agent::runtime::{RunningAgent, RunningService, Sinks, system_clock};
use idea_agent::{Admission, DirectoryConfig, DirectoryService, Event, Peer, PlugAndPlay};
use idea_proto::{Duration, PublicKey, SigningKey};
use std::time::Duration as StdDuration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_agent_finds_a_rust_agent_in_the_directory_and_buys_from_it() {
    let Some(python) = python::python("the Python agent (paho-mqtt) trading with a Rust agent")
    else {
        return;
    };
    let broker = EmbeddedBroker::start().unwrap();
    let port = broker.addr().port();
    let df_key = SigningKey::from_bytes(&[90; 32]);
    let directory = RunningService::spawn(
        DirectoryService::new(DirectoryConfig {
            me: AgentIdentifier::new("df@idea"),
            key: df_key.clone(),
            admission: Admission::Open,
        }),
        transport(port, &AgentIdentifier::new("df@idea")).await,
        system_clock(),
    );
    let df = Peer {
        agent: AgentIdentifier::new("df@idea"),
        cell: None,
        key: PublicKey::from(&df_key),
        avatar: None,
    };

    // The Rust seller: a prosumer with plug & play and the P2P behaviours, 8 kWh in store.
    let now = fipa_acl::mqtt::system_now();
    let mut seller = agent("cell-1", 1, settings("cell-1", |s| s));
    seller
        .add_behaviour(Box::new(PlugAndPlay::new(df)))
        .unwrap();
    seller.handle_stored_energy(8_000, now);
    seller
        .with_behaviour::<PlugAndPlay, _>(now, |p, cx| p.join(cx))
        .unwrap()
        .unwrap();
    let (events, mut rx) = tokio::sync::mpsc::channel::<Event>(1024);
    let seller = RunningAgent::spawn(
        seller,
        transport(port, &AgentIdentifier::new("cell-1@idea")).await,
        system_clock(),
        Sinks {
            events: Some(events),
            ..Sinks::default()
        },
    );
    let deadline = tokio::time::Instant::now() + StdDuration::from_secs(20);
    loop {
        let e = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .expect("no registration")
            .unwrap();
        if e.what == "registered" {
            break;
        }
    }

    let start = now
        .floor_to(Duration::from_mins(15))
        .checked_add(Duration::from_mins(60))
        .unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/python_agent.py");
    let out = tokio::process::Command::new(&python)
        .args([
            script,
            "127.0.0.1",
            &port.to_string(),
            "df@idea",
            &PublicKey::from(&df_key).to_string(),
            "py-9@idea",
            &"09".repeat(32),
            &start.to_string(),
        ])
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(StdDuration::from_secs(60), out)
        .await
        .expect("the Python agent did not finish in 60 s")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "python agent: {stdout}\n{stderr}");
    assert!(stdout.contains("FOUND cell-1@idea cell-1"), "{stdout}");
    let agreed = stdout
        .lines()
        .find_map(|l| l.strip_prefix("AGREED "))
        .unwrap_or_else(|| panic!("no AGREED line: {stdout}"));
    let (transaction, price) = agreed.split_once(' ').unwrap();
    assert_eq!(price, "18", "the seller's floor from its settings");

    // The Rust side saw the newcomer through the directory and agreed the same transaction with it.
    // A job through the agent's task: everything it did before has been flushed to the event channel.
    seller.call(|_, _| ()).await.unwrap();
    let mut whats = Vec::new();
    while let Ok(e) = rx.try_recv() {
        whats.push((
            e.what,
            e.counterparty.clone(),
            e.transaction.map(|t| t.to_string()),
        ));
    }
    assert!(
        whats.contains(&("peer-found", Some("py-9@idea".into()), None)),
        "{whats:?}"
    );
    assert!(
        whats.contains(&(
            "agreed",
            Some("py-9@idea".into()),
            Some(transaction.to_owned())
        )),
        "{whats:?}"
    );
    seller.stop().await.unwrap();
    directory.stop().await.unwrap();
}
