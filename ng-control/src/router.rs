//! The energy router (two-way power flow regulator) and its five modes NG-R1..NG-R5 as a controller over its
//! ports: given what each port's side needs and what the active transactions move between ports, it produces
//! port setpoints that respect each mode's directions and every port's limits, and keep the router's balance.
//!
//! Port 0 faces the supply network (the energy system grid); ports 1.. face microgrids. A setpoint is the power
//! the router delivers into that port's side: positive out of the router, negative into it. The router stores
//! nothing, so the setpoints sum to zero (losses are left to its local control).
//!
//! ```
//! use ng_control::router::{Mode, PortLimits, Router};
//! let router = Router::new(vec![PortLimits::symmetric(25_000.0); 3]);
//! // NG-R1: the grid supplies both microgrids.
//! let s = router.setpoints(&Mode::R1, &[0.0, 8_000.0, 4_000.0])?;
//! assert_eq!(s.port_w, vec![-12_000.0, 8_000.0, 4_000.0]);
//! # Ok::<(), ng_control::Error>(())
//! ```

use crate::error::{Error, Result};

/// What a port may carry, W (magnitudes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PortLimits {
    /// Largest power the router delivers into the port's side.
    pub max_out_w: f64,
    /// Largest power the router takes from the port's side.
    pub max_in_w: f64,
}

impl PortLimits {
    /// The same limit both ways.
    pub fn symmetric(w: f64) -> PortLimits {
        PortLimits {
            max_out_w: w,
            max_in_w: w,
        }
    }
}

/// The router's operating mode.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// NG-R1: supply from the network side, consumption on the microgrid side.
    R1,
    /// NG-R2: supply from the network and from the listed microgrid ports, consumption in the others.
    R2 {
        /// Microgrid ports that supply.
        sources: Vec<usize>,
    },
    /// NG-R3: flows in either direction, limited toward the listed microgrid ports.
    R3 {
        /// `(port, largest power delivered into it, W)`.
        limits: Vec<(usize, f64)>,
    },
    /// NG-R4: flows in either direction, export into the network limited.
    R4 {
        /// Largest power delivered into the network, W.
        grid_export_limit_w: f64,
    },
    /// NG-R5: supply from the listed microgrid ports, consumption in the others; the network port idle.
    R5 {
        /// Microgrid ports that supply.
        sources: Vec<usize>,
    },
}

/// Port setpoints and what was curtailed.
#[derive(Debug, Clone, PartialEq)]
pub struct Setpoints {
    /// Setpoint per port, W (positive: delivered into the port's side).
    pub port_w: Vec<f64>,
    /// Requested minus granted per microgrid port (port 0 is the balance), W.
    pub curtailed_w: Vec<f64>,
}

/// A router with its port limits.
#[derive(Debug, Clone, PartialEq)]
pub struct Router {
    limits: Vec<PortLimits>,
}

/// The net request per port of transactions moving `(from_port, to_port, watts)` on top of each port's base
/// need (`base_w`, positive when that side consumes through the router).
pub fn port_requests(base_w: &[f64], transactions: &[(usize, usize, f64)]) -> Result<Vec<f64>> {
    let mut out = base_w.to_vec();
    for &(from, to, w) in transactions {
        if from >= out.len() || to >= out.len() || from == to {
            return Err(Error::CaseData(format!(
                "a transaction from port {from} to port {to} does not fit the router"
            )));
        }
        out[from] -= w;
        out[to] += w;
    }
    Ok(out)
}

impl Router {
    /// A router with these port limits (port 0 faces the network).
    pub fn new(limits: Vec<PortLimits>) -> Router {
        Router { limits }
    }

    /// The range `[lowest, highest]` a port's setpoint may take in `mode`.
    fn range(&self, mode: &Mode, port: usize) -> Result<(f64, f64)> {
        let l = self.limits[port];
        let (both, only_in, only_out) = (
            (-l.max_in_w, l.max_out_w),
            (-l.max_in_w, 0.0),
            (0.0, l.max_out_w),
        );
        let check = |ports: &[usize]| {
            ports
                .iter()
                .find(|&&p| p == 0 || p >= self.limits.len())
                .map_or(Ok(()), |p| {
                    Err(Error::CaseData(format!(
                        "port {p} is not a microgrid port of the router"
                    )))
                })
        };
        Ok(match mode {
            Mode::R1 => {
                if port == 0 {
                    only_in
                } else {
                    only_out
                }
            }
            Mode::R2 { sources } => {
                check(sources)?;
                if port == 0 || sources.contains(&port) {
                    only_in
                } else {
                    only_out
                }
            }
            Mode::R3 { limits } => {
                check(&limits.iter().map(|(p, _)| *p).collect::<Vec<_>>())?;
                match limits.iter().find(|(p, _)| *p == port) {
                    Some((_, cap)) => (both.0, both.1.min(cap.max(0.0))),
                    None => both,
                }
            }
            Mode::R4 {
                grid_export_limit_w,
            } => {
                if port == 0 {
                    (both.0, both.1.min(grid_export_limit_w.max(0.0)))
                } else {
                    both
                }
            }
            Mode::R5 { sources } => {
                check(sources)?;
                if port == 0 {
                    (0.0, 0.0)
                } else if sources.contains(&port) {
                    only_in
                } else {
                    only_out
                }
            }
        })
    }

    /// Setpoints for the requested power per port (`requests[0]` is ignored: the network port balances the
    /// router, except in NG-R5 where it stays idle). Requests beyond a port's range are clipped; when the
    /// network port cannot balance what the microgrids ask, the side in excess is scaled down in proportion.
    pub fn setpoints(&self, mode: &Mode, requests: &[f64]) -> Result<Setpoints> {
        if requests.len() != self.limits.len() || self.limits.len() < 2 {
            return Err(Error::CaseData(format!(
                "{} requests for a router of {} ports (at least 2)",
                requests.len(),
                self.limits.len()
            )));
        }
        if requests.iter().any(|r| !r.is_finite()) {
            return Err(Error::CaseData("requests must be finite".into()));
        }
        let mut port_w = vec![0.0; requests.len()];
        for (k, r) in requests.iter().enumerate().skip(1) {
            let (lo, hi) = self.range(mode, k)?;
            port_w[k] = r.clamp(lo, hi);
        }
        let (grid_lo, grid_hi) = self.range(mode, 0)?;
        let out: f64 = port_w.iter().skip(1).filter(|p| **p > 0.0).sum();
        let inn: f64 = -port_w.iter().skip(1).filter(|p| **p < 0.0).sum::<f64>();
        // Balance: grid + out − in = 0 → grid = in − out, which must lie in [grid_lo, grid_hi].
        let grid = inn - out;
        if grid < grid_lo {
            // The microgrids draw more than the network may supply: scale the outflows.
            let factor = if out > 0.0 {
                ((inn - grid_lo) / out).clamp(0.0, 1.0)
            } else {
                0.0
            };
            port_w
                .iter_mut()
                .skip(1)
                .filter(|p| **p > 0.0)
                .for_each(|p| *p *= factor);
        } else if grid > grid_hi {
            // The microgrids push more than the network may take: scale the inflows.
            let factor = if inn > 0.0 {
                ((out + grid_hi) / inn).clamp(0.0, 1.0)
            } else {
                0.0
            };
            port_w
                .iter_mut()
                .skip(1)
                .filter(|p| **p < 0.0)
                .for_each(|p| *p *= factor);
        }
        // Rounding leaves at most a few ULPs outside the range; the network port takes its range.
        port_w[0] = (-port_w.iter().skip(1).sum::<f64>()).clamp(grid_lo, grid_hi);
        let curtailed_w = requests
            .iter()
            .zip(&port_w)
            .enumerate()
            .map(|(k, (r, p))| if k == 0 { 0.0 } else { r - p })
            .collect();
        Ok(Setpoints {
            port_w,
            curtailed_w,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router() -> Router {
        Router::new(vec![
            PortLimits::symmetric(25_000.0),
            PortLimits::symmetric(10_000.0),
            PortLimits::symmetric(10_000.0),
            PortLimits::symmetric(10_000.0),
        ])
    }

    fn balanced(s: &Setpoints) -> bool {
        s.port_w.iter().sum::<f64>().abs() < 1e-9
    }

    #[test]
    fn r1_grid_supplies_microgrids_only() {
        let s = router()
            .setpoints(&Mode::R1, &[0.0, 6_000.0, -3_000.0, 12_000.0])
            .unwrap();
        // A microgrid cannot feed back in R1; port 3 is held to its 10 kW.
        assert_eq!(s.port_w, vec![-16_000.0, 6_000.0, 0.0, 10_000.0]);
        assert_eq!(s.curtailed_w, vec![0.0, 0.0, -3_000.0, 2_000.0]);
        assert!(balanced(&s));
    }

    #[test]
    fn r2_network_and_a_microgrid_supply_the_others() {
        let reqs = port_requests(&[0.0, 0.0, 4_000.0, 2_000.0], &[(1, 2, 3_000.0)]).unwrap();
        assert_eq!(reqs, vec![0.0, -3_000.0, 7_000.0, 2_000.0]);
        let s = router()
            .setpoints(&Mode::R2 { sources: vec![1] }, &reqs)
            .unwrap();
        assert_eq!(s.port_w, vec![-6_000.0, -3_000.0, 7_000.0, 2_000.0]);
        assert!(balanced(&s));
    }

    #[test]
    fn r3_limits_flow_toward_listed_microgrids() {
        let s = router()
            .setpoints(
                &Mode::R3 {
                    limits: vec![(2, 1_500.0)],
                },
                &[0.0, -5_000.0, 4_000.0, 1_000.0],
            )
            .unwrap();
        assert_eq!(s.port_w[2], 1_500.0);
        assert_eq!(s.curtailed_w[2], 2_500.0);
        assert_eq!(s.port_w[0], 2_500.0, "the surplus goes to the network");
    }

    #[test]
    fn r4_limits_export_to_the_network() {
        let mode = Mode::R4 {
            grid_export_limit_w: 3_000.0,
        };
        let s = router()
            .setpoints(&mode, &[0.0, -6_000.0, -4_000.0, 1_000.0])
            .unwrap();
        assert!((s.port_w[0] - 3_000.0).abs() < 1e-9, "{:?}", s.port_w);
        // The two sources are scaled alike: 10 kW offered, 4 kW taken.
        assert!(
            (s.port_w[1] + 2_400.0).abs() < 1e-9 && (s.port_w[2] + 1_600.0).abs() < 1e-9,
            "{:?}",
            s.port_w
        );
        assert!(balanced(&s));
    }

    #[test]
    fn r5_microgrids_trade_with_the_network_idle() {
        let s = router()
            .setpoints(
                &Mode::R5 { sources: vec![1] },
                &[0.0, -5_000.0, 3_000.0, 4_000.0],
            )
            .unwrap();
        assert_eq!(s.port_w[0], 0.0);
        let delivered: f64 = s.port_w[2] + s.port_w[3];
        assert!((delivered - 5_000.0).abs() < 1e-9, "{:?}", s.port_w);
        assert!(balanced(&s));
    }

    #[test]
    fn malformed_requests_are_errors() {
        assert!(router().setpoints(&Mode::R1, &[0.0, 1.0]).is_err());
        assert!(
            router()
                .setpoints(&Mode::R2 { sources: vec![0] }, &[0.0; 4])
                .is_err()
        );
        assert!(
            router()
                .setpoints(&Mode::R1, &[0.0, f64::NAN, 0.0, 0.0])
                .is_err()
        );
        assert!(port_requests(&[0.0; 2], &[(0, 5, 1.0)]).is_err());
    }
}
