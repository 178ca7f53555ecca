//! The PICS' type identifications checked against the station (IEC 60870-5-101 clause 7.2.1, the types of
//! IEC 104 clause 8): every type a station interrogation reports is one the PICS declares in `monitor_types`
//! (`7.2.1/2`), and a command of every process type the PICS declares in `command_types`, sent to an
//! information object the station does not have, is refused for its address — never as a type the station
//! does not know (`7.2.5/2N`). The second sends nothing a station could act on: the object does not exist.

use super::asdus::{self, cause};
use super::outstation::{answer_of, asdu_of, ca, confirmation, no_answer, p, started};
use super::session::{Received, Session};
use crate::case::{Applicability, Maturity, TestCase};
use crate::pics::Pics;
use crate::verdict::Verdict;
use iec104::{Apdu, Asdu, Cot, Cp56Time2a, Element, InformationObject, Objects};
use iec104::{ElementKind, type_by_name, type_info};
use std::collections::BTreeSet;

/// An information object address no station in these tests has (the same as `7.2.5/1N`'s).
const ABSENT_IOA: u32 = 0x00FF_FFFE;

/// The declared names as type identifications (names the codec does not know were refused with the PICS).
fn ids(names: &[String]) -> BTreeSet<u8> {
    names
        .iter()
        .filter_map(|n| type_by_name(n))
        .map(|t| t.id)
        .collect()
}

fn name(id: u8) -> String {
    type_info(id).map_or_else(|| format!("type {id}"), |t| t.name.to_owned())
}

fn reported_types_declared(s: &mut Session, pics: &Pics) -> Verdict {
    let Some(declared) = p(pics).monitor_types else {
        return Verdict::NotApplicable("the PICS declares no monitor-direction types".into());
    };
    let declared = ids(&declared);
    let common = ca(pics);
    started(s, |s| {
        if let Err(e) = s.send_asdu(asdus::interrogation(
            common,
            cause::STATION,
            cause::ACTIVATION,
        )) {
            return Verdict::Error(e);
        }
        let (term, seen) = confirmation(s, asdus::types::C_IC_NA_1, cause::ACTIVATION_TERM);
        if asdu_of(&term).is_none() {
            return no_answer("end of the station interrogation", s.t1);
        }
        let reported: BTreeSet<u8> = seen
            .iter()
            .filter(|a| a.cot.cause == cause::STATION)
            .map(|a| a.type_id)
            .collect();
        let undeclared: Vec<String> = reported.difference(&declared).map(|t| name(*t)).collect();
        let unseen: Vec<String> = declared.difference(&reported).map(|t| name(*t)).collect();
        if !undeclared.is_empty() {
            Verdict::Fail(format!(
                "the station interrogation reported {undeclared:?}, which the PICS' monitor_types does not declare"
            ))
        } else if unseen.is_empty() {
            Verdict::Pass
        } else {
            Verdict::PassWithRemarks(vec![format!(
                "declared but not in the station interrogation (they may come spontaneously or on a counter \
                 interrogation): {unseen:?}"
            )])
        }
    })
}

/// An element of `kind` that commands nothing harmful, for a command to an absent object.
fn neutral(kind: ElementKind, time: Cp56Time2a) -> Option<Element> {
    Some(match kind {
        ElementKind::Sco => Element::Sco(0),
        // Double and regulating-step commands: 1 is OFF and LOWER (0 is not permitted).
        ElementKind::Dco => Element::Dco(1),
        ElementKind::Rco => Element::Rco(1),
        ElementKind::Nva => Element::Nva(0),
        ElementKind::Sva => Element::Sva(0),
        ElementKind::R32 => Element::R32(0),
        ElementKind::Qos => Element::Qos(0),
        ElementKind::Bsi => Element::Bsi(0),
        ElementKind::Cp56 => Element::Cp56(time),
        _ => return None,
    })
}

/// Process-information commands (types 45–64) address an object; system commands are their own cases'.
fn addresses_an_object(id: u8) -> bool {
    (45..=64).contains(&id)
}

/// Sends type `id` to the absent object; `Ok(None)` when refused for its address, else what was wrong or a
/// remark (`Err(true)` a failure, `Err(false)` a remark).
fn probe(s: &mut Session, common: u16, id: u8, time: Cp56Time2a) -> Result<(), (bool, String)> {
    let info = type_info(id).ok_or((false, format!("{}: unknown to this runner", name(id))))?;
    let elements = info
        .elements
        .iter()
        .map(|k| neutral(*k, time))
        .collect::<Option<Vec<_>>>()
        .ok_or((
            false,
            format!("{}: not probed (no neutral value)", info.name),
        ))?;
    let asdu = Asdu {
        type_id: id,
        sq: false,
        count: 1,
        cot: Cot::new(cause::ACTIVATION),
        common_address: common,
        objects: Objects::Known(vec![InformationObject {
            ioa: ABSENT_IOA,
            elements,
        }]),
    };
    let t1 = s.t1;
    match answer_of(s, asdu).map_err(|e| (true, e))? {
        Received::Frame(Apdu::I { asdu, .. }) => match (asdu.cot.negative, asdu.cot.cause) {
            (true, cause::UNKNOWN_TYPE) => Err((
                true,
                format!("{} was refused as an unknown type (COT 44)", info.name),
            )),
            (true, cause::UNKNOWN_OBJECT_ADDRESS) => Ok(()),
            (true, other) => Err((
                false,
                format!(
                    "{} was refused with COT {other}, where 47 names the absent object",
                    info.name
                ),
            )),
            (false, other) => Err((
                true,
                format!(
                    "{} to IOA {ABSENT_IOA}, which the station does not have, was confirmed (COT {other})",
                    info.name
                ),
            )),
        },
        Received::Closed => Err((true, format!("{} closed the connection", info.name))),
        _ => Err((
            true,
            format!(
                "{} was neither confirmed nor refused within t1 ({t1:?})",
                info.name
            ),
        )),
    }
}

fn declared_commands_known(s: &mut Session, pics: &Pics) -> Verdict {
    let Some(declared) = p(pics).command_types else {
        return Verdict::NotApplicable("the PICS declares no command types".into());
    };
    let commands: Vec<u8> = ids(&declared)
        .into_iter()
        .filter(|id| addresses_an_object(*id))
        .collect();
    if commands.is_empty() {
        return Verdict::NotApplicable("the PICS declares no process command types (45–64)".into());
    }
    let Some(time) = asdus::fixed_time() else {
        return Verdict::Error("cannot form the CP56Time2a".into());
    };
    let common = ca(pics);
    started(s, |s| {
        let mut failures = Vec::new();
        let mut remarks = Vec::new();
        for id in commands {
            match probe(s, common, id, time) {
                Ok(()) => {}
                Err((true, why)) => failures.push(why),
                Err((false, why)) => remarks.push(why),
            }
        }
        if !failures.is_empty() {
            Verdict::Fail(failures.join("; "))
        } else if remarks.is_empty() {
            Verdict::Pass
        } else {
            Verdict::PassWithRemarks(remarks)
        }
    })
}

/// The cases.
pub(super) fn cases() -> Vec<TestCase<Session>> {
    vec![
        TestCase {
            id: "iec104-outstation/7.2.1/2",
            title: "Every type a station interrogation reports is one the PICS declares",
            requirements: &["NG-R6", "IOT-02"],
            clause: "IEC 60870-5-101 clause 7.2.1; IEC 60870-5-104 clause 8",
            maturity: Maturity::Stable,
            applies: |pics| match p(pics).monitor_types {
                Some(_) => Applicability::Applies,
                None => Applicability::NotApplicable(
                    "the PICS declares no monitor-direction types".into(),
                ),
            },
            run: reported_types_declared,
        },
        TestCase {
            id: "iec104-outstation/7.2.5/2N",
            title: "A command of every type the PICS declares, to an absent object, is refused for its address, never as an unknown type",
            requirements: &["NG-R6", "IOT-02"],
            clause: "IEC 60870-5-101 clause 7.2.1, 7.2.3; IEC 60870-5-104 clause 8",
            maturity: Maturity::Stable,
            applies: |pics| match p(pics).command_types {
                Some(_) => Applicability::Applies,
                None => Applicability::NotApplicable("the PICS declares no command types".into()),
            },
            run: declared_commands_known,
        },
    ]
}
