//! The IDEA energy-router profile cases of `iec104-outstation` (NG-R1..R6): the router reports the points of
//! the profile's map (`iec104`'s `data/energy-router.toml`, read here, never restated), takes the modes NG-R1..R5
//! and reports each through its own mode point, refuses a mode the standard does not have, and keeps a port's
//! measured flow toward its microgrid within the limit it was commanded (NG-R3). What a case changes it puts
//! back: the mode the router had, the limit its PICS calls the rating.
//!
//! The modes NG-R1 and NG-R5 are checked by the flows they allow (no microgrid port feeding the router in
//! NG-R1, an idle network port in NG-R5). NG-R2's and NG-R4's flows under load are `router_under_load`'s: the
//! runner makes the flow through two ports that follow their setpoints, where the PICS declares them.
//!
//! The modes are the IDEA standard's draft (NG-R1..R5): the cases are on the watchlist.

use super::asdus::{self, cause, types};
use super::outstation::{asdu_of, ca, confirmation, no_answer, p, started};
use super::session::Session;
use crate::case::{Applicability, Maturity, TestCase};
use crate::pics::Pics;
use crate::verdict::Verdict;
use iec104::profile::Profile;
use iec104::{Asdu, Element, Objects};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Interrogation group of the flows (QOI 21) and of the state (QOI 22), as the profile groups them.
const QOI_FLOWS: u8 = 21;
const QOI_STATE: u8 = 22;
/// How far a measured flow may pass its limit: a measurement is not a contract (kW).
pub(super) const FLOW_TOLERANCE_KW: f32 = 0.1;
/// What an interrogation reported: type and value by IOA.
pub(super) type Reported = BTreeMap<u32, (u8, Option<f32>)>;
/// How often a limited flow is read while it settles.
const POLL_EVERY: Duration = Duration::from_millis(500);

/// Applies where the PICS declares the profile and `more` says so too.
pub(super) fn applies_with(
    pics: &Pics,
    more: impl FnOnce(&Pics) -> Applicability,
) -> Applicability {
    match applies(pics) {
        Applicability::Applies => more(pics),
        not => not,
    }
}

fn applies(pics: &Pics) -> Applicability {
    match p(pics).energy_router_profile {
        Some(true) => Applicability::Applies,
        Some(false) => {
            Applicability::NotApplicable("the PICS declares no IDEA energy-router profile".into())
        }
        None => Applicability::NotApplicable("no IDEA energy-router profile declared".into()),
    }
}

/// The profile, or the runner's own error.
pub(super) fn profile() -> Result<Profile, Verdict> {
    Profile::energy_router().map_err(|e| Verdict::Error(format!("the energy-router profile: {e}")))
}

pub(super) fn ioa_of(profile: &Profile, name: &str) -> Result<u32, Verdict> {
    profile
        .entry(name)
        .map(|e| e.ioa)
        .ok_or_else(|| Verdict::Error(format!("the energy-router profile has no {name}")))
}

/// The number an object carries (a float, a scaled value, a single point).
fn value_of(elements: &[Element]) -> Option<f32> {
    match elements.first()? {
        Element::R32(bits) => Some(f32::from_bits(*bits)),
        Element::Sva(v) => Some(f32::from(*v)),
        Element::Siq(s) => Some(f32::from(*s & 1)),
        _ => None,
    }
}

/// A station or group interrogation: every object reported, by IOA, with its type and value.
fn interrogate(s: &mut Session, common: u16, qoi: u8) -> Result<Reported, Verdict> {
    s.send_asdu(asdus::interrogation(common, qoi, cause::ACTIVATION))
        .map_err(Verdict::Error)?;
    let (term, seen) = confirmation(s, types::C_IC_NA_1, cause::ACTIVATION_TERM);
    if asdu_of(&term).is_none() {
        return Err(no_answer("end of the interrogation", s.t1));
    }
    let mut objects = BTreeMap::new();
    for asdu in seen.iter().filter(|a| a.cot.cause == qoi) {
        if let Objects::Known(list) = &asdu.objects {
            for o in list {
                objects.insert(o.ioa, (asdu.type_id, value_of(&o.elements)));
            }
        }
    }
    Ok(objects)
}

/// Sends a command and gives whether it was confirmed positively.
pub(super) fn command(s: &mut Session, asdu: Asdu, what: &str) -> Result<bool, Verdict> {
    let type_id = asdu.type_id;
    s.send_asdu(asdu).map_err(Verdict::Error)?;
    let (con, _) = confirmation(s, type_id, cause::ACTIVATION_CON);
    match asdu_of(&con) {
        Some(a) => Ok(!a.cot.negative),
        None => Err(no_answer(&format!("confirmation of {what}"), s.t1)),
    }
}

pub(super) fn set_mode(s: &mut Session, common: u16, ioa: u32, mode: i16) -> Result<bool, Verdict> {
    command(
        s,
        asdus::scaled_setpoint(common, ioa, mode),
        &format!("mode {mode}"),
    )
}

/// Puts back the mode the router reported before a case changed it (a mode of NG-R1..R5 only).
pub(super) fn restore_mode(s: &mut Session, common: u16, set: u32, before: Option<f32>) {
    let mode = (1..=5i16).find(|m| before == Some(f32::from(*m)));
    if let Some(m) = mode {
        let _ = set_mode(s, common, set, m);
    }
}

/// The mode the router reports now.
pub(super) fn reported_mode(
    s: &mut Session,
    common: u16,
    point: u32,
) -> Result<Option<f32>, Verdict> {
    Ok(interrogate(s, common, QOI_STATE)?
        .get(&point)
        .and_then(|(_, v)| *v))
}

/// Reads the mode point until it reports `mode` (at most t1): `None` once it does, else what it reported.
fn mode_reported(
    s: &mut Session,
    common: u16,
    point: u32,
    mode: i16,
) -> Result<Option<Option<f32>>, Verdict> {
    let since = Instant::now();
    loop {
        let now = reported_mode(s, common, point)?;
        if now == Some(f32::from(mode)) {
            return Ok(None);
        }
        if since.elapsed() >= s.t1 {
            return Ok(Some(now));
        }
        let _ = s.receive(POLL_EVERY);
    }
}

fn reports_the_profile(s: &mut Session, pics: &Pics) -> Verdict {
    let profile = match profile() {
        Ok(p) => p,
        Err(v) => return v,
    };
    let common = ca(pics);
    started(s, |s| {
        let objects = match interrogate(s, common, cause::STATION) {
            Ok(o) => o,
            Err(v) => return v,
        };
        let mut missing = Vec::new();
        for point in &profile.points {
            match objects.get(&point.ioa) {
                Some((t, _)) if *t == point.type_id => {}
                Some((t, _)) => missing.push(format!(
                    "{} (IOA {}) came as type {t}, not {}",
                    point.name, point.ioa, point.type_id
                )),
                None => missing.push(format!(
                    "{} (IOA {}) was not reported",
                    point.name, point.ioa
                )),
            }
        }
        if missing.is_empty() {
            Verdict::Pass
        } else {
            Verdict::Fail(missing.join("; "))
        }
    })
}

fn modes_are_taken_and_reported(s: &mut Session, pics: &Pics) -> Verdict {
    let (set, point) =
        match profile().and_then(|p| Ok((ioa_of(&p, "set_mode")?, ioa_of(&p, "mode")?))) {
            Ok(x) => x,
            Err(v) => return v,
        };
    let common = ca(pics);
    started(s, |s| {
        let before = match reported_mode(s, common, point) {
            Ok(m) => m,
            Err(v) => return v,
        };
        let mut wrong = Vec::new();
        for mode in 1..=5i16 {
            match set_mode(s, common, set, mode) {
                Err(v) => return v,
                Ok(false) => wrong.push(format!("NG-R{mode} was refused")),
                Ok(true) => match mode_reported(s, common, point, mode) {
                    Err(v) => return v,
                    Ok(Some(other)) => wrong.push(format!(
                        "after NG-R{mode} the mode point still reports {other:?} after t1"
                    )),
                    Ok(None) => {}
                },
            }
        }
        // Put back what it had.
        restore_mode(s, common, set, before);
        if wrong.is_empty() {
            Verdict::Pass
        } else {
            Verdict::Fail(wrong.join("; "))
        }
    })
}

fn unknown_mode_refused(s: &mut Session, pics: &Pics) -> Verdict {
    let set = match profile().and_then(|p| ioa_of(&p, "set_mode")) {
        Ok(x) => x,
        Err(v) => return v,
    };
    let common = ca(pics);
    started(s, |s| match set_mode(s, common, set, 6) {
        Err(v) => v,
        Ok(false) => Verdict::Pass,
        Ok(true) => Verdict::Fail("mode 6, which NG-R1..R5 does not have, was confirmed".into()),
    })
}

/// Commands `mode` and a limit on `port`, then reads the port's flow until `within` holds for it (at most t1);
/// puts the limit (the PICS' rating) and the mode back. Gives the last flow read and whether it held.
fn limited_flow(
    s: &mut Session,
    pics: &Pics,
    mode: i16,
    port: u32,
    within: impl Fn(f32, f32) -> bool,
) -> Result<(f32, bool), Verdict> {
    let profile = profile()?;
    let station = p(pics);
    let limit = station.router_limit_kw.unwrap_or(1.0);
    let common = ca(pics);
    // A port that follows its setpoint is asked for a flow above the limit (and back to none afterwards).
    let driven = match station.router_following_ports.as_deref() {
        Some(ports) if ports.contains(&port) => {
            let setpoint = ioa_of(&profile, &format!("p_setpoint_kw[{port}]"))?;
            let ask = 2.0 * limit + 1.0;
            if !command(
                s,
                asdus::setpoint(common, setpoint, ask, false),
                "the port's setpoint",
            )? {
                return Err(Verdict::Fail(format!(
                    "a setpoint of {ask} kW on port {port}, which the PICS says follows its setpoint, was refused"
                )));
            }
            Some(setpoint)
        }
        _ => None,
    };
    let outcome = limit_held(s, pics, mode, port, &within);
    if let Some(setpoint) = driven {
        let _ = command(
            s,
            asdus::setpoint(common, setpoint, 0.0, false),
            "the setpoint",
        );
    }
    outcome
}

/// [`limited_flow`] once the port carries what it carries.
fn limit_held(
    s: &mut Session,
    pics: &Pics,
    mode: i16,
    port: u32,
    within: impl Fn(f32, f32) -> bool,
) -> Result<(f32, bool), Verdict> {
    let profile = profile()?;
    let set_mode_ioa = ioa_of(&profile, "set_mode")?;
    let mode_point = ioa_of(&profile, "mode")?;
    let limit_ioa = ioa_of(&profile, &format!("p_limit_kw[{port}]"))?;
    let flow_ioa = ioa_of(&profile, &format!("p_kw[{port}]"))?;
    let station = p(pics);
    let limit = station.router_limit_kw.unwrap_or(1.0);
    let rating = station.router_rating_kw.unwrap_or(limit);
    let common = ca(pics);
    // A limit is only seen holding a flow that was above it: wait (at most t1) for one.
    let flow_of = |flows: &Reported| flows.get(&flow_ioa).and_then(|(_, v)| *v);
    let (flows, above) = flows_until(s, common, |f| flow_of(f).is_some_and(|v| !within(v, limit)))?;
    if !above {
        return Err(Verdict::Inconclusive(format!(
            "port {port} carried {:?} kW, never above the {limit} kW limit within t1: nothing to hold",
            flow_of(&flows)
        )));
    }
    let before = reported_mode(s, common, mode_point)?;
    if !set_mode(s, common, set_mode_ioa, mode)? {
        return Err(Verdict::Fail(format!("NG-R{mode} was refused")));
    }
    let limited = command(
        s,
        asdus::setpoint(common, limit_ioa, limit, false),
        "the port limit",
    );
    let outcome = match limited {
        Ok(true) => flows_until(s, common, |f| flow_of(f).is_some_and(|v| within(v, limit)))
            .and_then(|(flows, held)| match flow_of(&flows) {
                Some(flow) => Ok((flow, held)),
                None => Err(Verdict::Fail(format!(
                    "the flow of port {port} (IOA {flow_ioa}) was not reported"
                ))),
            }),
        Ok(false) => Err(Verdict::Fail(format!(
            "the limit {limit} kW on port {port} was refused"
        ))),
        Err(v) => Err(v),
    };
    // Put back the rating and the mode, whatever came of it.
    let _ = command(
        s,
        asdus::setpoint(common, limit_ioa, rating, false),
        "the rating",
    );
    restore_mode(s, common, set_mode_ioa, before);
    outcome
}

fn microgrid_port_limit_holds(s: &mut Session, pics: &Pics) -> Verdict {
    let port = p(pics).router_port.unwrap_or(1);
    started(s, |s| {
        // NG-R3; the profile's port limit bounds the flow either way (positive: out of the router into the
        // port's side).
        match limited_flow(s, pics, 3, port, |flow, limit| {
            flow.abs() <= limit + FLOW_TOLERANCE_KW
        }) {
            Err(v) => v,
            Ok((_, true)) => Verdict::Pass,
            Ok((flow, false)) => Verdict::Fail(format!(
                "in NG-R3 with port {port} limited to {} kW, the port still carries {flow} kW after t1",
                p(pics).router_limit_kw.unwrap_or(1.0)
            )),
        }
    })
}

/// The energy-router profile's cases.
/// Reads the flows until `holds` accepts them (at most t1); the flows last read and whether they held.
pub(super) fn flows_until(
    s: &mut Session,
    common: u16,
    holds: impl Fn(&Reported) -> bool,
) -> Result<(Reported, bool), Verdict> {
    let since = Instant::now();
    loop {
        let flows = interrogate(s, common, QOI_FLOWS)?;
        if holds(&flows) {
            return Ok((flows, true));
        }
        if since.elapsed() >= s.t1 {
            return Ok((flows, false));
        }
        let _ = s.receive(POLL_EVERY);
    }
}

fn modes_direct_the_flows(s: &mut Session, pics: &Pics) -> Verdict {
    let profile = match profile() {
        Ok(p) => p,
        Err(v) => return v,
    };
    let (set, point) =
        match ioa_of(&profile, "set_mode").and_then(|a| Ok((a, ioa_of(&profile, "mode")?))) {
            Ok(x) => x,
            Err(v) => return v,
        };
    // The port flows by port number (positive: out of the router into the port's side).
    let ports: Vec<(usize, u32)> = profile
        .points
        .iter()
        .filter_map(|e| {
            let port = e
                .name
                .strip_prefix("p_kw[")?
                .strip_suffix(']')?
                .parse()
                .ok()?;
            Some((port, e.ioa))
        })
        .collect();
    let network = ports.iter().find(|(k, _)| *k == 0).map(|(_, ioa)| *ioa);
    let common = ca(pics);
    started(s, |s| {
        let before = match reported_mode(s, common, point) {
            Ok(m) => m,
            Err(v) => return v,
        };
        let flow =
            |flows: &Reported, ioa: u32| flows.get(&ioa).and_then(|(_, v)| *v).unwrap_or(f32::NAN);
        let mut wrong = Vec::new();
        // NG-R1: the network supplies, the microgrids consume: no microgrid port feeds the router.
        match set_mode(s, common, set, 1).and_then(|ok| {
            flows_until(s, common, |f| {
                ports
                    .iter()
                    .filter(|(k, _)| *k > 0)
                    .all(|(_, ioa)| flow(f, *ioa) >= -FLOW_TOLERANCE_KW)
            })
            .map(|r| (ok, r))
        }) {
            Err(v) => return v,
            Ok((false, _)) => wrong.push("NG-R1 was refused".to_owned()),
            Ok((true, (_, true))) => {}
            Ok((true, (flows, false))) => wrong.push(format!(
                "in NG-R1 a microgrid port still feeds the router after t1: {:?}",
                ports
                    .iter()
                    .filter(|(k, _)| *k > 0)
                    .map(|(k, ioa)| (k, flow(&flows, *ioa)))
                    .collect::<Vec<_>>()
            )),
        }
        // NG-R5: microgrids supply each other; the network port stays idle.
        if let Some(network) = network {
            match set_mode(s, common, set, 5).and_then(|ok| {
                flows_until(s, common, |f| flow(f, network).abs() <= FLOW_TOLERANCE_KW)
                    .map(|r| (ok, r))
            }) {
                Err(v) => return v,
                Ok((false, _)) => wrong.push("NG-R5 was refused".to_owned()),
                Ok((true, (_, true))) => {}
                Ok((true, (flows, false))) => wrong.push(format!(
                    "in NG-R5 the network port still carries {} kW after t1",
                    flow(&flows, network)
                )),
            }
        }
        restore_mode(s, common, set, before);
        if wrong.is_empty() {
            Verdict::Pass
        } else {
            Verdict::Fail(wrong.join("; "))
        }
    })
}

/// The limit case runs before the modes are cycled: a mode a microgrid cannot be held in may leave the port
/// without a flow for a while, and the limit is only seen holding a flow.
pub(super) fn cases() -> Vec<TestCase<Session>> {
    let watch = Maturity::Watchlist;
    vec![
        TestCase {
            id: "iec104-outstation/ng-r/1",
            title: "The router reports every point of the IDEA energy-router profile with its type",
            requirements: &["NG-R6", "IOT-02"],
            clause: "IDEA energy-router profile; IEC 60870-5-101 clause 7.4.5",
            maturity: watch,
            applies,
            run: reports_the_profile,
        },
        TestCase {
            id: "iec104-outstation/ng-r/2",
            title: "In NG-R3 a port limit holds the port's measured flow, either way",
            requirements: &["NG-R3"],
            clause: "IDEA energy-router profile",
            maturity: watch,
            applies,
            run: microgrid_port_limit_holds,
        },
        TestCase {
            id: "iec104-outstation/ng-r/3",
            title: "Each mode NG-R1..R5 is confirmed and reported back by the router's mode point",
            requirements: &["NG-R1", "NG-R2", "NG-R3", "NG-R4", "NG-R5"],
            clause: "IDEA energy-router profile; IEC 60870-5-101 clause 7.4.2",
            maturity: watch,
            applies,
            run: modes_are_taken_and_reported,
        },
        TestCase {
            id: "iec104-outstation/ng-r/4N",
            title: "A mode outside NG-R1..R5 is refused",
            requirements: &["NG-R1", "NG-R5"],
            clause: "IDEA energy-router profile; IEC 60870-5-101 clause 7.4.2",
            maturity: watch,
            applies,
            run: unknown_mode_refused,
        },
        TestCase {
            id: "iec104-outstation/ng-r/5",
            title: "The modes direct the measured flows: in NG-R1 no microgrid port feeds the router, in NG-R5 the network port is idle",
            requirements: &["NG-R1", "NG-R5"],
            clause: "IDEA energy-router profile",
            maturity: watch,
            applies,
            run: modes_direct_the_flows,
        },
    ]
    .into_iter()
    .chain(super::router_under_load::cases())
    .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::panic)]
    use super::*;

    #[test]
    fn the_profile_names_the_cases_use_exist() {
        let profile = Profile::energy_router().unwrap_or_else(|e| panic!("{e}"));
        for name in [
            "set_mode",
            "mode",
            "p_limit_kw[0]",
            "p_limit_kw[1]",
            "p_kw[0]",
            "p_kw[1]",
        ] {
            assert!(profile.entry(name).is_some(), "{name}");
        }
        assert_eq!(value_of(&[Element::Sva(3)]), Some(3.0));
        assert_eq!(value_of(&[Element::Siq(0x81)]), Some(1.0));
    }
}
