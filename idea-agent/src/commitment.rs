//! Dispatching (AG-04): the commitment book of one cell — what it has promised, in which service, in every
//! settlement interval — and the check that every new promise keeps the sum within the cell's limits.
//!
//! Each commitment is turned into a *band* of net power at the cell's connection point per interval (export
//! positive), the worst cases it may demand:
//! - energy sold (bought) in an interval: its average power exported (imported), a band of one value;
//! - power sold (bought): the contracted level, active and reactive, exported (imported);
//! - flexibility sold: the cell may be called to export up to the level, a band `0..=level`; bought: to
//!   import up to it, `-level..=0`.
//!
//! A commitment fits when, in every interval it touches, the sum of the bands' upper ends is at most the
//! export limit and the sum of their lower ends at least minus the import limit, for P and for Q; and when
//! the storage can hold it: the energy exported beyond the cell's firm supply (its dispatchable generators
//! and the supply forecast the agent gives, [`CommitmentBook::set_supply_forecast`]) is drawn from storage,
//! cumulatively from the current interval, and must not exceed the stored energy the agent last measured
//! ([`CommitmentBook::set_stored_energy`]); the energy imported beyond what the cell's loads take is put into
//! storage and must fit its free capacity. The side must be allowed by Table 2.
//!
//! Conflicts are resolved by the owner's priorities: a *tentative* commitment (an offer not yet agreed) of a
//! lower-priority service gives way to a higher-priority one when that makes room; a *binding* one (agreed,
//! recorded) never does. The book never holds a set of commitments beyond a limit.

use crate::error::{Error, Result};
use idea_proto::{
    DeliveryWindow, Duration, EnergyTransaction, PowerCell, Profile, ServiceId, Side, Subject,
    Timestamp, TransactionId, UnitKind,
};
use serde::Serialize;
use std::collections::BTreeMap;

/// The most commitments one book holds.
pub const MAX_COMMITMENTS: usize = 4096;
/// The most intervals ahead a supply forecast is kept for.
pub const MAX_FORECAST: usize = 4 * 96;

/// Whether a commitment can still give way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strength {
    /// Offered or proposed, not yet agreed: a higher-priority service may displace it.
    Tentative,
    /// Agreed or recorded: kept until delivered, released or settled.
    Binding,
}

/// The band of net power one commitment may demand in one interval, export positive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Band {
    /// The lowest active power, W.
    pub p_min: i64,
    /// The highest active power, W.
    pub p_max: i64,
    /// The lowest reactive power, var.
    pub q_min: i64,
    /// The highest reactive power, var.
    pub q_max: i64,
}

/// One commitment: a transaction's demand on the cell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Commitment {
    /// The transaction.
    pub transaction: TransactionId,
    /// The service it is formed under.
    pub service: ServiceId,
    /// What is traded.
    pub subject: Subject,
    /// The cell's side.
    pub side: Side,
    /// Tentative or binding.
    pub strength: Strength,
    /// Its owner-priority rank (0 highest).
    pub priority: usize,
    /// When.
    pub window: DeliveryWindow,
    /// The band per interval of the window.
    pub bands: Vec<Band>,
}

impl Commitment {
    /// The commitment `transaction` makes for `cell` (which must be a party), at `priority`.
    pub fn of(
        transaction: &EnergyTransaction,
        cell: &PowerCell,
        priority: usize,
        strength: Strength,
    ) -> Result<Commitment> {
        let side = transaction.side_of(&cell.id).ok_or_else(|| {
            Error::Proto(idea_proto::Error::invalid(
                "parties",
                format!("{} is not a party", cell.id),
            ))
        })?;
        let sign: i64 = match side {
            Side::Seller => 1,
            Side::Buyer => -1,
        };
        let window = transaction.terms.window;
        let period_s = i64::from(window.period_s());
        let bands = match &transaction.terms.profile {
            Profile::Energy(values) => values
                .iter()
                .map(|e| {
                    let w = e
                        .wh()
                        .checked_mul(3600)
                        .and_then(|x| x.checked_div(period_s))
                        .and_then(|w| w.checked_mul(sign))
                        .ok_or(Error::Overflow("energy per interval"))?;
                    Ok(Band {
                        p_min: w,
                        p_max: w,
                        q_min: 0,
                        q_max: 0,
                    })
                })
                .collect::<Result<Vec<_>>>()?,
            Profile::Power(levels) => levels
                .iter()
                .map(|level| {
                    let p = level.active.w().checked_mul(sign);
                    let q = level.reactive.var().checked_mul(sign);
                    let (Some(p), Some(q)) = (p, q) else {
                        return Err(Error::Overflow("power level"));
                    };
                    Ok(if transaction.subject == Subject::Flexibility {
                        Band {
                            p_min: p.min(0),
                            p_max: p.max(0),
                            q_min: q.min(0),
                            q_max: q.max(0),
                        }
                    } else {
                        Band {
                            p_min: p,
                            p_max: p,
                            q_min: q,
                            q_max: q,
                        }
                    })
                })
                .collect::<Result<Vec<_>>>()?,
        };
        Ok(Commitment {
            transaction: transaction.id,
            service: transaction.service.clone(),
            subject: transaction.subject,
            side,
            strength,
            priority,
            window,
            bands,
        })
    }

    /// Each interval start with its band.
    pub fn intervals(&self) -> impl Iterator<Item = (Timestamp, Band)> + '_ {
        self.bands.iter().enumerate().filter_map(|(i, band)| {
            let i = u32::try_from(i).ok()?;
            Some((self.window.interval_start(i).ok()?, *band))
        })
    }
}

/// What a successful commit did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Committed {
    /// Tentative commitments of lower-priority services released to make room, in the order released.
    pub displaced: Vec<Commitment>,
}

/// The sums of every commitment in one interval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct IntervalTotals {
    /// Sum of the bands' lower active ends, W.
    pub p_min: i64,
    /// Sum of the upper active ends, W.
    pub p_max: i64,
    /// Sum of the lower reactive ends, var.
    pub q_min: i64,
    /// Sum of the upper reactive ends, var.
    pub q_max: i64,
    /// The active power the binding energy and power commitments fix (what the equipment is set to), W.
    pub setpoint_w: i64,
}

/// The commitment book of one cell.
#[derive(Debug, Clone)]
pub struct CommitmentBook {
    cell: PowerCell,
    commitments: Vec<Commitment>,
    stored_wh: i64,
    forecast: BTreeMap<Timestamp, i64>,
}

/// What the cell can do beyond its commitments, from its units.
#[derive(Debug, Clone, Copy)]
struct Capability {
    firm_supply_w: i64,
    load_w: i64,
    storage_wh: i64,
}

fn capability(cell: &PowerCell) -> Capability {
    let mut c = Capability {
        firm_supply_w: 0,
        load_w: 0,
        storage_wh: 0,
    };
    for unit in &cell.units {
        match unit.kind {
            UnitKind::Generator {
                rated,
                dispatchable: true,
                ..
            } => c.firm_supply_w = c.firm_supply_w.saturating_add(rated.w()),
            UnitKind::Load { rated, .. } => c.load_w = c.load_w.saturating_add(rated.w()),
            UnitKind::Storage { capacity, .. } => {
                c.storage_wh = c.storage_wh.saturating_add(capacity.wh());
            }
            _ => {}
        }
    }
    c
}

fn energy_wh(power_w: i64, period: Duration) -> i64 {
    let secs = i64::try_from(period.as_secs()).unwrap_or(i64::MAX);
    power_w.saturating_mul(secs).checked_div(3600).unwrap_or(0)
}

impl CommitmentBook {
    /// An empty book for `cell`; stored energy unknown until measured (taken as none).
    pub fn new(cell: PowerCell) -> CommitmentBook {
        CommitmentBook {
            cell,
            commitments: Vec::new(),
            stored_wh: 0,
            forecast: BTreeMap::new(),
        }
    }

    /// The cell.
    pub fn cell(&self) -> &PowerCell {
        &self.cell
    }

    /// AUX-05: the cell's installations changed; commitments stay (the caller checks them with
    /// [`CommitmentBook::violations`]).
    pub fn set_cell(&mut self, cell: PowerCell) {
        self.cell = cell;
    }

    /// The energy now in the cell's storage, as measured.
    pub fn set_stored_energy(&mut self, wh: i64) {
        self.stored_wh = wh.max(0);
    }

    /// The energy in the cell's storage as last measured (or given), Wh.
    pub fn stored_energy(&self) -> i64 {
        self.stored_wh
    }

    /// The agent's forecast of the cell's own supply beyond its dispatchable generators (its PV, say) in the
    /// interval starting at `interval`, W. Forecasts for at most [`MAX_FORECAST`] intervals are kept, the
    /// latest first dropped.
    pub fn set_supply_forecast(&mut self, interval: Timestamp, w: i64) {
        self.forecast.insert(interval, w.max(0));
        while self.forecast.len() > MAX_FORECAST {
            self.forecast.pop_last();
        }
    }

    /// Drops forecasts of intervals that ended before `now`.
    pub fn forget_before(&mut self, now: Timestamp) {
        self.forecast.retain(|start, _| *start >= now);
    }

    /// Every commitment.
    pub fn commitments(&self) -> &[Commitment] {
        &self.commitments
    }

    /// The commitment of `transaction`.
    pub fn get(&self, transaction: &TransactionId) -> Option<&Commitment> {
        self.commitments
            .iter()
            .find(|c| &c.transaction == transaction)
    }

    /// Commits `candidate` if it fits (see the module documentation), displacing tentative commitments of
    /// lower priority if that makes room. On refusal nothing changes and the error names the first limit
    /// passed.
    pub fn commit(&mut self, candidate: Commitment) -> Result<Committed> {
        let released = self.plan(&candidate)?;
        let (displaced, kept): (Vec<_>, Vec<_>) = self
            .commitments
            .drain(..)
            .partition(|c| released.contains(&c.transaction));
        self.commitments = kept;
        self.commitments.push(candidate);
        let mut displaced = displaced;
        displaced.sort_by_key(|c| released.iter().position(|r| *r == c.transaction));
        Ok(Committed { displaced })
    }

    /// Whether [`CommitmentBook::commit`] would take `candidate` now (the same checks, nothing changed).
    pub fn would_commit(&self, candidate: &Commitment) -> Result<()> {
        self.plan(candidate).map(|_| ())
    }

    /// The tentative commitments `candidate` would displace (none when it fits as the book stands), or why
    /// it cannot be taken.
    fn plan(&self, candidate: &Commitment) -> Result<Vec<TransactionId>> {
        if !self
            .cell
            .cell_type
            .may_take(candidate.subject, candidate.side)
        {
            return Err(Error::RoleNotAllowed {
                cell_type: self.cell.cell_type,
                subject: candidate.subject,
                side: candidate.side,
            });
        }
        if self.get(&candidate.transaction).is_some() {
            return Err(Error::AlreadyCommitted(candidate.transaction));
        }
        if self.commitments.len() >= MAX_COMMITMENTS {
            return Err(Error::Full {
                what: "commitment book",
                max: MAX_COMMITMENTS,
            });
        }
        let mut trial = self.commitments.clone();
        trial.push(candidate.clone());
        let first = match self.check(&trial) {
            Ok(()) => return Ok(Vec::new()),
            Err(e) => e,
        };
        // Lower-priority tentative commitments, the lowest priority and the newest first.
        let mut yielding: Vec<usize> = (0..self.commitments.len())
            .filter(|&i| {
                self.commitments.get(i).is_some_and(|c| {
                    c.strength == Strength::Tentative && c.priority > candidate.priority
                })
            })
            .collect();
        yielding.sort_by_key(|&i| {
            (
                std::cmp::Reverse(self.commitments.get(i).map_or(0, |c| c.priority)),
                std::cmp::Reverse(i),
            )
        });
        let mut released = Vec::new();
        for i in yielding {
            let Some(c) = self.commitments.get(i) else {
                continue;
            };
            released.push(c.transaction);
            let trial: Vec<Commitment> = self
                .commitments
                .iter()
                .filter(|c| !released.contains(&c.transaction))
                .cloned()
                .chain(std::iter::once(candidate.clone()))
                .collect();
            if self.check(&trial).is_ok() {
                return Ok(released);
            }
        }
        Err(first)
    }

    /// Makes a tentative commitment binding (the transaction was agreed).
    pub fn bind(&mut self, transaction: &TransactionId) -> Result<()> {
        let c = self
            .commitments
            .iter_mut()
            .find(|c| &c.transaction == transaction)
            .ok_or(Error::UnknownTransaction(*transaction))?;
        c.strength = Strength::Binding;
        Ok(())
    }

    /// Releases a commitment (refused, expired, delivered and settled, or cancelled); returns it.
    pub fn release(&mut self, transaction: &TransactionId) -> Option<Commitment> {
        let i = self
            .commitments
            .iter()
            .position(|c| &c.transaction == transaction)?;
        Some(self.commitments.remove(i))
    }

    /// Releases every commitment whose window ended by `now`; returns them.
    pub fn release_ended(&mut self, now: Timestamp) -> Vec<Commitment> {
        let (ended, kept): (Vec<_>, Vec<_>) = self
            .commitments
            .drain(..)
            .partition(|c| c.window.end().is_ok_and(|end| end <= now));
        self.commitments = kept;
        ended
    }

    /// The totals of the interval starting at `interval`.
    pub fn totals(&self, interval: Timestamp) -> IntervalTotals {
        totals_of(&self.commitments, interval)
    }

    /// The largest export (positive) or import (negative) the cell could still add in the interval starting
    /// at `interval`, in W, given what is committed.
    pub fn headroom(&self, interval: Timestamp, side: Side) -> i64 {
        let t = self.totals(interval);
        let limits = self.cell.limits;
        match side {
            Side::Seller => limits.max_export.w().saturating_sub(t.p_max).max(0),
            Side::Buyer => limits.max_import.w().saturating_add(t.p_min).max(0),
        }
    }

    /// The limits the commitments pass now (after the cell's installations, its stored energy or its
    /// forecast changed): empty when every limit holds.
    pub fn violations(&self) -> Vec<Error> {
        self.check(&self.commitments).err().into_iter().collect()
    }

    /// Every instant at which some commitment's band changes (interval starts and window ends), in order:
    /// between two of them every sum is constant.
    fn boundaries(commitments: &[Commitment]) -> Vec<Timestamp> {
        let mut at: Vec<Timestamp> = commitments
            .iter()
            .flat_map(|c| c.intervals().map(|(t, _)| t).chain(c.window.end().ok()))
            .collect();
        at.sort_unstable();
        at.dedup();
        at
    }

    /// Whether the set `commitments` would keep every limit of this book's cell (see the module
    /// documentation), with this book's stored energy and forecasts; the error names the first limit passed.
    pub fn check_set(&self, commitments: &[Commitment]) -> Result<()> {
        self.check(commitments)
    }

    fn check(&self, commitments: &[Commitment]) -> Result<()> {
        let limits = self.cell.limits;
        let cap = capability(&self.cell);
        let mut drawn_wh: i64 = 0;
        let mut stored_in_wh: i64 = 0;
        let boundaries = Self::boundaries(commitments);
        for (start, end) in boundaries.iter().zip(boundaries.iter().skip(1)) {
            let (start, period) = (*start, end.duration_since(*start).unwrap_or_default());
            let t = totals_of(commitments, start);
            let checks = [
                ("export (W)", t.p_max, limits.max_export.w()),
                (
                    "import (W)",
                    t.p_min.saturating_neg(),
                    limits.max_import.w(),
                ),
                ("reactive export (var)", t.q_max, limits.max_export_q.var()),
                (
                    "reactive import (var)",
                    t.q_min.saturating_neg(),
                    limits.max_import_q.var(),
                ),
            ];
            for (limit, would_be, allowed) in checks {
                if would_be > allowed {
                    return Err(Error::BeyondLimit {
                        interval: start,
                        limit,
                        would_be,
                        allowed,
                    });
                }
            }
            let supply = cap
                .firm_supply_w
                .saturating_add(self.forecast.get(&start).copied().unwrap_or(0));
            let from_storage = t.p_max.saturating_sub(supply).max(0);
            let into_storage = t.p_min.saturating_neg().saturating_sub(cap.load_w).max(0);
            drawn_wh = drawn_wh.saturating_add(energy_wh(from_storage, period));
            stored_in_wh = stored_in_wh.saturating_add(energy_wh(into_storage, period));
            if drawn_wh > self.stored_wh {
                return Err(Error::BeyondLimit {
                    interval: start,
                    limit: "energy drawn from storage (Wh)",
                    would_be: drawn_wh,
                    allowed: self.stored_wh,
                });
            }
            let free = cap.storage_wh.saturating_sub(self.stored_wh).max(0);
            if stored_in_wh > free {
                return Err(Error::BeyondLimit {
                    interval: start,
                    limit: "energy put into storage (Wh)",
                    would_be: stored_in_wh,
                    allowed: free,
                });
            }
        }
        Ok(())
    }
}

fn totals_of(commitments: &[Commitment], interval: Timestamp) -> IntervalTotals {
    let mut t = IntervalTotals::default();
    for c in commitments {
        let Some(i) = c.window.interval_at(interval) else {
            continue;
        };
        let Some(band) = c.bands.get(i as usize) else {
            continue;
        };
        t.p_min = t.p_min.saturating_add(band.p_min);
        t.p_max = t.p_max.saturating_add(band.p_max);
        t.q_min = t.q_min.saturating_add(band.q_min);
        t.q_max = t.q_max.saturating_add(band.q_max);
        if c.strength == Strength::Binding && c.subject != Subject::Flexibility {
            t.setpoint_w = t.setpoint_w.saturating_add(band.p_min);
        }
    }
    t
}
