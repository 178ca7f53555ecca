//! `sunspec/711/1`: a frequency-droop control (SunSpec DER model 711, DERFreqDroop; IEEE 1547-2018 clause
//! 6.5.2.7) written into a control slot and adopted becomes the active control, and a control the device does
//! not have fails its adoption (or its request is refused) and leaves the active one alone.
//!
//! What it does not check: the response itself. A droop acts only beyond its deadband, and a Modbus client
//! cannot move the frequency the device measures; a lab that can (a grid simulator on the device's terminals)
//! sees the active power follow the adopted control. The case checks everything a client controls.

use super::adoption;
use super::cases::{m, read_point, scan, write_scaled};
use super::session::{Answer, Session};
use crate::case::{Applicability, Maturity, TestCase};
use crate::pics::{FreqDroopPics, Pics};
use crate::verdict::Verdict;
use modbus_profiles::frame::{Request, Response};
use modbus_profiles::sunspec::Device;
use std::time::{Duration, Instant};

const MODEL: u16 = 711;
/// The control's points the case writes, in the order of [`values_of`].
const POINTS: [&str; 5] = ["DbOf", "DbUf", "KOf", "KUf", "RspTms"];

fn values_of(fd: &FreqDroopPics) -> [f64; 5] {
    [
        fd.deadband_hz[0],
        fd.deadband_hz[1],
        fd.droop[0],
        fd.droop[1],
        fd.response_s,
    ]
}

/// Control `index`'s (from 0) points as the device holds them now.
fn read_control(
    s: &mut Session,
    device: &mut Device,
    index: usize,
) -> Result<Vec<Option<f64>>, Verdict> {
    POINTS
        .iter()
        .map(|p| read_point(s, device, MODEL, &format!("Ctl[{index}].{p}")))
        .collect()
}

fn write_control(
    s: &mut Session,
    device: &mut Device,
    index: usize,
    values: &[f64],
) -> Result<(), Verdict> {
    for (p, v) in POINTS.iter().zip(values) {
        write_scaled(s, device, MODEL, &format!("Ctl[{index}].{p}"), *v)?;
    }
    Ok(())
}

/// Requests control `number`, which the device does not have: a failed adoption or a refused request passes.
fn missing_control_refused(
    s: &mut Session,
    device: &mut Device,
    number: u16,
    within: Duration,
) -> Result<Option<String>, Verdict> {
    let m = device
        .model_mut(MODEL)
        .ok_or_else(|| Verdict::Fail("the device has no model 711".into()))?;
    m.set_scaled("AdptCtlReq", f64::from(number))
        .map_err(|e| Verdict::Error(format!("711 AdptCtlReq: {e}")))?;
    for w in m.take_writes() {
        match s.request(Request::WriteMultipleRegisters {
            address: w.address,
            values: w.registers.clone(),
        }) {
            Answer::Response(Response::WriteMultipleRegisters { .. }) => {}
            // Refused outright: nothing to adopt.
            Answer::Response(Response::Exception { .. }) => return Ok(None),
            other => {
                return Err(Verdict::Fail(format!(
                    "the request for control {number} was answered {other:?}"
                )));
            }
        }
    }
    // Taken: the result must say it failed. A 1 may still be the previous adoption's on a device that
    // answers before it works, so only the last value read within `within` counts.
    let since = Instant::now();
    loop {
        let result = read_point(s, device, MODEL, "AdptCtlRslt")?;
        if result == Some(adoption::FAILED) {
            return Ok(None);
        }
        if since.elapsed() >= within {
            return Ok(Some(if result == Some(adoption::COMPLETED) {
                format!("the adoption of control {number}, beyond the device's NCtl, completed")
            } else {
                format!(
                    "the adoption of control {number}, beyond the device's NCtl, did not fail within \
                     {within:?} (AdptCtlRslt read {result:?})"
                )
            }));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn freq_droop_adopted(s: &mut Session, pics: &Pics) -> Verdict {
    let Some(fd) = m(pics).freq_droop else {
        return Verdict::NotApplicable("no frequency-droop control declared".into());
    };
    if fd.control < 2 {
        return Verdict::Error("the PICS' freq_droop control: an index from 2".into());
    }
    let mut device = match scan(s) {
        Ok(d) => d,
        Err(v) => return v,
    };
    let Some(controls) = device.model(MODEL).map(|m| m.get_scaled("NCtl")) else {
        return Verdict::Fail(
            "the device has no model 711, which the frequency droop needs".into(),
        );
    };
    let controls = match controls {
        Ok(Some(n)) => n,
        _ => return Verdict::Fail("711 NCtl is not implemented".into()),
    };
    if f64::from(fd.control) > controls {
        return Verdict::Fail(format!(
            "the PICS declares control {}, and the device reports NCtl {controls}",
            fd.control
        ));
    }
    let within = Duration::try_from_secs_f64(fd.within_s).unwrap_or_default();
    let index = usize::from(fd.control.saturating_sub(1));
    let original = match read_control(s, &mut device, 0) {
        Ok(v) => v,
        Err(v) => return v,
    };
    let outcome = (|| -> Result<Verdict, Verdict> {
        write_control(s, &mut device, index, &values_of(&fd))?;
        // What the device stored (the written values at its scale factors) is what adoption must copy.
        let stored = read_control(s, &mut device, index)?;
        adoption::adopt(s, &mut device, &adoption::FREQ_DROOP, fd.control, within)?;
        let active = read_control(s, &mut device, 0)?;
        let mut wrong: Vec<String> = POINTS
            .iter()
            .zip(stored.iter().zip(&active))
            .filter(|(_, (want, got))| want != got)
            .map(|(p, (want, got))| {
                format!("the active control's {p} reads {got:?}, the adopted control's {want:?}")
            })
            .collect();
        // One past the controls the device has: NCtl is a count, so this is a whole number below 65535.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let beyond = (controls as u16).saturating_add(1);
        if let Some(w) = missing_control_refused(s, &mut device, beyond, within)? {
            wrong.push(w);
        }
        let after = read_control(s, &mut device, 0)?;
        if after != active {
            wrong.push(format!(
                "a refused adoption changed the active control from {active:?} to {after:?}"
            ));
        }
        Ok(if wrong.is_empty() {
            Verdict::Pass
        } else {
            Verdict::Fail(wrong.join("; "))
        })
    })();
    // Put back the control that was active.
    let original: Option<Vec<f64>> = original.into_iter().collect();
    if let Some(values) = original {
        let _ = write_control(s, &mut device, index, &values).and_then(|()| {
            adoption::adopt(s, &mut device, &adoption::FREQ_DROOP, fd.control, within)
        });
    }
    outcome.unwrap_or_else(|v| v)
}

/// The case.
pub(super) fn case() -> TestCase<Session> {
    TestCase {
        id: "sunspec/711/1",
        title: "A frequency-droop control written and adopted becomes the active control; a control the device does not have is not adopted",
        requirements: &["IOT-05", "IOT-04"],
        clause: "SunSpec DER model 711 (DERFreqDroop): control adoption; IEEE 1547-2018 clause 6.5.2.7",
        maturity: Maturity::Stable,
        applies: |pics| match m(pics).freq_droop {
            Some(_) => Applicability::Applies,
            None => Applicability::NotApplicable("no frequency-droop control declared".into()),
        },
        run: freq_droop_adopted,
    }
}
