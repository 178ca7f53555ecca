//! Clearing a pool of transactions every settlement period (TE-08): all channel debts outstanding and all
//! wallet transfers due are netted multilaterally per currency, so each avatar pays or receives only its net
//! position, and every channel records its outstanding debt as paid.
//!
//! Each currency clears on its own, all or nothing. An avatar whose wallet cannot cover its net position in a
//! currency (or whose wallet could not hold what it receives) is left out of that currency's run, with every
//! obligation that involves it there (they wait for the next period), and the rest is netted again; so a run
//! either settles an obligation completely or not at all. An obligation that would take an avatar's net
//! position beyond 64 bits is set aside with the reason and leaves the pool: one party's bad record never
//! blocks another's. Should a transfer still fail, the currency's transfers made so far are undone and its
//! obligations carried. Positions and sums are computed in 128 bits. Periods are aligned to UTC (15 minutes:
//! :00, :15, :30, :45) and driven by [`Pool::poll_timeout`] / [`Pool::handle_timeout`].

mod record;

pub use record::{ClearingRecordKind, MAX_RECORD_ITEMS, MAX_SET_ASIDE_REASON, clearing_id};

use crate::channel::{ChannelState, Party, Payment};
use crate::error::{Error, Result};
use crate::id::{AvatarId, ChannelId, DebtId};
use crate::wallet::Wallets;
use idea_proto::{Currency, Duration, Money, Timestamp};
use std::collections::{BTreeMap, BTreeSet};

/// The default clearing period.
pub const DEFAULT_PERIOD: Duration = Duration::from_mins(15);

/// The most obligations a pool holds (beyond, new ones are refused until a run settles some).
pub const MAX_POOL_OBLIGATIONS: usize = 1 << 20;

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
    /// The obligations carried to the next period (their avatars could not cover, or hold, their net
    /// positions in that currency).
    pub carried: Vec<Obligation>,
    /// The obligations set aside for good (they leave the pool), each with the reason.
    pub set_aside: Vec<SetAside>,
    /// Each avatar's net position per currency (positive: it received).
    pub positions: BTreeMap<(AvatarId, Currency), i64>,
    /// The wallet transfers made: from net payers to net receivers.
    pub transfers: Vec<(AvatarId, AvatarId, Money)>,
    /// The sum of the obligations settled per currency, and the money that actually moved.
    pub gross_and_net: BTreeMap<Currency, (i128, i128)>,
    /// The avatars left out of a currency's run: short of funds, or unable to hold what they would receive.
    pub left_out: BTreeSet<(AvatarId, Currency)>,
}

/// An obligation a run refused to clear, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetAside {
    /// The obligation.
    pub obligation: Obligation,
    /// Why it cannot clear.
    pub reason: String,
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

    /// Adds an obligation; a source already in the pool is replaced (a channel's newer state). Refused when
    /// it is not a positive amount between two avatars, or the pool holds [`MAX_POOL_OBLIGATIONS`].
    pub fn add(&mut self, obligation: Obligation) -> Result<()> {
        if obligation.amount.minor_units <= 0 || obligation.from == obligation.to {
            return Err(Error::invalid(
                "obligation",
                "a positive amount between two avatars",
            ));
        }
        if self.obligations.len() >= MAX_POOL_OBLIGATIONS
            && !self.obligations.contains_key(&obligation.source)
        {
            return Err(Error::invalid(
                "pool",
                format!("{MAX_POOL_OBLIGATIONS} obligations wait for clearing already"),
            ));
        }
        self.obligations.insert(obligation.source, obligation);
        Ok(())
    }

    /// Takes an obligation out of the pool (a node rebuilt from its ledger removes what a recorded run
    /// settled).
    pub fn remove(&mut self, source: &Source) -> Option<Obligation> {
        self.obligations.remove(source)
    }

    /// Takes up after a run that closed the period ending at `period_end` (a node rebuilt from its ledger
    /// replays its runs): the next run is at the end of the period after it, if that is later than the one
    /// already due, so no period is cleared twice.
    pub fn resume_after(&mut self, period_end: Timestamp) -> Result<()> {
        let next = period_end.floor_to(self.period).checked_add(self.period)?;
        self.next = self.next.max(next);
        Ok(())
    }

    /// When the next run is due.
    pub fn next_run(&self) -> Timestamp {
        self.next
    }

    /// The period it clears every.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// The obligations waiting, by source.
    pub fn obligations(&self) -> impl Iterator<Item = &Obligation> {
        self.obligations.values()
    }

    /// How many obligations wait.
    pub fn len(&self) -> usize {
        self.obligations.len()
    }

    /// Whether none does.
    pub fn is_empty(&self) -> bool {
        self.obligations.is_empty()
    }

    /// When the next run is due (always: clearing runs every period).
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        Some(self.next)
    }

    /// Runs the clearing due by `now`, if any: nets, moves money, and keeps what could not settle. Unlike the
    /// protocol state machines, which queue their output for `poll_*`, it returns its report from the call
    /// that moved the money, so no settlement result can sit unread in a queue. The
    /// obligations stay in the pool until the run is done: settled and set-aside ones leave it, carried ones
    /// wait for the next period.
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
        let all: Vec<Obligation> = self.obligations.values().cloned().collect();
        let report = clear(all, wallets, period_end);
        let done = report
            .settled
            .iter()
            .chain(report.set_aside.iter().map(|s| &s.obligation));
        for o in done {
            self.obligations.remove(&o.source);
        }
        Ok(Some(report))
    }
}

/// Nets `obligations` multilaterally, per currency, and moves each avatar's net position between `wallets`
/// (see the module documentation for what is left out, set aside or carried).
pub fn clear(
    obligations: Vec<Obligation>,
    wallets: &mut Wallets,
    period_end: Timestamp,
) -> ClearingReport {
    let mut report = ClearingReport {
        id: clearing_id(period_end),
        period_end,
        settled: Vec::new(),
        carried: Vec::new(),
        set_aside: Vec::new(),
        positions: BTreeMap::new(),
        transfers: Vec::new(),
        gross_and_net: BTreeMap::new(),
        left_out: BTreeSet::new(),
    };
    let mut by_currency: BTreeMap<Currency, Vec<Obligation>> = BTreeMap::new();
    for o in obligations {
        by_currency.entry(o.amount.currency).or_default().push(o);
    }
    for (currency, obligations) in by_currency {
        clear_currency(currency, obligations, wallets, &mut report);
    }
    report
}

/// The obligations whose positions stay within 64 bits, taken in order; the others set aside in `report`.
fn within_64_bits(
    currency: Currency,
    obligations: Vec<Obligation>,
    report: &mut ClearingReport,
) -> Vec<Obligation> {
    let mut running: BTreeMap<AvatarId, i128> = BTreeMap::new();
    let mut admitted = Vec::with_capacity(obligations.len());
    for o in obligations {
        let amount = i128::from(o.amount.minor_units);
        let from = running
            .get(&o.from)
            .copied()
            .unwrap_or(0)
            .saturating_sub(amount);
        let to = running
            .get(&o.to)
            .copied()
            .unwrap_or(0)
            .saturating_add(amount);
        let beyond = [(o.from, from), (o.to, to)]
            .into_iter()
            .find(|(_, p)| i64::try_from(*p).is_err());
        if let Some((avatar, _)) = beyond {
            report.set_aside.push(SetAside {
                reason: format!("the net position of {avatar} in {currency} would pass 64 bits"),
                obligation: o,
            });
            continue;
        }
        running.insert(o.from, from);
        running.insert(o.to, to);
        admitted.push(o);
    }
    admitted
}

/// One currency's run, all or nothing, into `report`.
fn clear_currency(
    currency: Currency,
    obligations: Vec<Obligation>,
    wallets: &mut Wallets,
    report: &mut ClearingReport,
) {
    let admitted = within_64_bits(currency, obligations, report);
    // Leave out who cannot pay or cannot hold what it receives, and net the rest again.
    let mut left_out: BTreeSet<AvatarId> = BTreeSet::new();
    let (settled, carried, positions) = loop {
        let (settled, carried): (Vec<Obligation>, Vec<Obligation>) = admitted
            .iter()
            .cloned()
            .partition(|o| !left_out.contains(&o.from) && !left_out.contains(&o.to));
        let positions = net_positions(&settled);
        let cannot: Vec<AvatarId> = positions
            .iter()
            .filter(|(avatar, net)| {
                let balance = i128::from(wallets.balance(avatar, currency).minor_units);
                let after = balance.saturating_add(**net);
                after < 0 || i64::try_from(after).is_err()
            })
            .map(|(avatar, _)| *avatar)
            .collect();
        if cannot.is_empty() {
            break (settled, carried, positions);
        }
        left_out.extend(cannot);
    };
    report
        .left_out
        .extend(left_out.iter().map(|a| (*a, currency)));
    let Some(transfers) = transfer_positions(currency, &positions, wallets) else {
        report.carried.extend(settled);
        report.carried.extend(carried);
        return;
    };
    let gross = settled
        .iter()
        .map(|o| i128::from(o.amount.minor_units))
        .fold(0i128, i128::saturating_add);
    let net = transfers
        .iter()
        .map(|(_, _, m)| i128::from(m.minor_units))
        .fold(0i128, i128::saturating_add);
    if !settled.is_empty() {
        report.gross_and_net.insert(currency, (gross, net));
    }
    report.positions.extend(
        positions
            .into_iter()
            .filter_map(|(avatar, p)| Some(((avatar, currency), i64::try_from(p).ok()?))),
    );
    report.settled.extend(settled);
    report.carried.extend(carried);
    report.transfers.extend(transfers);
}

/// Moves every position: greedy pairing of payers with receivers, at most (payers + receivers − 1)
/// transfers, each at most one position (which fits 64 bits). All or nothing: if a transfer fails, those
/// made are undone (each reverse restores two balances that held these values) and `None` is returned.
fn transfer_positions(
    currency: Currency,
    positions: &BTreeMap<AvatarId, i128>,
    wallets: &mut Wallets,
) -> Option<Vec<(AvatarId, AvatarId, Money)>> {
    let mut payers: Vec<(AvatarId, i128)> = Vec::new();
    let mut receivers: Vec<(AvatarId, i128)> = Vec::new();
    for (avatar, net) in positions {
        if *net < 0 {
            payers.push((*avatar, net.saturating_neg()));
        } else if *net > 0 {
            receivers.push((*avatar, *net));
        }
    }
    let mut transfers: Vec<(AvatarId, AvatarId, Money)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while let (Some(&(payer, owe)), Some(&(receiver, due))) = (payers.get(i), receivers.get(j)) {
        let amount = owe.min(due);
        let moved = i64::try_from(amount)
            .ok()
            .map(|minor| Money::new(minor, currency))
            .filter(|money| wallets.transfer(payer, receiver, *money).is_ok());
        let Some(money) = moved else {
            for (payer, receiver, money) in transfers.iter().rev() {
                let _ = wallets.transfer(*receiver, *payer, *money);
            }
            return None;
        };
        transfers.push((payer, receiver, money));
        if let Some(p) = payers.get_mut(i) {
            p.1 = p.1.saturating_sub(amount);
        }
        if let Some(r) = receivers.get_mut(j) {
            r.1 = r.1.saturating_sub(amount);
        }
        i = i.saturating_add(usize::from(payers.get(i).is_some_and(|p| p.1 == 0)));
        j = j.saturating_add(usize::from(receivers.get(j).is_some_and(|r| r.1 == 0)));
    }
    Some(transfers)
}

/// Each avatar's net position in one currency: received minus owed, in 128 bits (no overflow).
fn net_positions(obligations: &[Obligation]) -> BTreeMap<AvatarId, i128> {
    let mut positions: BTreeMap<AvatarId, i128> = BTreeMap::new();
    for o in obligations {
        let amount = i128::from(o.amount.minor_units);
        let from = positions.entry(o.from).or_insert(0);
        *from = from.saturating_sub(amount);
        let to = positions.entry(o.to).or_insert(0);
        *to = to.saturating_add(amount);
    }
    positions.retain(|_, v| *v != 0);
    positions
}
