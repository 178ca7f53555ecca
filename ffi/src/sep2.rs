//! IEEE 2030.5 from C (IEEE 2030.5-2018 with the CSIP-AUS extension): documents parsed into handles and
//! written back, the fields a DER client needs — its programs, their `DERControl` events with their times and
//! control values, the `DefaultDERControl` — and the DER event scheduler of clause 10.10 and 12.1.3 driven from
//! C with explicit time, giving the controls in force and the `DERControlResponse`s to post; the LFDI and SFDI
//! of a device certificate (clause 6.3.4).

use crate::IdeaResult;
use crate::buffer::{bytes_in, text_in, value_out, write_bytes, write_text};
use crate::error::FfiError;
use crate::guard::guard;
use crate::handle::{borrow, borrow_mut, free_handle, new_handle, opaque};
use ieee2030_5::primitives::HexBinary;
use ieee2030_5::resources::{AnyResource, DERControl, DERControlBase};
use ieee2030_5::scheduler::{
    DerMode, EventState, ModeSet, OutgoingResponse, Scheduler, SchedulerConfig, SchedulerEvent,
};
use std::ffi::c_char;

/// A parsed IEEE 2030.5 document (any resource type this library reads, or an unknown one kept whole). Not
/// safe to use from two threads at once; may move between threads.
pub struct IdeaSep2Resource {
    _private: [u8; 0],
}
opaque!(IdeaSep2Resource, AnyResource, 0x4944_4541_5345_5032);

/// The DER event scheduler of one EndDevice. Not safe to use from two threads at once.
pub struct IdeaSep2Scheduler {
    _private: [u8; 0],
}
opaque!(IdeaSep2Scheduler, Scheduler, 0x4944_4541_5345_5053);

/// A `DERControlResponse` the device owes, with where to post it.
pub struct IdeaSep2Response {
    _private: [u8; 0],
}
opaque!(IdeaSep2Response, OutgoingResponse, 0x4944_4541_5345_5052);

/// The values of a `DERControlBase` (clause 10.10) a DER applies, in natural units. Each `has_` flag says
/// whether the control sets that mode; `modes` has bit `1 << IDEA_SEP2_MODE_…` set for every mode it sets,
/// curve and ride-through modes included (their curves are links the caller fetches).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct IdeaSep2Controls {
    /// Every mode the control sets, one bit each.
    pub modes: u32,
    /// `opModConnect` is set.
    pub has_connect: bool,
    /// Connect (true) or disconnect.
    pub connect: bool,
    /// `opModEnergize` is set.
    pub has_energize: bool,
    /// Energize (true) or de-energize.
    pub energize: bool,
    /// `opModMaxLimW` is set.
    pub has_max_lim_w: bool,
    /// Maximum active power, % of `setMaxW`.
    pub max_lim_w_percent: f64,
    /// `opModFixedW` is set.
    pub has_fixed_w: bool,
    /// Charge/discharge setpoint, % of `setMaxW` (negative: charge).
    pub fixed_w_percent: f64,
    /// `opModTargetW` is set.
    pub has_target_w: bool,
    /// Target active power, W.
    pub target_w: f64,
    /// `opModTargetVar` is set.
    pub has_target_var: bool,
    /// Target reactive power, var.
    pub target_var: f64,
    /// `opModFixedVar` is set.
    pub has_fixed_var: bool,
    /// Reactive power setpoint, % of the reference `fixed_var_ref_type` names.
    pub fixed_var_percent: f64,
    /// `refType` of `opModFixedVar`.
    pub fixed_var_ref_type: u8,
    /// `opModFixedPFInjectW` is set.
    pub has_fixed_pf_inject: bool,
    /// Displacement power factor while injecting (0–1).
    pub fixed_pf_inject: f64,
    /// Its excitation: true for over-excited.
    pub fixed_pf_inject_excitation: bool,
    /// `opModFixedPFAbsorbW` is set.
    pub has_fixed_pf_absorb: bool,
    /// Displacement power factor while absorbing (0–1).
    pub fixed_pf_absorb: f64,
    /// Its excitation: true for over-excited.
    pub fixed_pf_absorb_excitation: bool,
    /// CSIP-AUS `opModImpLimW` is set.
    pub has_imp_lim_w: bool,
    /// Maximum import at the connection point, W.
    pub imp_lim_w: f64,
    /// CSIP-AUS `opModExpLimW` is set.
    pub has_exp_lim_w: bool,
    /// Maximum export at the connection point, W.
    pub exp_lim_w: f64,
    /// CSIP-AUS `opModGenLimW` is set.
    pub has_gen_lim_w: bool,
    /// Maximum generation (discharge), W.
    pub gen_lim_w: f64,
    /// CSIP-AUS `opModLoadLimW` is set.
    pub has_load_lim_w: bool,
    /// Maximum load (charge), W.
    pub load_lim_w: f64,
    /// `rampTms` is set.
    pub has_ramp: bool,
    /// Ramp time, s.
    pub ramp_s: f64,
}

/// The DER control modes, each numbered by its bit in `IdeaSep2Controls::modes`: the schema's element order of
/// `DERControlBase`, then the CSIP-AUS extension's. Numbers are stable.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdeaSep2Mode {
    /// `opModConnect`.
    Connect = 0,
    /// `opModEnergize`.
    Energize = 1,
    /// `opModFixedPFAbsorbW`.
    FixedPfAbsorbW = 2,
    /// `opModFixedPFInjectW`.
    FixedPfInjectW = 3,
    /// `opModFixedVar`.
    FixedVar = 4,
    /// `opModFixedW`.
    FixedW = 5,
    /// `opModFreqDroop`.
    FreqDroop = 6,
    /// `opModFreqWatt`.
    FreqWatt = 7,
    /// `opModHFRTMayTrip`.
    HfrtMayTrip = 8,
    /// `opModHFRTMustTrip`.
    HfrtMustTrip = 9,
    /// `opModHVRTMayTrip`.
    HvrtMayTrip = 10,
    /// `opModHVRTMomentaryCessation`.
    HvrtMomentaryCessation = 11,
    /// `opModHVRTMustTrip`.
    HvrtMustTrip = 12,
    /// `opModLFRTMayTrip`.
    LfrtMayTrip = 13,
    /// `opModLFRTMustTrip`.
    LfrtMustTrip = 14,
    /// `opModLVRTMayTrip`.
    LvrtMayTrip = 15,
    /// `opModLVRTMomentaryCessation`.
    LvrtMomentaryCessation = 16,
    /// `opModLVRTMustTrip`.
    LvrtMustTrip = 17,
    /// `opModMaxLimW`.
    MaxLimW = 18,
    /// `opModTargetVar`.
    TargetVar = 19,
    /// `opModTargetW`.
    TargetW = 20,
    /// `opModVoltVar`.
    VoltVar = 21,
    /// `opModVoltWatt`.
    VoltWatt = 22,
    /// `opModWattPF`.
    WattPf = 23,
    /// `opModWattVar`.
    WattVar = 24,
    /// CSIP-AUS `opModImpLimW`.
    ImpLimW = 25,
    /// CSIP-AUS `opModExpLimW`.
    ExpLimW = 26,
    /// CSIP-AUS `opModGenLimW`.
    GenLimW = 27,
    /// CSIP-AUS `opModLoadLimW`.
    LoadLimW = 28,
}

/// The schema names of the modes in `IdeaSep2Mode` order, for the test that keeps it in step with `DerMode`.
#[cfg(test)]
const MODE_NAMES: [&str; 29] = [
    "opModConnect",
    "opModEnergize",
    "opModFixedPFAbsorbW",
    "opModFixedPFInjectW",
    "opModFixedVar",
    "opModFixedW",
    "opModFreqDroop",
    "opModFreqWatt",
    "opModHFRTMayTrip",
    "opModHFRTMustTrip",
    "opModHVRTMayTrip",
    "opModHVRTMomentaryCessation",
    "opModHVRTMustTrip",
    "opModLFRTMayTrip",
    "opModLFRTMustTrip",
    "opModLVRTMayTrip",
    "opModLVRTMomentaryCessation",
    "opModLVRTMustTrip",
    "opModMaxLimW",
    "opModTargetVar",
    "opModTargetW",
    "opModVoltVar",
    "opModVoltWatt",
    "opModWattPF",
    "opModWattVar",
    "opModImpLimW",
    "opModExpLimW",
    "opModGenLimW",
    "opModLoadLimW",
];

fn scaled(value: i16, multiplier: i8) -> f64 {
    f64::from(value) * 10f64.powi(i32::from(multiplier))
}

fn controls_of(base: &DERControlBase) -> IdeaSep2Controls {
    let mut c = IdeaSep2Controls {
        modes: ModeSet::of(base).iter().fold(0u32, |bits, m| {
            bits | 1u32.checked_shl(mode_index(m)).unwrap_or(0)
        }),
        ..IdeaSep2Controls::default()
    };
    if let Some(v) = base.op_mod_connect {
        (c.has_connect, c.connect) = (true, v);
    }
    if let Some(v) = base.op_mod_energize {
        (c.has_energize, c.energize) = (true, v);
    }
    if let Some(v) = base.op_mod_max_lim_w {
        (c.has_max_lim_w, c.max_lim_w_percent) = (true, f64::from(v) / 100.0);
    }
    if let Some(v) = base.op_mod_fixed_w {
        (c.has_fixed_w, c.fixed_w_percent) = (true, f64::from(v) / 100.0);
    }
    if let Some(p) = &base.op_mod_target_w {
        (c.has_target_w, c.target_w) = (true, scaled(p.value, p.multiplier));
    }
    if let Some(q) = &base.op_mod_target_var {
        (c.has_target_var, c.target_var) = (true, scaled(q.value, q.multiplier));
    }
    if let Some(v) = &base.op_mod_fixed_var {
        (c.has_fixed_var, c.fixed_var_percent, c.fixed_var_ref_type) =
            (true, f64::from(v.value) / 100.0, v.ref_type);
    }
    if let Some(pf) = &base.op_mod_fixed_pf_inject_w {
        c.has_fixed_pf_inject = true;
        c.fixed_pf_inject = f64::from(pf.displacement) * 10f64.powi(i32::from(pf.multiplier));
        c.fixed_pf_inject_excitation = pf.excitation;
    }
    if let Some(pf) = &base.op_mod_fixed_pf_absorb_w {
        c.has_fixed_pf_absorb = true;
        c.fixed_pf_absorb = f64::from(pf.displacement) * 10f64.powi(i32::from(pf.multiplier));
        c.fixed_pf_absorb_excitation = pf.excitation;
    }
    for (field, has, value) in [
        (
            &base.op_mod_imp_lim_w,
            &mut c.has_imp_lim_w,
            &mut c.imp_lim_w,
        ),
        (
            &base.op_mod_exp_lim_w,
            &mut c.has_exp_lim_w,
            &mut c.exp_lim_w,
        ),
        (
            &base.op_mod_gen_lim_w,
            &mut c.has_gen_lim_w,
            &mut c.gen_lim_w,
        ),
        (
            &base.op_mod_load_lim_w,
            &mut c.has_load_lim_w,
            &mut c.load_lim_w,
        ),
    ] {
        if let Some(p) = field {
            (*has, *value) = (true, scaled(p.value, p.multiplier));
        }
    }
    if let Some(t) = base.ramp_tms {
        (c.has_ramp, c.ramp_s) = (true, f64::from(t) / 100.0);
    }
    c
}

/// The position of a mode among all modes: its `IdeaSep2Mode` number and bit in `IdeaSep2Controls::modes`.
fn mode_index(mode: DerMode) -> u32 {
    DerMode::ALL
        .iter()
        .position(|m| *m == mode)
        .and_then(|i| u32::try_from(i).ok())
        .unwrap_or(31)
}

/// Parses the IEEE 2030.5 document at the front of `xml` (any namespace prefix; CSIP-AUS elements in either
/// of their namespaces; unknown elements kept and written back). Malformed XML is `IDEA_RESULT_SEP2_XML`, a
/// value outside its type `IDEA_RESULT_SEP2_VALUE`, a misplaced or missing element
/// `IDEA_RESULT_SEP2_STRUCTURE` — each with the byte offset in `idea_last_error`.
///
/// Ownership: `*out` is a new handle; free it with `idea_sep2_resource_free`. Thread safety: any thread.
///
/// # Safety
/// `xml` is valid for `len` bytes; `out` and `out_used` are valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sep2_resource_decode(
    xml: *const u8,
    len: usize,
    out: *mut *mut IdeaSep2Resource,
    out_used: *mut usize,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let input = unsafe { bytes_in(xml, len, "xml") }?;
        if out_used.is_null() {
            return Err(FfiError::null("out_used"));
        }
        let (resource, used) = ieee2030_5::resources::decode(input)?;
        // SAFETY: the caller's guarantee.
        unsafe {
            value_out(out_used, used, "out_used")?;
            new_handle(out, resource)
        }
    })
}

/// The resource as an XML document in the schema's element order (what a server sends and the XSD accepts).
///
/// Thread safety: any thread, while no other call changes the resource.
///
/// # Safety
/// `resource` is a live handle; `buf` is null or valid for `cap` bytes; `out_len` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sep2_resource_encode(
    resource: *const IdeaSep2Resource,
    buf: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let r = unsafe { borrow(resource) }?;
        let mut xml = Vec::new();
        ieee2030_5::resources::encode(r, &mut xml);
        // SAFETY: the caller's guarantee.
        unsafe { write_bytes(&xml, buf, cap, out_len) }
    })
}

/// The resource's schema type name (`"DERControlList"`), NUL-terminated in `buf`.
///
/// Thread safety: any thread, while no other call changes the resource.
///
/// # Safety
/// `resource` is a live handle; `buf` is null or valid for `cap` bytes; `out_len` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sep2_resource_type(
    resource: *const IdeaSep2Resource,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let name = unsafe { borrow(resource) }?.type_name().to_owned();
        // SAFETY: the caller's guarantee.
        unsafe { write_text(&name, buf, cap, out_len) }
    })
}

/// The items of a list resource a DER client walks (`DERControlList`, `DERProgramList`): how many it holds here
/// (one page). Another type is `IDEA_RESULT_WRONG_STATE`.
///
/// Thread safety: any thread, while no other call changes the resource.
///
/// # Safety
/// `resource` is a live handle; `out_count` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sep2_list_count(
    resource: *const IdeaSep2Resource,
    out_count: *mut usize,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let count = match unsafe { borrow(resource) }? {
            AnyResource::DERControlList(l) => l.der_control.len(),
            AnyResource::DERProgramList(l) => l.der_program.len(),
            other => return Err(not_a_list(other)),
        };
        // SAFETY: the caller's guarantee.
        unsafe { value_out(out_count, count, "out_count") }
    })
}

fn not_a_list(r: &AnyResource) -> FfiError {
    FfiError::new(
        IdeaResult::WrongState,
        format!(
            "a {} is not a DERControlList or DERProgramList",
            r.type_name()
        ),
    )
}

/// A copy of item `index` of a list resource (a `DERControl` or `DERProgram`) as a new handle.
///
/// Ownership: `*out` is a new handle. Thread safety: any thread, while no other call changes the resource.
///
/// # Safety
/// `resource` is a live handle; `out` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sep2_list_item(
    resource: *const IdeaSep2Resource,
    index: usize,
    out: *mut *mut IdeaSep2Resource,
) -> IdeaResult {
    guard(|| {
        let out_of_range =
            |n: usize| FfiError::invalid(format!("item {index} of {n}: index out of range"));
        // SAFETY: the caller's guarantee.
        let item = match unsafe { borrow(resource) }? {
            AnyResource::DERControlList(l) => l
                .der_control
                .get(index)
                .cloned()
                .map(AnyResource::DERControl)
                .ok_or_else(|| out_of_range(l.der_control.len()))?,
            AnyResource::DERProgramList(l) => l
                .der_program
                .get(index)
                .cloned()
                .map(AnyResource::DERProgram)
                .ok_or_else(|| out_of_range(l.der_program.len()))?,
            other => return Err(not_a_list(other)),
        };
        // SAFETY: the caller's guarantee.
        unsafe { new_handle(out, item) }
    })
}

/// A `DERControl` event's identity, times (Unix seconds, server time) and values.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct IdeaSep2DerControl {
    /// Its mRID.
    pub mrid: [u8; 16],
    /// When the server created it; newer supersedes older (clause 12.1.3.2).
    pub creation_time: i64,
    /// Scheduled start.
    pub start: i64,
    /// Scheduled duration, s.
    pub duration: u32,
    /// `EventStatus/currentStatus`: 0 scheduled, 1 active, 2 cancelled, 3 cancelled with randomisation, 4
    /// superseded.
    pub current_status: u8,
    /// `randomizeStart`, s (0 when absent).
    pub randomize_start: i16,
    /// `randomizeDuration`, s (0 when absent).
    pub randomize_duration: i16,
    /// `responseRequired` bits (0 when absent): 0x01 received, 0x02 specific responses, 0x04 opt-out.
    pub response_required: u8,
    /// The control values.
    pub controls: IdeaSep2Controls,
}

/// The fields of a `DERControl`; another type is `IDEA_RESULT_WRONG_STATE`.
///
/// Thread safety: any thread, while no other call changes the resource.
///
/// # Safety
/// `resource` is a live handle; `out` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sep2_der_control_read(
    resource: *const IdeaSep2Resource,
    out: *mut IdeaSep2DerControl,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let AnyResource::DERControl(c) = unsafe { borrow(resource) }? else {
            return Err(FfiError::new(IdeaResult::WrongState, "not a DERControl"));
        };
        let view = IdeaSep2DerControl {
            mrid: c.mrid.0,
            creation_time: c.creation_time,
            start: c.interval.start,
            duration: c.interval.duration,
            current_status: c.event_status.current_status,
            randomize_start: c.randomize_start.unwrap_or(0),
            randomize_duration: c.randomize_duration.unwrap_or(0),
            response_required: c.response_required.map_or(0, |h| h.0[0]),
            controls: controls_of(&c.der_control_base),
        };
        // SAFETY: the caller's guarantee.
        unsafe { value_out(out, view, "out") }
    })
}

/// The control values of a `DefaultDERControl` (or of a `DERControl`).
///
/// Thread safety: any thread, while no other call changes the resource.
///
/// # Safety
/// `resource` is a live handle; `out` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sep2_controls_read(
    resource: *const IdeaSep2Resource,
    out: *mut IdeaSep2Controls,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let base = match unsafe { borrow(resource) }? {
            AnyResource::DefaultDERControl(d) => &d.der_control_base,
            AnyResource::DERControl(c) => &c.der_control_base,
            other => {
                return Err(FfiError::new(
                    IdeaResult::WrongState,
                    format!("a {} has no DERControlBase", other.type_name()),
                ));
            }
        };
        // SAFETY: the caller's guarantee.
        unsafe { value_out(out, controls_of(base), "out") }
    })
}

/// A scheduler for the EndDevice whose LFDI is `lfdi` (20 bytes, written into every response), supporting
/// every mode, with `seed` for the events' randomisation (a random value fixed per device in production).
///
/// Ownership: `*out` is a new handle; free it with `idea_sep2_scheduler_free`. Thread safety: any thread.
///
/// # Safety
/// `lfdi` is valid for 20 bytes; `out` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sep2_scheduler_new(
    lfdi: *const u8,
    seed: u64,
    out: *mut *mut IdeaSep2Scheduler,
) -> IdeaResult {
    guard(|| {
        if lfdi.is_null() {
            return Err(FfiError::null("lfdi"));
        }
        let mut bytes = [0u8; 20];
        // SAFETY: valid for 20 bytes by the caller's guarantee.
        unsafe { std::ptr::copy_nonoverlapping(lfdi, bytes.as_mut_ptr(), 20) };
        let scheduler = Scheduler::new(SchedulerConfig {
            lfdi: HexBinary(bytes),
            device_category: None,
            supported: ModeSet::all(),
            seed,
        });
        // SAFETY: the caller's guarantee.
        unsafe { new_handle(out, scheduler) }
    })
}

/// Learns the server's clock from its `Time` resource read at `now` (the device's clock, Unix seconds): the
/// scheduler then works in server time.
///
/// Thread safety: not with other calls on the same scheduler.
///
/// # Safety
/// `scheduler` and `time` are live handles.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sep2_scheduler_set_time(
    scheduler: *mut IdeaSep2Scheduler,
    time: *const IdeaSep2Resource,
    now: i64,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let s = unsafe { borrow_mut(scheduler) }?;
        // SAFETY: the caller's guarantee.
        let AnyResource::Time(t) = unsafe { borrow(time) }? else {
            return Err(FfiError::invalid("not a Time resource"));
        };
        s.set_time(t, now);
        Ok(())
    })
}

/// Takes the current state of one `DERProgram` (`program`) of server `server` (any name for it, such as its
/// base URL): its events — `n` handles, each a `DERControl` or a `DERControlList` page — and its
/// `DefaultDERControl` (`default_control`, may be null), read at device time `now`. Responses and events follow
/// from the poll functions.
///
/// Thread safety: not with other calls on the same scheduler.
///
/// # Safety
/// `scheduler` and `program` are live handles; `server` is NUL-terminated; `controls` is valid for `n` live
/// handles (or null with `n` 0); `default_control` is null or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sep2_scheduler_update_program(
    scheduler: *mut IdeaSep2Scheduler,
    server: *const c_char,
    program: *const IdeaSep2Resource,
    controls: *const *const IdeaSep2Resource,
    n: usize,
    default_control: *const IdeaSep2Resource,
    now: i64,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let s = unsafe { borrow_mut(scheduler) }?;
        // SAFETY: the caller's guarantee.
        let server = unsafe { text_in(server, "server") }?;
        // SAFETY: the caller's guarantee.
        let AnyResource::DERProgram(program) = unsafe { borrow(program) }? else {
            return Err(FfiError::invalid("program is not a DERProgram"));
        };
        if controls.is_null() && n > 0 {
            return Err(FfiError::null("controls"));
        }
        let handles: &[*const IdeaSep2Resource] = if n == 0 {
            &[]
        } else {
            // SAFETY: valid for `n` handles by the caller's guarantee.
            unsafe { std::slice::from_raw_parts(controls, n) }
        };
        let mut events: Vec<DERControl> = Vec::new();
        for (i, h) in handles.iter().enumerate() {
            // SAFETY: each a live handle by the caller's guarantee.
            match unsafe { borrow(*h) }? {
                AnyResource::DERControl(c) => events.push(c.clone()),
                AnyResource::DERControlList(l) => events.extend(l.der_control.iter().cloned()),
                other => {
                    return Err(FfiError::invalid(format!(
                        "controls[{i}] is a {}, not a DERControl or DERControlList",
                        other.type_name()
                    )));
                }
            }
        }
        let default = if default_control.is_null() {
            None
        } else {
            // SAFETY: a live handle by the caller's guarantee.
            match unsafe { borrow(default_control) }? {
                AnyResource::DefaultDERControl(d) => Some(d),
                other => {
                    return Err(FfiError::invalid(format!(
                        "default_control is a {}, not a DefaultDERControl",
                        other.type_name()
                    )));
                }
            }
        };
        s.update_program(server, program, &events, default, now);
        Ok(())
    })
}

/// When `idea_sep2_scheduler_handle_timeout` should next be called, device time (Unix seconds); `*out_has` is
/// false when nothing is scheduled.
///
/// Thread safety: not with calls that change the same scheduler.
///
/// # Safety
/// `scheduler` is a live handle; the outputs are valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sep2_scheduler_poll_timeout(
    scheduler: *const IdeaSep2Scheduler,
    out_has: *mut bool,
    out_at: *mut i64,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let at = unsafe { borrow(scheduler) }?.poll_timeout();
        // SAFETY: the caller's guarantee.
        unsafe {
            value_out(out_has, at.is_some(), "out_has")?;
            value_out(out_at, at.unwrap_or(0), "out_at")
        }
    })
}

/// Moves the scheduler to device time `now`: events start, end and are superseded, in order, even when called
/// late.
///
/// Thread safety: not with other calls on the same scheduler.
///
/// # Safety
/// `scheduler` is a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sep2_scheduler_handle_timeout(
    scheduler: *mut IdeaSep2Scheduler,
    now: i64,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        unsafe { borrow_mut(scheduler) }?.handle_timeout(now);
        Ok(())
    })
}

/// The controls in force now: each mode from the event that holds it, else from the default control.
///
/// Thread safety: not with calls that change the same scheduler.
///
/// # Safety
/// `scheduler` is a live handle; `out` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sep2_scheduler_active(
    scheduler: *const IdeaSep2Scheduler,
    out: *mut IdeaSep2Controls,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let controls = controls_of(unsafe { borrow(scheduler) }?.active().base());
        // SAFETY: the caller's guarantee.
        unsafe { value_out(out, controls, "out") }
    })
}

/// What happened in the scheduler.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdeaSep2EventKind {
    /// Nothing is waiting.
    None = 0,
    /// An event moved to a new state (`state`).
    StateChanged = 1,
    /// The controls in force changed: read `idea_sep2_scheduler_active` and apply them.
    ControlsChanged = 2,
}

/// The states of a DER event.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdeaSep2EventState {
    /// Not yet started.
    Scheduled = 0,
    /// Holding at least one mode.
    Active = 1,
    /// Held off its modes by a program of higher primacy.
    Suspended = 2,
    /// Opted out by the device.
    OptedOut = 3,
    /// Ran to its end.
    Completed = 4,
    /// Cancelled by the server.
    Cancelled = 5,
    /// Superseded by a newer event.
    Superseded = 6,
    /// Aborted by the server.
    Aborted = 7,
    /// Refused by the device (the response code says why).
    Rejected = 8,
    /// Not for this device.
    Ignored = 9,
}

/// One scheduler event.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct IdeaSep2SchedulerEvent {
    /// An `IdeaSep2EventKind`.
    pub kind: u32,
    /// The DER event's mRID (for `STATE_CHANGED`).
    pub mrid: [u8; 16],
    /// Its new state (an `IdeaSep2EventState`, for `STATE_CHANGED`).
    pub state: u32,
    /// Server time of the change.
    pub at: i64,
}

fn state_number(state: EventState) -> u32 {
    let s = match state {
        EventState::Scheduled => IdeaSep2EventState::Scheduled,
        EventState::Active => IdeaSep2EventState::Active,
        EventState::Suspended => IdeaSep2EventState::Suspended,
        EventState::OptedOut => IdeaSep2EventState::OptedOut,
        EventState::Completed => IdeaSep2EventState::Completed,
        EventState::Cancelled => IdeaSep2EventState::Cancelled,
        EventState::Superseded => IdeaSep2EventState::Superseded,
        EventState::Aborted => IdeaSep2EventState::Aborted,
        EventState::Rejected(_) => IdeaSep2EventState::Rejected,
        _ => IdeaSep2EventState::Ignored,
    };
    s as u32
}

/// The next scheduler event; `out->kind` is `IDEA_SEP2_EVENT_KIND_NONE` when nothing waits.
///
/// Thread safety: not with other calls on the same scheduler.
///
/// # Safety
/// `scheduler` is a live handle; `out` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sep2_scheduler_poll_event(
    scheduler: *mut IdeaSep2Scheduler,
    out: *mut IdeaSep2SchedulerEvent,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let event = match unsafe { borrow_mut(scheduler) }?.poll_event() {
            None => IdeaSep2SchedulerEvent::default(),
            Some(SchedulerEvent::StateChanged { mrid, state, at }) => IdeaSep2SchedulerEvent {
                kind: IdeaSep2EventKind::StateChanged as u32,
                mrid: mrid.0,
                state: state_number(state),
                at,
            },
            Some(SchedulerEvent::ControlsChanged { at }) => IdeaSep2SchedulerEvent {
                kind: IdeaSep2EventKind::ControlsChanged as u32,
                at,
                ..IdeaSep2SchedulerEvent::default()
            },
            Some(_) => IdeaSep2SchedulerEvent::default(),
        };
        // SAFETY: the caller's guarantee.
        unsafe { value_out(out, event, "out") }
    })
}

/// The next `DERControlResponse` the device owes, as a new handle in `*out` (null when none is owed).
///
/// Ownership: `*out`, when not null, is the caller's to free with `idea_sep2_response_free`. Thread safety:
/// not with other calls on the same scheduler.
///
/// # Safety
/// `scheduler` is a live handle; `out` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sep2_scheduler_poll_response(
    scheduler: *mut IdeaSep2Scheduler,
    out: *mut *mut IdeaSep2Response,
) -> IdeaResult {
    guard(|| {
        if out.is_null() {
            return Err(FfiError::null("out"));
        }
        // SAFETY: the caller's guarantee.
        match unsafe { borrow_mut(scheduler) }?.poll_response() {
            // SAFETY: the caller's guarantee.
            Some(response) => unsafe { new_handle(out, response) },
            None => {
                // SAFETY: checked non-null; valid by the caller's guarantee.
                unsafe { out.write(std::ptr::null_mut()) };
                Ok(())
            }
        }
    })
}

/// What a response reports.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct IdeaSep2ResponseInfo {
    /// The status code (Table 27: 1 received, 2 started, 3 completed, 6 cancelled, 7 superseded, 252 not
    /// applicable, …).
    pub status: u8,
    /// The event's mRID.
    pub subject: [u8; 16],
    /// `createdDateTime`, server time.
    pub created: i64,
    /// Whether the event gave a `replyTo` to post it to.
    pub has_reply_to: bool,
}

/// What a response reports.
///
/// Thread safety: any thread.
///
/// # Safety
/// `response` is a live handle; `out` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sep2_response_info(
    response: *const IdeaSep2Response,
    out: *mut IdeaSep2ResponseInfo,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let r = unsafe { borrow(response) }?;
        let info = IdeaSep2ResponseInfo {
            status: r.response.status.unwrap_or(0),
            subject: r.response.subject.0,
            created: r.response.created_date_time.unwrap_or(0),
            has_reply_to: r.reply_to.is_some(),
        };
        // SAFETY: the caller's guarantee.
        unsafe { value_out(out, info, "out") }
    })
}

/// Where to post the response (the event's `replyTo`, NUL-terminated); `IDEA_RESULT_NOT_FOUND` when the event
/// gave none.
///
/// Thread safety: any thread.
///
/// # Safety
/// `response` is a live handle; `buf` is null or valid for `cap` bytes; `out_len` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sep2_response_reply_to(
    response: *const IdeaSep2Response,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let r = unsafe { borrow(response) }?;
        let to = r
            .reply_to
            .as_deref()
            .ok_or_else(|| FfiError::new(IdeaResult::NotFound, "the event gave no replyTo"))?;
        // SAFETY: the caller's guarantee.
        unsafe { write_text(to, buf, cap, out_len) }
    })
}

/// The `DERControlResponse` document to post.
///
/// Thread safety: any thread.
///
/// # Safety
/// `response` is a live handle; `buf` is null or valid for `cap` bytes; `out_len` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sep2_response_xml(
    response: *const IdeaSep2Response,
    buf: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let r = unsafe { borrow(response) }?;
        let mut xml = Vec::new();
        ieee2030_5::resources::encode(
            &AnyResource::DERControlResponse(r.response.clone()),
            &mut xml,
        );
        // SAFETY: the caller's guarantee.
        unsafe { write_bytes(&xml, buf, cap, out_len) }
    })
}

/// Frees the response in `*response` and sets it to null; null does nothing.
///
/// Ownership: the handle is released; any other copy of its pointer dangles. Thread safety: not while
/// another call uses the handle.
///
/// # Safety
/// `response` is null or valid for reading and writing a pointer that is null or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sep2_response_free(
    response: *mut *mut IdeaSep2Response,
) -> IdeaResult {
    // SAFETY: the caller's guarantee.
    guard(|| unsafe { free_handle(response) })
}

/// Frees the scheduler in `*scheduler` and sets it to null; null does nothing.
///
/// Ownership: the handle is released; any other copy of its pointer dangles. Thread safety: not while
/// another call uses the handle.
///
/// # Safety
/// `scheduler` is null or valid for reading and writing a pointer that is null or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sep2_scheduler_free(
    scheduler: *mut *mut IdeaSep2Scheduler,
) -> IdeaResult {
    // SAFETY: the caller's guarantee.
    guard(|| unsafe { free_handle(scheduler) })
}

/// Frees the resource in `*resource` and sets it to null; null does nothing.
///
/// Ownership: the handle is released; any other copy of its pointer dangles. Thread safety: not while
/// another call uses the handle.
///
/// # Safety
/// `resource` is null or valid for reading and writing a pointer that is null or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sep2_resource_free(
    resource: *mut *mut IdeaSep2Resource,
) -> IdeaResult {
    // SAFETY: the caller's guarantee.
    guard(|| unsafe { free_handle(resource) })
}

/// The LFDI of a device certificate (clause 6.3.4: the first 160 bits of the SHA-256 of its DER encoding) into
/// `out_lfdi` (20 bytes), and its SFDI (36 bits with a check digit) into `*out_sfdi` (may be null).
///
/// Thread safety: any thread.
///
/// # Safety
/// `certificate_der` is valid for `len` bytes; `out_lfdi` for writing 20 bytes; `out_sfdi` is null or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_sep2_lfdi(
    certificate_der: *const u8,
    len: usize,
    out_lfdi: *mut u8,
    out_sfdi: *mut u64,
) -> IdeaResult {
    guard(|| {
        // SAFETY: the caller's guarantee.
        let der = unsafe { bytes_in(certificate_der, len, "certificate_der") }?;
        if der.is_empty() {
            return Err(FfiError::invalid("an empty certificate"));
        }
        if out_lfdi.is_null() {
            return Err(FfiError::null("out_lfdi"));
        }
        let lfdi = ieee2030_5::identity::lfdi(der);
        // SAFETY: valid for 20 bytes by the caller's guarantee; `out_sfdi` null or valid.
        unsafe {
            std::ptr::copy_nonoverlapping(lfdi.0.as_ptr(), out_lfdi, 20);
            if let Some(s) = out_sfdi.as_mut() {
                *s = ieee2030_5::identity::sfdi(&lfdi);
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_c_mode_numbers_follow_the_scheduler_s_modes() {
        assert_eq!(DerMode::ALL.len(), MODE_NAMES.len());
        for (mode, name) in DerMode::ALL.iter().zip(MODE_NAMES) {
            assert_eq!(mode.name(), name);
        }
        assert_eq!(mode_index(DerMode::WattVar), IdeaSep2Mode::WattVar as u32);
        assert_eq!(mode_index(DerMode::ExpLimW), IdeaSep2Mode::ExpLimW as u32);
        assert_eq!(mode_index(DerMode::LoadLimW), IdeaSep2Mode::LoadLimW as u32);
    }
}
