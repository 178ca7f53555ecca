//! Replays the fuzz corpus `fuzz/corpus/sep2_xml/` through the fuzz target body.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "../../fuzz/bodies/ieee2030_5.rs"]
mod bodies;

#[path = "../../fuzz/bodies/corpus.rs"]
mod corpus_files;

#[test]
fn sep2_xml_corpus() {
    let inputs = corpus_files::corpus("sep2_xml", 45);
    let read = inputs.iter().filter(|c| bodies::xml(c)).count();
    assert!(read >= 45, "{read} seeds read as resources");
}

/// The seeds are a document of every resource type (and a few with optional fields), as this test makes
/// them; `IDEA_WRITE_SEEDS=1` writes them again.
#[test]
fn seeds_cover_every_resource_type() {
    use ieee2030_5::resources::{decode, encode};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/sep2_xml");
    for (i, seed) in seeds().iter().enumerate() {
        let file = dir.join(format!("{i:02}_{}.xml", seed.type_name()));
        if std::env::var_os("IDEA_WRITE_SEEDS").is_some_and(|v| v == "1") {
            let mut out = Vec::new();
            encode(seed, &mut out);
            std::fs::write(&file, out).unwrap();
        }
        let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(&decode(&bytes).unwrap().0, seed, "{}", file.display());
    }
}

fn seeds() -> Vec<ieee2030_5::resources::AnyResource> {
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
    ]
}
