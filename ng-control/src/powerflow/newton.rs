//! Newton–Raphson power flow in polar coordinates: unknowns are the angles of PV and PQ buses and the
//! magnitudes of PQ buses; the mismatch is calculated minus specified injection.

use super::dense;
use super::network::Network;
use crate::error::{Error, Result};
use num_complex::Complex64;

const I: Complex64 = Complex64::new(0.0, 1.0);

/// Solves from the network's start voltages; returns the voltages and the iterations used.
pub(crate) fn solve(
    net: &Network,
    tolerance_pu: f64,
    max_iterations: usize,
) -> Result<(Vec<Complex64>, usize)> {
    let n_bus = net.len();
    let mut v = net.v0.clone();
    let mut angle_col = vec![usize::MAX; n_bus];
    let mut mag_col = vec![usize::MAX; n_bus];
    let pvpq: Vec<usize> = net.pv.iter().chain(&net.pq).copied().collect();
    for (c, &k) in pvpq.iter().enumerate() {
        angle_col[k] = c;
    }
    for (c, &k) in net.pq.iter().enumerate() {
        mag_col[k] = pvpq.len() + c;
    }
    let n = pvpq.len() + net.pq.len();
    let mut jac = vec![0.0; n * n];
    let mut f = vec![0.0; n];
    for iteration in 0..=max_iterations {
        let current: Vec<Complex64> = net
            .ybus
            .iter()
            .map(|row| row.iter().map(|&(k, y)| y * v[k]).sum())
            .collect();
        let mut worst = 0.0f64;
        for (&k, slot) in pvpq.iter().zip(f.iter_mut()) {
            let mis = v[k] * current[k].conj() - net.sbus[k];
            *slot = mis.re;
            worst = worst.max(mis.re.abs());
        }
        for (c, &k) in net.pq.iter().enumerate() {
            let mis = v[k] * current[k].conj() - net.sbus[k];
            f[pvpq.len() + c] = mis.im;
            worst = worst.max(mis.im.abs());
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
        jac.iter_mut().for_each(|x| *x = 0.0);
        for &i in &pvpq {
            let p_row = angle_col[i];
            let q_row = mag_col[i];
            let vi = v[i];
            for &(k, y) in &net.ybus[i] {
                let yv = y * v[k];
                let mut d_angle = -I * vi * yv.conj();
                let mut d_mag = vi * (yv / v[k].norm()).conj();
                if k == i {
                    d_angle += I * vi * current[i].conj();
                    d_mag += (vi / vi.norm()) * current[i].conj();
                }
                if angle_col[k] != usize::MAX {
                    jac[p_row * n + angle_col[k]] = d_angle.re;
                    if q_row != usize::MAX {
                        jac[q_row * n + angle_col[k]] = d_angle.im;
                    }
                }
                if mag_col[k] != usize::MAX {
                    jac[p_row * n + mag_col[k]] = d_mag.re;
                    if q_row != usize::MAX {
                        jac[q_row * n + mag_col[k]] = d_mag.im;
                    }
                }
            }
        }
        f.iter_mut().for_each(|x| *x = -*x);
        if !dense::solve(&mut jac, &mut f, n) {
            return Err(Error::Singular { iteration });
        }
        for &k in &pvpq {
            let (mut mag, mut angle) = v[k].to_polar();
            angle += f[angle_col[k]];
            if mag_col[k] != usize::MAX {
                mag += f[mag_col[k]];
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
