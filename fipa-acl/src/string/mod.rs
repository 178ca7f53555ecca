//! The string representation of ACL messages (FIPA SC00070), written from its grammar.

mod decode;
mod encode;
pub(crate) mod tree;

pub(crate) use decode::shared;

pub(crate) use tree::{is_number, is_parameter_name, is_word};

use crate::error::Error;
use crate::message::{AclMessage, Expression};

/// Writes one expression as the string representation would (used where another representation carries an
/// expression as text).
pub(crate) fn write_expression(e: &Expression, out: &mut Vec<u8>) -> Result<(), Error> {
    encode::expression(e, out)
}

/// Writes `bytes` as a string expression: quoted when it is UTF-8 (and does not end in a backslash), else as a
/// byte-length string `#N"…`.
pub(crate) fn write_string(bytes: &[u8], out: &mut Vec<u8>) {
    encode::string(bytes, out);
}

/// Writes one expression, a word or number that is not one as a string (for display).
pub(crate) fn write_expression_lenient(e: &Expression, out: &mut Vec<u8>) {
    encode::expression_lenient(e, out);
}

/// Reads `text` as exactly one expression (white space around it allowed); `None` when it is not one.
pub(crate) fn read_expression(text: &[u8], limits: &Limits) -> Option<Expression> {
    let mut parser = tree::Parser::new(text, limits);
    let node = parser.node(0).ok()?;
    parser.skip_space();
    (parser.position() == text.len()).then(|| node.into_expression())
}

/// Bounds on what a decoder accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest message, in bytes (default 4 MiB).
    pub max_size: usize,
    /// Deepest nesting of parentheses (default 64).
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_size: 4 << 20,
            max_depth: 64,
        }
    }
}

impl AclMessage {
    /// Decodes a message in the string representation from the start of `input` (leading white space
    /// skipped), with the default [`Limits`]; returns it and the number of bytes used.
    pub fn decode_string(input: &[u8]) -> Result<(AclMessage, usize), Error> {
        decode::decode(input, &Limits::default(), None)
    }

    /// As [`AclMessage::decode_string`], with explicit limits.
    pub fn decode_string_with(input: &[u8], limits: &Limits) -> Result<(AclMessage, usize), Error> {
        decode::decode(input, limits, None)
    }

    /// As [`AclMessage::decode_string_with`], from a shared buffer: a content written as a byte-length string
    /// or as a quoted string without escapes refers to `input` instead of being copied.
    pub fn decode_string_shared(
        input: &bytes::Bytes,
        limits: &Limits,
    ) -> Result<(AclMessage, usize), Error> {
        decode::decode(input, limits, Some(input))
    }

    /// Appends the message in the string representation to `out`. Fails only for values no representation
    /// can carry: a user parameter name that is not a word, an [`crate::Expression::Word`] that is not a word.
    pub fn encode_string(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        encode::encode(self, out)
    }
}
