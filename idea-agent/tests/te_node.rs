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
use idea_agent::{Agent, P2pBuyer, TeNode, TeSubmission};
use idea_proto::*;
use te_contract::Signed;

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

const T0: &str = "2026-12-02T10:00:00Z";

fn agreed_pair(node: &mut TeNode) -> (Agent, Agent, TransactionId, Trace) {
    let mut seller = te_agent(1);
    let mut buyer = te_agent(2);
    seller.handle_stored_energy(8_000, t(T0));
    seller.add_peer(te_peer(&buyer, 2)).unwrap();
    buyer.add_peer(te_peer(&seller, 1)).unwrap();
    node.bind_agent(avatar(1), "cell-1@idea");
    node.bind_agent(avatar(2), "cell-2@idea");
    let order = buy_order(t("2026-12-02T11:00:00Z"), &[600, 600]);
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
            if n.to() == a.me().name {
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
fn submissions_checked_as_one_batch_get_what_they_get_one_at_a_time() {
    let mut node = TeNode::new(registry(&[1, 2]));
    let (_seller, _buyer, id, mut trace) = agreed_pair(&mut node);
    let (from, TeSubmission::RecordContract(signed)) = trace.te.remove(0) else {
        panic!()
    };
    let now = t("2026-12-02T10:00:05Z");
    // The seller's signature replaced by the buyer's: a batch with it fails and each is checked alone.
    let mut forged = Signed::new(deployment(), signed.body().clone());
    forged.sign(avatar(1), 0, &key(2)).unwrap();
    forged.sign(avatar(2), 0, &key(2)).unwrap();
    let inbox = || {
        vec![
            (
                from.clone(),
                TeSubmission::RecordContract(Box::new(forged.clone())),
            ),
            (from.clone(), TeSubmission::RecordContract(signed.clone())),
            (from.clone(), TeSubmission::RecordContract(signed.clone())),
        ]
    };
    let outcome = |node: &TeNode| {
        (
            node.contracts().len(),
            node.refusals()
                .map(|r| (r.transaction, r.reason.clone()))
                .collect::<Vec<_>>(),
        )
    };
    let mut alone = TeNode::new(registry(&[1, 2]));
    for (from, submission) in inbox() {
        alone.handle_submission(&from, submission, now);
    }
    node.handle_submissions(inbox(), now);
    assert_eq!(outcome(&node), outcome(&alone));
    // Recorded once; the forged one and the replay refused.
    let (recorded, refusals) = outcome(&node);
    assert_eq!(recorded, 1);
    assert_eq!(refusals.len(), 2, "{refusals:?}");
    assert!(refusals.iter().all(|(tx, _)| *tx == Some(id)));
    assert!(refusals[0].1.contains("signature"), "{refusals:?}");
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
    let order = buy_order(t("2026-12-02T11:00:00Z"), &[600]);
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

fn reading(sequence: u64, at: &str, export_wh: i64) -> TeSubmission {
    let mut signed = Signed::new(
        deployment(),
        te_contract::meter::MeterReading {
            meter: meter_avatar(),
            sequence,
            at: t(at),
            import_wh: 0,
            export_wh,
        },
    );
    signed.sign(meter_avatar(), 0, &meter_key()).unwrap();
    TeSubmission::MeterReading(Box::new(signed))
}

fn report(id: TransactionId, cell: &str, start: &str, wh: i64) -> MeasurementReport {
    MeasurementReport::new(MeasurementReportFields {
        transaction_id: id,
        cell: CellId::new(cell).unwrap(),
        meter: MeterId::new("meter-cell-1").unwrap(),
        interval_start: t(start),
        interval: Duration::from_secs(900),
        energy: Energy::from_wh(wh),
        average: PowerLevel::new(ActivePower::from_w(wh * 4), ReactivePower::from_var(0)),
    })
    .unwrap()
}

/// A trade of 2 × 600 Wh from cell 1 to cell 2 at 18 c/kWh (no tolerance band, a penalty of 40 c/kWh
/// beyond it), recorded, commanded and delivered (600 Wh, then 550), its meter tokens settled at 11:31 —
/// with the buyer's wallet holding `funds` cents. Returns the node, the agents, the transaction, and what
/// each interval comes to.
struct Delivered {
    node: TeNode,
    seller: Agent,
    buyer: Agent,
    id: TransactionId,
    first: i64,
    second: i64,
    tokens: Vec<Signed<te_contract::meter::DeliveryToken>>,
    /// What the agents put out along the way.
    trace: Trace,
}

fn eur() -> Currency {
    Currency::new("EUR", 2).unwrap()
}

fn delivered_and_settled(funds: i64) -> Delivered {
    delivered_and_settled_on(
        TeNode::new(registry_with_meter(&[1, 2], "meter-cell-1")),
        funds,
    )
}

/// As [`delivered_and_settled`], on `node` (whose registry holds cells 1 and 2 and cell 1's meter); no
/// deposit when `funds` is 0.
fn delivered_and_settled_on(node: TeNode, funds: i64) -> Delivered {
    delivered_and_settled_through(node, funds, None, None)
}

/// Carries the agents' messages between them and their submissions to the node, and the node's notices back,
/// until nothing moves; returns the notices.
fn exchange(
    node: &mut TeNode,
    agents: &mut [&mut Agent],
    now: Timestamp,
    trace: &mut Trace,
) -> Vec<TeNotice> {
    let mut notices = Vec::new();
    for _ in 0..100 {
        pump(agents, now, trace);
        let submissions: Vec<_> = trace.te.drain(..).collect();
        if submissions.is_empty() {
            return notices;
        }
        for (from, s) in submissions {
            node.handle_submission(&from, s, now);
        }
        notices.extend(deliver(node, agents, now));
    }
    panic!("the agents and the node did not settle down");
}

/// As [`delivered_and_settled_on`]; with `channels`, both agents keep debt channels of that credit limit
/// (the seller opens one when the contract is recorded, and the verified intervals go into it).
fn delivered_and_settled_through(
    mut node: TeNode,
    funds: i64,
    channels: Option<i64>,
    journals: Option<&std::path::Path>,
) -> Delivered {
    node.add_meter(
        meter_avatar(),
        te_contract::meter::MeterConfig {
            max_power_w: 20_000,
            reading_interval: Duration::from_secs(900),
            period_s: 900,
        },
    )
    .unwrap();
    if funds > 0 {
        node.wallets_mut()
            .deposit(avatar(2), Money::new(funds, eur()))
            .unwrap();
    }
    let (mut seller, mut buyer, id, mut trace) = agreed_pair(&mut node);
    if let Some(limit) = channels {
        for (n, a) in [(1, &mut seller), (2, &mut buyer)] {
            let keeper = match journals {
                Some(dir) => {
                    idea_agent::ChannelKeeper::with_journal(limit, journal(dir, n)).unwrap()
                }
                None => idea_agent::ChannelKeeper::new(limit),
            };
            a.add_behaviour(Box::new(keeper)).unwrap();
        }
    }
    let (from, submission) = trace.te.remove(0);
    let now = t("2026-12-02T10:00:05Z");
    node.handle_submission(&from, submission, now);
    deliver(&mut node, &mut [&mut seller, &mut buyer], now);
    if channels.is_some() {
        exchange(&mut node, &mut [&mut seller, &mut buyer], now, &mut trace);
    }
    run_until(
        &mut [&mut seller, &mut buyer],
        t("2026-12-02T11:00:00Z"),
        &mut trace,
    );
    for a in [&mut seller, &mut buyer] {
        a.handle_command_result(&id, Ok(()), t("2026-12-02T11:00:01Z"))
            .unwrap();
    }

    // The meter at the seller's connection: 600 Wh in the first quarter hour, 550 in the second.
    let delivered = [600, 550];
    let mut signed_tokens = Vec::new();
    for (seq, (at, export)) in [
        ("2026-12-02T11:00:00Z", 0),
        ("2026-12-02T11:15:00Z", 600),
        ("2026-12-02T11:30:00Z", 1_150),
    ]
    .into_iter()
    .enumerate()
    {
        node.handle_submission("meter-gateway", reading(seq as u64, at, export), t(at));
        while let Some(notice) = node.poll_notice() {
            match notice {
                TeNotice::TokensToSign { to, tokens } => {
                    assert_eq!(to, "meter-gateway");
                    for token in tokens {
                        let mut s = Signed::new(deployment(), token);
                        s.sign(meter_avatar(), 0, &meter_key()).unwrap();
                        signed_tokens.push(s);
                    }
                }
                other => panic!("{other:?}"),
            }
        }
    }
    assert_eq!(signed_tokens.len(), 2);
    // The agents' own meters report the intervals (UC-08): the delivery completes (UC-09).
    for (i, start) in ["2026-12-02T11:00:00Z", "2026-12-02T11:15:00Z"]
        .iter()
        .enumerate()
    {
        let at = t(start).checked_add(Duration::from_secs(902)).unwrap();
        seller
            .handle_measurement(&report(id, "cell-1", start, delivered[i]), at)
            .unwrap();
        buyer
            .handle_measurement(&report(id, "cell-2", start, -delivered[i]), at)
            .unwrap();
    }
    // The signed tokens settle the contract (TE-03, TE-04), each once.
    let at = t("2026-12-02T11:31:00Z");
    for token in &signed_tokens {
        node.handle_submission(
            "meter-gateway",
            TeSubmission::DeliveryToken(Box::new(token.clone())),
            at,
        );
    }
    let mut notices = deliver(&mut node, &mut [&mut seller, &mut buyer], at);
    if channels.is_some() {
        notices.extend(exchange(
            &mut node,
            &mut [&mut seller, &mut buyer],
            at,
            &mut trace,
        ));
    }
    let settled: Vec<(String, u32, i64, i64, bool)> = notices
        .iter()
        .filter_map(|n| match n {
            TeNotice::Settled {
                to,
                interval,
                amount_minor,
                penalty_minor,
                complete,
                ..
            } => Some((
                to.clone(),
                *interval,
                *amount_minor,
                *penalty_minor,
                *complete,
            )),
            _ => None,
        })
        .collect();
    let price = EnergyPrice::new(18, eur());
    let penalty = EnergyPrice::new(40, eur());
    let first = price.cost_of(Energy::from_wh(600)).unwrap().minor_units;
    let second_penalty = penalty.cost_of(Energy::from_wh(50)).unwrap().minor_units;
    let second = price.cost_of(Energy::from_wh(550)).unwrap().minor_units - second_penalty;
    assert_eq!(
        settled,
        [
            ("cell-1@idea".to_owned(), 0, first, 0, false),
            ("cell-2@idea".to_owned(), 0, first, 0, false),
            ("cell-1@idea".to_owned(), 1, second, second_penalty, true),
            ("cell-2@idea".to_owned(), 1, second, second_penalty, true),
        ]
    );
    Delivered {
        node,
        seller,
        buyer,
        id,
        first,
        second,
        tokens: signed_tokens,
        trace,
    }
}

fn state(agent: &Agent, id: &TransactionId) -> TransactionState {
    agent.transactions().get(id).unwrap().lifecycle.state()
}

fn cleared(notices: &[TeNotice]) -> Vec<(&str, &BTreeMap<String, i64>, usize, usize)> {
    notices
        .iter()
        .filter_map(|n| match n {
            TeNotice::Cleared {
                to,
                net_minor,
                paid,
                carried,
                ..
            } => Some((to.as_str(), net_minor, paid.len(), carried.len())),
            _ => None,
        })
        .collect()
}

use std::collections::BTreeMap;

#[test]
fn a_trade_settles_on_the_meters_tokens_and_the_money_is_price_times_verified_energy_less_penalty()
{
    let Delivered {
        mut node,
        mut seller,
        mut buyer,
        id,
        first,
        second,
        tokens,
        ..
    } = delivered_and_settled(1_000);
    // Verified, and due at the next clearing (TE-08): no money has moved yet.
    assert_eq!(node.wallets().balance(&avatar(1), eur()).minor_units, 0);
    assert_eq!(state(&seller, &id), TransactionState::Completed);
    let quarter = t("2026-12-02T11:45:00Z");
    assert_eq!(node.poll_timeout(), Some(quarter));
    // The operator sees both intervals waiting, the buyer owing the seller.
    let (_, pool) = idea_agent::te_node::operator::answer(
        &mut node,
        &idea_agent::te_node::operator::OperatorRequest {
            method: "GET",
            path: "/clearing",
            body: b"",
        },
        quarter,
    );
    let pending = pool["pending"].as_array().unwrap();
    assert_eq!(pending.len(), 2, "{pool}");
    assert!(
        pending.iter().all(|o| o["from"] == avatar(2).to_string()),
        "{pool}"
    );
    assert_eq!(pool["next_run"], "2026-12-02T11:45:00Z");
    node.handle_timeout(t("2026-12-02T11:44:59Z"));
    assert!(node.poll_notice().is_none(), "not before the period ends");

    // The clearing run at the quarter hour pays both intervals: the buyer's net position is the seller's.
    node.handle_timeout(quarter);
    let notices = deliver(&mut node, &mut [&mut seller, &mut buyer], quarter);
    let total = first + second;
    let seller_net = BTreeMap::from([("EUR".to_owned(), total)]);
    let buyer_net = BTreeMap::from([("EUR".to_owned(), -total)]);
    assert_eq!(
        cleared(&notices),
        [
            ("cell-1@idea", &seller_net, 2, 0),
            ("cell-2@idea", &buyer_net, 2, 0)
        ]
    );
    assert!(matches!(
        &notices[0],
        TeNotice::Cleared { paid, .. } if !paid[0].complete && paid[1].complete
    ));
    assert_eq!(node.wallets().balance(&avatar(1), eur()).minor_units, total);
    assert_eq!(
        node.wallets().balance(&avatar(2), eur()).minor_units,
        1_000 - total
    );
    for a in [&seller, &buyer] {
        assert_eq!(state(a, &id), TransactionState::Settled);
        let s = a.settlements()[&id];
        assert!(s.paid_in_full && s.paid_intervals == 2, "{s:?}");
    }
    assert_eq!(seller.settlements()[&id].paid_minor, total);
    assert_eq!(buyer.settlements()[&id].paid_minor, -total);
    assert_eq!(node.poll_timeout(), None, "nothing waits for a run");

    // A token again: the interval is not paid twice.
    node.handle_submission(
        "meter-gateway",
        TeSubmission::DeliveryToken(Box::new(tokens[0].clone())),
        quarter,
    );
    let again = deliver(&mut node, &mut [&mut seller, &mut buyer], quarter);
    assert!(
        matches!(&again[..], [TeNotice::Refused { to, .. }] if to == "meter-gateway"),
        "{again:?}"
    );
    node.handle_timeout(t("2026-12-02T12:00:00Z"));
    assert!(node.poll_notice().is_none());
    assert_eq!(node.wallets().balance(&avatar(1), eur()).minor_units, total);
}

/// TE-08: a buyer whose wallet cannot cover its net position is left out of the run; its intervals are
/// carried, with the reason, to the next run — which pays them once the wallet is funded — and the
/// transaction is settled only then.
#[test]
fn a_buyer_short_of_funds_is_carried_to_the_next_clearing_and_paid_there() {
    let Delivered {
        mut node,
        mut seller,
        mut buyer,
        id,
        first,
        second,
        ..
    } = delivered_and_settled(10);
    let quarter = t("2026-12-02T11:45:00Z");
    node.handle_timeout(quarter);
    let notices = deliver(&mut node, &mut [&mut seller, &mut buyer], quarter);
    let nothing = BTreeMap::from([("EUR".to_owned(), 0)]);
    assert_eq!(
        cleared(&notices),
        [
            ("cell-1@idea", &nothing, 0, 2),
            ("cell-2@idea", &nothing, 0, 2)
        ]
    );
    let TeNotice::Cleared { carried, .. } = &notices[1] else {
        panic!("{notices:?}")
    };
    let reason = carried[0].reason.as_deref().unwrap();
    assert!(
        reason.contains(&avatar(2).to_string()) && reason.contains("carried"),
        "{reason}"
    );
    assert_eq!(node.wallets().balance(&avatar(2), eur()).minor_units, 10);
    assert_eq!(state(&seller, &id), TransactionState::Completed);
    let mut events = Vec::new();
    while let Some(e) = buyer.poll_event() {
        events.push(e.what);
    }
    assert!(events.contains(&"payment-carried"), "{events:?}");

    // Funded, the next run pays.
    node.wallets_mut()
        .deposit(avatar(2), Money::new(1_000, eur()))
        .unwrap();
    let next = t("2026-12-02T12:00:00Z");
    assert_eq!(node.poll_timeout(), Some(next));
    node.handle_timeout(next);
    let notices = deliver(&mut node, &mut [&mut seller, &mut buyer], next);
    assert_eq!(cleared(&notices)[0].2, 2);
    assert_eq!(
        node.wallets().balance(&avatar(1), eur()).minor_units,
        first + second
    );
    for a in [&seller, &buyer] {
        assert_eq!(state(a, &id), TransactionState::Settled);
    }
}

/// Agent `n` whose avatar is the one its key names (an agent that registers itself through the network).
fn self_registering_agent(n: u8) -> Agent {
    let cell = format!("cell-{n}");
    Agent::new(idea_agent::AgentConfig {
        me: identifier(&format!("{cell}@idea")),
        key: key(n),
        settings: settings(&cell, |s| s),
        id_seed: [n; 16],
        te: Some(idea_agent::TeIdentity {
            deployment: deployment(),
            avatar: idea_agent::te_node::avatar_of_key(&PublicKey::from(&key(n))),
            key_version: 0,
        }),
    })
}

fn submitted(agent: &mut Agent) -> TeSubmission {
    loop {
        match agent.poll_transmit() {
            Some(idea_agent::Output::Te(s)) => return s,
            Some(_) => {}
            None => panic!("nothing submitted"),
        }
    }
}

#[test]
fn a_node_that_is_registrar_registers_agents_that_sign_their_registration_and_admission_decides() {
    let now = t(T0);
    let node_key = key(50);
    let mut enrolled = std::collections::BTreeSet::new();
    enrolled.insert(PublicKey::from(&key(1)).to_string());
    let mut node = TeNode::registrar(
        deployment(),
        node_key.clone(),
        idea_agent::Admission::Keys(enrolled),
        now,
    );
    let mut agent = self_registering_agent(1);
    agent
        .register_at_te(&PublicKey::from(&node_key), now)
        .unwrap();
    let registration = submitted(&mut agent);
    // Over the wire form, as the TE link carries it.
    let mut bytes = Vec::new();
    registration.encode(&mut bytes);
    node.handle_bytes("cell-1@idea", &bytes, now);
    let notice = node.poll_notice().unwrap();
    let avatar = idea_agent::te_node::avatar_of_key(&PublicKey::from(&key(1)));
    assert_eq!(
        notice,
        TeNotice::Registered {
            to: "cell-1@idea".into(),
            avatar: avatar.to_string()
        }
    );
    assert!(te_contract::signed::KeyResolver::key(node.registry(), &avatar, 0, now).is_ok());
    agent.handle_te_notice(&notice, now).unwrap();
    let events: Vec<&str> = std::iter::from_fn(|| agent.poll_event())
        .map(|e| e.what)
        .collect();
    assert_eq!(events, ["te-registration-sent", "te-registered"]);

    // Registering again later (the agent's process restarted): bound again, nothing new registered.
    let avatars = node.registry().len();
    let later = now.checked_add(Duration::from_secs(60)).unwrap();
    agent
        .register_at_te(&PublicKey::from(&node_key), later)
        .unwrap();
    node.handle_submission("cell-1@idea", submitted(&mut agent), later);
    let notice = node.poll_notice();
    assert!(
        matches!(notice, Some(TeNotice::Registered { .. })),
        "{notice:?}"
    );
    assert_eq!(node.registry().len(), avatars);
    // The first registration replayed (under another name): refused, its notices stay where they are.
    node.handle_bytes("thief@idea", &bytes, later);
    assert!(matches!(
        node.poll_notice(),
        Some(TeNotice::Refused { to, reason, .. }) if to == "thief@idea" && reason.contains("replay")
    ));
    // A newer registration with a signature that is not the avatar's: refused, and nothing is bound.
    let newer = later.checked_add(Duration::from_secs(60)).unwrap();
    agent
        .register_at_te(&PublicKey::from(&node_key), newer)
        .unwrap();
    let forged = submitted(&mut agent);
    let TeSubmission::Register {
        registration: again,
        mut signature,
    } = forged.clone()
    else {
        panic!("{forged:?}")
    };
    signature[0] ^= 1;
    node.handle_submission(
        "thief@idea",
        TeSubmission::Register {
            registration: again,
            signature,
        },
        now,
    );
    assert!(matches!(node.poll_notice(), Some(TeNotice::Refused { to, .. }) if to == "thief@idea"));
    // A key that is not enrolled.
    let mut stranger = self_registering_agent(2);
    stranger
        .register_at_te(&PublicKey::from(&node_key), now)
        .unwrap();
    node.handle_submission("cell-2@idea", submitted(&mut stranger), now);
    // A registration naming another registrar.
    let mut lost = self_registering_agent(1);
    lost.register_at_te(&PublicKey::from(&key(51)), now)
        .unwrap();
    node.handle_submission("cell-1@idea", submitted(&mut lost), now);
    let reasons: Vec<String> = node.refusals().map(|r| r.reason.clone()).collect();
    assert_eq!(reasons.len(), 4, "{reasons:?}");
    assert!(reasons[0].contains("replay"), "{reasons:?}");
    assert!(reasons[1].contains("does not verify"), "{reasons:?}");
    assert!(reasons[2].contains("is not enrolled"), "{reasons:?}");
    assert!(reasons[3].contains("the registrar is"), "{reasons:?}");

    // Under open admission an agent registers, but a meter (whose readings move money) does not.
    let mut open = TeNode::registrar(
        deployment(),
        node_key.clone(),
        idea_agent::Admission::Open,
        now,
    );
    open.handle_bytes("cell-1@idea", &bytes, now);
    assert!(matches!(
        open.poll_notice(),
        Some(TeNotice::Registered { .. })
    ));
    let meter_key = key(9);
    let unsigned = Signed::new(
        deployment(),
        te_contract::registry::Registration {
            registrar: idea_agent::te_node::avatar_of_key(&PublicKey::from(&node_key)),
            avatar: idea_agent::te_node::avatar_of_key(&PublicKey::from(&meter_key)),
            kind: te_contract::registry::AvatarKind::Meter {
                meter: MeterId::new("meter-cell-1").unwrap(),
                cell: CellId::new("cell-1").unwrap(),
            },
            key: PublicKey::from(&meter_key),
            at: now,
        },
    );
    let signature = EnvelopeSigner::sign_digest(&meter_key, &unsigned.digest());
    open.handle_submission(
        "meter-gateway",
        TeSubmission::Register {
            registration: Box::new(unsigned),
            signature,
        },
        now,
    );
    // A meter is let in only as the registrar enrolled it (see the enrolled meter's test).
    assert!(
        open.refusals()
            .last()
            .is_some_and(|r| r.reason.contains("is not enrolled for that meter and cell")),
        "{:?}",
        open.refusals().last()
    );

    // A node that is not a registrar registers no one.
    let mut plain = TeNode::new(registry(&[]));
    plain.handle_bytes("cell-1@idea", &bytes, now);
    assert_eq!(
        plain.refusals().last().map(|r| r.reason.as_str()),
        Some("this node does not register avatars")
    );
}

/// TE-02 through the operator's interface: money paid into a registered avatar's wallet is recorded for the
/// ledger and shows in the balances; an unknown avatar, a negative amount or a body that is not the request
/// is refused with the reason; the clearing resource lists what waits for the next run.
#[test]
fn the_operator_deposits_into_wallets_and_reads_balances_and_the_clearing_pool() {
    use idea_agent::te_node::operator::{OperatorRequest, answer};
    let now = t(T0);
    let mut node = TeNode::new(registry(&[1, 2])).with_ledger_entries();
    while node.poll_entry().is_some() {}
    let ask = |node: &mut TeNode, method: &str, path: &str, body: &str| {
        answer(
            node,
            &OperatorRequest {
                method,
                path,
                body: body.as_bytes(),
            },
            now,
        )
    };
    let body = format!(
        r#"{{"avatar": "{}", "minor": 2500, "currency": "EUR"}}"#,
        avatar(2)
    );
    let (status, deposited) = ask(&mut node, "POST", "/deposits", &body);
    assert_eq!(status, 201, "{deposited}");
    assert_eq!(deposited["balance_minor"], 2500);
    assert_eq!(deposited["sequence"], 1);
    let entry = node.poll_entry().unwrap();
    assert_eq!(entry.kind, te_contract::ledger::RecordKind::Deposit.code());
    let recorded =
        <te_contract::wallet::Deposit as te_contract::Codec>::decode_exact(&entry.body).unwrap();
    assert_eq!(recorded.avatar, avatar(2));
    assert_eq!(recorded.amount.minor_units, 2500);

    let (status, wallets) = ask(&mut node, "GET", "/wallets", "");
    assert_eq!(status, 200);
    assert_eq!(
        wallets["wallets"],
        serde_json::json!([{"avatar": avatar(2).to_string(), "currency": "EUR", "minor": 2500}])
    );
    for (body, status, says) in [
        (
            format!(
                r#"{{"avatar": "{}", "minor": 1, "currency": "EUR"}}"#,
                avatar(9)
            ),
            409,
            "not a registered avatar",
        ),
        (
            format!(
                r#"{{"avatar": "{}", "minor": -5, "currency": "EUR"}}"#,
                avatar(2)
            ),
            409,
            "positive",
        ),
        ("[1, 2]".to_owned(), 400, "avatar"),
        ("not json".to_owned(), 400, "not JSON"),
    ] {
        let (got, answer) = ask(&mut node, "POST", "/deposits", &body);
        assert_eq!(got, status, "{answer}");
        assert!(answer["error"].as_str().unwrap().contains(says), "{answer}");
    }
    assert!(
        node.poll_entry().is_none(),
        "a refused deposit records nothing"
    );
    let (status, summary) = ask(&mut node, "GET", "/", "");
    assert_eq!(status, 200);
    assert_eq!(summary["clearing_period_s"], 900);
    assert_eq!(summary["next_clearing"], serde_json::Value::Null);
    let (status, clearing) = ask(&mut node, "GET", "/clearing", "");
    assert_eq!(
        (status, clearing["pending"].as_array().unwrap().len()),
        (200, 0)
    );
    assert_eq!(ask(&mut node, "DELETE", "/wallets", "").0, 405);
    assert_eq!(ask(&mut node, "GET", "/nothing", "").0, 404);
}

/// The registrar node (key 60) of the test deployment, fresh.
fn fresh_registrar() -> TeNode {
    TeNode::registrar(
        deployment(),
        key(60),
        idea_agent::Admission::Open,
        t("2026-12-01T00:00:00Z"),
    )
}

/// A registrar node keeping ledger entries, with cells 1 and 2 registered through the network (their
/// bindings recorded) and cell 1's meter enrolled by the registrar.
fn ledgered_registrar() -> TeNode {
    let registrar_key = key(60);
    let mut node = fresh_registrar().with_ledger_entries();
    let registrar_public = PublicKey::from(&registrar_key);
    for n in [1u8, 2] {
        let registration = idea_agent::te_node::registration_submission(
            &deployment(),
            &registrar_public,
            avatar(n),
            AgentId::new(format!("agent-cell-{n}")).unwrap(),
            &key(n),
            t(T0),
        );
        node.handle_submission(&format!("cell-{n}@idea"), registration, t(T0));
    }
    let registered = std::iter::from_fn(|| node.poll_notice())
        .filter(|n| matches!(n, TeNotice::Registered { .. }))
        .count();
    assert_eq!(registered, 2);
    let registrar_avatar = idea_agent::te_node::avatar_of_key(&registrar_public);
    let mut meter = Signed::new(
        deployment(),
        te_contract::registry::Registration {
            registrar: registrar_avatar,
            avatar: meter_avatar(),
            kind: te_contract::registry::AvatarKind::Meter {
                meter: MeterId::new("meter-cell-1").unwrap(),
                cell: CellId::new("cell-1").unwrap(),
            },
            key: PublicKey::from(&meter_key()),
            at: t(T0),
        },
    );
    meter.sign(registrar_avatar, 0, &registrar_key).unwrap();
    meter.sign(meter_avatar(), 0, &meter_key()).unwrap();
    node.register(&meter, t(T0)).unwrap();
    node
}

/// Commits what `node` recorded to `ledger`.
fn commit(
    node: &mut TeNode,
    ledger: &mut te_contract::ledger::Ledger<te_contract::ledger::MemoryStore>,
) {
    let entries: Vec<_> = std::iter::from_fn(|| node.poll_entry()).collect();
    ledger.submit_all(entries).unwrap();
    ledger.commit().unwrap();
}

/// TE-01, TE-07: a node rebuilt from its ledger after a restart comes back as it was — the registry, the
/// recorded contract, the intervals due at the next clearing, the wallets to the cent (deposits and clearing
/// transfers are all in the ledger), and which agent hears which avatar — and the next clearing run pays
/// exactly what the node that never stopped pays. Rebuilt again after that run, the wallets still agree. A
/// ledger altered after the fact is refused: the node does not start over it.
#[test]
fn a_node_rebuilt_from_its_ledger_comes_back_as_it_was() {
    use te_contract::ledger::{Ledger, MemoryStore};
    let fresh = fresh_registrar;
    let mut node = ledgered_registrar();
    node.deposit(avatar(2), Money::new(1_000, eur()), t(T0))
        .unwrap();
    let Delivered {
        node: mut original,
        first,
        second,
        ..
    } = delivered_and_settled_on(node, 0);
    let mut ledger = Ledger::open(MemoryStore::new()).unwrap();
    commit(&mut original, &mut ledger);

    // Rebuilt before the quarter hour's run: everything the node knew is back.
    let (mut rebuilt, report) = fresh().rebuild(ledger.store()).unwrap();
    assert_eq!(
        (
            report.avatars,
            report.contracts,
            report.due,
            report.deposits
        ),
        (4, 1, 2, 1)
    );
    assert_eq!(rebuilt.wallets(), original.wallets());
    assert_eq!(rebuilt.poll_timeout(), original.poll_timeout());
    assert_eq!(
        rebuilt.pending_obligations().collect::<Vec<_>>(),
        original.pending_obligations().collect::<Vec<_>>()
    );
    // The run pays the same in both, and the rebuilt node tells the same agents.
    let quarter = t("2026-12-02T11:45:00Z");
    original.handle_timeout(quarter);
    rebuilt.handle_timeout(quarter);
    let told: Vec<String> = std::iter::from_fn(|| rebuilt.poll_notice())
        .map(|n| n.to().to_owned())
        .collect();
    assert_eq!(told, ["cell-1@idea", "cell-2@idea"]);
    assert_eq!(rebuilt.wallets(), original.wallets());
    assert_eq!(
        rebuilt.wallets().balance(&avatar(1), eur()).minor_units,
        first + second
    );

    // The rebuilt node's run goes to the same ledger; rebuilt from it again, nothing is due and the money
    // is where the run put it.
    commit(&mut rebuilt, &mut ledger);
    let (again, report) = fresh().rebuild(ledger.store()).unwrap();
    assert_eq!(report.due, 0);
    assert_eq!(again.wallets(), original.wallets());
    assert_eq!(again.poll_timeout(), None);

    // Altered after the fact (the deposit made larger): refused, naming the entry.
    let mut altered = ledger.store().clone();
    let deposit = altered
        .entries_mut()
        .iter_mut()
        .find(|e| e.entry.kind == te_contract::ledger::RecordKind::Deposit.code())
        .unwrap();
    deposit.entry.body = te_contract::Codec::to_bytes(&te_contract::wallet::Deposit {
        avatar: avatar(2),
        amount: Money::new(1_000_000, eur()),
        sequence: 1,
    });
    match fresh().rebuild(&altered) {
        Err(idea_agent::Error::Te(te_contract::Error::Ledger { fault, .. })) => {
            assert_eq!(fault, te_contract::LedgerFault::HashMismatch);
        }
        other => panic!("{other:?}"),
    }
}

/// A node restarted after a run that carried its intervals (the buyer short of funds) takes up where the run
/// left them: the next run is the next period's, never the recorded one again, and it pays once the wallet
/// is funded.
#[test]
fn a_node_restarted_after_a_carrying_run_clears_the_next_period_not_the_recorded_one() {
    use te_contract::ledger::{Ledger, MemoryStore};
    let mut node = ledgered_registrar();
    node.deposit(avatar(2), Money::new(10, eur()), t(T0))
        .unwrap();
    let Delivered {
        node: mut original,
        first,
        second,
        ..
    } = delivered_and_settled_on(node, 0);
    let quarter = t("2026-12-02T11:45:00Z");
    original.handle_timeout(quarter);
    let mut ledger = Ledger::open(MemoryStore::new()).unwrap();
    commit(&mut original, &mut ledger);

    let (mut rebuilt, report) = fresh_registrar().rebuild(ledger.store()).unwrap();
    assert_eq!(report.due, 2, "both intervals still due");
    let next = t("2026-12-02T12:00:00Z");
    assert_eq!(rebuilt.poll_timeout(), Some(next));
    rebuilt
        .deposit(avatar(2), Money::new(1_000, eur()), next)
        .unwrap();
    rebuilt.handle_timeout(next);
    commit(&mut rebuilt, &mut ledger);
    assert_eq!(
        rebuilt.wallets().balance(&avatar(1), eur()).minor_units,
        first + second
    );
    // Rebuilt once more: the run is in the ledger, nothing is due.
    let (again, report) = fresh_registrar().rebuild(ledger.store()).unwrap();
    assert_eq!((report.due, report.deposits), (0, 2));
    assert_eq!(again.wallets(), rebuilt.wallets());
}

const CHANNEL: te_contract::ChannelId = te_contract::ChannelId::from_bytes([9; 16]);

/// The seller (avatar 1, side A) and the buyer (avatar 2, side B) open channel 9 with a credit limit of 50.00.
fn channel_opened() -> TeSubmission {
    let mut open = Signed::new(
        deployment(),
        te_contract::channel::ChannelOpen {
            channel: CHANNEL,
            a: avatar(1),
            b: avatar(2),
            currency: eur(),
            credit_limit: 5_000,
            challenge_period: Duration::from_mins(60),
            opened_at: t("2026-12-02T11:31:00Z"),
        },
    );
    open.sign(avatar(1), 0, &key(1)).unwrap();
    open.sign(avatar(2), 0, &key(2)).unwrap();
    TeSubmission::OpenChannel(Box::new(open))
}

/// State `counter` of channel 9 proposed by the seller (A) and countersigned by the buyer (B): B owes
/// `owed_by_b` in all and has paid `paid_by_b`, the state adding `debts` and `payments`.
fn channel_state(
    counter: u64,
    owed_by_b: i64,
    paid_by_b: i64,
    debts: Vec<te_contract::channel::Debt>,
    payments: Vec<te_contract::channel::Payment>,
) -> TeSubmission {
    let mut s = Signed::new(
        deployment(),
        te_contract::channel::ChannelState {
            channel: CHANNEL,
            counter,
            proposer: te_contract::channel::Party::A,
            proposer_avatar: avatar(1),
            acceptor_avatar: avatar(2),
            owed_by_a: 0,
            owed_by_b,
            paid_by_a: 0,
            paid_by_b,
            debts,
            payments,
        },
    );
    s.sign(avatar(1), 0, &key(1)).unwrap();
    s.sign(avatar(2), 0, &key(2)).unwrap();
    TeSubmission::ChannelState(Box::new(s))
}

/// The buyer's debt for `interval` of contract `id`.
fn channel_debt(id: TransactionId, interval: u32, amount: i64) -> te_contract::channel::Debt {
    te_contract::channel::Debt {
        id: te_contract::settlement::settlement_debt_id(&id, interval),
        debtor: te_contract::channel::Party::B,
        amount,
        contract: id,
        interval,
        token: None,
    }
}

/// The one refusal among `notices`, told to the seller.
fn refusal_of(notices: Vec<TeNotice>) -> String {
    match notices.as_slice() {
        [TeNotice::Refused { to, reason, .. }] => {
            assert_eq!(to, "cell-1@idea");
            reason.clone()
        }
        other => panic!("{other:?}"),
    }
}

fn channel_obligation(node: &TeNode) -> Option<i64> {
    node.pending_obligations()
        .find(|o| o.source == te_contract::clearing::Source::Channel(CHANNEL))
        .map(|o| o.amount.minor_units)
}

/// TE-09 at the node: the buyer's debt for a verified interval goes into the channel both sides opened (its
/// own transfer leaves the pool), the next run pays the channel's net with the other interval's transfer and
/// tells both sides, and the payment is written back. Refused and kept on record: a channel opened twice, a
/// debt the node did not verify, one for another amount, a replayed state, a state that skips one, a debt
/// for an interval clearing already paid, a payment clearing did not make. Rebuilt from its ledger, the node
/// has the channel and what clearing paid for it back.
#[test]
fn verified_intervals_go_into_a_channel_and_its_net_is_paid_at_clearing_once() {
    use te_contract::ledger::{Ledger, MemoryStore};
    let mut node = ledgered_registrar();
    node.deposit(avatar(2), Money::new(10_000, eur()), t(T0))
        .unwrap();
    let Delivered {
        mut node,
        id,
        first,
        second,
        ..
    } = delivered_and_settled_on(node, 0);
    let drain = |node: &mut TeNode| std::iter::from_fn(|| node.poll_notice()).collect::<Vec<_>>();
    drain(&mut node);
    let refused_before = node.refusals().count();
    let at = t("2026-12-02T11:31:30Z");

    // Opened: both sides hear it at state 0; opened again, refused.
    node.handle_submission("cell-1@idea", channel_opened(), at);
    let told: Vec<(String, u64)> = drain(&mut node)
        .into_iter()
        .map(|n| match n {
            TeNotice::ChannelRecorded { to, counter, .. } => (to, counter),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        told,
        [("cell-1@idea".to_owned(), 0), ("cell-2@idea".to_owned(), 0)]
    );
    node.handle_submission("cell-1@idea", channel_opened(), at);
    assert!(refusal_of(drain(&mut node)).contains("is open already"));

    // Debts the node did not verify, or for another amount: refused.
    node.handle_submission(
        "cell-1@idea",
        channel_state(1, 500, 0, vec![channel_debt(id, 5, 500)], vec![]),
        at,
    );
    assert!(refusal_of(drain(&mut node)).contains("interval 5"));
    node.handle_submission(
        "cell-1@idea",
        channel_state(
            1,
            first + 1,
            0,
            vec![channel_debt(id, 0, first + 1)],
            vec![],
        ),
        at,
    );
    let why = refusal_of(drain(&mut node));
    assert!(
        why.contains(&format!("owes {first} as the node verified it")),
        "{why}"
    );

    // The first interval's debt goes into the channel: its transfer leaves the pool, the channel's net is in.
    let one = channel_state(1, first, 0, vec![channel_debt(id, 0, first)], vec![]);
    node.handle_submission("cell-1@idea", one.clone(), at);
    let dues: Vec<(String, i64)> = drain(&mut node)
        .into_iter()
        .map(|n| match n {
            TeNotice::ChannelRecorded { to, due_minor, .. } => (to, due_minor),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        dues,
        [
            ("cell-1@idea".to_owned(), first),
            ("cell-2@idea".to_owned(), -first)
        ]
    );
    let mut pending: Vec<i64> = node
        .pending_obligations()
        .map(|o| o.amount.minor_units)
        .collect();
    pending.sort_unstable();
    let mut expected = vec![first, second];
    expected.sort_unstable();
    assert_eq!(pending, expected, "one channel net and one transfer");
    assert_eq!(channel_obligation(&node), Some(first));

    // A replay, and a state that skips one: refused.
    node.handle_submission("cell-1@idea", one, at);
    assert!(refusal_of(drain(&mut node)).contains("is not newer than state 1"));
    node.handle_submission(
        "cell-1@idea",
        channel_state(3, first, 0, vec![], vec![]),
        at,
    );
    assert!(refusal_of(drain(&mut node)).contains("does not follow state 1"));

    // The quarter hour's run pays both intervals — one through the channel — and tells both sides.
    let quarter = t("2026-12-02T11:45:00Z");
    node.handle_timeout(quarter);
    assert_eq!(
        node.wallets().balance(&avatar(1), eur()).minor_units,
        first + second
    );
    let notices = drain(&mut node);
    let paid_intervals: Vec<(String, usize)> = notices
        .iter()
        .filter_map(|n| match n {
            TeNotice::Cleared { to, paid, .. } => Some((to.clone(), paid.len())),
            _ => None,
        })
        .collect();
    assert_eq!(
        paid_intervals,
        [("cell-1@idea".to_owned(), 2), ("cell-2@idea".to_owned(), 2)]
    );
    let channel_paid: Vec<(String, i64)> = notices
        .iter()
        .filter_map(|n| match n {
            TeNotice::ChannelPaid {
                to,
                payer,
                amount_minor,
                ..
            } => {
                assert_eq!(*payer, avatar(2).to_string());
                Some((to.clone(), *amount_minor))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        channel_paid,
        [
            ("cell-1@idea".to_owned(), first),
            ("cell-2@idea".to_owned(), first)
        ]
    );
    assert_eq!(node.poll_timeout(), None, "nothing waits");

    // The second interval, paid through the wallets, cannot go into the channel now; a payment clearing did
    // not make is refused; the one it made is written back.
    let later = t("2026-12-02T11:50:00Z");
    node.handle_submission(
        "cell-1@idea",
        channel_state(
            2,
            first + second,
            0,
            vec![channel_debt(id, 1, second)],
            vec![],
        ),
        later,
    );
    assert!(refusal_of(drain(&mut node)).contains("clearing paid it"));
    let run = te_contract::clearing::clearing_id(quarter);
    let payment = |id, amount| te_contract::channel::Payment {
        id,
        payer: te_contract::channel::Party::B,
        amount,
    };
    node.handle_submission(
        "cell-1@idea",
        channel_state(2, first, first, vec![], vec![payment(run, first + 1)]),
        later,
    );
    assert!(refusal_of(drain(&mut node)).contains("is not one clearing made"));
    node.handle_submission(
        "cell-1@idea",
        channel_state(2, first, first, vec![], vec![payment(run, first)]),
        later,
    );
    assert!(matches!(
        drain(&mut node).as_slice(),
        [
            TeNotice::ChannelRecorded { due_minor: 0, .. },
            TeNotice::ChannelRecorded { due_minor: 0, .. }
        ]
    ));
    assert_eq!(channel_obligation(&node), None);
    assert_eq!(
        node.refusals().count(),
        refused_before + 7,
        "every refusal kept"
    );

    // Rebuilt from its ledger: the channel at state 2, what clearing paid for it, the wallets.
    let mut ledger = Ledger::open(MemoryStore::new()).unwrap();
    commit(&mut node, &mut ledger);
    let (rebuilt, _) = fresh_registrar().rebuild(ledger.store()).unwrap();
    assert_eq!(
        rebuilt
            .channels()
            .map(|(_, n, paid)| (n, paid))
            .collect::<Vec<_>>(),
        [(2, [0, first])]
    );
    assert_eq!(rebuilt.wallets(), node.wallets());
    assert_eq!(rebuilt.poll_timeout(), None);
}

/// TE-09 between agents: with debt channels kept on both sides, the seller opens one to the buyer when the
/// contract is recorded (the buyer countersigns and submits it), each interval the node verifies goes into it
/// (the seller proposes the debt, the buyer checks it against its own `settled` notice, countersigns and
/// submits the state), the clearing run pays the channel's net — the contract price times the verified
/// energy, as without a channel — and the seller writes the payment back. Both agents' transactions are
/// `settled`.
#[test]
fn agents_settle_a_trade_through_their_debt_channel() {
    let Delivered {
        mut node,
        mut seller,
        mut buyer,
        id,
        first,
        second,
        mut trace,
        ..
    } = delivered_and_settled_through(
        TeNode::new(registry_with_meter(&[1, 2], "meter-cell-1")),
        10_000,
        Some(5_000),
        None,
    );
    for who in ["cell-1@idea", "cell-2@idea"] {
        let whats = trace.whats(who);
        assert!(whats.contains(&"channel-open"), "{who}: {whats:?}");
    }
    assert!(
        trace
            .whats("cell-2@idea")
            .contains(&"channel-countersigned")
    );
    // Both intervals went into the channel: the pool holds its net, no transfer.
    let pending: Vec<_> = node.pending_obligations().cloned().collect();
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert!(matches!(
        pending[0].source,
        te_contract::clearing::Source::Channel(_)
    ));
    assert_eq!(pending[0].amount.minor_units, first + second);
    assert_eq!(pending[0].from, avatar(2));
    let counters: Vec<u64> = node.channels().map(|(_, n, _)| n).collect();
    assert_eq!(counters, [2], "one state per interval");

    // The run pays it; the seller writes the payment back, and the buyer countersigns.
    let quarter = t("2026-12-02T11:45:00Z");
    node.handle_timeout(quarter);
    let mut notices = deliver(&mut node, &mut [&mut seller, &mut buyer], quarter);
    notices.extend(exchange(
        &mut node,
        &mut [&mut seller, &mut buyer],
        quarter,
        &mut trace,
    ));
    assert_eq!(
        node.wallets().balance(&avatar(1), eur()).minor_units,
        first + second
    );
    assert_eq!(
        node.wallets().balance(&avatar(2), eur()).minor_units,
        10_000 - first - second
    );
    assert_eq!(
        node.channels()
            .map(|(_, n, paid)| (n, paid))
            .collect::<Vec<_>>(),
        [(3, [0, first + second])],
        "the payment written back in state 3"
    );
    assert_eq!(
        node.refusals().count(),
        0,
        "{:?}",
        node.refusals().collect::<Vec<_>>()
    );
    assert_eq!(node.poll_timeout(), None);
    for a in [&seller, &buyer] {
        assert_eq!(state(a, &id), TransactionState::Settled);
    }
    let keeper_counters = |a: &mut Agent| {
        a.with_behaviour::<idea_agent::ChannelKeeper, _>(quarter, |k, _| {
            k.channels()
                .map(|(_, _, n, at_node, used)| (n, at_node, used))
                .collect::<Vec<_>>()
        })
        .unwrap()
    };
    assert_eq!(keeper_counters(&mut seller), [(3, true, true)]);
    assert_eq!(keeper_counters(&mut buyer), [(3, true, true)]);

    // The seller closes the channel: nothing is outstanding, so it closes at once and both forget it.
    let later = t("2026-12-02T11:50:00Z");
    seller
        .with_behaviour::<idea_agent::ChannelKeeper, _>(later, |k, cx| k.close(cx, avatar(2)))
        .unwrap()
        .unwrap();
    exchange(&mut node, &mut [&mut seller, &mut buyer], later, &mut trace);
    assert_eq!(node.channels().count(), 0);
    assert!(keeper_counters(&mut seller).is_empty());
    assert!(keeper_counters(&mut buyer).is_empty());
    for who in ["cell-1@idea", "cell-2@idea"] {
        assert!(trace.whats(who).contains(&"channel-closed"), "{who}");
    }
}

/// Agent `n`'s channel journal in `dir`.
fn journal(dir: &std::path::Path, n: u8) -> Box<idea_agent::channel_journal::FileJournal> {
    Box::new(
        idea_agent::channel_journal::FileJournal::open(&dir.join(format!("cell-{n}.journal")))
            .unwrap(),
    )
}

/// The seller's agent stops after both intervals went into the channel and a new process starts it with
/// its journal: it restores the channel at the state both signed and goes on — clearing pays the channel's
/// net and the restarted seller writes the payment back in state 3, which the buyer countersigns.
#[test]
fn a_restarted_agent_goes_on_with_its_channel_from_its_journal() {
    let dir = std::env::temp_dir().join(format!("idea-agent-journal-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let Delivered {
        mut node,
        seller,
        mut buyer,
        first,
        second,
        mut trace,
        ..
    } = delivered_and_settled_through(
        TeNode::new(registry_with_meter(&[1, 2], "meter-cell-1")),
        10_000,
        Some(5_000),
        Some(&dir),
    );
    let counters: Vec<u64> = node.channels().map(|(_, n, _)| n).collect();
    assert_eq!(counters, [2]);
    // The seller's process ends; a new one starts from the journal.
    drop(seller);
    let mut seller = te_agent(1);
    seller.add_peer(te_peer(&buyer, 2)).unwrap();
    seller
        .add_behaviour(Box::new(
            idea_agent::ChannelKeeper::with_journal(5_000, journal(&dir, 1)).unwrap(),
        ))
        .unwrap();
    let quarter = t("2026-12-02T11:45:00Z");
    node.handle_timeout(quarter);
    deliver(&mut node, &mut [&mut seller, &mut buyer], quarter);
    exchange(
        &mut node,
        &mut [&mut seller, &mut buyer],
        quarter,
        &mut trace,
    );
    assert_eq!(
        node.channels()
            .map(|(_, n, paid)| (n, paid))
            .collect::<Vec<_>>(),
        [(3, [0, first + second])],
        "the restarted seller wrote the payment back in state 3"
    );
    assert_eq!(node.refusals().count(), 0);
    let whats = trace.whats("cell-1@idea");
    assert!(whats.contains(&"channel-restored"), "{whats:?}");
    let kept = seller
        .with_behaviour::<idea_agent::ChannelKeeper, _>(quarter, |k, _| {
            k.channels()
                .map(|(_, _, n, at_node, used)| (n, at_node, used))
                .collect::<Vec<_>>()
        })
        .unwrap();
    assert_eq!(kept, [(3, true, true)]);
    // A journal line damaged on disk is reported and does not keep the channel from being restored.
    let path = dir.join("cell-1.journal");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.insert_str(0, "state not-hex\n");
    std::fs::write(&path, text).unwrap();
    let mut again = te_agent(1);
    again.add_peer(te_peer(&buyer, 2)).unwrap();
    again
        .add_behaviour(Box::new(
            idea_agent::ChannelKeeper::with_journal(5_000, journal(&dir, 1)).unwrap(),
        ))
        .unwrap();
    let kept = again
        .with_behaviour::<idea_agent::ChannelKeeper, _>(quarter, |k, cx| {
            use idea_agent::Behaviour as _;
            k.on_timeout(cx);
            k.channels().map(|(_, _, n, ..)| n).collect::<Vec<_>>()
        })
        .unwrap();
    assert_eq!(kept, [3]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Side `by`'s request to close channel 9 at state `counter`.
fn channel_close(by: u8, counter: u64) -> TeSubmission {
    let mut request = Signed::new(
        deployment(),
        te_contract::channel::CloseRequest {
            channel: CHANNEL,
            by: avatar(by),
            counter,
            at: t("2026-12-02T11:32:00Z"),
        },
    );
    request.sign(avatar(by), 0, &key(by)).unwrap();
    TeSubmission::CloseChannel(Box::new(request))
}

/// TE-09: a channel closed with its net outstanding takes no more states and closes when the run pays the
/// net; both sides hear it. A close at a state that is not the node's latest, and an open replayed after the
/// close, are refused. Rebuilt from its ledger, the node has no channel open and the same wallets.
#[test]
fn a_channel_closes_once_its_net_is_paid_and_cannot_be_opened_again() {
    use te_contract::ledger::{Ledger, MemoryStore};
    let mut node = ledgered_registrar();
    node.deposit(avatar(2), Money::new(10_000, eur()), t(T0))
        .unwrap();
    let Delivered {
        mut node,
        id,
        first,
        second,
        ..
    } = delivered_and_settled_on(node, 0);
    let drain = |node: &mut TeNode| std::iter::from_fn(|| node.poll_notice()).collect::<Vec<_>>();
    drain(&mut node);
    let at = t("2026-12-02T11:32:00Z");
    node.handle_submission("cell-1@idea", channel_opened(), at);
    node.handle_submission(
        "cell-1@idea",
        channel_state(1, first, 0, vec![channel_debt(id, 0, first)], vec![]),
        at,
    );
    drain(&mut node);

    // A close at a state the node has not: refused. At state 1: closing, with 'first' outstanding.
    node.handle_submission("cell-1@idea", channel_close(1, 0), at);
    assert!(refusal_of(drain(&mut node)).contains("the node's latest is state 1"));
    node.handle_submission("cell-1@idea", channel_close(1, 1), at);
    assert!(drain(&mut node).is_empty(), "closing, not closed");
    node.handle_submission(
        "cell-1@idea",
        channel_state(
            2,
            first + second,
            0,
            vec![channel_debt(id, 1, second)],
            vec![],
        ),
        at,
    );
    assert!(refusal_of(drain(&mut node)).contains("is closing at state 1"));

    // The run pays the channel's net and the other interval's transfer; the channel is closed.
    let quarter = t("2026-12-02T11:45:00Z");
    node.handle_timeout(quarter);
    assert_eq!(
        node.wallets().balance(&avatar(1), eur()).minor_units,
        first + second
    );
    let closed: Vec<(String, u64)> = drain(&mut node)
        .into_iter()
        .filter_map(|n| match n {
            TeNotice::ChannelClosed { to, counter, .. } => Some((to, counter)),
            _ => None,
        })
        .collect();
    assert_eq!(
        closed,
        [("cell-1@idea".to_owned(), 1), ("cell-2@idea".to_owned(), 1)]
    );
    assert_eq!(node.channels().count(), 0);
    node.handle_submission("cell-1@idea", channel_opened(), quarter);
    assert!(refusal_of(drain(&mut node)).contains("was closed"));

    let mut ledger = Ledger::open(MemoryStore::new()).unwrap();
    commit(&mut node, &mut ledger);
    let (rebuilt, report) = fresh_registrar().rebuild(ledger.store()).unwrap();
    assert_eq!(report.channels, 0);
    assert_eq!(rebuilt.wallets(), node.wallets());
    assert_eq!(rebuilt.poll_timeout(), None);
}

/// Cell 1's meter, as its gateway registers it: its avatar is the one its key names.
fn enrolled_meter() -> idea_agent::te_node::EnrolledMeter {
    idea_agent::te_node::EnrolledMeter {
        key: PublicKey::from(&meter_key()),
        meter: MeterId::new("meter-cell-1").unwrap(),
        cell: CellId::new("cell-1").unwrap(),
        config: te_contract::meter::MeterConfig {
            max_power_w: 20_000,
            reading_interval: Duration::from_secs(900),
            period_s: 900,
        },
    }
}

/// A reading of the registered meter (its avatar the one its key names).
fn registered_reading(sequence: u64, at: &str, export_wh: i64) -> TeSubmission {
    let avatar = idea_agent::te_node::avatar_of_key(&PublicKey::from(&meter_key()));
    let mut signed = Signed::new(
        deployment(),
        te_contract::meter::MeterReading {
            meter: avatar,
            sequence,
            at: t(at),
            import_wh: 0,
            export_wh,
        },
    );
    signed.sign(avatar, 0, &meter_key()).unwrap();
    TeSubmission::MeterReading(Box::new(signed))
}

/// TE-04, AUX-01: a meter registers itself at the registrar node only as enrolled — its key, id and cell — and
/// is read from then on; a key not enrolled, or the enrolled key for another cell, is refused. Rebuilt from
/// its ledger with the meter enrolled again, the node reads it where it left off (a reading replayed is
/// refused as not newer); rebuilt without the enrolment, the meter is no longer read.
#[test]
fn an_enrolled_meter_registers_itself_and_is_read_again_after_a_rebuild() {
    use te_contract::ledger::{Ledger, MemoryStore};
    let registrar = PublicKey::from(&key(60));
    let fresh = || {
        let mut node = fresh_registrar();
        node.enrol_meter(enrolled_meter()).unwrap();
        node
    };
    let mut node = fresh().with_ledger_entries();
    let drain = |node: &mut TeNode| std::iter::from_fn(|| node.poll_notice()).collect::<Vec<_>>();
    let submission = |cell: &str, key: &SigningKey| {
        idea_agent::te_node::meter_registration_submission(
            &deployment(),
            &registrar,
            MeterId::new("meter-cell-1").unwrap(),
            CellId::new(cell).unwrap(),
            key,
            t(T0),
        )
    };
    let gateway = "meter-gateway-cell-1";
    let refused = |notices: Vec<TeNotice>| match notices.as_slice() {
        [TeNotice::Refused { reason, .. }] => reason.clone(),
        other => panic!("{other:?}"),
    };
    node.handle_submission(gateway, submission("cell-1", &key(77)), t(T0));
    assert!(refused(drain(&mut node)).contains("is not enrolled"));
    node.handle_submission(gateway, submission("cell-2", &meter_key()), t(T0));
    assert!(refused(drain(&mut node)).contains("is not enrolled"));
    node.handle_submission(gateway, submission("cell-1", &meter_key()), t(T0));
    assert!(matches!(
        drain(&mut node).as_slice(),
        [TeNotice::Registered { .. }]
    ));
    // Read: its readings are taken, in order.
    node.handle_submission(
        gateway,
        registered_reading(1, "2026-12-02T11:00:00Z", 0),
        t(T0),
    );
    node.handle_submission(
        gateway,
        registered_reading(2, "2026-12-02T11:15:00Z", 600),
        t(T0),
    );
    // Taken without a word: no contract delivers at cell-1 then, so no token is asked for.
    let notices = drain(&mut node);
    assert!(notices.is_empty(), "{notices:?}");

    let mut ledger = Ledger::open(MemoryStore::new()).unwrap();
    commit(&mut node, &mut ledger);
    let (mut rebuilt, report) = fresh().rebuild(ledger.store()).unwrap();
    assert_eq!(report.meters, 1);
    rebuilt.handle_submission(
        gateway,
        registered_reading(2, "2026-12-02T11:15:00Z", 600),
        t(T0),
    );
    let why = refused(drain(&mut rebuilt));
    assert!(why.contains("#2"), "the series came back: {why}");
    rebuilt.handle_submission(
        gateway,
        registered_reading(3, "2026-12-02T11:30:00Z", 1_150),
        t(T0),
    );
    let notices = drain(&mut rebuilt);
    assert!(notices.is_empty(), "the next reading is taken: {notices:?}");

    let (mut unread, report) = fresh_registrar().rebuild(ledger.store()).unwrap();
    assert_eq!(report.meters, 0);
    unread.handle_submission(
        gateway,
        registered_reading(3, "2026-12-02T11:30:00Z", 1_150),
        t(T0),
    );
    assert!(refused(drain(&mut unread)).contains("not a meter this node reads"));
}

/// Two cells that sell to each other at once both offer a channel when their contracts are recorded: the
/// offer of the lower avatar stands, the other is refused, and both keep the one channel the node opened.
#[test]
fn two_cells_offering_each_other_a_channel_at_once_keep_one() {
    let mut node = TeNode::new(registry(&[1, 2]));
    node.bind_agent(avatar(1), "cell-1@idea");
    node.bind_agent(avatar(2), "cell-2@idea");
    let mut one = te_agent(1);
    let mut two = te_agent(2);
    let now = t(T0);
    for a in [&mut one, &mut two] {
        a.handle_stored_energy(8_000, now);
        a.add_behaviour(Box::new(idea_agent::ChannelKeeper::new(5_000)))
            .unwrap();
    }
    one.add_peer(te_peer(&two, 2)).unwrap();
    two.add_peer(te_peer(&one, 1)).unwrap();
    // Each buys from the other, in different hours.
    for (buyer, start) in [
        (&mut one, "2026-12-02T11:00:00Z"),
        (&mut two, "2026-12-02T12:00:00Z"),
    ] {
        let order = buy_order(t(start), &[300]);
        buyer
            .with_behaviour::<P2pBuyer, _>(now, |b, cx| b.buy(cx, order))
            .unwrap()
            .unwrap();
    }
    let mut trace = Trace::default();
    pump(&mut [&mut one, &mut two], now, &mut trace);
    run_until(
        &mut [&mut one, &mut two],
        t("2026-12-02T10:01:00Z"),
        &mut trace,
    );
    // Both contracts reach the node together: both sellers offer a channel at once.
    let at = t("2026-12-02T10:01:00Z");
    let submissions: Vec<_> = trace.te.drain(..).collect();
    let contracts = submissions
        .iter()
        .filter(|(_, s)| matches!(s, TeSubmission::RecordContract(_)))
        .count();
    assert_eq!(contracts, 2);
    for (from, s) in submissions {
        node.handle_submission(&from, s, at);
    }
    deliver(&mut node, &mut [&mut one, &mut two], at);
    exchange(&mut node, &mut [&mut one, &mut two], at, &mut trace);
    let opened: Vec<_> = node.channels().map(|(open, _, _)| open.clone()).collect();
    assert_eq!(opened.len(), 1, "{opened:?}");
    assert_eq!(opened[0].a, avatar(1), "the lower avatar's offer stands");
    assert_eq!(node.refusals().count(), 0);
    for a in [&mut one, &mut two] {
        let kept = a
            .with_behaviour::<idea_agent::ChannelKeeper, _>(at, |k, _| {
                k.channels()
                    .map(|(_, id, _, at_node, used)| (id, at_node, used))
                    .collect::<Vec<_>>()
            })
            .unwrap();
        assert_eq!(kept, [(opened[0].channel, true, true)]);
    }
}

/// A counterparty that stops countersigning (TE-09 fault): the seller's proposal of a debt is never answered;
/// after two minutes it is withdrawn and the seller's log says the interval is paid through the wallets
/// instead (the node, which never saw the debt in a state, pays it so at clearing); the next debt is
/// proposed afresh.
#[test]
fn a_debt_the_other_side_never_countersigns_is_withdrawn_and_paid_through_the_wallets() {
    let mut node = TeNode::new(registry_with_meter(&[1, 2], "meter-cell-1"));
    let (mut seller, mut buyer, id, mut trace) = agreed_pair(&mut node);
    for a in [&mut seller, &mut buyer] {
        a.add_behaviour(Box::new(idea_agent::ChannelKeeper::new(5_000)))
            .unwrap();
    }
    let (from, submission) = trace.te.remove(0);
    let now = t("2026-12-02T10:00:05Z");
    node.handle_submission(&from, submission, now);
    deliver(&mut node, &mut [&mut seller, &mut buyer], now);
    exchange(&mut node, &mut [&mut seller, &mut buyer], now, &mut trace);
    assert_eq!(node.channels().count(), 1, "the channel is open");

    // The node verified interval 0; the seller proposes the debt, and the buyer never answers (its messages
    // are lost).
    let settled = |interval: u32| TeNotice::Settled {
        to: "cell-1@idea".into(),
        transaction: id,
        interval,
        contracted_wh: 600,
        delivered_wh: 600,
        amount_minor: 108,
        penalty_minor: 0,
        complete: false,
    };
    let at = t("2026-12-02T11:16:00Z");
    seller.handle_te_notice(&settled(0), at).unwrap();
    let mut lost = Trace::default();
    pump(&mut [&mut seller], at, &mut lost);
    let proposals = lost
        .messages
        .iter()
        .filter(|m| m.protocol.as_deref() == Some(idea_agent::channels::PROTOCOL))
        .count();
    assert_eq!(proposals, 1, "one proposal, lost");
    let deadline = seller.poll_timeout().unwrap();
    assert!(deadline <= at.checked_add(idea_agent::channels::ANSWER_WITHIN).unwrap());

    // Two minutes on: withdrawn, and said so.
    let later = at.checked_add(idea_agent::channels::ANSWER_WITHIN).unwrap();
    seller.handle_timeout(later);
    pump(&mut [&mut seller], later, &mut lost);
    let withdrawn: Vec<&str> = lost
        .events
        .iter()
        .filter(|e| e.what == "channel-withdrawn")
        .map(|e| e.detail.as_str())
        .collect();
    assert_eq!(withdrawn.len(), 1, "{withdrawn:?}");
    assert!(
        withdrawn[0].contains("1 debts paid through the wallets instead"),
        "{}",
        withdrawn[0]
    );
    // The next interval's debt is proposed afresh (nothing is left pending).
    seller.handle_te_notice(&settled(1), later).unwrap();
    pump(&mut [&mut seller], later, &mut lost);
    let proposals = lost
        .messages
        .iter()
        .filter(|m| m.protocol.as_deref() == Some(idea_agent::channels::PROTOCOL))
        .count();
    assert_eq!(proposals, 2);
}

/// A proposal that names an interval the debtor has not heard verified yet waits for the node's notice, then
/// is countersigned and submitted.
#[test]
fn a_debt_proposed_before_the_debtor_hears_of_it_waits_for_the_notice() {
    let mut node = TeNode::new(registry_with_meter(&[1, 2], "meter-cell-1"));
    let (mut seller, mut buyer, id, mut trace) = agreed_pair(&mut node);
    for a in [&mut seller, &mut buyer] {
        a.add_behaviour(Box::new(idea_agent::ChannelKeeper::new(5_000)))
            .unwrap();
    }
    let (from, submission) = trace.te.remove(0);
    let now = t("2026-12-02T10:00:05Z");
    node.handle_submission(&from, submission, now);
    deliver(&mut node, &mut [&mut seller, &mut buyer], now);
    exchange(&mut node, &mut [&mut seller, &mut buyer], now, &mut trace);
    let settled = |to: &str| TeNotice::Settled {
        to: to.into(),
        transaction: id,
        interval: 0,
        contracted_wh: 600,
        delivered_wh: 600,
        amount_minor: 108,
        penalty_minor: 0,
        complete: false,
    };
    // The seller hears first and proposes; the buyer, not yet told, keeps the proposal.
    let at = t("2026-12-02T11:16:00Z");
    seller
        .handle_te_notice(&settled("cell-1@idea"), at)
        .unwrap();
    let mut waited = Trace::default();
    pump(&mut [&mut seller, &mut buyer], at, &mut waited);
    assert!(waited.te.is_empty(), "nothing countersigned yet");
    assert!(
        !waited
            .whats("cell-2@idea")
            .contains(&"channel-countersigned")
    );
    // Told, the buyer countersigns, submits the state and sends it back.
    buyer.handle_te_notice(&settled("cell-2@idea"), at).unwrap();
    pump(&mut [&mut seller, &mut buyer], at, &mut waited);
    assert!(
        waited
            .whats("cell-2@idea")
            .contains(&"channel-countersigned")
    );
    assert!(waited.whats("cell-1@idea").contains(&"channel-state"));
    assert!(matches!(
        waited.te.as_slice(),
        [(_, TeSubmission::ChannelState(_))]
    ));
}

/// The node's notice that it recorded a channel and the buyer's countersigned open travel different ways (the
/// TE topic and the agents' ACL topics): when the notice reaches the seller first, the seller still takes the
/// channel as recorded once the open arrives, and uses it.
#[test]
fn a_channel_recorded_before_the_countersigned_open_reaches_the_seller_is_still_open() {
    let mut node = TeNode::new(registry_with_meter(&[1, 2], "meter-cell-1"));
    let (mut seller, mut buyer, _id, mut trace) = agreed_pair(&mut node);
    for a in [&mut seller, &mut buyer] {
        a.add_behaviour(Box::new(idea_agent::ChannelKeeper::new(5_000)))
            .unwrap();
    }
    let (from, submission) = trace.te.remove(0);
    let now = t("2026-12-02T10:00:05Z");
    node.handle_submission(&from, submission, now);
    deliver(&mut node, &mut [&mut seller, &mut buyer], now);
    // The seller's offer of a channel reaches the buyer, who countersigns it and submits it to the node.
    let mut from_seller = Trace::default();
    pump(&mut [&mut seller], now, &mut from_seller);
    for m in from_seller.messages {
        buyer.handle_acl(m, now);
    }
    let mut from_buyer = Trace::default();
    pump(&mut [&mut buyer], now, &mut from_buyer);
    assert_eq!(from_buyer.te.len(), 1, "the buyer submits the open");
    for (from, s) in from_buyer.te.drain(..) {
        node.handle_submission(&from, s, now);
    }
    // The node's notices come first; the buyer's answer to the seller after.
    deliver(&mut node, &mut [&mut seller, &mut buyer], now);
    for m in from_buyer.messages {
        seller.handle_acl(m, now);
    }
    let mut after = Trace::default();
    pump(&mut [&mut seller], now, &mut after);
    let opened: Vec<&str> = after
        .events
        .iter()
        .filter(|e| e.what == "channel-open")
        .map(|e| e.detail.as_str())
        .collect();
    assert_eq!(opened.len(), 1, "{:?}", after.whats("cell-1@idea"));
    assert!(opened[0].contains("recorded at the TE node"));
    assert_eq!(node.channels().count(), 1);
}
