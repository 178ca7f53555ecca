//! Steady-state power flow on balanced networks: backward/forward sweep for radial feeders, Newton–Raphson for
//! meshed ones.
//!
//! ```
//! use ng_control::{Case, powerflow::{Method, Options, solve}};
//! let case = Case::from_matpower(
//!     "mpc.baseMVA = 10;\n\
//!      mpc.bus = [1 3 0 0 0 0 1 1 0 12.66 1 1 1; 2 1 1 0.5 0 0 1 1 0 12.66 1 1.1 0.9];\n\
//!      mpc.gen = [1 0 0 10 -10 1 10 1 10 0];\n\
//!      mpc.branch = [1 2 0.01 0.02 0 0 0 0 0 0 1 -360 360];",
//! )?;
//! let sweep = solve(&case, &Options { method: Method::Sweep, ..Options::default() })?;
//! let newton = solve(&case, &Options { method: Method::NewtonRaphson, ..Options::default() })?;
//! assert!((sweep.buses[1].vm_pu - newton.buses[1].vm_pu).abs() < 1e-9);
//! assert!(newton.losses_mw > 0.0);
//! # Ok::<(), ng_control::Error>(())
//! ```

#[cfg(test)]
mod dense;
mod network;
mod newton;
mod sparse;
mod sweep;

use crate::case::Case;
use crate::error::{Error, Result};
use network::Network;
use num_complex::Complex64;
use serde::{Deserialize, Serialize};

/// Which algorithm solves the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// The sweep where the network is radial without PV buses or off-nominal taps, Newton–Raphson otherwise.
    #[default]
    Auto,
    /// Backward/forward sweep (radial networks only).
    Sweep,
    /// Newton–Raphson in polar coordinates.
    NewtonRaphson,
}

/// Solver settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    /// The algorithm.
    pub method: Method,
    /// Newton–Raphson stops when no bus has a power mismatch above this, MVA; the sweep stops when no voltage
    /// moves by more than this divided by the base, p.u.
    pub tolerance_mva: f64,
    /// The most iterations before giving up.
    pub max_iterations: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            method: Method::Auto,
            tolerance_mva: 1e-9,
            max_iterations: 100,
        }
    }
}

/// The solved state of one bus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BusResult {
    /// Bus number as in the case.
    pub bus: u32,
    /// Voltage magnitude, p.u. (0 for isolated buses).
    pub vm_pu: f64,
    /// Voltage angle, degrees.
    pub va_deg: f64,
}

/// The flows of one branch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BranchResult {
    /// From bus.
    pub from: u32,
    /// To bus.
    pub to: u32,
    /// Whether the branch is in service (flows are zero otherwise).
    pub in_service: bool,
    /// Active power into the branch at the from end, MW.
    pub p_from_mw: f64,
    /// Reactive power into the branch at the from end, MVAr.
    pub q_from_mvar: f64,
    /// Active power into the branch at the to end, MW.
    pub p_to_mw: f64,
    /// Reactive power into the branch at the to end, MVAr.
    pub q_to_mvar: f64,
    /// Apparent power at the more loaded end as a percentage of rate A; `None` without a rating.
    pub loading: Option<f64>,
}

/// A solved power flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PowerFlowResult {
    /// Always true: a case that does not converge is an [`Error::NotConverged`].
    pub converged: bool,
    /// The method that solved it.
    pub method: Method,
    /// Iterations used.
    pub iterations: usize,
    /// Buses, in case order.
    pub buses: Vec<BusResult>,
    /// Branches, in case order.
    pub branches: Vec<BranchResult>,
    /// Total series and shunt losses of the branches, MW.
    pub losses_mw: f64,
    /// Active power the slack bus supplies, MW.
    pub slack_p_mw: f64,
    /// Reactive power the slack bus supplies, MVAr.
    pub slack_q_mvar: f64,
}

impl PowerFlowResult {
    /// The bus with the lowest voltage magnitude among those in service.
    pub fn min_voltage(&self) -> Option<&BusResult> {
        self.buses
            .iter()
            .filter(|b| b.vm_pu > 0.0)
            .min_by(|a, b| a.vm_pu.total_cmp(&b.vm_pu))
    }
}

/// Solves the power flow of `case`.
pub fn solve(case: &Case, options: &Options) -> Result<PowerFlowResult> {
    if !(options.tolerance_mva.is_finite() && options.tolerance_mva > 0.0) {
        return Err(Error::CaseData(format!(
            "tolerance {} MVA is not positive",
            options.tolerance_mva
        )));
    }
    let net = Network::build(case)?;
    let tolerance_pu = options.tolerance_mva / net.base_mva;
    let (method, (v, iterations)) = match options.method {
        Method::Sweep => (
            Method::Sweep,
            sweep::solve(
                &net,
                &sweep::tree(&net)?,
                tolerance_pu,
                options.max_iterations,
            )?,
        ),
        Method::NewtonRaphson => (
            Method::NewtonRaphson,
            newton::solve(&net, tolerance_pu, options.max_iterations)?,
        ),
        Method::Auto => match sweep::tree(&net) {
            Ok(tree) => (
                Method::Sweep,
                sweep::solve(&net, &tree, tolerance_pu, options.max_iterations)?,
            ),
            Err(_) => (
                Method::NewtonRaphson,
                newton::solve(&net, tolerance_pu, options.max_iterations)?,
            ),
        },
    };
    Ok(result(case, &net, &v, method, iterations))
}

fn result(
    case: &Case,
    net: &Network,
    v: &[Complex64],
    method: Method,
    iterations: usize,
) -> PowerFlowResult {
    let base = net.base_mva;
    let mut buses: Vec<BusResult> = case
        .buses
        .iter()
        .map(|b| BusResult {
            bus: b.id,
            vm_pu: 0.0,
            va_deg: 0.0,
        })
        .collect();
    for (k, &i) in net.case_bus.iter().enumerate() {
        buses[i].vm_pu = v[k].norm();
        buses[i].va_deg = v[k].arg().to_degrees();
    }
    let mut branches: Vec<BranchResult> = case
        .branches
        .iter()
        .map(|b| BranchResult {
            from: b.from,
            to: b.to,
            in_service: b.in_service,
            p_from_mw: 0.0,
            q_from_mvar: 0.0,
            p_to_mw: 0.0,
            q_to_mvar: 0.0,
            loading: None,
        })
        .collect();
    let mut losses = 0.0;
    for b in &net.branches {
        let (vf, vt) = (v[b.from], v[b.to]);
        let s_from = vf * (b.yff * vf + b.yft * vt).conj() * base;
        let s_to = vt * (b.ytf * vf + b.ytt * vt).conj() * base;
        losses += s_from.re + s_to.re;
        let rate = case.branches[b.case_index].rate_a_mva;
        let r = &mut branches[b.case_index];
        r.p_from_mw = s_from.re;
        r.q_from_mvar = s_from.im;
        r.p_to_mw = s_to.re;
        r.q_to_mvar = s_to.im;
        r.loading = (rate > 0.0).then(|| s_from.norm().max(s_to.norm()) / rate * 100.0);
    }
    let slack = net.injection(v, net.slack) * base;
    let slack_load = case.buses[net.case_bus[net.slack]].clone();
    PowerFlowResult {
        converged: true,
        method,
        iterations,
        buses,
        branches,
        losses_mw: losses,
        slack_p_mw: slack.re + slack_load.pd_mw,
        slack_q_mvar: slack.im + slack_load.qd_mvar,
    }
}
