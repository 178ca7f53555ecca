//! TE-09 at the TE node: debt payment channels between avatars. A channel both sides signed opens at the node;
//! each newer state both signed replaces the channel's obligation in the clearing pool; the run pays the
//! outstanding net and tells both sides. A state the parties have not yet brought up to date with that payment
//! is never paid twice; a replayed or stale state, one that shrinks its totals, one that claims a payment
//! clearing did not make and one beyond the credit limit are refused and kept on record. Rebuilt from its
//! ledger, the node has the channel, what clearing paid for it and its outstanding net back.
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
use idea_agent::{TeNode, TeSubmission};
use idea_proto::*;
use te_contract::channel::{ChannelOpen, ChannelState, Debt, Party, Payment};
use te_contract::clearing::Source;
use te_contract::{ChannelId, DebtId, Signed};

const T0: &str = "2026-12-02T10:00:00Z";

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn eur() -> Currency {
    Currency::new("EUR", 2).unwrap()
}

const CHANNEL: ChannelId = ChannelId::from_bytes([9; 16]);

/// A registrar node keeping ledger entries, cells 1 (side A) and 2 (side B) registered through the network.
fn fresh() -> TeNode {
    TeNode::registrar(
        deployment(),
        key(60),
        idea_agent::Admission::Open,
        t("2026-12-01T00:00:00Z"),
    )
}

fn node() -> TeNode {
    let mut node = fresh().with_ledger_entries();
    let registrar = PublicKey::from(&key(60));
    for n in [1u8, 2] {
        let registration = idea_agent::te_node::registration_submission(
            &deployment(),
            &registrar,
            avatar(n),
            AgentId::new(format!("agent-cell-{n}")).unwrap(),
            &key(n),
            t(T0),
        );
        node.handle_submission(&format!("cell-{n}@idea"), registration, t(T0));
    }
    while node.poll_notice().is_some() {}
    node
}

fn opened() -> TeSubmission {
    let mut open = Signed::new(
        deployment(),
        ChannelOpen {
            channel: CHANNEL,
            a: avatar(1),
            b: avatar(2),
            currency: eur(),
            credit_limit: 5_000,
            challenge_period: Duration::from_mins(60),
            opened_at: t(T0),
        },
    );
    open.sign(avatar(1), 0, &key(1)).unwrap();
    open.sign(avatar(2), 0, &key(2)).unwrap();
    TeSubmission::OpenChannel(Box::new(open))
}

/// State `counter`, proposed by B (the creditor) and countersigned by A: A has owed `owed_by_a` in all and
/// paid `paid_by_a`, adding `debts` and `payments`.
fn state(
    counter: u64,
    owed_by_a: i64,
    paid_by_a: i64,
    debts: Vec<Debt>,
    payments: Vec<Payment>,
) -> TeSubmission {
    let mut s = Signed::new(
        deployment(),
        ChannelState {
            channel: CHANNEL,
            counter,
            proposer: Party::B,
            proposer_avatar: avatar(2),
            acceptor_avatar: avatar(1),
            owed_by_a,
            owed_by_b: 0,
            paid_by_a,
            paid_by_b: 0,
            debts,
            payments,
        },
    );
    s.sign(avatar(2), 0, &key(2)).unwrap();
    s.sign(avatar(1), 0, &key(1)).unwrap();
    TeSubmission::ChannelState(Box::new(s))
}

fn debt(n: u8, amount: i64) -> Debt {
    Debt {
        id: DebtId::from_bytes([n; 16]),
        debtor: Party::A,
        amount,
        contract: TransactionId::from_bytes([n; 16]),
        interval: 0,
        token: None,
    }
}

fn notices(node: &mut TeNode) -> Vec<TeNotice> {
    std::iter::from_fn(|| node.poll_notice()).collect()
}

fn refused(notices: &[TeNotice]) -> String {
    match notices {
        [TeNotice::Refused { to, reason, .. }] => {
            assert_eq!(to, "cell-1@idea");
            reason.clone()
        }
        other => panic!("{other:?}"),
    }
}

fn channel_obligation(node: &TeNode) -> Option<i64> {
    node.pending_obligations()
        .find(|o| o.source == Source::Channel(CHANNEL))
        .map(|o| o.amount.minor_units)
}

#[test]
fn a_channels_net_is_paid_at_clearing_once_and_bad_states_are_refused() {
    let mut node = node();
    node.deposit(avatar(1), Money::new(10_000, eur()), t(T0))
        .unwrap();
    let at = t("2026-12-02T10:01:00Z");

    // Opened: both sides hear it at state 0; opened again, refused.
    node.handle_submission("cell-1@idea", opened(), at);
    let told: Vec<(String, u64)> = notices(&mut node)
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
    node.handle_submission("cell-1@idea", opened(), at);
    assert!(refused(&notices(&mut node)).contains("is open already"));

    // A owes B 12.00: the channel's net waits for the next clearing, each side told its due.
    let one = state(1, 1_200, 0, vec![debt(1, 1_200)], vec![]);
    node.handle_submission("cell-1@idea", one.clone(), at);
    let dues: Vec<(String, i64)> = notices(&mut node)
        .into_iter()
        .map(|n| match n {
            TeNotice::ChannelRecorded { to, due_minor, .. } => (to, due_minor),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        dues,
        [
            ("cell-1@idea".to_owned(), -1_200),
            ("cell-2@idea".to_owned(), 1_200)
        ]
    );
    assert_eq!(channel_obligation(&node), Some(1_200));
    // The same state again: a replay, refused.
    node.handle_submission("cell-1@idea", one, at);
    assert!(refused(&notices(&mut node)).contains("is not newer than state 1"));

    // The run at the quarter hour pays it and tells both sides.
    let quarter = t("2026-12-02T10:15:00Z");
    assert_eq!(node.poll_timeout(), Some(quarter));
    node.handle_timeout(quarter);
    assert_eq!(node.wallets().balance(&avatar(1), eur()).minor_units, 8_800);
    assert_eq!(node.wallets().balance(&avatar(2), eur()).minor_units, 1_200);
    let paid: Vec<(String, i64)> = notices(&mut node)
        .into_iter()
        .filter_map(|n| match n {
            TeNotice::ChannelPaid {
                to,
                amount_minor,
                payer,
                ..
            } => {
                assert_eq!(payer, avatar(1).to_string());
                Some((to, amount_minor))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        paid,
        [
            ("cell-1@idea".to_owned(), 1_200),
            ("cell-2@idea".to_owned(), 1_200)
        ]
    );
    assert_eq!(channel_obligation(&node), None);
    assert_eq!(node.poll_timeout(), None, "nothing waits");

    // A newer state that adds 3.00 of debt but does not yet record the payment: only the 3.00 is due.
    let later = t("2026-12-02T10:20:00Z");
    node.handle_submission(
        "cell-1@idea",
        state(2, 1_500, 0, vec![debt(2, 300)], vec![]),
        later,
    );
    notices(&mut node);
    assert_eq!(channel_obligation(&node), Some(300), "never paid twice");

    // Refused: a state claiming a payment clearing did not make, one whose totals shrink, one beyond the
    // credit limit.
    let mut bad = Vec::new();
    for s in [
        state(3, 1_500, 2_000, vec![], vec![]),
        state(3, 1_400, 0, vec![], vec![]),
        state(3, 7_000, 0, vec![debt(3, 5_500)], vec![]),
    ] {
        node.handle_submission("cell-1@idea", s, later);
        bad.push(refused(&notices(&mut node)));
    }
    assert!(bad[0].contains("clearing paid 1200"), "{}", bad[0]);
    assert!(bad[1].contains("owes or pays less in total"), "{}", bad[1]);
    assert!(bad[2].contains("beyond the credit limit"), "{}", bad[2]);
    assert_eq!(node.refusals().count(), 5, "every refusal kept");

    // The payment written back (its id the run's): still 3.00 due.
    let run = te_contract::clearing::clearing_id(quarter);
    node.handle_submission(
        "cell-1@idea",
        state(
            3,
            1_500,
            1_200,
            vec![],
            vec![Payment {
                id: run,
                payer: Party::A,
                amount: 1_200,
            }],
        ),
        later,
    );
    notices(&mut node);
    assert_eq!(channel_obligation(&node), Some(300));

    // Rebuilt from its ledger: the channel, what clearing paid for it and the 3.00 due are back, and the next
    // run pays exactly that.
    let mut ledger =
        te_contract::ledger::Ledger::open(te_contract::ledger::MemoryStore::new()).unwrap();
    let entries: Vec<_> = std::iter::from_fn(|| node.poll_entry()).collect();
    ledger.submit_all(entries).unwrap();
    ledger.commit().unwrap();
    let (mut rebuilt, _) = fresh().rebuild(ledger.store()).unwrap();
    assert_eq!(
        rebuilt
            .channels()
            .map(|(_, n, paid)| (n, paid))
            .collect::<Vec<_>>(),
        [(3, [1_200, 0])]
    );
    assert_eq!(channel_obligation(&rebuilt), Some(300));
    assert_eq!(rebuilt.wallets(), node.wallets());
    let half = t("2026-12-02T10:30:00Z");
    rebuilt.handle_timeout(half);
    node.handle_timeout(half);
    assert_eq!(rebuilt.wallets(), node.wallets());
    assert_eq!(node.wallets().balance(&avatar(2), eur()).minor_units, 1_500);
}
