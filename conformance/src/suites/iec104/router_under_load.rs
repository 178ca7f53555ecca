//! The energy-router cases that need a flow to direct: NG-R2 (the network and a microgrid supply, the other
//! microgrids consume — nothing is exported into the network) and NG-R4 (the export into the network is held
//! to its limit). The runner makes the flow itself through two microgrid ports the PICS declares as following
//! their active-power setpoints (`router_following_ports = [source, sink]`): the source gives `router_flow_kw`,
//! the sink takes half of it, so the other half is a surplus the router must put somewhere.
//!
//! Each case first sees the surplus reach the network in NG-R3 (flows either way, limits at the rating): a
//! router on which it never does has nothing to hold back, and the case is inconclusive rather than passed.
//! Then the mode under test must hold it back, with the source still feeding (a router that stops every flow
//! does not pass either). What a case changes it puts back: setpoints to zero, the network port's limit to the
//! rating, the mode the router had.
//!
//! In NG-R2 and NG-R5 the profile takes a microgrid port with a negative active-power setpoint as a source.
//! The modes are the IDEA standard's draft: the cases are on the watchlist.

use super::asdus;
use super::energy_router::{
    FLOW_TOLERANCE_KW, Reported, applies_with, command, flows_until, ioa_of, profile,
    reported_mode, restore_mode, set_mode,
};
use super::outstation::{ca, p, started};
use super::session::Session;
use crate::case::{Applicability, Maturity, TestCase};
use crate::pics::Pics;
use crate::verdict::Verdict;

/// The flow the cases command out of the source port when the PICS names none, kW.
const DEFAULT_FLOW_KW: f32 = 4.0;

/// The IOAs and values a case works with.
struct Bench {
    common: u16,
    set_mode: u32,
    mode_point: u32,
    /// `p_kw[0]`, `p_kw[source]`, `p_kw[sink]`.
    flows: [u32; 3],
    /// `p_setpoint_kw[source]`, `p_setpoint_kw[sink]`.
    setpoints: [u32; 2],
    /// `p_limit_kw[0]`.
    network_limit: u32,
    flow_kw: f32,
    rating_kw: f32,
}

impl Bench {
    fn of(pics: &Pics) -> Result<Bench, Verdict> {
        let station = p(pics);
        let [source, sink] = following_ports(pics)
            .ok_or_else(|| Verdict::Error("no two following ports declared".into()))?;
        let profile = profile()?;
        let flow_kw = station.router_flow_kw.unwrap_or(DEFAULT_FLOW_KW);
        let rating_kw = station.router_rating_kw.unwrap_or(2.0 * flow_kw);
        Ok(Bench {
            common: ca(pics),
            set_mode: ioa_of(&profile, "set_mode")?,
            mode_point: ioa_of(&profile, "mode")?,
            flows: [
                ioa_of(&profile, "p_kw[0]")?,
                ioa_of(&profile, &format!("p_kw[{source}]"))?,
                ioa_of(&profile, &format!("p_kw[{sink}]"))?,
            ],
            setpoints: [
                ioa_of(&profile, &format!("p_setpoint_kw[{source}]"))?,
                ioa_of(&profile, &format!("p_setpoint_kw[{sink}]"))?,
            ],
            network_limit: ioa_of(&profile, "p_limit_kw[0]")?,
            flow_kw,
            rating_kw,
        })
    }

    /// `(network, source, sink)` as reported (NaN where a flow was not).
    fn read(&self, flows: &Reported) -> (f32, f32, f32) {
        let get = |ioa: u32| flows.get(&ioa).and_then(|(_, v)| *v).unwrap_or(f32::NAN);
        (get(self.flows[0]), get(self.flows[1]), get(self.flows[2]))
    }

    fn setpoint(&self, s: &mut Session, ioa: u32, kw: f32, what: &str) -> Result<(), Verdict> {
        if command(s, asdus::setpoint(self.common, ioa, kw, false), what)? {
            Ok(())
        } else {
            Err(Verdict::Fail(format!("{what} ({kw} kW) was refused")))
        }
    }

    fn mode(&self, s: &mut Session, mode: i16) -> Result<(), Verdict> {
        if set_mode(s, self.common, self.set_mode, mode)? {
            Ok(())
        } else {
            Err(Verdict::Fail(format!("NG-R{mode} was refused")))
        }
    }

    /// Commands the flow and sees its surplus reach the network in NG-R3; gives the export seen, kW.
    fn surplus_exported(&self, s: &mut Session) -> Result<f32, Verdict> {
        self.setpoint(
            s,
            self.network_limit,
            self.rating_kw,
            "the network port's limit",
        )?;
        self.setpoint(s, self.setpoints[0], -self.flow_kw, "the source's setpoint")?;
        self.setpoint(
            s,
            self.setpoints[1],
            self.flow_kw / 2.0,
            "the sink's setpoint",
        )?;
        self.mode(s, 3)?;
        let (flows, seen) = flows_until(s, self.common, |f| {
            let (network, source, _) = self.read(f);
            network > FLOW_TOLERANCE_KW && source < -FLOW_TOLERANCE_KW
        })?;
        let (network, source, sink) = self.read(&flows);
        if seen {
            Ok(network)
        } else {
            Err(Verdict::Inconclusive(format!(
                "with the source at -{} kW and the sink at {} kW in NG-R3 the ports carried network {network}, \
                 source {source}, sink {sink} kW within t1: no surplus reached the network, nothing to hold back",
                self.flow_kw,
                self.flow_kw / 2.0
            )))
        }
    }

    /// Puts back the setpoints, the network port's limit and the mode.
    fn restore(&self, s: &mut Session, before: Option<f32>) {
        for ioa in self.setpoints {
            let _ = command(
                s,
                asdus::setpoint(self.common, ioa, 0.0, false),
                "a setpoint",
            );
        }
        let _ = command(
            s,
            asdus::setpoint(self.common, self.network_limit, self.rating_kw, false),
            "the rating",
        );
        restore_mode(s, self.common, self.set_mode, before);
    }

    /// Runs `body` between the surplus seen in NG-R3 and the restoration.
    fn run(
        &self,
        s: &mut Session,
        body: impl FnOnce(&Bench, &mut Session, f32) -> Result<Verdict, Verdict>,
    ) -> Verdict {
        let before = match reported_mode(s, self.common, self.mode_point) {
            Ok(m) => m,
            Err(v) => return v,
        };
        let verdict = self
            .surplus_exported(s)
            .and_then(|exported| body(self, s, exported))
            .unwrap_or_else(|v| v);
        self.restore(s, before);
        verdict
    }
}

/// The two following ports the PICS declares, when it declares exactly two distinct microgrid ports.
fn following_ports(pics: &Pics) -> Option<[u32; 2]> {
    match p(pics).router_following_ports.as_deref() {
        Some(&[source, sink]) if source != sink && source > 0 && sink > 0 => Some([source, sink]),
        _ => None,
    }
}

fn applies(pics: &Pics) -> Applicability {
    applies_with(pics, |pics| match p(pics).router_following_ports {
        None => Applicability::NotApplicable(
            "no microgrid ports following their setpoints declared (router_following_ports)".into(),
        ),
        Some(_) if following_ports(pics).is_none() => Applicability::NotApplicable(
            "router_following_ports must name two distinct microgrid ports, [source, sink]".into(),
        ),
        Some(_) => Applicability::Applies,
    })
}

fn network_and_microgrid_supply(s: &mut Session, pics: &Pics) -> Verdict {
    let bench = match Bench::of(pics) {
        Ok(b) => b,
        Err(v) => return v,
    };
    started(s, |s| {
        bench.run(s, |bench, s, exported| {
            // NG-R2: the network and the source supply, the sink consumes; nothing goes into the network.
            bench.mode(s, 2)?;
            let (flows, held) = flows_until(s, bench.common, |f| {
                let (network, source, sink) = bench.read(f);
                network <= FLOW_TOLERANCE_KW
                    && source < -FLOW_TOLERANCE_KW
                    && sink > FLOW_TOLERANCE_KW
            })?;
            let (network, source, sink) = bench.read(&flows);
            Ok(if held {
                Verdict::Pass
            } else {
                Verdict::Fail(format!(
                    "NG-R3 exported {exported} kW into the network; after t1 in NG-R2 the ports carry network \
                     {network}, source {source}, sink {sink} kW (NG-R2: the network only supplies, the source \
                     feeds, the sink consumes)"
                ))
            })
        })
    })
}

fn network_export_limited(s: &mut Session, pics: &Pics) -> Verdict {
    let bench = match Bench::of(pics) {
        Ok(b) => b,
        Err(v) => return v,
    };
    started(s, |s| {
        bench.run(s, |bench, s, exported| {
            // NG-R4: half the export seen is the limit; the source keeps feeding within it.
            let limit = (exported / 2.0 * 10.0).round() / 10.0;
            bench.setpoint(s, bench.network_limit, limit, "the network port's limit")?;
            bench.mode(s, 4)?;
            let (flows, held) = flows_until(s, bench.common, |f| {
                let (network, source, _) = bench.read(f);
                network <= limit + FLOW_TOLERANCE_KW && source < -FLOW_TOLERANCE_KW
            })?;
            let (network, source, sink) = bench.read(&flows);
            Ok(if held {
                Verdict::Pass
            } else {
                Verdict::Fail(format!(
                    "NG-R3 exported {exported} kW into the network; after t1 in NG-R4 with the export limited \
                     to {limit} kW the ports carry network {network}, source {source}, sink {sink} kW"
                ))
            })
        })
    })
}

/// The cases.
pub(super) fn cases() -> Vec<TestCase<Session>> {
    let watch = Maturity::Watchlist;
    vec![
        TestCase {
            id: "iec104-outstation/ng-r/6",
            title: "Under load in NG-R2 the network and a microgrid supply, another microgrid consumes, and no surplus is exported into the network",
            requirements: &["NG-R2"],
            clause: "IDEA energy-router profile",
            maturity: watch,
            applies,
            run: network_and_microgrid_supply,
        },
        TestCase {
            id: "iec104-outstation/ng-r/7",
            title: "Under load in NG-R4 the export into the network is held to the network port's limit",
            requirements: &["NG-R4"],
            clause: "IDEA energy-router profile",
            maturity: watch,
            applies,
            run: network_export_limited,
        },
    ]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::panic)]
    use super::*;

    fn pics(ports: &str) -> Pics {
        Pics::from_toml(
            "test",
            &format!(
                "[device]\nvendor = \"v\"\nmodel = \"m\"\nversion = \"1\"\n[iec104]\nenergy_router_profile = true\n{ports}"
            ),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn two_distinct_microgrid_ports_are_needed() {
        assert_eq!(
            following_ports(&pics("router_following_ports = [1, 2]")),
            Some([1, 2])
        );
        for wrong in ["[1]", "[1, 1]", "[0, 2]", "[1, 2, 3]"] {
            let pics = pics(&format!("router_following_ports = {wrong}"));
            assert_eq!(following_ports(&pics), None, "{wrong}");
            assert!(
                matches!(applies(&pics), Applicability::NotApplicable(_)),
                "{wrong}"
            );
        }
        assert!(matches!(
            applies(&pics("router_following_ports = [2, 1]")),
            Applicability::Applies
        ));
        assert!(
            matches!(applies(&pics("")), Applicability::NotApplicable(r) if r.contains("router_following_ports"))
        );
    }
}
