//! Debt payment channels at the TE node (TE-09). Two avatars open a channel ([`ChannelOpen`], signed by both)
//! and keep their debts to each other in it off the node; whenever they like they submit the latest state
//! both signed ([`ChannelState`]). The node records each open and state in the ledger and keeps the channel's
//! outstanding net as one obligation in its clearing pool (`Source::Channel`, replaced by each newer state), so
//! a channel is paid at the next clearing run together with everything else.
//!
//! The node is the only one that pays: what clearing paid out of each side's wallet for a channel is the
//! node's own count, and the obligation is each side's debts less *that* — a state the parties have not yet
//! brought up to date with a payment is never paid twice. The parties learn of each payment
//! ([`TeNotice::ChannelPaid`]) and write it into their next state (`Payment`, its id the run's); a state that
//! claims more paid than clearing paid is refused, as is one not newer than the node's, one whose totals
//! shrink, or one beyond the channel's credit limit. Every refusal is recorded.

use super::{TeNode, TeNotice};
use idea_proto::Timestamp;
use std::collections::BTreeMap;
use te_contract::batch::{Trusted, Verified};
use te_contract::channel::{ChannelOpen, ChannelState, Party};
use te_contract::clearing::{ClearingReport, Obligation, Pool, Source};
use te_contract::ledger::Entry;
use te_contract::{AvatarId, ChannelId, Signed};

/// The most channels the node keeps.
pub const MAX_CHANNELS: usize = 1 << 16;
/// The most channels one avatar holds open at the node.
pub const MAX_CHANNELS_PER_AVATAR: usize = 256;

/// One channel as the node knows it.
#[derive(Debug, Clone)]
pub(super) struct NodeChannel {
    open: ChannelOpen,
    /// The latest state both signed that the node has (none: only the open).
    latest: Option<ChannelState>,
    /// What clearing paid out of each side's wallet for the channel, minor units: A, then B.
    paid: [i64; 2],
}

impl NodeChannel {
    fn paid_by(&self, party: Party) -> i64 {
        match party {
            Party::A => self.paid[0],
            Party::B => self.paid[1],
        }
    }

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
            .and_then(|()| self.admit_channel(open));
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
    fn admit_channel(&self, open: &ChannelOpen) -> Result<(), String> {
        if self.channels.contains_key(&open.channel) {
            return Err(refusal(open.channel, "is open already"));
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

    /// The node's rules for a state it is given: its channel's sides, newer than the latest, totals that only
    /// grow, no payment clearing did not make, within the credit limit.
    fn check_state(&self, state: &ChannelState) -> Result<(), String> {
        let id = state.channel;
        let Some(channel) = self.channels.get(&id) else {
            return Err(refusal(id, "was never opened at this node"));
        };
        let open = &channel.open;
        if open.avatar(state.proposer) != state.proposer_avatar
            || open.avatar(state.proposer.other()) != state.acceptor_avatar
        {
            return Err(refusal(
                id,
                "the state's signers are not the channel's sides",
            ));
        }
        if let Some(latest) = &channel.latest {
            if state.counter <= latest.counter {
                return Err(refusal(
                    id,
                    format!(
                        "state {} is not newer than state {} (a replay or a stale state)",
                        state.counter, latest.counter
                    ),
                ));
            }
            let shrinks = state.owed_by_a < latest.owed_by_a
                || state.owed_by_b < latest.owed_by_b
                || state.paid_by_a < latest.paid_by_a
                || state.paid_by_b < latest.paid_by_b;
            if shrinks {
                return Err(refusal(
                    id,
                    format!(
                        "state {} owes or pays less in total than state {}",
                        state.counter, latest.counter
                    ),
                ));
            }
        }
        for (party, claimed) in [(Party::A, state.paid_by_a), (Party::B, state.paid_by_b)] {
            let paid = channel.paid_by(party);
            if claimed > paid {
                return Err(refusal(
                    id,
                    format!(
                        "state {} says {} paid {claimed}; clearing paid {paid}",
                        state.counter,
                        open.avatar(party)
                    ),
                ));
            }
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

    /// Takes a checked state (live, or replayed from the ledger): the channel's obligation in the pool is
    /// replaced by the new net, or leaves it when nothing is outstanding.
    pub(super) fn channel_state(
        &mut self,
        state: ChannelState,
        now: Timestamp,
    ) -> crate::Result<()> {
        let id = state.channel;
        let obligation = {
            let Some(channel) = self.channels.get_mut(&id) else {
                return Err(crate::Error::NotRegistered(format!("channel {id}")));
            };
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
            let slot = match channel.open.party_of(&o.from) {
                Some(Party::A) => &mut channel.paid[0],
                Some(Party::B) => &mut channel.paid[1],
                None => continue,
            };
            *slot = slot.saturating_add(o.amount.minor_units);
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

/// Kept by the node per channel: the map's type, for the node's field.
pub(super) type ChannelBook = BTreeMap<ChannelId, NodeChannel>;
