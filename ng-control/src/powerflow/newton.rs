//! Newton–Raphson power flow in polar coordinates: unknowns are the angles of PV and PQ buses and the
//! magnitudes of PQ buses; the mismatch is calculated minus specified injection. The Jacobian is sparse —
//! ordered once per case by minimum degree on the bus graph and factorised by [`super::sparse`] each
//! iteration.

use super::network::Network;
use super::sparse::{SparseLu, minimum_degree};
use crate::error::{Error, Result};
use num_complex::Complex64;

const I: Complex64 = Complex64::new(0.0, 1.0);

/// Where a bus's unknowns and their Jacobian entries sit.
struct Layout {
    /// Angle unknown of each network bus (`usize::MAX` for the slack).
    angle: Vec<usize>,
    /// Magnitude unknown of each network bus (`usize::MAX` unless PQ).
    magnitude: Vec<usize>,
    /// For each bus row `i` and each of its admittance entries `(k, y)`: the positions of the four
    /// derivatives (∂P_i/∂θ_k, ∂P_i/∂V_k, ∂Q_i/∂θ_k, ∂Q_i/∂V_k), `usize::MAX` where there is none.
    positions: Vec<Vec<[usize; 4]>>,
    /// The number of unknowns.
    unknowns: usize,
}

impl Layout {
    /// Orders the unknowns by minimum degree on the graph of the buses that have unknowns.
    fn new(net: &Network) -> (Layout, SparseLu) {
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
        let (order, later) = minimum_degree(&adjacent);
        let mut place = vec![0usize; order.len()];
        for (p, &g) in order.iter().enumerate() {
            place[g] = p;
        }
        let mut is_pq = vec![false; n_bus];
        for &b in &net.pq {
            is_pq[b] = true;
        }
        let mut first = Vec::with_capacity(order.len() + 1);
        let mut angle = vec![usize::MAX; n_bus];
        let mut magnitude = vec![usize::MAX; n_bus];
        let mut next = 0usize;
        for &g in &order {
            let b = with_unknowns[g];
            first.push(next);
            angle[b] = next;
            next += 1;
            if is_pq[b] {
                magnitude[b] = next;
                next += 1;
            }
        }
        first.push(next);
        let later_in_order: Vec<Vec<usize>> = order
            .iter()
            .map(|&g| later[g].iter().map(|&h| place[h]).collect())
            .collect();
        let lu = SparseLu::new(&first, &later_in_order);
        let at = |row: usize, col: usize| {
            if row == usize::MAX || col == usize::MAX {
                usize::MAX
            } else {
                lu.position(row, col).unwrap_or(usize::MAX)
            }
        };
        let positions = (0..n_bus)
            .map(|i| {
                net.ybus[i]
                    .iter()
                    .map(|&(k, _)| {
                        [
                            at(angle[i], angle[k]),
                            at(angle[i], magnitude[k]),
                            at(magnitude[i], angle[k]),
                            at(magnitude[i], magnitude[k]),
                        ]
                    })
                    .collect()
            })
            .collect();
        (
            Layout {
                angle,
                magnitude,
                positions,
                unknowns: next,
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
    let mut f = vec![0.0; layout.unknowns];
    for iteration in 0..=max_iterations {
        let current: Vec<Complex64> = net
            .ybus
            .iter()
            .map(|row| row.iter().map(|&(k, y)| y * v[k]).sum())
            .collect();
        let mut worst = 0.0f64;
        for &k in &pvpq {
            let mis = v[k] * current[k].conj() - net.sbus[k];
            f[layout.angle[k]] = mis.re;
            worst = worst.max(mis.re.abs());
            if layout.magnitude[k] != usize::MAX {
                f[layout.magnitude[k]] = mis.im;
                worst = worst.max(mis.im.abs());
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
        for &i in &pvpq {
            let vi = v[i];
            let (p_row, q_row) = (layout.angle[i], layout.magnitude[i]);
            for (&(k, y), pos) in net.ybus[i].iter().zip(&layout.positions[i]) {
                let yv = y * v[k];
                let mut d_angle = -I * vi * yv.conj();
                let mut d_mag = vi * (yv / v[k].norm()).conj();
                if k == i {
                    d_angle += I * vi * current[i].conj();
                    d_mag += (vi / vi.norm()) * current[i].conj();
                }
                let [pa, pm, qa, qm] = *pos;
                if pa != usize::MAX {
                    lu.add(p_row, pa, d_angle.re);
                }
                if pm != usize::MAX {
                    lu.add(p_row, pm, d_mag.re);
                }
                if qa != usize::MAX {
                    lu.add(q_row, qa, d_angle.im);
                }
                if qm != usize::MAX {
                    lu.add(q_row, qm, d_mag.im);
                }
            }
        }
        if !lu.factorise() {
            return Err(Error::Singular { iteration });
        }
        f.iter_mut().for_each(|x| *x = -*x);
        lu.solve(&mut f);
        for &k in &pvpq {
            let (mut mag, mut angle) = v[k].to_polar();
            angle += f[layout.angle[k]];
            if layout.magnitude[k] != usize::MAX {
                mag += f[layout.magnitude[k]];
            }
            v[k] = Complex64::from_polar(mag, angle);
        }
    }
    Err(Error::NotConverged {
        method: "Newton-Raphson",
        iterations: max_iterations,
        mismatch: f64::NAN,
    })
}
