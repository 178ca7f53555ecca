//! From the expression tree to an [`AclMessage`].
//!
//! Policies (SC00070 leaves them open):
//! - A standard parameter given twice is an error at the second occurrence: two `:content`s or two
//!   `:conversation-id`s make the message ambiguous. A user parameter may repeat; all occurrences are kept.
//! - A parameter that is neither standard nor prefixed `X-` is kept as a user parameter (as JADE does), and is
//!   written back with the `X-` prefix.
//! - Keywords (performatives, parameter names, `agent-identifier`, `set`, `sequence`) ignore case; values keep
//!   theirs.

use super::Limits;
use super::tree::{Kind, Node, Parser};
use crate::datetime::DateTime;
use crate::error::Error;
use crate::message::{AclMessage, AgentIdentifier};
use crate::performative::Performative;
use bytes::Bytes;
use std::borrow::Cow;

/// `slice` as a slice of `source` when it lies within it (no copy), else a copy.
pub(crate) fn shared(source: Option<&Bytes>, slice: &[u8]) -> Bytes {
    match source {
        Some(buffer) if !slice.is_empty() => {
            let outer = buffer.as_ptr_range();
            let inner = slice.as_ptr_range();
            if outer.start <= inner.start && inner.end <= outer.end {
                buffer.slice_ref(slice)
            } else {
                Bytes::copy_from_slice(slice)
            }
        }
        _ => Bytes::copy_from_slice(slice),
    }
}

fn error(at: usize, field: &'static str, reason: impl Into<String>) -> Error {
    Error::Decode {
        offset: at,
        field,
        reason: reason.into(),
    }
}

/// Decodes one message from the start of `input` (leading white space skipped); returns it and the bytes used.
///
/// The message and its agent identifiers are walked in place (keywords are compared where they lie, never
/// copied); only values the message keeps are allocated.
///
/// With `source` (the buffer `input` is), a content written as a byte-length string, or as a quoted string
/// without escapes, is a slice of `source`: not copied.
pub(crate) fn decode(
    input: &[u8],
    limits: &Limits,
    source: Option<&Bytes>,
) -> Result<(AclMessage, usize), Error> {
    if input.len() > limits.max_size {
        return Err(Error::Limit {
            offset: limits.max_size,
            what: "message size",
        });
    }
    let mut parser = Parser::new(input, limits);
    let root_at = parser.open(0, "message", "'(' performative parameters ')'")?;
    if parser.close(root_at)? {
        return Err(error(root_at, "performative", "empty message"));
    }
    let performative = match parser.bare() {
        Some((at, name)) => std::str::from_utf8(name)
            .ok()
            .and_then(Performative::from_name)
            .ok_or_else(|| {
                error(
                    at,
                    "performative",
                    format!("unknown performative {:?}", String::from_utf8_lossy(name)),
                )
            })?,
        None => {
            let at = parser.position();
            return Err(error(at, "performative", "expected a word"));
        }
    };
    let mut message = AclMessage::new(performative);
    // The standard parameters seen so far, one bit each (see `STANDARD`).
    let mut seen: u16 = 0;
    while !parser.close(root_at)? {
        let Some((key_at, key)) = parser.bare() else {
            let at = parser.position();
            return Err(error(at, "parameter", "expected a :parameter name"));
        };
        let key = std::str::from_utf8(key).map_err(|_| error(key_at, "parameter", "not UTF-8"))?;
        let Some(name) = key.strip_prefix(':') else {
            return Err(error(
                key_at,
                "parameter",
                format!("{key:?} does not start with ':'"),
            ));
        };
        if parser.close(root_at)? {
            return Err(error(key_at, "parameter", format!(":{name} has no value")));
        }
        let Some((index, field)) = standard(name) else {
            let user = strip_x(name);
            if user.is_empty() {
                return Err(error(key_at, "parameter", "empty user parameter name"));
            }
            let value = parser.node(1)?;
            message
                .user_params
                .push((user.to_owned(), value.into_expression()));
            continue;
        };
        let bit = 1u16
            .checked_shl(u32::try_from(index).unwrap_or(u32::MAX))
            .unwrap_or(0);
        if seen & bit != 0 {
            return Err(error(key_at, field, "given twice"));
        }
        seen |= bit;
        match field {
            "sender" => message.sender = Some(agent_identifier(&mut parser, 1)?),
            "receiver" => message.receivers = agent_identifiers(&mut parser, 1, "set", "receiver")?,
            "reply-to" => message.reply_to = agent_identifiers(&mut parser, 1, "set", "reply-to")?,
            "content" => {
                message.content = Some(match parser.string_slice()? {
                    Some(Cow::Borrowed(slice)) => shared(source, slice),
                    Some(Cow::Owned(value)) => Bytes::from(value),
                    None => Bytes::from(string(parser.node(1)?, "content")?),
                })
            }
            "reply-by" => {
                let value = parser.node(1)?;
                message.reply_by = Some(match &value.kind {
                    Kind::DateTime(t) => *t,
                    Kind::String(s) => DateTime::parse(s, value.at)?,
                    _ => return Err(error(value.at, "reply-by", "expected a date-time")),
                })
            }
            "protocol" => message.protocol = Some(text(parser.node(1)?, field)?),
            _ => {
                // An Expression (SC00070 `MessageParameter`): kept as written.
                let value = Some(parser.node(1)?.into_expression());
                match field {
                    "language" => message.language = value,
                    "encoding" => message.encoding = value,
                    "ontology" => message.ontology = value,
                    "conversation-id" => message.conversation_id = value,
                    "reply-with" => message.reply_with = value,
                    _ => message.in_reply_to = value,
                }
            }
        }
    }
    Ok((message, parser.position()))
}

/// The standard parameters of SC00061.
const STANDARD: [&str; 12] = [
    "sender",
    "receiver",
    "reply-to",
    "content",
    "reply-by",
    "language",
    "encoding",
    "ontology",
    "protocol",
    "conversation-id",
    "reply-with",
    "in-reply-to",
];

/// The standard parameter `name` (any case): its index in [`STANDARD`] and its static name.
fn standard(name: &str) -> Option<(usize, &'static str)> {
    STANDARD
        .into_iter()
        .enumerate()
        .find(|(_, s)| s.eq_ignore_ascii_case(name))
}

fn strip_x(name: &str) -> &str {
    match name.get(..2) {
        Some(p) if p.eq_ignore_ascii_case("x-") => name.get(2..).unwrap_or(name),
        _ => name,
    }
}

/// A string value; a word is accepted too (JADE writes some as words).
fn string(node: Node, field: &'static str) -> Result<Vec<u8>, Error> {
    match node.kind {
        Kind::String(s) => Ok(s),
        Kind::Word(w) | Kind::Number(w) => Ok(w.into_bytes()),
        _ => Err(error(node.at, field, "expected a string")),
    }
}

/// A textual value: a word, a number, or a UTF-8 string.
fn text(node: Node, field: &'static str) -> Result<String, Error> {
    match node.kind {
        Kind::String(s) => String::from_utf8(s).map_err(|_| error(node.at, field, "not UTF-8")),
        Kind::Word(w) | Kind::Number(w) => Ok(w),
        Kind::DateTime(t) => Ok(t.to_string()),
        Kind::List(_) => Err(error(
            node.at,
            field,
            "expected a word or a string, not a list",
        )),
    }
}

/// Opens `(keyword …` at nesting `depth`; returns the list's offset. `expected` describes the whole form
/// for the error.
fn open_tagged(
    parser: &mut Parser<'_>,
    depth: usize,
    tag: &str,
    field: &'static str,
    expected: &str,
) -> Result<usize, Error> {
    let at = parser.open(depth, field, expected)?;
    match parser.bare() {
        Some((_, word)) if word.eq_ignore_ascii_case(tag.as_bytes()) => Ok(at),
        _ => Err(error(at, field, format!("expected {expected}"))),
    }
}

/// `(set AID…)` or `(sequence AID…)`, the list at nesting `depth`.
fn agent_identifiers(
    parser: &mut Parser<'_>,
    depth: usize,
    collection: &str,
    field: &'static str,
) -> Result<Vec<AgentIdentifier>, Error> {
    let expected = if collection == "set" {
        "(set agent-identifier…)"
    } else {
        "(sequence agent-identifier…)"
    };
    let at = open_tagged(parser, depth, collection, field, expected)?;
    let mut aids = Vec::new();
    while !parser.close(at)? {
        aids.push(agent_identifier(parser, depth.saturating_add(1))?);
    }
    Ok(aids)
}

/// `(agent-identifier :name word [:addresses (sequence url…)] [:resolvers (sequence aid…)] [:X-… expr]…)`
/// at nesting `depth`.
fn agent_identifier(parser: &mut Parser<'_>, depth: usize) -> Result<AgentIdentifier, Error> {
    let at = open_tagged(
        parser,
        depth,
        "agent-identifier",
        "agent-identifier",
        "(agent-identifier :name …)",
    )?;
    let inner = depth.saturating_add(1);
    let mut aid = AgentIdentifier::default();
    let mut name = None;
    while !parser.close(at)? {
        let Some((key_at, k)) = parser.bare() else {
            let at = parser.position();
            return Err(error(at, "agent-identifier", "expected a :parameter name"));
        };
        let k =
            std::str::from_utf8(k).map_err(|_| error(key_at, "agent-identifier", "not UTF-8"))?;
        if parser.close(at)? {
            return Err(error(
                key_at,
                "agent-identifier",
                format!("{k} has no value"),
            ));
        }
        let Some(bare) = k.strip_prefix(':') else {
            return Err(error(
                key_at,
                "agent-identifier",
                format!("{k} does not start with ':'"),
            ));
        };
        if bare.eq_ignore_ascii_case("name") {
            name = Some(text(parser.node(inner)?, "agent-identifier :name")?);
        } else if bare.eq_ignore_ascii_case("addresses") {
            let list = open_tagged(
                parser,
                inner,
                "sequence",
                "agent-identifier :addresses",
                "(sequence url…)",
            )?;
            while !parser.close(list)? {
                let url = parser.node(inner.saturating_add(1))?;
                aid.addresses
                    .push(text(url, "agent-identifier :addresses")?);
            }
        } else if bare.eq_ignore_ascii_case("resolvers") {
            aid.resolvers =
                agent_identifiers(parser, inner, "sequence", "agent-identifier :resolvers")?;
        } else {
            let user = strip_x(bare);
            if user.is_empty() {
                return Err(error(
                    key_at,
                    "agent-identifier",
                    "empty user parameter name",
                ));
            }
            let value = parser.node(inner)?;
            aid.user_params
                .push((user.to_owned(), value.into_expression()));
        }
    }
    aid.name = name.ok_or_else(|| error(at, "agent-identifier", "no :name"))?;
    Ok(aid)
}
