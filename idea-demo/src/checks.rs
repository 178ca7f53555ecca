//! The checks a scenario runs on itself (exit 1 naming any that fails). Each recomputes what it checks from
//! evidence of its own — the model's physics, the ledger opened read-only, the contracts' written terms —
//! rather than trusting the figure the checked party reported.

use crate::plant::{CellPhysics, SystemPhysics};
use crate::report::{Check, LedgerSummary};
use idea_proto::SetpointCommand;
use std::collections::BTreeMap;
use std::path::Path;
use te_contract::contract::Contract;
use te_contract::ledger::{Anchor, LedgerStore, RecordKind, SqliteStore};
use te_contract::settlement::DeliveryCheck;
use te_contract::{AvatarId, Codec, DeploymentId};

/// The balance may leave this much unexplained per interval, Wh, plus [`BALANCE_SHARE`] of what flowed (the
/// power flow's convergence tolerance and the integration of 100 ms steps).
pub(crate) const BALANCE_WH: f64 = 1.0;
/// The share of the interval's throughput the balance may leave unexplained.
pub(crate) const BALANCE_SHARE: f64 = 0.002;
/// How far a meter token's export may be from what the simulated meter counted, Wh (the gateway signs whole
/// watt-hours, rounded down, at each reading).
pub(crate) const TOKEN_WH: i64 = 2;

/// An estimated token (its boundaries interpolated across missing readings) may be this share of what the
/// meter counted away from it, plus [`ESTIMATE_WH`].
pub(crate) const ESTIMATE_SHARE: f64 = 0.25;
/// The absolute part of an estimate's reach, Wh.
pub(crate) const ESTIMATE_WH: f64 = 50.0;

/// Energy balance closes in every interval: generation + network + storage = load + losses.
pub(crate) fn energy_balance(requirement: &str, intervals: &[SystemPhysics]) -> Check {
    let mut worst: Option<(usize, f64, f64)> = None;
    let mut failed = 0usize;
    for (k, s) in intervals.iter().enumerate() {
        let flowed = s.generation_wh + s.load_wh + s.network_wh.abs() + s.storage_wh.abs();
        let allowed = BALANCE_WH + BALANCE_SHARE * flowed;
        if s.residual_wh.abs() > allowed {
            failed = failed.saturating_add(1);
        }
        if worst.is_none_or(|(_, r, _)| s.residual_wh.abs() > r.abs()) {
            worst = Some((k, s.residual_wh, allowed));
        }
    }
    let detail = match worst {
        Some((k, r, allowed)) => format!(
            "{} intervals; the largest residual {r:.3} Wh in interval {k} (allowed {allowed:.1} Wh){}",
            intervals.len(),
            if failed > 0 {
                format!("; {failed} intervals do not close")
            } else {
                String::new()
            }
        ),
        None => "no interval ran".into(),
    };
    Check::new(
        "energy-balance",
        requirement,
        failed == 0 && !intervals.is_empty(),
        detail,
    )
}

/// What the ledger holds, read without writing.
#[derive(Debug)]
pub(crate) struct LedgerEvidence {
    pub(crate) summary: LedgerSummary,
    pub(crate) settlements: Vec<DeliveryCheck>,
    pub(crate) verified: Result<(), String>,
}

/// Opens the ledger read-only, verifies its chain and signatures under the registrar, and reads its
/// settlement records.
pub(crate) fn read_ledger(
    path: &Path,
    deployment: &DeploymentId,
    registrar: AvatarId,
    registrar_key: idea_proto::PublicKey,
    genesis: idea_proto::Timestamp,
) -> LedgerEvidence {
    let mut evidence = LedgerEvidence {
        summary: LedgerSummary::default(),
        settlements: Vec::new(),
        verified: Ok(()),
    };
    let store = match SqliteStore::open_read_only(path) {
        Ok(s) => s,
        Err(e) => {
            evidence.verified = Err(format!("{}: {e}", path.display()));
            return evidence;
        }
    };
    match te_contract::audit::verify(
        &store,
        deployment,
        registrar,
        registrar_key,
        genesis,
        &Anchor::None,
    ) {
        Ok(report) => {
            evidence.summary.entries = report.entries;
            evidence.summary.signatures = report.signatures;
            evidence.summary.head = report.head.map_or(String::new(), |h| {
                format!("{}:{}", h.seq, idea_proto::hex::encode(&h.hash))
            });
        }
        Err(e) => evidence.verified = Err(e.to_string()),
    }
    let mut settlements = Vec::new();
    let mut clearings = 0u64;
    let scanned = store.scan(1, &mut |stored| {
        if stored.entry.kind == RecordKind::Settlement.code() {
            settlements.push(DeliveryCheck::decode_exact(&stored.entry.body)?);
        } else if stored.entry.kind == RecordKind::Clearing.code() {
            clearings = clearings.saturating_add(1);
        }
        Ok(())
    });
    if let Err(e) = scanned
        && evidence.verified.is_ok()
    {
        evidence.verified = Err(format!("reading the settlements: {e}"));
    }
    evidence.summary.settlements = settlements.len() as u64;
    evidence.summary.clearings = clearings;
    evidence.settlements = settlements;
    evidence
}

/// The ledger verifies read-only under the registrar.
pub(crate) fn ledger_verifies(evidence: &LedgerEvidence) -> Check {
    let (passed, detail) = match &evidence.verified {
        Ok(()) => (
            true,
            format!(
                "{} entries, {} signatures checked, head {}",
                evidence.summary.entries, evidence.summary.signatures, evidence.summary.head
            ),
        ),
        Err(e) => (false, e.clone()),
    };
    Check::new("ledger-verifies", "TE-07", passed, detail)
}

/// `price × wh / 1000`, rounded half to even (TE-04's rule for money from energy).
fn cost(price_per_kwh: i64, wh: i64) -> Option<i64> {
    let x = i128::from(price_per_kwh).checked_mul(i128::from(wh))?;
    let (q, r) = (x.div_euclid(1000), x.rem_euclid(1000));
    let q = match r.cmp(&500) {
        std::cmp::Ordering::Less => q,
        std::cmp::Ordering::Greater => q.checked_add(1)?,
        std::cmp::Ordering::Equal => q.checked_add(q.rem_euclid(2))?,
    };
    i64::try_from(q).ok()
}

/// What one interval of `contract` should pay for `delivered_wh`: `(amount, penalty)`, minor units.
pub(crate) fn expected_amount(
    contract: &Contract,
    interval: u32,
    delivered_wh: i64,
) -> Option<(i64, i64)> {
    let terms = &contract.transaction.terms;
    let contracted = terms.contracted_energy(interval).ok()?.wh();
    let band = terms.tolerance;
    let relative = i64::try_from(
        i128::from(contracted)
            .unsigned_abs()
            .checked_mul(u128::from(band.relative_bp))?
            / 10_000,
    )
    .ok()?;
    let allowance = relative.max(band.absolute.wh());
    let beyond = delivered_wh
        .checked_sub(contracted)?
        .checked_abs()?
        .checked_sub(allowance)?
        .max(0);
    let (paid_wh, penalty) = if beyond == 0 {
        (contracted, 0)
    } else {
        (
            delivered_wh.min(contracted),
            cost(terms.penalty.minor_units_per_kwh, beyond)?,
        )
    };
    Some((
        cost(terms.price.minor_units_per_kwh, paid_wh)?.checked_sub(penalty)?,
        penalty,
    ))
}

/// Shares of `counted` in proportion to `weights` by largest remainder, ties to the earlier; evenly when a
/// weight is not positive (TE-04's allocation, recomputed here on its own).
// An i64 times an i64 fits an i128, and the total is at least 1.
#[allow(clippy::arithmetic_side_effects)]
fn shares(counted: i64, weights: &[i64]) -> Vec<i64> {
    let n = weights.len();
    let w: Vec<i128> = if weights.iter().all(|x| *x > 0) {
        weights.iter().map(|x| i128::from(*x)).collect()
    } else {
        vec![1; n]
    };
    let total: i128 = w.iter().sum::<i128>().max(1);
    let counted = i128::from(counted.max(0));
    let mut out: Vec<i128> = w.iter().map(|x| counted * x / total).collect();
    let mut rest: Vec<(i128, usize)> = w
        .iter()
        .enumerate()
        .map(|(k, x)| (-(counted * x % total), k))
        .collect();
    rest.sort();
    let mut left = counted - out.iter().sum::<i128>();
    for (_, k) in rest {
        if left <= 0 {
            break;
        }
        if let Some(o) = out.get_mut(k) {
            *o += 1;
            left -= 1;
        }
    }
    out.into_iter()
        .map(|x| i64::try_from(x).unwrap_or(0))
        .collect()
}

/// Every settled amount equals the contract price times the verified delivered energy, less the penalty
/// beyond the tolerance band; the verified energy is what the seller's meter signed — shared in proportion
/// to what each contract took where several deliver at the point in the interval — and agrees with what the
/// simulated meter counted in that interval.
#[allow(clippy::arithmetic_side_effects)]
pub(crate) fn settlements(
    evidence: &LedgerEvidence,
    contracts: &BTreeMap<String, Contract>,
    counted_export: &dyn Fn(&Contract, u32) -> Option<f64>,
) -> Check {
    let mut problems = Vec::new();
    let mut penalties = 0usize;
    let mut shared = 0usize;
    // The settlements of each token, in the order the node recorded them.
    let mut by_token: BTreeMap<[u8; 16], Vec<&DeliveryCheck>> = BTreeMap::new();
    for s in &evidence.settlements {
        by_token.entry(s.token.body().id).or_default().push(s);
    }
    for group in by_token.values() {
        let Some(first) = group.first() else { continue };
        let token = first.token.body();
        let mut terms = Vec::with_capacity(group.len());
        for s in group {
            match contracts.get(&s.contract.to_string()) {
                Some(c) => terms.push((*s, c)),
                None => problems.push(format!("{}: settled but no recorded contract", s.contract)),
            }
        }
        let weights: Vec<i64> = terms
            .iter()
            .map(|(s, c)| {
                c.transaction
                    .terms
                    .contracted_energy(s.interval)
                    .map_or(0, |e| e.wh())
            })
            .collect();
        let expected = if terms.len() > 1 {
            shared = shared.saturating_add(terms.len());
            shares(token.export_wh, &weights)
        } else {
            vec![token.export_wh]
        };
        for ((s, contract), share) in terms.iter().zip(expected) {
            let id = s.contract;
            if s.delivered_wh != share {
                problems.push(format!(
                    "{id}/{}: delivered {} Wh, but its share of the token's {} Wh is {share} Wh",
                    s.interval, s.delivered_wh, token.export_wh
                ));
            }
            match expected_amount(contract, s.interval, share) {
                Some((amount, penalty))
                    if amount == s.amount.minor_units && penalty == s.penalty.minor_units =>
                {
                    if penalty != 0 {
                        penalties = penalties.saturating_add(1);
                    }
                }
                Some((amount, penalty)) => problems.push(format!(
                    "{id}/{}: settled {} (penalty {}) where the terms give {amount} (penalty {penalty})",
                    s.interval, s.amount.minor_units, s.penalty.minor_units
                )),
                None => problems.push(format!("{id}/{}: terms out of range", s.interval)),
            }
        }
        if let Some((s, contract)) = terms.first() {
            match counted_export(contract, s.interval) {
                // Watt-hours of one interval: exact in an f64.
                #[allow(clippy::cast_precision_loss)]
                Some(counted)
                    if (counted - token.export_wh as f64).abs()
                        <= if token.estimated {
                            // Interpolated across missing readings: within the estimate's reach.
                            ESTIMATE_SHARE * counted.abs() + ESTIMATE_WH
                        } else {
                            TOKEN_WH as f64 + 1.0
                        } => {}
                Some(counted) => problems.push(format!(
                    "{}/{}: the token says {} Wh exported, the meter counted {counted:.1} Wh",
                    s.contract, s.interval, token.export_wh
                )),
                None => problems.push(format!(
                    "{}/{}: no accounted interval for the seller",
                    s.contract, s.interval
                )),
            }
        }
    }
    let detail = if problems.is_empty() {
        format!(
            "{} intervals settled, each at price × verified energy ({shared} on a share of a token several contracts delivered under); {penalties} with a penalty beyond the band",
            evidence.settlements.len()
        )
    } else {
        problems.join("; ")
    };
    Check::new("settlement-amounts", "TE-04", problems.is_empty(), detail)
}

/// Money is conserved and each wallet moved by exactly what its settled intervals came to.
pub(crate) fn money(moves: &[(String, i64, i64)]) -> Check {
    let total: i64 = moves.iter().map(|(_, moved, _)| *moved).sum();
    let wrong: Vec<String> = moves
        .iter()
        .filter(|(_, moved, settled)| moved != settled)
        .map(|(cell, moved, settled)| format!("{cell} moved {moved} but settled {settled}"))
        .collect();
    let passed = total == 0 && wrong.is_empty();
    let detail = if passed {
        format!(
            "{} wallets; every one moved by what it settled, {} minor units changed hands",
            moves.len(),
            moves.iter().map(|(_, m, _)| m.max(&0)).sum::<i64>()
        )
    } else {
        format!("wallets moved {total} in all; {}", wrong.join("; "))
    };
    Check::new("money-settled", "TE-08", passed, detail)
}

/// No cell passed its connection limits; no device was commanded beyond its rating.
pub(crate) fn limits(
    cells: &[(String, idea_proto::PowerCell)],
    physics: &[Vec<CellPhysics>],
    commands: &[(String, String, SetpointCommand)],
    hub_rating_w: f64,
    router_rating_w: f64,
    router_peak_w: f64,
) -> Check {
    let mut problems = Vec::new();
    let mut transient = (String::new(), 0.0f64);
    for (k, (name, cell)) in cells.iter().enumerate() {
        // Whole watts: exact in an f64.
        #[allow(clippy::cast_precision_loss)]
        let (max_import, max_export) = (
            cell.limits.max_import.w() as f64,
            cell.limits.max_export.w() as f64,
        );
        for (i, interval) in physics.iter().enumerate() {
            let Some(p) = interval.get(k) else { continue };
            if p.peak_import_w > max_import {
                problems.push(format!(
                    "{name} imported {:.0} W in interval {i} (limit {max_import:.0})",
                    p.peak_import_w
                ));
            }
            if p.peak_export_w > max_export {
                problems.push(format!(
                    "{name} exported {:.0} W in interval {i} (limit {max_export:.0})",
                    p.peak_export_w
                ));
            }
            // Sustained: the interval's average. The model's slack hub may pass its rating for a step while
            // the others' droop catches up (a transient the detail reports).
            let sustained = p.storage_wh.abs() * 3600.0 / f64::from(crate::complex::PERIOD_S);
            if sustained > hub_rating_w + 1.0 {
                problems.push(format!(
                    "{name}'s hub carried {sustained:.0} W on average in interval {i} (rating {hub_rating_w:.0})",
                ));
            }
            if p.peak_hub_w > transient.1 {
                transient = (name.clone(), p.peak_hub_w);
            }
        }
    }
    let by_id: BTreeMap<&str, &idea_proto::PowerCell> =
        cells.iter().map(|(n, c)| (n.as_str(), c)).collect();
    for (cell_id, bus, c) in commands {
        let Some(cell) = by_id.get(cell_id.as_str()) else {
            problems.push(format!("{bus}: a setpoint for a cell not in the run"));
            continue;
        };
        let w = c.setpoint.active.w();
        if w > cell.limits.max_export.w() || w < cell.limits.max_import.w().saturating_neg() {
            problems.push(format!("{cell_id} was commanded {w} W at its connection"));
        }
    }
    if router_peak_w > router_rating_w {
        problems.push(format!(
            "the router carried {router_peak_w:.0} W (rating {router_rating_w:.0})"
        ));
    }
    let detail = if problems.is_empty() {
        format!(
            "{} cells within their connection limits, {} setpoints within them, hubs within {hub_rating_w:.0} W on average (the highest step {:.0} W, {}), the router's peak {router_peak_w:.0} W of {router_rating_w:.0}",
            cells.len(),
            commands.len(),
            transient.1,
            transient.0
        )
    } else {
        problems.join("; ")
    };
    Check::new("limits", "AG-11", problems.is_empty(), detail)
}

/// No relay tripped on overcurrent, and every load that is off was opened by the load-shedding service
/// (the fifth cell's installation, off until it joins, aside).
pub(crate) fn relays(
    requirement: &str,
    open: &[(String, bool)],
    switched: &[(String, bool)],
) -> Check {
    let mut problems = Vec::new();
    for (relay, overcurrent) in open {
        if *overcurrent {
            problems.push(format!("{relay} tripped on overcurrent"));
            continue;
        }
        if relay.starts_with("cell5.") {
            continue;
        }
        let opened_by_service = switched
            .iter()
            .rev()
            .find(|(r, _)| r == relay)
            .is_some_and(|(_, closed)| !closed);
        if !opened_by_service {
            problems.push(format!(
                "{relay} is open but the load-shedding service did not open it"
            ));
        }
    }
    let shed = switched.iter().filter(|(_, closed)| !closed).count();
    let restored = switched.len().saturating_sub(shed);
    let detail = if problems.is_empty() {
        format!(
            "no relay tripped; the load-shedding service opened {shed} and closed {restored} relays over MQTT"
        )
    } else {
        problems.join("; ")
    };
    Check::new("relays", requirement, problems.is_empty(), detail)
}

/// S3: the cell that joined registered at the directory and the TE node over the network, was offered
/// every running service — the market and load shedding — and traded, its contracts settled.
pub(crate) fn newcomer(
    n: &crate::scenario::Newcomer,
    trades: &[crate::report::TradeRecord],
) -> Check {
    let running = [
        idea_agent::directory::MARKET_SERVICE,
        idea_agent::load_shedding::SERVICE_TYPE,
    ];
    let missing: Vec<&str> = running
        .iter()
        .filter(|s| !n.services.iter().any(|k| k == *s))
        .copied()
        .collect();
    let step = |what: &str| n.steps.iter().any(|s| s.starts_with(what));
    let (registered, te) = (step("registered"), step("te-registered"));
    let mine: Vec<&crate::report::TradeRecord> = trades
        .iter()
        .filter(|t| t.seller == n.cell || t.buyer == n.cell)
        .collect();
    let settled = mine.iter().filter(|t| t.amount_minor.is_some()).count();
    let passed =
        missing.is_empty() && registered && te && !mine.is_empty() && settled == mine.len();
    let detail = format!(
        "{} joined at {}: {} at the directory, {} at the TE node, offered {}{}; {} contracts, {settled} settled",
        n.cell,
        n.at.map_or_else(String::new, |t| t.to_string()),
        if registered {
            "registered"
        } else {
            "NOT registered"
        },
        if te { "registered" } else { "NOT registered" },
        n.services.join(", "),
        if missing.is_empty() {
            String::new()
        } else {
            format!(" (not offered: {})", missing.join(", "))
        },
        mine.len()
    );
    Check::new("newcomer-served", "DEMO-S3", passed, detail)
}

/// The island held: isolated from the network in every interval, its common bus energised by the hubs.
pub(crate) fn island_held(intervals: &[SystemPhysics]) -> Check {
    let connected = intervals.iter().filter(|s| s.grid_connected).count();
    let dark = intervals.iter().filter(|s| s.frequency_hz.0 <= 0.0).count();
    let (lo, hi) = intervals
        .iter()
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), s| {
            (lo.min(s.frequency_hz.0), hi.max(s.frequency_hz.1))
        });
    Check::new(
        "island-held",
        "DEMO-S2",
        connected == 0 && dark == 0 && !intervals.is_empty(),
        format!(
            "{} intervals isolated, {connected} fed by the network, {dark} with the common bus dark; frequency {lo:.3}–{hi:.3} Hz",
            intervals.len()
        ),
    )
}

/// The island's frequency meets the hub's frequency norms (NG-H2) over the whole isolated run.
pub(crate) fn frequency_norms(trace: &[(f64, f64)]) -> Check {
    let verdict = ng_control::hub::FrequencyNorms::defaults().judge(trace);
    let detail = format!(
        "{:.1} % of {:.0}-s averages within ±{} Hz, the worst {:.3} Hz off{}",
        verdict.share_within_normal * 100.0,
        ng_control::hub::FrequencyNorms::defaults().averaging_window_s,
        ng_control::hub::FrequencyNorms::defaults().normal_band_hz,
        verdict.worst_average_deviation_hz,
        if verdict.failures.is_empty() {
            String::new()
        } else {
            format!("; {}", verdict.failures.join("; "))
        }
    );
    Check::new(
        "frequency-norms",
        "NG-H2",
        verdict.passes && !trace.is_empty(),
        detail,
    )
}

#[cfg(test)]
mod tests {
    use super::cost;

    #[test]
    fn money_from_energy_rounds_half_to_even() {
        assert_eq!(cost(18, 500), Some(9));
        assert_eq!(cost(1, 500), Some(0), "0.5 → 0");
        assert_eq!(cost(3, 500), Some(2), "1.5 → 2");
        assert_eq!(cost(18, 1234), Some(22), "22.212 → 22");
        assert_eq!(cost(40, -30), Some(-1), "-1.2 → -1");
    }
}
