//! SunSpec 7xx adoption (the DER models' curves and controls, e.g. 705 `AdptCrvReq`/`AdptCrvRslt`, 711
//! `AdptCtlReq`/`AdptCtlRslt`): the runner writes the index of the curve or control to adopt, and the device
//! reports the result — 0 in progress, 1 completed, 2 failed.

use super::cases::{read_point, write_scaled};
use super::session::Session;
use crate::verdict::Verdict;
use modbus_profiles::sunspec::Device;
use std::time::{Duration, Instant};

/// SunSpec's `AdptCrvRslt`/`AdptCtlRslt` values.
pub(super) const COMPLETED: f64 = 1.0;
pub(super) const FAILED: f64 = 2.0;

/// How an adoption ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Adoption {
    /// The result point read 1.
    Completed,
    /// The result point read 2.
    Failed,
    /// Neither within the time allowed; the last value read.
    Pending(Option<f64>),
}

/// What a model calls its adoption request and result.
pub(super) struct Points {
    pub(super) model: u16,
    pub(super) request: &'static str,
    pub(super) result: &'static str,
    /// "curve" or "control", for verdicts.
    pub(super) what: &'static str,
}

/// Model 705's curves.
pub(super) const VOLT_VAR: Points = Points {
    model: 705,
    request: "AdptCrvReq",
    result: "AdptCrvRslt",
    what: "curve",
};

/// Model 711's controls.
pub(super) const FREQ_DROOP: Points = Points {
    model: 711,
    request: "AdptCtlReq",
    result: "AdptCtlRslt",
    what: "control",
};

/// Requests the adoption of `number` (from 1) and reads the result until it completes or fails, at most
/// `within`.
pub(super) fn request(
    s: &mut Session,
    device: &mut Device,
    points: &Points,
    number: u16,
    within: Duration,
) -> Result<Adoption, Verdict> {
    write_scaled(s, device, points.model, points.request, f64::from(number))?;
    wait(s, device, points, within)
}

/// Reads the adoption result until it completes or fails, at most `within`.
fn wait(
    s: &mut Session,
    device: &mut Device,
    points: &Points,
    within: Duration,
) -> Result<Adoption, Verdict> {
    let since = Instant::now();
    loop {
        let result = read_point(s, device, points.model, points.result)?;
        match result {
            Some(COMPLETED) => return Ok(Adoption::Completed),
            Some(FAILED) => return Ok(Adoption::Failed),
            _ if since.elapsed() >= within => return Ok(Adoption::Pending(result)),
            _ => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

/// Adopts `number` and waits for the adoption to complete; the verdict when it does not.
pub(super) fn adopt(
    s: &mut Session,
    device: &mut Device,
    points: &Points,
    number: u16,
    within: Duration,
) -> Result<(), Verdict> {
    let what = points.what;
    match request(s, device, points, number, within)? {
        Adoption::Completed => Ok(()),
        Adoption::Failed => Err(Verdict::Fail(format!(
            "the adoption of {what} {number} failed ({} {} 2)",
            points.model, points.result
        ))),
        Adoption::Pending(last) => Err(Verdict::Fail(format!(
            "the adoption of {what} {number} did not complete within {within:?} ({} {} read {last:?})",
            points.model, points.result
        ))),
    }
}
