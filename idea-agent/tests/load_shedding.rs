//! P2O with the load-shedding service over real sockets: the demonstration complex in simulated time, its
//! workshop meter and relay on MQTT (IOT-05), the service reading them and commanding the relay, and cell 4's
//! agent asking over FIPA-ACL on the same broker to shed load, then to restore it. The relay opens and the
//! workshop's power drops to zero in the model; it closes again on restore. A request for more than the cell
//! can shed fails and opens nothing; another cell's agent may not shed cell 4's loads.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use common::*;
use fipa_acl::AgentIdentifier;
use fipa_acl::mqtt::EmbeddedBroker;
use idea_agent::load_shedding::link::{DeviceBus, run_load_shedding};
use idea_agent::load_shedding::{LoadSheddingClient, LoadSheddingService, loads_from_toml};
use idea_agent::runtime::{Clock, RunningAgent, Sinks};
use idea_agent::{Event, Peer};
use idea_proto::{PublicKey, SigningKey, Timestamp};
use idea_sim::grid::{Topology, lock};
use std::time::Duration;
use tokio::sync::mpsc;

async fn next(events: &mut mpsc::Receiver<Event>, what: &str) -> Event {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let e = tokio::time::timeout_at(deadline, events.recv())
            .await
            .unwrap_or_else(|_| panic!("no {what} in 20 s"))
            .unwrap();
        if e.what == what {
            return e;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_sheds_and_restores_a_cells_load_on_its_agents_request() {
    let start: Timestamp = "2026-12-02T12:00:00Z".parse().unwrap();
    let (grid, clock_task) = idea_sim::clock::plant(
        &Topology::builtin("demo-microgrid").unwrap(),
        1,
        start,
        10.0,
    )
    .unwrap();
    let broker = EmbeddedBroker::start().unwrap();
    let port = broker.addr().port();
    let devices = tokio::spawn(idea_sim::mqtt::run(
        grid.clone(),
        idea_sim::mqtt::MqttDevices {
            broker: ("127.0.0.1".into(), port),
            prefix: "idea/devices".into(),
            meters: vec!["cell4.workshop.meter".into()],
            relays: vec!["cell4.workshop.relay".into()],
            period: Duration::from_millis(100),
        },
        idea_sim::fault::Faults::default(),
    ));

    // The service, knowing cell 4's and cell 1's agents.
    let service_key = SigningKey::from_bytes(&[80; 32]);
    let service_id = AgentIdentifier::new("load-shedding@idea");
    let loads = loads_from_toml(include_str!("../data/load-shedding.toml")).unwrap();
    let mut service = LoadSheddingService::new(service_id.clone(), service_key.clone(), loads);
    let mut cell4 = agent("cell-4", 4, settings("cell-4", |s| s));
    let mut cell1 = agent("cell-1", 1, settings("cell-1", |s| s));
    service.add_peer(peer_of(&cell4, 4)).unwrap();
    service.add_peer(peer_of(&cell1, 1)).unwrap();
    let acl = transport(port, &service_id).await;
    let running_service = tokio::spawn(run_load_shedding(
        service,
        acl,
        DeviceBus {
            host: "127.0.0.1".into(),
            port,
            prefix: "idea/devices".into(),
        },
    ));

    // The two agents with the client behaviour.
    let service_peer = Peer {
        agent: service_id.clone(),
        cell: None,
        key: PublicKey::from(&service_key),
        avatar: None,
    };
    let clock = {
        let grid = grid.clone();
        Clock::simulated(move || lock(&grid).now(), 10.0)
    };
    let mut running = Vec::new();
    let mut events = Vec::new();
    for a in [&mut cell4, &mut cell1] {
        a.add_peer(service_peer.clone()).unwrap();
        a.add_behaviour(Box::new(LoadSheddingClient::new(service_id.clone())))
            .unwrap();
    }
    for a in [cell4, cell1] {
        let acl = transport(port, a.me()).await;
        let (tx, rx) = mpsc::channel(256);
        running.push(RunningAgent::spawn(
            a,
            acl,
            clock.clone(),
            Sinks {
                events: Some(tx),
                ..Sinks::default()
            },
        ));
        events.push(rx);
    }
    // Let the service see the workshop's state.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let workshop_w = lock(&grid).meter("cell4.workshop.meter").unwrap().p_w;
    assert!(
        workshop_w > 100.0,
        "the workshop draws power at noon: {workshop_w}"
    );

    // More than the cell can shed: fails, nothing opens.
    running[0]
        .call(|a, now| {
            a.with_behaviour::<LoadSheddingClient, _>(now, |c, cx| c.shed(cx, 1_000_000))
        })
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let failed = next(&mut events[0], "load-shed-failed").await;
    assert!(
        failed.detail.contains("insufficient-load"),
        "{}",
        failed.detail
    );
    assert!(lock(&grid).relay("cell4.workshop.relay").unwrap().closed);

    // Cell 1's agent may not shed cell 4's loads: its request names its own cell, which has none.
    running[1]
        .call(|a, now| a.with_behaviour::<LoadSheddingClient, _>(now, |c, cx| c.shed(cx, 100)))
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let refused = next(&mut events[1], "load-shed-failed").await;
    assert!(
        refused.detail.contains("insufficient-load :available-w 0"),
        "{}",
        refused.detail
    );

    // Cell 4 sheds 100 W: the workshop's relay opens and its power goes to zero.
    running[0]
        .call(|a, now| a.with_behaviour::<LoadSheddingClient, _>(now, |c, cx| c.shed(cx, 100)))
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let shed = next(&mut events[0], "load-shed").await;
    assert!(
        shed.detail.contains("cell4.workshop.relay"),
        "{}",
        shed.detail
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while lock(&grid).relay("cell4.workshop.relay").unwrap().closed {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the relay did not open"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = lock(&grid).meter("cell4.workshop.meter").unwrap().p_w;
    assert!(after.abs() < 1.0, "the workshop is off: {after} W");

    // Restore: the relay closes.
    running[0]
        .call(|a, now| a.with_behaviour::<LoadSheddingClient, _>(now, |c, cx| c.restore(cx)))
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    next(&mut events[0], "load-restored").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !lock(&grid).relay("cell4.workshop.relay").unwrap().closed {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the relay did not close"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for r in running {
        r.stop().await.unwrap();
    }
    running_service.abort();
    devices.abort();
    drop(clock_task);
}

/// Only a cell's own agent may shed its loads; a stranger is refused; a request that cannot be read is not
/// understood.
#[test]
fn another_cells_agent_or_a_stranger_may_not_shed_a_cells_load() {
    use fipa_acl::Performative;
    use idea_proto::CellId;
    let service_id = AgentIdentifier::new("load-shedding@idea");
    let loads = loads_from_toml(include_str!("../data/load-shedding.toml")).unwrap();
    let mut service =
        LoadSheddingService::new(service_id.clone(), SigningKey::from_bytes(&[80; 32]), loads);
    let cell1 = agent("cell-1", 1, settings("cell-1", |s| s));
    service.add_peer(peer_of(&cell1, 1)).unwrap();
    service.handle_device_state("cell4.workshop.meter", &serde_json::json!({ "p_w": 900.0 }));
    service.handle_device_state(
        "cell4.workshop.relay",
        &serde_json::json!({ "closed": true }),
    );
    assert_eq!(
        service.plan(&CellId::new("cell-4").unwrap(), 500.0),
        Ok((vec!["cell4.workshop.relay".to_owned()], 900.0))
    );
    let ask = |from: &str, signer: u8, content: Option<&str>| {
        let mut m = idea_agent::load_shedding::request(
            &service_id,
            &CellId::new("cell-4").unwrap(),
            Some(500),
        );
        if let Some(c) = content {
            m.content = Some(c.to_owned().into());
        }
        m.sender = Some(AgentIdentifier::new(from));
        idea_agent::signing::sign(&mut m, &key(signer));
        m
    };
    let mut answers = |m| {
        service.handle_acl(m);
        std::iter::from_fn(|| service.poll_transmit())
            .map(|r| {
                (
                    r.performative.performative().unwrap(),
                    String::from_utf8_lossy(r.content.as_deref().unwrap_or_default()).into_owned(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        answers(ask("cell-1@idea", 1, None)),
        [(Performative::Refuse, "((unauthorised))".to_owned())]
    );
    assert_eq!(
        answers(ask("cell-7@idea", 7, None)),
        [(Performative::Refuse, "((unknown-agent))".to_owned())]
    );
    let unreadable = answers(ask("cell-1@idea", 1, Some("((dance))")));
    assert_eq!(unreadable[0].0, Performative::NotUnderstood);
    let forged = answers(ask("cell-1@idea", 9, None));
    assert_eq!(forged[0].0, Performative::NotUnderstood);
    assert!(service.poll_command().is_none(), "nothing was commanded");
}
