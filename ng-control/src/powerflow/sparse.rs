//! Sparse LU for the Newton–Raphson Jacobian, written for its structure rather than taken from a general
//! sparse library: the Jacobian's pattern is the bus admittance matrix's, each bus contributing one unknown (a
//! PV bus: its angle) or two (a PQ bus: angle and magnitude). So the ordering and the symbolic factorisation
//! work on the bus graph, once per case:
//!
//! - **ordering**: minimum degree on the bus graph (eliminate the bus with the fewest neighbours, join its
//!   neighbours, repeat) — the classic fill-reducing order, which on radial feeders eliminates from the leaves
//!   and gives no fill at all, and on meshed grids keeps the factors a small multiple of the matrix;
//! - **symbolic**: the elimination of the ordered bus graph gives the filled pattern, expanded to unknowns
//!   (a bus's two unknowns are a dense 2×2 block);
//! - **numeric**: right-looking LU in that order over rows stored sparse with their filled pattern, without
//!   pivoting. Power-flow Jacobians of solvable cases have non-singular diagonal blocks (the derivative of a
//!   bus's P by its own angle and of its Q by its own magnitude dominate), and a pivot that vanishes anyway is
//!   reported as a singular Jacobian.
//!
//! Why not a general crate: the pattern is fixed per case and symmetric, the blocks are tiny, and the whole
//! factorisation is a hundred lines; a general sparse solver (`faer`'s, for instance) would add a large
//! dependency tree to build on every machine for no gain on this structure.

use std::collections::{BTreeSet, BinaryHeap};

/// The filled pattern of the Jacobian in elimination order, and its values.
pub(crate) struct SparseLu {
    /// For each row (unknown, in elimination order): its columns, sorted, filled pattern.
    cols: Vec<Vec<usize>>,
    /// The values at those columns.
    vals: Vec<Vec<f64>>,
    /// Where each row's diagonal sits in `cols[row]`.
    diag: Vec<usize>,
}

/// The elimination order of a graph of `n` nodes with adjacency `adjacent` (no self loops), by minimum
/// degree; returns the order and, for each node, its neighbours later in the order in the filled graph.
pub(crate) fn minimum_degree(adjacent: &[Vec<usize>]) -> (Vec<usize>, Vec<Vec<usize>>) {
    let n = adjacent.len();
    let mut graph: Vec<BTreeSet<usize>> = adjacent
        .iter()
        .enumerate()
        .map(|(i, a)| a.iter().copied().filter(|&j| j != i).collect())
        .collect();
    let mut heap: BinaryHeap<std::cmp::Reverse<(usize, usize)>> = graph
        .iter()
        .enumerate()
        .map(|(i, a)| std::cmp::Reverse((a.len(), i)))
        .collect();
    let mut eliminated = vec![false; n];
    let mut order = Vec::with_capacity(n);
    let mut later = vec![Vec::new(); n];
    while let Some(std::cmp::Reverse((degree, node))) = heap.pop() {
        let Some(neighbours) = graph.get(node) else {
            continue;
        };
        if eliminated.get(node).copied().unwrap_or(true) || neighbours.len() != degree {
            continue; // a stale entry
        }
        let neighbours: Vec<usize> = neighbours.iter().copied().collect();
        if let Some(slot) = eliminated.get_mut(node) {
            *slot = true;
        }
        order.push(node);
        for &a in &neighbours {
            if let Some(set) = graph.get_mut(a) {
                set.remove(&node);
                set.extend(neighbours.iter().copied().filter(|&b| b != a));
                heap.push(std::cmp::Reverse((set.len(), a)));
            }
        }
        if let Some(slot) = later.get_mut(node) {
            *slot = neighbours;
        }
        if let Some(set) = graph.get_mut(node) {
            set.clear();
        }
    }
    (order, later)
}

impl SparseLu {
    /// The structure for a matrix whose unknowns come in groups (`group_of[u]` is the group of unknown `u`,
    /// groups already in elimination order, a group's unknowns consecutive) with the filled group pattern
    /// `later[g]` (the groups after `g` that `g` connects to, in the filled graph).
    pub(crate) fn new(first_unknown: &[usize], later_groups: &[Vec<usize>]) -> SparseLu {
        let groups = later_groups.len();
        let unknowns = first_unknown.get(groups).copied().unwrap_or(0);
        // Symmetric pattern: row u holds every unknown of its own group and of the groups connected to it,
        // before (they list u's group as later) and after.
        let mut connected: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); groups];
        for (g, later) in later_groups.iter().enumerate() {
            for &h in later {
                if let Some(set) = connected.get_mut(g) {
                    set.insert(h);
                }
                if let Some(set) = connected.get_mut(h) {
                    set.insert(g);
                }
            }
            if let Some(set) = connected.get_mut(g) {
                set.insert(g);
            }
        }
        let range = |g: usize| {
            let start = first_unknown.get(g).copied().unwrap_or(0);
            let end = first_unknown
                .get(g.saturating_add(1))
                .copied()
                .unwrap_or(start);
            start..end
        };
        let mut cols = Vec::with_capacity(unknowns);
        let mut diag = Vec::with_capacity(unknowns);
        for (g, set) in connected.iter().enumerate() {
            let row: Vec<usize> = set.iter().flat_map(|&h| range(h)).collect();
            for u in range(g) {
                diag.push(row.binary_search(&u).unwrap_or(0));
                cols.push(row.clone());
            }
        }
        let vals = cols.iter().map(|c| vec![0.0; c.len()]).collect();
        SparseLu { cols, vals, diag }
    }

    /// The position of `(row, col)` in the pattern, if it is there.
    pub(crate) fn position(&self, row: usize, col: usize) -> Option<usize> {
        self.cols.get(row)?.binary_search(&col).ok()
    }

    /// Sets every value to zero.
    pub(crate) fn clear(&mut self) {
        self.vals.iter_mut().for_each(|r| r.fill(0.0));
    }

    /// Adds `value` at `(row, position)` (a position from [`SparseLu::position`]).
    pub(crate) fn add(&mut self, row: usize, position: usize, value: f64) {
        if let Some(v) = self.vals.get_mut(row).and_then(|r| r.get_mut(position)) {
            *v += value;
        }
    }

    /// Factorises in place (L unit lower and U in the same rows); false when a pivot vanishes.
    pub(crate) fn factorise(&mut self) -> bool {
        let n = self.cols.len();
        let scale = self
            .vals
            .iter()
            .flatten()
            .fold(0.0f64, |m, v| m.max(v.abs()))
            .max(f64::MIN_POSITIVE);
        for k in 0..n {
            let (Some(&dk), Some(row_k_cols)) = (self.diag.get(k), self.cols.get(k)) else {
                return false;
            };
            let pivot = self
                .vals
                .get(k)
                .and_then(|r| r.get(dk))
                .copied()
                .unwrap_or(0.0);
            // NaN fails too.
            if pivot.abs().is_nan() || pivot.abs() <= scale * 1e-14 {
                return false;
            }
            // The rows below k with an entry in column k: by symmetry of the pattern, the columns after k in
            // row k.
            let upper_cols: Vec<usize> = row_k_cols
                .get(dk.saturating_add(1)..)
                .unwrap_or(&[])
                .to_vec();
            let upper_vals: Vec<f64> = self
                .vals
                .get(k)
                .and_then(|r| r.get(dk.saturating_add(1)..))
                .unwrap_or(&[])
                .to_vec();
            for &i in &upper_cols {
                let (Some(cols_i), Some(vals_i)) = (self.cols.get(i), self.vals.get_mut(i)) else {
                    return false;
                };
                let Ok(pk) = cols_i.binary_search(&k) else {
                    continue;
                };
                let Some(slot) = vals_i.get_mut(pk) else {
                    continue;
                };
                if *slot == 0.0 {
                    continue;
                }
                let factor = *slot / pivot;
                *slot = factor;
                // Row i's pattern after k holds row k's (the fill property): merge the sorted lists.
                let mut p = pk.saturating_add(1);
                for (&j, &ukj) in upper_cols.iter().zip(&upper_vals) {
                    while cols_i.get(p).is_some_and(|&c| c < j) {
                        p = p.saturating_add(1);
                    }
                    if cols_i.get(p) != Some(&j) {
                        return false; // not the filled pattern: cannot happen for patterns from `new`
                    }
                    if let Some(v) = vals_i.get_mut(p) {
                        *v -= factor * ukj;
                    }
                }
            }
        }
        true
    }

    /// Solves `A x = b` with the factors (`b` becomes `x`).
    pub(crate) fn solve(&self, b: &mut [f64]) {
        let n = self.cols.len();
        for i in 0..n {
            let (Some(cols), Some(vals), Some(&d)) =
                (self.cols.get(i), self.vals.get(i), self.diag.get(i))
            else {
                continue;
            };
            let mut x = b.get(i).copied().unwrap_or(0.0);
            for (&j, &l) in cols.iter().zip(vals).take(d) {
                x -= l * b.get(j).copied().unwrap_or(0.0);
            }
            if let Some(slot) = b.get_mut(i) {
                *slot = x;
            }
        }
        for i in (0..n).rev() {
            let (Some(cols), Some(vals), Some(&d)) =
                (self.cols.get(i), self.vals.get(i), self.diag.get(i))
            else {
                continue;
            };
            let mut x = b.get(i).copied().unwrap_or(0.0);
            for (&j, &u) in cols.iter().zip(vals).skip(d.saturating_add(1)) {
                x -= u * b.get(j).copied().unwrap_or(0.0);
            }
            let pivot = vals.get(d).copied().unwrap_or(1.0);
            if let Some(slot) = b.get_mut(i) {
                *slot = x / pivot;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn a_small_system_solves_like_the_dense_one() {
        // A 4-group chain with fill: groups 0-1-2-3 and a tie 0-3; groups of sizes 1, 2, 1, 2.
        let adjacent = vec![vec![1, 3], vec![0, 2], vec![1, 3], vec![2, 0]];
        let (order, later) = minimum_degree(&adjacent);
        assert_eq!(order.len(), 4);
        let sizes = [1usize, 2, 1, 2];
        let mut position_of = [0; 4];
        for (p, &g) in order.iter().enumerate() {
            position_of[g] = p;
        }
        let mut first = vec![0];
        for &g in &order {
            first.push(first.last().unwrap() + sizes[g]);
        }
        let later_in_order: Vec<Vec<usize>> = order
            .iter()
            .map(|&g| later[g].iter().map(|&h| position_of[h]).collect())
            .collect();
        let mut lu = SparseLu::new(&first, &later_in_order);
        let n = *first.last().unwrap();
        // A diagonally dominant matrix on the full pattern.
        let mut dense = vec![0.0; n * n];
        for i in 0..n {
            for (p, &j) in lu.cols[i].clone().iter().enumerate() {
                let v = if i == j {
                    10.0 + i as f64
                } else {
                    1.0 + ((i * 7 + j * 3) % 5) as f64
                };
                lu.add(i, p, v);
                dense[i * n + j] = v;
            }
        }
        let b: Vec<f64> = (0..n).map(|i| i as f64 - 2.5).collect();
        let mut x = b.clone();
        assert!(lu.factorise());
        lu.solve(&mut x);
        let mut y = b;
        assert!(super::super::dense::solve(&mut dense, &mut y, n));
        for (a, b) in x.iter().zip(&y) {
            assert!((a - b).abs() < 1e-12, "{x:?} {y:?}");
        }
    }
}
