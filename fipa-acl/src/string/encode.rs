//! From an [`AclMessage`] to the string representation: keywords in lower case, user parameters with `X-`,
//! each value in a form that decodes back to the same bytes — a word where the value is one, else a quoted
//! string, else (a value ending in `\` or not UTF-8) a byte-length string.

use super::tree::{is_number, is_parameter_name, is_word};
use crate::error::Error;
use crate::message::{AclMessage, AgentIdentifier, Expression, ParameterValue};

/// Writes `value` as a string: quoted where that round-trips, byte-length encoded otherwise.
pub(crate) fn string(value: &[u8], out: &mut Vec<u8>) {
    let quotable = std::str::from_utf8(value).is_ok() && value.last() != Some(&b'\\');
    if quotable {
        out.push(b'"');
        for &b in value {
            if b == b'"' {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.push(b'#');
        out.extend_from_slice(value.len().to_string().as_bytes());
        out.push(b'"');
        out.extend_from_slice(value);
    }
}

/// Writes a textual value: as a word when it is one, else as a string.
fn text(value: &str, out: &mut Vec<u8>) {
    if is_word(value) {
        out.extend_from_slice(value.as_bytes());
    } else {
        string(value.as_bytes(), out);
    }
}

fn user_name(name: &str, field: &'static str) -> Result<(), Error> {
    if is_parameter_name(name) {
        Ok(())
    } else {
        Err(Error::Invalid {
            field,
            reason: format!("user parameter name {name:?} is empty or has a space or parenthesis"),
        })
    }
}

/// Refuses an expression the string representation cannot carry as it is: a word that is not one (a
/// `:`-prefixed word is allowed: SL keywords), a number that is not one.
fn check(e: &Expression) -> Result<(), Error> {
    match e {
        Expression::Word(w) if !(is_word(w) || w.starts_with(':')) => Err(Error::Invalid {
            field: "expression",
            reason: format!("{w:?} is not a word"),
        }),
        Expression::Number(n) if !is_number(n) => Err(Error::Invalid {
            field: "expression",
            reason: format!("{n:?} is not a number"),
        }),
        Expression::List(items) => items.iter().try_for_each(check),
        _ => Ok(()),
    }
}

/// Writes an expression; refused as [`check`] refuses.
pub(super) fn expression(e: &Expression, out: &mut Vec<u8>) -> Result<(), Error> {
    check(e)?;
    expression_lenient(e, out);
    Ok(())
}

/// Writes an expression, a word or number that is not one as a string.
pub(super) fn expression_lenient(e: &Expression, out: &mut Vec<u8>) {
    match e {
        Expression::Word(w) if is_word(w) || w.starts_with(':') => {
            out.extend_from_slice(w.as_bytes())
        }
        Expression::Number(n) if is_number(n) => out.extend_from_slice(n.as_bytes()),
        Expression::Word(w) | Expression::Number(w) => string(w.as_bytes(), out),
        Expression::String(s) => string(s, out),
        Expression::DateTime(t) => out.extend_from_slice(t.to_string().as_bytes()),
        Expression::List(items) => {
            out.push(b'(');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                expression_lenient(item, out);
            }
            out.push(b')');
        }
    }
}

fn agent_identifier(aid: &AgentIdentifier, out: &mut Vec<u8>) -> Result<(), Error> {
    out.extend_from_slice(b"(agent-identifier :name ");
    text(&aid.name, out);
    if !aid.addresses.is_empty() {
        out.extend_from_slice(b" :addresses (sequence");
        for a in &aid.addresses {
            out.push(b' ');
            text(a, out);
        }
        out.push(b')');
    }
    if !aid.resolvers.is_empty() {
        out.extend_from_slice(b" :resolvers (sequence");
        for r in &aid.resolvers {
            out.push(b' ');
            agent_identifier(r, out)?;
        }
        out.push(b')');
    }
    for (name, value) in &aid.user_params {
        user_name(name, "agent-identifier")?;
        out.extend_from_slice(b" :X-");
        out.extend_from_slice(name.as_bytes());
        out.push(b' ');
        expression(value, out)?;
    }
    out.push(b')');
    Ok(())
}

fn set(aids: &[AgentIdentifier], out: &mut Vec<u8>) -> Result<(), Error> {
    out.extend_from_slice(b"(set");
    for a in aids {
        out.push(b' ');
        agent_identifier(a, out)?;
    }
    out.push(b')');
    Ok(())
}

/// Appends the message to `out`.
pub(crate) fn encode(message: &AclMessage, out: &mut Vec<u8>) -> Result<(), Error> {
    let mut body = Vec::new();
    body.push(b'(');
    let Some(performative) = message.performative.performative() else {
        return Err(Error::Invalid {
            field: "performative",
            reason: format!(
                "the string representation has no user-defined message types ({})",
                message.performative
            ),
        });
    };
    body.extend_from_slice(performative.name().as_bytes());
    if let Some(sender) = &message.sender {
        body.extend_from_slice(b"\n :sender ");
        agent_identifier(sender, &mut body)?;
    }
    if !message.receivers.is_empty() {
        body.extend_from_slice(b"\n :receiver ");
        set(&message.receivers, &mut body)?;
    }
    if !message.reply_to.is_empty() {
        body.extend_from_slice(b"\n :reply-to ");
        set(&message.reply_to, &mut body)?;
    }
    if let Some(content) = &message.content {
        body.extend_from_slice(b"\n :content ");
        string(content, &mut body);
    }
    for (name, value) in message.expression_parameters() {
        let Some(value) = value else { continue };
        body.extend_from_slice(b"\n :");
        body.extend_from_slice(name.as_bytes());
        body.push(b' ');
        match value {
            ParameterValue::Expression(e) => expression(e, &mut body)?,
            ParameterValue::Text(t) => text(t, &mut body),
        }
    }
    if let Some(t) = &message.reply_by {
        body.extend_from_slice(b"\n :reply-by ");
        body.extend_from_slice(t.to_string().as_bytes());
    }
    for (name, value) in &message.user_params {
        user_name(name, "user parameter")?;
        body.extend_from_slice(b"\n :X-");
        body.extend_from_slice(name.as_bytes());
        body.push(b' ');
        expression(value, &mut body)?;
    }
    body.push(b')');
    out.extend_from_slice(&body);
    Ok(())
}
