//! Agents in one process on FIPA-ACL over MQTT (AG-09): two agents behind the embedded rumqttd broker on
//! 127.0.0.1 negotiate a P2P trade to `agreed` on both sides; an agent the seller does not know is refused.
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
use fipa_acl::{AclMessage, Performative};
use idea_agent::runtime::{RunningAgent, Sinks, system_clock};
use idea_agent::{Agent, BuyOrder, Event, P2pBuyer};
use idea_proto::*;
use std::time::Duration as StdDuration;
use tokio::sync::mpsc;

async fn start(agent: Agent, port: u16) -> (RunningAgent, mpsc::Receiver<Event>) {
    let acl = transport(port, agent.me()).await;
    let (tx, rx) = mpsc::channel(1024);
    let running = RunningAgent::spawn(
        agent,
        acl,
        system_clock(),
        Sinks {
            commands: None,
            events: Some(tx),
            te: None,
        },
    );
    (running, rx)
}

async fn wait_for(events: &mut mpsc::Receiver<Event>, what: &str) -> Event {
    let deadline = tokio::time::Instant::now() + StdDuration::from_secs(20);
    loop {
        let e = tokio::time::timeout_at(deadline, events.recv())
            .await
            .unwrap_or_else(|_| panic!("no {what} event in 20 s"))
            .expect("the agent stopped");
        if e.what == what {
            return e;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_agents_agree_a_trade_over_mqtt_and_a_stranger_is_refused() {
    let broker = EmbeddedBroker::start().unwrap();
    let port = broker.addr().port();
    let mut seller = agent("cell-1", 1, settings("cell-1", |s| s));
    let mut buyer = agent("cell-2", 2, settings("cell-2", |s| s));
    seller.handle_stored_energy(8_000, fipa_acl::mqtt::system_now());
    seller.add_peer(peer_of(&buyer, 2)).unwrap();
    buyer.add_peer(peer_of(&seller, 1)).unwrap();
    let (seller, mut seller_events) = start(seller, port).await;
    let (buyer, mut buyer_events) = start(buyer, port).await;

    let now = fipa_acl::mqtt::system_now();
    let start_at = now
        .floor_to(Duration::from_mins(15))
        .checked_add(Duration::from_mins(60))
        .unwrap();
    let order = BuyOrder {
        reply_within: Duration::from_secs(10),
        ..buy_order(start_at, &[700, 800])
    };
    let ids = buyer
        .call(move |a, now| a.with_behaviour::<P2pBuyer, _>(now, |b, cx| b.buy(cx, order)))
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let id = ids[0];
    let agreed = wait_for(&mut seller_events, "agreed").await;
    assert_eq!(agreed.transaction, Some(id));
    wait_for(&mut buyer_events, "agreed").await;
    let (state, price) = seller
        .call(move |a, _| {
            let t = a.transactions().get(&id).unwrap();
            (
                t.lifecycle.state(),
                t.transaction.terms.price.minor_units_per_kwh,
            )
        })
        .await
        .unwrap();
    assert_eq!((state, price), (TransactionState::Agreed, 18));

    // An agent the seller does not know sends a (signed) cfp through the same broker: refused, logged.
    let stranger_id = identifier("cell-9@idea");
    let stranger = transport(port, &stranger_id).await;
    let mut cfp = AclMessage::new(Performative::Cfp)
        .from(stranger_id)
        .to(identifier("cell-1@idea"))
        .content("((idea-energy (x)))");
    cfp.protocol = Some("fipa-contract-net".into());
    cfp.conversation_id = Some("c-9".into());
    idea_agent::signing::sign(&mut cfp, &key(9));
    stranger.send(&cfp).await.unwrap();
    let refused = wait_for(&mut seller_events, "refused-unknown-agent").await;
    assert_eq!(refused.counterparty.as_deref(), Some("cell-9@idea"));
    let mut stranger = stranger;
    let answer = stranger
        .recv_timeout(StdDuration::from_secs(10))
        .await
        .expect("an answer")
        .unwrap();
    assert_eq!(answer.performative, Performative::Refuse);

    let seller = seller.stop().await.unwrap();
    assert_eq!(seller.book().commitments().len(), 1);
    buyer.stop().await.unwrap();
    let _ = broker;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contract_is_recorded_by_the_te_node_over_mqtt_and_forged_notices_are_ignored() {
    use idea_agent::te_link::{TE_PREFIX, TeLink, TeService};
    let broker = EmbeddedBroker::start().unwrap();
    let port = broker.addr().port();
    let node_key = SigningKey::from_bytes(&[90; 32]);
    let mut node = idea_agent::TeNode::new(registry(&[1, 2]));
    node.bind_agent(avatar(1), "cell-1@idea");
    node.bind_agent(avatar(2), "cell-2@idea");
    let service = TeService::spawn(
        node,
        "te-node",
        node_key.clone(),
        "127.0.0.1",
        port,
        TE_PREFIX,
        system_clock(),
    )
    .await
    .unwrap();
    let link = TeLink {
        host: "127.0.0.1".into(),
        port,
        node: "te-node".into(),
        node_key: PublicKey::from(&node_key),
        prefix: TE_PREFIX.into(),
    };
    let (mut seller, mut buyer) = (te_agent(1), te_agent(2));
    seller.handle_stored_energy(8_000, fipa_acl::mqtt::system_now());
    seller.add_peer(te_peer(&buyer, 2)).unwrap();
    buyer.add_peer(te_peer(&seller, 1)).unwrap();
    let mut running = Vec::new();
    let mut events = Vec::new();
    for a in [seller, buyer] {
        let acl = transport(port, a.me()).await;
        let (tx, rx) = mpsc::channel(1024);
        let sinks = Sinks {
            commands: None,
            events: Some(tx),
            te: None,
        };
        running.push(
            RunningAgent::spawn_with_te(a, acl, system_clock(), sinks, link.clone())
                .await
                .unwrap(),
        );
        events.push(rx);
    }
    // A forged "recorded" notice, signed by another key, published to the seller's TE inbox first.
    let forger = SigningKey::from_bytes(&[91; 32]);
    let (forged_client, mut forged_events) = {
        let mut o = rumqttc::MqttOptions::new("forger", "127.0.0.1", port);
        o.set_keep_alive(StdDuration::from_secs(30));
        rumqttc::AsyncClient::new(o, 10)
    };
    tokio::spawn(async move { while forged_events.poll().await.is_ok() {} });
    let now = fipa_acl::mqtt::system_now();
    let start_at = now
        .floor_to(Duration::from_mins(15))
        .checked_add(Duration::from_mins(60))
        .unwrap();
    let order = BuyOrder {
        reply_within: Duration::from_secs(10),
        ..buy_order(start_at, &[700])
    };
    let id = running[1]
        .call(move |a, now| a.with_behaviour::<P2pBuyer, _>(now, |b, cx| b.buy(cx, order)))
        .await
        .unwrap()
        .unwrap()
        .unwrap()[0];
    wait_for(&mut events[0], "agreed").await;
    let forged = idea_agent::te_link::notice_payload(
        &idea_agent::TeNotice::Recorded {
            to: "cell-1@idea".into(),
            transaction: id,
        },
        &forger,
    );
    let _ = forged_client
        .publish(
            fipa_acl::mqtt::inbox_topic(TE_PREFIX, "cell-1@idea"),
            rumqttc::QoS::AtLeastOnce,
            false,
            forged,
        )
        .await;
    // The seller ignores the forged notice (it says so) and is recorded by the node's own.
    let deadline = tokio::time::Instant::now() + StdDuration::from_secs(20);
    let (mut recorded, mut ignored) = (false, false);
    while !(recorded && ignored) {
        let e = tokio::time::timeout_at(deadline, events[0].recv())
            .await
            .unwrap_or_else(|_| panic!("recorded {recorded}, forged notice ignored {ignored}"))
            .unwrap();
        if e.what == "recorded" {
            assert_eq!((e.transaction, e.step), (Some(id), "UC-04"));
            recorded = true;
        }
        if e.what == "undecodable" {
            assert_eq!(e.detail, "a TE notice that is not the node's");
            ignored = true;
        }
    }
    let e = wait_for(&mut events[1], "recorded").await;
    assert_eq!(e.transaction, Some(id));
    let seller = running.remove(0).stop().await.unwrap();
    running.remove(0).stop().await.unwrap();
    let node = service.stop().await.unwrap();
    assert_eq!(node.contracts().len(), 1);
    assert_eq!(
        seller.transactions().get(&id).unwrap().lifecycle.state(),
        TransactionState::Recorded
    );
    let _ = broker;
}
