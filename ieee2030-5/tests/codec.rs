//! The codec's promises one by one: exact primitives, tolerant input, kept extensions, errors with their
//! position, limits, and identities.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use ieee2030_5::Error;
use ieee2030_5::identity::{lfdi, sfdi, sfdi_is_valid};
use ieee2030_5::primitives::{HexBinary, HexBinary8, HexBinary32, HexBinary160, Mrid};
use ieee2030_5::resources::{
    ActivePower, AnyResource, DERControl, DERControlBase, DERSettings, DefaultDERControl,
    EndDevice, Time, decode, encode,
};
use ieee2030_5::xml::Limits;

fn xml(resource: impl Into<AnyResource>) -> String {
    let mut out = Vec::new();
    encode(&resource.into(), &mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn hex_binary_is_fixed_width_uppercase_and_read_tolerantly() {
    let v = HexBinary32::parse("4a").unwrap();
    assert_eq!(v.to_string(), "0000004A");
    assert_eq!(v.to_u64(), 0x4a);
    assert!(v.bit(1) && v.bit(3) && v.bit(6) && !v.bit(0));
    assert_eq!(HexBinary32::parse(" 0000004A ").unwrap(), v);
    assert_eq!(HexBinary8::parse("f").unwrap().to_string(), "0F");
    assert!(
        HexBinary8::parse("100").is_err_and(|e| matches!(
            e,
            ieee2030_5::Error::Invalid {
                field: "HexBinary",
                ..
            }
        )),
        "three digits for one byte"
    );
    assert!(HexBinary8::parse("").is_err_and(|e| matches!(
        e,
        ieee2030_5::Error::Invalid {
            field: "HexBinary",
            ..
        }
    )));
    assert!(HexBinary8::parse("0x").is_err_and(|e| matches!(
        e,
        ieee2030_5::Error::Invalid {
            field: "HexBinary",
            ..
        }
    )));
    assert_eq!(HexBinary::<2>::from_u64(0x1_2345).to_string(), "2345");
}

#[test]
fn mrid_carries_the_pen() {
    // CSIP-AUS writes the PEN's decimal digits: PEN 40732 ends the mRID in 00040732.
    let m = Mrid::with_pen([0xAB; 12], 40_732);
    assert_eq!(m.pen(), Some(40_732));
    assert_eq!(m.to_string(), "ABABABABABABABABABABABAB00040732");
    assert_eq!(
        Mrid::with_pen([0; 12], 37_244).to_string(),
        "00000000000000000000000000037244"
    );
    // A PEN written in binary by another creator is not read as decimal digits.
    let binary = Mrid::parse("ABABABABABABABABABABABAB00009F1C").unwrap();
    assert_eq!(binary.pen(), None);
    // The published CSIP-AUS examples end in decimal PENs.
    let sample = Mrid::parse("4075DE6031E562ACF4D9EA0B00057269").unwrap();
    assert_eq!(sample.pen(), Some(57_269));
}

#[test]
fn sfdi_follows_the_standard_example() {
    // IEEE 2030.5-2018 clause 6.3.4: LFDI 3E4F45AB31EDFE5B67E343E5E4562E31984E23E5 gives SFDI 167261211391.
    let l = HexBinary160::parse("3E4F45AB31EDFE5B67E343E5E4562E31984E23E5").unwrap();
    assert_eq!(sfdi(&l), 167_261_211_391);
    assert!(sfdi_is_valid(167_261_211_391));
    assert!(!sfdi_is_valid(167_261_211_392));
    // Not Luhn: the check digit only makes the digit sum a multiple of 10.
    let digits: u64 = 167_261_211_391u64
        .to_string()
        .bytes()
        .map(|b| u64::from(b - b'0'))
        .sum();
    assert_eq!(digits % 10, 0);
}

#[test]
fn lfdi_is_the_leading_160_bits_of_the_certificate_digest() {
    // SHA-256("abc") = ba7816bf 8f01cfea 414140de 5dae2223 b00361a3 96177a9c b410ff61 f20015ad.
    assert_eq!(
        lfdi(b"abc").to_string(),
        "BA7816BF8F01CFEA414140DE5DAE2223B00361A3"
    );
}

const TIME: &str = "<currentTime>1</currentTime><dstEndTime>2</dstEndTime><dstOffset>3</dstOffset>\
    <dstStartTime>4</dstStartTime><quality>7</quality><tzOffset>-5</tzOffset>";

#[test]
fn any_prefix_no_prefix_and_out_of_order_are_read() {
    let expected = Time {
        current_time: 1,
        dst_end_time: 2,
        dst_offset: 3,
        dst_start_time: 4,
        quality: 7,
        tz_offset: -5,
        ..Time::default()
    };
    let default_ns = format!(r#"<Time xmlns="urn:ieee:std:2030.5:ns">{TIME}</Time>"#);
    let prefixed = format!(r#"<s:Time xmlns:s="urn:ieee:std:2030.5:ns">{}</s:Time>"#, {
        TIME.replace("<", "<s:").replace("<s:/", "</s:")
    });
    let bare = format!("<Time>{TIME}</Time>");
    let shuffled = r#"<Time xmlns="urn:ieee:std:2030.5:ns"><tzOffset>-5</tzOffset><quality>7</quality>
        <dstStartTime>4</dstStartTime><dstOffset>3</dstOffset><dstEndTime>2</dstEndTime>
        <currentTime>1</currentTime></Time>"#;
    for doc in [default_ns.as_str(), &prefixed, &bare, shuffled] {
        let (t, used) = Time::decode(doc.as_bytes()).unwrap_or_else(|e| panic!("{doc}: {e}"));
        assert_eq!(t, expected, "{doc}");
        assert_eq!(used, doc.len());
    }
    // Written back in schema order.
    let out = xml(expected);
    let order = [
        "currentTime",
        "dstEndTime",
        "dstOffset",
        "dstStartTime",
        "quality",
        "tzOffset",
    ];
    let positions: Vec<_> = order.iter().map(|n| out.find(n).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{out}");
}

fn limit_control(ns: &str, prefix: &str) -> String {
    format!(
        r#"<DefaultDERControl xmlns="urn:ieee:std:2030.5:ns" xmlns:{prefix}="{ns}"><mRID>ab</mRID>
        <DERControlBase><{prefix}:opModExpLimW><multiplier>3</multiplier><value>5</value></{prefix}:opModExpLimW>
        <opModConnect>true</opModConnect></DERControlBase><setGradW>10</setGradW></DefaultDERControl>"#
    )
}

#[test]
fn csip_aus_extensions_in_either_namespace_and_any_position() {
    for ns in ["https://csipaus.org/ns", "https://csipaus.org/ns/v1.3"] {
        let doc = limit_control(ns, "csipaus");
        let (d, _) = DefaultDERControl::decode(doc.as_bytes()).unwrap();
        assert_eq!(d.mrid.to_string(), "000000000000000000000000000000AB");
        assert_eq!(
            d.der_control_base.op_mod_exp_lim_w,
            Some(ActivePower {
                multiplier: 3,
                value: 5,
                ..ActivePower::default()
            })
        );
        assert_eq!(d.der_control_base.op_mod_connect, Some(true));
        assert_eq!(d.set_grad_w, Some(10));
        assert!(d.unknown.is_empty() && d.der_control_base.unknown.is_empty());
        // Written in the v1.2 namespace, after the base elements.
        let out = xml(d);
        assert!(
            out.contains(r#"xmlns:csipaus="https://csipaus.org/ns""#),
            "{out}"
        );
        assert!(
            out.find("opModConnect").unwrap() < out.find("csipaus:opModExpLimW").unwrap(),
            "{out}"
        );
    }
    // Any prefix for the extension namespace too.
    let doc = limit_control("https://csipaus.org/ns/v1.3", "x");
    let (d, _) = DefaultDERControl::decode(doc.as_bytes()).unwrap();
    assert!(d.der_control_base.op_mod_exp_lim_w.is_some());
}

#[test]
fn unknown_elements_and_attributes_are_kept_and_written_back() {
    let doc = r#"<DERSettings xmlns="urn:ieee:std:2030.5:ns" xmlns:v="urn:vendor" v:note="a&amp;b">
        <setGradW>100</setGradW><v:firmware build="7"><v:id>abc</v:id></v:firmware>
        <setMaxW><multiplier>0</multiplier><value>5000</value></setMaxW>
        <futureElement>1</futureElement><updatedTime>9</updatedTime></DERSettings>"#;
    let (s, _) = DERSettings::decode(doc.as_bytes()).unwrap();
    assert_eq!(s.set_grad_w, 100);
    assert_eq!(
        s.unknown.attributes,
        vec![("{urn:vendor}note".into(), "a&b".into())]
    );
    let names: Vec<_> = s.unknown.elements.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["firmware", "futureElement"]);
    assert_eq!(
        s.unknown.elements[0].namespace.as_deref(),
        Some("urn:vendor")
    );
    assert_eq!(s.unknown.elements[0].children[0].text, "abc");
    let out = xml(s.clone());
    let (again, _) = DERSettings::decode(out.as_bytes()).unwrap_or_else(|e| panic!("{out}: {e}"));
    assert_eq!(again.unknown, s.unknown);
    assert_eq!(again.set_max_w, s.set_max_w);
}

#[test]
fn errors_say_where_and_what() {
    let bad_value = format!(
        r#"<Time xmlns="urn:ieee:std:2030.5:ns">{}</Time>"#,
        TIME.replace("<quality>7", "<quality>seven")
    );
    match Time::decode(bad_value.as_bytes()) {
        Err(Error::Value { offset, field, .. }) => {
            assert_eq!(field, "Time.quality");
            assert_eq!(
                usize::try_from(offset).unwrap(),
                bad_value.find("<quality>").unwrap()
            );
        }
        other => panic!("{other:?}"),
    }
    let missing = r#"<Time xmlns="urn:ieee:std:2030.5:ns"><currentTime>1</currentTime></Time>"#;
    assert!(matches!(
        Time::decode(missing.as_bytes()),
        Err(Error::Structure {
            resource: "Time",
            reason: "missing",
            ..
        })
    ));
    let repeated =
        format!(r#"<Time xmlns="urn:ieee:std:2030.5:ns">{TIME}<quality>7</quality></Time>"#);
    assert!(matches!(
        Time::decode(repeated.as_bytes()),
        Err(Error::Structure {
            field: "quality",
            reason: "repeated",
            ..
        })
    ));
    let broken = r#"<Time xmlns="urn:ieee:std:2030.5:ns"><currentTime>1</dstEndTime></Time>"#;
    assert!(matches!(
        Time::decode(broken.as_bytes()),
        Err(Error::Xml { .. })
    ));
    let truncated = r#"<Time xmlns="urn:ieee:std:2030.5:ns"><currentTime>1"#;
    assert!(
        Time::decode(truncated.as_bytes())
            .is_err_and(|e| matches!(e, ieee2030_5::Error::Xml { .. }))
    );
    let other_root = r#"<Foo/>"#;
    assert!(matches!(
        decode(other_root.as_bytes()),
        Err(Error::UnknownResource { name, .. }) if name == "Foo"
    ));
    assert!(matches!(
        EndDevice::decode(b"<Time/>"),
        Err(Error::UnknownResource { .. })
    ));
    assert!(matches!(
        Time::decode(b"<Time>\x01</Time>"),
        Err(Error::Xml { offset: 6, .. })
    ));
    // Not even as references.
    assert!(Time::decode(b"<Time>&#4;</Time>").is_err_and(|e| matches!(
        e,
        ieee2030_5::Error::Structure {
            resource: "Time",
            field: "currentTime",
            ..
        }
    )));
    assert!(
        Time::decode(b"<Time href=\"&#x1;\"/>")
            .is_err_and(|e| matches!(e, ieee2030_5::Error::Xml { .. }))
    );
    let trailing = format!(r#"<Time xmlns="urn:ieee:std:2030.5:ns">{TIME}</Time><x/>"#);
    assert!(matches!(
        Time::decode(trailing.as_bytes()),
        Err(Error::Xml { .. })
    ));
}

#[test]
fn depth_and_size_are_bounded() {
    let deep = format!(
        r#"<DERSettings xmlns="urn:ieee:std:2030.5:ns">{}{}</DERSettings>"#,
        "<x>".repeat(100),
        "</x>".repeat(100)
    );
    assert!(matches!(
        decode(deep.as_bytes()),
        Err(Error::Limit {
            what: "element nesting depth",
            ..
        })
    ));
    let small = Limits {
        max_size: 10,
        ..Limits::default()
    };
    assert!(matches!(
        ieee2030_5::resources::decode_with(deep.as_bytes(), small),
        Err(Error::Limit {
            what: "document size",
            ..
        })
    ));
}

#[test]
fn text_is_escaped_and_entities_are_read() {
    let control = DERControl {
        description: Some("<P & Q> \"limits\"".into()),
        der_control_base: DERControlBase::default(),
        ..DERControl::default()
    };
    let out = xml(control.clone());
    assert!(
        out.contains("<description>&lt;P &amp; Q&gt; \"limits\"</description>"),
        "{out}"
    );
    let (again, _) = DERControl::decode(out.as_bytes()).unwrap();
    assert_eq!(again, control);
    let doc = r#"<DERControl xmlns="urn:ieee:std:2030.5:ns"><mRID>1</mRID><description>a&#x41;&#66;&lt;</description>
        <creationTime>0</creationTime><EventStatus><currentStatus>0</currentStatus><dateTime>0</dateTime>
        <potentiallySuperseded>0</potentiallySuperseded></EventStatus><interval><duration>1</duration><start>0</start>
        </interval><DERControlBase/></DERControl>"#;
    let (c, _) = DERControl::decode(doc.as_bytes()).unwrap();
    assert_eq!(c.description.as_deref(), Some("aAB<"));
    assert!(!c.event_status.potentially_superseded);
}

#[test]
fn json_uses_the_schema_names() {
    let (t, _) = Time::decode(format!("<Time>{TIME}</Time>").as_bytes()).unwrap();
    let json = serde_json::to_value(AnyResource::from(t.clone())).unwrap();
    assert_eq!(json["Time"]["currentTime"], 1);
    assert_eq!(json["Time"]["tzOffset"], -5);
    assert!(
        json["Time"].get("localTime").is_none(),
        "absent fields are left out"
    );
    let back: AnyResource = serde_json::from_value(json).unwrap();
    assert_eq!(back, AnyResource::Time(t));
}

/// `StringN` lengths are octets of UTF-8 (IEEE 2030.5 clause 5.2.2), not characters: ten euro signs (30
/// octets) fit a `String32`, eleven (33) do not — whatever their character count.
#[test]
fn string_lengths_count_octets_of_utf8() {
    use ieee2030_5::resources::DeviceInformation;
    let document = |model: &str| {
        let mut out = Vec::new();
        DeviceInformation {
            mf_model: model.to_owned(),
            ..Default::default()
        }
        .encode(&mut out);
        out
    };
    assert!(DeviceInformation::decode(&document(&"€".repeat(10))).is_ok());
    let refused = DeviceInformation::decode(&document(&"€".repeat(11))).unwrap_err();
    assert!(
        matches!(&refused, ieee2030_5::Error::Value { field, reason, .. }
            if field == "DeviceInformation.mfModel" && reason.contains("33 octets")),
        "{refused}"
    );
}
