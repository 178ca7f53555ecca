//! Debt payment channels: netting, closes, and every attack the issue lists — stale state published,
//! replay across channels, deployments and message types, the same debt or meter token counted twice,
//! same-counter equivocation, griefing by refusal.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use common::{World, accept, confirm, eur, later};
use idea_proto::{Money, SigningKey, TransactionId};
use te_contract::channel::{
    Adjudicator, ChallengeOutcome, Channel, ChannelClose, ChannelOpen, ChannelState, ChannelStatus,
    ChannelStore, CloseRequest, Debt, MemoryChannelStore, Party,
};
use te_contract::signed::Domain;
use te_contract::wallet::Wallets;
use te_contract::{Codec, DebtId, Error, MessageKind, Signed};

fn debt(n: u8, debtor: Party, amount: i64, token: Option<u8>) -> Debt {
    Debt {
        id: DebtId::from_bytes([n; 16]),
        debtor,
        amount,
        contract: TransactionId::from_bytes([0xC0; 16]),
        interval: u32::from(n),
        token: token.map(|t| [t; 16]),
    }
}

/// `proposer` proposes `debts`, `acceptor` countersigns, `proposer` confirms; returns the state.
fn exchange(
    w: &World,
    proposer: &mut Channel,
    acceptor: &mut Channel,
    debts: Vec<Debt>,
) -> Signed<ChannelState> {
    let (pk, ak) = (key_of(w, proposer), key_of(w, acceptor));
    let proposal = proposer
        .propose(debts, vec![], &mut MemoryChannelStore::default(), pk, 0)
        .unwrap();
    let accepted = acceptor
        .accept(
            proposal,
            &w.registry,
            &mut MemoryChannelStore::default(),
            ak,
            0,
            w.now,
        )
        .unwrap();
    confirm(w, proposer, accepted.countersigned.clone()).unwrap();
    accepted.countersigned
}

fn key_of<'a>(w: &'a World, channel: &Channel) -> &'a SigningKey {
    let avatar = channel.open().avatar(channel.side());
    let i = w.ids.iter().position(|id| *id == avatar).unwrap();
    &w.keys[i]
}

fn funded(w: &World) -> Wallets {
    let mut wallets = Wallets::new();
    for id in &w.ids {
        wallets.deposit(*id, Money::new(100_000, eur())).unwrap();
    }
    wallets
}

/// Side `who` (its index in the world) asks, signed, to close `open`'s channel at `state` at `at`.
fn close(
    adj: &mut Adjudicator,
    w: &World,
    open: &Signed<ChannelOpen>,
    who: usize,
    state: Option<Signed<ChannelState>>,
    at: idea_proto::Timestamp,
) -> te_contract::Result<idea_proto::Timestamp> {
    let request = close_request(w, open, who, state.as_ref(), at);
    adj.close_unilaterally(&request, state, &w.registry, at)
}

fn close_request(
    w: &World,
    open: &Signed<ChannelOpen>,
    who: usize,
    state: Option<&Signed<ChannelState>>,
    at: idea_proto::Timestamp,
) -> Signed<CloseRequest> {
    let mut request = Signed::new(
        w.deployment.clone(),
        CloseRequest {
            channel: open.body().channel,
            by: w.ids[who],
            counter: state.map_or(0, |s| s.body().counter),
            at,
        },
    );
    request.sign(w.ids[who], 0, &w.keys[who]).unwrap();
    request
}

fn adjudicator(w: &World, open: &Signed<te_contract::channel::ChannelOpen>) -> Adjudicator {
    let mut adj = Adjudicator::new(w.deployment.clone());
    adj.open(open.clone(), &w.registry, w.now).unwrap();
    adj
}

#[test]
fn opposite_debts_net_and_totals_only_grow() {
    let w = World::new("idea-test", 2);
    let (_, mut a, mut b) = w.channel(1, 0, 1, 10_000);
    let s1 = exchange(&w, &mut a, &mut b, vec![debt(1, Party::B, 300, Some(1))]);
    let s2 = exchange(&w, &mut b, &mut a, vec![debt(2, Party::A, 100, Some(2))]);
    assert_eq!((s1.body().counter, s2.body().counter), (1, 2));
    assert_eq!(s2.body().net_owed_by_a().unwrap(), -200);
    assert_eq!((s2.body().owed_by_a, s2.body().owed_by_b), (100, 300));
    assert_eq!(a.totals(), b.totals());
    assert_eq!(a.exposure().unwrap().minor_units, 200);
    assert_eq!(b.exposure().unwrap().minor_units, 0);
    // A state that shrinks a total is not the next state, whoever signs it.
    let mut shrunk = s2.body().clone();
    shrunk.counter = 3;
    shrunk.owed_by_b = 250;
    shrunk.proposer = Party::A;
    shrunk.proposer_avatar = w.ids[0];
    shrunk.acceptor_avatar = w.ids[1];
    shrunk.debts = vec![debt(3, Party::A, 50, None)];
    let mut forged = Signed::new(w.deployment.clone(), shrunk);
    forged.sign(w.ids[0], 0, &w.keys[0]).unwrap();
    let err = accept(&w, &mut b, forged, 1).unwrap_err();
    assert!(matches!(err, Error::Channel { .. }), "{err}");
}

#[test]
fn a_stale_state_published_is_replaced_in_the_challenge_window() {
    let w = World::new("idea-test", 2);
    let (open, mut a, mut b) = w.channel(1, 0, 1, 10_000);
    let s1 = exchange(&w, &mut a, &mut b, vec![debt(1, Party::B, 100, None)]);
    let s2 = exchange(&w, &mut a, &mut b, vec![debt(2, Party::B, 300, None)]);
    let mut adj = adjudicator(&w, &open);
    let mut wallets = funded(&w);
    // B, the debtor, publishes the state where it owed less.
    let deadline = close(&mut adj, &w, &open, 1, Some(s1.clone()), later(1)).unwrap();
    assert_eq!(deadline, later(61));
    assert_eq!(adj.poll_timeout(), Some(deadline));
    assert_eq!(
        adj.challenge(s2.clone(), &w.registry, later(30)).unwrap(),
        ChallengeOutcome::Replaced
    );
    // Going back is refused; showing the same state again changes nothing.
    let err = adj.challenge(s1, &w.registry, later(31)).unwrap_err();
    assert!(err.to_string().contains("older"), "{err}");
    assert_eq!(
        adj.challenge(s2.clone(), &w.registry, later(32)).unwrap(),
        ChallengeOutcome::Unchanged
    );
    assert!(
        adj.handle_timeout(&mut wallets, later(60))
            .settled
            .is_empty()
    );
    let paid = adj.handle_timeout(&mut wallets, later(61)).settled;
    assert_eq!(paid.len(), 1);
    assert_eq!(paid[0].counter, 2);
    assert_eq!(paid[0].paid, Money::new(400, eur()));
    assert_eq!(wallets.balance(&w.ids[0], eur()).minor_units, 100_400);
    assert_eq!(wallets.balance(&w.ids[1], eur()).minor_units, 99_600);
    let err = adj.challenge(s2, &w.registry, later(62)).unwrap_err();
    assert!(
        matches!(&err, Error::Channel { reason, .. } if reason == "not closing"),
        "closed: {err:?}"
    );
    assert_eq!(adj.poll_timeout(), None);
}

#[test]
fn a_state_replayed_in_another_channel_does_not_verify() {
    let w = World::new("idea-test", 2);
    let (_, mut a, mut b) = w.channel(1, 0, 1, 10_000);
    let (_, _, mut other_b) = w.channel(2, 0, 1, 10_000);
    let proposal = a
        .propose(
            vec![debt(5, Party::B, 100, None)],
            vec![],
            &mut MemoryChannelStore::default(),
            &w.keys[0],
            0,
        )
        .unwrap();
    // The same content for channel 2 carrying channel 1's signature.
    let bytes = proposal.to_bytes();
    let grafted = replace(&bytes, &[1; 16], &[2; 16]);
    let grafted = Signed::<ChannelState>::decode_exact(&grafted).unwrap();
    assert_eq!(grafted.body().channel.0, [2; 16]);
    let err = accept(&w, &mut other_b, grafted, 1).unwrap_err();
    assert!(matches!(err, Error::BadSignature { .. }), "{err}");
    // The original still goes through where it belongs.
    accept(&w, &mut b, proposal, 1).unwrap();
}

#[test]
fn a_state_replayed_in_another_deployment_does_not_verify() {
    let test = World::new("idea-test", 2);
    let prod = World::new("idea-prod", 2);
    let (_, mut a, _) = test.channel(1, 0, 1, 10_000);
    let (_, _, mut prod_b) = prod.channel(1, 0, 1, 10_000);
    let proposal = a
        .propose(
            vec![debt(1, Party::B, 100, None)],
            vec![],
            &mut MemoryChannelStore::default(),
            &test.keys[0],
            0,
        )
        .unwrap();
    let err = accept(&prod, &mut prod_b, proposal.clone(), 1).unwrap_err();
    assert!(
        matches!(
            err,
            Error::WrongDomain {
                field: "deployment",
                ..
            }
        ),
        "{err}"
    );
    // Relabelled as a production object, the test signature is worthless.
    let relabelled = replace(&proposal.to_bytes(), b"idea-test", b"idea-prod");
    let relabelled = Signed::<ChannelState>::decode_exact(&relabelled).unwrap();
    let err = accept(&prod, &mut prod_b, relabelled, 1).unwrap_err();
    assert!(matches!(err, Error::BadSignature { .. }), "{err}");
}

#[test]
fn a_signature_made_for_one_message_type_does_not_verify_as_another() {
    let w = World::new("idea-test", 2);
    let body = b"the same bytes";
    let domain = |kind| Domain {
        deployment: &w.deployment,
        kind,
        scope: [1; 16],
        counter: 1,
    };
    let digests: Vec<[u8; 32]> = MessageKind::ALL
        .iter()
        .map(|k| domain(*k).digest(body))
        .collect();
    for (i, x) in digests.iter().enumerate() {
        for y in &digests[i + 1..] {
            assert_ne!(x, y);
        }
    }
    // Scope and counter are bound too.
    let base = domain(MessageKind::ChannelState);
    assert_ne!(
        base.digest(body),
        Domain {
            scope: [2; 16],
            ..base.clone()
        }
        .digest(body)
    );
    assert_ne!(
        base.digest(body),
        Domain {
            counter: 2,
            ..base.clone()
        }
        .digest(body)
    );
    // A channel state's bytes are not a close, even with the kind code patched.
    let (_, mut a, _) = w.channel(1, 0, 1, 10_000);
    let proposal = a
        .propose(
            vec![debt(1, Party::B, 100, None)],
            vec![],
            &mut MemoryChannelStore::default(),
            &w.keys[0],
            0,
        )
        .unwrap();
    let mut bytes = proposal.to_bytes();
    let err = Signed::<ChannelClose>::decode_exact(&bytes).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Decode {
                field: "kind",
                offset: 0,
                ..
            }
        ),
        "{err}"
    );
    bytes[..2].copy_from_slice(&MessageKind::ChannelClose.code().to_be_bytes());
    let err = Signed::<ChannelClose>::decode_exact(&bytes).unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
}

#[test]
fn the_same_debt_or_meter_token_is_never_counted_twice() {
    let w = World::new("idea-test", 2);
    let (_, mut a, mut b) = w.channel(1, 0, 1, 10_000);
    exchange(&w, &mut a, &mut b, vec![debt(1, Party::B, 100, Some(7))]);
    // The proposer's own side refuses a debt id or token it counted.
    let err = a
        .propose(
            vec![debt(1, Party::B, 100, None)],
            vec![],
            &mut MemoryChannelStore::default(),
            &w.keys[0],
            0,
        )
        .unwrap_err();
    assert!(
        matches!(err, Error::Duplicate { what: "debt", .. }),
        "{err}"
    );
    let err = a
        .propose(
            vec![debt(2, Party::B, 100, Some(7))],
            vec![],
            &mut MemoryChannelStore::default(),
            &w.keys[0],
            0,
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Duplicate {
                what: "meter token",
                ..
            }
        ),
        "{err}"
    );
    let err = a
        .propose(
            vec![debt(3, Party::B, 1, None), debt(3, Party::B, 1, None)],
            vec![],
            &mut MemoryChannelStore::default(),
            &w.keys[0],
            0,
        )
        .unwrap_err();
    assert!(
        matches!(err, Error::Duplicate { what: "debt", .. }),
        "{err}"
    );
    // And so does the countersigning side, facing a proposer that forgot the first state: its replay at
    // counter 1 is refused, and at counter 2 (on a twin state 1) the token counted in state 1 is refused.
    let (_, mut forgetful_a, _) = w.channel(1, 0, 1, 10_000);
    let replay = forgetful_a
        .propose(
            vec![debt(9, Party::B, 100, Some(7))],
            vec![],
            &mut MemoryChannelStore::default(),
            &w.keys[0],
            0,
        )
        .unwrap();
    let err = accept(&w, &mut b, replay, 1).unwrap_err();
    assert!(
        matches!(err, Error::Channel { .. }),
        "counter 1 again: {err}"
    );
    let mut ahead = forgetful_a.clone();
    ahead.withdraw();
    let s = exchange_with_stranger_counter(&w, &mut ahead);
    let err = accept(&w, &mut b, s, 1).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Duplicate {
                what: "meter token",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(b.totals().counter, 1);
}

/// A proposal at counter 2 reusing token 7, on top of a state 1 that `a` made with a twin of B.
fn exchange_with_stranger_counter(w: &World, a: &mut Channel) -> Signed<ChannelState> {
    let (_, _, mut b_twin) = w.channel(1, 0, 1, 10_000);
    exchange(w, a, &mut b_twin, vec![debt(1, Party::B, 100, None)]);
    a.propose(
        vec![debt(20, Party::B, 100, Some(7))],
        vec![],
        &mut MemoryChannelStore::default(),
        &w.keys[0],
        0,
    )
    .unwrap()
}

#[test]
fn two_states_with_one_counter_are_resolved_against_the_side_that_signed_both() {
    let w = World::new("idea-test", 2);
    let (open, a0, b0) = w.channel(1, 0, 1, 10_000);
    // B countersigns two different proposals of A for counter 1 (two copies of B's channel: B cheats).
    let (mut a1, mut b1) = (a0.clone(), b0.clone());
    let (mut a2, mut b2) = (a0, b0);
    let first = exchange(&w, &mut a1, &mut b1, vec![debt(1, Party::B, 100, None)]);
    let second = exchange(&w, &mut a2, &mut b2, vec![debt(2, Party::B, 900, None)]);
    assert_eq!(first.body().counter, second.body().counter);
    let mut adj = adjudicator(&w, &open);
    let mut wallets = funded(&w);
    close(&mut adj, &w, &open, 1, Some(first.clone()), later(1)).unwrap();
    assert_eq!(
        adj.challenge(second.clone(), &w.registry, later(2))
            .unwrap(),
        ChallengeOutcome::Disputed
    );
    match adj.status(&open.body().channel).unwrap() {
        ChannelStatus::Closing {
            equivocation: Some(e),
            state: Some(kept),
            ..
        } => {
            assert_eq!((&e.first, &e.second), (&first, &second));
            assert_eq!(e.culprit, w.ids[1], "B countersigned both");
            // The state worse for B (it owes 900) is kept.
            assert_eq!((&e.kept, &**kept), (&second, &second));
            assert_eq!(e.at, later(2));
        }
        other => panic!("{other:?}"),
    }
    // Not frozen: the window ends and the channel is paid.
    let paid = adj.handle_timeout(&mut wallets, later(61));
    assert!(paid.failed.is_empty());
    assert_eq!(paid.settled[0].paid.minor_units, 900);
    assert_eq!(paid.settled[0].equivocator, Some(w.ids[1]));
    assert_eq!(wallets.balance(&w.ids[1], eur()).minor_units, 99_100);
}

/// The self-made dispute: both propose at once, B (honest) countersigns A's proposal, and A
/// withdraws its own to countersign B's — holding two fully signed states with one counter.
#[test]
fn a_side_cannot_make_a_dispute_alone() {
    let w = World::new("idea-test", 2);
    let (open, mut a, mut b) = w.channel(1, 0, 1, 10_000);
    // A is owed 100 in its proposal; B's proposal makes A owe 400.
    let from_a = a
        .propose(
            vec![debt(1, Party::B, 100, None)],
            vec![],
            &mut MemoryChannelStore::default(),
            &w.keys[0],
            0,
        )
        .unwrap();
    let from_b = b
        .propose(
            vec![debt(2, Party::A, 400, None)],
            vec![],
            &mut MemoryChannelStore::default(),
            &w.keys[1],
            0,
        )
        .unwrap();
    let by_both = accept(&w, &mut b, from_a, 1).unwrap().countersigned;
    // Through the channel, A cannot countersign B's proposal for the counter it proposed at, even after
    // withdrawing its own.
    a.withdraw();
    let err = accept(&w, &mut a, from_b.clone(), 0).unwrap_err();
    assert!(
        matches!(&err, Error::Channel { reason, .. } if reason.contains("we proposed state 1")),
        "{err}"
    );
    // B's countersignature of the withdrawn proposal still counts for A.
    confirm(&w, &mut a, by_both.clone()).unwrap();
    assert_eq!(a.totals(), b.totals());
    // A cheats outside the channel: it countersigns B's proposal by hand and closes with it.
    let mut forged = from_b;
    forged.sign(w.ids[0], 0, &w.keys[0]).unwrap();
    let mut adj = adjudicator(&w, &open);
    let mut wallets = funded(&w);
    close(&mut adj, &w, &open, 0, Some(by_both.clone()), later(1)).unwrap();
    assert_eq!(
        adj.challenge(forged, &w.registry, later(2)).unwrap(),
        ChallengeOutcome::Disputed
    );
    // A broke the protocol: the state worse for A (it owes 400) is paid, at the deadline, as usual.
    let paid = adj.handle_timeout(&mut wallets, later(61));
    assert_eq!(paid.settled.len(), 1, "{paid:?}");
    let settlement = &paid.settled[0];
    assert_eq!(settlement.equivocator, Some(w.ids[0]));
    assert_eq!(
        (settlement.payer, settlement.paid.minor_units),
        (Some(w.ids[0]), 400)
    );
    assert!(matches!(
        adj.status(&open.body().channel),
        Some(ChannelStatus::Closed(_))
    ));
}

/// Two avatars of one attacker sign a state whose net does not fit 64 bits (a payment above its debt):
/// refused at the close, and another channel's payout is not held up by anything in the first.
#[test]
fn a_state_whose_totals_do_not_add_up_is_refused_and_blocks_no_other_channel() {
    let w = World::new("idea-test", 4);
    let (open, mut a, mut b) = w.channel(1, 0, 1, 10_000);
    exchange(&w, &mut a, &mut b, vec![debt(1, Party::B, 100, None)]);
    let mut poison = a.totals().clone();
    poison.counter = 2;
    poison.owed_by_a = i64::MAX;
    poison.paid_by_b = i64::MAX;
    poison.debts = vec![debt(9, Party::A, i64::MAX - 1, None)];
    let mut poison = Signed::new(w.deployment.clone(), poison);
    poison.sign(w.ids[0], 0, &w.keys[0]).unwrap();
    poison.sign(w.ids[1], 0, &w.keys[1]).unwrap();
    let mut adj = adjudicator(&w, &open);
    let err = close(&mut adj, &w, &open, 0, Some(poison), later(1)).unwrap_err();
    assert!(
        matches!(&err, Error::Channel { reason, .. } if reason.contains("paid more than it owed")),
        "{err}"
    );
    // An honest channel between two others closes and is paid.
    let (open2, mut c, mut d) = w.channel(2, 2, 3, 10_000);
    let s = exchange(&w, &mut c, &mut d, vec![debt(1, Party::B, 250, None)]);
    adj.open(open2.clone(), &w.registry, w.now).unwrap();
    close(&mut adj, &w, &open2, 2, Some(s), later(1)).unwrap();
    let mut wallets = funded(&w);
    let paid = adj.handle_timeout(&mut wallets, later(61));
    assert_eq!(paid.settled.len(), 1);
    assert_eq!(paid.settled[0].paid.minor_units, 250);
}

/// A payout that cannot be made (the payee's wallet would pass 64 bits) fails for that channel alone.
#[test]
fn a_failed_payout_affects_its_channel_alone() {
    let w = World::new("idea-test", 4);
    let (open, mut a, mut b) = w.channel(1, 0, 1, 10_000);
    let s = exchange(&w, &mut a, &mut b, vec![debt(1, Party::B, 100, None)]);
    let (open2, mut c, mut d) = w.channel(2, 2, 3, 10_000);
    let s2 = exchange(&w, &mut c, &mut d, vec![debt(1, Party::B, 250, None)]);
    let mut adj = adjudicator(&w, &open);
    adj.open(open2.clone(), &w.registry, w.now).unwrap();
    close(&mut adj, &w, &open, 0, Some(s), later(1)).unwrap();
    close(&mut adj, &w, &open2, 2, Some(s2), later(1)).unwrap();
    let mut wallets = funded(&w);
    // A, the payee of the first channel, holds as much as a wallet can.
    wallets
        .deposit(w.ids[0], Money::new(i64::MAX - 100_000, eur()))
        .unwrap();
    let paid = adj.handle_timeout(&mut wallets, later(61));
    assert_eq!(paid.failed.len(), 1);
    assert_eq!(paid.failed[0].channel, open.body().channel);
    assert!(
        matches!(paid.failed[0].error, Error::Overflow(_)),
        "{:?}",
        paid.failed[0]
    );
    assert_eq!(paid.settled.len(), 1);
    assert_eq!(paid.settled[0].channel, open2.body().channel);
    assert_eq!(
        wallets.balance(&w.ids[1], eur()).minor_units,
        100_000,
        "nothing moved"
    );
    assert!(matches!(
        adj.status(&open.body().channel),
        Some(ChannelStatus::PayoutFailed { .. })
    ));
    assert_eq!(adj.poll_timeout(), None, "no window left to wait for");
}

/// Only a side's own signature starts a close; the request names the state brought and is recent.
#[test]
fn a_close_starts_only_on_the_signed_request_of_a_side() {
    let w = World::new("idea-test", 3);
    let (open, mut a, mut b) = w.channel(1, 0, 1, 10_000);
    let s = exchange(&w, &mut a, &mut b, vec![debt(1, Party::B, 100, None)]);
    let mut adj = adjudicator(&w, &open);
    // Signed with the third avatar's key in A's name.
    let mut forged = Signed::new(
        w.deployment.clone(),
        CloseRequest {
            channel: open.body().channel,
            by: w.ids[0],
            counter: 1,
            at: later(1),
        },
    );
    forged.sign(w.ids[0], 0, &w.keys[2]).unwrap();
    let err = adj
        .close_unilaterally(&forged, Some(s.clone()), &w.registry, later(1))
        .unwrap_err();
    assert!(matches!(err, Error::BadSignature { .. }), "{err}");
    // A request for another counter than the state brought.
    let other = close_request(&w, &open, 0, None, later(1));
    let err = adj
        .close_unilaterally(&other, Some(s.clone()), &w.registry, later(1))
        .unwrap_err();
    assert!(
        matches!(&err, Error::Channel { reason, .. } if reason.contains("names state 0")),
        "{err}"
    );
    // A request replayed after its challenge period.
    let old = close_request(&w, &open, 0, Some(&s), later(1));
    let err = adj
        .close_unilaterally(&old, Some(s.clone()), &w.registry, later(62))
        .unwrap_err();
    assert!(
        matches!(&err, Error::Channel { reason, .. } if reason.contains("not recent")),
        "{err}"
    );
    assert_eq!(adj.status(&open.body().channel), Some(&ChannelStatus::Open));
    close(&mut adj, &w, &open, 0, Some(s), later(2)).unwrap();
}

#[test]
fn a_counterparty_that_stops_countersigning_costs_at_most_the_credit_limit() {
    let w = World::new("idea-test", 2);
    let (open, mut a, mut b) = w.channel(1, 0, 1, 1_000);
    exchange(&w, &mut a, &mut b, vec![debt(1, Party::B, 400, None)]);
    // From here B takes A's energy but never signs: A delivers only while it has headroom.
    let mut delivered = 400;
    let mut n = 2;
    while a.headroom().unwrap().minor_units >= 250 {
        if a.pending().is_some() {
            a.withdraw();
        }
        let owed_unsigned = delivered - 400 + 250;
        let e = a.propose(
            vec![debt(n, Party::B, owed_unsigned, None)],
            vec![],
            &mut MemoryChannelStore::default(),
            &w.keys[0],
            0,
        );
        e.unwrap();
        delivered += 250;
        n += 1;
        assert!(a.exposure().unwrap().minor_units <= 1_000);
    }
    assert_eq!(delivered, 900);
    let err = {
        a.withdraw();
        a.propose(
            vec![debt(n, Party::B, 750, None)],
            vec![],
            &mut MemoryChannelStore::default(),
            &w.keys[0],
            0,
        )
        .unwrap_err()
    };
    assert!(matches!(err, Error::CreditLimit { .. }), "{err}");
    // A closes with the last state B signed and gets what B owed there.
    let mut adj = adjudicator(&w, &open);
    let mut wallets = funded(&w);
    close(&mut adj, &w, &open, 0, a.latest().cloned(), later(1)).unwrap();
    let paid = adj.handle_timeout(&mut wallets, later(61)).settled;
    assert_eq!(paid[0].paid.minor_units, 400);
}

/// A side restarted from what its store kept is the side it was: the same latest state and totals, its own
/// proposal known again — the other side countersigns it and the restarted side takes it — and counters go on.
#[test]
fn a_side_restarts_from_its_store() {
    let w = World::new("idea-test", 2);
    let (open, mut a, mut b) = w.channel(1, 0, 1, 10_000);
    let mut a_store = MemoryChannelStore::default();
    let mut b_store = MemoryChannelStore::default();
    for n in 1..=2u8 {
        let proposal = a
            .propose(
                vec![debt(n, Party::B, 100, Some(n))],
                vec![],
                &mut a_store,
                &w.keys[0],
                0,
            )
            .unwrap();
        let accepted = b
            .accept(proposal, &w.registry, &mut b_store, &w.keys[1], 0, w.now)
            .unwrap();
        a.confirm(accepted.countersigned, &w.registry, &mut a_store, w.now)
            .unwrap();
    }
    // A proposes state 3, then "crashes" before B answers.
    let third = a
        .propose(
            vec![debt(3, Party::B, 50, None)],
            vec![],
            &mut a_store,
            &w.keys[0],
            0,
        )
        .unwrap();
    assert_eq!(
        a_store.saved.len(),
        5,
        "two proposals, two states, one proposal"
    );
    let mut restarted = Channel::restore(
        w.deployment.clone(),
        open.clone(),
        w.ids[0],
        a_store.saved.clone(),
        &w.registry,
        w.now,
    )
    .unwrap();
    assert_eq!(restarted.totals(), a.totals());
    assert_eq!(restarted.latest(), a.latest());
    assert_eq!(restarted.totals().counter, 2);
    assert!(
        restarted.pending().is_none(),
        "nothing is pending after a restart"
    );
    // B countersigns the proposal A made before the crash: the restarted A takes it.
    let accepted = b
        .accept(third, &w.registry, &mut b_store, &w.keys[1], 0, w.now)
        .unwrap();
    restarted
        .confirm(accepted.countersigned, &w.registry, &mut a_store, w.now)
        .unwrap();
    assert_eq!(restarted.totals().counter, 3);
    assert_eq!(restarted.totals().owed_by_b, 250);
    // A debt counted before the crash is still counted.
    let err = restarted
        .propose(
            vec![debt(1, Party::B, 100, None)],
            vec![],
            &mut a_store,
            &w.keys[0],
            0,
        )
        .unwrap_err();
    assert!(
        matches!(err, Error::Duplicate { what: "debt", .. }),
        "{err}"
    );
    // B restarts too, from its own store (countersigned states only).
    let b_again = Channel::restore(
        w.deployment.clone(),
        open,
        w.ids[1],
        b_store.saved.clone(),
        &w.registry,
        w.now,
    )
    .unwrap();
    assert_eq!(b_again.totals(), restarted.totals());
}

/// A store that does not replay is refused with what is wrong in it, never guessed at: a gap, two different
/// states for one counter, a state whose bytes were altered.
#[test]
fn a_store_that_does_not_replay_is_refused() {
    let w = World::new("idea-test", 2);
    let (open, mut a, mut b) = w.channel(1, 0, 1, 10_000);
    let s1 = exchange(&w, &mut a, &mut b, vec![debt(1, Party::B, 100, None)]);
    let s2 = exchange(&w, &mut a, &mut b, vec![debt(2, Party::B, 100, None)]);
    let restore = |saved: Vec<Signed<ChannelState>>| {
        Channel::restore(
            w.deployment.clone(),
            open.clone(),
            w.ids[0],
            saved,
            &w.registry,
            w.now,
        )
    };
    assert_eq!(
        restore(vec![s1.clone(), s2.clone(), s2.clone()])
            .unwrap()
            .totals()
            .counter,
        2
    );
    let err = restore(vec![s2.clone()]).unwrap_err();
    assert!(
        err.to_string().contains("saved state 2 follows state 0"),
        "{err}"
    );
    // Another state 1 both signed (a second channel pair with the same keys makes one).
    let (_, mut a2, mut b2) = w.channel(1, 0, 1, 10_000);
    let other = exchange(&w, &mut a2, &mut b2, vec![debt(9, Party::B, 7, None)]);
    let err = restore(vec![s1.clone(), other]).unwrap_err();
    assert!(
        err.to_string()
            .contains("two different saved states for counter 1"),
        "{err}"
    );
    // An amount altered in the stored bytes: the totals no longer follow, or the signature fails.
    let mut bytes = s1.to_bytes();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    if let Ok(altered) = Signed::<ChannelState>::decode_exact(&bytes) {
        assert!(restore(vec![altered]).is_err());
    }
}

#[test]
fn nothing_is_acknowledged_before_it_is_saved() {
    struct Failing;
    impl ChannelStore for Failing {
        fn save_state(&mut self, _: &Signed<ChannelState>) -> te_contract::Result<()> {
            Err(Error::Store("disk full".into()))
        }
        fn save_proposal(&mut self, _: &Signed<ChannelState>) -> te_contract::Result<()> {
            Err(Error::Store("disk full".into()))
        }
    }
    // A proposal that cannot be saved is not handed out.
    {
        let w = World::new("idea-test", 2);
        let (_, mut a, _) = w.channel(1, 0, 1, 10_000);
        let err = a
            .propose(
                vec![debt(1, Party::B, 100, None)],
                vec![],
                &mut Failing,
                &w.keys[0],
                0,
            )
            .unwrap_err();
        assert!(matches!(err, Error::Store(_)), "{err}");
        assert!(a.pending().is_none());
    }
    let w = World::new("idea-test", 2);
    let (_, mut a, mut b) = w.channel(1, 0, 1, 10_000);
    let proposal = a
        .propose(
            vec![debt(1, Party::B, 100, None)],
            vec![],
            &mut MemoryChannelStore::default(),
            &w.keys[0],
            0,
        )
        .unwrap();
    let err = b
        .accept(
            proposal.clone(),
            &w.registry,
            &mut Failing,
            &w.keys[1],
            0,
            w.now,
        )
        .unwrap_err();
    assert_eq!(err, Error::Store("disk full".into()));
    assert!(b.latest().is_none(), "not adopted");
    let mut store = MemoryChannelStore::default();
    let accepted = b
        .accept(proposal, &w.registry, &mut store, &w.keys[1], 0, w.now)
        .unwrap();
    assert_eq!(store.saved, vec![accepted.countersigned.clone()]);
    let err = a
        .confirm(
            accepted.countersigned.clone(),
            &w.registry,
            &mut Failing,
            w.now,
        )
        .unwrap_err();
    assert_eq!(err, Error::Store("disk full".into()));
    assert!(a.latest().is_none());
    confirm(&w, &mut a, accepted.countersigned).unwrap();
    assert_eq!(a.totals().counter, 1);
}

#[test]
fn simultaneous_proposals_resolve_in_favour_of_side_a() {
    let w = World::new("idea-test", 2);
    let (_, mut a, mut b) = w.channel(1, 0, 1, 10_000);
    let from_a = a
        .propose(
            vec![debt(1, Party::B, 100, None)],
            vec![],
            &mut MemoryChannelStore::default(),
            &w.keys[0],
            0,
        )
        .unwrap();
    let from_b = b
        .propose(
            vec![debt(2, Party::A, 50, None)],
            vec![],
            &mut MemoryChannelStore::default(),
            &w.keys[1],
            0,
        )
        .unwrap();
    let err = accept(&w, &mut a, from_b, 0).unwrap_err();
    assert!(err.to_string().contains("precedence"), "{err}");
    let accepted = accept(&w, &mut b, from_a, 1).unwrap();
    assert_eq!(
        accepted.withdrawn.unwrap().debts[0].id,
        DebtId::from_bytes([2; 16])
    );
    confirm(&w, &mut a, accepted.countersigned).unwrap();
    // B proposes its debt again on top.
    exchange(&w, &mut b, &mut a, vec![debt(2, Party::A, 50, None)]);
    assert_eq!(a.totals().net_owed_by_a().unwrap(), -50);
}

#[test]
fn a_cooperative_close_pays_at_once() {
    let w = World::new("idea-test", 2);
    let (open, mut a, mut b) = w.channel(1, 0, 1, 10_000);
    let s = exchange(&w, &mut a, &mut b, vec![debt(1, Party::A, 250, None)]);
    let mut adj = adjudicator(&w, &open);
    let mut wallets = funded(&w);
    let mut close = Signed::new(
        w.deployment.clone(),
        ChannelClose {
            channel: open.body().channel,
            closer: w.ids[1],
            other: w.ids[0],
            counter: s.body().counter,
            net_owed_by_a: s.body().net_owed_by_a().unwrap(),
        },
    );
    close.sign(w.ids[1], 0, &w.keys[1]).unwrap();
    // One signature is not enough.
    assert!(matches!(
        adj.close_cooperatively(&close, &w.registry, &mut wallets, later(1)),
        Err(Error::WrongSigners { .. })
    ));
    close.sign(w.ids[0], 0, &w.keys[0]).unwrap();
    let settlement = adj
        .close_cooperatively(&close, &w.registry, &mut wallets, later(1))
        .unwrap();
    assert!(settlement.cooperative);
    assert_eq!(settlement.payer, Some(w.ids[0]));
    assert_eq!(wallets.balance(&w.ids[1], eur()).minor_units, 100_250);
    let err = adj
        .close_cooperatively(&close, &w.registry, &mut wallets, later(2))
        .unwrap_err();
    assert!(
        matches!(&err, Error::Channel { reason, .. } if reason.contains("already closing, disputed or closed")),
        "{err:?}"
    );
}

#[test]
fn a_payers_short_wallet_leaves_the_rest_owed() {
    let w = World::new("idea-test", 2);
    let (open, mut a, mut b) = w.channel(1, 0, 1, 10_000);
    let s = exchange(&w, &mut a, &mut b, vec![debt(1, Party::B, 700, None)]);
    let mut adj = adjudicator(&w, &open);
    let mut wallets = Wallets::new();
    wallets.deposit(w.ids[1], Money::new(500, eur())).unwrap();
    close(&mut adj, &w, &open, 0, Some(s), later(1)).unwrap();
    let paid = adj.handle_timeout(&mut wallets, later(61)).settled;
    assert_eq!(
        (paid[0].paid.minor_units, paid[0].shortfall.minor_units),
        (500, 200)
    );
}

#[test]
fn forged_incomplete_or_misattributed_states_are_refused_at_a_close() {
    let w = World::new("idea-test", 3);
    let (open, mut a, mut b) = w.channel(1, 0, 1, 10_000);
    let s = exchange(&w, &mut a, &mut b, vec![debt(1, Party::B, 100, None)]);
    let mut adj = adjudicator(&w, &open);
    let mut bytes = s.to_bytes();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let flipped = Signed::<ChannelState>::decode_exact(&bytes).unwrap();
    assert!(matches!(
        close(&mut adj, &w, &open, 0, Some(flipped), later(1)),
        Err(Error::BadSignature { .. })
    ));
    let half = a
        .propose(
            vec![debt(2, Party::B, 100, None)],
            vec![],
            &mut MemoryChannelStore::default(),
            &w.keys[0],
            0,
        )
        .unwrap();
    assert!(matches!(
        close(&mut adj, &w, &open, 0, Some(half), later(1)),
        Err(Error::WrongSigners { .. })
    ));
    // A third avatar cannot close someone else's channel.
    let err = close(&mut adj, &w, &open, 2, Some(s), later(1)).unwrap_err();
    assert!(
        matches!(&err, Error::Channel { reason, .. } if reason.ends_with("is not a side")),
        "{err:?}"
    );
}

fn replace(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut out = haystack.to_vec();
    let mut i = 0;
    let mut hits = 0;
    while i + from.len() <= out.len() {
        if &out[i..i + from.len()] == from {
            out[i..i + from.len()].copy_from_slice(to);
            hits += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    assert!(hits > 0);
    out
}
