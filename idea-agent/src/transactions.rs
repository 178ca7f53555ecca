//! The agent's transactions: each energy transaction it takes part in, with its lifecycle (UC-01..UC-10), its
//! counterparty and its side.

use crate::error::{Error, Result};
use crate::event::{Event, EventQueue};
use idea_proto::{EnergyTransaction, Lifecycle, Side, Timestamp, TransactionId, TransactionState};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The most transactions an agent keeps (open and ended); the oldest ended ones are forgotten first.
pub const MAX_TRANSACTIONS: usize = 1 << 14;

/// One transaction of the agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tracked {
    /// The transaction as last proposed or agreed.
    pub transaction: EnergyTransaction,
    /// Its lifecycle.
    pub lifecycle: Lifecycle,
    /// The other agent (or the operator's service application).
    pub counterparty: String,
    /// This agent's side.
    pub side: Side,
    /// The deadline for an answer (UC-01).
    pub reply_by: Option<Timestamp>,
}

/// How long after the answer deadline an offer stays open for the initiator's decision.
pub const DECISION_GRACE: idea_proto::Duration = idea_proto::Duration::from_secs(60);

/// The transactions, by id.
#[derive(Debug, Clone, Default)]
pub struct Transactions {
    map: BTreeMap<TransactionId, Tracked>,
    /// The transactions that may not have ended: every one that has not is here (a final state is never
    /// left), and one that has leaves at the next [`Transactions::handle_timeout`]. Deadlines and deliveries
    /// are looked for among these, not in the whole history the agent keeps.
    open: BTreeSet<TransactionId>,
}

impl Transactions {
    /// Opens a transaction in `requested` (UC-01) with the answer deadline `reply_by`. When the table is
    /// full the oldest ended transaction is forgotten; if none has ended, the new one is refused.
    pub fn open(
        &mut self,
        transaction: EnergyTransaction,
        counterparty: String,
        side: Side,
        now: Timestamp,
        reply_by: Option<Timestamp>,
    ) -> Result<()> {
        if self.map.contains_key(&transaction.id) {
            return Err(Error::AlreadyCommitted(transaction.id));
        }
        if self.map.len() >= MAX_TRANSACTIONS {
            let oldest_ended = self
                .map
                .iter()
                .filter(|(_, t)| t.lifecycle.state().is_terminal())
                .min_by_key(|(_, t)| t.lifecycle.history().last().map(|c| c.at))
                .map(|(id, _)| *id);
            match oldest_ended {
                Some(id) => {
                    self.map.remove(&id);
                    self.open.remove(&id);
                }
                None => {
                    return Err(Error::Full {
                        what: "transactions",
                        max: MAX_TRANSACTIONS,
                    });
                }
            }
        }
        let lifecycle = Lifecycle::open(transaction.id, now, reply_by);
        self.open.insert(transaction.id);
        self.map.insert(
            transaction.id,
            Tracked {
                transaction,
                lifecycle,
                counterparty,
                side,
                reply_by,
            },
        );
        Ok(())
    }

    /// The transaction `id`.
    pub fn get(&self, id: &TransactionId) -> Option<&Tracked> {
        self.map.get(id)
    }

    /// The transaction `id`, to change.
    pub fn get_mut(&mut self, id: &TransactionId) -> Option<&mut Tracked> {
        self.map.get_mut(id)
    }

    /// How many transactions in `service` are not yet at a final state.
    pub fn open_in(&self, service: &idea_proto::ServiceId) -> usize {
        self.not_ended()
            .filter(|(_, t)| &t.transaction.service == service)
            .count()
    }

    /// Every transaction not yet at a final state, by id.
    pub fn not_ended(&self) -> impl Iterator<Item = (&TransactionId, &Tracked)> {
        self.maybe_open()
            .filter(|(_, t)| !t.lifecycle.state().is_terminal())
    }

    /// The transactions that may not have ended (see `open`): every one that has not, and perhaps some that
    /// ended since the last [`Transactions::handle_timeout`].
    pub(crate) fn maybe_open(&self) -> impl Iterator<Item = (&TransactionId, &Tracked)> {
        self.open
            .iter()
            .filter_map(|id| Some((id, self.map.get(id)?)))
    }

    /// Every transaction, by id.
    pub fn iter(&self) -> impl Iterator<Item = (&TransactionId, &Tracked)> {
        self.map.iter()
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The earliest lifecycle deadline.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        // A final state has no deadline.
        self.maybe_open()
            .filter_map(|(_, t)| t.lifecycle.poll_timeout())
            .min()
    }

    /// Applies passed deadlines; returns the transactions that expired or failed, with the state entered.
    pub(crate) fn handle_timeout(
        &mut self,
        now: Timestamp,
    ) -> Vec<(TransactionId, TransactionState)> {
        let mut changed = Vec::new();
        let map = &mut self.map;
        self.open.retain(|id| {
            let Some(t) = map.get_mut(id) else {
                return false;
            };
            let before = t.lifecycle.state();
            t.lifecycle.handle_timeout(now);
            let after = t.lifecycle.state();
            if after != before {
                changed.push((*id, after));
            }
            !after.is_terminal()
        });
        changed
    }
}

/// Moves transaction `id` to `to` and writes the event with the use-case step of the transition.
pub(crate) fn advance(
    transactions: &mut Transactions,
    events: &mut EventQueue,
    agent: &str,
    id: &TransactionId,
    to: TransactionState,
    now: Timestamp,
    detail: String,
) -> Result<()> {
    let t = transactions
        .get_mut(id)
        .ok_or(Error::UnknownTransaction(*id))?;
    let from = t.lifecycle.state();
    t.lifecycle.transition(to, now)?;
    // Each state's own deadline: an answered offer waits for the decision; an agreement must be recorded
    // before delivery starts. Later states get theirs from the agent (delivery, measurement).
    let deadline = match to {
        TransactionState::Answered | TransactionState::Negotiating => {
            t.reply_by.and_then(|r| r.checked_add(DECISION_GRACE).ok())
        }
        TransactionState::Agreed => Some(t.transaction.terms.window.start()),
        _ => None,
    };
    t.lifecycle.set_deadline(deadline);
    let step = idea_proto::transition(from, to).map_or("UC", |t| t.step);
    events.push(Event {
        at: now,
        agent: agent.to_owned(),
        step,
        what: to.name(),
        transaction: Some(*id),
        counterparty: Some(t.counterparty.clone()),
        detail,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use idea_proto::{
        CellId, CellRef, Currency, DeliveryWindow, Energy, EnergyPrice, Parties, PowerCellType,
        Profile, ServiceId, Subject, Terms, TermsSpec, ToleranceBand, TransactionSpec,
    };

    fn offer(n: u8) -> EnergyTransaction {
        let eur = Currency::new("EUR", 2).unwrap();
        let cell = |name: &str, kind| CellRef::new(CellId::new(name).unwrap(), kind);
        EnergyTransaction::new(TransactionSpec {
            id: TransactionId::from_bytes([n; 16]),
            service: ServiceId::new("p2p-market").unwrap(),
            subject: Subject::Energy,
            parties: Parties::PeerToPeer {
                seller: cell("seller", PowerCellType::StochasticGenerator),
                buyer: cell("buyer", PowerCellType::PassiveConsumer),
            },
            terms: Terms::new(TermsSpec {
                window: DeliveryWindow::new("2026-12-02T11:00:00Z".parse().unwrap(), 900, 1)
                    .unwrap(),
                profile: Profile::Energy(vec![Energy::from_wh(100)]),
                price: EnergyPrice::new(20, eur),
                tolerance: ToleranceBand::default(),
                penalty: EnergyPrice::new(40, eur),
            })
            .unwrap(),
        })
        .unwrap()
    }

    #[test]
    fn ended_transactions_are_kept_but_no_longer_looked_at_for_deadlines() {
        let t0: Timestamp = "2026-12-02T10:00:00Z".parse().unwrap();
        let at = |s: u64| t0.checked_add(idea_proto::Duration::from_secs(s)).unwrap();
        let mut ts = Transactions::default();
        // Three offers answered by 10:01, 10:02 and 10:05.
        for (n, by) in [(1u8, 60u64), (2, 120), (3, 300)] {
            ts.open(offer(n), "peer".into(), Side::Seller, t0, Some(at(by)))
                .unwrap();
        }
        assert_eq!(ts.poll_timeout(), Some(at(60)));
        let service = ServiceId::new("p2p-market").unwrap();
        assert_eq!(ts.open_in(&service), 3);
        // At 10:02 the first two expire: they stay in the history, the next deadline is the third's.
        let expired = ts.handle_timeout(at(120));
        assert_eq!(
            expired,
            vec![
                (
                    TransactionId::from_bytes([1; 16]),
                    TransactionState::Expired
                ),
                (
                    TransactionId::from_bytes([2; 16]),
                    TransactionState::Expired
                ),
            ]
        );
        assert_eq!(ts.len(), 3, "ended transactions are kept");
        assert_eq!(ts.poll_timeout(), Some(at(300)));
        assert_eq!(ts.open_in(&service), 1);
        let open: Vec<_> = ts.not_ended().map(|(id, _)| *id).collect();
        assert_eq!(open, vec![TransactionId::from_bytes([3; 16])]);
        // Nothing fires twice; the last one expires in its turn and none is left open.
        assert!(ts.handle_timeout(at(200)).is_empty());
        assert_eq!(ts.handle_timeout(at(300)).len(), 1);
        assert_eq!(ts.poll_timeout(), None);
        assert_eq!(ts.not_ended().count(), 0);
        assert_eq!(ts.iter().count(), 3);
    }
}
