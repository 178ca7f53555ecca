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
