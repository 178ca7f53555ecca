//! The case indexed for solving: buses in service, the slack, PV and PQ sets, specified injections, the
//! branch π models and the bus admittance matrix as sparse rows.

use crate::case::{BusType, Case};
use crate::error::{Error, Result};
use num_complex::Complex64;
use std::collections::VecDeque;

/// A branch in service, in the π model with its admittances on the system base.
pub(crate) struct BranchModel {
    /// Index of the branch in the case.
    pub(crate) case_index: usize,
    pub(crate) from: usize,
    pub(crate) to: usize,
    pub(crate) series_z: Complex64,
    pub(crate) charging: f64,
    pub(crate) yff: Complex64,
    pub(crate) yft: Complex64,
    pub(crate) ytf: Complex64,
    pub(crate) ytt: Complex64,
    /// Nominal tap (ratio 0 or 1) and no phase shift: what the radial sweep can handle.
    pub(crate) nominal: bool,
}

pub(crate) struct Network {
    /// Case bus index of each network bus.
    pub(crate) case_bus: Vec<usize>,
    pub(crate) slack: usize,
    pub(crate) pv: Vec<usize>,
    pub(crate) pq: Vec<usize>,
    /// Specified injection (generation − load), p.u.
    pub(crate) sbus: Vec<Complex64>,
    /// Bus shunt admittance, p.u.
    pub(crate) shunt: Vec<Complex64>,
    /// Start voltages: flat, with setpoints at the slack and PV buses.
    pub(crate) v0: Vec<Complex64>,
    pub(crate) branches: Vec<BranchModel>,
    /// Bus admittance matrix.
    pub(crate) ybus: Admittance,
    pub(crate) base_mva: f64,
}

impl Network {
    pub(crate) fn build(case: &Case) -> Result<Network> {
        let ids = case.validated_index()?;
        let case_bus: Vec<usize> = (0..case.buses.len())
            .filter(|&i| case.buses[i].bus_type != BusType::Isolated)
            .collect();
        // Network index of each case bus in service.
        let mut in_network = vec![None; case.buses.len()];
        for (k, &i) in case_bus.iter().enumerate() {
            in_network[i] = Some(k);
        }
        let index = |id: u32| ids.get(id).and_then(|i| in_network[i]);
        let n = case_bus.len();
        let bus_of = |k: usize| &case.buses[case_bus[k]];
        let refs: Vec<usize> = (0..n)
            .filter(|&k| bus_of(k).bus_type == BusType::Reference)
            .collect();
        let slack = match refs.as_slice() {
            [] => return Err(Error::NoSlack),
            [one] => *one,
            several => {
                return Err(Error::SeveralSlacks(
                    several.iter().map(|&k| bus_of(k).id).collect(),
                ));
            }
        };
        let base = case.base_mva;
        let mut sbus: Vec<Complex64> = (0..n)
            .map(|k| Complex64::new(-bus_of(k).pd_mw, -bus_of(k).qd_mvar) / base)
            .collect();
        let shunt: Vec<Complex64> = (0..n)
            .map(|k| Complex64::new(bus_of(k).gs_mw, bus_of(k).bs_mvar) / base)
            .collect();
        let mut setpoint: Vec<Option<f64>> = vec![None; n];
        for g in case.generators.iter().filter(|g| g.in_service) {
            let Some(k) = index(g.bus) else {
                return Err(Error::CaseData(format!(
                    "a generator in service is on isolated bus {}",
                    g.bus
                )));
            };
            sbus[k] += Complex64::new(g.pg_mw, g.qg_mvar) / base;
            setpoint[k].get_or_insert(g.vg_pu);
        }
        let mut pv = Vec::new();
        let mut pq = Vec::new();
        let mut is_pv = vec![false; n];
        for (k, set) in setpoint.iter().enumerate() {
            match bus_of(k).bus_type {
                BusType::Pv if set.is_some() => {
                    pv.push(k);
                    is_pv[k] = true;
                }
                BusType::Reference => {}
                _ => pq.push(k),
            }
        }
        let v0: Vec<Complex64> = (0..n)
            .map(|k| {
                let b = bus_of(k);
                if k == slack {
                    Complex64::from_polar(setpoint[k].unwrap_or(b.vm_pu), b.va_deg.to_radians())
                } else if is_pv[k] {
                    Complex64::new(setpoint[k].unwrap_or(1.0), 0.0)
                } else {
                    Complex64::new(1.0, 0.0)
                }
            })
            .collect();
        let mut branches = Vec::new();
        for (i, br) in case
            .branches
            .iter()
            .enumerate()
            .filter(|(_, b)| b.in_service)
        {
            let (Some(f), Some(t)) = (index(br.from), index(br.to)) else {
                return Err(Error::CaseData(format!(
                    "branch {} in service touches an isolated bus",
                    i + 1
                )));
            };
            let z = Complex64::new(br.r_pu, br.x_pu);
            let ys = z.inv();
            let tap_ratio = if br.ratio == 0.0 { 1.0 } else { br.ratio };
            let tap = Complex64::from_polar(tap_ratio, br.shift_deg.to_radians());
            let ytt = ys + Complex64::new(0.0, br.b_pu / 2.0);
            let nominal = tap_ratio == 1.0 && br.shift_deg == 0.0;
            let (yff, yft, ytf) = if nominal {
                (ytt, -ys, -ys)
            } else {
                (ytt / (tap * tap.conj()), -ys / tap.conj(), -ys / tap)
            };
            branches.push(BranchModel {
                case_index: i,
                from: f,
                to: t,
                series_z: z,
                charging: br.b_pu,
                yff,
                yft,
                ytf,
                ytt,
                nominal,
            });
        }
        let ybus = Admittance::build(&shunt, &branches);
        let net = Network {
            case_bus,
            slack,
            pv,
            pq,
            sbus,
            shunt,
            v0,
            branches,
            ybus,
            base_mva: base,
        };
        net.check_connected(case)?;
        Ok(net)
    }

    pub(crate) fn len(&self) -> usize {
        self.case_bus.len()
    }

    /// Adjacency: for each bus, `(neighbour, branch index)`.
    pub(crate) fn adjacency(&self) -> Vec<Vec<(usize, usize)>> {
        let mut adj = vec![Vec::new(); self.len()];
        for (i, b) in self.branches.iter().enumerate() {
            adj[b.from].push((b.to, i));
            adj[b.to].push((b.from, i));
        }
        adj
    }

    /// Every bus reaches the slack through branches in service (the admittance matrix's off-diagonal
    /// entries are exactly those branches).
    fn check_connected(&self, case: &Case) -> Result<()> {
        let mut seen = vec![false; self.len()];
        seen[self.slack] = true;
        let mut queue = VecDeque::from([self.slack]);
        while let Some(k) = queue.pop_front() {
            for &(m, _) in self.ybus.row(k) {
                if !seen[m] {
                    seen[m] = true;
                    queue.push_back(m);
                }
            }
        }
        let islanded: Vec<u32> = (0..self.len())
            .filter(|&k| !seen[k])
            .map(|k| case.buses[self.case_bus[k]].id)
            .collect();
        if islanded.is_empty() {
            Ok(())
        } else {
            Err(Error::Island(islanded))
        }
    }

    /// The injection `S = V · conj(Y V)` at bus `i`, p.u.
    pub(crate) fn injection(&self, v: &[Complex64], i: usize) -> Complex64 {
        let current: Complex64 = self.ybus.row(i).iter().map(|&(k, y)| y * v[k]).sum();
        v[i] * current.conj()
    }
}

/// The bus admittance matrix in compressed rows: row `i` holds `(column, value)` pairs sorted by column, one
/// per column (parallel branches summed), the diagonal always present.
pub(crate) struct Admittance {
    /// Where each row starts in `entries`; one more than rows.
    start: Vec<usize>,
    entries: Vec<(usize, Complex64)>,
}

impl Admittance {
    /// From the bus shunts and the branches' π models: counted, placed, each row sorted, repeats summed —
    /// a handful of allocations whatever the size.
    fn build(shunt: &[Complex64], branches: &[BranchModel]) -> Admittance {
        let n = shunt.len();
        let mut count = vec![1usize; n];
        for b in branches {
            count[b.from] += 1;
            count[b.to] += 1;
        }
        let mut start = Vec::with_capacity(n + 1);
        let mut total = 0;
        for c in &count {
            start.push(total);
            total += c;
        }
        start.push(total);
        let mut entries = vec![(0usize, Complex64::new(0.0, 0.0)); total];
        // The diagonal first in each row, then the branches' ends as they come.
        let mut next: Vec<usize> = start[..n].iter().map(|s| s + 1).collect();
        for (k, (&s, &y)) in start.iter().zip(shunt).enumerate() {
            entries[s] = (k, y);
        }
        for b in branches {
            entries[start[b.from]].1 += b.yff;
            entries[start[b.to]].1 += b.ytt;
            entries[next[b.from]] = (b.to, b.yft);
            next[b.from] += 1;
            entries[next[b.to]] = (b.from, b.ytf);
            next[b.to] += 1;
        }
        // Sort each row and sum repeated columns, compacting in place.
        let mut write = 0;
        for k in 0..n {
            let (from, to) = (start[k], start[k + 1]);
            entries[from..to].sort_unstable_by_key(|&(c, _)| c);
            start[k] = write;
            for p in from..to {
                let entry = entries[p];
                if write > start[k] && entries[write - 1].0 == entry.0 {
                    entries[write - 1].1 += entry.1;
                } else {
                    entries[write] = entry;
                    write += 1;
                }
            }
        }
        start[n] = write;
        entries.truncate(write);
        Admittance { start, entries }
    }

    /// Row `i`: `(column, value)` sorted by column.
    pub(crate) fn row(&self, i: usize) -> &[(usize, Complex64)] {
        &self.entries[self.start[i]..self.start[i + 1]]
    }

    /// The number of entries.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Every row in order.
    pub(crate) fn rows(&self) -> impl Iterator<Item = &[(usize, Complex64)]> {
        self.start.windows(2).map(|w| &self.entries[w[0]..w[1]])
    }
}
