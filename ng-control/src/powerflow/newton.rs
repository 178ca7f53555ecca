//! Newton–Raphson power flow in polar coordinates: unknowns are the angles of PV and PQ buses and the
//! magnitudes of PQ buses; the mismatch is calculated minus specified injection. The Jacobian is sparse —
//! ordered once per case by minimum degree on the bus graph and factorised in 2×2 bus blocks by
//! [`super::sparse`] each iteration.

use super::network::Network;
use super::sparse::{BlockLu, Graph, minimum_degree};
use crate::error::{Error, Result};
use num_complex::Complex64;

const I: Complex64 = Complex64::new(0.0, 1.0);

/// Where each bus's block of unknowns sits.
struct Layout {
    /// Block row of each network bus (`usize::MAX` for the slack): unknowns `2 r` (angle) and `2 r + 1`
    /// (magnitude; fixed, with an identity row, for a PV bus).
    row: Vec<usize>,
    /// The bus of each block row.
    bus: Vec<usize>,
    /// Whether each bus is PQ (its magnitude is unknown).
    is_pq: Vec<bool>,
}

impl Layout {
    /// Orders the buses that have unknowns (all but the slack) by minimum degree on their graph.
    fn new(net: &Network) -> (Layout, BlockLu) {
        let n_bus = net.len();
        // Local numbering keeps bus order: the graph of the buses with unknowns, straight from the
        // admittance rows.
        let local = |b: usize| if b < net.slack { b } else { b - 1 };
        let mut graph = Graph {
            start: Vec::with_capacity(n_bus),
            neighbours: Vec::with_capacity(net.ybus.len()),
        };
        for b in (0..n_bus).filter(|&b| b != net.slack) {
            graph.start.push(graph.neighbours.len());
            graph.neighbours.extend(
                net.ybus
                    .row(b)
                    .iter()
                    .filter(|&&(k, _)| k != b && k != net.slack)
                    .map(|&(k, _)| local(k)),
            );
        }
        graph.start.push(graph.neighbours.len());
        let (order, later) = minimum_degree(&graph);
        let mut place = vec![0usize; order.len()];
        for (p, &g) in order.iter().enumerate() {
            place[g] = p;
        }
        let mut row = vec![usize::MAX; n_bus];
        let mut bus = vec![0usize; order.len()];
        for b in (0..n_bus).filter(|&b| b != net.slack) {
            row[b] = place[local(b)];
            bus[row[b]] = b;
        }
        let mut is_pq = vec![false; n_bus];
        for &b in &net.pq {
            is_pq[b] = true;
        }
        let lu = BlockLu::new(&order, &place, &later);
        (Layout { row, bus, is_pq }, lu)
    }
}

/// Solves from the network's start voltages; returns the voltages and the iterations used.
pub(crate) fn solve(
    net: &Network,
    tolerance_pu: f64,
    max_iterations: usize,
) -> Result<(Vec<Complex64>, usize)> {
    let mut v = net.v0.clone();
    let (layout, mut lu) = Layout::new(net);
    let mut f = vec![0.0; 2 * lu.rows()];
    // Polar form kept alongside: the update adds to angle and magnitude.
    let mut magnitude: Vec<f64> = v.iter().map(|x| x.norm()).collect();
    let mut angle: Vec<f64> = v.iter().map(|x| x.arg()).collect();
    let mut inverse_magnitude = vec![0.0; v.len()];
    let mut current = vec![Complex64::new(0.0, 0.0); v.len()];
    for iteration in 0..=max_iterations {
        for (c, row) in current.iter_mut().zip(net.ybus.rows()) {
            *c = row.iter().map(|&(k, y)| y * v[k]).sum();
        }
        let mut worst = 0.0f64;
        for (r, &k) in layout.bus.iter().enumerate() {
            let mis = v[k] * current[k].conj() - net.sbus[k];
            f[2 * r] = mis.re;
            worst = worst.max(mis.re.abs());
            if layout.is_pq[k] {
                f[2 * r + 1] = mis.im;
                worst = worst.max(mis.im.abs());
            } else {
                f[2 * r + 1] = 0.0;
            }
        }
        if worst < tolerance_pu {
            return Ok((v, iteration));
        }
        if iteration == max_iterations || !worst.is_finite() {
            return Err(Error::NotConverged {
                method: "Newton-Raphson",
                iterations: iteration,
                mismatch: worst * net.base_mva,
            });
        }
        for (inv, m) in inverse_magnitude.iter_mut().zip(&magnitude) {
            *inv = 1.0 / m;
        }
        // Each Jacobian block row is written straight into the factorisation's work row: rows ∂P, ∂Q;
        // columns ∂θ, ∂|V| (only where the magnitudes are unknowns).
        let factorised = lu.factorise(|r, work| {
            let i = layout.bus[r];
            let vi = v[i];
            let pq_i = layout.is_pq[i];
            for &(k, y) in net.ybus.row(i) {
                let column = layout.row[k];
                if column == usize::MAX {
                    continue;
                }
                // x = Vi · conj(Yik Vk): ∂Si/∂θk = −j x and ∂Si/∂|Vk| = x / |Vk| off the diagonal.
                let x = vi * (y * v[k]).conj();
                let mut d_angle = Complex64::new(x.im, -x.re);
                let mut d_mag = x * inverse_magnitude[k];
                if k == i {
                    let own = current[i].conj();
                    d_angle += I * vi * own;
                    d_mag += vi * inverse_magnitude[i] * own;
                }
                let pq_k = layout.is_pq[k];
                work[column] = [
                    d_angle.re,
                    if pq_k { d_mag.re } else { 0.0 },
                    if pq_i { d_angle.im } else { 0.0 },
                    if pq_i && pq_k { d_mag.im } else { 0.0 },
                ];
            }
            if !pq_i {
                // A PV bus's magnitude is fixed: an identity row and column keep the block 2×2.
                work[r][3] = 1.0;
            }
        });
        if !factorised {
            return Err(Error::Singular { iteration });
        }
        f.iter_mut().for_each(|x| *x = -*x);
        lu.solve(&mut f);
        for (r, &k) in layout.bus.iter().enumerate() {
            angle[k] += f[2 * r];
            if layout.is_pq[k] {
                magnitude[k] += f[2 * r + 1];
            }
            v[k] = Complex64::from_polar(magnitude[k], angle[k]);
        }
    }
    Err(Error::NotConverged {
        method: "Newton-Raphson",
        iterations: max_iterations,
        mismatch: f64::NAN,
    })
}
