//! The pool of current transactions turned into flows and arbitrated (NG-06, ARCH-08 options 1–3): each
//! transaction moves active power from its seller's bus to its buyer's bus (or to or from the network for P2O);
//! the power flow gives the resulting line loadings, voltages and the flows through each cell's connection,
//! inner cells' transactions included in their enclosing cells' flows. Transactions are admitted in priority
//! order, each at the largest share that creates or worsens no violation; every curtailment names the limit
//! that binds. Deterministic: the same pool gives the same allocation.

use crate::case::Case;
use crate::error::{Error, Result};
use crate::powerflow::{Options, PowerFlowResult, solve};
use idea_proto::{CellId, EnergyTransaction, Parties, Profile, Side, TransactionId};

/// Where a cell sits in the network and what its connection may carry.
#[derive(Debug, Clone, PartialEq)]
pub struct CellSite {
    /// The cell.
    pub cell: CellId,
    /// The bus its transactions inject at or draw from.
    pub bus: u32,
    /// The branch (index into the case's branches) that connects the cell, and the bus on the cell's side of
    /// it; the flow through it includes every cell nested inside.
    pub connection: Option<(usize, u32)>,
    /// Largest import through the connection, W.
    pub max_import_w: f64,
    /// Largest export through the connection, W.
    pub max_export_w: f64,
}

/// One transaction of the pool for one settlement interval.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolTransaction {
    /// The transaction.
    pub id: TransactionId,
    /// The cell that supplies, if a cell does (P2O purchases have the network as seller).
    pub seller: Option<CellId>,
    /// The cell that consumes, if a cell does.
    pub buyer: Option<CellId>,
    /// Active power moved, W (≥ 0).
    pub power_w: f64,
}

impl PoolTransaction {
    /// The power an energy transaction moves in settlement interval `interval`: the profile's active power, or
    /// its energy spread evenly over the period.
    pub fn from_transaction(t: &EnergyTransaction, interval: u32) -> Result<PoolTransaction> {
        let bad = |e: idea_proto::Error| Error::CaseData(format!("transaction {}: {e}", t.id));
        let power_w = match &t.terms.profile {
            Profile::Power(levels) => {
                let level = levels
                    .get(interval as usize)
                    .ok_or_else(|| Error::CaseData(format!("no interval {interval}")))?;
                level.active.as_f64() * 1000.0
            }
            Profile::Energy(_) => {
                let e = t.terms.contracted_energy(interval).map_err(bad)?;
                e.average_power(t.terms.window.period())
                    .map_err(bad)?
                    .as_f64()
                    * 1000.0
            }
        };
        let (seller, buyer) = match &t.parties {
            Parties::PeerToPeer { seller, buyer } => {
                (Some(seller.cell.clone()), Some(buyer.cell.clone()))
            }
            Parties::PeerToOperator {
                cell,
                cell_side: Side::Seller,
                ..
            } => (Some(cell.cell.clone()), None),
            Parties::PeerToOperator {
                cell,
                cell_side: Side::Buyer,
                ..
            } => (None, Some(cell.cell.clone())),
        };
        Ok(PoolTransaction {
            id: t.id,
            seller,
            buyer,
            power_w: power_w.abs(),
        })
    }
}

/// Limits the arbitration keeps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Largest branch loading, % of rate A (branches without a rating are not limited).
    pub max_loading_percent: f64,
    /// Whether bus voltages must stay within each bus's Vmin..Vmax.
    pub voltage_band: bool,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_loading_percent: 100.0,
            voltage_band: true,
        }
    }
}

/// What one transaction was granted.
#[derive(Debug, Clone, PartialEq)]
pub struct Allocation {
    /// The transaction.
    pub id: TransactionId,
    /// Requested, W.
    pub requested_w: f64,
    /// Granted, W.
    pub granted_w: f64,
    /// The limit that stopped it, when curtailed.
    pub binding: Option<String>,
}

/// The flow through a cell's connection.
#[derive(Debug, Clone, PartialEq)]
pub struct CellFlow {
    /// The cell.
    pub cell: CellId,
    /// Import through its connection, W (negative: export).
    pub import_w: f64,
}

/// The outcome of arbitrating a pool.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolReport {
    /// One allocation per transaction, in priority order.
    pub allocations: Vec<Allocation>,
    /// The power flow with every granted transaction.
    pub flows: PowerFlowResult,
    /// The flows through the cells' connections.
    pub cell_flows: Vec<CellFlow>,
    /// Violations that were present before any transaction.
    pub base_violations: Vec<String>,
}

struct Evaluation {
    excess: f64,
    violations: Vec<(String, f64)>,
    flows: PowerFlowResult,
}

/// Arbitrates `pool` (highest priority first) on `case` with cells at `sites`.
pub fn arbitrate(
    case: &Case,
    sites: &[CellSite],
    pool: &[PoolTransaction],
    limits: &Limits,
) -> Result<PoolReport> {
    let site = |cell: &CellId| {
        sites
            .iter()
            .find(|s| &s.cell == cell)
            .ok_or_else(|| Error::CaseData(format!("cell {cell} has no site")))
    };
    let bus_index = |bus: u32| {
        case.buses
            .iter()
            .position(|b| b.id == bus)
            .ok_or_else(|| Error::CaseData(format!("unknown bus {bus}")))
    };
    // Each transaction as (seller bus index, buyer bus index, requested W).
    let mut moves = Vec::with_capacity(pool.len());
    for t in pool {
        if !(t.power_w.is_finite() && t.power_w >= 0.0) {
            return Err(Error::CaseData(format!(
                "transaction {}: power {} W",
                t.id, t.power_w
            )));
        }
        let seller = t
            .seller
            .as_ref()
            .map(|c| site(c).and_then(|s| bus_index(s.bus)))
            .transpose()?;
        let buyer = t
            .buyer
            .as_ref()
            .map(|c| site(c).and_then(|s| bus_index(s.bus)))
            .transpose()?;
        moves.push((seller, buyer, t.power_w));
    }
    for s in sites {
        bus_index(s.bus)?;
        if let Some((branch, _)) = s.connection
            && branch >= case.branches.len()
        {
            return Err(Error::CaseData(format!(
                "cell {}: connection branch {branch} does not exist",
                s.cell
            )));
        }
    }
    let evaluate = |granted: &[f64]| -> Result<Evaluation> {
        let mut c = case.clone();
        for ((seller, buyer, _), w) in moves.iter().zip(granted) {
            let mw = w / 1e6;
            if let Some(i) = seller {
                c.buses[*i].pd_mw -= mw;
            }
            if let Some(i) = buyer {
                c.buses[*i].pd_mw += mw;
            }
        }
        let flows = solve(&c, &Options::default())?;
        let violations = violations(case, sites, &flows, limits);
        let excess = violations.iter().map(|(_, e)| e).sum();
        Ok(Evaluation {
            excess,
            violations,
            flows,
        })
    };
    let mut granted = vec![0.0; pool.len()];
    let base = evaluate(&granted)?;
    let base_violations = base.violations.iter().map(|(v, _)| v.clone()).collect();
    let mut current = base;
    let mut allocations = Vec::with_capacity(pool.len());
    for (k, t) in pool.iter().enumerate() {
        let tolerance = 1e-9 + 1e-9 * current.excess;
        granted[k] = t.power_w;
        let full = evaluate(&granted)?;
        if full.excess <= current.excess + tolerance {
            allocations.push(Allocation {
                id: t.id,
                requested_w: t.power_w,
                granted_w: t.power_w,
                binding: None,
            });
            current = full;
            continue;
        }
        let binding = full
            .violations
            .iter()
            .filter(|(name, e)| {
                current
                    .violations
                    .iter()
                    .find(|(n, _)| n == name)
                    .is_none_or(|(_, before)| e > before)
            })
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(name, _)| name.clone());
        // Largest share that does not worsen the violations, to within 1 W.
        let (mut lo, mut hi) = (0.0, t.power_w);
        let mut best = None;
        while hi - lo > 1.0 {
            let mid = 0.5 * (lo + hi);
            granted[k] = mid;
            let e = evaluate(&granted)?;
            if e.excess <= current.excess + tolerance {
                lo = mid;
                best = Some(e);
            } else {
                hi = mid;
            }
        }
        granted[k] = lo;
        if let Some(e) = best {
            current = e;
        }
        allocations.push(Allocation {
            id: t.id,
            requested_w: t.power_w,
            granted_w: lo,
            binding,
        });
    }
    let cell_flows = sites
        .iter()
        .filter_map(|s| {
            s.connection.map(|c| CellFlow {
                cell: s.cell.clone(),
                import_w: connection_import_w(case, &current.flows, c),
            })
        })
        .collect();
    Ok(PoolReport {
        allocations,
        flows: current.flows,
        cell_flows,
        base_violations,
    })
}

/// Power into the cell through its connection branch, W.
fn connection_import_w(
    case: &Case,
    flows: &PowerFlowResult,
    (branch, cell_bus): (usize, u32),
) -> f64 {
    let b = &flows.branches[branch];
    let at_cell = if case.branches[branch].to == cell_bus {
        b.p_to_mw
    } else {
        b.p_from_mw
    };
    -at_cell * 1e6
}

/// Every limit exceeded, with its excess in comparable units (% loading, % voltage, % of the cell limit).
fn violations(
    case: &Case,
    sites: &[CellSite],
    flows: &PowerFlowResult,
    limits: &Limits,
) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    for (b, r) in case.branches.iter().zip(&flows.branches) {
        if let Some(loading) = r.loading
            && loading > limits.max_loading_percent
        {
            out.push((
                format!(
                    "branch {}–{} loading {:.1} % > {} %",
                    b.from, b.to, loading, limits.max_loading_percent
                ),
                loading - limits.max_loading_percent,
            ));
        }
    }
    if limits.voltage_band {
        for (bus, r) in case.buses.iter().zip(&flows.buses) {
            if r.vm_pu > 0.0 && bus.vmin_pu > 0.0 && r.vm_pu < bus.vmin_pu {
                out.push((
                    format!(
                        "bus {} voltage {:.4} p.u. < {}",
                        bus.id, r.vm_pu, bus.vmin_pu
                    ),
                    (bus.vmin_pu - r.vm_pu) * 100.0,
                ));
            }
            if bus.vmax_pu > 0.0 && r.vm_pu > bus.vmax_pu {
                out.push((
                    format!(
                        "bus {} voltage {:.4} p.u. > {}",
                        bus.id, r.vm_pu, bus.vmax_pu
                    ),
                    (r.vm_pu - bus.vmax_pu) * 100.0,
                ));
            }
        }
    }
    for s in sites {
        let Some(connection) = s.connection else {
            continue;
        };
        let import = connection_import_w(case, flows, connection);
        if import > s.max_import_w {
            out.push((
                format!(
                    "cell {} import {:.1} kW > {:.1} kW",
                    s.cell,
                    import / 1e3,
                    s.max_import_w / 1e3
                ),
                (import - s.max_import_w) / s.max_import_w.max(1.0) * 100.0,
            ));
        }
        if -import > s.max_export_w {
            out.push((
                format!(
                    "cell {} export {:.1} kW > {:.1} kW",
                    s.cell,
                    -import / 1e3,
                    s.max_export_w / 1e3
                ),
                (-import - s.max_export_w) / s.max_export_w.max(1.0) * 100.0,
            ));
        }
    }
    out
}
