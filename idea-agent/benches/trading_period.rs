//! One settlement period's trading among many agents in one process: every buyer calls for offers from three
//! sellers, each seller offers at its floor, each buyer accepts the cheapest, the seller signs the contract,
//! the buyer countersigns it and the TE node records it. Every ACL message is signed, encoded in the string
//! representation, decoded and verified, as over MQTT (the broker itself is not in the loop).
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
    Agent, AgentConfig, BuyOrder, Output, OwnerSettings, P2pBuyer, P2pSeller, Peer, TeIdentity,
    TeNode,
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
    let mut wire = Vec::new();
    loop {
        let mut mail: Vec<(usize, AclMessage)> = Vec::new();
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
                    Output::Te(s) => c.node.handle_submission(&a.me().name, s, now),
                    _ => {}
                }
            }
            while a.poll_event().is_some() {}
        }
        if mail.is_empty() {
            break;
        }
        for (i, m) in mail {
            c.agents[i].handle_acl(m, now);
        }
    }
    while let Some(notice) = c.node.poll_notice() {
        if let idea_agent::TeNotice::Recorded { to, .. } = &notice
            && let Some(&i) = c.index.get(to)
        {
            c.agents[i].handle_te_notice(&notice, now).unwrap();
        }
    }
    c.node.contracts().len()
}

fn bench(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("trading_period");
    group.sample_size(10);
    for n in [100usize, 1_000] {
        // Every buyer ends with one recorded contract.
        let mut check = complex(n);
        assert_eq!(trade(&mut check), n / 2);
        group.bench_function(format!("{n}_agents"), |b| {
            b.iter_batched(|| complex(n), |mut c| trade(&mut c), BatchSize::LargeInput)
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
