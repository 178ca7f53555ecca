//! The XML representation of ACL messages (FIPA SC00071): a `fipa-message` element with the act as its `act`
//! attribute, one child element per parameter, agent identifiers as `agent-identifier` elements with
//! `<name id="…"/>` and `<url href="…"/>`, `reply-by` as a `time` attribute, user-defined parameters as
//! `<user-defined href="X-name">value</user-defined>`.
//!
//! Policies where SC00071 leaves room:
//! - Text is escaped so it reads back byte for byte: `&`, `<` and `>` always, carriage returns as `&#13;`
//!   (parsers would turn a raw one into a line feed), and in attributes also `"`, tabs and line feeds.
//!   XML 1.0 cannot carry NUL, most other control characters or bytes that are not UTF-8: such a value is an
//!   [`Error::Invalid`] naming the parameter — use the string or bit-efficient representation for it.
//! - The value of `language`, `encoding`, `ontology`, `conversation-id`, `reply-with`, `in-reply-to` (an
//!   Expression in SC00070) and of a user-defined parameter is the expression's string-representation text when it is a word, number,
//!   date-time or list; a string is written as its plain text unless that text would read back as something
//!   else, in which case it is written quoted. Reading, a value that is exactly one expression is that
//!   expression, anything else is a string.
//! - The decoder accepts `name` and `url` values as attributes (`id`, `href`) or as element text,
//!   `conversation-id` as an attribute of `fipa-message` or as an element, any namespace prefix, and the
//!   `X-` prefix on a user-defined `href` with or without it. A standard parameter given twice, an unknown
//!   element, an unknown `act`, and content by reference (`href` on `content`) are refused with the offset.

mod decode;
mod encode;

use crate::error::Error;
use crate::message::AclMessage;
use crate::string::Limits;

impl AclMessage {
    /// Decodes a message in the XML representation (SC00071) from the start of `input`; returns it and the
    /// number of bytes used (up to the end of the `fipa-message` element).
    pub fn decode_xml(input: &[u8]) -> Result<(AclMessage, usize), Error> {
        decode::decode(input, &Limits::default())
    }

    /// As [`AclMessage::decode_xml`], with explicit limits.
    pub fn decode_xml_with(input: &[u8], limits: &Limits) -> Result<(AclMessage, usize), Error> {
        decode::decode(input, limits)
    }

    /// Appends the message in the XML representation (SC00071) to `out`, with an XML declaration; on error
    /// nothing is appended. Fails for what XML 1.0 cannot carry (see the module policies) and for
    /// user-defined message types, which SC00071's `act` enumeration does not include.
    pub fn encode_xml(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        let mut body = String::with_capacity(512);
        encode::encode(self, &mut body)?;
        out.extend_from_slice(body.as_bytes());
        Ok(())
    }
}
