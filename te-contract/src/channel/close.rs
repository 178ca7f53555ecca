//! Closing channels: cooperatively at once, or by one side (on its signed request) with a challenge window
//! in which a newer state replaces the one registered. Equivocation — two different states with one counter,
//! both fully signed — is resolved on the spot by a deterministic rule against the side whose signature broke
//! the channel protocol, so no side can freeze a channel or gain by it. Driven by explicit time:
//! [`Adjudicator::poll_timeout`] and [`Adjudicator::handle_timeout`]; each channel's payout stands alone.

use super::objects::{ChannelClose, ChannelOpen, ChannelState, CloseRequest, Party};
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
        /// The equivocation shown during the window, if any, and how it was resolved.
        equivocation: Option<Box<Equivocation>>,
    },
    /// Closed and paid.
    Closed(Settlement),
    /// The window ended but the payout could not be made (a wallet would overflow): nothing moved for this
    /// channel; every other channel is paid as usual.
    PayoutFailed {
        /// The state that was to be paid.
        state: Option<Box<Signed<ChannelState>>>,
        /// Why.
        error: Error,
    },
}

/// Proof that one counter was signed twice with different content, and its resolution.
///
/// The protocol of [`super::Channel`] never lets an honest side sign two states with one counter that both
/// end up fully signed, so the pair names who broke it: when one side proposed both, the other side
/// countersigned twice; when each side proposed one, side A countersigned B's proposal for a counter it had
/// proposed at (B may do that: A's proposal takes precedence). The state paid is the one worse for that
/// side — it can never gain by equivocating — and it is named in the settlement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Equivocation {
    /// The channel.
    pub channel: ChannelId,
    /// The state registered first.
    pub first: Signed<ChannelState>,
    /// The other state with the same counter.
    pub second: Signed<ChannelState>,
    /// The side whose signatures broke the protocol.
    pub culprit: AvatarId,
    /// The state kept (one of the two): the one less favourable to the culprit.
    pub kept: Signed<ChannelState>,
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
    /// The side that equivocated, when an equivocation was resolved during the window.
    pub equivocator: Option<AvatarId>,
}

/// What [`Adjudicator::handle_timeout`] did: each channel due is either paid or failed on its own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Payouts {
    /// The channels paid.
    pub settled: Vec<Settlement>,
    /// The channels whose payout failed (now [`ChannelStatus::PayoutFailed`]).
    pub failed: Vec<PayoutFailure>,
}

/// A channel whose payout failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutFailure {
    /// The channel.
    pub channel: ChannelId,
    /// Why.
    pub error: Error,
}

/// What a challenge did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChallengeOutcome {
    /// The newer state replaced the registered one.
    Replaced,
    /// It is the state already registered.
    Unchanged,
    /// It has the registered counter but other content: the equivocation is recorded and resolved at once
    /// (see [`Equivocation`]); the window goes on.
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
        let settlement = pay(open, c.counter, c.net_owed_by_a, wallets, now, true, None)?;
        self.set(c.channel, ChannelStatus::Closed(settlement.clone()));
        Ok(settlement)
    }

    /// One side asks to close at `state` (the latest it holds with both signatures; `None` for the empty
    /// state 0). The request must be signed by that side, name the state's counter, and be recent (within
    /// the challenge period before `now`). The other side has the channel's challenge period to show a newer
    /// state. A state whose totals do not add up (a payment above a debt, a net beyond 64 bits) is refused.
    pub fn close_unilaterally(
        &mut self,
        request: &Signed<CloseRequest>,
        state: Option<Signed<ChannelState>>,
        registry: &Registry,
        now: Timestamp,
    ) -> Result<Timestamp> {
        let r = request.body();
        let record = self.open_record(&r.channel)?;
        let open = record.open.body();
        let channel = open.channel;
        let party = open
            .party_of(&r.by)
            .ok_or_else(|| Error::channel(channel, format!("{} is not a side", r.by)))?;
        request.verify(registry, &self.deployment, now)?;
        let brought = state.as_ref().map_or(0, |s| s.body().counter);
        if r.counter != brought || state.as_ref().is_some_and(|s| s.body().channel != channel) {
            return Err(Error::channel(
                channel,
                format!(
                    "the request names state {}, not the state brought ({brought})",
                    r.counter
                ),
            ));
        }
        let stale = r.at > now || r.at.checked_add(open.challenge_period)? < now;
        if stale {
            return Err(Error::channel(channel, "the close request is not recent"));
        }
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
                equivocation: None,
            },
        );
        Ok(deadline)
    }

    /// Shows a state during a closing channel's challenge window: a higher counter replaces the registered
    /// state; the same counter with other content is an equivocation, resolved at once against the side that
    /// caused it (see [`Equivocation`]) while the window goes on; a lower counter is refused as stale.
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
            equivocation,
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
            let Some(first) = registered.as_ref().filter(|f| f.body() != state.body()) else {
                return Ok(ChallengeOutcome::Unchanged);
            };
            let culprit = equivocator(first.body(), state.body());
            let kept = if state.body().owed_to(culprit)? < first.body().owed_to(culprit)? {
                state.clone()
            } else {
                (**first).clone()
            };
            let resolved = Equivocation {
                channel,
                first: (**first).clone(),
                second: state,
                culprit: open.avatar(culprit),
                kept: kept.clone(),
                at: now,
            };
            self.set(
                channel,
                ChannelStatus::Closing {
                    by,
                    state: Some(Box::new(kept)),
                    deadline,
                    equivocation: Some(Box::new(resolved)),
                },
            );
            return Ok(ChallengeOutcome::Disputed);
        }
        let equivocation = equivocation.clone();
        self.set(
            channel,
            ChannelStatus::Closing {
                by,
                state: Some(Box::new(state)),
                deadline,
                equivocation,
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

    /// Pays out every channel whose challenge window has ended by `now`. Each channel stands alone: one
    /// whose payout fails is marked [`ChannelStatus::PayoutFailed`] with nothing moved, and the others are
    /// paid. The payouts come back from this call, the one that moved the money (not through a `poll_*`
    /// queue where they could sit unread).
    pub fn handle_timeout(&mut self, wallets: &mut Wallets, now: Timestamp) -> Payouts {
        let due: Vec<ChannelId> = self
            .channels
            .iter()
            .filter(|(_, r)| matches!(&r.status, ChannelStatus::Closing { deadline, .. } if *deadline <= now))
            .map(|(id, _)| *id)
            .collect();
        let mut payouts = Payouts::default();
        for id in due {
            let Some(record) = self.channels.get(&id) else {
                continue;
            };
            let ChannelStatus::Closing {
                state,
                equivocation,
                ..
            } = &record.status
            else {
                continue;
            };
            let equivocator = equivocation.as_ref().map(|e| e.culprit);
            let paid = state
                .as_ref()
                .map_or(Ok((0, 0)), |s| {
                    Ok((s.body().counter, s.body().net_owed_by_a()?))
                })
                .and_then(|(counter, net)| {
                    pay(
                        record.open.body(),
                        counter,
                        net,
                        wallets,
                        now,
                        false,
                        equivocator,
                    )
                });
            match paid {
                Ok(settlement) => {
                    self.set(id, ChannelStatus::Closed(settlement.clone()));
                    payouts.settled.push(settlement);
                }
                Err(error) => {
                    let state = state.clone();
                    self.set(
                        id,
                        ChannelStatus::PayoutFailed {
                            state,
                            error: error.clone(),
                        },
                    );
                    payouts.failed.push(PayoutFailure { channel: id, error });
                }
            }
        }
        payouts
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
    if s.paid_by_a > s.owed_by_a || s.paid_by_b > s.owed_by_b {
        return Err(Error::channel(
            open.channel,
            format!("state {}: a side paid more than it owed", s.counter),
        ));
    }
    s.net_owed_by_a()?;
    state.verify(&Archive(registry), deployment, now)
}

/// Who broke the channel protocol by letting `x` and `y` (one counter, different content) both be fully
/// signed: the acceptor when one side proposed both (it countersigned twice), else side A (it countersigned
/// B's proposal for a counter it proposed at; B may do so, since A's proposal takes precedence).
fn equivocator(x: &ChannelState, y: &ChannelState) -> Party {
    if x.proposer == y.proposer {
        x.proposer.other()
    } else {
        Party::A
    }
}

/// Moves the net owed between the two wallets, as far as the payer's balance goes.
fn pay(
    open: &ChannelOpen,
    counter: u64,
    net_owed_by_a: i64,
    wallets: &mut Wallets,
    now: Timestamp,
    cooperative: bool,
    equivocator: Option<AvatarId>,
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
        equivocator,
    })
}
