//! Human and JSON views of a message, for `idea decode fipa` and logs.
//!
//! JSON keys: `performative`, `sender`, `receivers`, `reply_to`, `content` (and `content_hex` when the content is
//! not UTF-8), `language`, `encoding`, `ontology`, `protocol`, `conversation_id`, `reply_with`, `in_reply_to`,
//! `reply_by` (ISO 8601 for an absolute time; the FIPA token for a relative one) and `user_params` (an array
//! of `{"name", "value"}` in the message's order, repeated names kept). Expression values (`language`,
//! `encoding`, `ontology`, `conversation_id`, `reply_with`, `in_reply_to`, user parameters) are text: a string
//! as its characters, any other expression in the string representation. Agent identifiers are objects
//! with `name`, `addresses`, `resolvers` and `user_params`. Absent parameters are `null` (or empty lists).

use crate::datetime::DateTime;
use crate::message::{AclMessage, AgentIdentifier, Expression, ParameterValue};
use serde_json::{Value, json};

fn hex(bytes: &[u8]) -> String {
    idea_proto::hex::encode(bytes)
}

/// An absolute time in ISO 8601 (`Z` for UTC, no offset for local time); a relative one as its FIPA token.
pub fn iso8601(t: &DateTime) -> String {
    if t.sign.is_some() {
        return t.to_string();
    }
    let zone = match t.designator {
        Some('Z' | 'z') => "Z".to_owned(),
        Some(other) => format!(" ({other})"),
        None => String::new(),
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}{zone}",
        t.year, t.month, t.day, t.hour, t.minute, t.second, t.millisecond
    )
}

/// A string as its text (hex after `#` when not UTF-8), anything else in the string representation.
fn expression_text(e: &Expression) -> String {
    match e {
        Expression::String(s) => {
            String::from_utf8(s.clone()).unwrap_or_else(|_| format!("#{}", hex(s)))
        }
        other => other.to_string(),
    }
}

/// User-defined parameters in order, every value kept (a name may repeat).
fn user_params(params: &[(String, Expression)]) -> Value {
    Value::Array(
        params
            .iter()
            .map(|(name, value)| json!({"name": name, "value": expression_text(value)}))
            .collect(),
    )
}

fn aid(a: &AgentIdentifier) -> Value {
    json!({
        "name": a.name,
        "addresses": a.addresses,
        "resolvers": a.resolvers.iter().map(aid).collect::<Vec<_>>(),
        "user_params": user_params(&a.user_params),
    })
}

/// The message as JSON.
pub fn to_json(m: &AclMessage) -> Value {
    let (content, content_hex) = match &m.content {
        None => (Value::Null, None),
        Some(c) => match std::str::from_utf8(c) {
            Ok(text) => (Value::String(text.to_owned()), None),
            Err(_) => (Value::Null, Some(hex(c))),
        },
    };
    let mut v = json!({
        "performative": m.performative.name(),
        "sender": m.sender.as_ref().map(aid),
        "receivers": m.receivers.iter().map(aid).collect::<Vec<_>>(),
        "reply_to": m.reply_to.iter().map(aid).collect::<Vec<_>>(),
        "content": content,
        "language": m.language.as_ref().map(expression_text),
        "encoding": m.encoding.as_ref().map(expression_text),
        "ontology": m.ontology.as_ref().map(expression_text),
        "protocol": m.protocol,
        "conversation_id": m.conversation_id.as_ref().map(expression_text),
        "reply_with": m.reply_with.as_ref().map(expression_text),
        "in_reply_to": m.in_reply_to.as_ref().map(expression_text),
        "reply_by": m.reply_by.as_ref().map(iso8601),
        "user_params": user_params(&m.user_params),
    });
    if let (Some(h), Some(object)) = (content_hex, v.as_object_mut()) {
        object.insert("content_hex".into(), Value::String(h));
    }
    v
}

/// The message field by field, one per line.
pub fn to_text(m: &AclMessage) -> String {
    let mut lines = vec![format!("performative     {}", m.performative)];
    let name_of = |a: &AgentIdentifier| {
        if a.addresses.is_empty() {
            a.name.clone()
        } else {
            format!("{} <{}>", a.name, a.addresses.join(", "))
        }
    };
    if let Some(s) = &m.sender {
        lines.push(format!("sender           {}", name_of(s)));
    }
    for r in &m.receivers {
        lines.push(format!("receiver         {}", name_of(r)));
    }
    for r in &m.reply_to {
        lines.push(format!("reply-to         {}", name_of(r)));
    }
    for (name, value) in m.expression_parameters() {
        match value {
            Some(ParameterValue::Expression(e)) => {
                lines.push(format!("{name:<16} {}", expression_text(e)));
            }
            Some(ParameterValue::Text(t)) => lines.push(format!("{name:<16} {t}")),
            None => {}
        }
    }
    if let Some(t) = &m.reply_by {
        lines.push(format!("reply-by         {}", iso8601(t)));
    }
    for (name, value) in &m.user_params {
        lines.push(format!("X-{name:<14} {}", expression_text(value)));
    }
    if let Some(c) = &m.content {
        match std::str::from_utf8(c) {
            Ok(text) => lines.push(format!("content          {text}")),
            Err(_) => lines.push(format!("content (hex)    {}", hex(c))),
        }
    }
    lines.join("\n") + "\n"
}
