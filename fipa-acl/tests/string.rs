//! The string representation's grammar, case by case, and round trips of arbitrary messages.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use fipa_acl::{AclMessage, AgentIdentifier, Error, Expression, Limits, Performative};
use proptest::prelude::*;

mod common;
use common::message;

fn decode(text: &[u8]) -> Result<AclMessage, Error> {
    AclMessage::decode_string(text).map(|(m, _)| m)
}

fn offset(e: Error) -> (usize, &'static str) {
    match e {
        Error::Decode { offset, field, .. } => (offset, field),
        Error::Limit { offset, what } => (offset, what),
        other => panic!("{other}"),
    }
}

#[test]
fn keywords_ignore_case_and_values_keep_it() {
    let m = decode(
        b"(Inform :SENDER (AGENT-IDENTIFIER :NAME Alice@Cell) :Content \"Hi\" :X-Note Word)",
    )
    .unwrap();
    assert_eq!(m.performative, Performative::Inform);
    assert_eq!(m.sender.unwrap().name, "Alice@Cell");
    assert_eq!(m.content.as_deref(), Some(&b"Hi"[..]));
    assert_eq!(
        m.user_params,
        [("Note".to_owned(), Expression::Word("Word".into()))]
    );
}

#[test]
fn byte_length_strings_count_bytes_and_carry_anything() {
    // 2 bytes of "é" (JADE counts characters and would read one byte too few), then NUL, a quote, parentheses
    // and an invalid UTF-8 byte: 7 bytes in all.
    let mut text = b"(inform :content #7\"".to_vec();
    text.extend_from_slice("é".as_bytes());
    text.extend_from_slice(b"\0\"()\xff");
    text.push(b')');
    let m = decode(&text).unwrap();
    let mut expected = "é".as_bytes().to_vec();
    expected.extend_from_slice(b"\0\"()\xff");
    assert_eq!(m.content.unwrap(), expected);
    // A length beyond the input is an error at the '#'.
    assert_eq!(
        offset(decode(b"(inform :content #9\"abc)").unwrap_err()),
        (17, "byte-length string")
    );
}

#[test]
fn quoted_strings_have_one_escape() {
    let m = decode(br#"(inform :content "say \"hi\" \n \\ path")"#).unwrap();
    assert_eq!(m.content.as_deref().unwrap(), br#"say "hi" \n \\ path"#);
}

#[test]
fn the_encoder_picks_a_form_that_round_trips() {
    let cases: [&[u8]; 5] = [
        b"plain",
        b"ends in \\",
        b"quote \" inside",
        b"\xff\xfe binary",
        b"",
    ];
    for content in cases {
        let m = AclMessage::new(Performative::Inform).content(content);
        let mut out = Vec::new();
        m.encode_string(&mut out).unwrap();
        assert_eq!(
            decode(&out).unwrap(),
            m,
            "{}",
            String::from_utf8_lossy(&out)
        );
    }
    let mut out = Vec::new();
    AclMessage::new(Performative::Inform)
        .content(&b"ends in \\"[..])
        .encode_string(&mut out)
        .unwrap();
    assert!(
        out.windows(4).any(|w| w == b"#9\"e"),
        "{}",
        String::from_utf8_lossy(&out)
    );
}

#[test]
fn date_times_absolute_local_and_relative() {
    let m = decode(b"(cfp :reply-by +00000000T000030000)").unwrap();
    assert_eq!(m.reply_by.unwrap().sign, Some('+'));
    let m = decode(b"(cfp :reply-by 20261124T120000000)").unwrap();
    assert_eq!(m.reply_by.unwrap().designator, None);
    assert_eq!(
        offset(decode(b"(cfp :reply-by tomorrow)").unwrap_err()),
        (15, "reply-by")
    );
}

#[test]
fn refusals_carry_the_offset_and_the_field() {
    assert_eq!(
        offset(decode(b"(offer :content \"x\")").unwrap_err()),
        (1, "performative")
    );
    assert_eq!(
        offset(
            decode(b"(inform :sender (agent-identifier :addresses (sequence http://x)))")
                .unwrap_err()
        ),
        (16, "agent-identifier")
    );
    // A standard parameter given twice is refused at the second occurrence.
    assert_eq!(
        offset(decode(b"(inform :content \"a\" :content \"b\")").unwrap_err()),
        (21, "content")
    );
    assert_eq!(
        offset(decode(b"(inform :content)").unwrap_err()),
        (8, "parameter")
    );
    assert_eq!(
        offset(decode(b"(inform :content").unwrap_err()),
        (0, "expression")
    );
    assert_eq!(offset(decode(b"(inform").unwrap_err()), (0, "expression"));
    assert_eq!(offset(decode(b"inform").unwrap_err()), (0, "message"));
}

#[test]
fn unknown_parameters_without_x_are_kept_as_user_parameters() {
    let m = decode(b"(inform :colour blue :X-size 3)").unwrap();
    assert_eq!(
        m.user_params,
        [
            ("colour".to_owned(), Expression::Word("blue".into())),
            ("size".to_owned(), Expression::Number("3".into()))
        ]
    );
    let mut out = Vec::new();
    m.encode_string(&mut out).unwrap();
    assert!(out.windows(10).any(|w| w == b":X-colour "));
}

#[test]
fn agent_identifiers_with_addresses_resolvers_and_user_parameters() {
    let text = b"(inform :receiver (set (agent-identifier :name b@x :addresses (sequence mqtt://127.0.0.1:1883/b http://x:7778/acc) :resolvers (sequence (agent-identifier :name ams@x)) :X-role seller)))";
    let m = decode(text).unwrap();
    let b = &m.receivers[0];
    assert_eq!(
        b.addresses,
        ["mqtt://127.0.0.1:1883/b", "http://x:7778/acc"]
    );
    assert_eq!(b.resolvers, [AgentIdentifier::new("ams@x")]);
    assert_eq!(
        b.user_params,
        [("role".to_owned(), Expression::Word("seller".into()))]
    );
}

#[test]
fn nesting_and_size_are_bounded() {
    let deep = format!("(inform :X-deep {}{})", "(".repeat(100), ")".repeat(100));
    assert!(matches!(
        decode(deep.as_bytes()),
        Err(Error::Limit {
            what: "nesting depth",
            ..
        })
    ));
    let small = Limits {
        max_size: 10,
        max_depth: 64,
    };
    assert!(matches!(
        AclMessage::decode_string_with(b"(inform :content \"0123456789\")", &small),
        Err(Error::Limit { .. })
    ));
}

#[test]
fn reply_fills_receivers_conversation_and_in_reply_to() {
    let mut request = AclMessage::new(Performative::Cfp).from(AgentIdentifier::new("buyer@a"));
    request.conversation_id = Some("c-1".into());
    request.reply_with = Some("r-1".into());
    request.protocol = Some("fipa-contract-net".into());
    let answer = request.reply(Performative::Propose, AgentIdentifier::new("seller@b"));
    assert_eq!(answer.receivers, [AgentIdentifier::new("buyer@a")]);
    assert_eq!(
        answer
            .conversation_id
            .as_ref()
            .and_then(Expression::as_text)
            .as_deref(),
        Some("c-1")
    );
    assert_eq!(
        answer
            .in_reply_to
            .as_ref()
            .and_then(Expression::as_text)
            .as_deref(),
        Some("r-1")
    );
    assert_eq!(answer.protocol.as_deref(), Some("fipa-contract-net"));
    request.reply_to = vec![AgentIdentifier::new("broker@c")];
    let redirected = request.reply(Performative::Refuse, AgentIdentifier::new("seller@b"));
    assert_eq!(redirected.receivers, [AgentIdentifier::new("broker@c")]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn encode_then_decode_is_identity(m in message()) {
        let mut out = Vec::new();
        m.encode_string(&mut out).unwrap();
        let (back, used) = AclMessage::decode_string(&out).unwrap();
        prop_assert_eq!(used, out.len());
        prop_assert_eq!(back, m);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = AclMessage::decode_string(&bytes);
    }
}

#[test]
fn an_empty_user_parameter_name_is_refused() {
    assert_eq!(
        offset(decode(b"(inform : x)").unwrap_err()),
        (8, "parameter")
    );
    assert_eq!(
        offset(decode(b"(inform :X- x)").unwrap_err()),
        (8, "parameter")
    );
    assert_eq!(
        offset(decode(b"(inform :sender (agent-identifier :name a :X- 1))").unwrap_err()),
        (42, "agent-identifier")
    );
}
