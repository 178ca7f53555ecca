//! The three representations of an ACL message, chosen by name or told apart by their first byte.

use crate::error::Error;
use crate::message::AclMessage;
use crate::string::Limits;

/// An ACL representation: what `acl-representation` names in a transport envelope (SC00067).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Representation {
    /// The string representation, `fipa.acl.rep.string.std` (SC00070).
    String,
    /// The XML representation, `fipa.acl.rep.xml.std` (SC00071).
    Xml,
    /// The bit-efficient representation, `fipa.acl.rep.bitefficient.std` (SC00069), `0xFA` form.
    BitEfficient,
}

impl Representation {
    /// Every representation.
    pub const ALL: [Representation; 3] = [
        Representation::String,
        Representation::Xml,
        Representation::BitEfficient,
    ];

    /// The FIPA name of the representation, as a transport envelope's `acl-representation` gives it.
    pub fn fipa_name(self) -> &'static str {
        match self {
            Representation::String => "fipa.acl.rep.string.std",
            Representation::Xml => "fipa.acl.rep.xml.std",
            Representation::BitEfficient => "fipa.acl.rep.bitefficient.std",
        }
    }

    /// The representation with this FIPA name or short name (`string`, `xml`, `bit-efficient`), ignoring
    /// case.
    pub fn from_name(name: &str) -> Option<Representation> {
        Representation::ALL.into_iter().find(|r| {
            r.fipa_name().eq_ignore_ascii_case(name) || r.short_name().eq_ignore_ascii_case(name)
        })
    }

    /// `string`, `xml` or `bit-efficient`.
    pub fn short_name(self) -> &'static str {
        match self {
            Representation::String => "string",
            Representation::Xml => "xml",
            Representation::BitEfficient => "bit-efficient",
        }
    }

    /// Tells the representation of `input` by its first bytes: `0xFA`–`0xFC` is bit-efficient, `<` (after
    /// white space or a byte-order mark) is XML, anything else is read as the string representation.
    pub fn detect(input: &[u8]) -> Representation {
        let text = input.strip_prefix(b"\xef\xbb\xbf").unwrap_or(input);
        match input.first() {
            Some(0xfa..=0xfc) => Representation::BitEfficient,
            _ => match text.iter().find(|b| !b.is_ascii_whitespace()) {
                Some(b'<') => Representation::Xml,
                _ => Representation::String,
            },
        }
    }
}

impl std::fmt::Display for Representation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.short_name())
    }
}

impl AclMessage {
    /// Decodes a message in representation `representation` with `limits`; returns it and the bytes used.
    pub fn decode_as(
        input: &[u8],
        representation: Representation,
        limits: &Limits,
    ) -> Result<(AclMessage, usize), Error> {
        match representation {
            Representation::String => AclMessage::decode_string_with(input, limits),
            Representation::Xml => AclMessage::decode_xml_with(input, limits),
            Representation::BitEfficient => AclMessage::decode_bit_efficient_with(input, limits),
        }
    }

    /// Decodes a message in whichever representation [`Representation::detect`] finds, with the default
    /// limits; returns it, the bytes used and the representation.
    pub fn decode_any(input: &[u8]) -> Result<(AclMessage, usize, Representation), Error> {
        let representation = Representation::detect(input);
        let (m, used) = AclMessage::decode_as(input, representation, &Limits::default())?;
        Ok((m, used, representation))
    }

    /// Decodes a message from a shared buffer in whichever representation [`Representation::detect`] finds,
    /// with `limits`: in the string and bit-efficient representations the content refers to `input` instead
    /// of being copied wherever it is written verbatim (byte-length strings, quoted strings without escapes).
    pub fn decode_shared(
        input: &bytes::Bytes,
        limits: &Limits,
    ) -> Result<(AclMessage, usize, Representation), Error> {
        let representation = Representation::detect(input);
        let (m, used) = match representation {
            Representation::String => AclMessage::decode_string_shared(input, limits)?,
            Representation::BitEfficient => AclMessage::decode_bit_efficient_shared(input, limits)?,
            Representation::Xml => AclMessage::decode_xml_with(input, limits)?,
        };
        Ok((m, used, representation))
    }

    /// Appends the message in representation `representation` to `out`; on error nothing is appended.
    pub fn encode_as(
        &self,
        representation: Representation,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        match representation {
            Representation::String => self.encode_string(out),
            Representation::Xml => self.encode_xml(out),
            Representation::BitEfficient => self.encode_bit_efficient(out),
        }
    }
}
