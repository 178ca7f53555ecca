//! Fuzz target bodies for `fipa-acl`, shared by `fuzz/fuzz_targets/*` and `fipa-acl/tests/fuzz_corpus.rs`.
#![allow(unreachable_pub, dead_code, clippy::expect_used, clippy::panic)]

use fipa_acl::{AclMessage, Error, Representation};

/// Encodes `message` in `representation` and decodes it back: it must come back whole, or be refused as a
/// value the representation cannot carry.
fn converts(message: &AclMessage, representation: Representation) {
    let mut wire = Vec::new();
    match message.encode_as(representation, &mut wire) {
        Ok(()) => {}
        Err(Error::Invalid { .. }) => return,
        Err(other) => panic!("{representation}: {other}"),
    }
    let (back, used) = AclMessage::decode_as(&wire, representation, &fipa_acl::Limits::default())
        .expect("an encoded message decodes");
    assert!(used <= wire.len());
    assert_eq!(&back, message, "{representation}");
}

/// Decodes the string representation; whatever decodes encodes, and decodes back to the same message.
pub fn string(data: &[u8]) {
    let Ok((message, used)) = AclMessage::decode_string(data) else {
        return;
    };
    assert!(used <= data.len());
    let mut again = Vec::new();
    message
        .encode_string(&mut again)
        .expect("a decoded message encodes");
    let (back, used) = AclMessage::decode_string(&again).expect("an encoded message decodes");
    assert_eq!(used, again.len());
    assert_eq!(back, message);
    let shared = fipa_acl::Bytes::copy_from_slice(data);
    let (from_shared, _) = AclMessage::decode_string_shared(&shared, &fipa_acl::Limits::default())
        .expect("shared decoding agrees");
    assert_eq!(from_shared, message);
    converts(&message, Representation::BitEfficient);
    converts(&message, Representation::Xml);
}

/// Decodes the bit-efficient representation; a decoded message re-encodes, and one with a performative
/// converts to the other representations and back with every field.
pub fn bit_efficient(data: &[u8]) {
    let Ok((message, used)) = AclMessage::decode_bit_efficient(data) else {
        return;
    };
    assert!(used <= data.len());
    let mut again = Vec::new();
    message
        .encode_bit_efficient(&mut again)
        .expect("a decoded message re-encodes");
    let (back, _) = AclMessage::decode_bit_efficient(&again).expect("and decodes");
    assert_eq!(back, message);
    converts(&message, Representation::Xml);
    if message.performative.performative().is_none() {
        return;
    }
    let mut text = Vec::new();
    message
        .encode_string(&mut text)
        .expect("a decoded message encodes as a string");
    let (back, _) = AclMessage::decode_string(&text).expect("and decodes");
    assert_eq!(back, message);
}

/// Decodes the XML representation; whatever decodes converts to every representation and back.
pub fn xml(data: &[u8]) {
    let Ok((message, used)) = AclMessage::decode_xml(data) else {
        return;
    };
    assert!(used <= data.len());
    for representation in Representation::ALL {
        converts(&message, representation);
    }
}

/// Parses SL0 content; whatever parses prints and parses back to the same content.
pub fn sl0(data: &[u8]) {
    let Ok(content) = fipa_acl::sl0::Content::parse(data) else {
        return;
    };
    let printed = content.to_bytes();
    let back = fipa_acl::sl0::Content::parse(&printed).expect("printed content parses");
    assert_eq!(back, content);
}
