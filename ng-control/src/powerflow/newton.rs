//! Newton–Raphson power flow in polar coordinates: unknowns are the angles of PV and PQ buses and the
//! magnitudes of PQ buses; the mismatch is calculated minus specified injection. The Jacobian is sparse —
//! ordered once per case by minimum degree on the bus graph and factorised in 2×2 bus blocks by
//! [`super::sparse`] each iteration.

use super::network::Network;
use super::sparse::{BlockLu, minimum_degree};
use crate::error::{Error, Result};
use num_complex::Complex64;

const I: Complex64 = Complex64::new(0.0, 1.0);

/// Where each bus's block of unknowns and its Jacobian blocks sit.
struct Layout {
    /// Block row of each network bus (`usize::MAX` for the slack): unknowns `2 r` (angle) and `2 r + 1`
    /// (magnitude; fixed, with an identity row, for a PV bus).
    row: Vec<usize>,
    /// Whether each bus is PQ (its magnitude is unknown).
    is_pq: Vec<bool>,
    /// For each admittance entry, bus by bus in `ybus` order: its Jacobian block (`usize::MAX` where the
    /// row or column is the slack's).
    blocks: Vec<usize>,
    /// Where each bus's entries start in `blocks`; one more entry than buses.
    first_block: Vec<usize>,
}

impl Layout {
    /// Orders the buses that have unknowns by minimum degree on their graph.
    fn new(net: &Network) -> (Layout, BlockLu) {
        let n_bus = net.len();
        let with_unknowns: Vec<usize> = net.pv.iter().chain(&net.pq).copied().collect();
        let mut local = vec![usize::MAX; n_bus];
        for (g, &b) in with_unknowns.iter().enumerate() {
            local[b] = g;
        }
        let adjacent: Vec<Vec<usize>> = with_unknowns
            .iter()
            .map(|&b| {
                net.ybus[b]
                    .iter()
                    .map(|&(k, _)| local[k])
                    .filter(|&g| g != usize::MAX && g != local[b])
                    .collect()
            })
            .collect();
        let (order, later) = minimum_degree(adjacent);
        let mut place = vec![0usize; order.len()];
        for (p, &g) in order.iter().enumerate() {
            place[g] = p;
        }
        let mut row = vec![usize::MAX; n_bus];
        for (g, &b) in with_unknowns.iter().enumerate() {
            row[b] = place[g];
        }
        let mut is_pq = vec![false; n_bus];
        for &b in &net.pq {
            is_pq[b] = true;
        }
        let lu = BlockLu::new(&order, &place, &later);
        let mut blocks = Vec::new();
        let mut first_block = Vec::with_capacity(n_bus + 1);
        for i in 0..n_bus {
            first_block.push(blocks.len());
            blocks.extend(net.ybus[i].iter().map(|&(k, _)| {
                if row[i] == usize::MAX || row[k] == usize::MAX {
                    usize::MAX
                } else {
                    lu.position(row[i], row[k]).unwrap_or(usize::MAX)
                }
            }));
        }
        first_block.push(blocks.len());
        (
            Layout {
                row,
                is_pq,
                blocks,
                first_block,
            },
            lu,
        )
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
    let pvpq: Vec<usize> = net.pv.iter().chain(&net.pq).copied().collect();
    let mut f = vec![0.0; 2 * lu.rows()];
    // Polar form kept alongside: the update adds to angle and magnitude.
    let mut magnitude: Vec<f64> = v.iter().map(|x| x.norm()).collect();
    let mut angle: Vec<f64> = v.iter().map(|x| x.arg()).collect();
    let mut unit = vec![Complex64::new(0.0, 0.0); v.len()];
    let mut current = vec![Complex64::new(0.0, 0.0); v.len()];
    for iteration in 0..=max_iterations {
        for (c, row) in current.iter_mut().zip(&net.ybus) {
            *c = row.iter().map(|&(k, y)| y * v[k]).sum();
        }
        let mut worst = 0.0f64;
        for &k in &pvpq {
            let mis = v[k] * current[k].conj() - net.sbus[k];
            let r = layout.row[k];
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
        lu.clear();
        for (u, (x, m)) in unit.iter_mut().zip(v.iter().zip(&magnitude)) {
            *u = x / m;
        }
        for &i in &pvpq {
            let vi = v[i];
            let blocks = &layout.blocks[layout.first_block[i]..layout.first_block[i + 1]];
            for (&(k, y), &block) in net.ybus[i].iter().zip(blocks) {
                if block == usize::MAX {
                    continue;
                }
                let yv = y * v[k];
                let mut d_angle = -I * vi * yv.conj();
                let mut d_mag = vi * (y * unit[k]).conj();
                if k == i {
                    d_angle += I * vi * current[i].conj();
                    d_mag += unit[i] * current[i].conj();
                }
                // Rows ∂P, ∂Q; columns ∂θ, ∂|V| (only where the magnitudes are unknowns).
                lu.add(block, 0, d_angle.re);
                if layout.is_pq[k] {
                    lu.add(block, 1, d_mag.re);
                }
                if layout.is_pq[i] {
                    lu.add(block, 2, d_angle.im);
                    if layout.is_pq[k] {
                        lu.add(block, 3, d_mag.im);
                    }
                }
            }
            if !layout.is_pq[i] {
                // A PV bus's magnitude is fixed: an identity row and column keep the block 2×2.
                lu.add(lu.diagonal(layout.row[i]), 3, 1.0);
            }
        }
        if !lu.factorise() {
            return Err(Error::Singular { iteration });
        }
        f.iter_mut().for_each(|x| *x = -*x);
        lu.solve(&mut f);
        for &k in &pvpq {
            let r = layout.row[k];
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
