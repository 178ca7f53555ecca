//! Neural Grid functions from C: the IEEE 1547-2018 characteristics (volt-var, watt-var, volt-watt with the
//! Category A/B defaults, clause 5.3 and 5.4) and frequency droop (clause 6.5.2.7) evaluated, the defaults read
//! as points, custom curves evaluated; and a power flow solved on a MATPOWER case (backward/forward sweep or
//! Newton–Raphson) with its buses and branches read.

use crate::IdeaResult;
use crate::buffer::{bytes_in, value_out};
use crate::error::FfiError;
use crate::guard::guard;
use crate::handle::{borrow, free_handle, new_handle, opaque};
use ng_control::der::{Category, Curve, Droop, Ieee1547};
use ng_control::powerflow::{self, Method, Options, PowerFlowResult};

/// An IEEE 1547 characteristic with default curves.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdeaNgCharacteristic {
    /// Volt-var (Table 8): Q (p.u. of Srated) against V (p.u.).
    VoltVar = 0,
    /// Watt-var (Table 9): Q (p.u. of Srated) against P (p.u. of Prated).
    WattVar = 1,
    /// Volt-watt (Table 10): the active power limit (p.u. of Prated) against V (p.u.).
    VoltWatt = 2,
}

/// A normal operating performance category.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdeaNgCategory {
    /// Category A.
    A = 0,
    /// Category B.
    B = 1,
}

/// One point of a piecewise-linear curve.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct IdeaNgPoint {
    /// The input (V or P, p.u.).
    pub x: f64,
    /// The output (Q or P, p.u.).
    pub y: f64,
}

/// Frequency-droop settings.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct IdeaNgDroop {
    /// One-sided deadband around nominal, Hz, stated at 60 Hz (scaled to the nominal frequency).
    pub deadband_hz: f64,
    /// Per-unit frequency change for 1 p.u. of active power (0.05 = 5 %).
    pub droop: f64,
    /// Open-loop response time, s.
    pub response_time_s: f64,
}

fn category(number: u32) -> Result<Category, FfiError> {
    match number {
        n if n == IdeaNgCategory::A as u32 => Ok(Category::A),
        n if n == IdeaNgCategory::B as u32 => Ok(Category::B),
        other => Err(FfiError::invalid(format!(
            "{other} is not an IdeaNgCategory"
        ))),
    }
}

/// The default curve of a characteristic and its open-loop response time (watt-var has none: 0).
fn default_curve(characteristic: u32, category_number: u32) -> Result<(Curve, f64), FfiError> {
    let c = category(category_number)?;
    match characteristic {
        n if n == IdeaNgCharacteristic::VoltVar as u32 => {
            let vv = Ieee1547::volt_var(c);
            Ok((vv.curve, vv.response_time_s))
        }
        n if n == IdeaNgCharacteristic::WattVar as u32 => Ok((Ieee1547::watt_var(c), 0.0)),
        n if n == IdeaNgCharacteristic::VoltWatt as u32 => {
            let vw = Ieee1547::volt_watt(c);
            Ok((vw.curve, vw.response_time_s))
        }
        other => Err(FfiError::invalid(format!(
            "{other} is not an IdeaNgCharacteristic"
        ))),
    }
}

/// The default characteristic `characteristic` of `category` evaluated at `x` (flat beyond its first and last
/// points): volt-var gives Q for V, watt-var Q for P, volt-watt the P limit for V, all per unit.
///
/// Thread safety: any thread.
///
/// # Safety
/// `out_y` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_ng_characteristic_eval(
    characteristic: u32,
    category_number: u32,
    x: f64,
    out_y: *mut f64,
) -> IdeaResult {
    guard(|| {
        if !x.is_finite() {
            return Err(FfiError::invalid(format!("x = {x} is not finite")));
        }
        let (curve, _) = default_curve(characteristic, category_number)?;
        // SAFETY: the caller's guarantee.
        unsafe { value_out(out_y, curve.eval(x), "out_y") }
    })
}

/// The points of a default characteristic (the standard's table, read from the SDK's data) into `points` (room
/// for `cap`; `*out_count` always receives how many), and its open-loop response time in `*out_response_s`
/// (may be null; 0 for watt-var, which has none of its own).
///
/// Thread safety: any thread.
///
/// # Safety
/// `points` is null or valid for `cap` points; `out_count` is valid for writing; `out_response_s` is null or
/// valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_ng_characteristic_points(
    characteristic: u32,
    category_number: u32,
    points: *mut IdeaNgPoint,
    cap: usize,
    out_count: *mut usize,
    out_response_s: *mut f64,
) -> IdeaResult {
    guard(|| {
        let (curve, response) = default_curve(characteristic, category_number)?;
        let found = curve.points();
        // SAFETY: the caller's guarantee.
        unsafe {
            value_out(out_count, found.len(), "out_count")?;
            if let Some(r) = out_response_s.as_mut() {
                *r = response;
            }
        }
        if points.is_null() || cap < found.len() {
            return Err(FfiError::new(
                IdeaResult::BufferTooSmall,
                format!("{} points, the array holds {cap}", found.len()),
            ));
        }
        for (i, (x, y)) in found.iter().enumerate() {
            // SAFETY: `i < found.len() <= cap`, within the caller's array.
            unsafe { points.add(i).write(IdeaNgPoint { x: *x, y: *y }) };
        }
        Ok(())
    })
}

/// A custom piecewise-linear curve of `n` points (x non-decreasing, all finite; else
/// `IDEA_RESULT_INVALID_ARGUMENT`) evaluated at `x`, flat beyond its first and last points.
///
/// Thread safety: any thread.
///
/// # Safety
/// `points` is valid for `n` points; `out_y` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_ng_curve_eval(
    points: *const IdeaNgPoint,
    n: usize,
    x: f64,
    out_y: *mut f64,
) -> IdeaResult {
    guard(|| {
        if points.is_null() {
            return Err(FfiError::null("points"));
        }
        // SAFETY: valid for `n` points by the caller's guarantee.
        let given = unsafe { std::slice::from_raw_parts(points, n) };
        let curve = Curve::new(given.iter().map(|p| (p.x, p.y)).collect()).ok_or_else(|| {
            FfiError::invalid(
                "a curve needs at least one point, finite values and x that never decreases",
            )
        })?;
        if !x.is_finite() {
            return Err(FfiError::invalid(format!("x = {x} is not finite")));
        }
        // SAFETY: the caller's guarantee.
        unsafe { value_out(out_y, curve.eval(x), "out_y") }
    })
}

/// The IEEE 1547-2018 frequency-droop defaults (Table 24).
///
/// Thread safety: any thread.
///
/// # Safety
/// `out` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_ng_droop_defaults(out: *mut IdeaNgDroop) -> IdeaResult {
    guard(|| {
        let d = Ieee1547::frequency_droop();
        let view = IdeaNgDroop {
            deadband_hz: d.deadband_hz,
            droop: d.droop,
            response_time_s: d.response_time_s,
        };
        // SAFETY: the caller's guarantee.
        unsafe { value_out(out, view, "out") }
    })
}

/// The active power (p.u. of Prated) under frequency droop at `f_hz` with nominal `nominal_hz`: above nominal
/// plus the deadband it falls from the pre-disturbance `p_pre` by Δf / (f_nominal · droop), not below `p_min`;
/// below nominal minus the deadband it rises, not above the available `p_avail`. `settings` null means the
/// standard's defaults.
///
/// Thread safety: any thread.
///
/// # Safety
/// `settings` is null or valid for reading; `out_p` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_ng_frequency_droop(
    settings: *const IdeaNgDroop,
    f_hz: f64,
    nominal_hz: f64,
    p_pre: f64,
    p_avail: f64,
    p_min: f64,
    out_p: *mut f64,
) -> IdeaResult {
    guard(|| {
        // SAFETY: null or valid by the caller's guarantee.
        let droop = match unsafe { settings.as_ref() } {
            None => Ieee1547::frequency_droop(),
            Some(s) => Droop {
                deadband_hz: s.deadband_hz,
                droop: s.droop,
                response_time_s: s.response_time_s,
            },
        };
        let all_finite = [
            f_hz,
            nominal_hz,
            p_pre,
            p_avail,
            p_min,
            droop.deadband_hz,
            droop.droop,
        ]
        .iter()
        .all(|v| v.is_finite());
        if !all_finite || nominal_hz <= 0.0 || droop.droop <= 0.0 || droop.deadband_hz < 0.0 {
            return Err(FfiError::invalid(
                "frequencies, powers and settings must be finite, the nominal frequency and droop positive, the deadband not negative",
            ));
        }
        if p_min > p_avail {
            return Err(FfiError::invalid(format!(
                "p_min {p_min} exceeds p_avail {p_avail}"
            )));
        }
        let p = droop.active_power(f_hz, nominal_hz, p_pre, p_avail, p_min);
        // SAFETY: the caller's guarantee.
        unsafe { value_out(out_p, p, "out_p") }
    })
}

/// A solved power flow. Read-only: safe to read from several threads at once.
pub struct IdeaNgPowerFlow {
    _private: [u8; 0],
}
opaque!(IdeaNgPowerFlow, PowerFlowResult, 0x4944_4541_4e47_5046);

/// The power-flow algorithms.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdeaNgMethod {
    /// The sweep on radial networks without PV buses or off-nominal taps, Newton–Raphson otherwise.
    Auto = 0,
    /// Backward/forward sweep (radial networks only).
    Sweep = 1,
    /// Newton–Raphson in polar coordinates.
    NewtonRaphson = 2,
}

/// A solved power flow's totals.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct IdeaNgPowerFlowSummary {
    /// The method that solved it (an `IdeaNgMethod`, never `AUTO`).
    pub method: u32,
    /// Iterations used.
    pub iterations: usize,
    /// Buses, in case order.
    pub bus_count: usize,
    /// Branches, in case order.
    pub branch_count: usize,
    /// Series and shunt losses of the branches, MW.
    pub losses_mw: f64,
    /// Active power the slack bus supplies, MW.
    pub slack_p_mw: f64,
    /// Reactive power the slack bus supplies, MVAr.
    pub slack_q_mvar: f64,
    /// The bus with the lowest voltage in service, and that voltage (p.u.).
    pub min_voltage_bus: u32,
    /// The lowest voltage magnitude, p.u.
    pub min_voltage_pu: f64,
}

/// One bus of a solved power flow.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct IdeaNgBus {
    /// Bus number as in the case.
    pub bus: u32,
    /// Voltage magnitude, p.u. (0 for isolated buses).
    pub vm_pu: f64,
    /// Voltage angle, degrees.
    pub va_deg: f64,
}

/// One branch of a solved power flow.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct IdeaNgBranch {
    /// From bus.
    pub from: u32,
    /// To bus.
    pub to: u32,
    /// Whether it is in service (flows are zero otherwise).
    pub in_service: bool,
    /// Active power into the branch at the from end, MW.
    pub p_from_mw: f64,
    /// Reactive power into the branch at the from end, MVAr.
    pub q_from_mvar: f64,
    /// Active power into the branch at the to end, MW.
    pub p_to_mw: f64,
    /// Reactive power into the branch at the to end, MVAr.
    pub q_to_mvar: f64,
    /// Whether the branch has a rating (rate A).
    pub has_loading: bool,
    /// Apparent power at the more loaded end as a percentage of rate A (0 without a rating).
    pub loading_percent: f64,
}

/// Solves the power flow of the MATPOWER case in `text` (`len` bytes of UTF-8, at most the SDK's case size
/// limit) with `method` (an `IdeaNgMethod`). A syntax error is `IDEA_RESULT_NG_CASE_SYNTAX` naming the line;
/// a case that cannot be solved is `IDEA_RESULT_NG_CASE_DATA`, `IDEA_RESULT_NG_UNSUPPORTED` or
/// `IDEA_RESULT_NG_NOT_CONVERGED`, saying why.
///
/// Ownership: `*out` is a new handle; free it with `idea_ng_powerflow_free`. Thread safety: any thread.
///
/// # Safety
/// `text` is valid for `len` bytes; `out` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_ng_powerflow_solve(
    text: *const u8,
    len: usize,
    method: u32,
    out: *mut *mut IdeaNgPowerFlow,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let bytes = unsafe { bytes_in(text, len, "text") }?;
        if bytes.len() > ng_control::MAX_CASE_BYTES {
            return Err(FfiError::new(
                IdeaResult::NgCaseData,
                format!(
                    "a case of {} bytes exceeds {}",
                    bytes.len(),
                    ng_control::MAX_CASE_BYTES
                ),
            ));
        }
        let text = std::str::from_utf8(bytes).map_err(|e| {
            FfiError::new(
                IdeaResult::InvalidUtf8,
                format!("the case is not UTF-8 (byte {})", e.valid_up_to()),
            )
        })?;
        let method = match method {
            m if m == IdeaNgMethod::Auto as u32 => Method::Auto,
            m if m == IdeaNgMethod::Sweep as u32 => Method::Sweep,
            m if m == IdeaNgMethod::NewtonRaphson as u32 => Method::NewtonRaphson,
            other => return Err(FfiError::invalid(format!("{other} is not an IdeaNgMethod"))),
        };
        let case = ng_control::Case::from_matpower(text)?;
        let result = powerflow::solve(
            &case,
            &Options {
                method,
                ..Options::default()
            },
        )?;
        // SAFETY: the caller's guarantee.
        unsafe { new_handle(out, result) }
    })
}

/// The solved power flow's totals.
///
/// Thread safety: any thread.
///
/// # Safety
/// `pf` is a live handle; `out` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_ng_powerflow_summary(
    pf: *const IdeaNgPowerFlow,
    out: *mut IdeaNgPowerFlowSummary,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let r = unsafe { borrow(pf) }?;
        let min = r.min_voltage();
        let summary = IdeaNgPowerFlowSummary {
            method: match r.method {
                Method::Sweep => IdeaNgMethod::Sweep as u32,
                Method::NewtonRaphson => IdeaNgMethod::NewtonRaphson as u32,
                Method::Auto => IdeaNgMethod::Auto as u32,
            },
            iterations: r.iterations,
            bus_count: r.buses.len(),
            branch_count: r.branches.len(),
            losses_mw: r.losses_mw,
            slack_p_mw: r.slack_p_mw,
            slack_q_mvar: r.slack_q_mvar,
            min_voltage_bus: min.map_or(0, |b| b.bus),
            min_voltage_pu: min.map_or(0.0, |b| b.vm_pu),
        };
        // SAFETY: the caller's guarantee.
        unsafe { value_out(out, summary, "out") }
    })
}

/// Bus `index` (0 to `bus_count` − 1, in case order).
///
/// Thread safety: any thread.
///
/// # Safety
/// `pf` is a live handle; `out` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_ng_powerflow_bus(
    pf: *const IdeaNgPowerFlow,
    index: usize,
    out: *mut IdeaNgBus,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let r = unsafe { borrow(pf) }?;
        let b = r.buses.get(index).ok_or_else(|| {
            FfiError::invalid(format!(
                "bus {index} of {}: index out of range",
                r.buses.len()
            ))
        })?;
        let view = IdeaNgBus {
            bus: b.bus,
            vm_pu: b.vm_pu,
            va_deg: b.va_deg,
        };
        // SAFETY: the caller's guarantee.
        unsafe { value_out(out, view, "out") }
    })
}

/// Branch `index` (0 to `branch_count` − 1, in case order).
///
/// Thread safety: any thread.
///
/// # Safety
/// `pf` is a live handle; `out` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_ng_powerflow_branch(
    pf: *const IdeaNgPowerFlow,
    index: usize,
    out: *mut IdeaNgBranch,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let r = unsafe { borrow(pf) }?;
        let b = r.branches.get(index).ok_or_else(|| {
            FfiError::invalid(format!(
                "branch {index} of {}: index out of range",
                r.branches.len()
            ))
        })?;
        let view = IdeaNgBranch {
            from: b.from,
            to: b.to,
            in_service: b.in_service,
            p_from_mw: b.p_from_mw,
            q_from_mvar: b.q_from_mvar,
            p_to_mw: b.p_to_mw,
            q_to_mvar: b.q_to_mvar,
            has_loading: b.loading.is_some(),
            loading_percent: b.loading.unwrap_or(0.0),
        };
        // SAFETY: the caller's guarantee.
        unsafe { value_out(out, view, "out") }
    })
}

/// Frees the power flow in `*pf` and sets it to null; null does nothing.
///
/// Ownership: the handle is released; any other copy of its pointer dangles. Thread safety: not while
/// another call uses the handle.
///
/// # Safety
/// `pf` is null or valid for reading and writing a pointer that is null or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_ng_powerflow_free(pf: *mut *mut IdeaNgPowerFlow) -> IdeaResult {
    // SAFETY: the caller's guarantee.
    guard(|| unsafe { free_handle(pf) })
}
