//! Property: any DER control, device or reading list we can build is written and read back unchanged, with
//! any text (escaped) and any extension elements.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use ieee2030_5::primitives::HexBinary;
use ieee2030_5::resources::{
    ActivePower, AnyResource, DERControl, DERControlBase, DateTimeInterval, EndDevice, EventStatus,
    Link, Reading, ReadingList, decode, encode,
};
use ieee2030_5::xml::{Extension, Unknown};
use proptest::prelude::*;

/// Text XML 1.0 can carry (the writer replaces the rest; see `control_characters_are_replaced`), cut to
/// the 32 octets of a `String32`.
fn text() -> impl Strategy<Value = String> {
    "[^\u{0}-\u{8}\u{b}\u{c}\u{e}-\u{1f}\u{fffe}\u{ffff}]{0,24}".prop_map(|s| {
        let mut cut = String::new();
        for c in s.chars() {
            if cut.len().saturating_add(c.len_utf8()) > 32 {
                break;
            }
            cut.push(c);
        }
        cut
    })
}

fn href() -> impl Strategy<Value = String> {
    "/[a-z0-9/&<>\"']{0,16}"
}

fn power() -> impl Strategy<Value = ActivePower> {
    (-9i8..=9, any::<i16>()).prop_map(|(multiplier, value)| ActivePower {
        multiplier,
        value,
        ..ActivePower::default()
    })
}

fn extension() -> impl Strategy<Value = Extension> {
    ("[a-z][a-zA-Z0-9]{0,8}", "[a-zA-Z0-9 <&>]{1,8}").prop_map(|(name, text)| Extension {
        namespace: Some("urn:vendor:x".into()),
        name,
        attributes: vec![("{urn:vendor:y}unit".into(), "W".into())],
        text,
        children: Vec::new(),
    })
}

prop_compose! {
    fn base()(
        connect in proptest::option::of(any::<bool>()),
        fixed_w in proptest::option::of(any::<i16>()),
        max_lim in proptest::option::of(any::<u16>()),
        target in proptest::option::of(power()),
        export in proptest::option::of(power()),
        volt_var in proptest::option::of(href()),
    ) -> DERControlBase {
        DERControlBase {
            op_mod_connect: connect,
            op_mod_fixed_w: fixed_w,
            op_mod_max_lim_w: max_lim,
            op_mod_target_w: target,
            op_mod_exp_lim_w: export,
            op_mod_volt_var: volt_var.map(|href| Link { href, ..Link::default() }),
            ..DERControlBase::default()
        }
    }
}

prop_compose! {
    fn control()(
        mrid in any::<[u8; 16]>(),
        description in proptest::option::of(text()),
        version in proptest::option::of(any::<u16>()),
        created in any::<i64>(),
        status in 0u8..=6,
        start in any::<i64>(),
        duration in any::<u32>(),
        randomize in proptest::option::of(any::<i16>()),
        base in base(),
        category in proptest::option::of(any::<[u8; 4]>()),
        extensions in proptest::collection::vec(extension(), 0..3),
    ) -> DERControl {
        DERControl {
            mrid: HexBinary(mrid),
            description,
            version,
            creation_time: created,
            event_status: EventStatus {
                current_status: status,
                date_time: created,
                potentially_superseded: status == 4,
                ..EventStatus::default()
            },
            interval: DateTimeInterval { duration, start, ..DateTimeInterval::default() },
            randomize_start: randomize,
            der_control_base: base,
            device_category: category.map(HexBinary),
            unknown: Unknown { elements: extensions, attributes: Vec::new() },
            ..DERControl::default()
        }
    }
}

prop_compose! {
    fn device()(
        href in proptest::option::of(href()),
        sfdi in 0u64..1_000_000_000_000,
        lfdi in proptest::option::of(any::<[u8; 20]>()),
        changed in any::<i64>(),
        enabled in proptest::option::of(any::<bool>()),
        post_rate in proptest::option::of(any::<u32>()),
    ) -> EndDevice {
        EndDevice {
            href,
            sfdi,
            lfdi: lfdi.map(HexBinary),
            changed_time: changed,
            enabled,
            post_rate,
            ..EndDevice::default()
        }
    }
}

prop_compose! {
    fn readings()(values in proptest::collection::vec(any::<i64>(), 0..5), all in any::<u32>()) -> ReadingList {
        ReadingList {
            all,
            results: u32::try_from(values.len()).unwrap(),
            reading: values
                .into_iter()
                .map(|v| Reading { value: Some(v % (1 << 47)), ..Reading::default() })
                .collect(),
            ..ReadingList::default()
        }
    }
}

fn round_trip(resource: AnyResource) {
    let mut out = Vec::new();
    encode(&resource, &mut out);
    let (again, used) = decode(&out).unwrap();
    assert_eq!(used, out.len());
    assert_eq!(again, resource, "{}", String::from_utf8_lossy(&out));
}

proptest! {
    #[test]
    fn der_controls_round_trip(c in control()) {
        round_trip(c.into());
    }

    #[test]
    fn end_devices_round_trip(d in device()) {
        round_trip(d.into());
    }

    #[test]
    fn reading_lists_round_trip(r in readings()) {
        round_trip(r.into());
    }
}

#[test]
fn control_characters_are_replaced() {
    // XML 1.0 cannot carry U+0000–U+001F other than tab, newline and carriage return, not even escaped.
    let control = DERControl {
        description: Some("a\u{0}b\u{1b}c\td\r\n".into()),
        ..DERControl::default()
    };
    let mut out = Vec::new();
    encode(&control.into(), &mut out);
    let (again, _) = DERControl::decode(&out).unwrap();
    assert_eq!(
        again.description.as_deref(),
        Some("a\u{fffd}b\u{fffd}c\td\r\n")
    );
}
