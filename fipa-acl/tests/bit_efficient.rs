//! The bit-efficient representation (SC00069): the three rock-multiagent vectors under
//! `../shared/fipa-acl/vectors/rock-bitefficient/` decode field by field, and malformed input is refused with
//! the offset.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use fipa_acl::{AclMessage, DateTime, Error, Expression, MessageType, Performative};
use std::path::PathBuf;

fn vector(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fipa-acl/vectors/rock-bitefficient")
        .join(name);
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (the shared vectors are required)", path.display()))
}

#[test]
fn every_rock_vector_decodes() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fipa-acl/vectors/rock-bitefficient");
    let files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 3);
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        let (_, used) = AclMessage::decode_bit_efficient(&bytes)
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert_eq!(used, bytes.len(), "{}", f.display());
    }
}

#[test]
fn a_predefined_message_type_alone() {
    // 0xFA, version 1.0, 0x15 request-whenever, end of message.
    let (m, _) = AclMessage::decode_bit_efficient(&vector("TestMessage.txt.bin")).unwrap();
    assert_eq!(m, AclMessage::new(Performative::RequestWhenever));
}

#[test]
fn a_user_defined_message_type() {
    let (m, _) = AclMessage::decode_bit_efficient(&vector("TestMessage2.txt.bin")).unwrap();
    assert_eq!(m.performative, MessageType::UserDefined("abcd".into()));
    // The string representation has no user-defined types: encoding says so instead of inventing one.
    assert!(matches!(
        m.encode_string(&mut Vec::new()),
        Err(Error::Invalid { .. })
    ));
}

#[test]
fn every_parameter_of_the_special_message() {
    let (m, _) = AclMessage::decode_bit_efficient(&vector("TestMessageSpecial.txt.bin")).unwrap();
    assert_eq!(
        m.performative,
        MessageType::UserDefined("testperformative".into())
    );
    let sender = m.sender.as_ref().unwrap();
    assert_eq!(sender.name, "agent4");
    assert_eq!(sender.addresses, ["addr1"]);
    assert_eq!(
        sender.user_params,
        [("param4".to_owned(), Expression::String(b"value4".to_vec()))]
    );
    assert_eq!(m.content.as_deref(), Some(&b"test content"[..]));
    assert_eq!(
        m.reply_with
            .as_ref()
            .and_then(Expression::as_text)
            .as_deref(),
        Some("test reply with")
    );
    assert_eq!(
        m.in_reply_to
            .as_ref()
            .and_then(Expression::as_text)
            .as_deref(),
        Some("test in reply to")
    );
    assert_eq!(
        m.language.as_ref().and_then(Expression::as_text).as_deref(),
        Some("test language")
    );
    assert_eq!(
        m.encoding.as_ref().and_then(Expression::as_text).as_deref(),
        Some("test encoding")
    );
    assert_eq!(
        m.ontology.as_ref().and_then(Expression::as_text).as_deref(),
        Some("test ontology")
    );
    assert_eq!(m.protocol.as_deref(), Some("testprotocol"));
    assert_eq!(
        m.conversation_id
            .as_ref()
            .and_then(Expression::as_text)
            .as_deref(),
        Some("test conversationID")
    );
    // Coded digits 2010 06 22 01 01 0: the rock encoder wrote the seconds as one digit and no milliseconds.
    let t = m.reply_by.unwrap();
    assert_eq!(
        (
            t.year,
            t.month,
            t.day,
            t.hour,
            t.minute,
            t.second,
            t.millisecond
        ),
        (2010, 6, 22, 1, 1, 0, 0)
    );
    assert_eq!(
        t,
        DateTime {
            designator: None,
            ..DateTime::utc(2010, 6, 22, 1, 1, 0, 0)
        }
    );
    // The message converts to the string representation and back with every field, except its user-defined type.
    let mut as_inform = m.clone();
    as_inform.performative = Performative::Inform.into();
    let mut text = Vec::new();
    as_inform.encode_string(&mut text).unwrap();
    assert_eq!(AclMessage::decode_string(&text).unwrap().0, as_inform);
}

#[test]
fn malformed_input_is_refused_with_the_offset() {
    let offset = |bytes: &[u8]| match AclMessage::decode_bit_efficient(bytes).unwrap_err() {
        Error::Decode { offset, field, .. } => (offset, field),
        other => panic!("{other}"),
    };
    assert_eq!(offset(&[0x68, 0x10, 0x15, 0x01]), (0, "header"));
    assert_eq!(offset(&[0xfb, 0x10, 0x15, 0x01]).1, "header");
    assert_eq!(offset(&[0xfa, 0x10, 0x17, 0x01]), (2, "message type"));
    assert_eq!(offset(&[0xfa, 0x10, 0x15]), (3, "parameter"));
    assert_eq!(
        offset(&[0xfa, 0x10, 0x15, 0x04, 0x16, 0x05, b'a']).1,
        "content"
    );
    assert_eq!(offset(&[0xfa, 0x10, 0x15, 0x0e, 0x01]), (3, "parameter"));
    // Arbitrary bytes never panic.
    for len in 0..64u8 {
        let junk: Vec<u8> = (0..len)
            .map(|i| i.wrapping_mul(37).wrapping_add(0xfa))
            .collect();
        let _ = AclMessage::decode_bit_efficient(&junk);
    }
}
