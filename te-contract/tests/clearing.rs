//! Clearing a pool: multilateral netting, money conserved, short wallets carried to the next period,
//! periods aligned to UTC quarter hours, channel debts recorded as paid; an attacker's overflowing
//! obligations set aside while everyone else clears, each currency all or nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use common::{World, accept, confirm, eur, later};
use idea_proto::{Duration, Money, TransactionId};
use proptest::prelude::*;
use te_contract::Codec;
use te_contract::channel::{Debt, MemoryChannelStore, Party};
use te_contract::clearing::{ClearingReport, DEFAULT_PERIOD, Obligation, Pool, Source, clear};
use te_contract::wallet::Wallets;
use te_contract::{AvatarId, DebtId};

fn owes(n: u8, from: AvatarId, to: AvatarId, amount: i64) -> Obligation {
    Obligation {
        source: Source::Transfer(DebtId::from_bytes([n; 16])),
        from,
        to,
        amount: Money::new(amount, eur()),
    }
}

fn avatars() -> [AvatarId; 3] {
    [1, 2, 3].map(|n| AvatarId::from_bytes([n; 16]))
}

fn funded(amount: i64) -> Wallets {
    let mut w = Wallets::new();
    for a in avatars() {
        w.deposit(a, Money::new(amount, eur())).unwrap();
    }
    w
}

#[test]
fn a_cycle_of_debts_nets_to_nothing() {
    let [x, y, z] = avatars();
    let mut wallets = funded(0);
    let report = clear(
        vec![owes(1, x, y, 100), owes(2, y, z, 100), owes(3, z, x, 100)],
        &mut wallets,
        later(15),
    );
    assert_eq!(report.settled.len(), 3);
    assert!(report.transfers.is_empty());
    assert_eq!(report.gross_and_net[&eur()], (300, 0));
}

#[test]
fn each_avatar_pays_or_receives_only_its_net_position() {
    let [x, y, z] = avatars();
    let mut wallets = funded(1_000);
    let report = clear(
        vec![owes(1, x, y, 100), owes(2, y, z, 60)],
        &mut wallets,
        later(15),
    );
    assert_eq!(report.positions[&(x, eur())], -100);
    assert_eq!(report.positions[&(y, eur())], 40);
    assert_eq!(report.positions[&(z, eur())], 60);
    assert_eq!(report.gross_and_net[&eur()], (160, 100));
    assert_eq!(wallets.balance(&x, eur()).minor_units, 900);
    assert_eq!(wallets.balance(&y, eur()).minor_units, 1_040);
    assert_eq!(wallets.balance(&z, eur()).minor_units, 1_060);
}

#[test]
fn an_avatar_that_cannot_pay_is_left_out_with_its_obligations() {
    let [x, y, z] = avatars();
    let mut wallets = Wallets::new();
    wallets.deposit(y, Money::new(50, eur())).unwrap();
    let report = clear(
        vec![owes(1, x, y, 100), owes(2, y, z, 50)],
        &mut wallets,
        later(15),
    );
    // X cannot pay 100: left out; without X's 100, Y owes 50 net and can pay it.
    assert_eq!(
        report.left_out.iter().copied().collect::<Vec<_>>(),
        [(x, eur())]
    );
    assert_eq!(report.carried, [owes(1, x, y, 100)]);
    assert_eq!(report.settled, [owes(2, y, z, 50)]);
    assert_eq!(wallets.balance(&z, eur()).minor_units, 50);
}

#[test]
fn the_pool_clears_at_utc_quarter_hours_and_carries_what_could_not_settle() {
    let [x, y, _] = avatars();
    let start = later(7);
    let mut pool = Pool::new(DEFAULT_PERIOD, start).unwrap();
    assert_eq!(pool.poll_timeout(), Some(later(15)));
    pool.add(owes(1, x, y, 100)).unwrap();
    let mut wallets = Wallets::new();
    assert!(
        pool.handle_timeout(&mut wallets, later(14))
            .unwrap()
            .is_none()
    );
    let report = pool
        .handle_timeout(&mut wallets, later(15))
        .unwrap()
        .unwrap();
    assert_eq!(report.carried.len(), 1);
    assert_eq!(pool.len(), 1);
    assert_eq!(pool.poll_timeout(), Some(later(30)));
    wallets.deposit(x, Money::new(100, eur())).unwrap();
    // A late timeout runs once and realigns.
    let report = pool
        .handle_timeout(&mut wallets, later(47))
        .unwrap()
        .unwrap();
    assert_eq!(report.settled.len(), 1);
    assert!(pool.is_empty());
    assert_eq!(pool.poll_timeout(), Some(later(60)));
    assert!(Pool::new(Duration::from_mins(7), start).is_err());
}

#[test]
fn cleared_channel_debts_are_recorded_as_paid_in_the_channel() {
    let w = World::new("idea-test", 2);
    let (open, mut a, mut b) = w.channel(1, 0, 1, 10_000);
    let debt = Debt {
        id: DebtId::from_bytes([5; 16]),
        debtor: Party::B,
        amount: 250,
        contract: TransactionId::from_bytes([6; 16]),
        interval: 0,
        token: None,
    };
    let p = a
        .propose(
            vec![debt],
            vec![],
            &mut MemoryChannelStore::default(),
            &w.keys[0],
            0,
        )
        .unwrap();
    let acc = accept(&w, &mut b, p, 1).unwrap();
    confirm(&w, &mut a, acc.countersigned).unwrap();
    let o = open.body();
    let obligation = Obligation::of_channel(a.totals(), o.a, o.b, o.currency)
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            obligation.from,
            obligation.to,
            obligation.amount.minor_units
        ),
        (o.b, o.a, 250)
    );
    let mut wallets = Wallets::new();
    wallets.deposit(o.b, Money::new(1_000, eur())).unwrap();
    let report = clear(vec![obligation], &mut wallets, later(15));
    let payment = report.channel_payment(&o.channel, o.a).unwrap();
    assert_eq!((payment.payer, payment.amount), (Party::B, 250));
    // The debtor records its payment; the channel is square.
    let p = b
        .propose(
            vec![],
            vec![payment],
            &mut MemoryChannelStore::default(),
            &w.keys[1],
            0,
        )
        .unwrap();
    let acc = accept(&w, &mut a, p, 0).unwrap();
    confirm(&w, &mut b, acc.countersigned).unwrap();
    assert_eq!(b.totals().net_owed_by_a().unwrap(), 0);
    assert_eq!(wallets.balance(&o.a, eur()).minor_units, 250);
}

proptest! {
    #[test]
    fn clearing_conserves_money_and_moves_exactly_the_positions(
        edges in proptest::collection::vec((0..6u8, 0..6u8, 1..500i64), 0..30),
        funds in proptest::collection::vec(0..800i64, 6),
    ) {
        let ids: Vec<AvatarId> = (0..6u8).map(|n| AvatarId::from_bytes([n + 1; 16])).collect();
        let mut wallets = Wallets::new();
        for (id, f) in ids.iter().zip(&funds) {
            wallets.deposit(*id, Money::new(*f, eur())).unwrap();
        }
        let before = wallets.clone();
        let obligations: Vec<Obligation> = edges
            .iter()
            .enumerate()
            .filter(|(_, (f, t, _))| f != t)
            .map(|(i, (f, t, amount))| owes(u8::try_from(i).unwrap(), ids[usize::from(*f)], ids[usize::from(*t)], *amount))
            .collect();
        let report = clear(obligations.clone(), &mut wallets, later(15));
        prop_assert_eq!(wallets.total(eur()).unwrap(), before.total(eur()).unwrap());
        prop_assert_eq!(report.settled.len() + report.carried.len(), obligations.len());
        for id in &ids {
            let moved = wallets.balance(id, eur()).minor_units - before.balance(id, eur()).minor_units;
            prop_assert_eq!(moved, report.positions.get(&(*id, eur())).copied().unwrap_or(0));
            prop_assert!(wallets.balance(id, eur()).minor_units >= 0);
        }
        for o in &report.settled {
            prop_assert!(!report.left_out.contains(&(o.from, eur())) && !report.left_out.contains(&(o.to, eur())));
        }
        // What the ledger records of the run reads back as it was, and passes the verifier's check.
        prop_assert_eq!(ClearingReport::decode_exact(&report.to_bytes()).unwrap(), report.clone());
        prop_assert_eq!(report.check(), Ok(()));
    }

    #[test]
    fn clearing_records_decode_canonically_or_not_at_all(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        if let Ok((value, used)) = ClearingReport::decode(&bytes) {
            prop_assert_eq!(value.to_bytes(), &bytes[..used]);
        }
    }
}

/// A clearing record doctored after the run — money moved that no settled obligation owed, a position
/// changed, the run's id moved to another period — fails the ledger's check, naming what is wrong.
#[test]
fn a_doctored_clearing_record_fails_the_check() {
    let [x, y, z] = avatars();
    let mut wallets = funded(1_000);
    let report = clear(
        vec![owes(1, x, y, 100), owes(2, y, z, 30), owes(3, z, x, 10)],
        &mut wallets,
        later(15),
    );
    assert_eq!(report.check(), Ok(()));
    let field = |r: &ClearingReport| match r.check() {
        Err(te_contract::Error::Invalid { field, .. }) => field,
        other => panic!("{other:?}"),
    };
    let mut more_moved = report.clone();
    more_moved.transfers[0].2 = Money::new(more_moved.transfers[0].2.minor_units + 1, eur());
    assert_eq!(field(&more_moved), "transfers");
    let mut position = report.clone();
    *position.positions.get_mut(&(y, eur())).unwrap() += 5;
    assert_eq!(field(&position), "positions");
    let mut unowed = report.clone();
    unowed.settled.pop();
    assert_eq!(field(&unowed), "positions");
    let mut elsewhere = report.clone();
    elsewhere.period_end = later(30);
    assert_eq!(field(&elsewhere), "id");
    let mut twice = report.clone();
    twice.carried.push(report.settled[0].clone());
    assert_eq!(field(&twice), "settled");
}

/// The failed clearing: two avatars of one attacker owe each other amounts whose positions overflow
/// 64 bits. Before, the run failed with `Overflow("position")` after taking every obligation out of the
/// pool — the honest ones were lost. Now the attacker's are set aside with the reason and the rest clears.
#[test]
fn an_overflowing_obligation_is_set_aside_and_the_honest_ones_clear() {
    let [x, y, z] = avatars();
    let (m1, m2) = (
        AvatarId::from_bytes([0xA1; 16]),
        AvatarId::from_bytes([0xA2; 16]),
    );
    let mut pool = Pool::new(DEFAULT_PERIOD, later(0)).unwrap();
    pool.add(owes(1, x, y, 100)).unwrap();
    pool.add(owes(2, m1, m2, i64::MAX)).unwrap();
    pool.add(owes(3, m1, m2, i64::MAX)).unwrap();
    pool.add(owes(4, y, z, 40)).unwrap();
    let mut wallets = funded(1_000);
    wallets.deposit(m1, Money::new(i64::MAX, eur())).unwrap();
    let report = pool
        .handle_timeout(&mut wallets, later(15))
        .unwrap()
        .unwrap();
    assert_eq!(report.set_aside.len(), 1, "{:?}", report.set_aside);
    assert_eq!(report.set_aside[0].obligation, owes(3, m1, m2, i64::MAX));
    assert!(
        report.set_aside[0].reason.contains("would pass 64 bits"),
        "{}",
        report.set_aside[0].reason
    );
    assert_eq!(
        report.settled,
        [
            owes(1, x, y, 100),
            owes(2, m1, m2, i64::MAX),
            owes(4, y, z, 40)
        ]
    );
    assert_eq!(wallets.balance(&z, eur()).minor_units, 1_040);
    assert_eq!(wallets.balance(&m2, eur()).minor_units, i64::MAX);
    assert_eq!(
        pool.len(),
        0,
        "settled and set-aside obligations leave the pool"
    );
}

/// A receiver whose wallet could not hold its position is left out (its obligations wait); the others'
/// clear and nothing is half applied.
#[test]
fn a_receiver_that_cannot_hold_its_position_is_left_out_and_nothing_is_half_applied() {
    let [x, y, z] = avatars();
    let mut wallets = funded(1_000);
    wallets
        .deposit(y, Money::new(i64::MAX - 1_000, eur()))
        .unwrap();
    let before = wallets.clone();
    let report = clear(
        vec![owes(1, x, y, 100), owes(2, x, z, 30)],
        &mut wallets,
        later(15),
    );
    assert_eq!(
        report.left_out.iter().copied().collect::<Vec<_>>(),
        [(y, eur())]
    );
    assert_eq!(report.carried, [owes(1, x, y, 100)]);
    assert_eq!(report.settled, [owes(2, x, z, 30)]);
    assert_eq!(wallets.balance(&y, eur()), before.balance(&y, eur()));
    assert_eq!(wallets.balance(&x, eur()).minor_units, 970);
    assert_eq!(wallets.balance(&z, eur()).minor_units, 1_030);
}

/// Currencies clear on their own: an avatar short in one still settles in another.
#[test]
fn each_currency_clears_on_its_own() {
    let [x, y, _] = avatars();
    let usd = idea_proto::Currency::new("USD", 2).unwrap();
    let mut wallets = Wallets::new();
    wallets.deposit(x, Money::new(500, usd)).unwrap();
    let in_usd = Obligation {
        source: Source::Transfer(DebtId::from_bytes([9; 16])),
        from: x,
        to: y,
        amount: Money::new(200, usd),
    };
    let report = clear(
        vec![owes(1, x, y, 100), in_usd.clone()],
        &mut wallets,
        later(15),
    );
    assert_eq!(
        report.left_out.iter().copied().collect::<Vec<_>>(),
        [(x, eur())]
    );
    assert_eq!(report.settled, [in_usd]);
    assert_eq!(wallets.balance(&y, usd).minor_units, 200);
}
