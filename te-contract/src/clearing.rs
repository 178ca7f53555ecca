//! Clearing a pool of transactions every settlement period (TE-08): all channel debts outstanding and all
//! wallet transfers due are netted multilaterally per currency, so each avatar pays or receives only its net
//! position, and every channel records its outstanding debt as paid.
//!
//! An avatar whose wallet cannot cover its net position is left out of the run, with every obligation that
//! involves it (they wait for the next period), and the rest is netted again; so a run either settles an
//! obligation completely or not at all. Periods are aligned to UTC (15 minutes: :00, :15, :30, :45) and
//! driven by [`Pool::poll_timeout`] / [`Pool::handle_timeout`].

use crate::channel::{ChannelState, Party, Payment};
use crate::error::{Error, Result};
use crate::id::{AvatarId, ChannelId, DebtId};
use crate::wallet::Wallets;
use idea_proto::{Currency, Duration, Money, Timestamp};
use std::collections::{BTreeMap, BTreeSet};

/// The default clearing period.
pub const DEFAULT_PERIOD: Duration = Duration::from_mins(15);

/// Where an obligation comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    /// The outstanding net debt of a channel (from its latest state both signed).
    Channel(ChannelId),
    /// A wallet transfer due (a settled interval, a fee), by its id.
    Transfer(DebtId),
}

/// One avatar owing another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Obligation {
    /// Its origin (each source is in a pool at most once).
    pub source: Source,
    /// Who owes.
    pub from: AvatarId,
    /// Who is owed.
    pub to: AvatarId,
    /// How much (> 0).
    pub amount: Money,
}

impl Obligation {
    /// The obligation of a channel's latest state: its net outstanding debt, if any, from debtor to
    /// creditor.
    pub fn of_channel(
        state: &ChannelState,
        a: AvatarId,
        b: AvatarId,
        currency: Currency,
    ) -> Result<Option<Obligation>> {
        let net = state.net_owed_by_a()?;
        let (from, to, amount) = match net {
            0 => return Ok(None),
            n if n > 0 => (a, b, n),
            n => (b, a, n.checked_neg().ok_or(Error::Overflow("channel net"))?),
        };
        Ok(Some(Obligation {
            source: Source::Channel(state.channel),
            from,
            to,
            amount: Money::new(amount, currency),
        }))
    }
}

/// What one run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClearingReport {
    /// The run's id (derived from the period end).
    pub id: DebtId,
    /// The period it closed.
    pub period_end: Timestamp,
    /// The obligations settled.
    pub settled: Vec<Obligation>,
    /// The obligations carried to the next period (their avatars could not cover their net positions).
    pub carried: Vec<Obligation>,
    /// Each avatar's net position per currency (positive: it received).
    pub positions: BTreeMap<(AvatarId, Currency), i64>,
    /// The wallet transfers made: from net payers to net receivers.
    pub transfers: Vec<(AvatarId, AvatarId, Money)>,
    /// The sum of the obligations settled per currency, and the money that actually moved.
    pub gross_and_net: BTreeMap<Currency, (i64, i64)>,
    /// The avatars left out for lack of funds.
    pub left_out: BTreeSet<AvatarId>,
}

impl ClearingReport {
    /// The payment each settled channel records (its debtor paid the outstanding amount), with the run's id.
    pub fn channel_payment(&self, channel: &ChannelId, a: AvatarId) -> Option<Payment> {
        self.settled.iter().find_map(|o| match o.source {
            Source::Channel(c) if c == *channel => Some(Payment {
                id: self.id,
                payer: if o.from == a { Party::A } else { Party::B },
                amount: o.amount.minor_units,
            }),
            _ => None,
        })
    }
}

/// The obligations waiting for the next clearing.
#[derive(Debug, Clone)]
pub struct Pool {
    period: Duration,
    next: Timestamp,
    obligations: BTreeMap<Source, Obligation>,
}

impl Pool {
    /// A pool cleared every `period` (dividing a day), the first run at the period end after `now`.
    pub fn new(period: Duration, now: Timestamp) -> Result<Pool> {
        if period.as_ms() == 0 || !86_400_000u64.is_multiple_of(period.as_ms()) {
            return Err(Error::invalid("period", "does not divide a day"));
        }
        let next = now.floor_to(period).checked_add(period)?;
        Ok(Pool {
            period,
            next,
            obligations: BTreeMap::new(),
        })
    }

    /// Adds an obligation; a source already in the pool is replaced (a channel's newer state).
    pub fn add(&mut self, obligation: Obligation) -> Result<()> {
        if obligation.amount.minor_units <= 0 || obligation.from == obligation.to {
            return Err(Error::invalid(
                "obligation",
                "a positive amount between two avatars",
            ));
        }
        self.obligations.insert(obligation.source, obligation);
        Ok(())
    }

    /// How many obligations wait.
    pub fn len(&self) -> usize {
        self.obligations.len()
    }

    /// Whether none does.
    pub fn is_empty(&self) -> bool {
        self.obligations.is_empty()
    }

    /// When the next run is due.
    pub fn poll_timeout(&self) -> Timestamp {
        self.next
    }

    /// Runs the clearing due by `now`, if any: nets, moves money, and keeps what could not settle.
    pub fn handle_timeout(
        &mut self,
        wallets: &mut Wallets,
        now: Timestamp,
    ) -> Result<Option<ClearingReport>> {
        if now < self.next {
            return Ok(None);
        }
        let period_end = self.next;
        self.next = now.floor_to(self.period).checked_add(self.period)?;
        let all: Vec<Obligation> = std::mem::take(&mut self.obligations)
            .into_values()
            .collect();
        let report = clear(all, wallets, period_end)?;
        for o in &report.carried {
            self.obligations.insert(o.source, o.clone());
        }
        Ok(Some(report))
    }
}

/// Nets `obligations` multilaterally and moves each avatar's net position between `wallets`.
pub fn clear(
    obligations: Vec<Obligation>,
    wallets: &mut Wallets,
    period_end: Timestamp,
) -> Result<ClearingReport> {
    let mut left_out = BTreeSet::new();
    let (settled, carried, positions) = loop {
        let (settled, carried): (Vec<Obligation>, Vec<Obligation>) = obligations
            .iter()
            .cloned()
            .partition(|o| !left_out.contains(&o.from) && !left_out.contains(&o.to));
        let positions = net_positions(&settled)?;
        let short: Vec<AvatarId> = positions
            .iter()
            .filter(|((avatar, currency), net)| {
                **net < 0 && wallets.balance(avatar, *currency).minor_units < net.saturating_neg()
            })
            .map(|((avatar, _), _)| *avatar)
            .collect();
        if short.is_empty() {
            break (settled, carried, positions);
        }
        left_out.extend(short);
    };
    let mut transfers = Vec::new();
    let mut gross_and_net: BTreeMap<Currency, (i64, i64)> = BTreeMap::new();
    for o in &settled {
        let entry = gross_and_net.entry(o.amount.currency).or_insert((0, 0));
        entry.0 = entry
            .0
            .checked_add(o.amount.minor_units)
            .ok_or(Error::Overflow("gross"))?;
    }
    let currencies: BTreeSet<Currency> = positions.keys().map(|(_, c)| *c).collect();
    for currency in currencies {
        let mut payers: Vec<(AvatarId, i64)> = Vec::new();
        let mut receivers: Vec<(AvatarId, i64)> = Vec::new();
        for ((avatar, c), net) in &positions {
            if *c != currency {
                continue;
            }
            if *net < 0 {
                payers.push((*avatar, net.saturating_neg()));
            } else if *net > 0 {
                receivers.push((*avatar, *net));
            }
        }
        // Greedy pairing of payers with receivers: at most (payers + receivers − 1) transfers.
        let (mut i, mut j) = (0, 0);
        while let (Some(&(payer, owe)), Some(&(receiver, due))) = (payers.get(i), receivers.get(j))
        {
            let amount = owe.min(due);
            wallets.transfer(payer, receiver, Money::new(amount, currency))?;
            transfers.push((payer, receiver, Money::new(amount, currency)));
            if let Some(entry) = gross_and_net.get_mut(&currency) {
                entry.1 = entry.1.checked_add(amount).ok_or(Error::Overflow("net"))?;
            }
            if let Some(p) = payers.get_mut(i) {
                p.1 = p.1.saturating_sub(amount);
            }
            if let Some(r) = receivers.get_mut(j) {
                r.1 = r.1.saturating_sub(amount);
            }
            i = i.saturating_add(usize::from(payers.get(i).is_some_and(|p| p.1 == 0)));
            j = j.saturating_add(usize::from(receivers.get(j).is_some_and(|r| r.1 == 0)));
        }
    }
    Ok(ClearingReport {
        id: DebtId::derive(&[b"clearing", &period_end.unix_ms().to_be_bytes()]),
        period_end,
        settled,
        carried,
        positions,
        transfers,
        gross_and_net,
        left_out,
    })
}

/// Each avatar's net position per currency: received minus owed.
fn net_positions(obligations: &[Obligation]) -> Result<BTreeMap<(AvatarId, Currency), i64>> {
    let mut positions: BTreeMap<(AvatarId, Currency), i64> = BTreeMap::new();
    for o in obligations {
        let c = o.amount.currency;
        let from = positions.entry((o.from, c)).or_insert(0);
        *from = from
            .checked_sub(o.amount.minor_units)
            .ok_or(Error::Overflow("position"))?;
        let to = positions.entry((o.to, c)).or_insert(0);
        *to = to
            .checked_add(o.amount.minor_units)
            .ok_or(Error::Overflow("position"))?;
    }
    positions.retain(|_, v| *v != 0);
    Ok(positions)
}
