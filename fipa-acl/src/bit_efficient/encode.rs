//! From an [`AclMessage`] to the bit-efficient representation (SC00069, `0xFA` form).

use super::{END, LEVEL_DOWN, LEVEL_UP, VERSION, WITHOUT_CODE_TABLES};
use crate::datetime::DateTime;
use crate::error::Error;
use crate::message::{AclMessage, AgentIdentifier, Expression};
use crate::performative::MessageType;
use crate::string::{is_number, is_parameter_name, is_word};

fn invalid(field: &'static str, reason: String) -> Error {
    Error::Invalid { field, reason }
}

/// `BinWord`: `0x10`, the word, `0x00`.
fn word(w: &str, field: &'static str, out: &mut Vec<u8>) -> Result<(), Error> {
    if !is_word(w) {
        return Err(invalid(field, format!("{w:?} is not a word")));
    }
    out.push(0x10);
    out.extend_from_slice(w.as_bytes());
    out.push(0x00);
    Ok(())
}

/// A parameter name as a `BinWord`: names follow SC00070's looser rule (no space, control character or
/// parenthesis), so that every name the string representation carries converts.
fn name(n: &str, field: &'static str, out: &mut Vec<u8>) -> Result<(), Error> {
    if !is_parameter_name(n) {
        return Err(invalid(field, format!("{n:?} is not a parameter name")));
    }
    out.push(0x10);
    out.extend_from_slice(n.as_bytes());
    out.push(0x00);
    Ok(())
}

/// A byte-length string, in the shortest of `0x16` (one length byte), `0x17` (two) and `0x19` (four).
fn string(bytes: &[u8], field: &'static str, out: &mut Vec<u8>) -> Result<(), Error> {
    let n = bytes.len();
    if let Ok(n) = u8::try_from(n) {
        out.push(0x16);
        out.push(n);
    } else if let Ok(n) = u16::try_from(n) {
        out.push(0x17);
        out.extend_from_slice(&n.to_be_bytes());
    } else if let Ok(n) = u32::try_from(n) {
        out.push(0x19);
        out.extend_from_slice(&n.to_be_bytes());
    } else {
        return Err(invalid(
            field,
            format!("{n} bytes do not fit a 32-bit length"),
        ));
    }
    out.extend_from_slice(bytes);
    Ok(())
}

/// A textual parameter: a word where it is one, else a byte-length string.
fn text(value: &str, field: &'static str, out: &mut Vec<u8>) -> Result<(), Error> {
    if is_word(value) {
        word(value, field, out)
    } else {
        string(value.as_bytes(), field, out)
    }
}

/// The coded nibble of one character of a decimal number.
fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c.saturating_sub(b'0').saturating_add(1)),
        b'+' => Some(0x0c),
        // Only `E`: the coded form has one exponent nibble, and a lower-case `e` would come back upper case.
        b'E' => Some(0x0d),
        b'-' => Some(0x0e),
        b'.' => Some(0x0f),
        _ => None,
    }
}

/// Coded decimal digits, two to a byte, ended by a zero nibble (a whole zero byte when the count is even).
fn digits(text: &str, field: &'static str, out: &mut Vec<u8>) -> Result<(), Error> {
    let codes: Option<Vec<u8>> = text.bytes().map(nibble).collect();
    let Some(mut codes) = codes.filter(|_| is_number(text)) else {
        return Err(invalid(
            field,
            format!(
                "{text:?} is not a decimal number (hexadecimal numbers have no coded form here)"
            ),
        ));
    };
    codes.push(0);
    if codes.len() % 2 == 1 {
        codes.push(0);
    }
    for pair in codes.chunks_exact(2) {
        if let [high, low] = pair {
            out.push((high << 4) | low);
        }
    }
    Ok(())
}

/// `n` as `width` coded decimal digits followed by padding to whole bytes.
fn coded_field(n: u16, width: usize, bytes: usize, out: &mut Vec<u8>) {
    let text = format!("{n:0width$}");
    let mut codes: Vec<u8> = text.bytes().filter_map(nibble).collect();
    codes.resize(bytes.saturating_mul(2), 0);
    for pair in codes.chunks_exact(2) {
        if let [high, low] = pair {
            out.push((high << 4) | low);
        }
    }
}

/// `BinDateTimeToken`: type byte (`0x20` absolute, `0x21` relative later, `0x22` relative earlier, plus `0x04`
/// when a type designator follows), nine bytes of coded digits, the designator.
fn date_time(t: &DateTime, field: &'static str, out: &mut Vec<u8>) -> Result<(), Error> {
    let mut kind = match t.sign {
        None => 0x20u8,
        Some('+') => 0x21,
        Some('-') => 0x22,
        Some(other) => return Err(invalid(field, format!("{other:?} is not a date-time sign"))),
    };
    let designator = match t.designator {
        None => None,
        Some(d) if d.is_ascii_alphabetic() => u8::try_from(d).ok(),
        Some(d) => return Err(invalid(field, format!("{d:?} is not a type designator"))),
    };
    if designator.is_some() {
        kind |= 0x04;
    }
    out.push(kind);
    coded_field(t.year, 4, 2, out);
    for part in [t.month, t.day, t.hour, t.minute, t.second] {
        coded_field(u16::from(part), 2, 1, out);
    }
    coded_field(t.millisecond, 3, 2, out);
    out.extend(designator);
    Ok(())
}

fn expression(e: &Expression, field: &'static str, out: &mut Vec<u8>) -> Result<(), Error> {
    match e {
        Expression::Word(w) => word(w, field, out),
        Expression::String(s) => string(s, field, out),
        Expression::Number(n) => {
            out.push(0x12);
            digits(n, field, out)
        }
        Expression::DateTime(t) => date_time(t, field, out),
        Expression::List(items) => {
            out.push(LEVEL_DOWN);
            for item in items {
                expression(item, field, out)?;
            }
            out.push(LEVEL_UP);
            Ok(())
        }
    }
}

/// `AgentIdentifier`: `0x02`, the name, then addresses (`0x02`), resolvers (`0x03`) and user parameters
/// (`0x04`), then `0x01`. SC00069 has names and URLs as `BinWord`s; one that is not a word (the string
/// representation allows a string there) is written as a byte-length string, which this decoder accepts.
fn agent_identifier(aid: &AgentIdentifier, out: &mut Vec<u8>) -> Result<(), Error> {
    out.push(0x02);
    text(&aid.name, "agent-identifier :name", out)?;
    if !aid.addresses.is_empty() {
        out.push(0x02);
        for url in &aid.addresses {
            text(url, "agent-identifier :addresses", out)?;
        }
        out.push(END);
    }
    if !aid.resolvers.is_empty() {
        out.push(0x03);
        agent_identifiers(&aid.resolvers, out)?;
    }
    for (name, value) in &aid.user_params {
        out.push(0x04);
        self::name(name, "agent-identifier user parameter", out)?;
        expression(value, "agent-identifier user parameter", out)?;
    }
    out.push(END);
    Ok(())
}

fn agent_identifiers(aids: &[AgentIdentifier], out: &mut Vec<u8>) -> Result<(), Error> {
    for aid in aids {
        agent_identifier(aid, out)?;
    }
    out.push(END);
    Ok(())
}

/// Appends the message to `out`.
pub(crate) fn encode(m: &AclMessage, out: &mut Vec<u8>) -> Result<(), Error> {
    out.push(WITHOUT_CODE_TABLES);
    out.push(VERSION);
    match &m.performative {
        MessageType::Performative(p) => out.push(p.code()),
        MessageType::UserDefined(name) => {
            out.push(0x00);
            word(name, "message type", out)?;
        }
    }
    if let Some(sender) = &m.sender {
        out.push(0x02);
        agent_identifier(sender, out)?;
    }
    if !m.receivers.is_empty() {
        out.push(0x03);
        agent_identifiers(&m.receivers, out)?;
    }
    if let Some(content) = &m.content {
        out.push(0x04);
        string(content, "content", out)?;
    }
    if let Some(v) = &m.reply_with {
        out.push(0x05);
        expression(v, "reply-with", out)?;
    }
    if let Some(t) = &m.reply_by {
        out.push(0x06);
        date_time(t, "reply-by", out)?;
    }
    if let Some(v) = &m.in_reply_to {
        out.push(0x07);
        expression(v, "in-reply-to", out)?;
    }
    if !m.reply_to.is_empty() {
        out.push(0x08);
        agent_identifiers(&m.reply_to, out)?;
    }
    let expressions = [
        (0x09, "language", &m.language),
        (0x0a, "encoding", &m.encoding),
        (0x0b, "ontology", &m.ontology),
    ];
    for (code, field, value) in expressions {
        if let Some(v) = value {
            out.push(code);
            expression(v, field, out)?;
        }
    }
    if let Some(v) = &m.protocol {
        out.push(0x0c);
        text(v, "protocol", out)?;
    }
    if let Some(v) = &m.conversation_id {
        out.push(0x0d);
        expression(v, "conversation-id", out)?;
    }
    for (name, value) in &m.user_params {
        out.push(0x00);
        self::name(name, "user parameter", out)?;
        expression(value, "user parameter", out)?;
    }
    out.push(END);
    Ok(())
}
