//! Debt payment channels at the TE node (TE-09). Two avatars open a channel ([`ChannelOpen`], signed by both);
//! each interval of a contract between them that the node verifies may then go into the channel as a debt
//! instead of being paid wallet to wallet: the creditor proposes a state with the debt, the debtor checks it
//! against the node's own `settled` notice and countersigns, and the state is submitted. The node records each
//! open and state in the ledger and keeps the channel's outstanding net as one obligation in its clearing pool
//! (`Source::Channel`, replaced by each newer state), so the channel is paid at the next clearing run with
//! everything else — the debts inside it netted first.
//!
//! The node sees every state (each must follow the last it has, counter by counter, its totals grown by
//! exactly the debts and payments it adds), so it checks each debt against the interval it verified: the same
//! contract and interval, the right debtor, the amount it fixed, each interval once, and only while the
//! interval is still due (its own transfer then leaves the pool). A debt the node did not verify is refused.
//! What clearing paid out of each side's wallet for a channel is the node's own count, and the obligation is
//! each side's debts less *that* — a state the parties have not yet brought up to date with a payment is never
//! paid twice. The parties learn of each payment ([`TeNotice::ChannelPaid`]) and write it into a later state
//! (`Payment`, its id the run's); a payment clearing did not make is refused, as is a state that is not the
//! next, one beyond the channel's credit limit, or one signed by others than its sides. Every refusal is
//! recorded. An interval whose debt never makes it into a state is paid wallet to wallet as any other.

use super::{TeNode, TeNotice};
use idea_proto::{Timestamp, TransactionId};
use std::collections::{BTreeMap, BTreeSet};
use te_contract::batch::{Trusted, Verified};
use te_contract::channel::{ChannelOpen, ChannelState, CloseRequest, Debt, Party, Payment};
use te_contract::clearing::{ClearingReport, Obligation, Pool, Source};
use te_contract::ledger::Entry;
use te_contract::settlement::settlement_debt_id;
use te_contract::{AvatarId, ChannelId, DebtId, Signed};

/// The most channels the node keeps.
pub const MAX_CHANNELS: usize = 1 << 16;
/// The most channels one avatar holds open at the node.
pub const MAX_CHANNELS_PER_AVATAR: usize = 256;
/// The most debts one channel takes over its life (a channel that needs more is closed and opened anew).
pub const MAX_DEBTS_PER_CHANNEL: usize = 1 << 16;
/// The most clearing payments of one channel waiting to be written into a state.
pub const MAX_UNRECORDED_PAYMENTS: usize = 1024;
/// How long the node remembers a closed channel, and how old an open may be: a channel opened or closed
/// longer ago than this cannot be opened again by replaying its open.
pub const CHANNEL_MEMORY: idea_proto::Duration = idea_proto::Duration::from_mins(24 * 60);

/// One channel as the node knows it.
#[derive(Debug, Clone)]
pub(super) struct NodeChannel {
    open: ChannelOpen,
    /// The latest state both signed that the node has (none: only the open).
    latest: Option<ChannelState>,
    /// What clearing paid out of each side's wallet for the channel, minor units: A, then B.
    paid: [i64; 2],
    /// The intervals whose debts are in it.
    debts: BTreeSet<(TransactionId, u32)>,
    /// What clearing paid that no state records yet, by the run's id: who paid, how much.
    unrecorded: BTreeMap<DebtId, (Party, i64)>,
    /// The counter it is closing at, once a side asked.
    closing: Option<u64>,
}

impl NodeChannel {
    /// The channel's outstanding net as an obligation: the latest state's debts less what clearing paid.
    fn obligation(&self) -> crate::Result<Option<Obligation>> {
        let Some(state) = &self.latest else {
            return Ok(None);
        };
        let mut as_paid = state.clone();
        as_paid.paid_by_a = self.paid[0];
        as_paid.paid_by_b = self.paid[1];
        Ok(Obligation::of_channel(
            &as_paid,
            self.open.a,
            self.open.b,
            self.open.currency,
        )?)
    }
}

fn refusal(channel: ChannelId, reason: impl std::fmt::Display) -> String {
    format!("channel {channel}: {reason}")
}

impl TeNode {
    /// The channels the node keeps, with each one's latest counter and what clearing paid for it.
    pub fn channels(&self) -> impl Iterator<Item = (&ChannelOpen, u64, [i64; 2])> {
        self.channels
            .values()
            .map(|c| (&c.open, c.latest.as_ref().map_or(0, |s| s.counter), c.paid))
    }

    /// TE-09: a channel both avatars signed opens at the node.
    pub(super) fn open_channel(
        &mut self,
        from: &str,
        signed: &Signed<ChannelOpen>,
        verified: &Verified,
        now: Timestamp,
    ) {
        let open = signed.body();
        let checked = signed
            .verify(
                &Trusted::new(&self.registry, verified),
                self.registry.deployment(),
                now,
            )
            .map_err(|e| refusal(open.channel, e))
            .and_then(|()| self.admit_channel(open, now));
        match checked {
            Ok(()) => {
                self.entry(Entry::signed(signed, now));
                self.channel_opened(open.clone());
                self.tell_channel(open.channel, 0);
            }
            Err(reason) => self.refuse(from, None, reason, now),
        }
    }

    /// Whether a new channel may open: not one the node has, within the bounds.
    fn admit_channel(&self, open: &ChannelOpen, now: Timestamp) -> Result<(), String> {
        if self.channels.contains_key(&open.channel) {
            return Err(refusal(open.channel, "is open already"));
        }
        if self.closed_channels.contains_key(&open.channel) {
            return Err(refusal(open.channel, "was closed: open another"));
        }
        if now
            .checked_sub(CHANNEL_MEMORY)
            .is_ok_and(|oldest| open.opened_at < oldest)
        {
            return Err(refusal(
                open.channel,
                format!("was opened at {}, more than a day ago", open.opened_at),
            ));
        }
        if self.channels.len() >= MAX_CHANNELS {
            return Err(refusal(
                open.channel,
                format!("the node keeps {MAX_CHANNELS} channels already"),
            ));
        }
        for avatar in [open.a, open.b] {
            let held = self
                .channels
                .values()
                .filter(|c| c.open.a == avatar || c.open.b == avatar)
                .count();
            if held >= MAX_CHANNELS_PER_AVATAR {
                return Err(refusal(
                    open.channel,
                    format!("{avatar} holds {MAX_CHANNELS_PER_AVATAR} channels already"),
                ));
            }
        }
        Ok(())
    }

    /// Takes an open channel (live, or replayed from the ledger).
    pub(super) fn channel_opened(&mut self, open: ChannelOpen) {
        self.channels.insert(
            open.channel,
            NodeChannel {
                open,
                latest: None,
                paid: [0, 0],
                debts: BTreeSet::new(),
                unrecorded: BTreeMap::new(),
                closing: None,
            },
        );
    }

    /// TE-09: a state both sides signed replaces the channel's obligation in the pool.
    pub(super) fn update_channel(
        &mut self,
        from: &str,
        signed: &Signed<ChannelState>,
        verified: &Verified,
        now: Timestamp,
    ) {
        let state = signed.body();
        let checked = signed
            .verify(
                &Trusted::new(&self.registry, verified),
                self.registry.deployment(),
                now,
            )
            .map_err(|e| refusal(state.channel, e))
            .and_then(|()| self.check_state(state));
        let outcome = checked.and_then(|()| {
            self.channel_state(state.clone(), now)
                .map_err(|e| refusal(state.channel, e))
        });
        match outcome {
            Ok(()) => {
                self.entry(Entry::signed(signed, now));
                self.tell_channel(state.channel, state.counter);
            }
            Err(reason) => self.refuse(from, None, reason, now),
        }
    }

    /// The node's rules for a state it is given: its channel's sides, the next after the latest, totals grown
    /// by exactly what it adds, each debt an interval the node verified and still holds due, each payment one
    /// clearing made, within the credit limit.
    fn check_state(&self, state: &ChannelState) -> Result<(), String> {
        let id = state.channel;
        let Some(channel) = self.channels.get(&id) else {
            return Err(refusal(id, "was never opened at this node"));
        };
        let open = &channel.open;
        if let Some(at) = channel.closing {
            return Err(refusal(id, format!("is closing at state {at}")));
        }
        if open.avatar(state.proposer) != state.proposer_avatar
            || open.avatar(state.proposer.other()) != state.acceptor_avatar
        {
            return Err(refusal(
                id,
                "the state's signers are not the channel's sides",
            ));
        }
        let last = channel.latest.as_ref().map_or(0, |l| l.counter);
        if state.counter <= last {
            return Err(refusal(
                id,
                format!(
                    "state {} is not newer than state {last} (a replay or a stale state)",
                    state.counter
                ),
            ));
        }
        if state.counter != last.saturating_add(1) {
            return Err(refusal(
                id,
                format!(
                    "state {} does not follow state {last}: every state goes to the node",
                    state.counter
                ),
            ));
        }
        let previous = channel.latest.as_ref().map_or([0; 4], |l| {
            [l.owed_by_a, l.owed_by_b, l.paid_by_a, l.paid_by_b]
        });
        let [mut owed_a, mut owed_b, mut paid_a, mut paid_b] = previous;
        let overflow = || refusal(id, format!("state {}: a total overflows", state.counter));
        let mut seen = BTreeSet::new();
        for debt in &state.debts {
            if !seen.insert((debt.contract, debt.interval)) {
                return Err(refusal(
                    id,
                    format!(
                        "interval {} of {} twice in one state",
                        debt.interval, debt.contract
                    ),
                ));
            }
            self.check_debt(channel, debt)?;
            let total = if debt.debtor == Party::A {
                &mut owed_a
            } else {
                &mut owed_b
            };
            *total = total.checked_add(debt.amount).ok_or_else(overflow)?;
        }
        if channel.debts.len().saturating_add(state.debts.len()) > MAX_DEBTS_PER_CHANNEL {
            return Err(refusal(
                id,
                format!("a channel takes {MAX_DEBTS_PER_CHANNEL} debts: close it and open another"),
            ));
        }
        for payment in &state.payments {
            check_payment(channel, payment)?;
            let total = if payment.payer == Party::A {
                &mut paid_a
            } else {
                &mut paid_b
            };
            *total = total.checked_add(payment.amount).ok_or_else(overflow)?;
        }
        let grown = [owed_a, owed_b, paid_a, paid_b];
        let claimed = [
            state.owed_by_a,
            state.owed_by_b,
            state.paid_by_a,
            state.paid_by_b,
        ];
        if claimed != grown {
            return Err(refusal(
                id,
                format!(
                    "state {} does not add up: its totals are not state {last}'s plus the debts and payments it adds",
                    state.counter
                ),
            ));
        }
        let net = state.net_owed_by_a().map_err(|e| refusal(id, e))?;
        if net.unsigned_abs() > open.credit_limit.unsigned_abs() {
            return Err(refusal(
                id,
                format!(
                    "state {} owes {} net, beyond the credit limit of {}",
                    state.counter,
                    net.unsigned_abs(),
                    open.credit_limit
                ),
            ));
        }
        Ok(())
    }

    /// A debt must be an interval the node verified between the channel's sides, still due and in no
    /// channel, owed by the side that owes it, for the amount the node fixed.
    fn check_debt(&self, channel: &NodeChannel, debt: &Debt) -> Result<(), String> {
        let id = channel.open.channel;
        let what = format!("interval {} of {}", debt.interval, debt.contract);
        if channel.debts.contains(&(debt.contract, debt.interval)) {
            return Err(refusal(id, format!("{what} is in the channel already")));
        }
        let Some(due) = self
            .due
            .get(&settlement_debt_id(&debt.contract, debt.interval))
        else {
            return Err(refusal(
                id,
                format!("{what} is not due: the node has not verified it, or clearing paid it"),
            ));
        };
        if due.channel.is_some() {
            return Err(refusal(id, format!("{what} is in another channel")));
        }
        let (debtor, creditor, amount) = if due.amount_minor >= 0 {
            (due.buyer, due.seller, due.amount_minor)
        } else {
            (due.seller, due.buyer, due.amount_minor.saturating_neg())
        };
        let open = &channel.open;
        let sides_match =
            open.avatar(debt.debtor) == debtor && open.avatar(debt.debtor.other()) == creditor;
        if !sides_match || due.currency != open.currency {
            return Err(refusal(
                id,
                format!("{what} is not owed between the channel's sides in its currency"),
            ));
        }
        if amount == 0 || debt.amount != amount {
            return Err(refusal(
                id,
                format!(
                    "{what} owes {amount} as the node verified it, not {}",
                    debt.amount
                ),
            ));
        }
        Ok(())
    }

    /// Takes a checked state (live, or replayed from the ledger): the channel's obligation in the pool is
    /// replaced by the new net, or leaves it when nothing is outstanding.
    pub(super) fn channel_state(
        &mut self,
        state: ChannelState,
        now: Timestamp,
    ) -> crate::Result<()> {
        let id = state.channel;
        // The intervals its debts carry leave the pool as transfers: the channel's net pays them.
        for debt in &state.debts {
            let due_id = settlement_debt_id(&debt.contract, debt.interval);
            if let Some(due) = self.due.get_mut(&due_id) {
                due.channel = Some(id);
            }
            if let Some(pool) = self.pool.as_mut() {
                pool.remove(&Source::Transfer(due_id));
            }
        }
        let obligation = {
            let Some(channel) = self.channels.get_mut(&id) else {
                return Err(crate::Error::NotRegistered(format!("channel {id}")));
            };
            for debt in &state.debts {
                channel.debts.insert((debt.contract, debt.interval));
            }
            for payment in &state.payments {
                channel.unrecorded.remove(&payment.id);
            }
            channel.latest = Some(state);
            channel.obligation()?
        };
        match obligation {
            Some(obligation) => self.pool_at(now)?.add(obligation)?,
            None => {
                if let Some(pool) = self.pool.as_mut() {
                    pool.remove(&Source::Channel(id));
                }
            }
        }
        Ok(())
    }

    /// The clearing pool, made at the first obligation.
    pub(super) fn pool_at(&mut self, now: Timestamp) -> crate::Result<&mut Pool> {
        Ok(match self.pool {
            Some(ref mut pool) => pool,
            None => self.pool.insert(Pool::new(self.clearing_period, now)?),
        })
    }

    /// TE-09: one side closes the channel at the node's latest state; it takes no more states, and once its
    /// net is paid (at once, when nothing is outstanding) it is closed and both sides are told.
    pub(super) fn close_channel(
        &mut self,
        from: &str,
        signed: &Signed<CloseRequest>,
        verified: &Verified,
        now: Timestamp,
    ) {
        let request = signed.body();
        let id = request.channel;
        let checked = signed
            .verify(
                &Trusted::new(&self.registry, verified),
                self.registry.deployment(),
                now,
            )
            .map_err(|e| refusal(id, e))
            .and_then(|()| {
                let Some(channel) = self.channels.get(&id) else {
                    return Err(refusal(id, "is not open at this node"));
                };
                if channel.open.party_of(&request.by).is_none() {
                    return Err(refusal(id, format!("{} is not a side", request.by)));
                }
                if let Some(at) = channel.closing {
                    return Err(refusal(id, format!("is closing at state {at} already")));
                }
                let latest = channel.latest.as_ref().map_or(0, |l| l.counter);
                if request.counter != latest {
                    return Err(refusal(
                        id,
                        format!(
                            "a close at state {} — the node's latest is state {latest}",
                            request.counter
                        ),
                    ));
                }
                Ok(())
            });
        match checked {
            Ok(()) => {
                self.entry(Entry::signed(signed, now));
                self.channel_closing(id, request.counter);
                let closed = self.finish_closes(now);
                self.tell_closed(closed);
            }
            Err(reason) => self.refuse(from, None, reason, now),
        }
    }

    /// Marks a channel closing at `counter` (live, or replayed).
    pub(super) fn channel_closing(&mut self, id: ChannelId, counter: u64) {
        if let Some(channel) = self.channels.get_mut(&id) {
            channel.closing = Some(counter);
        }
    }

    /// Closes every closing channel with nothing outstanding (live, or replayed): it leaves the book and is
    /// remembered as closed for [`CHANNEL_MEMORY`]. Returns what closed: the channel, its counter, its sides.
    pub(super) fn finish_closes(&mut self, now: Timestamp) -> Vec<(ChannelId, u64, [AvatarId; 2])> {
        let done: Vec<(ChannelId, u64, [AvatarId; 2])> = self
            .channels
            .iter()
            .filter_map(|(id, c)| {
                let counter = c.closing?;
                matches!(c.obligation(), Ok(None)).then_some((*id, counter, [c.open.a, c.open.b]))
            })
            .collect();
        for (id, _, _) in &done {
            self.channels.remove(id);
            self.closed_channels.insert(*id, now);
        }
        if let Ok(oldest) = now.checked_sub(CHANNEL_MEMORY) {
            self.closed_channels.retain(|_, at| *at >= oldest);
        }
        done
    }

    /// Tells both sides of each channel that closed.
    pub(super) fn tell_closed(&mut self, closed: Vec<(ChannelId, u64, [AvatarId; 2])>) {
        for (id, counter, sides) in closed {
            for avatar in sides {
                if let Some(agent) = self.agents.get(&avatar).cloned() {
                    self.notify(TeNotice::ChannelClosed {
                        to: agent,
                        channel: id.to_string(),
                        counter,
                    });
                }
            }
        }
    }

    /// Counts what a clearing run paid for channels (live, or replayed). Returns each payment: the channel,
    /// the side that paid and how much.
    pub(super) fn channel_payments(
        &mut self,
        report: &ClearingReport,
    ) -> Vec<(ChannelId, AvatarId, i64)> {
        let mut payments = Vec::new();
        for o in &report.settled {
            let Source::Channel(id) = o.source else {
                continue;
            };
            let Some(channel) = self.channels.get_mut(&id) else {
                continue;
            };
            let Some(payer) = channel.open.party_of(&o.from) else {
                continue;
            };
            let slot = match payer {
                Party::A => &mut channel.paid[0],
                Party::B => &mut channel.paid[1],
            };
            *slot = slot.saturating_add(o.amount.minor_units);
            if channel.unrecorded.len() < MAX_UNRECORDED_PAYMENTS {
                channel
                    .unrecorded
                    .insert(report.id, (payer, o.amount.minor_units));
            }
            payments.push((id, o.from, o.amount.minor_units));
        }
        payments
    }

    /// Tells both sides of a channel what a clearing run paid for it, to write into their next state.
    pub(super) fn tell_channel_payments(
        &mut self,
        report: &ClearingReport,
        payments: Vec<(ChannelId, AvatarId, i64)>,
    ) {
        for (id, payer, amount_minor) in payments {
            let Some(open) = self.channels.get(&id).map(|c| c.open.clone()) else {
                continue;
            };
            for avatar in [open.a, open.b] {
                if let Some(agent) = self.agents.get(&avatar).cloned() {
                    self.notify(TeNotice::ChannelPaid {
                        to: agent,
                        channel: id.to_string(),
                        run: report.id.to_string(),
                        payer: payer.to_string(),
                        amount_minor,
                    });
                }
            }
        }
    }

    /// Tells both sides the node recorded the channel at `counter` (0: its open).
    fn tell_channel(&mut self, id: ChannelId, counter: u64) {
        let Some(channel) = self.channels.get(&id) else {
            return;
        };
        let open = channel.open.clone();
        let outstanding = channel
            .obligation()
            .ok()
            .flatten()
            .map(|o| (o.from, o.amount.minor_units));
        for avatar in [open.a, open.b] {
            let Some(agent) = self.agents.get(&avatar).cloned() else {
                continue;
            };
            // What this side is owed at the next clearing (negative: what it owes).
            let due_minor = outstanding.map_or(0, |(debtor, amount)| {
                if debtor == avatar {
                    amount.saturating_neg()
                } else {
                    amount
                }
            });
            self.notify(TeNotice::ChannelRecorded {
                to: agent,
                channel: id.to_string(),
                counter,
                due_minor,
            });
        }
    }
}

/// A payment must be one clearing made for the channel and no state recorded yet, by the side and for the
/// amount it paid.
fn check_payment(channel: &NodeChannel, payment: &Payment) -> Result<(), String> {
    match channel.unrecorded.get(&payment.id) {
        Some((payer, amount)) if *payer == payment.payer && *amount == payment.amount => Ok(()),
        _ => Err(refusal(
            channel.open.channel,
            format!(
                "payment {} of {} is not one clearing made and no state recorded",
                payment.id, payment.amount
            ),
        )),
    }
}

/// Kept by the node per channel: the map's type, for the node's field.
pub(super) type ChannelBook = BTreeMap<ChannelId, NodeChannel>;
