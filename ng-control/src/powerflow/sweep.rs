//! Backward/forward sweep for radial networks: load currents are summed from the leaves to the slack, then
//! voltages are dropped from the slack to the leaves, until no voltage moves by more than the tolerance.
//! Handles constant-power loads and generation, bus shunts and line charging; PV buses, off-nominal taps and
//! meshes are for Newton–Raphson.

use super::network::Network;
use crate::error::{Error, Result};
use num_complex::Complex64;

const METHOD: &str = "backward/forward sweep";

/// The tree of a radial network: buses from the slack outwards, each with its parent and the branch to it.
pub(crate) struct Tree {
    order: Vec<usize>,
    parent: Vec<Option<(usize, usize)>>,
}

/// Why the network is not a radial one the sweep can solve, if it is not.
pub(crate) fn tree(net: &Network) -> Result<Tree> {
    let unsupported = |reason: String| Error::Unsupported {
        method: METHOD,
        reason,
    };
    if !net.pv.is_empty() {
        return Err(unsupported(format!(
            "{} PV buses need Newton-Raphson",
            net.pv.len()
        )));
    }
    if let Some(b) = net.branches.iter().find(|b| !b.nominal) {
        return Err(unsupported(format!(
            "branch {} has an off-nominal tap or phase shift",
            b.case_index + 1
        )));
    }
    if net.branches.len() + 1 != net.len() {
        return Err(unsupported(format!(
            "{} branches for {} buses: the network is meshed, not radial",
            net.branches.len(),
            net.len()
        )));
    }
    let adj = net.adjacency();
    let mut parent = vec![None; net.len()];
    let mut order = Vec::with_capacity(net.len());
    let mut seen = vec![false; net.len()];
    seen[net.slack] = true;
    order.push(net.slack);
    let mut next = 0;
    while let Some(&k) = order.get(next) {
        next += 1;
        for &(m, branch) in &adj[k] {
            if !seen[m] {
                seen[m] = true;
                parent[m] = Some((k, branch));
                order.push(m);
            }
        }
    }
    Ok(Tree { order, parent })
}

pub(crate) fn solve(
    net: &Network,
    tree: &Tree,
    tolerance_pu: f64,
    max_iterations: usize,
) -> Result<(Vec<Complex64>, usize)> {
    let mut shunt = net.shunt.clone();
    for b in &net.branches {
        let half = Complex64::new(0.0, b.charging / 2.0);
        shunt[b.from] += half;
        shunt[b.to] += half;
    }
    let mut v = net.v0.clone();
    let mut current = vec![Complex64::new(0.0, 0.0); net.len()];
    let mut change = f64::INFINITY;
    for iteration in 1..=max_iterations {
        // Current drawn at each bus by its load, generation (negative) and shunts.
        for k in 0..net.len() {
            current[k] = (-net.sbus[k] / v[k]).conj() + shunt[k] * v[k];
        }
        // Backward: each bus passes its subtree's current to its parent.
        for &k in tree.order.iter().rev() {
            if let Some((p, _)) = tree.parent[k] {
                let c = current[k];
                current[p] += c;
            }
        }
        // Forward: each bus sits one branch drop below its parent.
        change = 0.0;
        for &k in &tree.order {
            if let Some((p, branch)) = tree.parent[k] {
                let updated = v[p] - net.branches[branch].series_z * current[k];
                change = change.max((updated - v[k]).norm());
                v[k] = updated;
            }
        }
        if !change.is_finite() {
            break;
        }
        if change < tolerance_pu {
            return Ok((v, iteration));
        }
    }
    Err(Error::NotConverged {
        method: METHOD,
        iterations: max_iterations,
        mismatch: change,
    })
}
