//! Which test cases check which requirement: read from the suites' cases themselves, so the coverage
//! `idea requirements` shows cannot drift from the suites.

use crate::Suite;
use std::collections::BTreeMap;

fn add<S: Suite>(suite: &S, map: &mut BTreeMap<String, Vec<String>>) {
    for case in suite.cases() {
        for id in case.requirements {
            map.entry((*id).to_owned())
                .or_default()
                .push(case.id.to_owned());
        }
    }
}

/// The IDs of the cases of every suite that check each requirement, by requirement ID.
pub fn cases_by_requirement() -> BTreeMap<String, Vec<String>> {
    let mut map = BTreeMap::new();
    add(&crate::suites::iec104::Outstation::new(), &mut map);
    add(&crate::suites::iec104::Controlling::new(), &mut map);
    add(&crate::suites::sunspec::SunSpec::new(), &mut map);
    add(&crate::suites::modbus_device::modbus_device(), &mut map);
    map
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use crate::case::CaseInfo;

    /// Every requirement a case names is in the catalogue, and the case quotes its text.
    #[test]
    fn every_case_quotes_requirements_the_catalogue_has() {
        let catalogue = crate::Catalogue::builtin().unwrap();
        let by_requirement = cases_by_requirement();
        for id in by_requirement.keys() {
            assert!(
                catalogue.get(id).is_some(),
                "{id}: {:?}",
                by_requirement[id]
            );
        }
        let suite = crate::suites::iec104::Outstation::new();
        for case in crate::Suite::cases(&suite) {
            let info = CaseInfo::from(case);
            assert_eq!(info.quoted.len(), info.requirements.len());
            for (id, text) in info.requirements.iter().zip(&info.quoted) {
                assert_eq!(text, &catalogue.get(id).unwrap().text, "{}", info.id);
            }
        }
    }
}
