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

fn error(at: usize, field: &'static str, reason: impl Into<String>) -> Error {
    Error::Decode {
        offset: at,
        field,
        reason: reason.into(),
    }
}

/// Decodes one message from the start of `input` (leading white space skipped); returns it and the bytes used.
pub(crate) fn decode(input: &[u8], limits: &Limits) -> Result<(AclMessage, usize), Error> {
    if input.len() > limits.max_size {
        return Err(Error::Limit {
            offset: limits.max_size,
            what: "message size",
        });
    }
    let mut parser = Parser::new(input, limits);
    let Node { at: root_at, kind } = parser.node(0)?;
    let Kind::List(items) = kind else {
        return Err(error(
            root_at,
            "message",
            "expected '(' performative parameters ')'",
        ));
    };
    let mut items = items.into_iter();
    let first = items
        .next()
        .ok_or_else(|| error(root_at, "performative", "empty message"))?;
    let performative = match &first.kind {
        Kind::Word(w) => Performative::from_name(w).ok_or_else(|| {
            error(
                first.at,
                "performative",
                format!("unknown performative {w:?}"),
            )
        })?,
        _ => return Err(error(first.at, "performative", "expected a word")),
    };
    let mut message = AclMessage::new(performative);
    let mut seen: Vec<&'static str> = Vec::new();
    while let Some(key) = items.next() {
        let Kind::Word(name) = &key.kind else {
            return Err(error(key.at, "parameter", "expected a :parameter name"));
        };
        let Some(name) = name.strip_prefix(':') else {
            return Err(error(
                key.at,
                "parameter",
                format!("{name:?} does not start with ':'"),
            ));
        };
        let value = items
            .next()
            .ok_or_else(|| error(key.at, "parameter", format!(":{name} has no value")))?;
        let Some(field) = standard(name) else {
            let user = strip_x(name);
            if user.is_empty() {
                return Err(error(key.at, "parameter", "empty user parameter name"));
            }
            message
                .user_params
                .push((user.to_owned(), value.into_expression()));
            continue;
        };
        if seen.contains(&field) {
            return Err(error(key.at, field, "given twice"));
        }
        seen.push(field);
        match field {
            "sender" => message.sender = Some(agent_identifier(value)?),
            "receiver" => message.receivers = agent_identifiers(value, "set", "receiver")?,
            "reply-to" => message.reply_to = agent_identifiers(value, "set", "reply-to")?,
            "content" => message.content = Some(string(value, "content")?),
            "reply-by" => {
                message.reply_by = Some(match &value.kind {
                    Kind::DateTime(t) => *t,
                    Kind::String(s) => DateTime::parse(s, value.at)?,
                    _ => return Err(error(value.at, "reply-by", "expected a date-time")),
                })
            }
            "language" => message.language = Some(text(value, field)?),
            "encoding" => message.encoding = Some(text(value, field)?),
            "ontology" => message.ontology = Some(text(value, field)?),
            "protocol" => message.protocol = Some(text(value, field)?),
            "conversation-id" => message.conversation_id = Some(text(value, field)?),
            "reply-with" => message.reply_with = Some(text(value, field)?),
            _ => message.in_reply_to = Some(text(value, field)?),
        }
    }
    Ok((message, parser.position()))
}

/// The standard parameter `name` (any case), as a static name.
fn standard(name: &str) -> Option<&'static str> {
    [
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
    ]
    .into_iter()
    .find(|s| s.eq_ignore_ascii_case(name))
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

fn keyword(node: Option<&Node>, expected: &str) -> bool {
    matches!(node.map(|n| &n.kind), Some(Kind::Word(w)) if w.eq_ignore_ascii_case(expected))
}

/// The items of `(keyword item…)` after the keyword, or `None` when `node` is not such a list.
fn tagged(node: Node, tag: &str) -> Result<std::vec::IntoIter<Node>, usize> {
    match node.kind {
        Kind::List(items) if keyword(items.first(), tag) => {
            let mut items = items.into_iter();
            items.next();
            Ok(items)
        }
        _ => Err(node.at),
    }
}

/// `(set AID…)` or `(sequence AID…)`.
fn agent_identifiers(
    node: Node,
    collection: &str,
    field: &'static str,
) -> Result<Vec<AgentIdentifier>, Error> {
    tagged(node, collection)
        .map_err(|at| {
            error(
                at,
                field,
                format!("expected ({collection} agent-identifier…)"),
            )
        })?
        .map(agent_identifier)
        .collect()
}

/// `(agent-identifier :name word [:addresses (sequence url…)] [:resolvers (sequence aid…)] [:X-… expr]…)`.
fn agent_identifier(node: Node) -> Result<AgentIdentifier, Error> {
    let at = node.at;
    let mut rest = tagged(node, "agent-identifier").map_err(|at| {
        error(
            at,
            "agent-identifier",
            "expected (agent-identifier :name …)",
        )
    })?;
    let mut aid = AgentIdentifier::default();
    let mut name = None;
    while let Some(key) = rest.next() {
        let Kind::Word(k) = key.kind else {
            return Err(error(
                key.at,
                "agent-identifier",
                "expected a :parameter name",
            ));
        };
        let value = rest
            .next()
            .ok_or_else(|| error(key.at, "agent-identifier", format!("{k} has no value")))?;
        let Some(bare) = k.strip_prefix(':') else {
            return Err(error(
                key.at,
                "agent-identifier",
                format!("{k} does not start with ':'"),
            ));
        };
        if bare.eq_ignore_ascii_case("name") {
            name = Some(text(value, "agent-identifier :name")?);
        } else if bare.eq_ignore_ascii_case("addresses") {
            aid.addresses = tagged(value, "sequence")
                .map_err(|at| {
                    error(
                        at,
                        "agent-identifier :addresses",
                        "expected (sequence url…)",
                    )
                })?
                .map(|u| text(u, "agent-identifier :addresses"))
                .collect::<Result<_, _>>()?;
        } else if bare.eq_ignore_ascii_case("resolvers") {
            aid.resolvers = agent_identifiers(value, "sequence", "agent-identifier :resolvers")?;
        } else {
            let user = strip_x(bare);
            if user.is_empty() {
                return Err(error(
                    key.at,
                    "agent-identifier",
                    "empty user parameter name",
                ));
            }
            aid.user_params
                .push((user.to_owned(), value.into_expression()));
        }
    }
    aid.name = name.ok_or_else(|| error(at, "agent-identifier", "no :name"))?;
    Ok(aid)
}
