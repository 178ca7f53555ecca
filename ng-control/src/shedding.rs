//! Optimal load shedding (the load-shedding service of the demonstration complex): cover a power shortfall at
//! the least priority-weighted cost, with switchable loads (all or nothing) and curtailable loads (any part),
//! and network limits as minimum sheds per feeder. Exact by branch and bound over the switchable loads (tens of
//! them); curtailable loads are filled cheapest first, feeder minimums before the total.
//!
//! ```
//! use ng_control::shedding::{Load, LoadKind, Request, plan};
//! let loads = vec![
//!     Load { id: "heater".into(), feeder: None, power_w: 2000.0, weight: 1.0, kind: LoadKind::Switchable },
//!     Load { id: "pump".into(), feeder: None, power_w: 1500.0, weight: 1.0, kind: LoadKind::Switchable },
//!     Load { id: "hvac".into(), feeder: None, power_w: 3000.0, weight: 2.0, kind: LoadKind::Curtailable },
//! ];
//! let p = plan(&loads, &Request { shortfall_w: 1500.0, feeder_minimums: vec![] })?;
//! assert_eq!(p.actions, vec![("pump".to_string(), 1500.0)]);
//! # Ok::<(), ng_control::Error>(())
//! ```

use crate::error::{Error, Result};

/// The most switchable loads the exact search takes.
pub const MAX_SWITCHABLE: usize = 64;
const MAX_NODES: u64 = 20_000_000;

/// How a load can be shed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadKind {
    /// Switched off whole.
    Switchable,
    /// Reduced by any amount up to its power.
    Curtailable,
}

/// A load that may be shed.
#[derive(Debug, Clone, PartialEq)]
pub struct Load {
    /// Its id.
    pub id: String,
    /// The feeder it hangs on, for feeder minimums.
    pub feeder: Option<String>,
    /// Power that shedding removes, W.
    pub power_w: f64,
    /// Priority weight: the cost of shedding one watt (higher is more important to keep).
    pub weight: f64,
    /// How it can be shed.
    pub kind: LoadKind,
}

/// What must be shed.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The total shortfall, W.
    pub shortfall_w: f64,
    /// Feeders that must each be relieved by at least this much, W.
    pub feeder_minimums: Vec<(String, f64)>,
}

/// The least-cost plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// `(load id, watts shed)`, in the order the loads were given.
    pub actions: Vec<(String, f64)>,
    /// Total shed, W.
    pub shed_w: f64,
    /// Σ weight × watts shed.
    pub cost: f64,
    /// Search nodes explored.
    pub nodes: u64,
}

struct Item {
    index: usize,
    power: f64,
    weight: f64,
    feeder: Option<usize>,
}

struct Search {
    switchable: Vec<Item>,
    curtailable: Vec<Item>,
    minimums: Vec<f64>,
    shortfall: f64,
    best_cost: f64,
    best: Option<(Vec<bool>, Vec<f64>)>,
    chosen: Vec<bool>,
    nodes: u64,
}

/// Finds the least-cost plan; an error when no plan covers the request or the search is too large.
pub fn plan(loads: &[Load], request: &Request) -> Result<Plan> {
    let invalid = |what: String| Err(Error::CaseData(what));
    if !(request.shortfall_w.is_finite() && request.shortfall_w >= 0.0) {
        return invalid(format!("shortfall {} W", request.shortfall_w));
    }
    let feeders: Vec<&str> = request
        .feeder_minimums
        .iter()
        .map(|(f, _)| f.as_str())
        .collect();
    let feeder_of = |l: &Load| {
        l.feeder
            .as_deref()
            .and_then(|f| feeders.iter().position(|g| *g == f))
    };
    let mut switchable = Vec::new();
    let mut curtailable = Vec::new();
    for (index, l) in loads.iter().enumerate() {
        if !(l.power_w.is_finite() && l.power_w >= 0.0 && l.weight.is_finite() && l.weight >= 0.0) {
            return invalid(format!(
                "load {}: power and weight must be finite and not negative",
                l.id
            ));
        }
        let item = Item {
            index,
            power: l.power_w,
            weight: l.weight,
            feeder: feeder_of(l),
        };
        match l.kind {
            LoadKind::Switchable => switchable.push(item),
            LoadKind::Curtailable => curtailable.push(item),
        }
    }
    if switchable.len() > MAX_SWITCHABLE {
        return invalid(format!(
            "at most {MAX_SWITCHABLE} switchable loads, not {}",
            switchable.len()
        ));
    }
    switchable.sort_by(|a, b| {
        a.weight
            .total_cmp(&b.weight)
            .then(b.power.total_cmp(&a.power))
    });
    curtailable.sort_by(|a, b| a.weight.total_cmp(&b.weight));
    let n = switchable.len();
    let mut s = Search {
        switchable,
        curtailable,
        minimums: request.feeder_minimums.iter().map(|(_, m)| *m).collect(),
        shortfall: request.shortfall_w,
        best_cost: f64::INFINITY,
        best: None,
        chosen: vec![false; n],
        nodes: 0,
    };
    s.descend(0, 0.0)?;
    let Some((chosen, curtailed)) = s.best.take() else {
        return Err(Error::Unsupported {
            method: "load shedding",
            reason: "the sheddable loads cannot cover the shortfall and feeder minimums".into(),
        });
    };
    let mut shed = vec![0.0; loads.len()];
    for (item, on) in s.switchable.iter().zip(&chosen) {
        if *on {
            shed[item.index] = item.power;
        }
    }
    for (item, amount) in s.curtailable.iter().zip(&curtailed) {
        shed[item.index] = *amount;
    }
    let actions: Vec<(String, f64)> = loads
        .iter()
        .zip(&shed)
        .filter(|(_, w)| **w > 0.0)
        .map(|(l, w)| (l.id.clone(), *w))
        .collect();
    let shed_w = shed.iter().sum();
    let cost = loads.iter().zip(&shed).map(|(l, w)| l.weight * w).sum();
    Ok(Plan {
        actions,
        shed_w,
        cost,
        nodes: s.nodes,
    })
}

impl Search {
    fn descend(&mut self, depth: usize, cost: f64) -> Result<()> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(Error::Unsupported {
                method: "load shedding",
                reason: format!(
                    "the exact search passed {MAX_NODES} nodes; group loads or shed in stages"
                ),
            });
        }
        if cost + self.bound(depth) >= self.best_cost {
            return Ok(());
        }
        if depth == self.switchable.len() {
            if let Some((extra, curtailed)) = self.fill_curtailable()
                && cost + extra < self.best_cost
            {
                self.best_cost = cost + extra;
                self.best = Some((self.chosen.clone(), curtailed));
            }
            return Ok(());
        }
        let item_cost = self.switchable[depth].weight * self.switchable[depth].power;
        self.chosen[depth] = true;
        self.descend(depth + 1, cost + item_cost)?;
        self.chosen[depth] = false;
        self.descend(depth + 1, cost)
    }

    fn shed_so_far(&self, depth: usize) -> (f64, Vec<f64>) {
        let mut per_feeder = vec![0.0; self.minimums.len()];
        let mut total = 0.0;
        for (item, on) in self.switchable.iter().zip(&self.chosen).take(depth) {
            if *on {
                total += item.power;
                if let Some(f) = item.feeder {
                    per_feeder[f] += item.power;
                }
            }
        }
        (total, per_feeder)
    }

    /// A lower bound on the cost still to come: the remaining total need covered fractionally by the cheapest
    /// remaining capacity (switchable or curtailable), feeder minimums relaxed. Infinite when nothing can
    /// cover it.
    fn bound(&self, depth: usize) -> f64 {
        let (total, per_feeder) = self.shed_so_far(depth);
        let mut need = (self.shortfall - total).max(0.0);
        for (f, min) in self.minimums.iter().enumerate() {
            let reachable: f64 = self
                .switchable
                .iter()
                .skip(depth)
                .chain(&self.curtailable)
                .filter(|i| i.feeder == Some(f))
                .map(|i| i.power)
                .sum();
            if per_feeder[f] + reachable < *min - 1e-9 {
                return f64::INFINITY;
            }
        }
        let mut rest: Vec<&Item> = self
            .switchable
            .iter()
            .skip(depth)
            .chain(&self.curtailable)
            .collect();
        rest.sort_by(|a, b| a.weight.total_cmp(&b.weight));
        let mut cost = 0.0;
        for i in rest {
            if need <= 0.0 {
                break;
            }
            let take = i.power.min(need);
            cost += take * i.weight;
            need -= take;
        }
        if need > 1e-9 { f64::INFINITY } else { cost }
    }

    /// Covers what the chosen switchable loads leave with curtailable loads: each feeder's minimum from its own
    /// cheapest loads first, then the total from the cheapest capacity left.
    fn fill_curtailable(&self) -> Option<(f64, Vec<f64>)> {
        let (mut total, per_feeder) = self.shed_so_far(self.switchable.len());
        let mut amounts = vec![0.0; self.curtailable.len()];
        let mut cost = 0.0;
        for (f, min) in self.minimums.iter().enumerate() {
            let mut need = (min - per_feeder[f]).max(0.0);
            for (k, item) in self
                .curtailable
                .iter()
                .enumerate()
                .filter(|(_, i)| i.feeder == Some(f))
            {
                if need <= 0.0 {
                    break;
                }
                let take = item.power.min(need);
                amounts[k] += take;
                cost += take * item.weight;
                need -= take;
                total += take;
            }
            if need > 1e-9 {
                return None;
            }
        }
        let mut need = (self.shortfall - total).max(0.0);
        for (k, item) in self.curtailable.iter().enumerate() {
            if need <= 0.0 {
                break;
            }
            let take = (item.power - amounts[k]).min(need);
            amounts[k] += take;
            cost += take * item.weight;
            need -= take;
        }
        if need > 1e-9 {
            return None;
        }
        Some((cost, amounts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sw(id: &str, power_w: f64, weight: f64) -> Load {
        Load {
            id: id.into(),
            feeder: None,
            power_w,
            weight,
            kind: LoadKind::Switchable,
        }
    }

    #[test]
    fn beats_greedy_on_a_knapsack_trap() {
        // Greedy by weight takes a (cheapest per watt) then must add c; the optimum is b alone.
        let loads = vec![
            sw("a", 600.0, 1.0),
            sw("b", 1000.0, 1.05),
            sw("c", 600.0, 1.1),
        ];
        let p = plan(
            &loads,
            &Request {
                shortfall_w: 1000.0,
                feeder_minimums: vec![],
            },
        )
        .unwrap();
        assert_eq!(p.actions, vec![("b".to_string(), 1000.0)]);
        assert!((p.cost - 1050.0).abs() < 1e-9);
    }

    #[test]
    fn feeder_minimums_are_met() {
        let mut loads = vec![sw("cheap", 2000.0, 1.0), sw("f1-load", 800.0, 3.0)];
        loads[1].feeder = Some("f1".into());
        loads.push(Load {
            id: "f1-hvac".into(),
            feeder: Some("f1".into()),
            power_w: 1000.0,
            weight: 2.0,
            kind: LoadKind::Curtailable,
        });
        let req = Request {
            shortfall_w: 1500.0,
            feeder_minimums: vec![("f1".into(), 500.0)],
        };
        let p = plan(&loads, &req).unwrap();
        assert_eq!(
            p.actions,
            vec![
                ("cheap".to_string(), 2000.0),
                ("f1-hvac".to_string(), 500.0)
            ]
        );
        let impossible = Request {
            shortfall_w: 100.0,
            feeder_minimums: vec![("f1".into(), 5000.0)],
        };
        assert!(plan(&loads, &impossible).is_err());
    }

    /// Tiny deterministic generator for the brute-force comparison.
    fn lcg(state: &mut u64) -> f64 {
        *state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (*state >> 11) as f64 / (1u64 << 53) as f64
    }

    #[test]
    fn matches_brute_force_on_random_instances() {
        let mut seed = 42u64;
        for case in 0..200 {
            let n = 2 + (0..10).take_while(|_| lcg(&mut seed) < 0.85).count();
            let loads: Vec<Load> = (0..n)
                .map(|i| Load {
                    id: format!("l{i}"),
                    feeder: None,
                    power_w: (100.0 + lcg(&mut seed) * 900.0).round(),
                    weight: (1.0 + lcg(&mut seed) * 4.0 * 100.0).round() / 100.0,
                    kind: if lcg(&mut seed) < 0.3 {
                        LoadKind::Curtailable
                    } else {
                        LoadKind::Switchable
                    },
                })
                .collect();
            let total: f64 = loads.iter().map(|l| l.power_w).sum();
            let shortfall = (total * lcg(&mut seed)).round();
            let p = plan(
                &loads,
                &Request {
                    shortfall_w: shortfall,
                    feeder_minimums: vec![],
                },
            )
            .unwrap();
            // Brute force: every subset of switchables, curtailables greedily.
            let sws: Vec<&Load> = loads
                .iter()
                .filter(|l| l.kind == LoadKind::Switchable)
                .collect();
            let mut cus: Vec<&Load> = loads
                .iter()
                .filter(|l| l.kind == LoadKind::Curtailable)
                .collect();
            cus.sort_by(|a, b| a.weight.total_cmp(&b.weight));
            let mut best = f64::INFINITY;
            for mask in 0u32..(1 << sws.len()) {
                let (mut shed, mut cost) = (0.0, 0.0);
                for (k, l) in sws.iter().enumerate() {
                    if mask & (1 << k) != 0 {
                        shed += l.power_w;
                        cost += l.power_w * l.weight;
                    }
                }
                let mut need = (shortfall - shed).max(0.0);
                for l in &cus {
                    let take = l.power_w.min(need);
                    cost += take * l.weight;
                    need -= take;
                }
                if need <= 1e-9 {
                    best = best.min(cost);
                }
            }
            assert!(
                (p.cost - best).abs() < 1e-6,
                "case {case}: {} vs {best}",
                p.cost
            );
            assert!(p.shed_w >= shortfall - 1e-6);
        }
    }
}
