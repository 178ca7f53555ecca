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
//!   blocks: each block row is assembled straight into a dense work row (the Jacobian is never stored apart
//!   from its factors), reduced by the finished rows its lower part names, and gathered back; each diagonal block is inverted whole (2×2), so a bus's two equations pivot on
//!   each other. Power-flow Jacobians of solvable cases have non-singular diagonal blocks (a bus's P by its
//!   own angle and Q by its own magnitude dominate); one that is singular anyway is reported as a singular
//!   Jacobian.
//!
//! Why not a general crate: the pattern is fixed per case and symmetric, the blocks are 2×2, and the whole
//! factorisation is a page; a general sparse solver (`faer`'s, for instance) would add a large dependency
//! tree to build on every machine for no gain on this structure.

/// A graph in compressed rows: node `i`'s neighbours are `neighbours[start[i]..start[i + 1]]`.
pub(crate) struct Graph {
    pub(crate) start: Vec<usize>,
    pub(crate) neighbours: Vec<usize>,
}

impl Graph {
    /// The number of nodes.
    pub(crate) fn len(&self) -> usize {
        self.start.len().saturating_sub(1)
    }

    /// Node `i`'s neighbours.
    pub(crate) fn of(&self, i: usize) -> &[usize] {
        &self.neighbours[self.start[i]..self.start[i + 1]]
    }
}

/// The elimination order of `graph` by minimum degree (self loops and repeats ignored); returns the order
/// and, position by position in it, the eliminated node's neighbours later in the order in the filled graph.
///
/// Every node's neighbour list lives in one arena with room to grow (a list that outgrows its room moves to
/// the arena's end), so ordering a graph of any size allocates a handful of vectors. Eliminating a node joins
/// its neighbours to each other, a stamp per node telling in one pass what a list already holds. The nodes
/// wait in buckets by degree (entries left behind by a degree change are skipped when met), and of the nodes
/// of least degree the one that entered its bucket last goes first, so the order is deterministic.
pub(crate) fn minimum_degree(graph: &Graph) -> (Vec<usize>, Graph) {
    let n = graph.len();
    let mut mark = vec![usize::MAX; n];
    // The arena: node i's list is arena[head[i]..head[i] + size[i]], with room up to head[i] + room[i].
    let mut arena = Vec::with_capacity(2 * graph.neighbours.len() + 4 * n);
    let mut head = vec![0usize; n];
    let mut size = vec![0usize; n];
    let mut room = vec![0usize; n];
    for i in 0..n {
        head[i] = arena.len();
        for &j in graph.of(i) {
            if j != i && j < n && mark[j] != i {
                mark[j] = i;
                arena.push(j);
            }
        }
        size[i] = arena.len() - head[i];
        room[i] = size[i] + 4;
        arena.resize(head[i] + room[i], 0);
    }
    mark.fill(0);
    let mut step = 0usize;
    let mut buckets: Vec<Vec<usize>> = Vec::new();
    let enter = |buckets: &mut Vec<Vec<usize>>, degree: usize, node: usize| {
        if buckets.len() <= degree {
            buckets.resize_with(degree + 1, Vec::new);
        }
        buckets[degree].push(node);
    };
    for i in (0..n).rev() {
        enter(&mut buckets, size[i], i);
    }
    let mut eliminated = vec![false; n];
    let mut order = Vec::with_capacity(n);
    let mut later = Graph {
        start: Vec::with_capacity(n + 1),
        neighbours: Vec::with_capacity(2 * graph.neighbours.len()),
    };
    let mut least = 0usize;
    while order.len() < n {
        let Some(node) = buckets.get_mut(least).and_then(Vec::pop) else {
            if least >= buckets.len() {
                break; // cannot happen: every node not yet eliminated is in its degree's bucket
            }
            least += 1;
            continue;
        };
        if eliminated[node] || size[node] != least {
            continue; // left behind by a degree change
        }
        eliminated[node] = true;
        order.push(node);
        let first = later.neighbours.len();
        later.start.push(first);
        later
            .neighbours
            .extend_from_slice(&arena[head[node]..head[node] + size[node]]);
        for q in first..later.neighbours.len() {
            let a = later.neighbours[q];
            // a's list := (a's list ∪ node's neighbours) \ {node, a}.
            step += 1;
            let (h, mut kept) = (head[a], 0);
            for p in h..h + size[a] {
                let x = arena[p];
                if x != node {
                    arena[h + kept] = x;
                    kept += 1;
                    mark[x] = step;
                }
            }
            size[a] = kept;
            for &x in &later.neighbours[first..] {
                if x == a || mark[x] == step {
                    continue;
                }
                mark[x] = step;
                if size[a] == room[a] {
                    // Out of room: the list moves to the arena's end with twice the room.
                    let moved = arena.len();
                    arena.extend_from_within(head[a]..head[a] + size[a]);
                    room[a] = 2 * room[a] + 4;
                    arena.resize(moved + room[a], 0);
                    head[a] = moved;
                }
                arena[head[a] + size[a]] = x;
                size[a] += 1;
            }
            enter(&mut buckets, size[a], a);
            least = least.min(size[a]);
        }
    }
    later.start.push(later.neighbours.len());
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
    /// The structure for the elimination `order` of nodes `0..n` and `later`, position by position in that
    /// order, the nodes after it that it connects to in the filled graph (as [`minimum_degree`] gives them):
    /// block row `p` is node `order[p]`, `place[g]` the row of node `g`.
    pub(crate) fn new(order: &[usize], place: &[usize], later: &Graph) -> BlockLu {
        let n = order.len();
        // Symmetric pattern: row p holds the rows before it that list it as later (collected in increasing
        // order), itself, and its own later rows.
        let mut earlier_count = vec![0usize; n];
        for &h in &later.neighbours {
            earlier_count[place[h]] += 1;
        }
        let mut row_start = Vec::with_capacity(n + 1);
        let mut total = 0usize;
        for (p, &count) in earlier_count.iter().enumerate() {
            row_start.push(total);
            total += count + 1 + later.of(p).len();
        }
        row_start.push(total);
        let mut cols = vec![0usize; total];
        let mut fill: Vec<usize> = row_start[..n].to_vec();
        // Rows in increasing order, so each row's earlier columns arrive sorted.
        for p in 0..n {
            for &h in later.of(p) {
                let r = place[h];
                cols[fill[r]] = p;
                fill[r] += 1;
            }
        }
        let mut diag = Vec::with_capacity(n);
        for p in 0..n {
            let at = fill[p];
            diag.push(at);
            cols[at] = p;
            let rest = &mut cols[at + 1..row_start[p + 1]];
            for (slot, &h) in rest.iter_mut().zip(later.of(p)) {
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

    /// The number of block rows.
    pub(crate) fn rows(&self) -> usize {
        self.diag.len()
    }

    /// Builds the matrix row by row and factorises it in place; false when a diagonal block is singular
    /// (or not finite). `fill(row, work)` writes row `row`'s blocks into `work` at their block columns, which
    /// must lie in the pattern (the pattern's places are zero when it is called) — assembly and elimination in
    /// one pass, so the matrix is never stored apart from its factors.
    pub(crate) fn factorise(&mut self, mut fill: impl FnMut(usize, &mut [Block])) -> bool {
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
            let pattern = &cols[start..end];
            for &c in pattern {
                work[c] = [0.0; 4];
            }
            fill(i, work);
            // The diagonal block's largest entry as assembled: the scale its pivot is judged against.
            let scale = work[i]
                .iter()
                .fold(0.0f64, |m, v| if v.abs() > m { v.abs() } else { m });
            for p in start..d {
                let k = cols[p];
                let factor = mul(&work[k], &pivot_inverse[k]);
                work[k] = factor;
                if factor == [0.0; 4] {
                    continue;
                }
                // Row k's upper part lies within row i's pattern (the fill property).
                let upper = diag[k] + 1..row_start[k + 1];
                for (&c, u) in cols[upper.clone()].iter().zip(&vals[upper]) {
                    let w = &mut work[c];
                    w[0] -= factor[0] * u[0] + factor[1] * u[2];
                    w[1] -= factor[0] * u[1] + factor[1] * u[3];
                    w[2] -= factor[2] * u[0] + factor[3] * u[2];
                    w[3] -= factor[2] * u[1] + factor[3] * u[3];
                }
            }
            for (value, &c) in vals[start..end].iter_mut().zip(pattern) {
                *value = work[c];
            }
            let [a, b, c, e] = vals[d];
            let det = a * e - b * c;
            // NaN fails too.
            if det.is_nan() || det.abs() <= scale * scale * 1e-28 {
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
        let adjacent = Graph {
            start: vec![0, 2, 4, 6, 8],
            neighbours: vec![1, 3, 0, 2, 1, 3, 0, 2],
        };
        let (order, later) = minimum_degree(&adjacent);
        assert_eq!(order.len(), 4);
        let mut place = [0; 4];
        for (p, &g) in order.iter().enumerate() {
            place[g] = p;
        }
        let mut lu = BlockLu::new(&order, &place, &later);
        let n = 2 * lu.rows();
        // A diagonally dominant matrix on the full pattern.
        let value = |i: usize, j: usize| {
            if i == j {
                10.0 + i as f64
            } else {
                1.0 + ((i * 7 + j * 3) % 5) as f64
            }
        };
        let mut dense = vec![0.0; n * n];
        for g in 0..lu.rows() {
            for &h in &lu.cols[lu.row_start[g]..lu.row_start[g + 1]] {
                for e in 0..4 {
                    let (i, j) = (2 * g + e / 2, 2 * h + e % 2);
                    dense[i * n + j] = value(i, j);
                }
            }
        }
        let pattern: Vec<Vec<usize>> = (0..lu.rows())
            .map(|g| lu.cols[lu.row_start[g]..lu.row_start[g + 1]].to_vec())
            .collect();
        let b: Vec<f64> = (0..n).map(|i| i as f64 - 2.5).collect();
        let mut x = b.clone();
        assert!(lu.factorise(|g, work| {
            for &h in &pattern[g] {
                work[h] = std::array::from_fn(|e| value(2 * g + e / 2, 2 * h + e % 2));
            }
        }));
        lu.solve(&mut x);
        let mut y = b;
        assert!(super::super::dense::solve(&mut dense, &mut y, n));
        for (a, b) in x.iter().zip(&y) {
            assert!((a - b).abs() < 1e-12, "{x:?} {y:?}");
        }
    }

    fn ordered(graph: &Graph) -> (Vec<usize>, Vec<usize>, Graph) {
        let (order, later) = minimum_degree(graph);
        let mut place = vec![0; order.len()];
        for (p, &g) in order.iter().enumerate() {
            place[g] = p;
        }
        (order, place, later)
    }

    #[test]
    fn a_tree_is_ordered_from_its_leaves_without_fill() {
        // A star of three arms of two nodes around node 0: 0-1-2, 0-3-4, 0-5-6.
        let graph = Graph {
            start: vec![0, 3, 5, 6, 8, 9, 11, 12],
            neighbours: vec![1, 3, 5, 0, 2, 1, 0, 4, 3, 0, 6, 5],
        };
        let (order, _, later) = ordered(&graph);
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..7).collect::<Vec<_>>());
        // Every node has at most one later neighbour (its parent): no fill.
        assert!((0..7).all(|p| later.of(p).len() <= 1), "{order:?}");
        assert_eq!(later.neighbours.len(), 6);
    }

    #[test]
    fn a_singular_diagonal_block_is_reported() {
        let graph = Graph {
            start: vec![0, 1, 2],
            neighbours: vec![1, 0],
        };
        let (order, place, later) = ordered(&graph);
        let mut lu = BlockLu::new(&order, &place, &later);
        // The second row's diagonal block is [[1, 2], [2, 4]]: rank one.
        assert!(!lu.factorise(|g, work| {
            work[g] = if g == 0 {
                [4.0, 0.0, 0.0, 4.0]
            } else {
                [1.0, 2.0, 2.0, 4.0]
            };
        }));
        // The same with a regular block factorises.
        assert!(lu.factorise(|g, work| {
            work[g] = if g == 0 {
                [4.0, 0.0, 0.0, 4.0]
            } else {
                [1.0, 2.0, 2.0, 5.0]
            };
        }));
    }
}
