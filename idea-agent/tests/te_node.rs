//! UC-04 through the TE node: after agreement the seller signs the contract, the buyer checks and
//! countersigns it and submits it, the node records it once against its avatar registry and both agents move
//! to `recorded`. A replay, a contract altered after signing, and a contract of avatars the registry does not
//! know are refused, kept on record and told to the submitter; the agreement is never recorded twice.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use common::*;
use idea_agent::te_node::TeNotice;
use idea_agent::{Agent, BuyOrder, P2pBuyer, TeIdentity, TeNode, TeSubmission};
use idea_proto::*;
use te_contract::registry::{AvatarKind, Registration, Registry};
use te_contract::{AvatarId, DeploymentId, Signed};

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

const T0: &str = "2026-12-02T10:00:00Z";

fn deployment() -> DeploymentId {
    DeploymentId::new("idea-test").unwrap()
}

fn avatar(n: u8) -> AvatarId {
    AvatarId::from_bytes([n; 16])
}

/// A registry with the agents `ns` registered (avatar n, key n).
fn registry(ns: &[u8]) -> Registry {
    let registrar_key = SigningKey::from_bytes(&[100; 32]);
    let registrar = AvatarId::from_bytes([100; 16]);
    let now = t("2026-12-01T00:00:00Z");
    let mut registry = Registry::new(
        deployment(),
        registrar,
        PublicKey::from(&registrar_key),
        now,
    );
    for &n in ns {
        let mut r = Signed::new(
            deployment(),
            Registration {
                registrar,
                avatar: avatar(n),
                kind: AvatarKind::Agent(AgentId::new(format!("agent-cell-{n}")).unwrap()),
                key: PublicKey::from(&key(n)),
                at: now,
            },
        );
        r.sign(registrar, 0, &registrar_key).unwrap();
        r.sign(avatar(n), 0, &key(n)).unwrap();
        registry.register(&r).unwrap();
    }
    registry
}

fn te_agent(n: u8) -> Agent {
    let cell = format!("cell-{n}");
    let mut a = idea_agent::Agent::new(idea_agent::AgentConfig {
        me: identifier(&format!("{cell}@idea")),
        key: key(n),
        settings: settings(&cell, |s| s),
        id_seed: [n; 16],
        te: Some(TeIdentity {
            deployment: deployment(),
            avatar: avatar(n),
            key_version: 0,
        }),
    });
    a.add_behaviour(Box::new(idea_agent::P2pSeller::new()))
        .unwrap();
    a.add_behaviour(Box::new(P2pBuyer::new())).unwrap();
    a
}

fn te_peer(a: &Agent, n: u8) -> idea_agent::Peer {
    idea_agent::Peer {
        avatar: Some(avatar(n)),
        ..peer_of(a, n)
    }
}

fn agreed_pair(node: &mut TeNode) -> (Agent, Agent, TransactionId, Trace) {
    let mut seller = te_agent(1);
    let mut buyer = te_agent(2);
    seller.handle_stored_energy(8_000, t(T0));
    seller.add_peer(te_peer(&buyer, 2)).unwrap();
    buyer.add_peer(te_peer(&seller, 1)).unwrap();
    node.bind_agent(avatar(1), "cell-1@idea");
    node.bind_agent(avatar(2), "cell-2@idea");
    let order = BuyOrder {
        service: ServiceId::new("p2p-market").unwrap(),
        subject: Subject::Energy,
        window: DeliveryWindow::new(t("2026-12-02T11:00:00Z"), 900, 2).unwrap(),
        profile: Profile::Energy(vec![Energy::from_wh(600), Energy::from_wh(600)]),
        sellers: Vec::new(),
        reply_within: Duration::from_secs(30),
        tolerance: ToleranceBand::default(),
        penalty_per_kwh: 40,
    };
    let now = t(T0);
    let id = buyer
        .with_behaviour::<P2pBuyer, _>(now, |b, cx| b.buy(cx, order))
        .unwrap()
        .unwrap()[0];
    let mut trace = Trace::default();
    pump(&mut [&mut seller, &mut buyer], now, &mut trace);
    (seller, buyer, id, trace)
}

fn deliver(node: &mut TeNode, agents: &mut [&mut Agent], now: Timestamp) -> Vec<TeNotice> {
    let mut notices = Vec::new();
    while let Some(n) = node.poll_notice() {
        for a in agents.iter_mut() {
            let to = match &n {
                TeNotice::Recorded { to, .. } | TeNotice::Refused { to, .. } => to,
                _ => continue,
            };
            if to == &a.me().name {
                a.handle_te_notice(&n, now).unwrap();
            }
        }
        notices.push(n);
    }
    notices
}

#[test]
fn the_agreed_contract_is_signed_by_both_recorded_once_and_both_agents_hear_it() {
    let mut node = TeNode::new(registry(&[1, 2]));
    let (mut seller, mut buyer, id, mut trace) = agreed_pair(&mut node);
    assert_eq!(trace.te.len(), 1, "the buyer submits once");
    let (from, submission) = trace.te.remove(0);
    assert_eq!(from, "cell-2@idea");
    let TeSubmission::RecordContract(signed) = &submission else {
        panic!("{submission:?}");
    };
    assert_eq!(signed.signatures().len(), 2);
    assert_eq!(
        signed.body().transaction.terms.price.minor_units_per_kwh,
        18
    );

    // Over the wire form.
    let mut bytes = Vec::new();
    submission.encode(&mut bytes);
    let now = t("2026-12-02T10:00:05Z");
    node.handle_bytes(&from, &bytes, now);
    let notices = deliver(&mut node, &mut [&mut seller, &mut buyer], now);
    assert_eq!(notices.len(), 2);
    assert_eq!(node.contracts().len(), 1);
    for a in [&seller, &buyer] {
        assert_eq!(
            a.transactions().get(&id).unwrap().lifecycle.state(),
            TransactionState::Recorded
        );
        assert_eq!(
            a.book().commitments()[0].strength,
            idea_agent::commitment::Strength::Binding
        );
    }

    // The same bytes again: a replay, refused and kept on record; the states do not move.
    node.handle_bytes(&from, &bytes, now);
    let notices = deliver(&mut node, &mut [&mut seller, &mut buyer], now);
    assert!(
        matches!(&notices[..], [TeNotice::Refused { to, transaction: Some(x), reason }]
            if to == "cell-2@idea" && *x == id && reason.contains("contract")),
        "{notices:?}"
    );
    assert_eq!(node.refusals().count(), 1);
    assert_eq!(node.contracts().len(), 1);
    while buyer
        .poll_event()
        .is_some_and(|e| e.what != "recording-refused")
    {}
}

#[test]
fn altered_unknown_and_garbled_submissions_are_refused() {
    let mut node = TeNode::new(registry(&[1, 2]));
    let (_seller, _buyer, id, mut trace) = agreed_pair(&mut node);
    let (from, TeSubmission::RecordContract(signed)) = trace.te.remove(0) else {
        panic!()
    };
    let now = t("2026-12-02T10:00:05Z");

    // The buyer lowers the price after the seller signed and signs the altered contract itself.
    let mut body = signed.body().clone();
    let mut spec = body.transaction.terms.clone().into_spec();
    spec.price.minor_units_per_kwh = 1;
    body.transaction = body
        .transaction
        .with_terms(Terms::new(spec).unwrap())
        .unwrap();
    let mut forged = Signed::new(deployment(), body);
    forged.sign(avatar(1), 0, &key(2)).unwrap();
    forged.sign(avatar(2), 0, &key(2)).unwrap();
    node.handle_submission(&from, TeSubmission::RecordContract(Box::new(forged)), now);

    // Avatars the registry does not know.
    let mut stranger = Signed::new(
        deployment(),
        te_contract::contract::Contract {
            seller: avatar(7),
            buyer: avatar(8),
            ..signed.body().clone()
        },
    );
    stranger.sign(avatar(7), 0, &key(7)).unwrap();
    stranger.sign(avatar(8), 0, &key(8)).unwrap();
    node.handle_submission(&from, TeSubmission::RecordContract(Box::new(stranger)), now);

    // Bytes that are no submission.
    node.handle_bytes(&from, &[9, 1, 2, 3], now);
    node.handle_bytes(&from, &[], now);

    let refusals: Vec<(Option<TransactionId>, String)> = node
        .refusals()
        .map(|r| (r.transaction, r.reason.clone()))
        .collect();
    assert_eq!(refusals.len(), 4, "{refusals:?}");
    assert_eq!(refusals[0].0, Some(id));
    assert!(refusals[0].1.contains("signature"), "{refusals:?}");
    assert!(
        refusals[1].1.contains("avatar") || refusals[1].1.contains("unknown"),
        "{refusals:?}"
    );
    assert!(
        refusals[2].1.contains("unknown submission tag 9"),
        "{refusals:?}"
    );
    assert!(refusals[3].1.contains("empty submission"), "{refusals:?}");
    assert_eq!(node.contracts().len(), 0);
    // The genuine one still records afterwards.
    node.handle_submission(&from, TeSubmission::RecordContract(signed), now);
    assert_eq!(node.contracts().len(), 1);
}

#[test]
fn a_buyer_without_the_sellers_avatar_does_not_countersign() {
    let mut node = TeNode::new(registry(&[1, 2]));
    let mut seller = te_agent(1);
    let mut buyer = te_agent(2);
    seller.handle_stored_energy(8_000, t(T0));
    seller.add_peer(te_peer(&buyer, 2)).unwrap();
    // The buyer's directory entry for the seller carries another avatar: the seller's contract names
    // avatar 1, so the buyer refuses to countersign it.
    buyer
        .add_peer(idea_agent::Peer {
            avatar: Some(avatar(5)),
            ..peer_of(&seller, 1)
        })
        .unwrap();
    node.bind_agent(avatar(1), "cell-1@idea");
    let order = BuyOrder {
        service: ServiceId::new("p2p-market").unwrap(),
        subject: Subject::Energy,
        window: DeliveryWindow::new(t("2026-12-02T11:00:00Z"), 900, 1).unwrap(),
        profile: Profile::Energy(vec![Energy::from_wh(600)]),
        sellers: Vec::new(),
        reply_within: Duration::from_secs(30),
        tolerance: ToleranceBand::default(),
        penalty_per_kwh: 40,
    };
    let now = t(T0);
    buyer
        .with_behaviour::<P2pBuyer, _>(now, |b, cx| b.buy(cx, order))
        .unwrap()
        .unwrap();
    let mut trace = Trace::default();
    pump(&mut [&mut seller, &mut buyer], now, &mut trace);
    assert!(trace.te.is_empty());
    let refused = trace
        .events
        .iter()
        .find(|e| e.what == "contract-not-signed")
        .unwrap();
    assert_eq!(refused.detail, "the contract names other avatars");
}
