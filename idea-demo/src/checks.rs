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

/// Energy balance closes in every interval: generation + network + storage = load + losses.
pub(crate) fn energy_balance(intervals: &[SystemPhysics]) -> Check {
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
        "DEMO-S1",
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

/// Every settled amount equals the contract price times the verified delivered energy, less the penalty
/// beyond the tolerance band; the verified energy is the seller's meter's, and agrees with what the simulated
/// meter counted in that interval.
pub(crate) fn settlements(
    evidence: &LedgerEvidence,
    contracts: &BTreeMap<String, Contract>,
    counted_export: &dyn Fn(&Contract, u32) -> Option<f64>,
) -> Check {
    let mut problems = Vec::new();
    let mut penalties = 0usize;
    for s in &evidence.settlements {
        let id = s.contract.to_string();
        let Some(contract) = contracts.get(&id) else {
            problems.push(format!("{id}: settled but no recorded contract"));
            continue;
        };
        let token = s.token.body();
        if s.delivered_wh != token.export_wh {
            problems.push(format!(
                "{id}/{}: delivered {} Wh but the token says {} Wh",
                s.interval, s.delivered_wh, token.export_wh
            ));
        }
        match expected_amount(contract, s.interval, token.export_wh) {
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
        match counted_export(contract, s.interval) {
            // Watt-hours of one interval: exact in an f64.
            #[allow(clippy::cast_precision_loss)]
            Some(counted) if (counted - token.export_wh as f64).abs() <= TOKEN_WH as f64 + 1.0 => {}
            Some(counted) => problems.push(format!(
                "{id}/{}: the token says {} Wh exported, the meter counted {counted:.1} Wh",
                s.interval, token.export_wh
            )),
            None => problems.push(format!(
                "{id}/{}: no accounted interval for the seller",
                s.interval
            )),
        }
    }
    let detail = if problems.is_empty() {
        format!(
            "{} intervals settled, each at price × verified energy; {penalties} with a penalty beyond the band",
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
            if p.peak_hub_w > hub_rating_w + 1.0 {
                problems.push(format!(
                    "{name}'s hub carried {:.0} W in interval {i} (rating {hub_rating_w:.0})",
                    p.peak_hub_w
                ));
            }
        }
    }
    for (cell_id, bus, c) in commands {
        let Some((_, cell)) = cells.iter().find(|(n, _)| n == cell_id) else {
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
            "{} cells within their connection limits, {} setpoints within them, hubs within {hub_rating_w:.0} W, the router's peak {router_peak_w:.0} W of {router_rating_w:.0}",
            cells.len(),
            commands.len()
        )
    } else {
        problems.join("; ")
    };
    Check::new("limits", "AG-11", problems.is_empty(), detail)
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
