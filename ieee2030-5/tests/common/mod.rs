//! Test data shared by the integration tests: the sample documents and the schema, read from `../shared` at
//! run time (the schema is IEEE-copyrighted and never copied into this repository).
#![allow(dead_code, clippy::unwrap_used, clippy::panic, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `../shared/ieee2030-5`, or `$SEP_SHARED`.
pub(crate) fn shared() -> PathBuf {
    std::env::var_os("SEP_SHARED").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/ieee2030-5"),
        PathBuf::from,
    )
}

/// The sample documents, by file name, in name order.
pub(crate) fn samples() -> Vec<(String, Vec<u8>)> {
    let dir = shared().join("samples");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

/// The IEEE 2030.5 schema: `$SEP_XSD`, else `../shared/ieee2030-5/sep.xsd`. Under `CI=true` a missing schema
/// fails the test; elsewhere the test says visibly that it skipped.
pub(crate) fn sep_xsd(test: &str) -> Option<PathBuf> {
    let path = std::env::var_os("SEP_XSD").map_or_else(|| shared().join("sep.xsd"), PathBuf::from);
    if path.is_file() {
        return Some(path);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "{test}: the IEEE 2030.5 schema is not at {} (set SEP_XSD)",
            path.display()
        );
    }
    eprintln!(
        "SKIPPED {test}: no IEEE 2030.5 schema at {} (set SEP_XSD); schema validation not run",
        path.display()
    );
    None
}

/// A document of every resource type this crate reads (defaults), and a few with lists, a notification's
/// resource, text to escape and CSIP-AUS elements.
pub(crate) fn every_type() -> Vec<ieee2030_5::resources::AnyResource> {
    use ieee2030_5::resources::*;
    vec![
        DeviceCapability::default().into(),
        EndDevice::default().into(),
        EndDeviceList {
            end_device: vec![EndDevice::default(); 2],
            ..Default::default()
        }
        .into(),
        Registration::default().into(),
        DeviceInformation::default().into(),
        DeviceStatus::default().into(),
        PowerStatus::default().into(),
        FunctionSetAssignments::default().into(),
        FunctionSetAssignmentsList::default().into(),
        DERProgram::default().into(),
        DERProgramList::default().into(),
        DERControl::default().into(),
        DERControlList {
            der_control: vec![DERControl::default()],
            ..Default::default()
        }
        .into(),
        DefaultDERControl::default().into(),
        DERCurve {
            curve_data: vec![CurveData::default(); 2],
            ..Default::default()
        }
        .into(),
        DERCurveList::default().into(),
        DER::default().into(),
        DERList::default().into(),
        DERCapability::default().into(),
        DERSettings::default().into(),
        DERStatus::default().into(),
        DERAvailability::default().into(),
        Time::default().into(),
        UsagePoint::default().into(),
        UsagePointList::default().into(),
        MirrorUsagePoint::default().into(),
        MirrorUsagePointList::default().into(),
        MeterReading::default().into(),
        MeterReadingList::default().into(),
        MirrorMeterReading::default().into(),
        MirrorMeterReadingList::default().into(),
        Reading::default().into(),
        ReadingList::default().into(),
        ReadingType::default().into(),
        ResponseSet::default().into(),
        ResponseSetList::default().into(),
        Response::default().into(),
        ResponseList::default().into(),
        DERControlResponse::default().into(),
        Subscription::default().into(),
        SubscriptionList::default().into(),
        Notification {
            resource: Some(Box::new(DERControl::default().into())),
            ..Default::default()
        }
        .into(),
        NotificationList::default().into(),
        ieee2030_5::resources::Error::default().into(),
        // CSIP-AUS elements (validated against csipaus-core.xsd) and text to escape.
        DERControl {
            der_control_base: DERControlBase {
                op_mod_exp_lim_w: Some(ActivePower {
                    multiplier: 3,
                    value: 5,
                    ..Default::default()
                }),
                op_mod_connect: Some(true),
                ..Default::default()
            },
            description: Some("a <b> & c".into()),
            ..Default::default()
        }
        .into(),
        // CSIP-AUS's own resource (root `csipaus:ConnectionPoint`) and the link to it.
        ConnectionPoint {
            href: Some("/edev/0/cp".into()),
            connection_point_id: "4123456789".into(),
            ..Default::default()
        }
        .into(),
        EndDevice {
            connection_point_link: Some(Link {
                href: "/edev/0/cp".into(),
                ..Default::default()
            }),
            ..Default::default()
        }
        .into(),
    ]
}

/// A scratch directory for written documents.
pub(crate) fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ieee2030-5-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Validates `files` with `tests/peers/xsd_validate.py` against `sep` (and CSIP-AUS from `../shared`);
/// file → `None` when valid, else the reason.
pub(crate) fn validate(
    python: &Path,
    sep: &Path,
    files: &[PathBuf],
) -> BTreeMap<String, Option<String>> {
    let csip = shared().join("csipaus-1.2/csipaus-core.xsd");
    let out = Command::new(python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/xsd_validate.py"))
        .arg(sep)
        .arg(&csip)
        .args(files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "xmlschema: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}
