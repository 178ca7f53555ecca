//! Synthetic radial feeders of any size, deterministic from a seed, for tests and benchmarks.

use crate::case::{Branch, Bus, BusType, Case, Generator};

/// A xorshift64* generator: small, deterministic, and not for anything but test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `[lo, hi)`.
    #[allow(clippy::cast_precision_loss)]
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * ((self.next() >> 11) as f64 / (1u64 << 53) as f64)
    }
}

/// A radial 12.66 kV feeder of `buses` buses (at least 2): bus 1 is the slack; every other bus hangs from one
/// of the twenty buses before it, through a short line (0.005–0.03 Ω, X/R about 1), and carries a 1–4 kW load
/// at power factor 0.9–0.98. Deep and branched like a real feeder; voltages stay above 0.9 p.u. up to a few
/// thousand buses.
pub fn radial_feeder(buses: usize, seed: u64) -> Case {
    let buses = u32::try_from(buses.max(2)).unwrap_or(u32::MAX);
    let mut rng = Rng(seed | 1);
    let z_base = 12.66f64 * 12.66 / 10.0;
    let mut case = Case {
        base_mva: 10.0,
        buses: Vec::new(),
        generators: Vec::new(),
        branches: Vec::new(),
    };
    for id in 1..=buses {
        let (bus_type, p_kw, pf) = if id == 1 {
            (BusType::Reference, 0.0, 1.0)
        } else {
            (BusType::Pq, rng.uniform(1.0, 4.0), rng.uniform(0.9, 0.98))
        };
        let q_kw = p_kw * (1.0 / (pf * pf) - 1.0).sqrt();
        case.buses.push(Bus {
            id,
            bus_type,
            pd_mw: p_kw / 1000.0,
            qd_mvar: q_kw / 1000.0,
            gs_mw: 0.0,
            bs_mvar: 0.0,
            vm_pu: 1.0,
            va_deg: 0.0,
            base_kv: 12.66,
            vmax_pu: 1.1,
            vmin_pu: 0.9,
        });
        if id > 1 {
            let span = u64::from((id - 1).min(20));
            let back = u32::try_from(rng.next() % span).unwrap_or(0);
            let r = rng.uniform(0.005, 0.03);
            let x = r * rng.uniform(0.8, 1.2);
            case.branches.push(Branch {
                from: id - 1 - back,
                to: id,
                r_pu: r / z_base,
                x_pu: x / z_base,
                b_pu: 0.0,
                rate_a_mva: 0.0,
                ratio: 0.0,
                shift_deg: 0.0,
                in_service: true,
            });
        }
    }
    case.generators.push(Generator {
        bus: 1,
        pg_mw: 0.0,
        qg_mvar: 0.0,
        vg_pu: 1.0,
        in_service: true,
    });
    case
}

/// A meshed 12.66 kV grid of `buses` buses: the [`radial_feeder`] of the same seed, closed into loops by a
/// tie from every tenth bus to a random bus up to 200 before it (like the normally-open points of a feeder
/// network, closed), with a generator holding its voltage (a PV bus, 20–60 kW) at every fiftieth bus. For
/// benchmarks and comparisons of the Newton–Raphson solver at distribution scale.
pub fn meshed_grid(buses: usize, seed: u64) -> Case {
    let mut case = radial_feeder(buses, seed);
    let mut rng = Rng(seed.rotate_left(17) | 1);
    let z_base = 12.66f64 * 12.66 / 10.0;
    let count = u32::try_from(case.buses.len()).unwrap_or(u32::MAX);
    for id in (30..=count).step_by(10) {
        let span = u64::from((id - 2).min(200));
        let back = u32::try_from(rng.next() % span)
            .unwrap_or(0)
            .saturating_add(2);
        let r = rng.uniform(0.01, 0.05);
        case.branches.push(Branch {
            from: id - back,
            to: id,
            r_pu: r / z_base,
            x_pu: r * rng.uniform(0.8, 1.2) / z_base,
            b_pu: 0.0,
            rate_a_mva: 0.0,
            ratio: 0.0,
            shift_deg: 0.0,
            in_service: true,
        });
    }
    for id in (50..=count).step_by(50) {
        if let Some(bus) = case.buses.iter_mut().find(|b| b.id == id) {
            bus.bus_type = BusType::Pv;
        }
        case.generators.push(Generator {
            bus: id,
            pg_mw: rng.uniform(0.02, 0.06),
            qg_mvar: 0.0,
            vg_pu: 1.0,
            in_service: true,
        });
    }
    case
}
