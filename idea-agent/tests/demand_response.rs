//! P2O with the operator's demand-response service: three prosumers whose owners sell flexibility at 6, 9
//! and 12 per kWh; the service needs 8 kW for a quarter hour at most 10 per kWh. The cheapest cell can give
//! all of it and is bought from; the second is rejected and released; the third refuses the cap. The
//! contract — signed by the cell, countersigned by the operator's avatar — is recorded by the TE node and the
//! cell's agent reaches `recorded`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use common::*;
use fipa_acl::{AclMessage, AgentIdentifier};
use idea_agent::demand_response::{DemandResponseConfig, DemandResponseService};
use idea_agent::{Agent, AgentConfig, Output, Peer, TeIdentity, TeNode, TeNotice};
use idea_proto::*;
use te_contract::AvatarId;
use te_contract::registry::{AvatarKind, Registration};

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn operator_avatar() -> AvatarId {
    AvatarId::from_bytes([70; 16])
}

fn operator_key() -> SigningKey {
    SigningKey::from_bytes(&[70; 32])
}

/// Cell `n`'s agent selling flexibility at `floor` per kWh.
fn cell(n: u8, floor: i64) -> Agent {
    let name = format!("cell-{n}");
    let mut a = Agent::new(AgentConfig {
        me: AgentIdentifier::new(format!("{name}@idea")),
        key: key(n),
        settings: settings(&name, |s| {
            s.replace("flexibility = 6", &format!("flexibility = {floor}"))
        }),
        id_seed: [n; 16],
        te: Some(TeIdentity {
            deployment: deployment(),
            avatar: avatar(n),
            key_version: 0,
        }),
    });
    a.add_behaviour(Box::new(idea_agent::P2pSeller::new()))
        .unwrap();
    a
}

/// Runs one call for `need_w` among cells selling at 6, 9 and 12 per kWh (cap 10); returns the outcome,
/// the cells, the node and the cells' events.
fn call(
    need_w: i64,
) -> (
    idea_agent::demand_response::FlexibilityOutcome,
    Vec<Agent>,
    TeNode,
    Vec<idea_agent::Event>,
) {
    let now = t("2026-12-02T10:00:00Z");
    let mut registry = registry(&[1, 2, 3]);
    let registrar_key = SigningKey::from_bytes(&[100; 32]);
    let registrar = AvatarId::from_bytes([100; 16]);
    let mut reg = te_contract::Signed::new(
        deployment(),
        Registration {
            registrar,
            avatar: operator_avatar(),
            kind: AvatarKind::User(UserId::new("dso").unwrap()),
            key: PublicKey::from(&operator_key()),
            at: t("2026-12-01T00:00:00Z"),
        },
    );
    reg.sign(registrar, 0, &registrar_key).unwrap();
    reg.sign(operator_avatar(), 0, &operator_key()).unwrap();
    registry.register(&reg).unwrap();
    let mut node = TeNode::new(registry);
    let mut dr = DemandResponseService::new(DemandResponseConfig {
        me: AgentIdentifier::new("demand-response@dso"),
        key: operator_key(),
        agent_id: AgentId::new("dso-dr").unwrap(),
        service: ServiceId::new("demand-response").unwrap(),
        operator: UserId::new("dso").unwrap(),
        currency: Currency::new("EUR", 2).unwrap(),
        price_cap_per_kwh: 10,
        penalty_per_kwh: 20,
        tolerance: ToleranceBand::default(),
        reply_within: Duration::from_secs(30),
        te: Some((deployment(), operator_avatar(), 0)),
    });
    let service_peer = Peer {
        agent: AgentIdentifier::new("demand-response@dso"),
        cell: None,
        key: PublicKey::from(&operator_key()),
        avatar: Some(operator_avatar()),
    };
    let mut cells: Vec<Agent> = [(1, 6), (2, 9), (3, 12)]
        .into_iter()
        .map(|(n, floor)| {
            let mut a = cell(n, floor);
            a.handle_stored_energy(8_000, now);
            a.add_peer(service_peer.clone()).unwrap();
            dr.add_peer(te_peer(&a, n)).unwrap();
            node.bind_agent(avatar(n), a.me().name.clone());
            a
        })
        .collect();

    let window = DeliveryWindow::new(t("2026-12-02T11:00:00Z"), 900, 1).unwrap();
    let call = dr.call_for_flexibility(window, need_w, now).unwrap();
    let mut events = Vec::new();
    for _ in 0..50 {
        let mut mail: Vec<AclMessage> = std::iter::from_fn(|| dr.poll_transmit()).collect();
        for a in &mut cells {
            while let Some(out) = a.poll_transmit() {
                match out {
                    Output::Acl(m) => mail.push(*m),
                    Output::Te(s) => node.handle_submission(&a.me().name, s, now),
                    _ => {}
                }
            }
            events.extend(std::iter::from_fn(|| a.poll_event()));
        }
        while let Some(s) = dr.poll_submission() {
            node.handle_submission("demand-response@dso", s, now);
        }
        while let Some(n) = node.poll_notice() {
            if let TeNotice::Recorded { to, .. } = &n
                && let Some(a) = cells.iter_mut().find(|a| &a.me().name == to)
            {
                a.handle_te_notice(&n, now).unwrap();
            }
        }
        if mail.is_empty() {
            break;
        }
        for m in mail {
            let mut wire = Vec::new();
            m.encode_string(&mut wire).unwrap();
            let (m, _) = AclMessage::decode_string(&wire).unwrap();
            if m.receivers.iter().any(|r| r.name == "demand-response@dso") {
                dr.handle_acl(m, now);
            } else {
                for a in &mut cells {
                    if m.receivers.contains(a.me()) {
                        a.handle_acl(m.clone(), now);
                    }
                }
            }
        }
    }

    let outcome = dr.poll_outcome().expect("the call was decided");
    assert_eq!(outcome.call, call);
    (outcome, cells, node, events)
}

#[test]
fn the_operator_buys_the_cheapest_flexibility_and_the_contracts_are_recorded() {
    let (outcome, cells, node, events) = call(8_000);
    assert!(
        events.iter().any(
            |e| e.agent == "cell-3@idea" && e.detail == "10 per kWh is below the owner's floor"
        ),
        "the dearest cell refused the cap: {events:?}"
    );
    assert_eq!(outcome.shortfall_w, 0);
    let bought: Vec<(&str, i64, i64)> = outcome
        .bought
        .iter()
        .map(|(who, _, w, price)| (who.as_str(), *w, *price))
        .collect();
    assert_eq!(
        bought,
        [("cell-1@idea", 8_000, 6)],
        "the cheapest cell covers the whole need"
    );
    // Each cell's side: the cheapest is recorded, the others rejected and released.
    let state = |a: &Agent| {
        a.transactions()
            .iter()
            .map(|(_, t)| t.lifecycle.state())
            .next()
            .unwrap()
    };
    assert_eq!(state(&cells[0]), TransactionState::Recorded);
    assert_eq!(state(&cells[1]), TransactionState::Rejected);
    assert_eq!(state(&cells[2]), TransactionState::Rejected);
    assert!(cells[1].book().commitments().is_empty());
    assert_eq!(
        node.contracts().len(),
        1,
        "{:?}",
        node.refusals().collect::<Vec<_>>()
    );
    let recorded = node.contracts().get(&outcome.bought[0].1).unwrap();
    assert_eq!(recorded.signed.body().buyer, operator_avatar());
    assert_eq!(recorded.signed.body().seller, avatar(1));
}

/// A need larger than one cell's room (12 kW against 8 kW export limits): each cell counters with what it can
/// give, and the operator buys from the two cheapest (the last taken whole, beyond the need).
#[test]
fn a_need_beyond_one_cell_is_covered_by_counter_offers_of_several() {
    let (outcome, cells, node, _) = call(12_000);
    let bought: Vec<(&str, i64, i64)> = outcome
        .bought
        .iter()
        .map(|(who, _, w, price)| (who.as_str(), *w, *price))
        .collect();
    assert_eq!(
        bought,
        [("cell-1@idea", 8_000, 6), ("cell-2@idea", 8_000, 9)]
    );
    assert_eq!(outcome.shortfall_w, 0);
    let states: Vec<TransactionState> = cells
        .iter()
        .map(|a| {
            a.transactions()
                .iter()
                .map(|(_, t)| t.lifecycle.state())
                .next()
                .unwrap()
        })
        .collect();
    assert_eq!(
        states,
        [
            TransactionState::Recorded,
            TransactionState::Recorded,
            TransactionState::Rejected
        ]
    );
    assert_eq!(node.contracts().len(), 2);
}
