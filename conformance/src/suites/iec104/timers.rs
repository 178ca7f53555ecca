//! The link timers both IEC 104 suites check (IEC 60870-5-104 clause 5.2, 5.5, 9.6): the slack a timer is
//! held to, the PICS' timers, and the judgements on a station's test of an idle connection and on its closing
//! when t1 runs out.

use super::session::{Received, Session, secs};
use crate::pics::Pics;
use crate::verdict::Verdict;
use iec104::{Apdu, UFunction};
use std::time::{Duration, Instant};

/// The slack a timer is checked with: a tenth of it, at least a second.
pub(super) fn slack(timer: Duration) -> Duration {
    timer
        .checked_div(10)
        .unwrap_or_default()
        .max(Duration::from_secs(1))
}

/// The PICS' t2 (10 s by default).
pub(super) fn t2(pics: &Pics) -> Duration {
    secs(pics.iec104.as_ref().and_then(|p| p.t2_s), 10.0)
}

/// The PICS' t3 (20 s by default).
pub(super) fn t3(pics: &Pics) -> Duration {
    secs(pics.iec104.as_ref().and_then(|p| p.t3_s), 20.0)
}

/// The station's TESTFR act came `after` this much silence: confirmed, and judged against t3.
pub(super) fn idle_test_judged(s: &mut Session, t3: Duration, after: Duration) -> Verdict {
    if let Err(e) = s.send_u(UFunction::TestFrCon) {
        return Verdict::Error(e);
    }
    if after.saturating_add(slack(t3)) < t3 {
        Verdict::PassWithRemarks(vec![format!(
            "TESTFR act came after {after:?} of silence, before the declared t3 ({t3:?})"
        )])
    } else {
        Verdict::Pass
    }
}

/// What waiting for an idle test came to, for a case that needs the test to check something else: a station
/// that never tested leaves that case inconclusive.
pub(super) fn never_tested(v: Verdict) -> Verdict {
    match v {
        Verdict::Fail(why) => Verdict::Inconclusive(format!(
            "the station never tested the connection ({why}): its t1 cannot be checked"
        )),
        other => other,
    }
}

/// The station's TESTFR act is left unconfirmed: it must close the connection within t1 (and its slack).
/// Past that the case has failed; it waits a while longer (t1 and three t3) to tell the lab when the station
/// does close.
pub(super) fn closes_after_unconfirmed_test(s: &mut Session, t3: Duration) -> Verdict {
    s.note("the runner does not confirm the TESTFR act");
    let t1 = s.t1;
    let within = t1.saturating_add(slack(t1));
    let observed = within
        .saturating_add(t1)
        .saturating_add(t3.saturating_mul(3));
    let asked = Instant::now();
    loop {
        match s.receive(observed.saturating_sub(asked.elapsed())) {
            Received::Closed if asked.elapsed() <= within => return Verdict::Pass,
            Received::Closed => {
                return Verdict::Fail(format!(
                    "the station closed the connection {:.1} s after its unconfirmed TESTFR act, not within t1 ({t1:?})",
                    asked.elapsed().as_secs_f64()
                ));
            }
            Received::Timeout => {
                return Verdict::Fail(format!(
                    "the connection stayed open {observed:?} after an unconfirmed TESTFR act (t1 {t1:?})"
                ));
            }
            Received::Frame(_) | Received::Malformed(_) => {}
        }
    }
}

/// Waits up to t1 (and its slack) for the station to close the connection after `what`; a frame `fails_on`
/// accepts (one that takes what was wrong as good) fails the case at once.
pub(super) fn closes_within_t1(
    s: &mut Session,
    what: &str,
    fails_on: impl Fn(&Apdu) -> bool,
) -> Verdict {
    let t1 = s.t1;
    let within = t1.saturating_add(slack(t1));
    let since = Instant::now();
    loop {
        match s.receive(within.saturating_sub(since.elapsed())) {
            Received::Closed => return Verdict::Pass,
            Received::Timeout => {
                return Verdict::Fail(format!(
                    "the connection stayed open {within:?} after {what} (t1 {t1:?})"
                ));
            }
            Received::Frame(a) if fails_on(&a) => {
                return Verdict::Fail(format!(
                    "{what} was answered with {}, not by closing the connection",
                    super::session::summary(&a)
                ));
            }
            Received::Frame(_) | Received::Malformed(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_is_a_tenth_and_at_least_a_second() {
        assert_eq!(slack(Duration::from_secs(2)), Duration::from_secs(1));
        assert_eq!(slack(Duration::from_secs(30)), Duration::from_secs(3));
    }
}
