//! SC00070 production by production for the parameters whose value is an `Expression` (`:language`,
//! `:encoding`, `:ontology`, `:conversation-id`, `:reply-with`, `:in-reply-to`, user-defined): every kind of
//! expression is accepted, kept as written, written back, and carried unchanged through the XML (SC00071)
//! and bit-efficient (SC00069) forms of the same message.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use fipa_acl::{AclMessage, DateTime, Expression, Performative};

/// The expressions of SC00070 clause 2.1, each with how it is written.
fn expressions() -> Vec<(&'static str, Expression)> {
    let word = |w: &str| Expression::Word(w.to_owned());
    vec![
        // Word
        ("fipa-sl0", word("fipa-sl0")),
        ("conv@host:1099/JADE.7", word("conv@host:1099/JADE.7")),
        // String: StringLiteral, with its one escape
        ("\"two words\"", Expression::String(b"two words".to_vec())),
        (
            r#""say \"hi\"""#,
            Expression::String(b"say \"hi\"".to_vec()),
        ),
        // String: ByteLengthEncodedString (anything, parentheses and quotes included)
        ("#5\"a(b)\"", Expression::String(b"a(b)\"".to_vec())),
        // Number: Integer, signed, Float with and without exponent
        ("42", Expression::Number("42".into())),
        ("-7", Expression::Number("-7".into())),
        ("3.25", Expression::Number("3.25".into())),
        ("-1.5E-3", Expression::Number("-1.5E-3".into())),
        ("6E10", Expression::Number("6E10".into())),
        // DateTime: absolute, with and without the type designator
        (
            "20261124T120000000Z",
            Expression::DateTime(DateTime::utc(2026, 11, 24, 12, 0, 0, 0)),
        ),
        // "(" Expression* ")": empty, flat, nested, mixed
        ("()", Expression::List(vec![])),
        (
            "(a \"b c\" 1 (d (e)))",
            Expression::List(vec![
                word("a"),
                Expression::String(b"b c".to_vec()),
                Expression::Number("1".into()),
                Expression::List(vec![word("d"), Expression::List(vec![word("e")])]),
            ]),
        ),
    ]
}

const PARAMETERS: [&str; 6] = [
    "language",
    "encoding",
    "ontology",
    "conversation-id",
    "reply-with",
    "in-reply-to",
];

fn parameter(m: &AclMessage, name: &str) -> Option<Expression> {
    match name {
        "language" => m.language.clone(),
        "encoding" => m.encoding.clone(),
        "ontology" => m.ontology.clone(),
        "conversation-id" => m.conversation_id.clone(),
        "reply-with" => m.reply_with.clone(),
        "in-reply-to" => m.in_reply_to.clone(),
        other => m
            .user_params
            .iter()
            .find(|(n, _)| n == other)
            .map(|(_, v)| v.clone()),
    }
}

/// The message in the other two forms, decoded again.
fn through_every_form(m: &AclMessage) -> [(&'static str, AclMessage); 3] {
    let mut string = Vec::new();
    m.encode_string(&mut string).unwrap();
    let mut xml = Vec::new();
    m.encode_xml(&mut xml).unwrap();
    let mut bit = Vec::new();
    m.encode_bit_efficient(&mut bit).unwrap();
    [
        ("string", AclMessage::decode_string(&string).unwrap().0),
        ("xml", AclMessage::decode_xml(&xml).unwrap().0),
        (
            "bit-efficient",
            AclMessage::decode_bit_efficient(&bit).unwrap().0,
        ),
    ]
}

#[test]
fn every_expression_parameter_takes_every_expression_and_keeps_it_in_every_form() {
    for name in PARAMETERS.iter().copied().chain(["X-note"]) {
        for (written, expected) in expressions() {
            let text = format!("(inform :sender (agent-identifier :name a) :{name} {written})");
            let (m, used) = AclMessage::decode_string(text.as_bytes())
                .unwrap_or_else(|e| panic!(":{name} {written}: {e}"));
            assert_eq!(used, text.len());
            let key = name.strip_prefix("X-").unwrap_or(name);
            assert_eq!(
                parameter(&m, key).as_ref(),
                Some(&expected),
                ":{name} {written}"
            );
            for (form, back) in through_every_form(&m) {
                assert_eq!(back, m, ":{name} {written} through the {form} form");
            }
        }
    }
}

#[test]
fn a_message_with_every_expression_parameter_at_once_round_trips() {
    let text = br#"(propose
        :sender (agent-identifier :name seller@cell-3)
        :receiver (set (agent-identifier :name buyer@cell-7))
        :content "((offer))"
        :language (fipa-sl0 "v1")
        :encoding "utf-8"
        :ontology (idea-energy 2)
        :protocol fipa-contract-net
        :conversation-id (neg 7 20261124T120000000Z)
        :reply-with #3"a b
        :in-reply-to 12.5
        :reply-by 20261124T121500000Z
        :X-route (via (hub-1 hub-2))
        :X-route "second value")"#;
    let (m, _) = AclMessage::decode_string(text).unwrap();
    assert_eq!(m.performative, Performative::Propose);
    assert_eq!(m.protocol.as_deref(), Some("fipa-contract-net"));
    assert_eq!(
        m.conversation_id,
        Some(Expression::List(vec![
            Expression::Word("neg".into()),
            Expression::Number("7".into()),
            Expression::DateTime(DateTime::utc(2026, 11, 24, 12, 0, 0, 0)),
        ]))
    );
    assert_eq!(m.reply_with, Some(Expression::String(b"a b".to_vec())));
    assert_eq!(m.in_reply_to, Some(Expression::Number("12.5".into())));
    assert_eq!(
        m.user_params.len(),
        2,
        "a repeated user parameter keeps both"
    );
    for (form, back) in through_every_form(&m) {
        assert_eq!(back, m, "through the {form} form");
    }
    // A reply carries the expressions over as they are.
    let reply = m.reply(
        Performative::AcceptProposal,
        fipa_acl::AgentIdentifier::new("buyer@cell-7"),
    );
    assert_eq!(reply.conversation_id, m.conversation_id);
    assert_eq!(reply.in_reply_to, m.reply_with);
    assert_eq!(reply.language, m.language);
}

#[test]
fn keywords_and_date_time_letters_are_case_insensitive() {
    let text = b"(INFORM :SENDER (AGENT-IDENTIFIER :NAME a :ADDRESSES (SEQUENCE http://h)) \
        :Receiver (Set (Agent-Identifier :Name b)) :Conversation-ID c-1 :REPLY-BY 20261124t120000000z)";
    let (m, _) = AclMessage::decode_string(text).unwrap();
    assert_eq!(m.performative, Performative::Inform);
    assert_eq!(m.sender.as_ref().unwrap().addresses, ["http://h"]);
    assert_eq!(m.receivers[0].name, "b");
    assert_eq!(m.conversation_id, Some(Expression::Word("c-1".into())));
    let t = m.reply_by.unwrap();
    assert_eq!(
        (t.hour, t.designator.map(|d| d.to_ascii_uppercase())),
        (12, Some('Z'))
    );
}

#[test]
fn text_made_values_are_words_where_they_can_be_and_strings_otherwise() {
    assert_eq!(Expression::from("c-1"), Expression::Word("c-1".into()));
    assert_eq!(
        Expression::from("two words"),
        Expression::String(b"two words".to_vec())
    );
    assert_eq!(Expression::from("42"), Expression::String(b"42".to_vec()));
    assert!(Expression::from("42").is_text("42"));
    assert_eq!(Expression::List(vec![]).as_text(), None);
    assert_eq!(
        Expression::List(vec![Expression::from("a b"), Expression::from("c")]).to_string(),
        "(\"a b\" c)"
    );
}

/// A parameter that is not an Expression in the grammar keeps its own rule: `:protocol` is a word or a
/// string, never a list.
#[test]
fn protocol_is_not_an_expression() {
    let err = AclMessage::decode_string(b"(inform :protocol (a b))").unwrap_err();
    assert!(
        matches!(
            &err,
            fipa_acl::Error::Decode {
                field: "protocol",
                ..
            }
        ),
        "{err}"
    );
}

/// The bit-efficient coded number has one exponent nibble, `E`: a number written with `e` is kept in the string
/// and XML forms and refused, naming the parameter, by the bit-efficient encoder rather than changed.
#[test]
fn a_lower_case_exponent_is_kept_where_it_can_be_and_refused_where_it_cannot() {
    let (m, _) = AclMessage::decode_string(b"(inform :in-reply-to -1.5e-3)").unwrap();
    assert_eq!(m.in_reply_to, Some(Expression::Number("-1.5e-3".into())));
    let mut string = Vec::new();
    m.encode_string(&mut string).unwrap();
    assert_eq!(AclMessage::decode_string(&string).unwrap().0, m);
    let mut xml = Vec::new();
    m.encode_xml(&mut xml).unwrap();
    assert_eq!(AclMessage::decode_xml(&xml).unwrap().0, m);
    let err = m.encode_bit_efficient(&mut Vec::new()).unwrap_err();
    assert!(
        matches!(
            &err,
            fipa_acl::Error::Invalid {
                field: "in-reply-to",
                ..
            }
        ),
        "{err}"
    );
}
