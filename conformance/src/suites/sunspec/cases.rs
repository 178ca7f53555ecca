//! The cases of `sunspec`: the device under test is a Modbus TCP server with a SunSpec map (SunSpec
//! Information Model Specification; Modbus Application Protocol v1.1b3 clause 7 exceptions); the runner is the
//! client.

use super::adoption;
use super::session::{Answer, Session};
use crate::case::{Applicability, Maturity, TestCase};
use crate::pics::{ModbusPics, Pics};
use crate::verdict::Verdict;
use modbus_profiles::frame::{Request, Response};
use modbus_profiles::sunspec::{Catalog, Device, PointType, ReadFailure, Scanner, Value};

const IOT_05: &str = "IOT-05";
const IOT_02: &str = "IOT-02";

pub(super) fn m(pics: &Pics) -> ModbusPics {
    pics.modbus.clone().unwrap_or_default()
}

fn always(_: &Pics) -> Applicability {
    Applicability::Applies
}

/// Discovers the device's models over the session; the verdict when discovery cannot complete.
pub(super) fn scan(s: &mut Session) -> Result<Device, Verdict> {
    let catalog = Catalog::builtin().map_err(|e| Verdict::Error(e.to_string()))?;
    let mut scanner = Scanner::new(catalog);
    while let Some(read) = scanner.poll_read() {
        match s.request(Request::ReadHoldingRegisters {
            address: read.address,
            count: read.count,
        }) {
            Answer::Response(Response::ReadHoldingRegisters(values)) => {
                if let Err(e) = scanner.handle_registers(&values) {
                    return Err(Verdict::Fail(format!(
                        "reading {} ×{}: {e}",
                        read.address, read.count
                    )));
                }
            }
            Answer::Response(Response::Exception { code, .. }) => {
                scanner.handle_failure(&ReadFailure::Exception(code));
            }
            Answer::Response(other) => {
                return Err(Verdict::Fail(format!(
                    "a read of holding registers was answered with function {:#04x}",
                    other.function()
                )));
            }
            Answer::Timeout => {
                return Err(Verdict::Inconclusive(format!(
                    "no answer to a read of {} ×{} within {:?}",
                    read.address, read.count, s.timeout
                )));
            }
            Answer::Closed => {
                return Err(Verdict::Fail(
                    "the device closed the connection during discovery".into(),
                ));
            }
            Answer::Malformed(e) => return Err(Verdict::Fail(format!("malformed answer: {e}"))),
        }
    }
    scanner
        .finish()
        .map_err(|e| Verdict::Fail(format!("no SunSpec map: {e}")))
}

fn discovered(s: &mut Session, pics: &Pics) -> Verdict {
    let device = match scan(s) {
        Ok(d) => d,
        Err(v) => return v,
    };
    s.note(format!(
        "SunS at {}, models {:?}",
        device.base(),
        device.models().iter().map(|m| m.id()).collect::<Vec<_>>()
    ));
    let mut remarks = Vec::new();
    if let Some(declared) = m(pics).base
        && declared != device.base()
    {
        return Verdict::Fail(format!(
            "the PICS declares SunS at {declared}, the device has it at {}",
            device.base()
        ));
    }
    match device.models().first() {
        Some(first) if first.id() == 1 => {}
        Some(first) => {
            return Verdict::Fail(format!(
                "the first model is {}, not the common model (1)",
                first.id()
            ));
        }
        None => return Verdict::Fail("the map holds no model".into()),
    }
    if device.base() != 40000 {
        remarks.push(format!(
            "SunS at {}; 40000 is the address clients try first",
            device.base()
        ));
    }
    Verdict::pass_noting(remarks)
}

fn chain_fits(s: &mut Session, _: &Pics) -> Verdict {
    let device = match scan(s) {
        Ok(d) => d,
        Err(v) => return v,
    };
    let mut remarks = Vec::new();
    for model in device.models() {
        if let Some(problem) = model.problem() {
            return Verdict::Fail(format!(
                "model {} at {}: {problem}",
                model.id(),
                model.address()
            ));
        }
        if model.def().is_none() {
            remarks.push(format!(
                "model {} is not in the SunSpec catalogue the runner knows",
                model.id()
            ));
        }
    }
    Verdict::pass_noting(remarks)
}

fn declared_models(s: &mut Session, pics: &Pics) -> Verdict {
    let Some(declared) = m(pics).models else {
        return Verdict::NotApplicable("no models declared".into());
    };
    let device = match scan(s) {
        Ok(d) => d,
        Err(v) => return v,
    };
    let reported: Vec<u16> = device.models().iter().map(|m| m.id()).collect();
    let missing: Vec<u16> = declared
        .iter()
        .copied()
        .filter(|id| !reported.contains(id))
        .collect();
    if !missing.is_empty() {
        return Verdict::Fail(format!(
            "the PICS declares models {missing:?} the device does not report (it reports {reported:?})"
        ));
    }
    let extra: Vec<u16> = reported
        .iter()
        .copied()
        .filter(|id| !declared.contains(id))
        .collect();
    if extra.is_empty() {
        Verdict::Pass
    } else {
        Verdict::PassWithRemarks(vec![format!(
            "the device also reports models {extra:?}, not declared"
        )])
    }
}

fn common_model_names(s: &mut Session, _: &Pics) -> Verdict {
    let device = match scan(s) {
        Ok(d) => d,
        Err(v) => return v,
    };
    let Some(common) = device.model(1) else {
        return Verdict::Fail("the device has no common model (1)".into());
    };
    let mut missing = Vec::new();
    for point in ["Mn", "Md", "SN"] {
        match common.get(point) {
            Ok(Value::Text(t)) if !t.trim().is_empty() => {}
            _ => missing.push(point),
        }
    }
    if missing.is_empty() {
        Verdict::Pass
    } else {
        Verdict::Fail(format!(
            "the common model leaves {} empty or not implemented",
            missing.join(", ")
        ))
    }
}

fn scale_factors_in_range(s: &mut Session, _: &Pics) -> Verdict {
    let device = match scan(s) {
        Ok(d) => d,
        Err(v) => return v,
    };
    for model in device.models() {
        for (path, point) in model.points() {
            if point.def.kind != PointType::Sunssf {
                continue;
            }
            if let Value::Int(sf) = point.value()
                && !(-10..=10).contains(&sf)
            {
                return Verdict::Fail(format!(
                    "model {} {path} = {sf}: a scale factor lies within -10..=10",
                    model.id()
                ));
            }
        }
    }
    Verdict::Pass
}

/// The ranges a scaled measurement must lie in to be a reading of a real grid connection: frequency
/// 45–65 Hz, AC phase voltages 50–1,000 V. A wrong scale factor reads ten (or a tenth) times off.
fn plausible_range(path: &str, units: Option<&str>) -> Option<(f64, f64)> {
    let name = path.rsplit('.').next().unwrap_or(path);
    match units {
        Some("Hz") if name == "Hz" => Some((45.0, 65.0)),
        Some("V") if name.starts_with("PhV") || name.starts_with("PPV") => Some((50.0, 1000.0)),
        _ => None,
    }
}

fn measurements_plausible(s: &mut Session, _: &Pics) -> Verdict {
    let device = match scan(s) {
        Ok(d) => d,
        Err(v) => return v,
    };
    let mut checked = 0usize;
    for model in device.models() {
        for (path, point) in model.points() {
            let Some((low, high)) = plausible_range(&path, point.def.units.as_deref()) else {
                continue;
            };
            let Some(value) = point.scaled() else {
                continue;
            };
            // A phase-to-phase or phase voltage of 0 is a dead line, not a wrong scale.
            if value == 0.0 {
                continue;
            }
            checked = checked.saturating_add(1);
            if !(low..=high).contains(&value) {
                return Verdict::Fail(format!(
                    "model {} {path} reads {value} {}: outside {low}..={high} — a scale factor or a value \
                     is wrong",
                    model.id(),
                    point.def.units.as_deref().unwrap_or("")
                ));
            }
        }
    }
    if checked == 0 {
        return Verdict::NotApplicable(
            "the device reports no grid frequency or AC voltage to check".into(),
        );
    }
    s.note(format!(
        "{checked} frequency and voltage readings within range"
    ));
    Verdict::Pass
}

/// Sends `request` and requires exception `code`.
pub(crate) fn refused_with(s: &mut Session, request: Request, code: u8, what: &str) -> Verdict {
    let answer = s.request(request);
    judge_refusal(s, answer, code, what)
}

/// Whether `answer` is exception `code`.
pub(crate) fn judge_refusal(s: &Session, answer: Answer, code: u8, what: &str) -> Verdict {
    match answer {
        Answer::Response(Response::Exception { code: got, .. }) if got.code() == code => {
            Verdict::Pass
        }
        Answer::Response(Response::Exception { code: got, .. }) => {
            Verdict::PassWithRemarks(vec![format!(
                "{what} was refused with exception {}, where {code} is the one the standard names",
                got.code()
            )])
        }
        Answer::Response(other) => Verdict::Fail(format!(
            "{what} was answered (function {:#04x}) instead of refused with exception {code}",
            other.function()
        )),
        Answer::Timeout => Verdict::Fail(format!(
            "{what} got no exception {code} within {:?}",
            s.timeout
        )),
        Answer::Closed => Verdict::PassWithRemarks(vec![format!(
            "{what} closed the connection instead of an exception {code}"
        )]),
        Answer::Malformed(e) => Verdict::Fail(format!("{what}: malformed answer: {e}")),
    }
}

fn read_past_the_map(s: &mut Session, _: &Pics) -> Verdict {
    let device = match scan(s) {
        Ok(d) => d,
        Err(v) => return v,
    };
    // The end marker takes two registers after the last model.
    let end = device
        .models()
        .last()
        .map_or(device.base().saturating_add(2), |m| {
            m.address().saturating_add(m.len()).saturating_add(2)
        })
        .saturating_add(2);
    if end > 0xFF00 {
        return Verdict::NotApplicable("the map reaches the top of the address space".into());
    }
    let address = end.saturating_add(100);
    refused_with(
        s,
        Request::ReadHoldingRegisters { address, count: 2 },
        2,
        &format!("a read of {address} ×2, past the SunSpec map"),
    )
}

fn read_too_many(s: &mut Session, pics: &Pics) -> Verdict {
    let [hi, lo] = m(pics).base.unwrap_or(40000).to_be_bytes();
    // Function 3, 126 registers: built by hand, since the codec refuses to make it.
    let what = "a read of 126 registers (the most is 125)";
    let answer = s.request_raw(&[0x03, hi, lo, 0x00, 126], what);
    judge_refusal(s, answer, 3, what)
}

pub(crate) fn unsupported_function(s: &mut Session, _: &Pics) -> Verdict {
    refused_with(
        s,
        // 0x09 is no public function code of the Modbus Application Protocol (clause 5.1): no device
        // implements it (read file record, 0x14, which some do, would test nothing).
        Request::Unsupported {
            function: 0x09,
            data: vec![0x00],
        },
        1,
        "function 0x09 (no Modbus function)",
    )
}

fn write_then_read(s: &mut Session, pics: &Pics) -> Verdict {
    let Some(point) = m(pics).write_point else {
        return Verdict::NotApplicable("no writable point declared".into());
    };
    let mut device = match scan(s) {
        Ok(d) => d,
        Err(v) => return v,
    };
    let Some(model) = device.model_mut(point.model) else {
        return Verdict::Fail(format!(
            "the device has no model {} the PICS names",
            point.model
        ));
    };
    if let Err(e) = model.set_scaled(&point.point, point.value) {
        return Verdict::Error(format!("{} {}: {e}", point.model, point.point));
    }
    let writes = model.take_writes();
    let reads: Vec<(u16, u16)> = writes
        .iter()
        .map(|w| (w.address, u16::try_from(w.registers.len()).unwrap_or(0)))
        .collect();
    for w in writes {
        match s.request(Request::WriteMultipleRegisters {
            address: w.address,
            values: w.registers.clone(),
        }) {
            Answer::Response(Response::WriteMultipleRegisters { .. }) => {}
            other => {
                return Verdict::Fail(format!(
                    "the write of {} {} was answered {other:?}",
                    point.model, point.point
                ));
            }
        }
    }
    let started = std::time::Instant::now();
    for (address, count) in reads {
        match s.request(Request::ReadHoldingRegisters { address, count }) {
            Answer::Response(Response::ReadHoldingRegisters(values)) => {
                if let Some(model) = device.model_mut(point.model) {
                    model.load(address, &values);
                }
            }
            other => return Verdict::Fail(format!("reading back: {other:?}")),
        }
    }
    let back = device
        .model(point.model)
        .and_then(|m| m.get_scaled(&point.point).ok().flatten());
    match back {
        Some(v) if (v - point.value).abs() <= point.value.abs() * 1e-3 + 1e-6 => {
            if started.elapsed() > std::time::Duration::from_secs(1) {
                Verdict::PassWithRemarks(vec!["read back after more than 1 s".into()])
            } else {
                Verdict::Pass
            }
        }
        other => Verdict::Fail(format!(
            "{} {} written {} reads back {other:?}",
            point.model, point.point, point.value
        )),
    }
}

fn mandatory_points_implemented(s: &mut Session, _: &Pics) -> Verdict {
    let device = match scan(s) {
        Ok(d) => d,
        Err(v) => return v,
    };
    let mut absent = Vec::new();
    for model in device.models() {
        for (path, point) in model.points() {
            if point.def.mandatory
                && point.def.kind != PointType::Pad
                && point.value() == Value::Absent
            {
                absent.push(format!("{}.{path}", model.id()));
            }
        }
    }
    if absent.is_empty() {
        Verdict::Pass
    } else {
        Verdict::Fail(format!(
            "mandatory points read the not-implemented value: {}",
            absent.join(", ")
        ))
    }
}

fn read_only_write_refused(s: &mut Session, _: &Pics) -> Verdict {
    let device = match scan(s) {
        Ok(d) => d,
        Err(v) => return v,
    };
    // The common model's serial number: read-only in every SunSpec map (model 1, `SN`, access R).
    let Some(common) = device.model(1) else {
        return Verdict::Fail("the device has no common model".into());
    };
    let Ok(serial) = common.point("SN") else {
        return Verdict::Error("the common model has no SN".into());
    };
    if serial.def.access != modbus_profiles::sunspec::Access::Read {
        return Verdict::Error("the catalogue's SN is not read-only".into());
    }
    let (address, before) = (
        serial.address,
        serial.registers.first().copied().unwrap_or(0),
    );
    let written = before ^ 0x2020;
    let answer = s.request(Request::WriteSingleRegister {
        address,
        value: written,
    });
    let after = match s.request(Request::ReadHoldingRegisters { address, count: 1 }) {
        Answer::Response(Response::ReadHoldingRegisters(values)) => values.first().copied(),
        _ => None,
    };
    let unchanged = after == Some(before);
    match answer {
        Answer::Response(Response::Exception { code, .. }) if unchanged && code.code() == 2 => {
            Verdict::Pass
        }
        Answer::Response(Response::Exception { code, .. }) if unchanged => {
            Verdict::PassWithRemarks(vec![format!(
                "the write to the read-only SN was refused with exception {}, where 2 (illegal data address) is usual",
                code.code()
            )])
        }
        Answer::Response(Response::Exception { .. }) => Verdict::Fail(format!(
            "the write to the read-only SN was refused, yet SN's first register now reads {after:?}, not {before}"
        )),
        Answer::Response(_) if unchanged => Verdict::Fail(
            "a write to the read-only SN was acknowledged and not applied: a refusal (exception 2) is due".into(),
        ),
        Answer::Response(_) => Verdict::Fail("a write to the read-only SN was applied".into()),
        Answer::Timeout => Verdict::Inconclusive(format!(
            "no answer to the write within {:?}",
            s.timeout
        )),
        other => Verdict::Fail(format!("the write was answered {other:?}")),
    }
}

/// Reads `model`'s registers at `address` ×`count` into `device`.
fn reread(
    s: &mut Session,
    device: &mut Device,
    model: u16,
    address: u16,
    count: u16,
) -> Result<(), Verdict> {
    match s.request(Request::ReadHoldingRegisters { address, count }) {
        Answer::Response(Response::ReadHoldingRegisters(values)) => {
            if let Some(m) = device.model_mut(model) {
                m.load(address, &values);
            }
            Ok(())
        }
        other => Err(Verdict::Fail(format!(
            "reading {address} ×{count}: {other:?}"
        ))),
    }
}

/// Writes the scaled `value` to `model`'s `path` over the session.
pub(super) fn write_scaled(
    s: &mut Session,
    device: &mut Device,
    model: u16,
    path: &str,
    value: f64,
) -> Result<(), Verdict> {
    let m = device
        .model_mut(model)
        .ok_or_else(|| Verdict::Fail(format!("the device has no model {model} the PICS names")))?;
    m.set_scaled(path, value)
        .map_err(|e| Verdict::Error(format!("{model} {path}: {e}")))?;
    for w in m.take_writes() {
        match s.request(Request::WriteMultipleRegisters {
            address: w.address,
            values: w.registers.clone(),
        }) {
            Answer::Response(Response::WriteMultipleRegisters { .. }) => {}
            other => {
                return Err(Verdict::Fail(format!(
                    "the write of {model} {path} was answered {other:?}"
                )));
            }
        }
    }
    Ok(())
}

fn setpoint_reverts(s: &mut Session, pics: &Pics) -> Verdict {
    let Some(r) = m(pics).reversion else {
        return Verdict::NotApplicable("no reversion timer declared".into());
    };
    let mut device = match scan(s) {
        Ok(d) => d,
        Err(v) => return v,
    };
    let span = device.model(r.model).map(|m| (m.address(), m.len()));
    let Some((address, len)) = span else {
        return Verdict::Fail(format!(
            "the device has no model {} the PICS names",
            r.model
        ));
    };
    // The model's registers, read whole (at most 125 at a time).
    let reread_model = |s: &mut Session, device: &mut Device| -> Result<(), Verdict> {
        let mut at = address;
        let end = address.saturating_add(len);
        while at < end {
            let count = end.saturating_sub(at).min(125);
            reread(s, device, r.model, at, count)?;
            at = at.saturating_add(count);
        }
        Ok(())
    };
    let setpoint = |device: &Device| {
        device
            .model(r.model)
            .and_then(|m| m.get_scaled(&r.setpoint).ok().flatten())
    };
    let close = |a: Option<f64>, b: f64| a.is_some_and(|a| (a - b).abs() <= b.abs() * 1e-3 + 1e-6);
    let steps = write_scaled(s, &mut device, r.model, &r.timeout_point, r.timeout_s)
        .and_then(|()| write_scaled(s, &mut device, r.model, &r.setpoint, r.value))
        .and_then(|()| reread_model(s, &mut device));
    if let Err(v) = steps {
        return v;
    }
    let written = setpoint(&device);
    if !close(written, r.value) {
        return Verdict::Fail(format!(
            "{} {} written {} reads back {written:?} before its timeout",
            r.model, r.setpoint, r.value
        ));
    }
    // A second past the timeout (a tenth of it when longer).
    let wait = r.timeout_s + (r.timeout_s / 10.0).max(1.0);
    s.note(format!(
        "waiting {wait} s, past the {} s reversion timeout",
        r.timeout_s
    ));
    std::thread::sleep(std::time::Duration::try_from_secs_f64(wait).unwrap_or_default());
    if let Err(v) = reread_model(s, &mut device) {
        return v;
    }
    let after = setpoint(&device);
    if close(after, r.default) {
        Verdict::Pass
    } else {
        Verdict::Fail(format!(
            "{} {} still reads {after:?} {wait} s after it was written with a {} s reversion timeout, not {}",
            r.model, r.setpoint, r.timeout_s, r.default
        ))
    }
}

/// Reads `model`'s `path` afresh: its registers only.
pub(super) fn read_point(
    s: &mut Session,
    device: &mut Device,
    model: u16,
    path: &str,
) -> Result<Option<f64>, Verdict> {
    let (address, count) = device
        .model(model)
        .and_then(|m| m.point(path).ok())
        .map(|p| (p.address, u16::try_from(p.registers.len()).unwrap_or(1)))
        .ok_or_else(|| Verdict::Fail(format!("the device has no {model} {path}")))?;
    reread(s, device, model, address, count)?;
    Ok(device
        .model(model)
        .and_then(|m| m.get_scaled(path).ok().flatten()))
}

fn out_of_limits_refused(s: &mut Session, pics: &Pics) -> Verdict {
    let Some(w) = m(pics).rejected_write else {
        return Verdict::NotApplicable("no value outside a point's limits declared".into());
    };
    let mut device = match scan(s) {
        Ok(d) => d,
        Err(v) => return v,
    };
    let before = match read_point(s, &mut device, w.model, &w.point) {
        Ok(v) => v,
        Err(v) => return v,
    };
    let Some(model) = device.model_mut(w.model) else {
        return Verdict::Fail(format!(
            "the device has no model {} the PICS names",
            w.model
        ));
    };
    if let Err(e) = model.set_scaled(&w.point, w.value) {
        return Verdict::Error(format!("{} {}: {e}", w.model, w.point));
    }
    let mut refused = None;
    for write in model.take_writes() {
        let answer = s.request(Request::WriteMultipleRegisters {
            address: write.address,
            values: write.registers.clone(),
        });
        match answer {
            Answer::Response(Response::Exception { code, .. }) => refused = Some(code.code()),
            Answer::Response(_) => {}
            Answer::Timeout => {
                return Verdict::Inconclusive(format!(
                    "no answer to the write within {:?}",
                    s.timeout
                ));
            }
            other => return Verdict::Fail(format!("the write was answered {other:?}")),
        }
    }
    let after = match read_point(s, &mut device, w.model, &w.point) {
        Ok(v) => v,
        Err(v) => return v,
    };
    let what = format!("{} {} = {}, outside its limits,", w.model, w.point, w.value);
    match refused {
        _ if after != before => Verdict::Fail(format!(
            "{what} changed the point from {before:?} to {after:?}"
        )),
        Some(3) => Verdict::Pass,
        Some(code) => Verdict::PassWithRemarks(vec![format!(
            "{what} was refused with exception {code}, where 3 (illegal data value) is usual"
        )]),
        None => Verdict::Fail(format!(
            "{what} was acknowledged (and not applied): a refusal (exception 3) is due"
        )),
    }
}

fn setpoint_followed(s: &mut Session, pics: &Pics) -> Verdict {
    let Some(f) = m(pics).follow else {
        return Verdict::NotApplicable("no setpoint followed by a measurement declared".into());
    };
    let mut device = match scan(s) {
        Ok(d) => d,
        Err(v) => return v,
    };
    if let Err(v) = write_scaled(s, &mut device, f.model, &f.setpoint, f.value) {
        return v;
    }
    let within = std::time::Duration::try_from_secs_f64(f.within_s).unwrap_or_default();
    let tolerance = f.value.abs() * 0.05 + 1e-6;
    let since = std::time::Instant::now();
    let result = loop {
        let measured = match read_point(s, &mut device, f.model, &f.measurement) {
            Ok(v) => v,
            Err(v) => break v,
        };
        if measured.is_some_and(|v| (v - f.value).abs() <= tolerance) {
            break Verdict::Pass;
        }
        if since.elapsed() >= within {
            break Verdict::Fail(format!(
                "{} {} = {} was set, and {} reads {measured:?} after {:?}",
                f.model, f.setpoint, f.value, f.measurement, within
            ));
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    // Put the setpoint back where the PICS says it rests.
    let _ = write_scaled(s, &mut device, f.model, &f.setpoint, f.rest);
    result
}

/// Writes `points` (reactive power in % of the `dept_ref` quantity) into volt-var curve `index` (from 0) of
/// model 705.
fn write_curve(
    s: &mut Session,
    device: &mut Device,
    index: usize,
    (dept_ref, points): (u16, &[(f64, f64)]),
) -> Result<(), Verdict> {
    let curve = format!("Crv[{index}]");
    let count = f64::from(u16::try_from(points.len()).unwrap_or(u16::MAX));
    write_scaled(s, device, 705, &format!("{curve}.ActPt"), count)?;
    write_scaled(
        s,
        device,
        705,
        &format!("{curve}.DeptRef"),
        f64::from(dept_ref),
    )?;
    for (i, (v, var)) in points.iter().enumerate() {
        write_scaled(s, device, 705, &format!("{curve}.Pt[{i}].V"), *v)?;
        write_scaled(s, device, 705, &format!("{curve}.Pt[{i}].Var"), *var)?;
    }
    Ok(())
}

/// The active volt-var curve's reference and points as the device holds them.
fn active_curve(device: &Device) -> (u16, Vec<(f64, f64)>) {
    let Some(model) = device.model(705) else {
        return (1, Vec::new());
    };
    let number = |path: &str| model.get_scaled(path).ok().flatten();
    let dept_ref = match model.get("Crv[0].DeptRef") {
        Ok(Value::Uint(r)) => u16::try_from(r).unwrap_or(1),
        _ => 1,
    };
    let used = number("Crv[0].ActPt").unwrap_or(0.0);
    let points = (0..64u16)
        .take_while(|i| f64::from(*i) < used)
        .filter_map(|i| {
            Some((
                number(&format!("Crv[0].Pt[{i}].V"))?,
                number(&format!("Crv[0].Pt[{i}].Var"))?,
            ))
        })
        .collect();
    (dept_ref, points)
}

fn volt_var_applied(s: &mut Session, pics: &Pics) -> Verdict {
    let Some(vv) = m(pics).volt_var else {
        return Verdict::NotApplicable("no volt-var curve declared".into());
    };
    let reference = match vv.dept_ref {
        1 => "WMax",
        2 => "VarMaxInj",
        _ => {
            return Verdict::Error("the PICS' volt-var dept_ref: 1 (WMax) or 2 (VarMaxInj)".into());
        }
    };
    if vv.curve < 2 || vv.points.is_empty() {
        return Verdict::Error(
            "the PICS' volt-var curve: an index from 2 and at least one point".into(),
        );
    }
    let mut device = match scan(s) {
        Ok(d) => d,
        Err(v) => return v,
    };
    for model in [701, 702, 705] {
        if device.model(model).is_none() {
            return Verdict::Fail(format!(
                "the device has no model {model}, which volt-var needs"
            ));
        }
    }
    let within = std::time::Duration::try_from_secs_f64(vv.within_s).unwrap_or_default();
    let index = usize::from(vv.curve.saturating_sub(1));
    let original = active_curve(&device);
    let outcome = (|| -> Result<Verdict, Verdict> {
        write_curve(s, &mut device, index, (vv.dept_ref, &vv.points))?;
        write_scaled(s, &mut device, 705, "Ena", 1.0)?;
        adoption::adopt(s, &mut device, &adoption::VOLT_VAR, vv.curve, within)?;
        let since = std::time::Instant::now();
        loop {
            let voltage = read_point(s, &mut device, 701, "LNV")?;
            let nominal = read_point(s, &mut device, 702, "VNomRtg")?;
            let rating = read_point(s, &mut device, 702, reference)?;
            let var = read_point(s, &mut device, 701, "Var")?;
            let (Some(voltage), Some(nominal), Some(rating)) = (voltage, nominal, rating) else {
                return Err(Verdict::Fail(format!(
                    "LNV, VNomRtg or {reference} is not implemented"
                )));
            };
            if nominal == 0.0 {
                return Err(Verdict::Fail("VNomRtg reads 0".into()));
            }
            let at = voltage / nominal * 100.0;
            let pct = modbus_profiles::sunspec::curve_at(&vv.points, at).unwrap_or(0.0);
            let expected = pct / 100.0 * rating;
            let tolerance = (expected.abs() * 0.05).max(rating.abs() * 0.01);
            if var.is_some_and(|v| (v - expected).abs() <= tolerance) {
                return Ok(Verdict::Pass);
            }
            if since.elapsed() >= within {
                return Ok(Verdict::Fail(format!(
                    "at {voltage} V ({at:.1} % of nominal) the adopted curve gives {pct:.1} % of {reference} \
                     ({expected:.0} var); the device reports {var:?} var after {within:?}"
                )));
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    })();
    // Put back the curve that was active.
    if !original.1.is_empty() {
        let _ = write_curve(s, &mut device, index, (original.0, &original.1))
            .and_then(|()| adoption::adopt(s, &mut device, &adoption::VOLT_VAR, vv.curve, within));
    }
    outcome.unwrap_or_else(|v| v)
}

/// The most single-point reads one run of the point-boundary case makes.
const MAX_POINT_READS: usize = 4000;

fn points_read_alone(s: &mut Session, _: &Pics) -> Verdict {
    let device = match scan(s) {
        Ok(d) => d,
        Err(v) => return v,
    };
    let mut reads = 0usize;
    let mut problems = Vec::new();
    for model in device.models() {
        for (path, point) in model.points() {
            if point.def.kind == PointType::Pad || point.registers.is_empty() {
                continue;
            }
            reads = reads.saturating_add(1);
            if reads > MAX_POINT_READS {
                break;
            }
            let count = u16::try_from(point.registers.len()).unwrap_or(u16::MAX);
            let at = format!("{}.{path} ({} ×{count})", model.id(), point.address);
            match s.request(Request::ReadHoldingRegisters {
                address: point.address,
                count,
            }) {
                Answer::Response(Response::ReadHoldingRegisters(values)) => {
                    if values.len() != point.registers.len() {
                        problems.push(format!("{at}: {} registers came back", values.len()));
                    } else if point.def.is_static && values.as_slice() != point.registers {
                        problems.push(format!(
                            "{at}: a static point read alone differs from the model read"
                        ));
                    }
                }
                Answer::Response(Response::Exception { code, .. }) => {
                    problems.push(format!("{at}: refused with exception {}", code.code()));
                }
                Answer::Timeout => {
                    return Verdict::Inconclusive(format!(
                        "no answer to a read of {at} within {:?}",
                        s.timeout
                    ));
                }
                other => problems.push(format!("{at}: {other:?}")),
            }
            if problems.len() >= 10 {
                break;
            }
        }
    }
    if problems.is_empty() {
        Verdict::Pass
    } else {
        Verdict::Fail(format!(
            "points read on their own boundaries: {}",
            problems.join("; ")
        ))
    }
}

/// The cases, in the order they run.
pub(super) fn cases() -> Vec<TestCase<Session>> {
    let stable = Maturity::Stable;
    vec![
        TestCase {
            id: "sunspec/discovery/1",
            title: "The SunS marker is at a SunSpec base and the common model comes first",
            requirements: &[IOT_05, IOT_02],
            clause: "SunSpec Information Model Specification, device discovery",
            maturity: stable,
            applies: always,
            run: discovered,
        },
        TestCase {
            id: "sunspec/discovery/2",
            title: "The model chain ends with the end marker and every model fits its definition",
            requirements: &[IOT_05],
            clause: "SunSpec Information Model Specification, model chain",
            maturity: stable,
            applies: always,
            run: chain_fits,
        },
        TestCase {
            id: "sunspec/discovery/3",
            title: "The device reports the models its PICS declares",
            requirements: &[IOT_05],
            clause: "SunSpec Information Model Specification, model chain",
            maturity: stable,
            applies: |pics| match m(pics).models {
                Some(_) => Applicability::Applies,
                None => Applicability::NotApplicable("the PICS declares no models".into()),
            },
            run: declared_models,
        },
        TestCase {
            id: "sunspec/1/1",
            title: "The common model names the manufacturer, the model and the serial number",
            requirements: &[IOT_05],
            clause: "SunSpec model 1 (Mn, Md, SN)",
            maturity: stable,
            applies: always,
            run: common_model_names,
        },
        TestCase {
            id: "sunspec/sf/1",
            title: "Every implemented scale factor lies within -10..=10",
            requirements: &[IOT_05],
            clause: "SunSpec Information Model Specification, scale factors",
            maturity: stable,
            applies: always,
            run: scale_factors_in_range,
        },
        TestCase {
            id: "sunspec/sf/2",
            title: "Scaled frequency and AC voltage readings are those of a real grid connection",
            requirements: &[IOT_05],
            clause: "SunSpec Information Model Specification, scale factors",
            maturity: stable,
            applies: always,
            run: measurements_plausible,
        },
        TestCase {
            id: "sunspec/modbus-7/2N",
            title: "A read past the map is refused with exception 2 (illegal data address)",
            requirements: &[IOT_05],
            clause: "Modbus Application Protocol v1.1b3 clause 7",
            maturity: stable,
            applies: always,
            run: read_past_the_map,
        },
        TestCase {
            id: "sunspec/modbus-7/3N",
            title: "A read of 126 registers is refused with exception 3 (illegal data value)",
            requirements: &[IOT_05],
            clause: "Modbus Application Protocol v1.1b3 clause 6.3, 7",
            maturity: stable,
            applies: always,
            run: read_too_many,
        },
        TestCase {
            id: "sunspec/modbus-7/1N",
            title: "An unsupported function code is refused with exception 1 (illegal function)",
            requirements: &[IOT_05],
            clause: "Modbus Application Protocol v1.1b3 clause 7",
            maturity: stable,
            applies: always,
            run: unsupported_function,
        },
        TestCase {
            id: "sunspec/write/1",
            title: "A writable point written is read back with the value written",
            requirements: &[IOT_05, IOT_02],
            clause: "SunSpec Information Model Specification, writing points",
            maturity: stable,
            applies: |pics| match m(pics).write_point {
                Some(_) => Applicability::Applies,
                None => Applicability::NotApplicable("the PICS declares no writable point".into()),
            },
            run: write_then_read,
        },
        TestCase {
            id: "sunspec/points/1",
            title: "Every point is read on its own boundaries, a static one giving what the model read gave",
            requirements: &[IOT_05, IOT_02],
            clause: "SunSpec Information Model Specification, point access by address",
            maturity: stable,
            applies: always,
            run: points_read_alone,
        },
        TestCase {
            id: "sunspec/nimp/1",
            title: "Every mandatory point reads a value, not the not-implemented mark",
            requirements: &[IOT_05],
            clause: "SunSpec Information Model Specification, mandatory points and unimplemented values",
            maturity: stable,
            applies: always,
            run: mandatory_points_implemented,
        },
        TestCase {
            id: "sunspec/write/2N",
            title: "A write to a read-only point is refused with an exception and leaves the value",
            requirements: &[IOT_05],
            clause: "SunSpec Information Model Specification, point access; Modbus Application Protocol clause 7",
            maturity: stable,
            applies: always,
            run: read_only_write_refused,
        },
        TestCase {
            id: "sunspec/rvrt/1",
            title: "A setpoint with a reversion timer returns to its default once the timer runs out",
            requirements: &[IOT_05, "NG-S1"],
            clause: "SunSpec DER models (704 WSetRvrtTms and the like): reversion",
            maturity: stable,
            applies: |pics| match m(pics).reversion {
                Some(_) => Applicability::Applies,
                None => Applicability::NotApplicable("no reversion timer declared".into()),
            },
            run: setpoint_reverts,
        },
        TestCase {
            id: "sunspec/write/3N",
            title: "A value outside a point's limits is refused and leaves the point unchanged",
            requirements: &[IOT_05],
            clause: "SunSpec Information Model Specification, writes; Modbus Application Protocol clause 7",
            maturity: stable,
            applies: |pics| match m(pics).rejected_write {
                Some(_) => Applicability::Applies,
                None => Applicability::NotApplicable(
                    "no value outside a point's limits declared".into(),
                ),
            },
            run: out_of_limits_refused,
        },
        TestCase {
            id: "sunspec/idea/1",
            title: "A setpoint of the IDEA device profile is followed by the device's own measurement",
            requirements: &[IOT_05, "IOT-01"],
            clause: "IDEA device profiles (models 64900-64903): setpoints and measurements",
            maturity: Maturity::Watchlist,
            applies: |pics| match m(pics).follow {
                Some(_) => Applicability::Applies,
                None => Applicability::NotApplicable(
                    "no setpoint followed by a measurement declared".into(),
                ),
            },
            run: setpoint_followed,
        },
        TestCase {
            id: "sunspec/705/1",
            title: "A volt-var curve written and adopted is applied: the reactive power follows it at the present voltage",
            requirements: &[IOT_05, "IOT-04"],
            clause: "SunSpec DER model 705 (DERVoltVar): curve adoption and application; IEEE 1547-2018 clause 5.3",
            maturity: stable,
            applies: |pics| match m(pics).volt_var {
                Some(_) => Applicability::Applies,
                None => Applicability::NotApplicable("no volt-var curve declared".into()),
            },
            run: volt_var_applied,
        },
        super::freq_droop::case(),
    ]
}
