//! The P2P market service: a double auction per settlement period on integer price steps, cleared
//! pay-as-clear (one uniform price where the sorted bids and offers cross) or pay-as-bid (each match at its
//! bid's price), producing the contracts of the matches; and a checker that any clearing result is valid.

use crate::contract::Contract;
use crate::error::{Error, Result};
use crate::id::{AvatarId, OrderId};
use idea_proto::{
    CellRef, Currency, DeliveryWindow, Energy, EnergyPrice, EnergyTransaction, Parties, Profile,
    ServiceId, Side, Subject, Terms, TermsSpec, Timestamp, ToleranceBand, TransactionId,
    TransactionSpec,
};
use std::collections::{HashMap, HashSet};

/// The most orders one period clears.
pub const MAX_ORDERS: usize = 1 << 22;

/// A bid (to buy) or an offer (to sell) of energy in one settlement period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// Unique in the period.
    pub id: OrderId,
    /// Who places it.
    pub avatar: AvatarId,
    /// The cell that delivers or receives.
    pub cell: CellRef,
    /// Buy or sell.
    pub side: Side,
    /// The limit price in minor units per kWh: the most a bid pays, the least an offer takes.
    pub price: i64,
    /// The energy in Wh (> 0).
    pub quantity: i64,
    /// Arrival order, for ties on price (earlier first).
    pub seq: u64,
}

/// How matched orders are priced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pricing {
    /// One uniform price for every match, where supply and demand cross.
    #[doc(alias = "uniform price")]
    PayAsClear,
    /// Each match at the bid's own price.
    #[doc(alias = "discriminatory")]
    PayAsBid,
}

/// One match: energy from an offer to a bid at a price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// The bid.
    pub bid: OrderId,
    /// The offer.
    pub offer: OrderId,
    /// Wh traded.
    pub quantity: i64,
    /// Minor units per kWh.
    pub price: i64,
}

/// The result of clearing one period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clearing {
    /// How it was priced.
    pub pricing: Pricing,
    /// The uniform price (pay-as-clear with at least one match).
    pub price: Option<i64>,
    /// The matches, in the order the auction made them.
    pub matches: Vec<Match>,
    /// Total Wh traded.
    pub volume: i64,
}

/// Checks the orders of one period: unique ids, positive quantities, non-negative prices, and each cell
/// allowed its side for energy by Table 2.
pub fn validate(orders: &[Order]) -> Result<()> {
    if orders.len() > MAX_ORDERS {
        return Err(Error::invalid("orders", format!("more than {MAX_ORDERS}")));
    }
    let mut seen = HashSet::with_capacity(orders.len());
    for o in orders {
        if !seen.insert(o.id) {
            return Err(Error::Duplicate {
                what: "order",
                id: o.id.to_string(),
            });
        }
        if o.quantity <= 0 {
            return Err(Error::invalid(
                "quantity",
                format!("order {} is not positive", o.id),
            ));
        }
        if o.price < 0 {
            return Err(Error::invalid(
                "price",
                format!("order {} is negative", o.id),
            ));
        }
        if !o.cell.cell_type.may_take(Subject::Energy, o.side) {
            return Err(Error::invalid(
                "side",
                format!(
                    "a {} cell may not be the {} of energy (IDEA Table 2)",
                    o.cell.cell_type, o.side
                ),
            ));
        }
    }
    Ok(())
}

/// Clears one period. Bids are taken highest price first, offers lowest first (ties by arrival); each best
/// bid meets each best offer while the bid's price reaches the offer's. Pay-as-clear prices every match at
/// the midpoint (rounded down) of the interval where the marginal orders and the best unmatched ones allow
/// one price; pay-as-bid at each bid's price.
pub fn clear(orders: &[Order], pricing: Pricing) -> Result<Clearing> {
    validate(orders)?;
    let mut bids: Vec<(&Order, i64)> = orders
        .iter()
        .filter(|o| o.side == Side::Buyer)
        .map(|o| (o, o.quantity))
        .collect();
    let mut offers: Vec<(&Order, i64)> = orders
        .iter()
        .filter(|o| o.side == Side::Seller)
        .map(|o| (o, o.quantity))
        .collect();
    bids.sort_by(|(a, _), (b, _)| {
        b.price
            .cmp(&a.price)
            .then(a.seq.cmp(&b.seq))
            .then(a.id.cmp(&b.id))
    });
    offers.sort_by(|(a, _), (b, _)| {
        a.price
            .cmp(&b.price)
            .then(a.seq.cmp(&b.seq))
            .then(a.id.cmp(&b.id))
    });

    let (mut i, mut j) = (0usize, 0usize);
    let mut matches = Vec::new();
    let mut volume = 0i64;
    let mut marginal: Option<(i64, i64)> = None;
    while let (Some((bid, bid_left)), Some((offer, offer_left))) = (bids.get(i), offers.get(j)) {
        if bid.price < offer.price {
            break;
        }
        let quantity = (*bid_left).min(*offer_left);
        matches.push(Match {
            bid: bid.id,
            offer: offer.id,
            quantity,
            price: bid.price,
        });
        volume = volume
            .checked_add(quantity)
            .ok_or(Error::Overflow("cleared volume"))?;
        marginal = Some((bid.price, offer.price));
        let (bid_done, offer_done) = (*bid_left == quantity, *offer_left == quantity);
        if let Some((_, left)) = bids.get_mut(i) {
            *left = left.saturating_sub(quantity);
        }
        if let Some((_, left)) = offers.get_mut(j) {
            *left = left.saturating_sub(quantity);
        }
        i = i.saturating_add(usize::from(bid_done));
        j = j.saturating_add(usize::from(offer_done));
    }
    let price = match (pricing, marginal) {
        (Pricing::PayAsClear, Some((bid_price, offer_price))) => {
            let next_bid = bids.get(i).map(|(o, _)| o.price);
            let next_offer = offers.get(j).map(|(o, _)| o.price);
            let lo = next_bid.map_or(offer_price, |b| b.max(offer_price));
            let hi = next_offer.map_or(bid_price, |a| a.min(bid_price));
            let p = lo
                .checked_add(hi.saturating_sub(lo) / 2)
                .ok_or(Error::Overflow("clearing price"))?;
            for m in &mut matches {
                m.price = p;
            }
            Some(p)
        }
        _ => None,
    };
    Ok(Clearing {
        pricing,
        price,
        matches,
        volume,
    })
}

/// What makes a clearing result invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Violation {
    /// A match names an order that is not there or is on the wrong side.
    UnknownOrder(OrderId),
    /// A match is priced outside offer ≤ price ≤ bid.
    PriceOutsideLimits(OrderId, OrderId),
    /// An order trades more than its quantity.
    Overfilled(OrderId),
    /// A match of no energy.
    EmptyMatch(OrderId, OrderId),
    /// Pay-as-clear with more than one price, or a price that is not the one reported.
    NotUniform,
    /// Pay-as-bid at another price than the bid's.
    NotTheBidPrice(OrderId),
    /// A bid and an offer left with quantity could still trade at the clearing price.
    NotCleared(OrderId, OrderId),
    /// The reported volume is not the sum of the matches.
    WrongVolume,
}

/// Checks any clearing result against its orders: every match between a real bid and a real offer with
/// offer ≤ price ≤ bid, no order over-filled, prices as the pricing rule says, the volume the sum of the
/// matches, and — for pay-as-clear — no bid and offer left over that could still trade at the price.
pub fn check(orders: &[Order], clearing: &Clearing) -> std::result::Result<(), Violation> {
    let by_id: HashMap<OrderId, &Order> = orders.iter().map(|o| (o.id, o)).collect();
    let mut filled: HashMap<OrderId, i64> = HashMap::new();
    let mut volume = 0i64;
    for m in &clearing.matches {
        let bid = by_id
            .get(&m.bid)
            .filter(|o| o.side == Side::Buyer)
            .ok_or(Violation::UnknownOrder(m.bid))?;
        let offer = by_id
            .get(&m.offer)
            .filter(|o| o.side == Side::Seller)
            .ok_or(Violation::UnknownOrder(m.offer))?;
        if m.quantity <= 0 {
            return Err(Violation::EmptyMatch(m.bid, m.offer));
        }
        if !(offer.price <= m.price && m.price <= bid.price) {
            return Err(Violation::PriceOutsideLimits(m.bid, m.offer));
        }
        match clearing.pricing {
            Pricing::PayAsClear if clearing.price != Some(m.price) => {
                return Err(Violation::NotUniform);
            }
            Pricing::PayAsBid if m.price != bid.price => {
                return Err(Violation::NotTheBidPrice(m.bid));
            }
            _ => {}
        }
        for order in [bid, offer] {
            let f = filled.entry(order.id).or_insert(0);
            *f = f.saturating_add(m.quantity);
            if *f > order.quantity {
                return Err(Violation::Overfilled(order.id));
            }
        }
        volume = volume.saturating_add(m.quantity);
    }
    if volume != clearing.volume {
        return Err(Violation::WrongVolume);
    }
    let left = |o: &&Order| filled.get(&o.id).copied().unwrap_or(0) < o.quantity;
    let best_bid = orders
        .iter()
        .filter(|o| o.side == Side::Buyer)
        .filter(left)
        .max_by_key(|o| o.price);
    let best_offer = orders
        .iter()
        .filter(|o| o.side == Side::Seller)
        .filter(left)
        .min_by_key(|o| o.price);
    if let (Some(bid), Some(offer)) = (best_bid, best_offer) {
        let tradable = match (clearing.pricing, clearing.price) {
            (Pricing::PayAsClear, Some(p)) => offer.price <= p && p <= bid.price,
            _ => offer.price <= bid.price,
        };
        if tradable {
            return Err(Violation::NotCleared(bid.id, offer.id));
        }
    }
    Ok(())
}

/// The terms every contract of a period shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodTerms {
    /// The market service.
    pub service: ServiceId,
    /// The currency of the prices.
    pub currency: Currency,
    /// The settlement period's start.
    pub start: Timestamp,
    /// Its length in seconds (divides a day; 900 by default).
    pub period_s: u32,
    /// The tolerance band of delivery.
    pub tolerance: ToleranceBand,
    /// The penalty per kWh beyond the band.
    pub penalty: i64,
    /// When the market cleared (the contracts' agreement time).
    pub cleared_at: Timestamp,
}

/// The contract of every match, ready for the seller and then the buyer to sign. Transaction ids are
/// derived from the period start and the two order ids, so clearing twice gives the same contracts.
pub fn contracts(
    orders: &[Order],
    clearing: &Clearing,
    terms: &PeriodTerms,
) -> Result<Vec<Contract>> {
    check(orders, clearing).map_err(|v| Error::invalid("clearing", format!("{v:?}")))?;
    let by_id: HashMap<OrderId, &Order> = orders.iter().map(|o| (o.id, o)).collect();
    let window = DeliveryWindow::new(terms.start, terms.period_s, 1)?;
    clearing
        .matches
        .iter()
        .map(|m| {
            let (Some(bid), Some(offer)) = (by_id.get(&m.bid), by_id.get(&m.offer)) else {
                return Err(Error::invalid("clearing", "a match names an unknown order"));
            };
            let id = OrderId::derive(&[
                b"match",
                &terms.start.unix_ms().to_be_bytes(),
                m.bid.as_bytes(),
                m.offer.as_bytes(),
            ]);
            let transaction = EnergyTransaction::new(TransactionSpec {
                id: TransactionId::from_bytes(id.0),
                service: terms.service.clone(),
                subject: Subject::Energy,
                parties: Parties::PeerToPeer {
                    seller: offer.cell.clone(),
                    buyer: bid.cell.clone(),
                },
                terms: Terms::new(TermsSpec {
                    window,
                    profile: Profile::Energy(vec![Energy::from_wh(m.quantity)]),
                    price: EnergyPrice::new(m.price, terms.currency),
                    tolerance: terms.tolerance,
                    penalty: EnergyPrice::new(terms.penalty, terms.currency),
                })?,
            })?;
            Ok(Contract {
                transaction,
                seller: offer.avatar,
                buyer: bid.avatar,
                agreed_at: terms.cleared_at,
            })
        })
        .collect()
}
