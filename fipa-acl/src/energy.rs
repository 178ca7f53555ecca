//! The `idea-energy` ontology: the IDEA messages of `idea-proto` — transaction requests (calls for offers
//! and bids, UC-01), answers (acceptances, rejections and counter-offers, UC-02/UC-03), energy transactions
//! (the agreed contract terms), setpoints, measurements, power cells, services — as ACL content.
//!
//! Two forms, both SL0 content (`:language fipa-sl0 :ontology idea-energy`) so any SL0 reader can take them
//! apart:
//! - [`ContentForm::Sl0`]: the message as SL0 frames, `((idea-energy (transaction-request :proposal (…)
//!   :from-agent "ems@cell-7" :reply-by "2026-11-24T12:00:00Z")))`. The frames follow the message's JSON
//!   form field by field (keys with `-` for `_`, units in the names: `:energy-wh`, `:price-minor-per-kwh`).
//! - [`ContentForm::Protobuf`]: the protobuf type name and its bytes in a byte-length string,
//!   `((idea-energy "idea.v1.TransactionRequest" #212"…"))` — compact, and exactly the schema in
//!   `idea-proto/proto`.
//!
//! Reading validates like every `idea-proto` decoder: an offer whose terms break IDEA Table 2, for example, is
//! an error naming the field, not a value.
//!
//! ```
//! use fipa_acl::energy::{self, ContentForm};
//! use fipa_acl::{AclMessage, Performative};
//! use idea_proto::wire::AnyMessage;
//! let answer: AnyMessage = serde_json::from_str(r#"{"type": "idea.v1.TransactionAnswer", "message":
//!     {"transaction_id": "fdc0569dd45e505deb96f87277c5d9d9", "from_agent": "pv-3", "decision": "accept"}}"#)
//!     .unwrap();
//! let mut accept = AclMessage::new(Performative::AcceptProposal);
//! energy::write(&answer, ContentForm::Sl0, &mut accept);
//! assert_eq!(
//!     accept.content.as_deref(),
//!     Some(&br#"((idea-energy (transaction-answer :decision "accept" :from-agent "pv-3" :transaction-id "fdc0569dd45e505deb96f87277c5d9d9")))"#[..])
//! );
//! assert_eq!(energy::read(&accept)?, answer);
//! energy::write(&answer, ContentForm::Protobuf, &mut accept);
//! assert_eq!(energy::read(&accept)?, answer);
//! # Ok::<(), fipa_acl::Error>(())
//! ```

use crate::error::Error;
use crate::message::{AclMessage, Expression};
use crate::sl0::{Content, ContentElement, Formula, Term};
use idea_proto::wire::AnyMessage;
use serde_json::Value;

/// The ontology name, as `:ontology` carries it.
pub const ONTOLOGY: &str = "idea-energy";
/// The content language, as `:language` carries it.
pub const LANGUAGE: &str = "fipa-sl0";

/// How the message is written in the content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ContentForm {
    /// SL0 frames, readable by any SL0 agent.
    Sl0,
    /// Protobuf bytes in a byte-length string.
    Protobuf,
}

fn invalid(reason: impl Into<String>) -> Error {
    Error::Invalid {
        field: "content",
        reason: reason.into(),
    }
}

/// `idea.v1.TransactionRequest` → `transaction-request`.
fn concept_name(type_name: &str) -> String {
    let short = type_name.rsplit('.').next().unwrap_or(type_name);
    let mut out = String::with_capacity(short.len().saturating_add(4));
    for (i, c) in short.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn to_term(value: &Value, symbol: &str) -> Term {
    match value {
        Value::Object(map) => Term::Frame {
            symbol: symbol.to_owned(),
            params: map
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| {
                    let key = k.replace('_', "-");
                    let term = to_term(v, &key);
                    (key, term)
                })
                .collect(),
        },
        Value::Array(items) => Term::Sequence(items.iter().map(|v| to_term(v, symbol)).collect()),
        Value::String(s) => Term::String(s.as_bytes().to_vec()),
        Value::Number(n) => Term::Number(n.to_string()),
        Value::Bool(b) => Term::word(if *b { "true" } else { "false" }),
        Value::Null => Term::word("null"),
    }
}

/// The SL0 content of `message` in `form`.
pub fn to_content(message: &AnyMessage, form: ContentForm) -> Content {
    let args = match form {
        ContentForm::Sl0 => {
            // The JSON form is `{"type": "idea.v1.Type", "message": {fields}}`.
            let fields = match serde_json::to_value(message) {
                Ok(Value::Object(mut map)) => map.remove("message").unwrap_or(Value::Null),
                _ => Value::Null,
            };
            vec![to_term(&fields, &concept_name(message.type_name()))]
        }
        ContentForm::Protobuf => vec![
            Term::String(message.type_name().as_bytes().to_vec()),
            Term::String(message.encode_payload()),
        ],
    };
    Content::one(ContentElement::Formula(Formula::Predicate {
        symbol: ONTOLOGY.to_owned(),
        args,
    }))
}

/// The IDEA message in `content`, in either form, validated.
pub fn from_content(content: &Content) -> Result<AnyMessage, Error> {
    let [ContentElement::Formula(Formula::Predicate { symbol, args })] = &content.0[..] else {
        return Err(invalid("expected one (idea-energy …) proposition"));
    };
    if !symbol.eq_ignore_ascii_case(ONTOLOGY) {
        return Err(invalid(format!(
            "expected (idea-energy …), found ({symbol} …)"
        )));
    }
    let proto_error = |e: idea_proto::Error| invalid(e.to_string());
    match &args[..] {
        [Term::String(type_name), Term::String(bytes)] => {
            let type_name = std::str::from_utf8(type_name)
                .map_err(|_| invalid("the type name is not UTF-8"))?;
            AnyMessage::decode_payload(type_name, bytes).map_err(proto_error)
        }
        [frame] => {
            let concept = frame
                .symbol()
                .ok_or_else(|| invalid("expected a concept frame"))?;
            let type_name = AnyMessage::TYPE_NAMES
                .iter()
                .find(|t| concept_name(t).eq_ignore_ascii_case(concept))
                .ok_or_else(|| invalid(format!("{concept} is not an idea-energy concept")))?;
            serde::Deserialize::deserialize(crate::energy_de::Tagged { type_name, frame })
                .map_err(|e: crate::energy_de::DeError| invalid(e.to_string()))
        }
        _ => Err(invalid(
            "expected a concept frame, or a type name and protobuf bytes",
        )),
    }
}

/// Appends the SL0 text of `value` as [`to_term`] makes it and `Term::write` prints it, without building
/// the terms.
fn write_value(value: &Value, symbol: &str, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            out.push(b'(');
            out.extend_from_slice(symbol.as_bytes());
            for (k, v) in map.iter().filter(|(_, v)| !v.is_null()) {
                let key = k.replace('_', "-");
                out.extend_from_slice(b" :");
                out.extend_from_slice(key.as_bytes());
                out.push(b' ');
                write_value(v, &key, out);
            }
            out.push(b')');
        }
        Value::Array(items) => {
            out.extend_from_slice(b"(sequence");
            for item in items {
                out.push(b' ');
                write_value(item, symbol, out);
            }
            out.push(b')');
        }
        Value::String(text) => crate::string::write_string(text.as_bytes(), out),
        Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Null => out.extend_from_slice(b"null"),
    }
}

/// The bytes of [`to_content`]`(message, form)`; the SL0 form is written straight from the message's JSON.
fn content_bytes(message: &AnyMessage, form: ContentForm) -> Vec<u8> {
    if form != ContentForm::Sl0 {
        return to_content(message, form).to_bytes();
    }
    let fields = match serde_json::to_value(message) {
        Ok(Value::Object(mut map)) => map.remove("message").unwrap_or(Value::Null),
        _ => Value::Null,
    };
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(b"((");
    out.extend_from_slice(ONTOLOGY.as_bytes());
    out.push(b' ');
    write_value(&fields, &concept_name(message.type_name()), &mut out);
    out.extend_from_slice(b"))");
    out
}

/// Writes `message` as the content of `m` in `form`, with `:language fipa-sl0 :ontology idea-energy`.
pub fn write(message: &AnyMessage, form: ContentForm, m: &mut AclMessage) {
    m.content = Some(content_bytes(message, form).into());
    m.language = Some(LANGUAGE.into());
    m.ontology = Some(ONTOLOGY.into());
}

/// Reads the IDEA message in the content of `m`, which must name the `idea-energy` ontology.
pub fn read(m: &AclMessage) -> Result<AnyMessage, Error> {
    if !m
        .ontology
        .as_ref()
        .and_then(Expression::as_text)
        .is_some_and(|o| o.eq_ignore_ascii_case(ONTOLOGY))
    {
        return Err(invalid(format!(
            "the ontology is {}, not idea-energy",
            m.ontology
                .as_ref()
                .map_or_else(|| "missing".to_owned(), ToString::to_string)
        )));
    }
    let content = Content::parse(m.content.as_deref().unwrap_or_default())?;
    from_content(&content)
}
