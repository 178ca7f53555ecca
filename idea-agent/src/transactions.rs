//! The agent's transactions: each energy transaction it takes part in, with its lifecycle (UC-01..UC-10), its
//! counterparty and its side.

use crate::error::{Error, Result};
use crate::event::{Event, EventQueue};
use idea_proto::{EnergyTransaction, Lifecycle, Side, Timestamp, TransactionId, TransactionState};
use serde::Serialize;
use std::collections::BTreeMap;

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
        self.iter()
            .filter(|(_, t)| {
                &t.transaction.service == service && !t.lifecycle.state().is_terminal()
            })
            .count()
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
        self.map
            .values()
            .filter_map(|t| t.lifecycle.poll_timeout())
            .min()
    }

    /// Applies passed deadlines; returns the transactions that expired or failed, with the state entered.
    pub(crate) fn handle_timeout(
        &mut self,
        now: Timestamp,
    ) -> Vec<(TransactionId, TransactionState)> {
        let mut changed = Vec::new();
        for (id, t) in &mut self.map {
            let before = t.lifecycle.state();
            t.lifecycle.handle_timeout(now);
            if t.lifecycle.state() != before {
                changed.push((*id, t.lifecycle.state()));
            }
        }
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
