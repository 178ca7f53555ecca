//! Clearing at the TE node (TE-05, TE-08): every interval the node verifies is due at the next clearing run —
//! what it pays as an obligation in the node's [`Pool`], an interval that pays nothing as paid — and a run at
//! each period end (UTC-aligned, 15 minutes at most) nets the obligations multilaterally, moves each
//! avatar's net position between wallets, records the run in the ledger and tells every party which of its
//! intervals were paid, carried (a wallet could not cover, or hold, its net position) or set aside.

use super::{TeNode, TeNotice};
use idea_proto::{Duration, Timestamp, TransactionId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use te_contract::clearing::{ClearingReport, Obligation, Pool, Source};
use te_contract::{AvatarId, DebtId};

/// The longest clearing period TE-08 allows, and the node's default.
pub const MAX_CLEARING_PERIOD: Duration = te_contract::clearing::DEFAULT_PERIOD;

/// One verified interval waiting for the clearing run that pays it.
#[derive(Debug, Clone)]
pub(super) struct DueInterval {
    pub(super) transaction: TransactionId,
    pub(super) interval: u32,
    pub(super) seller: AvatarId,
    pub(super) buyer: AvatarId,
    /// What the buyer pays the seller, net of the penalty (negative: the seller pays), minor units.
    pub(super) amount_minor: i64,
    pub(super) currency: idea_proto::Currency,
    /// Whether it is an obligation in the pool (an interval that pays nothing is not).
    pub(super) in_pool: bool,
    /// The channel its debt went into (TE-09): it is paid when the channel's net clears.
    pub(super) channel: Option<te_contract::ChannelId>,
}

/// An interval as a clearing notice reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClearedInterval {
    /// The contract.
    pub transaction: TransactionId,
    /// The interval.
    pub interval: u32,
    /// What the buyer pays the seller for it, net of the penalty (negative: the seller pays), minor units.
    pub amount_minor: i64,
    /// Whether every interval of the contract is now paid (only on paid intervals).
    pub complete: bool,
    /// Why it was not paid (carried or set aside).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What one run did for one agent, before it becomes a [`TeNotice::Cleared`].
#[derive(Default)]
struct ForAgent {
    net_minor: BTreeMap<String, i64>,
    paid: Vec<ClearedInterval>,
    carried: Vec<ClearedInterval>,
    set_aside: Vec<ClearedInterval>,
}

impl TeNode {
    /// Clears every `period` instead of every 15 minutes (it must divide a day and be at most
    /// [`MAX_CLEARING_PERIOD`]: TE-08).
    ///
    /// # Errors
    /// [`crate::Error::Settings`] for a period that does not divide a day or is longer than 15 minutes.
    pub fn with_clearing_period(mut self, period: Duration) -> crate::Result<TeNode> {
        if period > MAX_CLEARING_PERIOD {
            return Err(crate::Error::settings(
                "clearing_period",
                format!("{} s is longer than TE-08's 15 minutes", period.as_secs()),
            ));
        }
        // A pool checks the period; the node's own is made at its first settlement.
        Pool::new(period, Timestamp::UNIX_EPOCH)
            .map_err(|e| crate::Error::settings("clearing_period", e.to_string()))?;
        self.clearing_period = period;
        self.pool = None;
        Ok(self)
    }

    /// The clearing period.
    pub fn clearing_period(&self) -> Duration {
        self.clearing_period
    }

    /// The obligations waiting for the next clearing run.
    pub fn pending_obligations(&self) -> impl Iterator<Item = &Obligation> {
        self.pool.iter().flat_map(Pool::obligations)
    }

    /// Whether anything waits for a clearing run: a verified interval, or a channel's outstanding net.
    fn run_due(&self) -> bool {
        !self.due.is_empty() || self.pool.as_ref().is_some_and(|p| !p.is_empty())
    }

    /// When the next clearing run is due, while any verified interval or channel debt waits for one.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        if !self.run_due() {
            return None;
        }
        self.pool.as_ref().and_then(Pool::poll_timeout)
    }

    /// Runs the clearing due by `now`, if any (TE-08): moves the net positions between the wallets, keeps
    /// the run for the ledger (a [`te_contract::ledger::RecordKind::Clearing`] entry) and tells each party
    /// what was paid, carried or set aside ([`TeNotice::Cleared`]), and both sides of each channel it paid
    /// ([`TeNotice::ChannelPaid`]).
    pub fn handle_timeout(&mut self, now: Timestamp) {
        // Nothing waits: no run (and no empty record in the ledger).
        if !self.run_due() {
            return;
        }
        let Some(pool) = self.pool.as_mut() else {
            return;
        };
        let report = match pool.handle_timeout(&mut self.wallets, now) {
            Ok(Some(report)) => report,
            Ok(None) => return,
            Err(e) => {
                log::error!("TE node: clearing: {e}");
                return;
            }
        };
        self.entry(report.ledger_entry(now));
        let channel_payments = self.channel_payments(&report);
        let closed = self.finish_closes(now);
        self.tell_cleared(&report);
        self.tell_channel_payments(&report, channel_payments);
        self.tell_closed(closed);
    }

    /// Keeps a verified interval until the run that pays it; its obligation, if any, is in the pool already.
    pub(super) fn due(&mut self, id: DebtId, due: DueInterval) {
        self.due.insert(id, due);
    }

    /// Takes the run `report` into the intervals due: a paid or set-aside interval leaves them, a carried one
    /// stays; each paid one counts towards its contract being paid in full. Returns each interval the run
    /// decided, with what it decided and whether its contract is now paid in full. The live node tells the
    /// parties; a node rebuilt from its ledger replays a recorded run through the same steps.
    pub(super) fn apply_run(
        &mut self,
        report: &ClearingReport,
    ) -> Vec<(DueInterval, Outcome, bool)> {
        let left_out = |o: &Obligation| {
            [o.from, o.to]
                .into_iter()
                .find(|a| report.left_out.contains(&(*a, o.amount.currency)))
        };
        let carried: BTreeMap<DebtId, String> = report
            .carried
            .iter()
            .filter_map(|o| {
                let id = transfer_id(o)?;
                let reason = match left_out(o) {
                    Some(avatar) => format!(
                        "{avatar} could not cover, or hold, its net position in {}; carried to the next clearing",
                        o.amount.currency
                    ),
                    None => "carried to the next clearing".to_owned(),
                };
                Some((id, reason))
            })
            .collect();
        let set_aside: BTreeMap<DebtId, String> = report
            .set_aside
            .iter()
            .filter_map(|s| Some((transfer_id(&s.obligation)?, s.reason.clone())))
            .collect();
        let settled: std::collections::BTreeSet<DebtId> =
            report.settled.iter().filter_map(transfer_id).collect();
        // Channels whose net the run carried or set aside; any other channel's intervals are paid (cleared,
        // or netted to nothing inside the channel).
        let channel_held: BTreeMap<te_contract::ChannelId, Outcome> = report
            .carried
            .iter()
            .filter_map(|o| {
                let Source::Channel(c) = o.source else {
                    return None;
                };
                let reason = match left_out(o) {
                    Some(avatar) => format!(
                        "{avatar} could not cover, or hold, its net position in {}; its channel's net is carried to the next clearing",
                        o.amount.currency
                    ),
                    None => "its channel's net is carried to the next clearing".to_owned(),
                };
                Some((c, Outcome::Carried(reason)))
            })
            .chain(report.set_aside.iter().filter_map(|s| match s.obligation.source {
                Source::Channel(c) => Some((c, Outcome::SetAside(s.reason.clone()))),
                Source::Transfer(_) => None,
            }))
            .collect();
        let mut decided = Vec::new();
        // Every interval due now was settled by this run unless it is carried or set aside.
        let ids: Vec<DebtId> = self.due.keys().copied().collect();
        for id in ids {
            let Some(due) = self.due.get(&id).cloned() else {
                continue;
            };
            let outcome = if let Some(channel) = due.channel {
                match channel_held.get(&channel) {
                    Some(Outcome::Carried(reason)) => Outcome::Carried(reason.clone()),
                    Some(Outcome::SetAside(reason)) => Outcome::SetAside(reason.clone()),
                    _ => Outcome::Paid,
                }
            } else if let Some(reason) = carried.get(&id) {
                Outcome::Carried(reason.clone())
            } else if let Some(reason) = set_aside.get(&id) {
                Outcome::SetAside(reason.clone())
            } else if !due.in_pool || settled.contains(&id) {
                Outcome::Paid
            } else {
                // Added after the run began (not in this report): it waits for the next.
                continue;
            };
            if !matches!(outcome, Outcome::Carried(_)) {
                self.due.remove(&id);
            }
            let complete = matches!(outcome, Outcome::Paid) && {
                let paid = self.paid.entry(due.transaction).or_insert(0);
                *paid = paid.saturating_add(1);
                let paid = *paid;
                self.contracts
                    .get(&due.transaction)
                    .is_some_and(|c| paid >= c.signed.body().transaction.terms.window.intervals())
            };
            if complete {
                self.paid.remove(&due.transaction);
            }
            decided.push((due, outcome, complete));
        }
        decided
    }

    fn tell_cleared(&mut self, report: &ClearingReport) {
        let mut agents: BTreeMap<String, ForAgent> = BTreeMap::new();
        for (due, outcome, complete) in self.apply_run(report) {
            for avatar in [due.seller, due.buyer] {
                let Some(agent) = self.agents.get(&avatar).cloned() else {
                    continue;
                };
                let entry = agents.entry(agent).or_default();
                let mut item = ClearedInterval {
                    transaction: due.transaction,
                    interval: due.interval,
                    amount_minor: due.amount_minor,
                    complete,
                    reason: None,
                };
                match &outcome {
                    Outcome::Paid => entry.paid.push(item),
                    Outcome::Carried(reason) => {
                        item.reason = Some(reason.clone());
                        entry.carried.push(item);
                    }
                    Outcome::SetAside(reason) => {
                        item.reason = Some(reason.clone());
                        entry.set_aside.push(item);
                    }
                }
                let code = due.currency.code().to_owned();
                entry.net_minor.entry(code).or_insert_with(|| {
                    report
                        .positions
                        .get(&(avatar, due.currency))
                        .copied()
                        .unwrap_or(0)
                });
            }
        }
        for (to, r) in agents {
            self.notify(TeNotice::Cleared {
                to,
                period_end: report.period_end,
                net_minor: r.net_minor,
                paid: r.paid,
                carried: r.carried,
                set_aside: r.set_aside,
            });
        }
    }
}

/// What a clearing run decided of one interval due.
pub(super) enum Outcome {
    Paid,
    Carried(String),
    SetAside(String),
}

fn transfer_id(o: &Obligation) -> Option<DebtId> {
    match o.source {
        Source::Transfer(id) => Some(id),
        Source::Channel(_) => None,
    }
}
