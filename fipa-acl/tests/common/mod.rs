//! Strategies shared by the codec tests: arbitrary messages with every parameter.
#![allow(dead_code)]

use fipa_acl::{AclMessage, AgentIdentifier, DateTime, Expression, Performative};
use proptest::prelude::*;

pub(crate) fn word() -> impl Strategy<Value = String> {
    "[a-zA-Z][a-zA-Z0-9@:/._-]{0,12}"
}

/// Text XML can carry: printable characters, tabs, line feeds and carriage returns, markup characters.
pub(crate) fn text() -> impl Strategy<Value = String> {
    prop_oneof![word(), "[ -~]{0,16}", "[\\PC\t\r\n<>&\"']{0,8}"]
}

pub(crate) fn date_time() -> impl Strategy<Value = DateTime> {
    (
        prop::sample::select(vec![None, Some('+'), Some('-')]),
        0u16..10000,
        1u8..13,
        1u8..29,
        0u8..24,
        0u8..60,
        0u8..60,
        0u16..1000,
        prop::sample::select(vec![None, Some('Z'), Some('a')]),
    )
        .prop_map(
            |(sign, year, month, day, hour, minute, second, millisecond, designator)| DateTime {
                sign,
                year,
                month,
                day,
                hour,
                minute,
                second,
                millisecond,
                designator,
            },
        )
}

/// Expressions whose strings are any bytes when `binary`, else XML-safe text.
pub(crate) fn expression(binary: bool) -> impl Strategy<Value = Expression> {
    let string = if binary {
        prop::collection::vec(any::<u8>(), 0..24).boxed()
    } else {
        text().prop_map(String::into_bytes).boxed()
    };
    let leaf = prop_oneof![
        word().prop_map(Expression::Word),
        string.prop_map(Expression::String),
        (-1_000_000i64..1_000_000).prop_map(|n| Expression::Number(n.to_string())),
        "-?[0-9]{1,4}\\.[0-9]{1,3}(E-?[0-9]{1,2})?".prop_map(Expression::Number),
        date_time().prop_map(Expression::DateTime),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop::collection::vec(inner, 0..4).prop_map(Expression::List)
    })
}

fn user_params(binary: bool) -> impl Strategy<Value = Vec<(String, Expression)>> {
    prop::collection::vec(("[a-z][a-z0-9-]{0,8}", expression(binary)), 0..3)
}

pub(crate) fn aid(binary: bool) -> impl Strategy<Value = AgentIdentifier> {
    let leaf = (
        word(),
        prop::collection::vec(text(), 0..3),
        user_params(binary),
    )
        .prop_map(|(name, addresses, user_params)| AgentIdentifier {
            name,
            addresses,
            resolvers: vec![],
            user_params,
        });
    leaf.prop_recursive(2, 6, 2, |inner| {
        (word(), prop::collection::vec(inner, 1..3)).prop_map(|(name, resolvers)| AgentIdentifier {
            name,
            resolvers,
            ..AgentIdentifier::default()
        })
    })
}

/// A message with any of the parameters; with `binary`, content and strings may be any bytes.
pub(crate) fn message_with(binary: bool) -> impl Strategy<Value = AclMessage> {
    let content = if binary {
        prop::collection::vec(any::<u8>(), 0..64).boxed()
    } else {
        text().prop_map(String::into_bytes).boxed()
    };
    let protocol = prop::option::of(text());
    let expressions = prop::collection::vec(prop::option::of(expression(binary)), 6);
    (
        prop::sample::select(Performative::ALL.to_vec()),
        prop::option::of(aid(binary)),
        prop::collection::vec(aid(binary), 0..3),
        prop::collection::vec(aid(binary), 0..2),
        prop::option::of(content),
        (protocol, expressions),
        prop::option::of(date_time()),
        user_params(binary),
    )
        .prop_map(
            |(
                performative,
                sender,
                receivers,
                reply_to,
                content,
                (protocol, expressions),
                reply_by,
                user,
            )| {
                let mut m = AclMessage::new(performative);
                m.sender = sender;
                m.receivers = receivers;
                m.reply_to = reply_to;
                m.content = content.map(Into::into);
                let mut expressions = expressions.into_iter();
                m.language = expressions.next().flatten();
                m.encoding = expressions.next().flatten();
                m.ontology = expressions.next().flatten();
                m.protocol = protocol;
                m.conversation_id = expressions.next().flatten();
                m.reply_with = expressions.next().flatten();
                m.in_reply_to = expressions.next().flatten();
                m.reply_by = reply_by;
                m.user_params = user;
                m
            },
        )
}

/// Any message, binary strings included.
pub(crate) fn message() -> impl Strategy<Value = AclMessage> {
    message_with(true)
}
