//! One settlement period's trading among many agents in one process: every buyer calls for offers from three
//! sellers, each seller offers at its floor, each buyer accepts the cheapest, the seller signs the contract,
//! the buyer countersigns it and the TE node records it. Every ACL message is signed, encoded in the string
//! representation, decoded and verified, as over MQTT (the broker itself is not in the loop). Each round,
//! every party takes what arrived for it as one batch, as a runtime draining its inbox does: the agents and
//! the market check the ACL signatures of their inbox together, the TE node those of its submissions.
//!
//! The same period through the P2P market: every agent places one signed order with the market service, the
//! market clears the book at gate closure and tells each matched pair its contract; the seller signs, the
//! buyer countersigns, the TE node records.
//!
//! `cargo bench -p idea-agent --bench trading_period`; the figures go in the crate README. The goal of issue
//! 21: 1,000 agents complete a period in under 0.5 s on the 2-core reference machine.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    missing_docs
)]

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use fipa_acl::{AclMessage, AgentIdentifier};
use idea_agent::{
    Agent, AgentConfig, BuyOrder, MarketConfig, MarketParticipant, MarketService, Output,
    OwnerSettings, P2pBuyer, P2pSeller, Peer, TeIdentity, TeNode,
};
use idea_proto::*;
use std::collections::HashMap;
use te_contract::registry::{AvatarKind, Registration, Registry};
use te_contract::{AvatarId, DeploymentId, Signed};

const SETTINGS: &str = include_str!("../data/prosumer.toml");

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn key(i: usize) -> SigningKey {
    let mut b = [7u8; 32];
    b[..8].copy_from_slice(&(i as u64).to_be_bytes());
    SigningKey::from_bytes(&b)
}

fn avatar(i: usize) -> AvatarId {
    let mut b = [1u8; 16];
    b[..8].copy_from_slice(&(i as u64).to_be_bytes());
    AvatarId::from_bytes(b)
}

struct Complex {
    agents: Vec<Agent>,
    index: HashMap<String, usize>,
    node: TeNode,
    buyers: usize,
}

fn complex(n: usize) -> Complex {
    let deployment = DeploymentId::new("bench").unwrap();
    let at = t("2026-12-01T00:00:00Z");
    let registrar_key = SigningKey::from_bytes(&[200; 32]);
    let registrar = AvatarId::from_bytes([200; 16]);
    let mut registry = Registry::new(
        deployment.clone(),
        registrar,
        PublicKey::from(&registrar_key),
        at,
    );
    let base = OwnerSettings::from_toml(SETTINGS).unwrap();
    let mut agents = Vec::with_capacity(n);
    for i in 0..n {
        let mut spec = base.cell.clone().into_spec();
        spec.id = CellId::new(format!("cell-{i}")).unwrap();
        spec.agent = AgentId::new(format!("agent-{i}")).unwrap();
        let settings = OwnerSettings {
            cell: PowerCell::new(spec).unwrap(),
            ..base.clone()
        };
        let mut r = Signed::new(
            deployment.clone(),
            Registration {
                registrar,
                avatar: avatar(i),
                kind: AvatarKind::Agent(settings.cell.agent.clone()),
                key: PublicKey::from(&key(i)),
                at,
            },
        );
        r.sign(registrar, 0, &registrar_key).unwrap();
        r.sign(avatar(i), 0, &key(i)).unwrap();
        registry.register(&r).unwrap();
        let mut a = Agent::new(AgentConfig {
            me: AgentIdentifier::new(format!("cell-{i}@idea")),
            key: key(i),
            settings,
            id_seed: {
                let mut seed = [3u8; 16];
                seed[..8].copy_from_slice(&(i as u64).to_be_bytes());
                seed
            },
            te: Some(TeIdentity {
                deployment: deployment.clone(),
                avatar: avatar(i),
                key_version: 0,
            }),
        });
        a.add_behaviour(Box::new(P2pSeller::new())).unwrap();
        a.add_behaviour(Box::new(P2pBuyer::new())).unwrap();
        a.handle_stored_energy(8_000, at);
        agents.push(a);
    }
    let buyers = n / 2;
    let peer = |a: &Agent, i: usize| Peer {
        agent: a.me().clone(),
        cell: Some(CellRef::new(
            a.settings().cell.id.clone(),
            a.settings().cell.cell_type,
        )),
        key: PublicKey::from(&key(i)),
        avatar: Some(avatar(i)),
    };
    let mut node = TeNode::new(registry);
    for b in 0..buyers {
        for k in 0..3 {
            let s = buyers + (b + k) % (n - buyers);
            let sp = peer(&agents[s], s);
            let bp = peer(&agents[b], b);
            agents[b].add_peer(sp).unwrap();
            agents[s].add_peer(bp).unwrap();
        }
    }
    let index = agents
        .iter()
        .enumerate()
        .map(|(i, a)| (a.me().name.clone(), i))
        .collect();
    for (i, a) in agents.iter().enumerate() {
        node.bind_agent(avatar(i), a.me().name.clone());
    }
    Complex {
        agents,
        index,
        node,
        buyers,
    }
}

/// Runs one period's trading; returns the contracts recorded.
fn trade(c: &mut Complex) -> usize {
    let now = t("2026-12-02T10:00:00Z");
    place_buy_orders(c, now);
    deliver_serial(c, now);
    c.node.contracts().len()
}

/// Every buyer calls for offers.
fn place_buy_orders(c: &mut Complex, now: Timestamp) {
    for b in 0..c.buyers {
        let order = BuyOrder {
            service: ServiceId::new("p2p-market").unwrap(),
            subject: Subject::Energy,
            window: DeliveryWindow::new(t("2026-12-02T10:15:00Z"), 900, 1).unwrap(),
            profile: Profile::Energy(vec![Energy::from_wh(500)]),
            sellers: Vec::new(),
            reply_within: Duration::from_secs(30),
            tolerance: ToleranceBand::default(),
            penalty_per_kwh: 40,
        };
        c.agents[b]
            .with_behaviour::<P2pBuyer, _>(now, |p, cx| p.buy(cx, order))
            .unwrap()
            .unwrap();
    }
}

/// Delivers until quiet on one thread.
fn deliver_serial(c: &mut Complex, now: Timestamp) {
    let mut wire = Vec::new();
    loop {
        let mut mail: Vec<(usize, AclMessage)> = Vec::new();
        let mut te = Vec::new();
        for a in &mut c.agents {
            while let Some(out) = a.poll_transmit() {
                match out {
                    Output::Acl(m) => {
                        wire.clear();
                        m.encode_string(&mut wire).unwrap();
                        let (m, _) = AclMessage::decode_string(&wire).unwrap();
                        for r in &m.receivers {
                            if let Some(&i) = c.index.get(&r.name) {
                                mail.push((i, m.clone()));
                            }
                        }
                    }
                    Output::Te(s) => te.push((a.me().name.clone(), s)),
                    _ => {}
                }
            }
            while a.poll_event().is_some() {}
        }
        // The TE node and every agent take their inboxes as batches (signatures checked together).
        c.node.handle_submissions(te, now);
        if mail.is_empty() {
            break;
        }
        let mut inboxes: Vec<Vec<AclMessage>> = vec![Vec::new(); c.agents.len()];
        for (i, m) in mail {
            inboxes[i].push(m);
        }
        for (a, inbox) in c.agents.iter_mut().zip(inboxes) {
            a.handle_acl_batch(inbox, now);
        }
    }
    while let Some(notice) = c.node.poll_notice() {
        if let idea_agent::TeNotice::Recorded { to, .. } = &notice
            && let Some(&i) = c.index.get(to)
        {
            c.agents[i].handle_te_notice(&notice, now).unwrap();
        }
    }
}

struct MarketComplex {
    agents: Vec<Agent>,
    index: HashMap<String, usize>,
    node: TeNode,
    market: MarketService,
}

fn market_complex(n: usize) -> MarketComplex {
    let Complex {
        mut agents,
        index,
        node,
        ..
    } = complex(n);
    let market_key = SigningKey::from_bytes(&[201; 32]);
    let market_id = AgentIdentifier::new("market@idea");
    let mut market = MarketService::new(MarketConfig {
        me: market_id.clone(),
        key: market_key.clone(),
        service: ServiceId::new("p2p-market").unwrap(),
        operator: UserId::new("market-operator").unwrap(),
        currency: Currency::new("EUR", 2).unwrap(),
        period_s: 900,
        gate_closure: Duration::from_mins(5),
        tolerance: ToleranceBand::default(),
        penalty_per_kwh: 40,
        deployment: DeploymentId::new("bench").unwrap(),
    });
    let market_peer = Peer {
        agent: market_id.clone(),
        cell: None,
        key: PublicKey::from(&market_key),
        avatar: None,
    };
    let peers: Vec<Peer> = agents
        .iter()
        .enumerate()
        .map(|(i, a)| Peer {
            agent: a.me().clone(),
            cell: Some(CellRef::new(
                a.settings().cell.id.clone(),
                a.settings().cell.cell_type,
            )),
            key: PublicKey::from(&key(i)),
            avatar: Some(avatar(i)),
        })
        .collect();
    for (i, a) in agents.iter_mut().enumerate() {
        a.add_behaviour(Box::new(MarketParticipant::new(market_id.clone())))
            .unwrap();
        a.add_peer(market_peer.clone()).unwrap();
        // A seller needs to know its buyers to send them the contract, and a buyer its sellers.
        for p in &peers {
            if p.agent != *a.me() {
                let _ = i;
                a.add_peer(p.clone()).unwrap();
            }
        }
    }
    for p in peers {
        market.add_peer(p).unwrap();
    }
    MarketComplex {
        agents,
        index,
        node,
        market,
    }
}

fn deliver(
    agents: &mut [Agent],
    index: &HashMap<String, usize>,
    node: &mut TeNode,
    market: &mut MarketService,
    now: Timestamp,
) {
    let mut wire = Vec::new();
    loop {
        let mut mail: Vec<AclMessage> = Vec::new();
        let mut te = Vec::new();
        for a in agents.iter_mut() {
            while let Some(out) = a.poll_transmit() {
                match out {
                    Output::Acl(m) => mail.push(*m),
                    Output::Te(s) => te.push((a.me().name.clone(), s)),
                    _ => {}
                }
            }
            while a.poll_event().is_some() {}
        }
        while let Some(m) = market.poll_transmit() {
            mail.push(m);
        }
        node.handle_submissions(te, now);
        if mail.is_empty() {
            break;
        }
        // The market and every agent take their inboxes as batches (signatures checked together).
        let mut to_market = Vec::new();
        let mut inboxes: Vec<Vec<AclMessage>> = vec![Vec::new(); agents.len()];
        for m in mail {
            wire.clear();
            m.encode_string(&mut wire).unwrap();
            let (m, _) = AclMessage::decode_string(&wire).unwrap();
            for r in &m.receivers {
                if r == market.me() {
                    to_market.push(m.clone());
                } else if let Some(&i) = index.get(&r.name) {
                    inboxes[i].push(m.clone());
                }
            }
        }
        market.handle_acl_batch(to_market, now);
        for (a, inbox) in agents.iter_mut().zip(inboxes) {
            a.handle_acl_batch(inbox, now);
        }
    }
    while let Some(notice) = node.poll_notice() {
        if let idea_agent::TeNotice::Recorded { to, .. } = &notice
            && let Some(&i) = index.get(to)
        {
            agents[i].handle_te_notice(&notice, now).unwrap();
        }
    }
}

/// What one agent sent in a round: ACL messages as the wire carries them (string representation), by
/// receiver, and TE submissions.
type Sent = (
    Vec<(String, Vec<u8>)>,
    Vec<(String, idea_agent::TeSubmission)>,
);

/// Delivers until quiet with the agents split over `threads` threads (as a multi-threaded runtime runs them):
/// each round, every agent's outputs are taken (and signed) in parallel, the TE node and the market (one
/// each) take theirs in turn, and every agent's inbox is decoded and verified in parallel.
fn deliver_parallel(
    agents: &mut [Agent],
    index: &HashMap<String, usize>,
    node: &mut TeNode,
    mut market: Option<&mut MarketService>,
    now: Timestamp,
    threads: usize,
) {
    let size = agents.len().div_ceil(threads).max(1);
    loop {
        let sent: Vec<Sent> = std::thread::scope(|scope| {
            let handles: Vec<_> = agents
                .chunks_mut(size)
                .map(|chunk| {
                    scope.spawn(move || {
                        let mut mail = Vec::new();
                        let mut te = Vec::new();
                        for a in chunk.iter_mut() {
                            while let Some(out) = a.poll_transmit() {
                                match out {
                                    Output::Acl(m) => {
                                        let mut wire = Vec::new();
                                        m.encode_string(&mut wire).unwrap();
                                        for r in &m.receivers {
                                            mail.push((r.name.clone(), wire.clone()));
                                        }
                                    }
                                    Output::Te(s) => te.push((a.me().name.clone(), s)),
                                    _ => {}
                                }
                            }
                            while a.poll_event().is_some() {}
                        }
                        (mail, te)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut inboxes: Vec<Vec<Vec<u8>>> = vec![Vec::new(); agents.len()];
        let mut market_inbox = Vec::new();
        let market_name = market.as_deref().map(|m| m.me().name.clone());
        let mut any = false;
        let mut route = |to: &str, wire: Vec<u8>, market_inbox: &mut Vec<AclMessage>| {
            any = true;
            if market_name.as_deref() == Some(to) {
                market_inbox.push(AclMessage::decode_string(&wire).unwrap().0);
            } else if let Some(&i) = index.get(to) {
                inboxes[i].push(wire);
            }
        };
        let mut submissions = Vec::new();
        for (mail, te) in sent {
            submissions.extend(te);
            for (to, wire) in mail {
                route(&to, wire, &mut market_inbox);
            }
        }
        node.handle_submissions(submissions, now);
        if let Some(m) = market.as_deref_mut() {
            m.handle_acl_batch(std::mem::take(&mut market_inbox), now);
            let mut out = Vec::new();
            while let Some(msg) = m.poll_transmit() {
                out.push(msg);
            }
            for msg in out {
                let mut wire = Vec::new();
                msg.encode_string(&mut wire).unwrap();
                for r in &msg.receivers {
                    route(&r.name, wire.clone(), &mut market_inbox);
                }
            }
        }
        if !any {
            break;
        }
        std::thread::scope(|scope| {
            for (chunk, inbox) in agents.chunks_mut(size).zip(inboxes.chunks_mut(size)) {
                scope.spawn(move || {
                    for (a, mail) in chunk.iter_mut().zip(inbox.iter_mut()) {
                        let batch = mail
                            .drain(..)
                            .map(|wire| AclMessage::decode_string(&wire).unwrap().0)
                            .collect();
                        a.handle_acl_batch(batch, now);
                    }
                });
            }
        });
    }
    while let Some(notice) = node.poll_notice() {
        if let idea_agent::TeNotice::Recorded { to, .. } = &notice
            && let Some(&i) = index.get(to)
        {
            agents[i].handle_te_notice(&notice, now).unwrap();
        }
    }
}

/// [`trade`] with the agents over `threads` threads.
fn trade_parallel(c: &mut Complex, threads: usize) -> usize {
    let now = t("2026-12-02T10:00:00Z");
    place_buy_orders(c, now);
    deliver_parallel(&mut c.agents, &c.index, &mut c.node, None, now, threads);
    c.node.contracts().len()
}

/// [`trade_on_market`] with the agents over `threads` threads.
fn trade_on_market_parallel(c: &mut MarketComplex, threads: usize) -> usize {
    let now = t("2026-12-02T10:00:00Z");
    place_market_orders(c, now);
    deliver_parallel(
        &mut c.agents,
        &c.index,
        &mut c.node,
        Some(&mut c.market),
        now,
        threads,
    );
    let closes = c.market.poll_timeout().unwrap();
    c.market.handle_timeout(closes);
    deliver_parallel(
        &mut c.agents,
        &c.index,
        &mut c.node,
        Some(&mut c.market),
        closes,
        threads,
    );
    c.node.contracts().len()
}

/// One period through the market; returns the contracts recorded.
fn trade_on_market(c: &mut MarketComplex) -> usize {
    let now = t("2026-12-02T10:00:00Z");
    place_market_orders(c, now);
    deliver(&mut c.agents, &c.index, &mut c.node, &mut c.market, now);
    let closes = c.market.poll_timeout().unwrap();
    c.market.handle_timeout(closes);
    deliver(&mut c.agents, &c.index, &mut c.node, &mut c.market, closes);
    c.node.contracts().len()
}

/// Half the agents bid, half offer, 500 Wh each.
fn place_market_orders(c: &mut MarketComplex, now: Timestamp) {
    let start = t("2026-12-02T10:15:00Z");
    let n = c.agents.len();
    for (i, a) in c.agents.iter_mut().enumerate() {
        let side = if i < n / 2 { Side::Buyer } else { Side::Seller };
        a.with_behaviour::<MarketParticipant, _>(now, |p, cx| {
            p.place(
                cx,
                ServiceId::new("p2p-market").unwrap(),
                UserId::new("market-operator").unwrap(),
                side,
                start,
                500,
            )
        })
        .unwrap()
        .unwrap();
    }
}

fn bench(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("trading_period");
    group.sample_size(10);
    for n in [100usize, 1_000] {
        // Every buyer ends with one recorded contract.
        let mut check = complex(n);
        assert_eq!(trade(&mut check), n / 2);
        group.bench_function(format!("{n}_agents"), |b| {
            // The complex is returned so that criterion drops it outside the measured time.
            b.iter_batched(
                || complex(n),
                |mut c| {
                    trade(&mut c);
                    c
                },
                BatchSize::LargeInput,
            )
        });
        let mut check = complex(n);
        assert_eq!(trade_parallel(&mut check, 2), n / 2);
        group.bench_function(format!("{n}_agents_2_threads"), |b| {
            b.iter_batched(
                || complex(n),
                |mut c| {
                    trade_parallel(&mut c, 2);
                    c
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
    let mut group = criterion.benchmark_group("market_period");
    group.sample_size(10);
    for n in [100usize, 1_000] {
        let mut check = market_complex(n);
        assert_eq!(trade_on_market(&mut check), n / 2);
        group.bench_function(format!("{n}_agents"), |b| {
            b.iter_batched(
                || market_complex(n),
                |mut c| {
                    trade_on_market(&mut c);
                    c
                },
                BatchSize::LargeInput,
            )
        });
        let mut check = market_complex(n);
        assert_eq!(trade_on_market_parallel(&mut check, 2), n / 2);
        group.bench_function(format!("{n}_agents_2_threads"), |b| {
            b.iter_batched(
                || market_complex(n),
                |mut c| {
                    trade_on_market_parallel(&mut c, 2);
                    c
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
