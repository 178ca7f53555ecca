//! The cases of `iec104-outstation`: the device under test is the controlled station; the runner is the
//! controlling station (IEC 60870-5-104 clauses 5 and 7, IEC 60870-5-101 clause 7).

use super::asdus::{self, cause};
use super::session::{Received, Session, summary};
use super::timers;
use crate::case::{Applicability, Maturity, TestCase};
use crate::pics::{Iec104Pics, Pics};
use crate::verdict::Verdict;
use iec104::{Apdu, Asdu, UFunction};
use std::time::Duration;

const NG_R6: &str = "NG-R6";
const IOT_02: &str = "IOT-02";

pub(super) fn p(pics: &Pics) -> Iec104Pics {
    pics.iec104.clone().unwrap_or_default()
}

pub(super) fn ca(pics: &Pics) -> u16 {
    p(pics).common_address.unwrap_or(1)
}

fn always(_: &Pics) -> Applicability {
    Applicability::Applies
}

pub(super) fn declared(flag: Option<bool>, what: &str) -> Applicability {
    match flag {
        Some(true) => Applicability::Applies,
        Some(false) => Applicability::NotApplicable(format!("the PICS declares no {what}")),
        None => Applicability::Undeclared(what.to_owned()),
    }
}

/// Runs `body` after STARTDT; a start that fails gives its verdict.
pub(super) fn started(s: &mut Session, body: impl FnOnce(&mut Session) -> Verdict) -> Verdict {
    match s.start() {
        Ok(()) => body(s),
        Err(v) => v,
    }
}

/// The mirrored confirmation of `sent` (same type, cause `cause`), within t1, and the ASDUs before it.
pub(super) fn confirmation(s: &mut Session, type_id: u8, cause: u8) -> (Received, Vec<Asdu>) {
    let mut seen = Vec::new();
    let t1 = s.t1;
    let got = s.wait_for(
        t1,
        |a| matches!(a, Apdu::I { asdu, .. } if asdu.type_id == type_id && asdu.cot.cause == cause),
        &mut seen,
    );
    (got, seen)
}

pub(super) fn asdu_of(r: &Received) -> Option<&Asdu> {
    match r {
        Received::Frame(Apdu::I { asdu, .. }) => Some(asdu),
        _ => None,
    }
}

pub(super) fn no_answer(what: &str, t1: Duration) -> Verdict {
    Verdict::Inconclusive(format!("no {what} within t1 ({t1:?})"))
}

fn startdt_confirmed(s: &mut Session, _: &Pics) -> Verdict {
    started(s, |_| Verdict::Pass)
}

fn testfr_confirmed(s: &mut Session, _: &Pics) -> Verdict {
    let mut unanswered = Vec::new();
    for phase in ["before STARTDT", "after STARTDT"] {
        if phase == "after STARTDT"
            && let Err(v) = s.start()
        {
            // A station that confirms nothing is not shown to ignore TESTFR in particular.
            return v;
        }
        if let Err(e) = s.send_u(UFunction::TestFrAct) {
            return Verdict::Error(e);
        }
        let t1 = s.t1;
        match s.wait_for(t1, |a| *a == Apdu::U(UFunction::TestFrCon), &mut Vec::new()) {
            Received::Frame(_) => {}
            Received::Timeout => unanswered.push(phase),
            other => {
                return Verdict::Fail(format!("TESTFR act {phase} was answered with {other:?}"));
            }
        }
    }
    if unanswered.is_empty() {
        Verdict::Pass
    } else {
        // STARTDT was confirmed, so the station is there: it does not confirm TESTFR.
        Verdict::Fail(format!(
            "TESTFR act {} was not confirmed within t1 ({:?}), though the station confirmed STARTDT",
            unanswered.join(" and "),
            s.t1
        ))
    }
}

fn numbered_in_sequence(s: &mut Session, pics: &Pics) -> Verdict {
    let common = ca(pics);
    started(s, |s| {
        if let Err(e) = s.send_asdu(asdus::interrogation(common, 20, cause::ACTIVATION)) {
            return Verdict::Error(e);
        }
        let (term, _) = confirmation(s, asdus::types::C_IC_NA_1, cause::ACTIVATION_TERM);
        if s.numbering_errors > 0 {
            return Verdict::Fail(format!(
                "{} of the station's I frames were numbered out of sequence (see the trace)",
                s.numbering_errors
            ));
        }
        if asdu_of(&term).is_none() {
            return no_answer("end of the interrogation", s.t1);
        }
        Verdict::Pass
    })
}

fn stopdt_confirmed(s: &mut Session, pics: &Pics) -> Verdict {
    started(s, |s| {
        if let Err(e) = s.send_u(UFunction::StopDtAct) {
            return Verdict::Error(e);
        }
        let t1 = s.t1;
        match s.wait_for(t1, |a| *a == Apdu::U(UFunction::StopDtCon), &mut Vec::new()) {
            Received::Frame(_) => {}
            Received::Timeout => return no_answer("STOPDT con", t1),
            other => return Verdict::Fail(format!("STOPDT act was answered with {other:?}")),
        }
        // Stopped: an interrogation now must not be answered with I frames.
        if let Err(e) = s.send_raw(&stopped_interrogation(s, ca(pics)), "I frame while stopped") {
            return Verdict::Error(e);
        }
        match s.receive(Duration::from_secs(2).min(s.t1)) {
            Received::Frame(a @ Apdu::I { .. }) => {
                Verdict::Fail(format!("after STOPDT con the station sent {}", summary(&a)))
            }
            _ => Verdict::Pass,
        }
    })
}

/// An interrogation in an I frame numbered as the session's next, encoded by hand (the session's own
/// numbering is unaffected, so the case stays in control of what it sends).
fn stopped_interrogation(s: &Session, ca: u16) -> Vec<u8> {
    let apdu = Apdu::I {
        ns: 0,
        nr: 0,
        asdu: asdus::interrogation(ca, 20, cause::ACTIVATION),
    };
    let mut wire = Vec::new();
    let _ = apdu.encode(&s.params(), &mut wire);
    wire
}

fn i_frame_before_start(s: &mut Session, pics: &Pics) -> Verdict {
    let frame = stopped_interrogation(s, ca(pics));
    if let Err(e) = s.send_raw(&frame, "I(0,0) C_IC_NA_1 before STARTDT") {
        return Verdict::Error(e);
    }
    let t1 = s.t1;
    match s.receive(t1) {
        Received::Closed => Verdict::Pass,
        Received::Timeout => Verdict::PassWithRemarks(vec![format!(
            "the I frame was ignored, but the connection stayed open for t1 ({t1:?})"
        )]),
        Received::Frame(a) => Verdict::Fail(format!(
            "an I frame before STARTDT was answered with {}",
            summary(&a)
        )),
        Received::Malformed(e) => {
            Verdict::Fail(format!("the station answered malformed bytes: {e}"))
        }
    }
}

fn wrong_send_sequence(s: &mut Session, pics: &Pics) -> Verdict {
    started(s, |s| {
        let apdu = Apdu::I {
            ns: 5,
            nr: 0,
            asdu: asdus::interrogation(ca(pics), 20, cause::ACTIVATION),
        };
        if let Err(e) = s.send(&apdu) {
            return Verdict::Error(e);
        }
        let t1 = s.t1;
        let mut seen = Vec::new();
        match s.wait_for(t1, |a| matches!(a, Apdu::I { .. }), &mut seen) {
            Received::Closed => Verdict::Pass,
            Received::Frame(a) => Verdict::Fail(format!(
                "an I frame with N(S) 5 where 0 was due was answered with {}",
                summary(&a)
            )),
            Received::Timeout => Verdict::Fail(format!(
                "the connection stayed open for t1 ({t1:?}) after a sequence error"
            )),
            Received::Malformed(e) => Verdict::Fail(format!("malformed answer: {e}")),
        }
    })
}

fn acknowledges_within_t2(s: &mut Session, pics: &Pics) -> Verdict {
    let t2 = timers::t2(pics);
    started(s, |s| {
        if let Err(e) = s.send_asdu(asdus::interrogation(ca(pics), 20, cause::ACTIVATION)) {
            return Verdict::Error(e);
        }
        let grace = Duration::from_millis(500);
        match s.wait_for(
            t2.saturating_add(grace),
            |a| matches!(a, Apdu::S { nr } | Apdu::I { nr, .. } if *nr >= 1),
            &mut Vec::new(),
        ) {
            Received::Frame(_) => Verdict::Pass,
            Received::Timeout => Verdict::Fail(format!(
                "our I frame was not acknowledged within t2 ({t2:?}) and {grace:?}"
            )),
            other => Verdict::Fail(format!("waiting for the acknowledgement: {other:?}")),
        }
    })
}

fn station_interrogation(s: &mut Session, pics: &Pics) -> Verdict {
    let common = ca(pics);
    let measured = p(pics).measured_point;
    started(s, |s| {
        if let Err(e) = s.send_asdu(asdus::interrogation(common, 20, cause::ACTIVATION)) {
            return Verdict::Error(e);
        }
        let (con, _) = confirmation(s, asdus::types::C_IC_NA_1, cause::ACTIVATION_CON);
        let Some(con) = asdu_of(&con) else {
            return no_answer("activation confirmation (COT 7) of the interrogation", s.t1);
        };
        if con.cot.negative {
            return Verdict::Fail("the station interrogation was confirmed negatively".into());
        }
        let (term, objects) = confirmation(s, asdus::types::C_IC_NA_1, cause::ACTIVATION_TERM);
        if asdu_of(&term).is_none() {
            return no_answer("activation termination (COT 10) of the interrogation", s.t1);
        }
        let mut remarks = Vec::new();
        if objects.is_empty() {
            return Verdict::Fail(
                "the interrogation was terminated without reporting any object".into(),
            );
        }
        if let Some(bad) = objects.iter().find(|a| a.cot.cause != cause::STATION) {
            return Verdict::Fail(format!(
                "an object was reported with COT {} where 20 (interrogated by station) is required",
                bad.cot.cause
            ));
        }
        if let Some(bad) = objects.iter().find(|a| a.common_address != common) {
            return Verdict::Fail(format!(
                "an object came with common address {}",
                bad.common_address
            ));
        }
        match measured {
            Some(ioa) => {
                let reported = objects.iter().any(|a| match &a.objects {
                    iec104::Objects::Known(os) => os.iter().any(|o| o.ioa == ioa),
                    iec104::Objects::Raw(_) => false,
                });
                if !reported {
                    return Verdict::Fail(format!(
                        "the declared measured point IOA {ioa} was not reported"
                    ));
                }
            }
            None => remarks.push("no measured point declared to look for".to_owned()),
        }
        Verdict::pass_noting(remarks)
    })
}

/// IEC 60870-5-104 clause 5.5 (k): a station stops sending I frames when k of them are unacknowledged, and
/// goes on when they are acknowledged. Three station interrogations are asked for and nothing is
/// acknowledged, so that the station has more to send than its window holds.
fn k_window_respected(s: &mut Session, pics: &Pics) -> Verdict {
    let common = ca(pics);
    let k = usize::from(p(pics).k.unwrap_or(12));
    started(s, |s| {
        s.auto_acknowledge = false;
        for _ in 0..3 {
            if let Err(e) = s.send_asdu(asdus::interrogation(common, 20, cause::ACTIVATION)) {
                return Verdict::Error(e);
            }
        }
        // Every I frame the station sends until it has been quiet for a second (or t1 has passed).
        let count_until_quiet = |s: &mut Session| {
            let (mut frames, mut terminations) = (0usize, 0usize);
            let started = std::time::Instant::now();
            while started.elapsed() < s.t1 {
                match s.receive(Duration::from_secs(1)) {
                    Received::Frame(Apdu::I { asdu, .. }) => {
                        frames = frames.saturating_add(1);
                        if asdu.type_id == asdus::types::C_IC_NA_1
                            && asdu.cot.cause == cause::ACTIVATION_TERM
                        {
                            terminations = terminations.saturating_add(1);
                        }
                    }
                    Received::Frame(_) => {}
                    Received::Timeout | Received::Closed | Received::Malformed(_) => break,
                }
            }
            (frames, terminations)
        };
        let (sent, terminations) = count_until_quiet(s);
        if sent > k {
            return Verdict::Fail(format!(
                "the station sent {sent} I frames without acknowledgement; k = {k} is the most it may"
            ));
        }
        if s.is_closed() {
            return Verdict::Fail(format!(
                "the station closed the connection after {sent} unacknowledged I frames, within t1"
            ));
        }
        if sent < k {
            return Verdict::PassWithRemarks(vec![format!(
                "three interrogations made the station send only {sent} I frames ({terminations} terminated): \
                 k = {k} was never reached"
            )]);
        }
        // At k: an acknowledgement opens the window again.
        if let Err(e) = s.acknowledge() {
            return Verdict::Error(e);
        }
        s.auto_acknowledge = true;
        let (more, _) = count_until_quiet(s);
        if more == 0 && terminations < 3 {
            return Verdict::Fail(format!(
                "the station stopped at k = {k} unacknowledged I frames, as it should, but sent nothing more \
                 once they were acknowledged"
            ));
        }
        s.note(format!(
            "{sent} I frames up to the window, {more} more after the acknowledgement"
        ));
        Verdict::Pass
    })
}

/// IEC 60870-5-101 clause 7.2.2 (the variable structure qualifier's number of objects) and IEC 60870-5-104
/// clause 5 (the APCI length): an interrogation whose VSQ announces two objects where the frame holds one.
/// The station must not act on it — it may refuse it, drop it or close the connection — and must stay
/// responsive: a station that confirms it positively took a malformed ASDU as a command.
fn malformed_asdu_refused(s: &mut Session, pics: &Pics) -> Verdict {
    let common = ca(pics);
    started(s, |s| {
        let tamper = |wire: &mut Vec<u8>| {
            // APCI (6 bytes), type identification, then the VSQ: SQ 0, two objects.
            if let Some(vsq) = wire.get_mut(7) {
                *vsq = 2;
            }
        };
        if let Err(e) = s.send_asdu_tampered(
            asdus::interrogation(common, 20, cause::ACTIVATION),
            tamper,
            "I frame: C_IC_NA_1 whose VSQ announces 2 objects and carries 1",
        ) {
            return Verdict::Error(e);
        }
        let t1 = s.t1;
        let mut seen = Vec::new();
        let answer = s.wait_for(
            t1,
            |a| {
                matches!(a, Apdu::I { asdu, .. }
                    if asdu.type_id == asdus::types::C_IC_NA_1 && asdu.cot.cause == cause::ACTIVATION_CON)
            },
            &mut seen,
        );
        match answer {
            Received::Frame(Apdu::I { asdu, .. }) if !asdu.cot.negative => {
                return Verdict::Fail(
                    "an interrogation whose VSQ announced more objects than the frame holds was confirmed positively"
                        .into(),
                );
            }
            Received::Closed => {
                s.note("the station closed the connection on the malformed ASDU");
                return Verdict::Pass;
            }
            _ => {}
        }
        if s.is_closed() {
            return Verdict::Pass;
        }
        // Still connected: the station must still answer.
        if let Err(e) = s.send_u(UFunction::TestFrAct) {
            return Verdict::Error(e);
        }
        match s.wait_for(t1, |a| *a == Apdu::U(UFunction::TestFrCon), &mut Vec::new()) {
            Received::Frame(_) => Verdict::Pass,
            Received::Closed => Verdict::Pass,
            Received::Timeout => Verdict::Fail(format!(
                "after the malformed ASDU the station neither closed the connection nor confirmed TESTFR within t1 ({t1:?})"
            )),
            other => Verdict::Fail(format!(
                "TESTFR after the malformed ASDU was answered with {other:?}"
            )),
        }
    })
}

/// IEC 60870-5-101 clause 7.4.8 (counter interrogation, read without freeze) and clause 7.2.3 (COT 37).
fn counter_interrogation(s: &mut Session, pics: &Pics) -> Verdict {
    let common = ca(pics);
    started(s, |s| {
        let general_read = 5;
        if let Err(e) = s.send_asdu(asdus::counter_interrogation(
            common,
            general_read,
            cause::ACTIVATION,
        )) {
            return Verdict::Error(e);
        }
        let (con, _) = confirmation(s, asdus::types::C_CI_NA_1, cause::ACTIVATION_CON);
        match asdu_of(&con) {
            None => {
                return no_answer(
                    "activation confirmation (COT 7) of the counter interrogation",
                    s.t1,
                );
            }
            Some(c) if c.cot.negative => {
                return Verdict::Fail(
                    "counter interrogation was declared but it was confirmed negatively".into(),
                );
            }
            Some(_) => {}
        }
        let (term, objects) = confirmation(s, asdus::types::C_CI_NA_1, cause::ACTIVATION_TERM);
        if asdu_of(&term).is_none() {
            return no_answer(
                "activation termination (COT 10) of the counter interrogation",
                s.t1,
            );
        }
        if let Some(bad) = objects
            .iter()
            .find(|a| a.cot.cause != cause::GENERAL_COUNTER)
        {
            return Verdict::Fail(format!(
                "a counter was reported with COT {} where 37 (requested by general counter request) is required",
                bad.cot.cause
            ));
        }
        // Integrated totals: M_IT_NA_1 (15), M_IT_TB_1 (37).
        if let Some(bad) = objects.iter().find(|a| !matches!(a.type_id, 15 | 37)) {
            return Verdict::Fail(format!(
                "the counter interrogation reported type {}, not integrated totals (15 or 37)",
                bad.type_id
            ));
        }
        if objects.is_empty() {
            return Verdict::PassWithRemarks(vec![
                "the counter interrogation was answered but reported no counter".into(),
            ]);
        }
        s.note(format!(
            "{} integrated-total ASDUs with COT 37",
            objects.len()
        ));
        Verdict::Pass
    })
}

fn group_interrogation(s: &mut Session, pics: &Pics) -> Verdict {
    let common = ca(pics);
    let Some(group) = p(pics).groups.and_then(|g| g.first().copied()) else {
        return Verdict::NotApplicable("no interrogation group declared".into());
    };
    if !(1..=16).contains(&group) {
        return Verdict::Error(format!("the PICS declares group {group}, outside 1–16"));
    }
    let qoi = 20u8.saturating_add(group);
    started(s, |s| {
        if let Err(e) = s.send_asdu(asdus::interrogation(common, qoi, cause::ACTIVATION)) {
            return Verdict::Error(e);
        }
        let (con, _) = confirmation(s, asdus::types::C_IC_NA_1, cause::ACTIVATION_CON);
        match asdu_of(&con) {
            None => return no_answer("activation confirmation of the group interrogation", s.t1),
            Some(c) if c.cot.negative => {
                return Verdict::Fail(format!(
                    "group {group} was declared but its interrogation was refused"
                ));
            }
            Some(_) => {}
        }
        let (term, objects) = confirmation(s, asdus::types::C_IC_NA_1, cause::ACTIVATION_TERM);
        if asdu_of(&term).is_none() {
            return no_answer("activation termination of the group interrogation", s.t1);
        }
        match objects.iter().find(|a| a.cot.cause != qoi) {
            Some(bad) => Verdict::Fail(format!(
                "group {group} reported an object with COT {} where {qoi} is required",
                bad.cot.cause
            )),
            None if objects.is_empty() => {
                Verdict::PassWithRemarks(vec![format!("group {group} reported no object")])
            }
            None => Verdict::Pass,
        }
    })
}

/// Sends `asdu` after STARTDT and requires a negative mirror with `expected` cause within t1.
/// Sends `asdu` and waits (at most t1) for the station's I frame of the same type.
pub(super) fn answer_of(s: &mut Session, asdu: Asdu) -> Result<Received, String> {
    let type_id = asdu.type_id;
    s.send_asdu(asdu)?;
    let mut seen = Vec::new();
    Ok(s.wait_for(
        s.t1,
        |a| matches!(a, Apdu::I { asdu, .. } if asdu.type_id == type_id),
        &mut seen,
    ))
}

fn refused_with(s: &mut Session, asdu: Asdu, expected: u8, what: &str) -> Verdict {
    started(s, |s| {
        let t1 = s.t1;
        let answer = match answer_of(s, asdu) {
            Ok(a) => a,
            Err(e) => return Verdict::Error(e),
        };
        match answer {
            Received::Frame(Apdu::I { asdu, .. }) => {
                if asdu.cot.negative && asdu.cot.cause == expected {
                    Verdict::Pass
                } else if asdu.cot.negative {
                    Verdict::PassWithRemarks(vec![format!(
                        "{what} was refused with COT {}, where {expected} is the cause the standard names",
                        asdu.cot.cause
                    )])
                } else {
                    Verdict::Fail(format!(
                        "{what} was answered positively (COT {}), not refused with COT {expected}",
                        asdu.cot.cause
                    ))
                }
            }
            Received::Closed => Verdict::PassWithRemarks(vec![format!(
                "{what} closed the connection instead of a negative confirmation with COT {expected}"
            )]),
            Received::Timeout => Verdict::Fail(format!(
                "{what} got no negative confirmation (COT {expected}) within t1 ({t1:?})"
            )),
            other => Verdict::Fail(format!("{what}: {other:?}")),
        }
    })
}

fn unknown_common_address(s: &mut Session, pics: &Pics) -> Verdict {
    let other = ca(pics).wrapping_add(1).max(1);
    let other = if other == 0xFFFF { 2 } else { other };
    refused_with(
        s,
        asdus::interrogation(other, 20, cause::ACTIVATION),
        cause::UNKNOWN_COMMON_ADDRESS,
        &format!("an interrogation of common address {other}"),
    )
}

fn unknown_type(s: &mut Session, pics: &Pics) -> Verdict {
    refused_with(
        s,
        asdus::monitor_type_as_command(ca(pics)),
        cause::UNKNOWN_TYPE,
        "M_SP_NA_1 sent as a command",
    )
}

fn unknown_cause(s: &mut Session, pics: &Pics) -> Verdict {
    refused_with(
        s,
        asdus::interrogation(ca(pics), 20, cause::SPONTANEOUS),
        cause::UNKNOWN_CAUSE,
        "an interrogation with COT 3 (spontaneous)",
    )
}

fn unknown_object_address(s: &mut Session, pics: &Pics) -> Verdict {
    let ioa = 0x00FF_FFFE;
    refused_with(
        s,
        asdus::setpoint(ca(pics), ioa, 0.0, false),
        cause::UNKNOWN_OBJECT_ADDRESS,
        &format!("a set-point to IOA {ioa}, which the station does not have"),
    )
}

fn setpoint_applies(pics: &Pics) -> Applicability {
    match p(pics).setpoint_point {
        Some(_) => Applicability::Applies,
        None => {
            Applicability::NotApplicable("the PICS declares no set-point IOA to command".into())
        }
    }
}

fn direct_setpoint(s: &mut Session, pics: &Pics) -> Verdict {
    let (Some(ioa), value) = (
        p(pics).setpoint_point,
        p(pics).setpoint_value.unwrap_or(0.0),
    ) else {
        return Verdict::NotApplicable("no set-point IOA".into());
    };
    let sbo = p(pics).select_before_operate == Some(true);
    let common = ca(pics);
    started(s, |s| {
        if sbo {
            // Selection first, as the PICS says its commands need.
            if let Err(e) = s.send_asdu(asdus::setpoint(common, ioa, value, true)) {
                return Verdict::Error(e);
            }
            let (sel, _) = confirmation(s, asdus::types::C_SE_NC_1, cause::ACTIVATION_CON);
            match asdu_of(&sel) {
                None => return no_answer("confirmation of the selection", s.t1),
                Some(a) if a.cot.negative => {
                    return Verdict::Fail("the selection was refused".into());
                }
                Some(_) => {}
            }
        }
        if let Err(e) = s.send_asdu(asdus::setpoint(common, ioa, value, false)) {
            return Verdict::Error(e);
        }
        let (con, _) = confirmation(s, asdus::types::C_SE_NC_1, cause::ACTIVATION_CON);
        match asdu_of(&con) {
            None => no_answer("activation confirmation of the set-point", s.t1),
            Some(a) if a.cot.negative => Verdict::Fail(format!(
                "the set-point {value} to IOA {ioa} was confirmed negatively"
            )),
            Some(_) => Verdict::Pass,
        }
    })
}

/// The command the select-before-operate cases send: the declared switching command (`C_SC_NA_1` ON at the
/// PICS' `select_point`), else the set-point when the PICS says set-points are selected; with S/E set to
/// `select`. Gives the ASDU and its type.
fn sbo_command(pics: &Pics, select: bool) -> Option<(Asdu, u8)> {
    let station = p(pics);
    let common = ca(pics);
    if let Some(ioa) = station.select_point {
        return Some((
            asdus::single_command(common, ioa, true, select),
            asdus::types::C_SC_NA_1,
        ));
    }
    if station.select_before_operate == Some(true) {
        let ioa = station.setpoint_point?;
        let value = station.setpoint_value.unwrap_or(0.0);
        return Some((
            asdus::setpoint(common, ioa, value, select),
            asdus::types::C_SE_NC_1,
        ));
    }
    None
}

fn sbo_applies(pics: &Pics) -> Applicability {
    if p(pics).select_point.is_some() {
        return Applicability::Applies;
    }
    match setpoint_applies(pics) {
        Applicability::Applies => declared(p(pics).select_before_operate, "select-before-operate"),
        other => other,
    }
}

/// The select timeout the PICS declares (10 s, the usual default, when it does not).
fn select_timeout(pics: &Pics) -> Duration {
    Duration::try_from_secs_f64(p(pics).select_timeout_s.unwrap_or(10.0))
        .unwrap_or(Duration::from_secs(10))
}

/// How a command was answered.
enum Answer {
    Positive,
    Negative,
    /// The station closed the connection instead.
    Closed,
}

/// Sends `asdu` and waits for its activation confirmation; no answer within t1 is the verdict given back.
fn confirmed(s: &mut Session, asdu: Asdu, type_id: u8, what: &str) -> Result<Answer, Verdict> {
    s.send_asdu(asdu).map_err(Verdict::Error)?;
    let (con, _) = confirmation(s, type_id, cause::ACTIVATION_CON);
    match (asdu_of(&con), &con) {
        (Some(a), _) if a.cot.negative => Ok(Answer::Negative),
        (Some(_), _) => Ok(Answer::Positive),
        (None, Received::Closed) => Ok(Answer::Closed),
        (None, _) => Err(no_answer(&format!("confirmation of {what}"), s.t1)),
    }
}

/// The verdict on a command the station must refuse (clause 7.4.2: a negative confirmation).
fn refusal(answer: Result<Answer, Verdict>, what: &str, accepted: String) -> Verdict {
    match answer {
        Ok(Answer::Negative) => Verdict::Pass,
        Ok(Answer::Positive) => Verdict::Fail(accepted),
        Ok(Answer::Closed) => Verdict::PassWithRemarks(vec![format!(
            "{what} closed the connection instead of a negative confirmation"
        )]),
        // The station is there (it confirmed STARTDT): it owes an answer.
        Err(Verdict::Inconclusive(why)) => {
            Verdict::Fail(format!("{what} was neither confirmed nor refused: {why}"))
        }
        Err(v) => v,
    }
}

/// The verdict on a selection or execution the station must confirm; `None` when it did.
fn must_confirm(answer: Result<Answer, Verdict>, what: &str) -> Option<Verdict> {
    match answer {
        Ok(Answer::Positive) => None,
        Ok(Answer::Negative) => Some(Verdict::Fail(format!("{what} was confirmed negatively"))),
        Ok(Answer::Closed) => Some(Verdict::Fail(format!("{what} closed the connection"))),
        Err(v) => Some(v),
    }
}

fn execute_without_select(s: &mut Session, pics: &Pics) -> Verdict {
    let Some((execute, type_id)) = sbo_command(pics, false) else {
        return Verdict::NotApplicable("no select-before-operate command declared".into());
    };
    started(s, |s| {
        refusal(
            confirmed(s, execute, type_id, "the execution"),
            "an execution without a selection",
            "an execution without a prior selection was confirmed positively on a select-before-operate point"
                .into(),
        )
    })
}

fn select_then_execute(s: &mut Session, pics: &Pics) -> Verdict {
    let (Some((select, type_id)), Some((execute, _))) =
        (sbo_command(pics, true), sbo_command(pics, false))
    else {
        return Verdict::NotApplicable("no select-before-operate command declared".into());
    };
    started(s, |s| {
        let selected = confirmed(s, select, type_id, "the selection");
        if let Some(v) = must_confirm(selected, "the selection") {
            return v;
        }
        must_confirm(
            confirmed(s, execute, type_id, "the execution"),
            "the execution right after a confirmed selection",
        )
        .unwrap_or(Verdict::Pass)
    })
}

fn selection_times_out(s: &mut Session, pics: &Pics) -> Verdict {
    let (Some((select, type_id)), Some((execute, _))) =
        (sbo_command(pics, true), sbo_command(pics, false))
    else {
        return Verdict::NotApplicable("no select-before-operate command declared".into());
    };
    let timeout = select_timeout(pics);
    // A second past the timeout (a tenth of it when longer): the station's clock is not the runner's.
    let wait = timeout.saturating_add(timers::slack(timeout));
    started(s, |s| {
        let selected = confirmed(s, select, type_id, "the selection");
        if let Some(v) = must_confirm(selected, "the selection") {
            return v;
        }
        s.note(format!(
            "waiting {wait:?}, past the declared select timeout ({timeout:?})"
        ));
        // Kept alive meanwhile (the wait may exceed t3).
        let since = std::time::Instant::now();
        while since.elapsed() < wait {
            let left = wait.saturating_sub(since.elapsed());
            if let Received::Frame(Apdu::U(UFunction::TestFrAct)) = s.receive(left)
                && let Err(e) = s.send_u(UFunction::TestFrCon)
            {
                return Verdict::Error(e);
            }
        }
        refusal(
            confirmed(s, execute, type_id, "the late execution"),
            "an execution after the select timeout",
            format!(
                "an execution {wait:?} after the selection was confirmed positively: the select timeout ({timeout:?}) was not applied"
            ),
        )
    })
}

/// After STARTDT and silence, the station's TESTFR act (given back unanswered) and how long it took.
fn await_idle_test(s: &mut Session, pics: &Pics) -> Result<Duration, Verdict> {
    let t3 = timers::t3(pics);
    let within = t3.saturating_add(timers::slack(t3));
    let since = std::time::Instant::now();
    loop {
        match s.receive(within.saturating_sub(since.elapsed())) {
            Received::Frame(Apdu::U(UFunction::TestFrAct)) => return Ok(since.elapsed()),
            Received::Frame(_) => {}
            Received::Timeout => {
                return Err(Verdict::Fail(format!(
                    "no TESTFR act after {within:?} of silence (t3 {t3:?} and its slack)"
                )));
            }
            other => return Err(Verdict::Fail(format!("while idle: {other:?}"))),
        }
    }
}

fn tests_idle_connection(s: &mut Session, pics: &Pics) -> Verdict {
    let t3 = timers::t3(pics);
    started(s, |s| match await_idle_test(s, pics) {
        Err(v) => v,
        Ok(after) => timers::idle_test_judged(s, t3, after),
    })
}

fn closes_on_unconfirmed_test(s: &mut Session, pics: &Pics) -> Verdict {
    let t3 = timers::t3(pics);
    started(s, |s| match await_idle_test(s, pics) {
        Err(v) => timers::never_tested(v),
        Ok(_) => timers::closes_after_unconfirmed_test(s, t3),
    })
}

fn closes_on_unacknowledged_frames(s: &mut Session, pics: &Pics) -> Verdict {
    let common = ca(pics);
    started(s, |s| {
        s.auto_acknowledge = false;
        s.note("the runner acknowledges none of the station's I frames");
        if let Err(e) = s.send_asdu(asdus::interrogation(common, 20, cause::ACTIVATION)) {
            return Verdict::Error(e);
        }
        timers::closes_within_t1(s, "I frames left unacknowledged", |_| false)
    })
}

fn clock_synchronisation(s: &mut Session, pics: &Pics) -> Verdict {
    let common = ca(pics);
    let Some(time) = asdus::fixed_time() else {
        return Verdict::Error("cannot form the CP56Time2a".into());
    };
    started(s, |s| {
        if let Err(e) = s.send_asdu(asdus::clock_sync(common, time)) {
            return Verdict::Error(e);
        }
        let (con, _) = confirmation(s, asdus::types::C_CS_NA_1, cause::ACTIVATION_CON);
        match asdu_of(&con) {
            None => no_answer("activation confirmation of the clock synchronisation", s.t1),
            Some(a) if a.cot.negative => {
                Verdict::Fail("the clock synchronisation was confirmed negatively".into())
            }
            Some(_) => Verdict::Pass,
        }
    })
}

/// The cases, in the order they run.
pub(super) fn cases() -> Vec<TestCase<Session>> {
    let stable = Maturity::Stable;
    vec![
        TestCase {
            id: "iec104-outstation/5.3/1",
            title: "STARTDT act is confirmed within t1",
            requirements: &[NG_R6, IOT_02],
            clause: "IEC 60870-5-104 clause 5.3",
            maturity: stable,
            applies: always,
            run: startdt_confirmed,
        },
        TestCase {
            id: "iec104-outstation/5.3/2",
            title: "TESTFR act is confirmed, before and after STARTDT",
            requirements: &[NG_R6],
            clause: "IEC 60870-5-104 clause 5.2, 5.3",
            maturity: stable,
            applies: always,
            run: testfr_confirmed,
        },
        TestCase {
            id: "iec104-outstation/5.3/3",
            title: "STOPDT act is confirmed and no I frame follows",
            requirements: &[NG_R6],
            clause: "IEC 60870-5-104 clause 5.3",
            maturity: stable,
            applies: always,
            run: stopdt_confirmed,
        },
        TestCase {
            id: "iec104-outstation/5.3/4N",
            title: "An I frame before STARTDT is not answered",
            requirements: &[NG_R6],
            clause: "IEC 60870-5-104 clause 5.3",
            maturity: stable,
            applies: always,
            run: i_frame_before_start,
        },
        TestCase {
            id: "iec104-outstation/5.1/1N",
            title: "An I frame with a wrong send sequence number closes the connection",
            requirements: &[NG_R6],
            clause: "IEC 60870-5-104 clause 5.1",
            maturity: stable,
            applies: always,
            run: wrong_send_sequence,
        },
        TestCase {
            id: "iec104-outstation/5.1/2",
            title: "The station numbers its I frames from 0 in sequence",
            requirements: &[NG_R6],
            clause: "IEC 60870-5-104 clause 5.1",
            maturity: stable,
            applies: |pics| declared(p(pics).station_interrogation, "station interrogation"),
            run: numbered_in_sequence,
        },
        TestCase {
            id: "iec104-outstation/5.5/1",
            title: "A received I frame is acknowledged within t2",
            requirements: &[NG_R6],
            clause: "IEC 60870-5-104 clause 5.5, 9.6",
            maturity: stable,
            applies: always,
            run: acknowledges_within_t2,
        },
        TestCase {
            id: "iec104-outstation/7.4.5/1",
            title: "A station interrogation is confirmed, answered with COT 20 and terminated",
            requirements: &[NG_R6, IOT_02],
            clause: "IEC 60870-5-101 clause 7.4.5; IEC 60870-5-104 clause 8",
            maturity: stable,
            applies: |pics| declared(p(pics).station_interrogation, "station interrogation"),
            run: station_interrogation,
        },
        TestCase {
            id: "iec104-outstation/7.4.5/2",
            title: "A group interrogation reports its group only, with COT 21–36",
            requirements: &[NG_R6],
            clause: "IEC 60870-5-101 clause 7.4.5",
            maturity: stable,
            applies: |pics| match p(pics).groups {
                Some(g) if !g.is_empty() => Applicability::Applies,
                Some(_) => {
                    Applicability::NotApplicable("the PICS declares no interrogation group".into())
                }
                None => Applicability::NotApplicable("no interrogation group declared".into()),
            },
            run: group_interrogation,
        },
        TestCase {
            id: "iec104-outstation/5.5/2",
            title: "The station sends at most k unacknowledged I frames and goes on once they are acknowledged",
            requirements: &[NG_R6],
            clause: "IEC 60870-5-104 clause 5.5, 9.6",
            maturity: stable,
            applies: |pics| declared(p(pics).station_interrogation, "station interrogation"),
            run: k_window_respected,
        },
        TestCase {
            id: "iec104-outstation/7.2.2/1N",
            title: "An ASDU whose VSQ announces more objects than the frame holds is not acted on",
            requirements: &[NG_R6],
            clause: "IEC 60870-5-101 clause 7.2.2; IEC 60870-5-104 clause 5",
            maturity: stable,
            applies: always,
            run: malformed_asdu_refused,
        },
        TestCase {
            id: "iec104-outstation/7.4.8/1",
            title: "A counter interrogation is confirmed, answered with integrated totals (COT 37) and terminated",
            requirements: &[NG_R6, IOT_02],
            clause: "IEC 60870-5-101 clause 7.4.8, 7.2.3; IEC 60870-5-104 clause 8",
            maturity: stable,
            applies: |pics| declared(p(pics).counter_interrogation, "counter interrogation"),
            run: counter_interrogation,
        },
        TestCase {
            id: "iec104-outstation/7.2.4/1N",
            title: "An ASDU to another common address is refused with COT 46",
            requirements: &[NG_R6],
            clause: "IEC 60870-5-101 clause 7.2.3, 7.2.4",
            maturity: stable,
            applies: always,
            run: unknown_common_address,
        },
        TestCase {
            id: "iec104-outstation/7.2.1/1N",
            title: "A monitor type sent as a command is refused with COT 44",
            requirements: &[NG_R6],
            clause: "IEC 60870-5-101 clause 7.2.1, 7.2.3",
            maturity: stable,
            applies: always,
            run: unknown_type,
        },
        TestCase {
            id: "iec104-outstation/7.2.3/1N",
            title: "A command with a cause other than activation is refused with COT 45",
            requirements: &[NG_R6],
            clause: "IEC 60870-5-101 clause 7.2.3",
            maturity: stable,
            applies: always,
            run: unknown_cause,
        },
        TestCase {
            id: "iec104-outstation/7.2.5/1N",
            title: "A command to an unknown information object address is refused with COT 47",
            requirements: &[NG_R6],
            clause: "IEC 60870-5-101 clause 7.2.3, 7.2.5",
            maturity: stable,
            applies: always,
            run: unknown_object_address,
        },
        TestCase {
            id: "iec104-outstation/7.4.2/1",
            title: "A set-point command (C_SE_NC_1) is confirmed positively",
            requirements: &[NG_R6, IOT_02],
            clause: "IEC 60870-5-101 clause 7.4.2, 7.3.2.6",
            maturity: stable,
            applies: setpoint_applies,
            run: direct_setpoint,
        },
        TestCase {
            id: "iec104-outstation/7.4.2/2N",
            title: "A select-before-operate point refuses an execution without selection",
            requirements: &[NG_R6],
            clause: "IEC 60870-5-101 clause 7.4.2",
            maturity: stable,
            applies: sbo_applies,
            run: execute_without_select,
        },
        TestCase {
            id: "iec104-outstation/7.4.2/3",
            title: "A selection, then the execution within the select timeout, are both confirmed",
            requirements: &[NG_R6],
            clause: "IEC 60870-5-101 clause 7.4.2",
            maturity: stable,
            applies: sbo_applies,
            run: select_then_execute,
        },
        TestCase {
            id: "iec104-outstation/7.4.2/4N",
            title: "An execution after the select timeout is refused",
            requirements: &[NG_R6],
            clause: "IEC 60870-5-101 clause 7.4.2",
            maturity: stable,
            applies: sbo_applies,
            run: selection_times_out,
        },
        TestCase {
            id: "iec104-outstation/5.2/1",
            title: "The station tests an idle connection with TESTFR act after t3",
            requirements: &[NG_R6],
            clause: "IEC 60870-5-104 clause 5.2, 9.6",
            maturity: stable,
            applies: always,
            run: tests_idle_connection,
        },
        TestCase {
            id: "iec104-outstation/5.2/2N",
            title: "The station closes the connection when its TESTFR act is not confirmed within t1",
            requirements: &[NG_R6],
            clause: "IEC 60870-5-104 clause 5.2, 9.6",
            maturity: stable,
            applies: always,
            run: closes_on_unconfirmed_test,
        },
        TestCase {
            id: "iec104-outstation/5.5/3N",
            title: "The station closes the connection when its I frames stay unacknowledged for t1",
            requirements: &[NG_R6],
            clause: "IEC 60870-5-104 clause 5.5, 9.6",
            maturity: stable,
            applies: |pics| declared(p(pics).station_interrogation, "station interrogation"),
            run: closes_on_unacknowledged_frames,
        },
        TestCase {
            id: "iec104-outstation/7.4.6/1",
            title: "Clock synchronisation (C_CS_NA_1) is confirmed",
            requirements: &[NG_R6],
            clause: "IEC 60870-5-101 clause 7.4.6",
            maturity: stable,
            applies: |pics| declared(p(pics).clock_synchronisation, "clock synchronisation"),
            run: clock_synchronisation,
        },
    ]
    .into_iter()
    .chain(super::declared_types::cases())
    .chain(super::energy_router::cases())
    .collect()
}
