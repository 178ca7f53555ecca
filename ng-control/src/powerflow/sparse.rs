//! Sparse LU for the Newton–Raphson Jacobian, written for its structure rather than taken from a general
//! sparse library. The Jacobian's pattern is the bus admittance matrix's, and each bus with unknowns owns a
//! 2×2 block of it (rows ∂P, ∂Q; columns ∂θ, ∂|V|; a PV bus, whose magnitude is fixed, gets an identity
//! magnitude row and column so every block is 2×2). So ordering, symbolic and numeric factorisation all work
//! on the bus graph:
//!
//! - **ordering**: minimum degree on the bus graph (eliminate the bus with the fewest neighbours, join its
//!   neighbours, repeat) — the classic fill-reducing order, which on radial feeders eliminates from the leaves
//!   and gives no fill at all, and on meshed grids keeps the factors a small multiple of the matrix;
//! - **symbolic**: the elimination of the ordered bus graph gives the filled block pattern;
//! - **numeric**: block row-by-row LU in that order over compressed block rows, without pivoting between
//!   blocks: each block row is scattered into a dense work row, reduced by the finished rows its lower part
//!   names, and gathered back; each diagonal block is inverted whole (2×2), so a bus's two equations pivot on
//!   each other. Power-flow Jacobians of solvable cases have non-singular diagonal blocks (a bus's P by its
//!   own angle and Q by its own magnitude dominate); one that is singular anyway is reported as a singular
//!   Jacobian.
//!
//! Why not a general crate: the pattern is fixed per case and symmetric, the blocks are 2×2, and the whole
//! factorisation is a page; a general sparse solver (`faer`'s, for instance) would add a large dependency
//! tree to build on every machine for no gain on this structure.

/// The elimination order of a graph of `n` nodes with adjacency `graph` (self loops and repeats ignored), by
/// minimum degree; returns the order and, for each node, its neighbours later in the order in the filled
/// graph.
///
/// Each node's neighbours are a sorted vector; eliminating a node joins its neighbours to each other by a
/// linear merge. The nodes wait in buckets by degree (entries left behind by a degree change are skipped when
/// met), and of the nodes of least degree the one that entered its bucket last goes first, so the order is
/// deterministic.
pub(crate) fn minimum_degree(mut graph: Vec<Vec<usize>>) -> (Vec<usize>, Vec<Vec<usize>>) {
    let n = graph.len();
    for (i, set) in graph.iter_mut().enumerate() {
        set.retain(|&j| j != i);
        set.sort_unstable();
        set.dedup();
    }
    let mut buckets: Vec<Vec<usize>> = Vec::new();
    let enter = |buckets: &mut Vec<Vec<usize>>, degree: usize, node: usize| {
        if buckets.len() <= degree {
            buckets.resize_with(degree + 1, Vec::new);
        }
        buckets[degree].push(node);
    };
    for (i, a) in graph.iter().enumerate().rev() {
        enter(&mut buckets, a.len(), i);
    }
    let mut eliminated = vec![false; n];
    let mut order = Vec::with_capacity(n);
    let mut later = vec![Vec::new(); n];
    let mut merged = Vec::new();
    let mut least = 0usize;
    while order.len() < n {
        let Some(node) = buckets.get_mut(least).and_then(Vec::pop) else {
            if least >= buckets.len() {
                break; // cannot happen: every node not yet eliminated is in its degree's bucket
            }
            least += 1;
            continue;
        };
        if eliminated[node] || graph[node].len() != least {
            continue; // left behind by a degree change
        }
        eliminated[node] = true;
        order.push(node);
        let neighbours = std::mem::take(&mut graph[node]);
        for &a in &neighbours {
            // graph[a] := (graph[a] ∪ neighbours) \ {node, a}, both sorted.
            merged.clear();
            let own = &graph[a];
            let (mut p, mut q) = (0, 0);
            loop {
                let next = match (own.get(p), neighbours.get(q)) {
                    (Some(&x), Some(&y)) if x == y => {
                        p += 1;
                        q += 1;
                        x
                    }
                    (Some(&x), Some(&y)) if x < y => {
                        p += 1;
                        x
                    }
                    (Some(_) | None, Some(&y)) => {
                        q += 1;
                        y
                    }
                    (Some(&x), None) => {
                        p += 1;
                        x
                    }
                    (None, None) => break,
                };
                if next != node && next != a {
                    merged.push(next);
                }
            }
            std::mem::swap(&mut graph[a], &mut merged);
            let degree = graph[a].len();
            enter(&mut buckets, degree, a);
            least = least.min(degree);
        }
        later[node] = neighbours;
    }
    (order, later)
}

/// A 2×2 block, row-major: `[a, b, c, d]` is `[[a, b], [c, d]]`.
pub(crate) type Block = [f64; 4];

fn mul(x: &Block, y: &Block) -> Block {
    [
        x[0] * y[0] + x[1] * y[2],
        x[0] * y[1] + x[1] * y[3],
        x[2] * y[0] + x[3] * y[2],
        x[2] * y[1] + x[3] * y[3],
    ]
}

/// The filled block pattern of the Jacobian in elimination order (compressed block rows), and its values.
pub(crate) struct BlockLu {
    /// Where each block row starts in `cols` and `vals`; one more entry than block rows.
    row_start: Vec<usize>,
    /// Each block row's block columns, sorted: the filled pattern.
    cols: Vec<usize>,
    /// The blocks at those columns: the matrix, then its factors (L unit lower and U in the same rows).
    vals: Vec<Block>,
    /// Where each row's diagonal block sits in `cols`.
    diag: Vec<usize>,
    /// The inverse of each row's diagonal block of U, once factorised.
    pivot_inverse: Vec<Block>,
    /// A dense block row the factorisation scatters into.
    work: Vec<Block>,
}

impl BlockLu {
    /// The structure for the elimination `order` of nodes `0..n` and `later[g]`, the nodes after node `g` in
    /// that order that it connects to in the filled graph (as [`minimum_degree`] gives them): block row `p`
    /// is node `order[p]`, `place[g]` the row of node `g`.
    pub(crate) fn new(order: &[usize], place: &[usize], later: &[Vec<usize>]) -> BlockLu {
        let n = order.len();
        // Symmetric pattern: row g holds the rows before it that list g as later (collected in increasing
        // order), itself, and its own later rows.
        let mut earlier_count = vec![0usize; n];
        for l in later {
            for &h in l {
                earlier_count[place[h]] += 1;
            }
        }
        let mut row_start = Vec::with_capacity(n + 1);
        let mut total = 0usize;
        for (p, &g) in order.iter().enumerate() {
            row_start.push(total);
            total += earlier_count[p] + 1 + later[g].len();
        }
        row_start.push(total);
        let mut cols = vec![0usize; total];
        let mut fill: Vec<usize> = row_start[..n].to_vec();
        // Rows in increasing order, so each row's earlier columns arrive sorted.
        for (p, &g) in order.iter().enumerate() {
            for &h in &later[g] {
                let r = place[h];
                cols[fill[r]] = p;
                fill[r] += 1;
            }
        }
        let mut diag = Vec::with_capacity(n);
        for (p, &g) in order.iter().enumerate() {
            let at = fill[p];
            diag.push(at);
            cols[at] = p;
            let rest = &mut cols[at + 1..row_start[p + 1]];
            for (slot, &h) in rest.iter_mut().zip(&later[g]) {
                *slot = place[h];
            }
            rest.sort_unstable();
        }
        BlockLu {
            row_start,
            cols,
            vals: vec![[0.0; 4]; total],
            diag,
            pivot_inverse: vec![[0.0; 4]; n],
            work: vec![[0.0; 4]; n],
        }
    }

    /// The index of block `(row, col)` in the pattern, if it is there (for [`BlockLu::add`]).
    pub(crate) fn position(&self, row: usize, col: usize) -> Option<usize> {
        let start = *self.row_start.get(row)?;
        let end = *self.row_start.get(row + 1)?;
        self.cols[start..end]
            .binary_search(&col)
            .ok()
            .map(|p| start + p)
    }

    /// The number of block rows.
    pub(crate) fn rows(&self) -> usize {
        self.diag.len()
    }

    /// The index of row `row`'s diagonal block.
    pub(crate) fn diagonal(&self, row: usize) -> usize {
        self.diag[row]
    }

    /// Sets every value to zero.
    pub(crate) fn clear(&mut self) {
        self.vals.fill([0.0; 4]);
    }

    /// Adds `value` to entry `entry` (0..4, row-major) of block `index` (from [`BlockLu::position`]).
    pub(crate) fn add(&mut self, index: usize, entry: usize, value: f64) {
        if let Some(v) = self.vals.get_mut(index).and_then(|b| b.get_mut(entry)) {
            *v += value;
        }
    }

    /// Factorises in place; false when a diagonal block is singular (or not finite).
    pub(crate) fn factorise(&mut self) -> bool {
        let scale = self
            .vals
            .iter()
            .flatten()
            .fold(0.0f64, |m, v| m.max(v.abs()))
            .max(f64::MIN_POSITIVE);
        let BlockLu {
            row_start,
            cols,
            vals,
            diag,
            pivot_inverse,
            work,
        } = self;
        for i in 0..diag.len() {
            let (start, end, d) = (row_start[i], row_start[i + 1], diag[i]);
            for p in start..end {
                work[cols[p]] = vals[p];
            }
            for p in start..d {
                let k = cols[p];
                let factor = mul(&work[k], &pivot_inverse[k]);
                work[k] = factor;
                if factor == [0.0; 4] {
                    continue;
                }
                // Row k's upper part lies within row i's pattern (the fill property).
                for q in diag[k] + 1..row_start[k + 1] {
                    let update = mul(&factor, &vals[q]);
                    let w = &mut work[cols[q]];
                    for (x, u) in w.iter_mut().zip(update) {
                        *x -= u;
                    }
                }
            }
            for p in start..end {
                vals[p] = work[cols[p]];
            }
            let [a, b, c, e] = vals[d];
            let det = a * e - b * c;
            // NaN fails too.
            if det.abs().is_nan() || det.abs() <= scale * scale * 1e-28 {
                return false;
            }
            pivot_inverse[i] = [e / det, -b / det, -c / det, a / det];
        }
        true
    }

    /// Solves `A x = b` with the factors; `b` holds two entries per block row and becomes `x`.
    pub(crate) fn solve(&self, b: &mut [f64]) {
        let n = self.diag.len().min(b.len() / 2);
        for i in 0..n {
            let (mut x0, mut x1) = (b[2 * i], b[2 * i + 1]);
            for p in self.row_start[i]..self.diag[i] {
                let (l, k) = (&self.vals[p], self.cols[p]);
                let (y0, y1) = (b[2 * k], b[2 * k + 1]);
                x0 -= l[0] * y0 + l[1] * y1;
                x1 -= l[2] * y0 + l[3] * y1;
            }
            b[2 * i] = x0;
            b[2 * i + 1] = x1;
        }
        for i in (0..n).rev() {
            let (mut x0, mut x1) = (b[2 * i], b[2 * i + 1]);
            for p in self.diag[i] + 1..self.row_start[i + 1] {
                let (u, k) = (&self.vals[p], self.cols[p]);
                let (y0, y1) = (b[2 * k], b[2 * k + 1]);
                x0 -= u[0] * y0 + u[1] * y1;
                x1 -= u[2] * y0 + u[3] * y1;
            }
            let inv = &self.pivot_inverse[i];
            b[2 * i] = inv[0] * x0 + inv[1] * x1;
            b[2 * i + 1] = inv[2] * x0 + inv[3] * x1;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn a_small_system_solves_like_the_dense_one() {
        // A 4-bus ring with fill: 0-1-2-3-0.
        let adjacent = vec![vec![1, 3], vec![0, 2], vec![1, 3], vec![2, 0]];
        let (order, later) = minimum_degree(adjacent);
        assert_eq!(order.len(), 4);
        let mut place = [0; 4];
        for (p, &g) in order.iter().enumerate() {
            place[g] = p;
        }
        let mut lu = BlockLu::new(&order, &place, &later);
        let n = 2 * lu.rows();
        // A diagonally dominant matrix on the full pattern.
        let mut dense = vec![0.0; n * n];
        for g in 0..lu.rows() {
            for p in lu.row_start[g]..lu.row_start[g + 1] {
                let h = lu.cols[p];
                for e in 0..4 {
                    let (i, j) = (2 * g + e / 2, 2 * h + e % 2);
                    let v = if i == j {
                        10.0 + i as f64
                    } else {
                        1.0 + ((i * 7 + j * 3) % 5) as f64
                    };
                    lu.add(p, e, v);
                    dense[i * n + j] = v;
                }
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
