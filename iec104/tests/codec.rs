//! The codec on known frames, on every type in both sequence forms (property round trips), with 101-style
//! field sizes, and on bad input.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation
)]

use iec104::*;
use proptest::prelude::*;

fn hex(s: &str) -> Vec<u8> {
    parse_hex(s).unwrap()
}

fn decode(s: &str) -> Result<(Apdu, usize), Error> {
    Apdu::decode(&hex(s), &AsduParams::IEC104)
}

#[test]
fn u_and_s_frames() {
    for (text, f) in [
        ("68 04 07 00 00 00", UFunction::StartDtAct),
        ("68 04 0b 00 00 00", UFunction::StartDtCon),
        ("68 04 13 00 00 00", UFunction::StopDtAct),
        ("68 04 23 00 00 00", UFunction::StopDtCon),
        ("68 04 43 00 00 00", UFunction::TestFrAct),
        ("68 04 83 00 00 00", UFunction::TestFrCon),
    ] {
        assert_eq!(decode(text).unwrap(), (Apdu::U(f), 6));
    }
    // N(R) = 32767: third octet 0xfe, fourth 0xff.
    assert_eq!(
        decode("68 04 01 00 fe ff").unwrap().0,
        Apdu::S { nr: 32767 }
    );
    assert_eq!(
        decode_error("68 04 0f 00 00 00"),
        (2, "control"),
        "two U functions at once"
    );
    assert_eq!(
        decode_error("68 04 07 00 01 00"),
        (3, "control"),
        "U frame with non-zero octets"
    );
    assert_eq!(
        decode_error("68 05 07 00 00 00 00"),
        (1, "length"),
        "U frame with a body"
    );
    assert_eq!(
        decode_error("68 04 01 01 00 00"),
        (2, "control"),
        "S frame with a non-zero second octet"
    );
}

/// The offset and field of the decode error `text` (hex) gives; any other outcome fails the test.
fn decode_error(text: &str) -> (usize, &'static str) {
    match decode(text) {
        Err(Error::Decode { offset, field, .. }) => (offset, field),
        other => panic!("{text}: {other:?}"),
    }
}

#[test]
fn a_general_interrogation_command() {
    // C_IC_NA_1, activation (6), CA 1, IOA 0, QOI 20; N(S)=1, N(R)=2.
    let (apdu, _) = decode("68 0e 02 00 04 00  64 01 06 00 01 00  00 00 00  14").unwrap();
    let Apdu::I { ns, nr, asdu } = apdu else {
        panic!()
    };
    assert_eq!((ns, nr), (1, 2));
    assert_eq!(asdu.type_info().unwrap().name, "C_IC_NA_1");
    assert_eq!(asdu.cot, Cot::new(6));
    let Objects::Known(objects) = &asdu.objects else {
        panic!()
    };
    assert_eq!(objects[0].elements, [Element::Qoi(20)]);
}

#[test]
fn a_negative_confirmation_is_a_value() {
    // C_SC_NA_1 activation confirmation with P/N set, cause 47 (unknown object address): 0x40 | 47 = 0x6f.
    let (apdu, _) = decode("68 0e 00 00 00 00  2d 01 6f 00 01 00  10 27 00  01").unwrap();
    let Apdu::I { asdu, .. } = apdu else { panic!() };
    assert!(asdu.cot.negative);
    assert_eq!(asdu.cot.cause, 47);
}

#[test]
fn sequences_and_single_element_sequences() {
    // M_ME_NB_1 with SQ=1, three values from IOA 100.
    let (apdu, _) =
        decode("68 16 00 00 00 00  0b 83 14 00 01 00  64 00 00  01 00 00  02 00 00  03 00 00")
            .unwrap();
    let Apdu::I { asdu, .. } = &apdu else {
        panic!()
    };
    let Objects::Known(o) = &asdu.objects else {
        panic!()
    };
    assert_eq!(o.iter().map(|x| x.ioa).collect::<Vec<_>>(), [100, 101, 102]);
    assert_eq!(o[2].elements, [Element::Sva(3), Element::Qds(0)]);
    let mut again = Vec::new();
    apdu.encode(&AsduParams::IEC104, &mut again).unwrap();
    assert_eq!(
        again,
        hex("68 16 00 00 00 00  0b 83 14 00 01 00  64 00 00  01 00 00  02 00 00  03 00 00")
    );
    // SQ=1 with one element, as some stations send.
    let (one, _) = decode("68 10 00 00 00 00  0b 81 14 00 01 00  64 00 00  07 00 00").unwrap();
    let Apdu::I { asdu, .. } = one else { panic!() };
    assert!(asdu.sq);
    assert_eq!(asdu.count, 1);
}

#[test]
fn a_count_that_does_not_match_the_length_is_an_error_with_the_offset() {
    // Count 2 but only one object of M_SP_NA_1 (4 octets each with IOA).
    let err = decode("68 0e 00 00 00 00  01 02 03 00 01 00  01 00 00  01").unwrap_err();
    match err {
        Error::Decode { offset, field, .. } => {
            assert_eq!(field, "VSQ");
            assert_eq!(offset, 16, "after the four octets present");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        decode_error("68 0a 00 00 00 00  01 00 03 00 01 00"),
        (7, "VSQ"),
        "count zero"
    );
    assert_eq!(
        decode_error("68 fe 00 00 00 00"),
        (1, "length"),
        "length above 253"
    );
    assert_eq!(decode_error("68 20 00 00"), (4, "length"), "truncated");
    assert_eq!(
        decode_error("69 04 07 00 00 00"),
        (0, "start"),
        "wrong start octet"
    );
}

#[test]
fn unknown_types_are_raw_and_round_trip() {
    let text = "68 0f 00 00 00 00  78 01 0d 00 01 00  01 02 03 04 05";
    let (apdu, _) = decode(text).unwrap();
    let Apdu::I { asdu, .. } = &apdu else {
        panic!()
    };
    assert_eq!(asdu.objects, Objects::Raw(vec![1, 2, 3, 4, 5]));
    let mut again = Vec::new();
    apdu.encode(&AsduParams::IEC104, &mut again).unwrap();
    assert_eq!(again, hex(text));
}

#[test]
fn json_view_has_the_documented_keys() {
    let (apdu, _) =
        decode("68 12 00 00 00 00  0d 01 03 00 01 00  e9 03 00  00 00 48 42  10").unwrap();
    let v = view::to_json(&apdu);
    assert_eq!(v["format"], "I");
    assert_eq!(v["asdu"]["type"], "M_ME_NC_1");
    assert_eq!(v["asdu"]["objects"][0]["ioa"], 1001);
    assert_eq!(v["asdu"]["objects"][0]["value"], 50.0);
    assert_eq!(
        v["asdu"]["objects"][0]["quality"],
        serde_json::json!(["BL"])
    );
    let t: Timestamp = "2026-11-24T10:15:30.250Z".parse().unwrap();
    let tag = Cp56Time2a::from_timestamp(t).unwrap();
    let asdu = Asdu {
        type_id: 30,
        sq: false,
        count: 1,
        cot: Cot::new(3),
        common_address: 1,
        objects: Objects::Known(vec![InformationObject {
            ioa: 7,
            elements: vec![Element::Siq(1), Element::Cp56(tag)],
        }]),
    };
    let v = view::to_json(&Apdu::I { ns: 3, nr: 4, asdu });
    assert_eq!(v["asdu"]["objects"][0]["time"], "2026-11-24T10:15:30.250Z");
    assert_eq!(v["asdu"]["objects"][0]["value"], true);
    assert_eq!(
        view::to_json(&Apdu::U(UFunction::StartDtAct))["u"],
        "STARTDT_ACT"
    );
}

/// Issue 19: every quality and time flag, the cause of transmission and command qualifiers by name.
#[test]
fn the_views_name_every_flag_cause_and_qualifier() {
    let t: Timestamp = "2026-11-24T10:15:30.250Z".parse().unwrap();
    let mut tag = Cp56Time2a::from_timestamp(t).unwrap();
    tag.0[2] |= 0x80; // IV of the minute octet
    tag.0[3] |= 0x80; // SU of the hour octet
    let object = |ioa, elements| InformationObject { ioa, elements };
    let asdu = |type_id, cause, objects| Asdu {
        type_id,
        sq: false,
        count: 1,
        cot: Cot::new(cause),
        common_address: 1,
        objects: Objects::Known(vec![objects]),
    };
    let json = |a: Asdu| {
        view::to_json(&Apdu::I {
            ns: 0,
            nr: 0,
            asdu: a,
        })["asdu"]
            .clone()
    };
    // M_SP_TB_1, spontaneous, with NT and IV, and a CP56 marked invalid and summer time.
    let v = json(asdu(
        30,
        3,
        object(7, vec![Element::Siq(0xc1), Element::Cp56(tag)]),
    ));
    assert_eq!(v["cot_name"], "spontaneous");
    assert_eq!(v["objects"][0]["quality"], serde_json::json!(["NT", "IV"]));
    assert_eq!(
        v["objects"][0]["value"]["extra"]["time_flags"],
        serde_json::json!(["IV", "SU"])
    );
    // M_ME_NC_1 with OV, BL, SB: every QDS flag.
    let v = json(asdu(
        13,
        20,
        object(8, vec![Element::R32(0), Element::Qds(0x31)]),
    ));
    assert_eq!(
        v["objects"][0]["quality"],
        serde_json::json!(["OV", "BL", "SB"])
    );
    assert_eq!(v["cot_name"], "interrogated by station interrogation");
    // M_EP_TD_1: the protection event's EI flag.
    let v = json(asdu(
        38,
        3,
        object(
            9,
            vec![Element::Sep(0x0a), Element::Cp16(5), Element::Cp56(tag)],
        ),
    ));
    assert_eq!(v["objects"][0]["quality"], serde_json::json!(["EI"]));
    // C_SC_NA_1 select, short pulse; a negative activation confirmation.
    let mut select = asdu(45, 7, object(5001, vec![Element::Sco(0x85)]));
    select.cot.negative = true;
    let v = json(select);
    assert_eq!(v["cot_name"], "activation confirmation");
    assert_eq!(v["negative"], true);
    assert_eq!(v["objects"][0]["value"]["qualifier_name"], "short pulse");
    assert_eq!(v["objects"][0]["value"]["select"], true);
    // C_DC_NA_1 on, persistent; C_IC_NA_1 group 3; C_CI_NA_1 general with freeze and reset.
    let v = json(asdu(46, 6, object(5002, vec![Element::Dco(0x0e)])));
    assert_eq!(v["objects"][0]["value"]["state_name"], "on");
    assert_eq!(
        v["objects"][0]["value"]["qualifier_name"],
        "persistent output"
    );
    let v = json(asdu(100, 6, object(0, vec![Element::Qoi(23)])));
    assert_eq!(v["objects"][0]["value"]["name"], "group 3 interrogation");
    let v = json(asdu(101, 6, object(0, vec![Element::Qcc(0x85)])));
    assert_eq!(
        v["objects"][0]["value"]["request"],
        "general counter request"
    );
    assert_eq!(
        v["objects"][0]["value"]["freeze"],
        "counter freeze with reset"
    );
    // The text form names the cause too.
    let text = view::to_text(&Apdu::I {
        ns: 0,
        nr: 0,
        asdu: asdu(45, 10, object(5001, vec![Element::Sco(1)])),
    });
    assert!(text.contains("cause=10 (activation termination)"), "{text}");
}

use idea_proto::Timestamp;

fn element(kind: ElementKind) -> BoxedStrategy<Element> {
    match kind {
        ElementKind::Siq => any::<u8>().prop_map(Element::Siq).boxed(),
        ElementKind::Diq => any::<u8>().prop_map(Element::Diq).boxed(),
        ElementKind::Vti => any::<u8>().prop_map(Element::Vti).boxed(),
        ElementKind::Qds => any::<u8>().prop_map(Element::Qds).boxed(),
        ElementKind::Bsi => any::<u32>().prop_map(Element::Bsi).boxed(),
        ElementKind::Nva => any::<i16>().prop_map(Element::Nva).boxed(),
        ElementKind::Sva => any::<i16>().prop_map(Element::Sva).boxed(),
        ElementKind::R32 => any::<u32>().prop_map(Element::R32).boxed(),
        ElementKind::Bcr => (any::<i32>(), any::<u8>())
            .prop_map(|(v, f)| Element::Bcr(v, f))
            .boxed(),
        ElementKind::Sep => any::<u8>().prop_map(Element::Sep).boxed(),
        ElementKind::Spe => any::<u8>().prop_map(Element::Spe).boxed(),
        ElementKind::Oci => any::<u8>().prop_map(Element::Oci).boxed(),
        ElementKind::Qdp => any::<u8>().prop_map(Element::Qdp).boxed(),
        ElementKind::Scd => any::<u32>().prop_map(Element::Scd).boxed(),
        ElementKind::Sco => any::<u8>().prop_map(Element::Sco).boxed(),
        ElementKind::Dco => any::<u8>().prop_map(Element::Dco).boxed(),
        ElementKind::Rco => any::<u8>().prop_map(Element::Rco).boxed(),
        ElementKind::Qos => any::<u8>().prop_map(Element::Qos).boxed(),
        ElementKind::Coi => any::<u8>().prop_map(Element::Coi).boxed(),
        ElementKind::Qoi => any::<u8>().prop_map(Element::Qoi).boxed(),
        ElementKind::Qcc => any::<u8>().prop_map(Element::Qcc).boxed(),
        ElementKind::Qrp => any::<u8>().prop_map(Element::Qrp).boxed(),
        ElementKind::Fbp => any::<u16>().prop_map(Element::Fbp).boxed(),
        ElementKind::Tsc => any::<u16>().prop_map(Element::Tsc).boxed(),
        ElementKind::Qpm => any::<u8>().prop_map(Element::Qpm).boxed(),
        ElementKind::Qpa => any::<u8>().prop_map(Element::Qpa).boxed(),
        ElementKind::Cp16 => any::<u16>().prop_map(Element::Cp16).boxed(),
        ElementKind::Cp24 => any::<[u8; 3]>()
            .prop_map(|b| Element::Cp24(Cp24Time2a(b)))
            .boxed(),
        ElementKind::Cp56 => any::<[u8; 7]>()
            .prop_map(|b| Element::Cp56(Cp56Time2a(b)))
            .boxed(),
    }
}

fn params() -> impl Strategy<Value = AsduParams> {
    (1u8..=2, 1u8..=2, 1u8..=3).prop_map(|(cot_size, ca_size, ioa_size)| AsduParams {
        cot_size,
        ca_size,
        ioa_size,
    })
}

/// A valid I frame of any known type, either sequence form, within the 253-octet limit.
fn apdu() -> impl Strategy<Value = (AsduParams, Apdu)> {
    (
        params(),
        proptest::sample::select(TYPES.to_vec()),
        any::<bool>(),
        1usize..6,
    )
        .prop_flat_map(|(p, t, sq, n)| {
            let one = proptest::collection::vec(
                t.elements.iter().map(|k| element(*k)).collect::<Vec<_>>(),
                1,
            );
            let objects = proptest::collection::vec(one.prop_map(|mut v| v.remove(0)), n);
            let ioa_max = (1u32 << (8 * u32::from(p.ioa_size))) - 8;
            let ca_max = if p.ca_size == 1 { 0xffu16 } else { 0xffff };
            (
                Just(p),
                Just(t),
                Just(sq),
                objects,
                0..ioa_max,
                0..=ca_max,
                0u8..64,
                any::<[bool; 2]>(),
                any::<u8>(),
                0u16..32768,
                0u16..32768,
            )
                .prop_map(
                    |(p, t, sq, objects, ioa, ca, cause, flags, orig, ns, nr)| {
                        let count = objects.len() as u8;
                        let objects = objects
                            .into_iter()
                            .enumerate()
                            .map(|(i, elements)| InformationObject {
                                ioa: if sq {
                                    ioa + i as u32
                                } else {
                                    ioa.wrapping_mul(7 + i as u32)
                                        % ((1 << (8 * u32::from(p.ioa_size))) - 1)
                                },
                                elements,
                            })
                            .collect();
                        let originator = if p.cot_size == 2 { orig } else { 0 };
                        let asdu = Asdu {
                            type_id: t.id,
                            sq,
                            count,
                            cot: Cot {
                                cause,
                                negative: flags[0],
                                test: flags[1],
                                originator,
                            },
                            common_address: ca,
                            objects: Objects::Known(objects),
                        };
                        (p, Apdu::I { ns, nr, asdu })
                    },
                )
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decode_of_encode_is_identity_and_encode_of_decode_is_byte_exact((p, apdu) in apdu()) {
        let mut bytes = Vec::new();
        apdu.encode(&p, &mut bytes).unwrap();
        let (back, used) = Apdu::decode(&bytes, &p).unwrap();
        prop_assert_eq!(used, bytes.len());
        prop_assert_eq!(&back, &apdu);
        let mut again = Vec::new();
        back.encode(&p, &mut again).unwrap();
        prop_assert_eq!(again, bytes);
        let _ = view::to_json(&back);
        let _ = view::to_text(&back);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300), p in params()) {
        if let Ok((apdu, used)) = Apdu::decode(&bytes, &p) {
            prop_assert!(used <= bytes.len());
            let mut again = Vec::new();
            apdu.encode(&p, &mut again).unwrap();
            prop_assert_eq!(&again[..], &bytes[..used]);
        }
    }

    #[test]
    fn framed_prefixes_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 4..260)) {
        bytes[0] = 0x68;
        bytes[1] = (bytes.len() - 2).min(253) as u8;
        let _ = Apdu::decode(&bytes, &AsduParams::IEC104);
    }
}

/// An octet after the last information object (which c104's outstation accepts) is an error here, with the
/// offset: the VSQ count and the APDU length disagree.
#[test]
fn a_trailing_octet_after_the_objects_is_an_error() {
    // C_SC_NA_1, one object, activation, CA 1, IOA 4001, SCO = 1; then one octet too many (length 15, not 14).
    let frame = parse_hex("68 0f 00 00 00 00  2d 01 06 00 01 00  a1 0f 00  01  00").unwrap();
    let error = Apdu::decode(&frame, &AsduParams::IEC104).unwrap_err();
    assert!(matches!(error, Error::Decode { .. }), "{error}");
    // Without the extra octet it decodes.
    let exact = parse_hex("68 0e 00 00 00 00  2d 01 06 00 01 00  a1 0f 00  01").unwrap();
    assert!(Apdu::decode(&exact, &AsduParams::IEC104).is_ok());
}
