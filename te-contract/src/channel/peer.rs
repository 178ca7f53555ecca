//! One side's view of a debt payment channel: proposing debts, countersigning the other side's, and the
//! rules both apply before a state counts.

use super::objects::{ChannelOpen, ChannelState, Debt, Party, Payment};
use crate::error::{Error, Result};
use crate::id::{AvatarId, DebtId, DeploymentId};
use crate::signed::{KeyResolver, Signed};
use idea_proto::{EnvelopeSigner, Money, Timestamp};
use std::collections::HashSet;

/// Where a side keeps the states it signed. [`Channel`] saves a state before it acknowledges it (by
/// countersigning), before it relies on it (as its latest), and each proposal of its own before it hands it
/// out, so a crash never leaves a side having acknowledged a state it cannot produce at a close, nor having
/// signed a proposal it does not know of after a restart ([`Channel::restore`] reads them back).
pub trait ChannelStore {
    /// Makes `state` (signed by both sides) durable; returns only when it is.
    fn save_state(&mut self, state: &Signed<ChannelState>) -> Result<()>;
    /// Makes our own `proposal` (signed by us alone) durable; returns only when it is.
    fn save_proposal(&mut self, proposal: &Signed<ChannelState>) -> Result<()>;
}

/// A store that keeps every saved state and proposal in memory (tests, simulations).
#[derive(Debug, Default, Clone)]
pub struct MemoryChannelStore {
    /// The states and proposals saved, in order.
    pub saved: Vec<Signed<ChannelState>>,
}

impl ChannelStore for MemoryChannelStore {
    fn save_state(&mut self, state: &Signed<ChannelState>) -> Result<()> {
        self.saved.push(state.clone());
        Ok(())
    }

    fn save_proposal(&mut self, proposal: &Signed<ChannelState>) -> Result<()> {
        self.saved.push(proposal.clone());
        Ok(())
    }
}

/// What the other side's proposal led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The state with both signatures, saved; send it back.
    pub countersigned: Signed<ChannelState>,
    /// Our own proposal with the same counter, withdrawn because side A's proposal takes precedence when
    /// both propose at once (only ever on side B): propose its debts again.
    pub withdrawn: Option<ChannelState>,
}

/// The most proposals one side signs for one counter (a proposal withdrawn and proposed again counts).
pub const MAX_PROPOSALS_PER_COUNTER: usize = 16;

/// One side of a channel. It holds the latest state both sides signed, at most one proposal of its own
/// awaiting the other's signature, and every debt id, payment id and meter token the channel has counted.
///
/// No sequence of its operations lets a side make two different states with one counter that both sides
/// signed: side A never countersigns a proposal for a counter it proposed at itself (withdrawn or not —
/// the other side may still countersign it), and neither side countersigns twice for one counter. Side B
/// may countersign A's proposal for a counter it proposed at too: when both propose at once, A's takes
/// precedence. So two fully signed states with one counter prove who broke these rules (see
/// [`super::Adjudicator::challenge`]).
#[derive(Debug, Clone)]
pub struct Channel {
    deployment: DeploymentId,
    open: Signed<ChannelOpen>,
    me: Party,
    /// The latest state both signed; `None` before the first.
    latest: Option<Signed<ChannelState>>,
    /// Its totals (the zero state before the first).
    totals: ChannelState,
    pending: Option<Signed<ChannelState>>,
    /// Every proposal we signed for the next counter, withdrawn ones included: the other side may still
    /// countersign any of them.
    signed_next: Vec<Signed<ChannelState>>,
    debt_ids: HashSet<DebtId>,
    payment_ids: HashSet<DebtId>,
    tokens: HashSet<[u8; 16]>,
}

impl Channel {
    /// Side `me` of the channel `open`, which both sides signed with keys valid at `now`.
    pub fn new(
        deployment: DeploymentId,
        open: Signed<ChannelOpen>,
        me: AvatarId,
        keys: &impl KeyResolver,
        now: Timestamp,
    ) -> Result<Channel> {
        open.verify(keys, &deployment, now)?;
        let o = open.body();
        let me = o
            .party_of(&me)
            .ok_or_else(|| Error::channel(o.channel, format!("{me} is not a side")))?;
        let totals = ChannelState {
            channel: o.channel,
            counter: 0,
            proposer: Party::A,
            proposer_avatar: o.a,
            acceptor_avatar: o.b,
            owed_by_a: 0,
            owed_by_b: 0,
            paid_by_a: 0,
            paid_by_b: 0,
            debts: Vec::new(),
            payments: Vec::new(),
        };
        Ok(Channel {
            deployment,
            open,
            me,
            latest: None,
            totals,
            pending: None,
            signed_next: Vec::new(),
            debt_ids: HashSet::new(),
            payment_ids: HashSet::new(),
            tokens: HashSet::new(),
        })
    }

    /// Side `me` of the channel `open` as a restart finds it: `saved` is what a [`ChannelStore`] of this side
    /// kept, in the order it was saved. Every state signed by both is checked as [`Channel::accept`] checks a
    /// proposal (signatures at `now`, counters one after another, totals that follow by the debts and
    /// payments added, ids and tokens counted once) and becomes the latest; our own proposals for the counter
    /// after the last of those are known again (the other side may still countersign one:
    /// [`Channel::confirm`] takes it), none of them pending. Anything else — a gap, a state that does not
    /// follow, two different states for one counter, a proposal that is not ours — is an error naming it: a
    /// store that does not replay is not guessed at.
    pub fn restore(
        deployment: DeploymentId,
        open: Signed<ChannelOpen>,
        me: AvatarId,
        saved: impl IntoIterator<Item = Signed<ChannelState>>,
        keys: &impl KeyResolver,
        now: Timestamp,
    ) -> Result<Channel> {
        let mut channel = Channel::new(deployment, open, me, keys, now)?;
        let id = channel.open().channel;
        for state in saved {
            let body = state.body();
            if body.channel != id {
                return Err(Error::channel(id, "a saved state of another channel"));
            }
            let latest = channel.totals.counter;
            let both = state.signatures().len() == 2;
            if body.counter <= latest {
                // Our proposal overtaken by a state both signed, or the latest saved twice (a retry after a
                // crash), is harmless; a different state for a counter both signed is not.
                if !both || channel.latest.as_ref() == Some(&state) {
                    continue;
                }
                return Err(Error::channel(
                    id,
                    format!("two different saved states for counter {}", body.counter),
                ));
            }
            if body.counter != latest.saturating_add(1) {
                return Err(Error::channel(
                    id,
                    format!("saved state {} follows state {latest}", body.counter),
                ));
            }
            let expected = next_state(
                channel.open.body(),
                &channel.totals,
                body.proposer,
                body.debts.clone(),
                body.payments.clone(),
            )?;
            if expected != *body {
                return Err(Error::channel(
                    id,
                    format!(
                        "saved state {} does not follow state {latest} by the debts and payments it adds",
                        body.counter
                    ),
                ));
            }
            channel.check(body)?;
            if both {
                state.verify(keys, &channel.deployment, now)?;
                channel.adopt(state);
            } else {
                if body.proposer != channel.me || state.signatures().len() != 1 {
                    return Err(Error::channel(
                        id,
                        format!("saved proposal {} is not ours", body.counter),
                    ));
                }
                state.verify_partial(keys, &channel.deployment, now)?;
                if !channel.signed_next.contains(&state) {
                    channel.signed_next.push(state);
                }
            }
        }
        Ok(channel)
    }

    /// The channel's opening as both sides signed it (what a side keeps to restore the channel).
    pub fn signed_open(&self) -> &Signed<ChannelOpen> {
        &self.open
    }

    /// The channel's opening.
    pub fn open(&self) -> &ChannelOpen {
        self.open.body()
    }

    /// Our side.
    pub fn side(&self) -> Party {
        self.me
    }

    /// The latest state both sides signed (what we would bring to a close).
    pub fn latest(&self) -> Option<&Signed<ChannelState>> {
        self.latest.as_ref()
    }

    /// The totals of the latest state both signed (all zero before the first).
    pub fn totals(&self) -> &ChannelState {
        &self.totals
    }

    /// Our proposal awaiting the other side's signature.
    pub fn pending(&self) -> Option<&Signed<ChannelState>> {
        self.pending.as_ref()
    }

    /// What we are owed, net, counting our proposal the other side has not signed: what we lose if it
    /// never signs again. Never negative.
    pub fn exposure(&self) -> Result<Money> {
        let state = self.pending.as_ref().map_or(&self.totals, |p| p.body());
        let owed = state.owed_to(self.me)?.max(0);
        Ok(Money::new(owed, self.open().currency))
    }

    /// How much more we may be owed before the credit limit stops us: deliver no more on credit than this.
    pub fn headroom(&self) -> Result<Money> {
        let exposure = self.exposure()?.minor_units;
        let room = self
            .open()
            .credit_limit
            .checked_sub(exposure)
            .ok_or(Error::Overflow("headroom"))?
            .max(0);
        Ok(Money::new(room, self.open().currency))
    }

    /// Proposes the next state adding `debts` and `payments`, signed with our key `key_version` and saved in
    /// `store` before it is returned. One proposal at a time; refused if it breaks a rule (see
    /// [`Channel::accept`]) or would take what we are owed past the credit limit.
    pub fn propose(
        &mut self,
        debts: Vec<Debt>,
        payments: Vec<Payment>,
        store: &mut impl ChannelStore,
        key: &impl EnvelopeSigner,
        key_version: u32,
    ) -> Result<Signed<ChannelState>> {
        let open = self.open.body();
        if self.pending.is_some() {
            return Err(Error::channel(
                open.channel,
                "a proposal is already awaiting its countersignature",
            ));
        }
        if self.signed_next.len() >= MAX_PROPOSALS_PER_COUNTER {
            return Err(Error::channel(
                open.channel,
                format!(
                    "{MAX_PROPOSALS_PER_COUNTER} proposals for state {} already: close with the latest state",
                    self.totals.counter.saturating_add(1)
                ),
            ));
        }
        let next = next_state(open, &self.totals, self.me, debts, payments)?;
        self.check(&next)?;
        let mut signed = Signed::new(self.deployment.clone(), next);
        signed.sign(open.avatar(self.me), key_version, key)?;
        store.save_proposal(&signed)?;
        self.pending = Some(signed.clone());
        self.signed_next.push(signed.clone());
        Ok(signed)
    }

    /// Checks the other side's proposal, saves it with our countersignature and returns it. Refused
    /// unless: its signature verifies at `now`; its counter is the latest plus one; each total grows by
    /// exactly the debts and payments it adds; every debt id, payment id and meter token is new to the
    /// channel; payments never exceed debts; and the proposer would not be owed more than the credit limit.
    pub fn accept(
        &mut self,
        proposal: Signed<ChannelState>,
        keys: &impl KeyResolver,
        store: &mut impl ChannelStore,
        key: &impl EnvelopeSigner,
        key_version: u32,
        now: Timestamp,
    ) -> Result<Accepted> {
        let open = self.open.body();
        let channel = open.channel;
        let state = proposal.body();
        if state.proposer != self.me.other() || proposal.signatures().len() != 1 {
            return Err(Error::channel(
                channel,
                "a proposal comes from the other side with its signature alone",
            ));
        }
        if self.me == Party::A && !self.signed_next.is_empty() {
            // Countersigning would sign a second state for a counter B may still complete with our
            // proposal: propose again instead (B withdraws its own for ours).
            return Err(Error::channel(
                channel,
                format!(
                    "we proposed state {} ourselves and side A's proposal takes precedence: propose again",
                    self.totals.counter.saturating_add(1)
                ),
            ));
        }
        let withdrawn = self.pending.as_ref().map(|ours| ours.body().clone());
        proposal.verify_partial(keys, &self.deployment, now)?;
        let expected = next_state(
            open,
            &self.totals,
            state.proposer,
            state.debts.clone(),
            state.payments.clone(),
        )?;
        if expected != *state {
            return Err(Error::channel(
                channel,
                format!(
                    "state {} does not follow state {} by the debts and payments it adds",
                    state.counter, self.totals.counter
                ),
            ));
        }
        self.check(state)?;
        let mut countersigned = proposal;
        countersigned.sign(open.avatar(self.me), key_version, key)?;
        store.save_state(&countersigned)?;
        self.pending = None;
        self.adopt(countersigned.clone());
        Ok(Accepted {
            countersigned,
            withdrawn,
        })
    }

    /// Takes back one of our proposals for the next counter with the other side's countersignature —
    /// the pending one, or one we withdrew that the other side countersigned meanwhile: checked, saved,
    /// then our latest.
    pub fn confirm(
        &mut self,
        countersigned: Signed<ChannelState>,
        keys: &impl KeyResolver,
        store: &mut impl ChannelStore,
        now: Timestamp,
    ) -> Result<()> {
        let channel = self.open().channel;
        if self.signed_next.is_empty() {
            return Err(Error::channel(channel, "no proposal of ours is pending"));
        }
        let ours = self.signed_next.iter().any(|p| {
            countersigned.body() == p.body()
                && countersigned.signatures().first() == p.signatures().first()
        });
        if !ours {
            return Err(Error::channel(
                channel,
                "the countersigned state is not our proposal",
            ));
        }
        countersigned.verify(keys, &self.deployment, now)?;
        store.save_state(&countersigned)?;
        self.pending = None;
        self.adopt(countersigned);
        Ok(())
    }

    /// Withdraws our pending proposal (the other side refused or never answered). What we delivered on it
    /// stays owed to us in fact; propose it again or bring the latest state to a close. The other side may
    /// still countersign it: [`Channel::confirm`] takes it then.
    pub fn withdraw(&mut self) -> Option<ChannelState> {
        self.pending.take().map(|p| p.body().clone())
    }

    /// Rules on ids, tokens and the credit limit, against everything the channel counted.
    fn check(&self, state: &ChannelState) -> Result<()> {
        let open = self.open.body();
        let channel = open.channel;
        let mut debts = HashSet::new();
        let mut tokens = HashSet::new();
        for d in &state.debts {
            if self.debt_ids.contains(&d.id) || !debts.insert(d.id) {
                return Err(Error::Duplicate {
                    what: "debt",
                    id: d.id.to_string(),
                });
            }
            if let Some(t) = d.token
                && (self.tokens.contains(&t) || !tokens.insert(t))
            {
                return Err(Error::Duplicate {
                    what: "meter token",
                    id: crate::hex(&t),
                });
            }
        }
        let mut payments = HashSet::new();
        for p in &state.payments {
            if self.payment_ids.contains(&p.id) || !payments.insert(p.id) {
                return Err(Error::Duplicate {
                    what: "payment",
                    id: p.id.to_string(),
                });
            }
        }
        if state.paid_by_a > state.owed_by_a || state.paid_by_b > state.owed_by_b {
            return Err(Error::channel(
                channel,
                "a side would have paid more than it owed",
            ));
        }
        let owed = state.owed_to(state.proposer)?;
        let grows = owed > self.totals.owed_to(state.proposer)?;
        if owed > open.credit_limit && grows {
            return Err(Error::CreditLimit {
                channel,
                exposure: Money::new(owed, open.currency),
                limit: open.limit(),
            });
        }
        Ok(())
    }

    fn adopt(&mut self, state: Signed<ChannelState>) {
        let body = state.body();
        self.debt_ids.extend(body.debts.iter().map(|d| d.id));
        self.tokens
            .extend(body.debts.iter().filter_map(|d| d.token));
        self.payment_ids.extend(body.payments.iter().map(|p| p.id));
        self.totals = body.clone();
        self.latest = Some(state);
        self.pending = None;
        self.signed_next.clear();
    }
}

/// The state after `previous` that `proposer` makes by adding `debts` and `payments`.
fn next_state(
    open: &ChannelOpen,
    previous: &ChannelState,
    proposer: Party,
    debts: Vec<Debt>,
    payments: Vec<Payment>,
) -> Result<ChannelState> {
    let channel = open.channel;
    if debts.is_empty() && payments.is_empty() {
        return Err(Error::channel(
            channel,
            "a state adds at least one debt or payment",
        ));
    }
    let overflow = || Error::Overflow("channel totals");
    let mut next = ChannelState {
        channel,
        counter: previous.counter.checked_add(1).ok_or_else(overflow)?,
        proposer,
        proposer_avatar: open.avatar(proposer),
        acceptor_avatar: open.avatar(proposer.other()),
        debts: Vec::new(),
        payments: Vec::new(),
        ..previous.clone()
    };
    for d in &debts {
        if d.amount <= 0 {
            return Err(Error::channel(channel, "a debt is positive"));
        }
        let total = match d.debtor {
            Party::A => &mut next.owed_by_a,
            Party::B => &mut next.owed_by_b,
        };
        *total = total.checked_add(d.amount).ok_or_else(overflow)?;
    }
    for p in &payments {
        if p.amount <= 0 {
            return Err(Error::channel(channel, "a payment is positive"));
        }
        let total = match p.payer {
            Party::A => &mut next.paid_by_a,
            Party::B => &mut next.paid_by_b,
        };
        *total = total.checked_add(p.amount).ok_or_else(overflow)?;
    }
    next.debts = debts;
    next.payments = payments;
    Ok(next)
}
