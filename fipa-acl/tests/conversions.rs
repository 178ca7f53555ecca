//! The three representations carry the same messages: every field survives string ↔ XML ↔ bit-efficient, for
//! arbitrary messages and for every shared vector; what a representation cannot carry is refused, never
//! altered.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use fipa_acl::{AclMessage, Error, Expression, MessageType, Performative};
use proptest::prelude::*;
use std::path::PathBuf;

mod common;

fn to_bit_efficient(m: &AclMessage) -> AclMessage {
    let mut wire = Vec::new();
    m.encode_bit_efficient(&mut wire).unwrap();
    let (back, used) = AclMessage::decode_bit_efficient(&wire).unwrap();
    assert_eq!(used, wire.len());
    back
}

fn to_xml(m: &AclMessage) -> AclMessage {
    let mut wire = Vec::new();
    m.encode_xml(&mut wire).unwrap();
    let (back, used) = AclMessage::decode_xml(&wire)
        .unwrap_or_else(|e| panic!("{e}\n{}", String::from_utf8_lossy(&wire)));
    assert_eq!(
        used,
        wire.len() - 1,
        "up to the end of fipa-message, not the final line feed"
    );
    back
}

fn to_string(m: &AclMessage) -> AclMessage {
    let mut wire = Vec::new();
    m.encode_string(&mut wire).unwrap();
    AclMessage::decode_string(&wire).unwrap().0
}

fn vectors(dir: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fipa-acl/vectors")
        .join(dir);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e} (the shared vectors are required)", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let bytes = std::fs::read(&f).unwrap();
            (f, bytes)
        })
        .collect()
}

#[test]
fn every_jade_vector_survives_every_conversion() {
    let all = vectors("jade-dftest");
    assert_eq!(all.len(), 10);
    for (path, bytes) in all {
        let (m, _) = AclMessage::decode_string(&bytes).unwrap();
        let name = path.display();
        assert_eq!(to_bit_efficient(&m), m, "{name}: bit-efficient");
        assert_eq!(to_xml(&m), m, "{name}: XML");
        assert_eq!(
            to_string(&to_xml(&to_bit_efficient(&m))),
            m,
            "{name}: chain"
        );
    }
}

#[test]
fn every_rock_vector_survives_bit_efficient_re_encoding() {
    for (path, bytes) in vectors("rock-bitefficient") {
        let (m, _) = AclMessage::decode_bit_efficient(&bytes).unwrap();
        assert_eq!(to_bit_efficient(&m), m, "{}", path.display());
        if m.performative.performative().is_some() {
            assert_eq!(to_xml(&m), m, "{}", path.display());
            assert_eq!(to_string(&m), m, "{}", path.display());
        }
    }
}

#[test]
fn the_bit_efficient_encoding_is_what_sc00069_describes() {
    let mut m = AclMessage::new(Performative::Inform);
    m.conversation_id = Some("c 1".into());
    m.user_params = vec![(
        "n".into(),
        Expression::List(vec![
            Expression::Word("a".into()),
            Expression::Number("-1.5E3".into()),
        ]),
    )];
    let mut wire = Vec::new();
    m.encode_bit_efficient(&mut wire).unwrap();
    assert_eq!(
        wire,
        [
            0xfa, 0x10, 0x08, // header, version 1.0, inform
            0x0d, 0x16, 3, b'c', b' ', b'1', // conversation-id as a byte-length string
            0x00, 0x10, b'n', 0x00, // user parameter n
            0x60, 0x10, b'a', 0x00, // level down, word a
            0x12, 0xe2, 0xf6, 0xd4,
            0x00, // -1.5E3 in coded nibbles (- 1 . 5 E 3), then a zero byte
            0x40, 0x01, // level up, end of message
        ]
    );
}

#[test]
fn xml_escapes_markup_and_keeps_carriage_returns() {
    let m = AclMessage::new(Performative::Inform)
        .content("a < b && c > d\r\n]]>")
        .to(fipa_acl::AgentIdentifier::new("x\"y").with_address("http://h/?a=1&b=\t2"));
    let mut wire = Vec::new();
    m.encode_xml(&mut wire).unwrap();
    let text = String::from_utf8(wire.clone()).unwrap();
    assert!(
        text.contains("<content>a &lt; b &amp;&amp; c &gt; d&#13;\n]]&gt;</content>"),
        "{text}"
    );
    assert!(text.contains("<name id=\"x&quot;y\"/>"), "{text}");
    assert!(
        text.contains("href=\"http://h/?a=1&amp;b=&#9;2\""),
        "{text}"
    );
    assert_eq!(AclMessage::decode_xml(&wire).unwrap().0, m);
}

#[test]
fn xml_from_other_producers_is_read() {
    let doc = br#"<?xml version="1.0"?>
<!-- written by hand, as another platform might -->
<acl:fipa-message xmlns:acl="urn:example" act="CFP" conversation-id="neg-7">
  <acl:sender><acl:agent-identifier><acl:name>buyer@cell-7</acl:name>
    <acl:addresses><acl:url>mqtt://127.0.0.1:1883/buyer</acl:url></acl:addresses>
  </acl:agent-identifier></acl:sender>
  <acl:content><![CDATA[(offer <12 kWh>)]]></acl:content>
  <acl:reply-by time="20261124T120000000Z"></acl:reply-by>
  <acl:user-defined href="priority">(high 3)</acl:user-defined>
  <acl:user-defined href="X-note">two words</acl:user-defined>
</acl:fipa-message>"#;
    let (m, _) = AclMessage::decode_xml(doc).unwrap();
    assert_eq!(m.performative, Performative::Cfp);
    assert_eq!(
        m.conversation_id
            .as_ref()
            .and_then(Expression::as_text)
            .as_deref(),
        Some("neg-7")
    );
    let sender = m.sender.unwrap();
    assert_eq!(sender.name, "buyer@cell-7");
    assert_eq!(sender.addresses, ["mqtt://127.0.0.1:1883/buyer"]);
    assert_eq!(m.content.as_deref(), Some(&b"(offer <12 kWh>)"[..]));
    assert_eq!(m.reply_by.unwrap().to_string(), "20261124T120000000Z");
    assert_eq!(
        m.user_params,
        [
            (
                "priority".to_owned(),
                Expression::List(vec![
                    Expression::Word("high".into()),
                    Expression::Number("3".into())
                ])
            ),
            ("note".to_owned(), Expression::String(b"two words".to_vec())),
        ]
    );
}

#[test]
fn xml_refusals_carry_the_offset() {
    let cases: [(&[u8], &str); 6] = [
        (b"<fipa-message act=\"shout\"/>", "performative"),
        (b"<fipa-message act=\"inform\"><colour>red</colour></fipa-message>", "message"),
        (
            b"<fipa-message act=\"inform\"><ontology>a</ontology><ontology>b</ontology></fipa-message>",
            "message",
        ),
        (b"<fipa-message act=\"inform\"><reply-by time=\"tomorrow\"/></fipa-message>", "reply-by"),
        (
            b"<fipa-message act=\"inform\"><sender><agent-identifier/></sender></fipa-message>",
            "agent-identifier",
        ),
        (b"<fipa-message act=\"inform\"><content>&bogus;</content></fipa-message>", "content"),
    ];
    for (doc, field) in cases {
        match AclMessage::decode_xml(doc) {
            Err(Error::Decode {
                field: f, offset, ..
            }) => {
                assert_eq!(f, field, "{}", String::from_utf8_lossy(doc));
                assert!(offset <= doc.len());
            }
            other => panic!("{}: {other:?}", String::from_utf8_lossy(doc)),
        }
    }
}

#[test]
fn what_xml_cannot_carry_is_refused_not_altered() {
    for content in [&b"\x00nul"[..], b"\xff\xfe", b"bell\x07"] {
        let m = AclMessage::new(Performative::Inform).content(content);
        assert!(matches!(
            m.encode_xml(&mut Vec::new()),
            Err(Error::Invalid {
                field: "content",
                ..
            })
        ));
        // The other two representations carry it.
        assert_eq!(to_bit_efficient(&m), m);
        assert_eq!(to_string(&m), m);
    }
    let user_type = AclMessage::new(MessageType::UserDefined("haggle".into()));
    assert!(user_type.encode_xml(&mut Vec::new()).is_err());
    assert_eq!(to_bit_efficient(&user_type), user_type);
    let hex = AclMessage::new(Performative::Inform);
    let mut hex = hex;
    hex.user_params = vec![("n".into(), Expression::Number("0x1F".into()))];
    assert!(matches!(
        hex.encode_bit_efficient(&mut Vec::new()),
        Err(Error::Invalid { .. })
    ));
}

#[test]
fn bit_efficient_refusals_carry_the_offset() {
    let cases: [(&[u8], usize); 4] = [
        (
            &[
                0xfa, 0x10, 0x08, 0x09, 0x10, b'a', 0x00, 0x09, 0x10, b'b', 0x00, 0x01,
            ],
            7,
        ),
        (
            &[
                0xfa, 0x10, 0x08, 0x00, 0x10, b'n', 0x00, 0x60, 0x10, b'a', 0x00,
            ],
            11,
        ),
        (&[0xfa, 0x10, 0x08, 0x00, 0x10, b'n', 0x00, 0x77], 8),
        (&[0xfa, 0x10, 0x17, 0x01], 2),
    ];
    for (wire, at) in cases {
        match AclMessage::decode_bit_efficient(wire) {
            Err(Error::Decode { offset, .. }) => assert_eq!(offset, at, "{wire:02x?}"),
            other => panic!("{wire:02x?}: {other:?}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn bit_efficient_round_trips_any_message(m in common::message()) {
        prop_assert_eq!(to_bit_efficient(&m), m);
    }

    #[test]
    fn xml_round_trips_any_message_it_can_carry(m in common::message_with(false)) {
        prop_assert_eq!(to_xml(&m), m);
    }

    #[test]
    fn conversions_chain_without_loss(m in common::message_with(false)) {
        prop_assert_eq!(to_string(&to_xml(&to_bit_efficient(&to_string(&m)))), m);
    }

    #[test]
    fn arbitrary_xml_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = AclMessage::decode_xml(&bytes);
    }

    #[test]
    fn arbitrary_bit_efficient_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let mut input = vec![0xfa, 0x10];
        input.extend(bytes);
        let _ = AclMessage::decode_bit_efficient(&input);
    }
}
