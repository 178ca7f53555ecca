//! Decoding from a shared buffer leaves the content in that buffer wherever it is written verbatim, and
//! decodes exactly what the copying decoders do.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use fipa_acl::{AclMessage, Bytes, Limits, Performative, Representation};
use proptest::prelude::*;

mod common;

fn within(buffer: &Bytes, part: &[u8]) -> bool {
    let outer = buffer.as_ptr_range();
    let inner = part.as_ptr_range();
    outer.start <= inner.start && inner.end <= outer.end
}

#[test]
fn verbatim_content_is_not_copied() {
    let limits = Limits::default();
    let cases: [(&[u8], bool); 4] = [
        (b"(inform :content #5\"a)b\"c)", true),
        (b"(inform :content \"plain text, no escapes\")", true),
        (b"(inform :content \"say \\\"hi\\\"\")", false),
        (b"(inform :content word)", false),
    ];
    for (text, borrowed) in cases {
        let buffer = Bytes::copy_from_slice(text);
        let (m, _, representation) = AclMessage::decode_shared(&buffer, &limits).unwrap();
        assert_eq!(representation, Representation::String);
        let content = m.content.as_deref().unwrap();
        assert_eq!(
            within(&buffer, content),
            borrowed,
            "{}",
            String::from_utf8_lossy(text)
        );
        assert_eq!(m, AclMessage::decode_string(text).unwrap().0);
    }
    // The bit-efficient form: byte strings are slices too.
    let m = AclMessage::new(Performative::Inform).content(vec![0u8, 1, 2, 0xff, b'"']);
    let mut wire = Vec::new();
    m.encode_bit_efficient(&mut wire).unwrap();
    let buffer = Bytes::from(wire);
    let (back, _, _) = AclMessage::decode_shared(&buffer, &limits).unwrap();
    assert!(within(&buffer, back.content.as_deref().unwrap()));
    assert_eq!(back, m);
}

proptest! {
    #[test]
    fn shared_decoding_equals_copying_decoding(m in common::message_with(false)) {
        for representation in Representation::ALL {
            let mut wire = Vec::new();
            m.encode_as(representation, &mut wire).unwrap();
            let buffer = Bytes::from(wire.clone());
            let (shared, used, detected) = AclMessage::decode_shared(&buffer, &Limits::default()).unwrap();
            prop_assert_eq!(detected, representation);
            let (copied, used_copy) = AclMessage::decode_as(&wire, representation, &Limits::default()).unwrap();
            prop_assert_eq!(used, used_copy);
            prop_assert_eq!(&shared, &copied);
            prop_assert_eq!(&shared, &m);
        }
    }
}
