//! Closing channels: cooperatively at once, or by one side with a challenge window in which a newer state
//! replaces the one registered, and equivocation (two different states with one counter) becomes a dispute.
//! Driven by explicit time: [`Adjudicator::poll_timeout`] and [`Adjudicator::handle_timeout`].

use super::objects::{ChannelClose, ChannelOpen, ChannelState, Party};
use crate::error::{Error, Result};
use crate::id::{AvatarId, ChannelId, DeploymentId};
use crate::registry::{Archive, Registry};
use crate::signed::Signed;
use crate::wallet::Wallets;
use idea_proto::{Money, Timestamp};
use std::collections::BTreeMap;

/// Where a channel stands at the adjudicator.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChannelStatus {
    /// Open.
    Open,
    /// One side asked to close; until `deadline` a newer state may replace `state`.
    Closing {
        /// Who asked.
        by: Party,
        /// The state registered (`None`: the empty state 0).
        state: Option<Box<Signed<ChannelState>>>,
        /// When the window ends.
        deadline: Timestamp,
    },
    /// Two different states with one counter were shown: nothing is paid until the dispute is resolved.
    Disputed(Box<Equivocation>),
    /// Closed and paid.
    Closed(Settlement),
}

/// Proof that one counter was signed twice with different content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Equivocation {
    /// The channel.
    pub channel: ChannelId,
    /// The state registered first.
    pub first: Signed<ChannelState>,
    /// The other state with the same counter.
    pub second: Signed<ChannelState>,
    /// When the second was shown.
    pub at: Timestamp,
}

/// How a channel was paid out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    /// The channel.
    pub channel: ChannelId,
    /// The counter of the state settled.
    pub counter: u64,
    /// Who owed, net (None when nobody did).
    pub payer: Option<AvatarId>,
    /// Who was owed.
    pub payee: Option<AvatarId>,
    /// What was moved between their wallets.
    pub paid: Money,
    /// What the payer's wallet could not cover: still owed, outside the channel.
    pub shortfall: Money,
    /// When.
    pub at: Timestamp,
    /// Whether both sides agreed (a cooperative close).
    pub cooperative: bool,
}

/// What a challenge did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChallengeOutcome {
    /// The newer state replaced the registered one.
    Replaced,
    /// It is the state already registered.
    Unchanged,
    /// It has the registered counter but other content: a dispute is recorded.
    Disputed,
}

#[derive(Debug, Clone)]
struct Record {
    open: Signed<ChannelOpen>,
    status: ChannelStatus,
}

/// The platform's view of every channel: opening, closing, challenges, disputes and payouts.
#[derive(Debug, Clone)]
pub struct Adjudicator {
    deployment: DeploymentId,
    channels: BTreeMap<ChannelId, Record>,
}

impl Adjudicator {
    /// No channels.
    pub fn new(deployment: DeploymentId) -> Adjudicator {
        Adjudicator {
            deployment,
            channels: BTreeMap::new(),
        }
    }

    /// Records a channel both sides opened; a second channel with the same id is refused.
    pub fn open(
        &mut self,
        open: Signed<ChannelOpen>,
        registry: &Registry,
        now: Timestamp,
    ) -> Result<()> {
        let id = open.body().channel;
        if self.channels.contains_key(&id) {
            return Err(Error::Duplicate {
                what: "channel",
                id: id.to_string(),
            });
        }
        open.verify(registry, &self.deployment, now)?;
        self.channels.insert(
            id,
            Record {
                open,
                status: ChannelStatus::Open,
            },
        );
        Ok(())
    }

    /// Where a channel stands.
    pub fn status(&self, channel: &ChannelId) -> Option<&ChannelStatus> {
        self.channels.get(channel).map(|r| &r.status)
    }

    /// Closes a channel both sides agree to close: the net is paid at once.
    pub fn close_cooperatively(
        &mut self,
        close: &Signed<ChannelClose>,
        registry: &Registry,
        wallets: &mut Wallets,
        now: Timestamp,
    ) -> Result<Settlement> {
        let c = close.body();
        let record = self.open_record(&c.channel)?;
        let open = record.open.body();
        let sides = [open.party_of(&c.closer), open.party_of(&c.other)];
        if !matches!(sides, [Some(x), Some(y)] if x != y) {
            return Err(Error::channel(c.channel, "a close is signed by both sides"));
        }
        close.verify(registry, &self.deployment, now)?;
        let settlement = pay(open, c.counter, c.net_owed_by_a, wallets, now, true)?;
        self.set(c.channel, ChannelStatus::Closed(settlement.clone()));
        Ok(settlement)
    }

    /// One side asks to close at `state` (the latest it holds with both signatures; `None` for the empty
    /// state 0). The other side has the channel's challenge period to show a newer one.
    pub fn close_unilaterally(
        &mut self,
        by: &AvatarId,
        state: Option<Signed<ChannelState>>,
        registry: &Registry,
        now: Timestamp,
    ) -> Result<Timestamp> {
        let record = self.open_record(&self.channel_of(by, state.as_ref())?)?;
        let open = record.open.body();
        let channel = open.channel;
        let party = open
            .party_of(by)
            .ok_or_else(|| Error::channel(channel, format!("{by} is not a side")))?;
        if let Some(state) = &state {
            check_state(open, state, registry, &self.deployment, now)?;
        }
        let deadline = now.checked_add(open.challenge_period)?;
        self.set(
            channel,
            ChannelStatus::Closing {
                by: party,
                state: state.map(Box::new),
                deadline,
            },
        );
        Ok(deadline)
    }

    /// Shows a state during a closing channel's challenge window: a higher counter replaces the registered
    /// state; the same counter with other content is recorded as a dispute; a lower counter is refused as
    /// stale.
    pub fn challenge(
        &mut self,
        state: Signed<ChannelState>,
        registry: &Registry,
        now: Timestamp,
    ) -> Result<ChallengeOutcome> {
        let channel = state.body().channel;
        let record = self
            .channels
            .get(&channel)
            .ok_or_else(|| Error::channel(channel, "not open here"))?;
        let open = record.open.body();
        let ChannelStatus::Closing {
            by,
            state: registered,
            deadline,
        } = &record.status
        else {
            return Err(Error::channel(channel, "not closing"));
        };
        if now >= *deadline {
            return Err(Error::channel(channel, "the challenge window has ended"));
        }
        check_state(open, &state, registry, &self.deployment, now)?;
        let registered_counter = registered.as_ref().map_or(0, |s| s.body().counter);
        let shown = state.body().counter;
        let (by, deadline) = (*by, *deadline);
        if shown < registered_counter {
            return Err(Error::channel(
                channel,
                format!("state {shown} is older than the registered state {registered_counter}"),
            ));
        }
        if shown == registered_counter {
            return match registered {
                Some(first) if first.body() != state.body() => {
                    let dispute = Equivocation {
                        channel,
                        first: (**first).clone(),
                        second: state,
                        at: now,
                    };
                    self.set(channel, ChannelStatus::Disputed(Box::new(dispute)));
                    Ok(ChallengeOutcome::Disputed)
                }
                _ => Ok(ChallengeOutcome::Unchanged),
            };
        }
        self.set(
            channel,
            ChannelStatus::Closing {
                by,
                state: Some(Box::new(state)),
                deadline,
            },
        );
        Ok(ChallengeOutcome::Replaced)
    }

    /// When the next challenge window ends.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.channels
            .values()
            .filter_map(|r| match &r.status {
                ChannelStatus::Closing { deadline, .. } => Some(*deadline),
                _ => None,
            })
            .min()
    }

    /// Pays out every channel whose challenge window has ended by `now`.
    pub fn handle_timeout(
        &mut self,
        wallets: &mut Wallets,
        now: Timestamp,
    ) -> Result<Vec<Settlement>> {
        let due: Vec<ChannelId> = self
            .channels
            .iter()
            .filter(|(_, r)| matches!(&r.status, ChannelStatus::Closing { deadline, .. } if *deadline <= now))
            .map(|(id, _)| *id)
            .collect();
        let mut settlements = Vec::new();
        for id in due {
            let Some(record) = self.channels.get(&id) else {
                continue;
            };
            let ChannelStatus::Closing { state, .. } = &record.status else {
                continue;
            };
            let (counter, net) = match state {
                Some(s) => (s.body().counter, s.body().net_owed_by_a()?),
                None => (0, 0),
            };
            let settlement = pay(record.open.body(), counter, net, wallets, now, false)?;
            self.set(id, ChannelStatus::Closed(settlement.clone()));
            settlements.push(settlement);
        }
        Ok(settlements)
    }

    fn channel_of(&self, by: &AvatarId, state: Option<&Signed<ChannelState>>) -> Result<ChannelId> {
        if let Some(state) = state {
            return Ok(state.body().channel);
        }
        let mut open = self.channels.iter().filter(|(_, r)| {
            r.status == ChannelStatus::Open && r.open.body().party_of(by).is_some()
        });
        match (open.next(), open.next()) {
            (Some((id, _)), None) => Ok(*id),
            _ => Err(Error::invalid(
                "state",
                "without a state, the avatar must have exactly one open channel",
            )),
        }
    }

    fn open_record(&self, channel: &ChannelId) -> Result<&Record> {
        let record = self
            .channels
            .get(channel)
            .ok_or_else(|| Error::channel(*channel, "not open here"))?;
        if record.status != ChannelStatus::Open {
            return Err(Error::channel(
                *channel,
                "already closing, disputed or closed",
            ));
        }
        Ok(record)
    }

    fn set(&mut self, channel: ChannelId, status: ChannelStatus) {
        if let Some(record) = self.channels.get_mut(&channel) {
            record.status = status;
        }
    }
}

/// A state brought to a close must belong to the channel and carry both sides' signatures, each under a
/// key that was not revoked by `now` (a key rotated out since still counts for what it signed).
fn check_state(
    open: &ChannelOpen,
    state: &Signed<ChannelState>,
    registry: &Registry,
    deployment: &DeploymentId,
    now: Timestamp,
) -> Result<()> {
    let s = state.body();
    let sides_ok = s.channel == open.channel
        && s.proposer_avatar == open.avatar(s.proposer)
        && s.acceptor_avatar == open.avatar(s.proposer.other());
    if !sides_ok {
        return Err(Error::channel(
            open.channel,
            "the state is not of this channel's sides",
        ));
    }
    state.verify(&Archive(registry), deployment, now)
}

/// Moves the net owed between the two wallets, as far as the payer's balance goes.
fn pay(
    open: &ChannelOpen,
    counter: u64,
    net_owed_by_a: i64,
    wallets: &mut Wallets,
    now: Timestamp,
    cooperative: bool,
) -> Result<Settlement> {
    let currency = open.currency;
    let (payer, payee, owed) = match net_owed_by_a {
        n if n > 0 => (Some(open.a), Some(open.b), n),
        n if n < 0 => (
            Some(open.b),
            Some(open.a),
            n.checked_neg().ok_or(Error::Overflow("channel net"))?,
        ),
        _ => (None, None, 0),
    };
    let mut paid = 0;
    if let (Some(payer), Some(payee)) = (payer, payee) {
        let available = wallets.balance(&payer, currency).minor_units.max(0);
        paid = owed.min(available);
        if paid > 0 {
            wallets.transfer(payer, payee, Money::new(paid, currency))?;
        }
    }
    Ok(Settlement {
        channel: open.channel,
        counter,
        payer,
        payee,
        paid: Money::new(paid, currency),
        shortfall: Money::new(owed.saturating_sub(paid), currency),
        at: now,
        cooperative,
    })
}
