//! The arbitrator of a network section with nested cells (ARCH-08, options 1 and 2): before committing, an
//! agent or a service application asks whether a transaction fits the section; the arbitrator runs
//! `ng_control::pool::arbitrate` on the section's model with the transactions it already permitted (they keep
//! their place) and the new one, interval by interval, and answers [`Verdict::Permit`], the largest power it
//! can grant ([`Verdict::Adjust`]) or [`Verdict::Refuse`], with the limit that binds.
//!
//! The P2P market asks it at clearing (option 2, [`crate::MarketService::set_arbitrator`]): a match it
//! refuses is not made a contract. The agents ask it themselves (option 1) through [`ArbitratorService`],
//! over signed FIPA-ACL ([`protocol`]): a seller set to ask ([`crate::P2pSeller::ask_arbitrator`]) offers only
//! what the section permits, counter-proposes what it adjusts to, and refuses a call the section cannot carry.
//! The section is data ([`SectionConfig`]). A market match the arbitrator adjusts is made a contract at the
//! share it grants (asked about once more).

pub mod protocol;
mod section;
mod service;

pub use section::{Connection, MAX_SITES, SectionConfig, SiteConfig};
pub use service::{ArbitratorService, MAX_PENDING_ANSWERS};

use idea_proto::{EnergyTransaction, Timestamp, TransactionId};
use ng_control::Case;
use ng_control::pool::{CellSite, Limits, PoolTransaction, arbitrate};
use std::collections::BTreeMap;

/// The most transactions the arbitrator keeps permitted.
pub const MAX_PERMITTED: usize = 1 << 14;

/// Below this share of what was asked, an answer is a refusal rather than an adjustment.
const MIN_SHARE: f64 = 0.01;

/// The arbitrator's answer.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Verdict {
    /// The transaction fits as proposed; it is now among the permitted.
    Permit,
    /// It fits only at less power: the most grantable in its tightest interval, W, and why.
    Adjust {
        /// The interval that binds.
        interval: u32,
        /// Requested there, W.
        requested_w: f64,
        /// Grantable there, W.
        granted_w: f64,
        /// The limit that binds.
        reason: String,
    },
    /// It does not fit at all.
    Refuse {
        /// The interval that binds.
        interval: u32,
        /// The limit that binds.
        reason: String,
    },
}

/// The arbitrator of one section.
#[derive(Debug, Clone)]
pub struct Arbitrator {
    case: Case,
    sites: Vec<CellSite>,
    limits: Limits,
    permitted: BTreeMap<TransactionId, EnergyTransaction>,
}

impl Arbitrator {
    /// An arbitrator on the section `case` with its cells at `sites`.
    pub fn new(case: Case, sites: Vec<CellSite>, limits: Limits) -> Arbitrator {
        Arbitrator {
            case,
            sites,
            limits,
            permitted: BTreeMap::new(),
        }
    }

    /// The permitted transactions active at `at`.
    fn active_at(&self, at: Timestamp) -> crate::Result<Vec<PoolTransaction>> {
        let mut pool = Vec::new();
        for t in self.permitted.values() {
            if let Some(i) = t.terms.window.interval_at(at) {
                pool.push(arbitration(PoolTransaction::from_transaction(t, i))?);
            }
        }
        Ok(pool)
    }

    /// Asks whether `transaction` fits the section. A permitted transaction is kept until
    /// [`Arbitrator::release`]; an adjusted or refused one is not kept.
    pub fn ask(&mut self, transaction: &EnergyTransaction) -> crate::Result<Verdict> {
        if self.permitted.len() >= MAX_PERMITTED {
            return Err(crate::Error::Full {
                what: "permitted transactions",
                max: MAX_PERMITTED,
            });
        }
        let window = transaction.terms.window;
        let mut tightest: Option<Verdict> = None;
        for i in 0..window.intervals() {
            let at = window.interval_start(i)?;
            let mut pool = self.active_at(at)?;
            let candidate = arbitration(PoolTransaction::from_transaction(transaction, i))?;
            let requested_w = candidate.power_w;
            pool.push(candidate);
            let report = arbitration(arbitrate(&self.case, &self.sites, &pool, &self.limits))?;
            let Some(allocation) = report.allocations.last() else {
                continue;
            };
            if allocation.granted_w + 1e-6 >= requested_w {
                continue;
            }
            let reason = allocation
                .binding
                .clone()
                .unwrap_or_else(|| "the section's limits".to_owned());
            let verdict = if allocation.granted_w < requested_w * MIN_SHARE {
                Verdict::Refuse {
                    interval: i,
                    reason,
                }
            } else {
                Verdict::Adjust {
                    interval: i,
                    requested_w,
                    granted_w: allocation.granted_w,
                    reason,
                }
            };
            let tighter = match (&tightest, &verdict) {
                (None, _) | (Some(Verdict::Adjust { .. }), Verdict::Refuse { .. }) => true,
                (
                    Some(Verdict::Adjust {
                        granted_w: a,
                        requested_w: ra,
                        ..
                    }),
                    Verdict::Adjust {
                        granted_w: b,
                        requested_w: rb,
                        ..
                    },
                ) => b / rb < a / ra,
                _ => false,
            };
            if tighter {
                tightest = Some(verdict);
            }
        }
        match tightest {
            Some(v) => Ok(v),
            None => {
                self.permitted.insert(transaction.id, transaction.clone());
                Ok(Verdict::Permit)
            }
        }
    }

    /// Forgets a permitted transaction (delivered, cancelled or expired).
    pub fn release(&mut self, id: &TransactionId) -> bool {
        self.permitted.remove(id).is_some()
    }

    /// Forgets every permitted transaction whose window ended by `now`.
    pub fn release_ended(&mut self, now: Timestamp) {
        self.permitted
            .retain(|_, t| t.terms.window.end().is_ok_and(|end| end > now));
    }

    /// A permitted transaction.
    pub fn permitted_transaction(&self, id: &TransactionId) -> Option<&EnergyTransaction> {
        self.permitted.get(id)
    }

    /// How many transactions are permitted.
    pub fn permitted(&self) -> usize {
        self.permitted.len()
    }
}

/// `t` at `share` (0..1) of its quantities in every interval, rounded down — what an adjusted verdict
/// allows; `None` when nothing is left.
pub fn scaled(t: &EnergyTransaction, share: f64) -> Option<EnergyTransaction> {
    use idea_proto::{ActivePower, Energy, PowerLevel, Profile, Terms};
    let share = if share.is_finite() {
        share.clamp(0.0, 1.0)
    } else {
        0.0
    };
    // In 0..=v for v >= 0: the product of a non-negative integer and a share within 0..1, rounded down.
    #[allow(clippy::cast_possible_truncation)]
    let part = |v: i64| (v.max(0) as f64 * share).floor() as i64;
    let mut spec = t.terms.clone().into_spec();
    spec.profile = match &spec.profile {
        Profile::Energy(values) => Profile::Energy(
            values
                .iter()
                .map(|e| Energy::from_wh(part(e.wh())))
                .collect(),
        ),
        Profile::Power(levels) => Profile::Power(
            levels
                .iter()
                .map(|l| PowerLevel::new(ActivePower::from_w(part(l.active.w())), l.reactive))
                .collect(),
        ),
    };
    let empty = match &spec.profile {
        Profile::Energy(v) => v.iter().all(|e| e.wh() == 0),
        Profile::Power(v) => v.iter().all(|l| l.active.w() == 0),
    };
    if empty {
        return None;
    }
    t.with_terms(Terms::new(spec).ok()?).ok()
}

impl Verdict {
    /// The share of what was asked the verdict allows: 1 for a permit, granted / requested for an
    /// adjustment, 0 for a refusal.
    pub fn share(&self) -> f64 {
        match self {
            Verdict::Permit => 1.0,
            Verdict::Adjust {
                requested_w,
                granted_w,
                ..
            } if *requested_w > 0.0 => (granted_w / requested_w).clamp(0.0, 1.0),
            _ => 0.0,
        }
    }
}

fn arbitration<T>(r: Result<T, ng_control::Error>) -> crate::Result<T> {
    r.map_err(|e| crate::Error::Arbitration(e.to_string()))
}
