//! The owner's HTTP/JSON interface (AG-08) over a real socket: two running agents on the embedded broker,
//! one listener for both, a bearer token. The owner reads the cell, changes the participation profile
//! (AUX-03), orders energy and follows the trade to `agreed` in the transactions, the commitment book and the
//! event log; bad input gets the status that says why.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use common::*;
use fipa_acl::mqtt::EmbeddedBroker;
use idea_agent::owner::EventRing;
use idea_agent::owner_http::{OwnerCell, serve_owner_api};
use idea_agent::runtime::{RunningAgent, Sinks, system_clock};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TOKEN: &str = "owner-secret";

/// One HTTP/1.1 request; the status and the JSON body.
async fn http(
    address: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &[u8],
) -> (u16, Value) {
    let mut tcp = tokio::net::TcpStream::connect(address).await.unwrap();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: owner\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    tcp.write_all(body).await.unwrap();
    let mut answer = Vec::new();
    tcp.read_to_end(&mut answer).await.unwrap();
    let text = String::from_utf8_lossy(&answer);
    let status = text[9..12].parse().unwrap();
    let json = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| serde_json::from_str(b).unwrap_or(Value::Null))
        .unwrap_or(Value::Null);
    (status, json)
}

async fn running(agent: idea_agent::Agent, port: u16) -> OwnerCell {
    let acl = transport(port, agent.me()).await;
    let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
    let agent = RunningAgent::spawn(
        agent,
        acl,
        system_clock(),
        Sinks {
            events: Some(tx),
            ..Sinks::default()
        },
    );
    let events = Arc::new(Mutex::new(EventRing::default()));
    let ring = Arc::clone(&events);
    tokio::spawn(async move {
        while let Some(e) = rx.recv().await {
            ring.lock().unwrap().push(e);
        }
    });
    OwnerCell {
        agent: Arc::new(agent),
        events,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_reads_configures_and_orders_through_the_interface() {
    let broker = EmbeddedBroker::start().unwrap();
    let port = broker.addr().port();
    let mut seller = agent("cell-1", 1, settings("cell-1", |s| s));
    let mut buyer = agent("cell-2", 2, settings("cell-2", |s| s));
    seller.handle_stored_energy(8_000, fipa_acl::mqtt::system_now());
    seller.add_peer(peer_of(&buyer, 2)).unwrap();
    buyer.add_peer(peer_of(&seller, 1)).unwrap();
    let cells: BTreeMap<String, OwnerCell> = [
        ("cell-1".to_owned(), running(seller, port).await),
        ("cell-2".to_owned(), running(buyer, port).await),
    ]
    .into();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(serve_owner_api(
        listener,
        Arc::new(cells),
        Some(TOKEN.to_owned()),
    ));
    let a = address.as_str();

    // Without the token: 401. With it: the cells and one cell.
    assert_eq!(http(a, "GET", "/cells", None, b"").await.0, 401);
    assert_eq!(
        http(a, "GET", "/cells", Some("wrong-secret"), b"").await.0,
        401
    );
    let (status, cells) = http(a, "GET", "/cells", Some(TOKEN), b"").await;
    assert_eq!(
        (status, cells),
        (200, json!({ "cells": ["cell-1", "cell-2"] }))
    );
    let (status, cell) = http(a, "GET", "/cells/cell-2", Some(TOKEN), b"").await;
    assert_eq!(status, 200);
    assert_eq!(cell["agent"], "cell-2@idea");
    assert_eq!(cell["cell_type"], "prosumer");
    assert_eq!(cell["participation"], "active");
    assert_eq!(cell["profiles"], json!(["active", "passive"]));

    // AUX-03: a profile that is not defined is refused with the reason; a defined one is taken.
    let (status, refused) = http(
        a,
        "PUT",
        "/cells/cell-2/participation",
        Some(TOKEN),
        br#"{"profile":"holiday"}"#,
    )
    .await;
    assert_eq!(status, 409);
    assert!(
        refused["error"].as_str().unwrap().contains("holiday"),
        "{refused}"
    );
    let (status, _) = http(
        a,
        "PUT",
        "/cells/cell-2/participation",
        Some(TOKEN),
        br#"{"profile":"passive"}"#,
    )
    .await;
    assert_eq!(status, 200);
    let (_, cell) = http(a, "GET", "/cells/cell-2", Some(TOKEN), b"").await;
    assert_eq!(cell["participation"], "passive");
    let (status, _) = http(
        a,
        "PUT",
        "/cells/cell-2/participation",
        Some(TOKEN),
        br#"{"profile":"active"}"#,
    )
    .await;
    assert_eq!(status, 200);

    // An order: accepted for negotiation, then agreed with the seller.
    let start = fipa_acl::mqtt::system_now()
        .floor_to(idea_proto::Duration::from_mins(15))
        .checked_add(idea_proto::Duration::from_mins(60))
        .unwrap();
    let order = json!({ "start": start.to_string(), "wh": [400], "reply_within_s": 5 });
    let (status, placed) = http(
        a,
        "POST",
        "/cells/cell-2/orders",
        Some(TOKEN),
        order.to_string().as_bytes(),
    )
    .await;
    assert_eq!(status, 202, "{placed}");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let agreed = loop {
        let (_, listed) = http(a, "GET", "/cells/cell-2/transactions", Some(TOKEN), b"").await;
        let agreed = listed["transactions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["state"] == "agreed")
            .cloned();
        if let Some(t) = agreed {
            break t;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no agreed trade: {listed}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(agreed["counterparty"], "cell-1@idea");
    assert_eq!(agreed["side"], "buyer");
    assert_eq!(agreed["energy_wh"], 400);
    assert_eq!(agreed["price_minor_per_kwh"], 18);
    let (_, book) = http(a, "GET", "/cells/cell-1/commitments", Some(TOKEN), b"").await;
    assert_eq!(book["commitments"].as_array().unwrap().len(), 1, "{book}");
    let (_, events) = http(a, "GET", "/cells/cell-2/events?since=0", Some(TOKEN), b"").await;
    let whats: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["what"].as_str().unwrap())
        .collect();
    assert!(whats.contains(&"agreed"), "{whats:?}");
    let next = events["next"].as_u64().unwrap();
    let (_, later) = http(
        a,
        "GET",
        &format!("/cells/cell-2/events?since={next}"),
        Some(TOKEN),
        b"",
    )
    .await;
    assert_eq!(later["events"], json!([]), "nothing new since");
    let (_, money) = http(a, "GET", "/cells/cell-2/money", Some(TOKEN), b"").await;
    assert_eq!(
        money["paid_minor"], 0,
        "nothing settled without a TE node: {money}"
    );

    // Bad input.
    assert_eq!(
        http(a, "GET", "/cells/cell-9", Some(TOKEN), b"").await.0,
        404
    );
    assert_eq!(
        http(a, "GET", "/cells/cell-1/nothing", Some(TOKEN), b"")
            .await
            .0,
        404
    );
    assert_eq!(
        http(a, "POST", "/cells/cell-1/money", Some(TOKEN), b"")
            .await
            .0,
        405
    );
    assert_eq!(
        http(a, "POST", "/cells/cell-1/orders", Some(TOKEN), b"{not json")
            .await
            .0,
        400
    );
    let (status, e) = http(
        a,
        "POST",
        "/cells/cell-1/orders",
        Some(TOKEN),
        br#"{"start":"2026-12-02T11:00:00Z","wh":[-5]}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert!(e["error"].as_str().unwrap().starts_with("wh:"), "{e}");
    // AUX-08 and AUX-04 through the interface: the trade agreed above is still open, so the subscription is
    // ending until it is over; subscribing again takes it back up.
    let (status, subs) = http(a, "GET", "/cells/cell-1/subscriptions", Some(TOKEN), b"").await;
    assert_eq!(status, 200);
    assert_eq!(subs["subscriptions"][0]["service"], "p2p-market", "{subs}");
    assert_eq!(subs["subscriptions"][0]["state"], "active", "{subs}");
    let (status, ended) = http(
        a,
        "DELETE",
        "/cells/cell-1/subscriptions/p2p-market",
        Some(TOKEN),
        b"",
    )
    .await;
    assert_eq!(status, 202);
    assert_eq!(ended["state"], "ending", "{ended}");
    assert_eq!(ended["open_transactions"], 1, "{ended}");
    let (status, again) = http(
        a,
        "PUT",
        "/cells/cell-1/subscriptions/p2p-market",
        Some(TOKEN),
        b"",
    )
    .await;
    assert_eq!((status, again["state"].as_str()), (200, Some("active")));
    let (status, e) = http(
        a,
        "PUT",
        "/cells/cell-1/subscriptions/district-heat",
        Some(TOKEN),
        b"",
    )
    .await;
    assert_eq!(status, 409);
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("does not take part in district-heat"),
        "{e}"
    );
    assert_eq!(
        http(
            a,
            "POST",
            "/cells/cell-1/subscriptions/p2p-market",
            Some(TOKEN),
            b""
        )
        .await
        .0,
        405
    );
    // Market orders: a side that is neither, and an agent without a market participant.
    let (status, e) = http(
        a,
        "POST",
        "/cells/cell-1/market-orders",
        Some(TOKEN),
        br#"{"side":"hold","start":"2026-12-02T11:00:00Z","wh":500}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert!(e["error"].as_str().unwrap().starts_with("side:"), "{e}");
    let (status, e) = http(
        a,
        "POST",
        "/cells/cell-1/market-orders",
        Some(TOKEN),
        br#"{"side":"sell","start":"2026-12-02T11:00:00Z","wh":500}"#,
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(
        e["error"], "the agent has no market participant behaviour",
        "{e}"
    );
    let (status, _) = http(a, "GET", "/cells/cell-1/events?since=x", Some(TOKEN), b"").await;
    assert_eq!(status, 400);
    let big = vec![b' '; idea_agent::owner::MAX_BODY + 1];
    assert_eq!(
        http(a, "PUT", "/cells/cell-1/participation", Some(TOKEN), &big)
            .await
            .0,
        413
    );
}
