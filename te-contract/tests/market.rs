//! The double auction: worked examples of both pricing rules, the checker on every random order book, and
//! the checker catching broken results.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use common::{eur, later, t0};
use idea_proto::{CellId, CellRef, PowerCellType, ServiceId, Side, ToleranceBand};
use proptest::prelude::*;
use te_contract::market::{
    Clearing, Order, PeriodTerms, Pricing, Violation, check, clear, contracts,
};
use te_contract::{AvatarId, OrderId};

fn order(n: u8, side: Side, price: i64, quantity: i64) -> Order {
    let cell_type = match side {
        Side::Buyer => PowerCellType::PassiveConsumer,
        Side::Seller => PowerCellType::StochasticGenerator,
    };
    Order {
        id: OrderId::from_bytes([n; 16]),
        avatar: AvatarId::from_bytes([n; 16]),
        cell: CellRef::new(CellId::new(format!("cell-{n}")).unwrap(), cell_type),
        side,
        price,
        quantity,
        seq: u64::from(n),
    }
}

fn book() -> Vec<Order> {
    vec![
        order(1, Side::Buyer, 30, 400),
        order(2, Side::Buyer, 25, 300),
        order(3, Side::Buyer, 12, 500),
        order(11, Side::Seller, 10, 200),
        order(12, Side::Seller, 20, 350),
        order(13, Side::Seller, 28, 400),
    ]
}

#[test]
fn pay_as_clear_trades_where_supply_meets_demand_at_one_price() {
    let orders = book();
    let c = clear(&orders, Pricing::PayAsClear).unwrap();
    // Bids 30×400, 25×300 meet offers 10×200, 20×350: 550 Wh; bid 2 is left with 150 at 25, offer 13 at 28.
    assert_eq!(c.volume, 550);
    let pairs: Vec<(u8, u8, i64)> = c
        .matches
        .iter()
        .map(|m| (m.bid.0[0], m.offer.0[0], m.quantity))
        .collect();
    assert_eq!(pairs, [(1, 11, 200), (1, 12, 200), (2, 12, 150)]);
    // Marginal: bid 25, offer 20; the unmatched rest of bid 2 is at 25 and the next offer at 28: [25, 25].
    assert_eq!(c.price, Some(25));
    assert!(c.matches.iter().all(|m| m.price == 25));
    check(&orders, &c).unwrap();
}

#[test]
fn pay_as_bid_prices_each_match_at_its_bid() {
    let orders = book();
    let c = clear(&orders, Pricing::PayAsBid).unwrap();
    assert_eq!(c.price, None);
    let prices: Vec<i64> = c.matches.iter().map(|m| m.price).collect();
    assert_eq!(prices, [30, 30, 25]);
    check(&orders, &c).unwrap();
}

#[test]
fn a_book_that_does_not_cross_trades_nothing() {
    let orders = vec![
        order(1, Side::Buyer, 10, 100),
        order(2, Side::Seller, 11, 100),
    ];
    let c = clear(&orders, Pricing::PayAsClear).unwrap();
    assert_eq!((c.volume, c.price, c.matches.len()), (0, None, 0));
    check(&orders, &c).unwrap();
}

#[test]
fn invalid_orders_are_refused() {
    let mut dup = book();
    dup.push(order(1, Side::Buyer, 5, 5));
    assert!(
        clear(&dup, Pricing::PayAsClear)
            .is_err_and(|e| matches!(e, te_contract::Error::Duplicate { what: "order", .. }))
    );
    assert!(
        clear(&[order(1, Side::Buyer, 5, 0)], Pricing::PayAsClear).is_err_and(|e| matches!(
            e,
            te_contract::Error::Invalid {
                field: "quantity",
                ..
            }
        ))
    );
    assert!(
        clear(&[order(1, Side::Buyer, -1, 5)], Pricing::PayAsClear)
            .is_err_and(|e| matches!(e, te_contract::Error::Invalid { field: "price", .. }))
    );
    // A passive consumer cannot sell energy (Table 2).
    let mut seller = order(1, Side::Seller, 5, 5);
    seller.cell.cell_type = PowerCellType::PassiveConsumer;
    assert!(
        clear(&[seller], Pricing::PayAsClear)
            .is_err_and(|e| matches!(e, te_contract::Error::Invalid { field: "side", .. }))
    );
}

#[test]
fn the_checker_catches_broken_results() {
    let orders = book();
    let good = clear(&orders, Pricing::PayAsClear).unwrap();
    let broken = |f: &dyn Fn(&mut Clearing)| {
        let mut c = good.clone();
        f(&mut c);
        check(&orders, &c).unwrap_err()
    };
    assert_eq!(
        broken(&|c| {
            c.matches[0].price = 31;
            c.price = Some(31);
            for m in &mut c.matches {
                m.price = 31;
            }
        }),
        Violation::PriceOutsideLimits(OrderId::from_bytes([1; 16]), OrderId::from_bytes([11; 16]))
    );
    assert_eq!(broken(&|c| c.matches[2].price = 24), Violation::NotUniform);
    assert_eq!(
        broken(&|c| {
            c.matches[2].quantity = 300;
            c.volume = 700;
        }),
        Violation::Overfilled(OrderId::from_bytes([12; 16]))
    );
    assert_eq!(broken(&|c| c.volume = 1), Violation::WrongVolume);
    assert_eq!(
        broken(&|c| {
            c.matches.pop();
            c.volume = 400;
        }),
        Violation::NotCleared(OrderId::from_bytes([2; 16]), OrderId::from_bytes([12; 16]))
    );
    assert_eq!(
        broken(&|c| c.matches[0].bid = OrderId::from_bytes([11; 16])),
        Violation::UnknownOrder(OrderId::from_bytes([11; 16]))
    );
    let bid = clear(&orders, Pricing::PayAsBid).unwrap();
    let mut low = bid.clone();
    low.matches[0].price = 29;
    assert_eq!(
        check(&orders, &low),
        Err(Violation::NotTheBidPrice(OrderId::from_bytes([1; 16])))
    );
}

#[test]
fn each_match_becomes_a_contract_between_its_avatars() {
    let orders = book();
    let c = clear(&orders, Pricing::PayAsClear).unwrap();
    let terms = PeriodTerms {
        service: ServiceId::new("p2p-market").unwrap(),
        currency: eur(),
        start: later(15),
        period_s: 900,
        tolerance: ToleranceBand::default(),
        penalty: 40,
        cleared_at: t0(),
    };
    let made = contracts(&orders, &c, &terms).unwrap();
    assert_eq!(made.len(), 3);
    assert_eq!(made[2].seller, AvatarId::from_bytes([12; 16]));
    assert_eq!(made[2].buyer, AvatarId::from_bytes([2; 16]));
    let t = &made[2].transaction;
    assert_eq!(t.terms.contracted_energy(0).unwrap().wh(), 150);
    assert_eq!(t.terms.price.minor_units_per_kwh, 25);
    assert_eq!(t.terms.window.start(), later(15));
    // The same clearing gives the same ids; different matches, different ids.
    assert_eq!(contracts(&orders, &c, &terms).unwrap(), made);
    assert_ne!(made[0].id(), made[1].id());
}

fn random_book() -> impl Strategy<Value = Vec<Order>> {
    proptest::collection::vec((any::<bool>(), 0..50i64, 1..1000i64), 0..40).prop_map(|specs| {
        specs
            .into_iter()
            .enumerate()
            .map(|(i, (buy, price, quantity))| {
                let mut o = order(
                    0,
                    if buy { Side::Buyer } else { Side::Seller },
                    price,
                    quantity,
                );
                o.id = OrderId::derive(&[&i.to_be_bytes()]);
                o.seq = i as u64;
                o
            })
            .collect()
    })
}

proptest! {
    #[test]
    fn every_clearing_passes_the_checker(orders in random_book()) {
        for pricing in [Pricing::PayAsClear, Pricing::PayAsBid] {
            let c = clear(&orders, pricing).unwrap();
            prop_assert_eq!(check(&orders, &c), Ok(()));
        }
        // Both rules trade the same volume: only prices differ.
        let a = clear(&orders, Pricing::PayAsClear).unwrap();
        let b = clear(&orders, Pricing::PayAsBid).unwrap();
        prop_assert_eq!(a.volume, b.volume);
    }
}
