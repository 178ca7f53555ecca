//! The electrical network of the model: buses and branches in per unit, the islands they form, and one
//! power flow per energised island (`ng_control::powerflow`), with the island's voltage source as its slack.

use crate::error::Result;
use ng_control::powerflow::{self, Options};
use ng_control::{Branch, Bus, BusType, Case, Generator};

/// A bus of the model.
#[derive(Debug, Clone, PartialEq)]
pub struct NetBus {
    /// Its name.
    pub name: String,
    /// Nominal voltage, kV.
    pub kv: f64,
    /// A DC bus.
    pub dc: bool,
    /// Its island.
    pub island: usize,
    /// Voltage from the last power flow, p.u. (0 when de-energised).
    pub vm_pu: f64,
}

/// A line or transformer of the model.
#[derive(Debug, Clone, PartialEq)]
pub struct NetBranch {
    /// Its name.
    pub name: String,
    /// From bus index.
    pub from: usize,
    /// To bus index.
    pub to: usize,
    /// Resistance on the model's base, p.u.
    pub r_pu: f64,
    /// Reactance on the model's base, p.u.
    pub x_pu: f64,
    /// Active power into the branch at the from end, W.
    pub p_from_w: f64,
    /// Reactive power into the branch at the from end, var.
    pub q_from_var: f64,
    /// Active power lost in the branch (what enters it at both ends), W.
    pub loss_w: f64,
}

/// Groups buses into islands: connected components over the branches. Returns each bus's island and the
/// number of islands.
pub fn islands(buses: usize, branches: &[NetBranch]) -> (Vec<usize>, usize) {
    let mut parent: Vec<usize> = (0..buses).collect();
    fn root(parent: &mut [usize], mut x: usize) -> usize {
        while let Some(&p) = parent.get(x) {
            if p == x {
                break;
            }
            let grand = parent.get(p).copied().unwrap_or(p);
            if let Some(slot) = parent.get_mut(x) {
                *slot = grand;
            }
            x = grand;
        }
        x
    }
    for b in branches {
        let (a, c) = (root(&mut parent, b.from), root(&mut parent, b.to));
        if let Some(slot) = parent.get_mut(a) {
            *slot = c;
        }
    }
    let mut id = vec![usize::MAX; buses];
    let mut count = 0usize;
    let mut of_root = vec![usize::MAX; buses];
    for bus in 0..buses {
        let r = root(&mut parent, bus);
        let assigned = match of_root.get(r).copied() {
            Some(i) if i != usize::MAX => i,
            _ => {
                if let Some(slot) = of_root.get_mut(r) {
                    *slot = count;
                }
                count = count.saturating_add(1);
                count.saturating_sub(1)
            }
        };
        if let Some(slot) = id.get_mut(bus) {
            *slot = assigned;
        }
    }
    (id, count)
}

/// The solved state of one island.
#[derive(Debug, Clone, PartialEq)]
pub struct IslandFlow {
    /// Voltage per bus of the island, in the order given.
    pub vm_pu: Vec<f64>,
    /// Flows per branch of the island `(p_from_w, q_from_var, loss_w)`, in the order given.
    pub branch_flows: Vec<(f64, f64, f64)>,
    /// What the slack delivers, W.
    pub slack_p_w: f64,
    /// What the slack delivers, var.
    pub slack_q_var: f64,
}

/// Solves one island: `buses` (model indices) with `injection_w[k]`, `injection_var[k]` delivered into each,
/// `slack` (a position in `buses`) holding `slack_vm_pu`, and the island's `branches` (model indices).
#[allow(clippy::too_many_arguments)]
pub fn solve_island(
    base_mva: f64,
    all_buses: &[NetBus],
    all_branches: &[NetBranch],
    buses: &[usize],
    branches: &[usize],
    injection_w: &[f64],
    injection_var: &[f64],
    slack: usize,
    slack_vm_pu: f64,
) -> Result<IslandFlow> {
    let local = |model_bus: usize| buses.iter().position(|b| *b == model_bus);
    let id = |k: usize| u32::try_from(k.saturating_add(1)).unwrap_or(u32::MAX);
    let mut case = Case {
        base_mva,
        buses: Vec::with_capacity(buses.len()),
        generators: Vec::new(),
        branches: Vec::with_capacity(branches.len()),
    };
    for (k, b) in buses.iter().enumerate() {
        let kv = all_buses.get(*b).map_or(1.0, |x| x.kv);
        let p = injection_w.get(k).copied().unwrap_or(0.0);
        let q = injection_var.get(k).copied().unwrap_or(0.0);
        case.buses.push(Bus {
            id: id(k),
            bus_type: if k == slack {
                BusType::Reference
            } else {
                BusType::Pq
            },
            pd_mw: -p / 1e6,
            qd_mvar: -q / 1e6,
            gs_mw: 0.0,
            bs_mvar: 0.0,
            vm_pu: if k == slack { slack_vm_pu } else { 1.0 },
            va_deg: 0.0,
            base_kv: kv,
            vmax_pu: 1.1,
            vmin_pu: 0.9,
        });
    }
    case.generators.push(Generator {
        bus: id(slack),
        pg_mw: 0.0,
        qg_mvar: 0.0,
        vg_pu: slack_vm_pu,
        in_service: true,
    });
    for br in branches {
        let Some(b) = all_branches.get(*br) else {
            continue;
        };
        let (Some(f), Some(t)) = (local(b.from), local(b.to)) else {
            continue;
        };
        case.branches.push(Branch {
            from: id(f),
            to: id(t),
            r_pu: b.r_pu,
            x_pu: b.x_pu,
            b_pu: 0.0,
            rate_a_mva: 0.0,
            ratio: 0.0,
            shift_deg: 0.0,
            in_service: true,
        });
    }
    let solved = powerflow::solve(&case, &Options::default())?;
    // Reference-bus load is part of what the slack supplies: the solver reports the generator's output.
    Ok(IslandFlow {
        vm_pu: solved.buses.iter().map(|b| b.vm_pu).collect(),
        branch_flows: solved
            .branches
            .iter()
            .map(|b| {
                (
                    b.p_from_mw * 1e6,
                    b.q_from_mvar * 1e6,
                    (b.p_from_mw + b.p_to_mw) * 1e6,
                )
            })
            .collect(),
        slack_p_w: solved.slack_p_mw * 1e6,
        slack_q_var: solved.slack_q_mvar * 1e6,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn branch(from: usize, to: usize) -> NetBranch {
        NetBranch {
            name: format!("{from}-{to}"),
            from,
            to,
            r_pu: 0.01,
            x_pu: 0.01,
            p_from_w: 0.0,
            q_from_var: 0.0,
            loss_w: 0.0,
        }
    }

    #[test]
    fn islands_are_connected_components() {
        let (id, n) = islands(5, &[branch(0, 1), branch(3, 4), branch(1, 0)]);
        assert_eq!(n, 3);
        assert_eq!(id[0], id[1]);
        assert_eq!(id[3], id[4]);
        assert_ne!(id[0], id[2]);
        assert_ne!(id[2], id[3]);
    }
}
