//! The expression grammar of the string representation (SC00070): words, quoted strings (only `\"` is an
//! escape), byte-length strings `#N"…` (N counts bytes), numbers, date-times, and parenthesised lists, each
//! node with the offset it starts at.

use super::Limits;
use crate::datetime::DateTime;
use crate::error::Error;
use crate::message::Expression;
use std::borrow::Cow;

/// A parsed node and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub(crate) at: usize,
    pub(crate) kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    Word(String),
    String(Vec<u8>),
    Number(String),
    DateTime(DateTime),
    List(Vec<Node>),
}

impl Node {
    /// The public form, without offsets.
    pub(crate) fn into_expression(self) -> Expression {
        match self.kind {
            Kind::Word(w) => Expression::Word(w),
            Kind::String(s) => Expression::String(s),
            Kind::Number(n) => Expression::Number(n),
            Kind::DateTime(t) => Expression::DateTime(t),
            Kind::List(items) => {
                Expression::List(items.into_iter().map(Node::into_expression).collect())
            }
        }
    }
}

fn is_space(b: u8) -> bool {
    b <= 0x20
}

fn is_delimiter(b: u8) -> bool {
    is_space(b) || b == b'(' || b == b')'
}

/// Whether `text` is a number: an optional sign, digits, an optional fraction and exponent, or a hexadecimal
/// integer `0x…`.
pub(crate) fn is_number(text: &str) -> bool {
    let body = text.strip_prefix(['+', '-']).unwrap_or(text);
    if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        return !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit());
    }
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (
            body.get(..i).unwrap_or(""),
            Some(body.get(i.saturating_add(1)..).unwrap_or("")),
        ),
        None => (body, None),
    };
    let digits_ok = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((whole, fraction)) => {
            (digits_ok(whole) || whole.is_empty())
                && (digits_ok(fraction) || fraction.is_empty())
                && !(whole.is_empty() && fraction.is_empty())
        }
        None => digits_ok(mantissa),
    };
    mantissa_ok && exponent.is_none_or(|e| digits_ok(e.strip_prefix(['+', '-']).unwrap_or(e)))
}

/// Whether `name` can follow `:` or `:X-` as a parameter name: not empty, no space, control character or
/// parenthesis.
pub(crate) fn is_parameter_name(name: &str) -> bool {
    !name.is_empty() && !name.bytes().any(is_delimiter)
}

/// Whether `text` is a word: no spaces, control characters or parentheses, and not starting with `#`, a digit,
/// `-` or `@` (SC00070 `Word`), and not a number or date-time.
pub(crate) fn is_word(text: &str) -> bool {
    let bytes = text.as_bytes();
    match bytes.first() {
        None => false,
        Some(b) if b.is_ascii_digit() || matches!(b, b'#' | b'-' | b'@' | b'"') => false,
        Some(_) => {
            !bytes.iter().any(|&b| is_delimiter(b))
                && !is_number(text)
                && !DateTime::looks_like(bytes)
        }
    }
}

pub(crate) struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
    limits: &'a Limits,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(input: &'a [u8], limits: &'a Limits) -> Parser<'a> {
        Parser {
            input,
            pos: 0,
            limits,
        }
    }

    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    fn error(&self, at: usize, field: &'static str, reason: impl Into<String>) -> Error {
        Error::Decode {
            offset: at,
            field,
            reason: reason.into(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    pub(crate) fn skip_space(&mut self) {
        while self.peek().is_some_and(is_space) {
            self.pos = self.pos.saturating_add(1);
        }
    }

    /// Consumes the `(` that must come next (after white space), opening a list at nesting `depth`; returns
    /// its offset. For streaming decoders that walk a list without building it.
    pub(crate) fn open(
        &mut self,
        depth: usize,
        field: &'static str,
        expected: &str,
    ) -> Result<usize, Error> {
        self.skip_space();
        let at = self.pos;
        if self.peek() != Some(b'(') {
            return Err(self.error(at, field, format!("expected {expected}")));
        }
        if depth >= self.limits.max_depth {
            return Err(Error::Limit {
                offset: at,
                what: "nesting depth",
            });
        }
        self.pos = self.pos.saturating_add(1);
        Ok(at)
    }

    /// Whether the list opened at `list_at` ends here; consumes its `)` if so.
    pub(crate) fn close(&mut self, list_at: usize) -> Result<bool, Error> {
        self.skip_space();
        match self.peek() {
            None => Err(self.error(list_at, "expression", "unclosed parenthesis")),
            Some(b')') => {
                self.pos = self.pos.saturating_add(1);
                Ok(true)
            }
            Some(_) => Ok(false),
        }
    }

    /// The next bare token (a word, number or date-time) as it is written, without allocating; `None`, with
    /// nothing consumed, when the next item is a list or a string.
    pub(crate) fn bare(&mut self) -> Option<(usize, &'a [u8])> {
        self.skip_space();
        let at = self.pos;
        match self.peek() {
            None | Some(b'(' | b')' | b'"' | b'#') => None,
            Some(_) => {
                let rest = self.input.get(at..).unwrap_or_default();
                let len = rest.iter().take_while(|&&b| !is_delimiter(b)).count();
                self.pos = at.saturating_add(len);
                Some((at, rest.get(..len).unwrap_or_default()))
            }
        }
    }

    /// One expression at the current position.
    pub(crate) fn node(&mut self, depth: usize) -> Result<Node, Error> {
        self.skip_space();
        let at = self.pos;
        match self.peek() {
            None => Err(self.error(at, "expression", "input ends")),
            Some(b'(') => {
                if depth >= self.limits.max_depth {
                    return Err(Error::Limit {
                        offset: at,
                        what: "nesting depth",
                    });
                }
                self.pos = self.pos.saturating_add(1);
                let mut items = Vec::new();
                loop {
                    self.skip_space();
                    match self.peek() {
                        None => return Err(self.error(at, "expression", "unclosed parenthesis")),
                        Some(b')') => {
                            self.pos = self.pos.saturating_add(1);
                            return Ok(Node {
                                at,
                                kind: Kind::List(items),
                            });
                        }
                        Some(_) => items.push(self.node(depth.saturating_add(1))?),
                    }
                }
            }
            Some(b')') => Err(self.error(at, "expression", "unexpected ')'")),
            Some(b'"') | Some(b'#') => {
                let value = self.string_value(at)?;
                Ok(Node {
                    at,
                    kind: Kind::String(value.into_owned()),
                })
            }
            Some(_) => self.token(at),
        }
    }

    /// The next item if it is a string (quoted or byte-length): its bytes, borrowed from the input unless a
    /// `\"` escape had to be undone. `None`, with nothing consumed, for any other item.
    pub(crate) fn string_slice(&mut self) -> Result<Option<Cow<'a, [u8]>>, Error> {
        self.skip_space();
        let at = self.pos;
        match self.peek() {
            Some(b'"' | b'#') => self.string_value(at).map(Some),
            _ => Ok(None),
        }
    }

    fn string_value(&mut self, at: usize) -> Result<Cow<'a, [u8]>, Error> {
        if self.peek() == Some(b'"') {
            self.quoted(at)
        } else {
            self.byte_length(at)
        }
    }

    /// `"…"` where only `\"` is an escape; borrowed when there is none.
    fn quoted(&mut self, at: usize) -> Result<Cow<'a, [u8]>, Error> {
        let start = at.saturating_add(1);
        let mut owned: Option<Vec<u8>> = None;
        let mut i = start;
        loop {
            let rest = self.input.get(i..).unwrap_or_default();
            let Some(stop) = memchr::memchr2(b'"', b'\\', rest) else {
                return Err(self.error(at, "string", "unterminated string"));
            };
            let segment = rest.get(..stop).unwrap_or_default();
            if rest.get(stop) == Some(&b'"') {
                self.pos = i.saturating_add(stop).saturating_add(1);
                return Ok(match owned {
                    None => Cow::Borrowed(
                        self.input
                            .get(start..i.saturating_add(stop))
                            .unwrap_or_default(),
                    ),
                    Some(mut value) => {
                        value.extend_from_slice(segment);
                        Cow::Owned(value)
                    }
                });
            }
            // A backslash: an escape only before a quote.
            if rest.get(stop.saturating_add(1)) == Some(&b'"') {
                let value = owned
                    .get_or_insert_with(|| self.input.get(start..i).unwrap_or_default().to_vec());
                value.extend_from_slice(segment);
                value.push(b'"');
                i = i.saturating_add(stop).saturating_add(2);
            } else {
                if let Some(value) = owned.as_mut() {
                    value.extend_from_slice(segment);
                    value.push(b'\\');
                }
                i = i.saturating_add(stop).saturating_add(1);
            }
        }
    }

    /// `#N"` followed by exactly N bytes, whatever they are.
    fn byte_length(&mut self, at: usize) -> Result<Cow<'a, [u8]>, Error> {
        let digits_start = at.saturating_add(1);
        let rest = self.input.get(digits_start..).unwrap_or_default();
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || rest.get(digits) != Some(&b'"') {
            return Err(self.error(at, "byte-length string", "expected #<digits>\""));
        }
        let mut n: usize = 0;
        for &d in rest.get(..digits).unwrap_or_default() {
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(usize::from(d.saturating_sub(b'0'))))
                .ok_or_else(|| self.error(at, "byte-length string", "length overflows"))?;
        }
        if n > self.limits.max_size {
            return Err(Error::Limit {
                offset: at,
                what: "byte-length string longer than the input limit",
            });
        }
        let start = digits_start.saturating_add(digits).saturating_add(1);
        let end = start.saturating_add(n);
        let value = self.input.get(start..end).ok_or_else(|| {
            self.error(
                at,
                "byte-length string",
                format!(
                    "declares {n} bytes, {} remain",
                    self.input.len().saturating_sub(start)
                ),
            )
        })?;
        self.pos = end;
        Ok(Cow::Borrowed(value))
    }

    /// A word, number or date-time: everything up to a space or parenthesis.
    fn token(&mut self, at: usize) -> Result<Node, Error> {
        let rest = self.input.get(at..).unwrap_or_default();
        let len = rest.iter().take_while(|&&b| !is_delimiter(b)).count();
        let bytes = rest.get(..len).unwrap_or_default();
        self.pos = at.saturating_add(len);
        let text = std::str::from_utf8(bytes)
            .map_err(|_| self.error(at, "word", "not UTF-8 (use a byte-length string)"))?;
        // A token that starts with a letter or ':' can only be a word (numbers and date-times start with a
        // digit, a sign or '.'); the common case skips the other checks.
        let kind = if bytes
            .first()
            .is_some_and(|b| b.is_ascii_alphabetic() || *b == b':')
        {
            Kind::Word(text.to_owned())
        } else if DateTime::looks_like(bytes) {
            Kind::DateTime(DateTime::parse(bytes, at)?)
        } else if is_number(text) {
            Kind::Number(text.to_owned())
        } else if is_word(text) {
            Kind::Word(text.to_owned())
        } else {
            return Err(self.error(
                at,
                "word",
                format!("{text:?} is neither a word nor a number"),
            ));
        };
        Ok(Node { at, kind })
    }
}
