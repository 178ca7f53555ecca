//! Decoding the bit-efficient representation (FIPA SC00069): the `0xFA` form (no code tables) with predefined
//! and user-defined message types and parameters, words, strings (literal `0x14` and byte-length `0x16`,
//! `0x17`, `0x19`), numbers in coded nibbles, binary date-times (`0x20`–`0x22`, `0x24`–`0x26`) and nested
//! expressions (level down `0x60`, level up `0x40`).
//!
//! Not supported: the code-table forms (`0xFB`, `0xFC` and the index tokens); they are refused with the offset.

use crate::datetime::DateTime;
use crate::error::Error;
use crate::message::{AclMessage, AgentIdentifier, Expression};
use crate::performative::{MessageType, Performative};
use crate::string::Limits;

use super::{END, LEVEL_DOWN, LEVEL_UP, WITHOUT_CODE_TABLES};
use bytes::Bytes;
use std::borrow::Cow;

struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
    limits: &'a Limits,
}

impl<'a> Reader<'a> {
    fn error(&self, field: &'static str, reason: impl Into<String>) -> Error {
        Error::Decode {
            offset: self.pos,
            field,
            reason: reason.into(),
        }
    }

    fn byte(&mut self, field: &'static str) -> Result<u8, Error> {
        let b = self
            .input
            .get(self.pos)
            .copied()
            .ok_or_else(|| self.error(field, "input ends"))?;
        self.pos = self.pos.saturating_add(1);
        Ok(b)
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], Error> {
        let end = self.pos.saturating_add(n);
        let bytes = self.input.get(self.pos..end).ok_or_else(|| {
            self.error(
                field,
                format!(
                    "needs {n} bytes, {} remain",
                    self.input.len().saturating_sub(self.pos)
                ),
            )
        })?;
        self.pos = end;
        Ok(bytes)
    }

    /// Bytes up to (not including) a NUL terminator, which is consumed.
    fn terminated(&mut self, field: &'static str) -> Result<&'a [u8], Error> {
        let rest = self.input.get(self.pos..).unwrap_or_default();
        let len = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| self.error(field, "no terminating NUL"))?;
        let bytes = rest.get(..len).unwrap_or_default();
        self.pos = self.pos.saturating_add(len).saturating_add(1);
        Ok(bytes)
    }

    fn utf8(&self, bytes: &[u8], field: &'static str) -> Result<String, Error> {
        String::from_utf8(bytes.to_vec()).map_err(|_| self.error(field, "not UTF-8"))
    }

    /// `BinWord = 0x10 Word 0x00`.
    fn word(&mut self, field: &'static str) -> Result<String, Error> {
        let tag = self.byte(field)?;
        self.word_after(tag, field)
    }

    /// A parameter name: a `BinWord` holding anything the string representation accepts after `:X-`.
    fn name(&mut self, field: &'static str) -> Result<String, Error> {
        let tag = self.byte(field)?;
        if tag != 0x10 {
            return Err(self.error(field, format!("expected a word (0x10), found 0x{tag:02x}")));
        }
        let at = self.pos;
        let bytes = self.terminated(field)?;
        let name = self.utf8(bytes, field)?;
        if !crate::string::is_parameter_name(&name) {
            return Err(Error::Decode {
                offset: at,
                field,
                reason: format!("{name:?} is not a parameter name"),
            });
        }
        Ok(name)
    }

    /// A word, after its tag.
    fn word_after(&mut self, tag: u8, field: &'static str) -> Result<String, Error> {
        match tag {
            0x10 => {
                let at = self.pos;
                let bytes = self.terminated(field)?;
                let word = self.utf8(bytes, field)?;
                if !crate::string::is_word(&word) {
                    return Err(Error::Decode {
                        offset: at,
                        field,
                        reason: format!("{word:?} is not a word (SC00070)"),
                    });
                }
                Ok(word)
            }
            0x11 => Err(self.error(
                field,
                "code-table index (0x11): code tables are not supported",
            )),
            other => Err(self.error(
                field,
                format!("expected a word (0x10), found 0x{other:02x}"),
            )),
        }
    }

    /// The string forms, after their tag.
    fn string_after(&mut self, tag: u8, field: &'static str) -> Result<Vec<u8>, Error> {
        self.string_slice_after(tag, field).map(Cow::into_owned)
    }

    /// The string forms, after their tag: borrowed from the input except a literal with `\"` escapes.
    fn string_slice_after(&mut self, tag: u8, field: &'static str) -> Result<Cow<'a, [u8]>, Error> {
        let bytes = match tag {
            0x14 => {
                let literal = self.terminated(field)?;
                // The payload is a string-representation literal: quotes included, `\"` escaped.
                match literal
                    .strip_prefix(b"\"")
                    .and_then(|l| l.strip_suffix(b"\""))
                {
                    Some(inner) if inner.windows(2).any(|w| w == b"\\\"") => {
                        Cow::Owned(unescape(inner))
                    }
                    Some(inner) => Cow::Borrowed(inner),
                    None => Cow::Borrowed(literal),
                }
            }
            0x16 => {
                let n = self.byte(field)?;
                Cow::Borrowed(self.take(usize::from(n), field)?)
            }
            0x17 => {
                let n = self.take(2, field)?;
                let n = u16::from_be_bytes([
                    n.first().copied().unwrap_or(0),
                    n.get(1).copied().unwrap_or(0),
                ]);
                Cow::Borrowed(self.take(usize::from(n), field)?)
            }
            0x19 => {
                let n = self.take(4, field)?;
                let mut be = [0u8; 4];
                be.copy_from_slice(n);
                let n = usize::try_from(u32::from_be_bytes(be)).unwrap_or(usize::MAX);
                if n > self.limits.max_size {
                    return Err(Error::Limit {
                        offset: self.pos,
                        what: "byte sequence longer than the size limit",
                    });
                }
                Cow::Borrowed(self.take(n, field)?)
            }
            0x15 | 0x18 => {
                return Err(self.error(field, "code-table index: code tables are not supported"));
            }
            other => {
                return Err(self.error(field, format!("expected a string, found 0x{other:02x}")));
            }
        };
        Ok(bytes)
    }

    /// `Digits`: coded nibbles (0 padding, 1–10 the digits 0–9, 0xC `+`, 0xD `E`, 0xE `-`, 0xF `.`) until a
    /// padding nibble.
    fn digits(&mut self, field: &'static str) -> Result<String, Error> {
        let mut text = String::new();
        loop {
            let b = self.byte(field)?;
            for nibble in [b >> 4, b & 0x0f] {
                let c = match nibble {
                    0 if crate::string::is_number(&text) => return Ok(text),
                    0 => return Err(self.error(field, format!("{text:?} is not a number"))),
                    1..=10 => char::from(b'0'.saturating_add(nibble.saturating_sub(1))),
                    0x0c => '+',
                    0x0d => 'E',
                    0x0e => '-',
                    0x0f => '.',
                    _ => {
                        return Err(
                            self.error(field, format!("nibble 0x{nibble:x} is not a coded digit"))
                        );
                    }
                };
                text.push(c);
            }
        }
    }

    /// `BinExpression`: a word, a string, a number, a date-time, `0xFF` and a string, or a nested expression
    /// (`0x60`, its items, `0x40`). `depth` counts enclosing lists, bounded by [`Limits::max_depth`].
    fn expression(&mut self, field: &'static str, depth: usize) -> Result<Expression, Error> {
        let tag = self.byte(field)?;
        match tag {
            0x10 | 0x11 => self.word_after(tag, field).map(Expression::Word),
            0x12 | 0x13 => self.digits(field).map(Expression::Number),
            0x14..=0x19 => self.string_after(tag, field).map(Expression::String),
            0x20..=0x22 | 0x24..=0x26 => {
                self.pos = self.pos.saturating_sub(1);
                self.date_time(field).map(Expression::DateTime)
            }
            0xff => {
                let tag = self.byte(field)?;
                self.string_after(tag, field).map(Expression::String)
            }
            LEVEL_DOWN => {
                let depth = depth.saturating_add(1);
                if depth >= self.limits.max_depth {
                    return Err(Error::Limit {
                        offset: self.pos,
                        what: "nesting depth",
                    });
                }
                let mut items = Vec::new();
                while self.peek() != Some(LEVEL_UP) {
                    items.push(self.expression(field, depth)?);
                }
                self.pos = self.pos.saturating_add(1);
                Ok(Expression::List(items))
            }
            other => Err(self.error(field, format!("0x{other:02x} does not start an expression"))),
        }
    }

    /// A textual parameter value.
    fn text(&mut self, field: &'static str) -> Result<String, Error> {
        match self.expression(field, 0)? {
            Expression::Word(w) | Expression::Number(w) => Ok(w),
            Expression::String(s) => self.utf8(&s, field),
            _ => Err(self.error(field, "expected a word, number or string")),
        }
    }

    /// `BinDateTimeToken`: a type byte, nine bytes of coded digits (year 2, month, day, hour, minute,
    /// second, millisecond 2), and a type designator when the type byte has bit 2 set.
    fn date_time(&mut self, field: &'static str) -> Result<DateTime, Error> {
        let at = self.pos;
        let kind = self.byte(field)?;
        let sign = match kind & !0x04 {
            0x20 => None,
            0x21 => Some('+'),
            0x22 => Some('-'),
            other => {
                return Err(self.error(field, format!("0x{other:02x} is not a date-time type")));
            }
        };
        let mut parts = [0u16; 7];
        for (part, width) in parts.iter_mut().zip([2usize, 1, 1, 1, 1, 1, 2]) {
            let mut value = 0u16;
            for b in self.take(width, field)? {
                for nibble in [b >> 4, b & 0x0f] {
                    if (1..=10).contains(&nibble) {
                        value = value
                            .saturating_mul(10)
                            .saturating_add(u16::from(nibble.saturating_sub(1)));
                    }
                }
            }
            *part = value;
        }
        let narrow = |v: u16| u8::try_from(v).unwrap_or(u8::MAX);
        let [year, month, day, hour, minute, second, millisecond] = parts;
        let designator = if kind & 0x04 != 0 {
            Some(char::from(self.byte(field)?))
        } else {
            None
        };
        let t = DateTime {
            sign,
            year,
            month: narrow(month),
            day: narrow(day),
            hour: narrow(hour),
            minute: narrow(minute),
            second: narrow(second),
            millisecond,
            designator,
        };
        t.check(at)?;
        if t.designator.is_some_and(|d| !d.is_ascii_alphabetic()) {
            return Err(Error::Decode {
                offset: at,
                field,
                reason: "the type designator is not a letter".into(),
            });
        }
        Ok(t)
    }

    fn agent_identifier(&mut self, depth: usize) -> Result<AgentIdentifier, Error> {
        // Counted as in the string form, where an identifier `depth` resolvers down sits in lists nested
        // 3 + 2 × depth deep, so that what decodes here also fits the string representation's limit.
        if depth.saturating_mul(2).saturating_add(3) >= self.limits.max_depth {
            return Err(Error::Limit {
                offset: self.pos,
                what: "nesting depth",
            });
        }
        let tag = self.byte("agent-identifier")?;
        if tag != 0x02 {
            return Err(self.error(
                "agent-identifier",
                format!("expected 0x02, found 0x{tag:02x}"),
            ));
        }
        let mut aid = AgentIdentifier::new(self.text("agent-identifier :name")?);
        loop {
            match self.byte("agent-identifier")? {
                END => return Ok(aid),
                0x02 => {
                    while self.peek() != Some(END) {
                        aid.addresses
                            .push(self.text("agent-identifier :addresses")?);
                    }
                    self.pos = self.pos.saturating_add(1);
                }
                0x03 => aid.resolvers = self.agent_identifiers(depth.saturating_add(1))?,
                0x04 => {
                    let name = self.name("agent-identifier user parameter")?;
                    let value = self.expression(
                        "agent-identifier user parameter",
                        depth.saturating_mul(2).saturating_add(2),
                    )?;
                    aid.user_params.push((name, value));
                }
                other => {
                    return Err(self.error("agent-identifier", format!("unexpected 0x{other:02x}")));
                }
            }
        }
    }

    fn agent_identifiers(&mut self, depth: usize) -> Result<Vec<AgentIdentifier>, Error> {
        let mut aids = Vec::new();
        while self.peek() != Some(END) {
            aids.push(self.agent_identifier(depth)?);
        }
        self.pos = self.pos.saturating_add(1);
        Ok(aids)
    }
}

/// Undoes `\"` escapes.
fn unescape(inner: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(inner.len());
    let mut bytes = inner.iter().peekable();
    while let Some(&b) = bytes.next() {
        if b == b'\\' && bytes.peek() == Some(&&b'"') {
            continue;
        }
        out.push(b);
    }
    out
}

/// Decodes one message from the start of `input`; returns it and the number of bytes used.
/// With `source` (the buffer `input` is), byte-string content is a slice of it, not a copy.
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
    let mut r = Reader {
        input,
        pos: 0,
        limits,
    };
    let header_error = |reason: String| Error::Decode {
        offset: 0,
        field: "header",
        reason,
    };
    match r.byte("header")? {
        WITHOUT_CODE_TABLES => {}
        0xfb | 0xfc => {
            return Err(header_error(
                "code tables (0xFB, 0xFC) are not supported".into(),
            ));
        }
        other => {
            return Err(header_error(format!(
                "0x{other:02x} is not a bit-efficient message id"
            )));
        }
    }
    let _version = r.byte("version")?;
    let at = r.pos;
    let performative: MessageType = match r.byte("message type")? {
        0x00 => MessageType::UserDefined(r.word("message type")?),
        code => Performative::from_code(code)
            .map(MessageType::Performative)
            .ok_or_else(|| Error::Decode {
                offset: at,
                field: "message type",
                reason: format!("0x{code:02x} is not a predefined message type"),
            })?,
    };
    let mut m = AclMessage::new(performative);
    // Standard parameters seen so far, one bit per code: a second occurrence is refused, as in the string
    // representation.
    let mut seen: u16 = 0;
    loop {
        let at = r.pos;
        let code = r.byte("parameter")?;
        if (0x02..=0x0d).contains(&code) {
            let bit = 1u16.checked_shl(u32::from(code)).unwrap_or(0);
            if seen & bit != 0 {
                return Err(Error::Decode {
                    offset: at,
                    field: "parameter",
                    reason: format!("parameter 0x{code:02x} appears twice"),
                });
            }
            seen |= bit;
        }
        match code {
            END => return Ok((m, r.pos)),
            0x00 => {
                let name = r.name("user parameter")?;
                let value = r.expression("user parameter", 1)?;
                m.user_params.push((name, value));
            }
            0x02 => m.sender = Some(r.agent_identifier(0)?),
            0x03 => m.receivers = r.agent_identifiers(0)?,
            0x04 => {
                let tag = r.byte("content")?;
                let content = r.string_slice_after(tag, "content")?;
                m.content = Some(match content {
                    Cow::Borrowed(slice) => crate::string::shared(source, slice),
                    Cow::Owned(value) => Bytes::from(value),
                });
            }
            0x05 => m.reply_with = Some(r.expression("reply-with", 0)?),
            0x06 => m.reply_by = Some(r.date_time("reply-by")?),
            0x07 => m.in_reply_to = Some(r.expression("in-reply-to", 0)?),
            0x08 => m.reply_to = r.agent_identifiers(0)?,
            0x09 => m.language = Some(r.expression("language", 0)?),
            0x0a => m.encoding = Some(r.expression("encoding", 0)?),
            0x0b => m.ontology = Some(r.expression("ontology", 0)?),
            0x0c => m.protocol = Some(r.text("protocol")?),
            0x0d => m.conversation_id = Some(r.expression("conversation-id", 0)?),
            other => {
                r.pos = r.pos.saturating_sub(1);
                return Err(r.error(
                    "parameter",
                    format!("0x{other:02x} is not a parameter code"),
                ));
            }
        }
    }
}
