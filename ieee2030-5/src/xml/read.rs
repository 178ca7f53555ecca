//! A pull reader over quick-xml that resolves namespaces, bounds depth and size, and hands out elements one
//! at a time: the generated readers match children by namespace and local name, in any order.

use super::extension::Extension;
use crate::Error;
use quick_xml::NsReader;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::name::{Namespace as QNamespace, ResolveResult};
use std::borrow::Cow;

/// The IEEE 2030.5 namespace.
pub const SEP_NS: &str = "urn:ieee:std:2030.5:ns";
/// The CSIP-AUS extension namespace (v1.1, v1.2), the one written.
pub const CSIP_NS: &str = "https://csipaus.org/ns";
/// The CSIP-AUS v1.3 namespace, read as [`CSIP_NS`].
pub const CSIP_V13_NS: &str = "https://csipaus.org/ns/v1.3";
/// The namespace of the `xml:` prefix, bound by XML itself.
pub const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";
/// The namespace of `xmlns` declarations; no element may be in it.
const XMLNS_NS: &str = "http://www.w3.org/2000/xmlns/";
/// XML Schema instance (`xsi:type`).
pub const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// Bounds on what a document may make the reader do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest document, in bytes.
    pub max_size: usize,
    /// Deepest element nesting.
    pub max_depth: usize,
}

impl Default for Limits {
    /// 4 MiB and 32 levels: far beyond any resource of the standard (a full page of a list is well under
    /// 1 MiB; the deepest resource nests about 6 levels).
    fn default() -> Self {
        Self {
            max_size: 4 << 20,
            max_depth: 32,
        }
    }
}

/// Which namespace an element is in, as far as the resources care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ns {
    /// IEEE 2030.5, or no namespace at all (servers that leave out `xmlns`).
    Sep,
    /// CSIP-AUS, either version.
    Csip,
    /// Any other namespace (kept in extensions).
    Other(String),
}

/// A child element just entered.
#[derive(Debug)]
pub struct Start<'i> {
    /// The start tag.
    pub tag: BytesStart<'i>,
    /// Its namespace.
    pub ns: Ns,
    /// `<x/>`: no content and no end tag to read.
    pub empty: bool,
    /// Byte offset of the tag.
    pub offset: u64,
}

impl Start<'_> {
    /// The element's local name.
    pub fn local(&self) -> &[u8] {
        local_of(self.tag.name().into_inner())
    }
}

fn colon(raw: &[u8]) -> Option<usize> {
    raw.iter().position(|b| *b == b':')
}

/// An attribute of a start tag, namespace resolved.
#[derive(Debug)]
pub struct Attribute<'a> {
    /// Unprefixed attributes have none; `xsi:type` has [`XSI_NS`].
    pub ns: Option<String>,
    /// Local name.
    pub local: &'a [u8],
    /// The name an [`Extension`] keeps: `local` without a namespace,
    /// `xsi:local` and `xml:local` in those namespaces, `{uri}local` in any other.
    pub kept: String,
    /// Unescaped value.
    pub value: Cow<'a, str>,
}

/// Reads one document.
pub struct Reader<'i> {
    inner: NsReader<&'i [u8]>,
    depth: usize,
    limits: Limits,
}

impl<'i> Reader<'i> {
    /// A reader over `input`.
    ///
    /// # Errors
    /// [`Error::Limit`] when the input is larger than `limits.max_size`; [`Error::Xml`] when it is not UTF-8.
    pub fn new(input: &'i [u8], limits: Limits) -> Result<Self, Error> {
        if input.len() > limits.max_size {
            return Err(Error::Limit {
                offset: 0,
                what: "document size",
            });
        }
        let text = std::str::from_utf8(input).map_err(|e| Error::Xml {
            offset: u64::try_from(e.valid_up_to()).unwrap_or(u64::MAX),
            reason: "not UTF-8".into(),
        })?;
        // Control characters are single bytes; U+FFFE and U+FFFF are the only other non-characters.
        let forbidden = text
            .bytes()
            .position(|b| b < b' ' && !matches!(b, b'\t' | b'\n' | b'\r'))
            .or_else(|| text.find(['\u{fffe}', '\u{ffff}']));
        if let Some(at) = forbidden {
            return Err(Error::Xml {
                offset: u64::try_from(at).unwrap_or(u64::MAX),
                reason: "a character XML 1.0 does not allow".into(),
            });
        }
        let mut inner = NsReader::from_str(text);
        inner.config_mut().trim_text(false);
        Ok(Self {
            inner,
            depth: 0,
            limits,
        })
    }

    /// Byte offset reached.
    pub fn offset(&self) -> u64 {
        self.inner.buffer_position()
    }

    /// An error found here (the position reached).
    fn xml_error(&self, reason: impl ToString) -> Error {
        Error::Xml {
            offset: self.offset(),
            reason: reason.to_string(),
        }
    }

    fn next(&mut self) -> Result<(Ns, Event<'i>), Error> {
        match self.inner.read_resolved_event() {
            Ok((resolved, event)) => Ok((namespace(&resolved), event)),
            // quick-xml knows where its error is.
            Err(e) => Err(Error::Xml {
                offset: self.inner.error_position(),
                reason: e.to_string(),
            }),
        }
    }

    /// The root element (after the declaration, comments and processing instructions).
    ///
    /// # Errors
    /// [`Error::Xml`] when there is none or the XML is broken.
    pub fn root(&mut self) -> Result<Start<'i>, Error> {
        loop {
            let offset = self.offset();
            match self.next()? {
                (ns, Event::Start(tag)) => return self.entered(ns, tag, false, offset),
                (ns, Event::Empty(tag)) => return self.entered(ns, tag, true, offset),
                (_, Event::Eof) => return Err(self.xml_error("no root element")),
                (_, Event::Text(t)) if is_blank(&t) => {}
                (_, Event::Decl(_) | Event::Comment(_) | Event::PI(_) | Event::DocType(_)) => {}
                _ => return Err(self.xml_error("content before the root element")),
            }
        }
    }

    fn entered(
        &mut self,
        ns: Ns,
        tag: BytesStart<'i>,
        empty: bool,
        offset: u64,
    ) -> Result<Start<'i>, Error> {
        if !is_qualified_name(tag.name().into_inner()) {
            return Err(Error::Xml {
                offset,
                reason: format!(
                    "{:?} is not an element name",
                    String::from_utf8_lossy(tag.name().into_inner())
                ),
            });
        }
        if ns == Ns::Other(XMLNS_NS.to_owned())
            || tag.name().prefix().is_some_and(|p| p.as_ref() == b"xmlns")
        {
            return Err(Error::Xml {
                offset,
                reason: "an element in the xmlns namespace".into(),
            });
        }
        if !empty {
            self.depth = self.depth.saturating_add(1);
            if self.depth > self.limits.max_depth {
                return Err(Error::Limit {
                    offset,
                    what: "element nesting depth",
                });
            }
        }
        Ok(Start {
            tag,
            ns,
            empty,
            offset,
        })
    }

    /// The next child of `parent` (`None` at its end); white space, comments and processing instructions
    /// between children are skipped, stray text is ignored (no resource has mixed content).
    ///
    /// # Errors
    /// [`Error::Xml`] for broken XML; [`Error::Limit`] past the depth limit.
    pub fn child(&mut self, parent: &Start<'_>) -> Result<Option<Start<'i>>, Error> {
        if parent.empty {
            return Ok(None);
        }
        loop {
            let offset = self.offset();
            match self.next()? {
                (ns, Event::Start(tag)) => return self.entered(ns, tag, false, offset).map(Some),
                (ns, Event::Empty(tag)) => return self.entered(ns, tag, true, offset).map(Some),
                (_, Event::End(_)) => {
                    self.depth = self.depth.saturating_sub(1);
                    return Ok(None);
                }
                (_, Event::Eof) => return Err(self.xml_error("document ends inside an element")),
                _ => {}
            }
        }
    }

    /// The text content of `element` up to its end.
    ///
    /// # Errors
    /// [`Error::Value`] when it holds child elements; [`Error::Xml`] for broken XML or an unknown entity.
    pub fn text(&mut self, element: &Start<'_>) -> Result<String, Error> {
        let mut text = String::new();
        if element.empty {
            return Ok(text);
        }
        loop {
            match self.next()? {
                (_, event @ (Event::Text(_) | Event::CData(_) | Event::GeneralRef(_))) => {
                    self.push_text(&event, &mut text)?;
                }
                (_, Event::End(_)) => {
                    self.depth = self.depth.saturating_sub(1);
                    return Ok(text);
                }
                (_, Event::Comment(_) | Event::PI(_)) => {}
                (_, Event::Eof) => return Err(self.xml_error("document ends inside an element")),
                _ => {
                    return Err(Error::Value {
                        offset: element.offset,
                        field: String::from_utf8_lossy(element.local()).into_owned(),
                        reason: "expected a value, found an element".into(),
                    });
                }
            }
        }
    }

    /// Appends what a text, CDATA or reference event stands for.
    fn push_text(&self, event: &Event<'_>, out: &mut String) -> Result<(), Error> {
        match event {
            Event::Text(t) => out.push_str(&t.xml10_content().map_err(|e| self.xml_error(e))?),
            Event::CData(c) => out.push_str(&c.decode().map_err(|e| self.xml_error(e))?),
            Event::GeneralRef(r) => out.push(self.reference(r)?),
            _ => {}
        }
        Ok(())
    }

    /// The character an entity or character reference stands for.
    fn reference(&self, r: &BytesRef<'_>) -> Result<char, Error> {
        let c = match r.resolve_char_ref() {
            Ok(Some(c)) => Some(c).filter(|c| is_xml_char(*c)),
            Ok(None) => predefined(r),
            Err(_) => None,
        };
        c.ok_or_else(|| {
            self.xml_error(format!(
                "&{}; is not a character XML 1.0 allows or a predefined entity",
                String::from_utf8_lossy(r.as_ref())
            ))
        })
    }

    /// The attributes of `start`, namespace declarations left out.
    ///
    /// # Errors
    /// [`Error::Xml`] for a malformed attribute or value.
    pub fn attributes<'a>(&self, start: &'a Start<'_>) -> Result<Vec<Attribute<'a>>, Error> {
        let mut out = Vec::new();
        for attribute in start.tag.attributes() {
            let attribute = attribute.map_err(|e| Error::Xml {
                offset: start.offset,
                reason: e.to_string(),
            })?;
            let key = attribute.key;
            if key.as_namespace_binding().is_some() {
                continue;
            }
            if !is_qualified_name(key.into_inner()) {
                return Err(Error::Xml {
                    offset: start.offset,
                    reason: format!(
                        "{:?} is not an attribute name",
                        String::from_utf8_lossy(key.into_inner())
                    ),
                });
            }
            let (resolved, _) = self.inner.resolve_attribute(key);
            let ns = match resolved {
                ResolveResult::Unknown(prefix) => {
                    return Err(Error::Xml {
                        offset: start.offset,
                        reason: format!(
                            "attribute prefix {:?} is not declared",
                            String::from_utf8_lossy(&prefix)
                        ),
                    });
                }
                ResolveResult::Bound(QNamespace(uri)) => Some(namespace_uri(uri)),
                _ => None,
            };
            let value = attribute.unescape_value().map_err(|e| Error::Xml {
                offset: start.offset,
                reason: e.to_string(),
            })?;
            // The input holds no forbidden character (checked at the start); only a reference makes one.
            if matches!(value, Cow::Owned(_)) && !value.chars().all(is_xml_char) {
                return Err(Error::Xml {
                    offset: start.offset,
                    reason: "an attribute value refers to a character XML 1.0 does not allow"
                        .into(),
                });
            }
            let local: &'a [u8] = local_of(key.into_inner());
            out.push(Attribute {
                kept: kept_name(ns.as_deref(), local),
                ns,
                local,
                value,
            });
        }
        Ok(out)
    }

    /// Reads `start` whole into an [`Extension`] (an element no resource type knows).
    ///
    /// # Errors
    /// As [`child`](Self::child) and [`text`](Self::text).
    pub fn capture(&mut self, start: &Start<'_>) -> Result<Extension, Error> {
        let mut extension = Extension {
            namespace: match &start.ns {
                Ns::Sep => None,
                Ns::Csip => Some(CSIP_NS.to_owned()),
                Ns::Other(uri) => Some(uri.clone()),
            },
            name: String::from_utf8_lossy(start.local()).into_owned(),
            attributes: self
                .attributes(start)?
                .into_iter()
                .map(|a| (a.kept, a.value.into_owned()))
                .collect(),
            text: String::new(),
            children: Vec::new(),
        };
        if start.empty {
            return Ok(extension);
        }
        loop {
            let offset = self.offset();
            match self.next()? {
                (ns, Event::Start(tag)) => {
                    let child = self.entered(ns, tag, false, offset)?;
                    extension.children.push(self.capture(&child)?);
                }
                (ns, Event::Empty(tag)) => {
                    let child = self.entered(ns, tag, true, offset)?;
                    extension.children.push(self.capture(&child)?);
                }
                (_, event @ (Event::Text(_) | Event::CData(_) | Event::GeneralRef(_))) => {
                    self.push_text(&event, &mut extension.text)?;
                }
                (_, Event::End(_)) => {
                    self.depth = self.depth.saturating_sub(1);
                    if !extension.children.is_empty() && extension.text.trim().is_empty() {
                        extension.text.clear();
                    }
                    return Ok(extension);
                }
                (_, Event::Eof) => return Err(self.xml_error("document ends inside an element")),
                _ => {}
            }
        }
    }

    /// Skips to the end of the document, checking that nothing but white space, comments and processing
    /// instructions follows the root; returns the bytes used.
    ///
    /// # Errors
    /// [`Error::Xml`] for content after the root element.
    pub fn finish(mut self) -> Result<usize, Error> {
        let used = usize::try_from(self.offset()).unwrap_or(usize::MAX);
        loop {
            match self.next()? {
                (_, Event::Eof) => return Ok(used),
                (_, Event::Text(t)) if is_blank(&t) => {}
                (_, Event::Comment(_) | Event::PI(_)) => {}
                _ => return Err(self.xml_error("content after the root element")),
            }
        }
    }
}

/// `NCName` or `NCName:NCName` (Namespaces in XML 1.0), ASCII checked exactly, other characters accepted.
fn is_qualified_name(raw: &[u8]) -> bool {
    let nc_name = |part: &[u8]| match part.split_first() {
        Some((first, rest)) => {
            (first.is_ascii_alphabetic() || *first == b'_' || !first.is_ascii())
                && rest.iter().all(|b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.') || !b.is_ascii()
                })
        }
        None => false,
    };
    match colon(raw) {
        Some(i) => {
            let (prefix, rest) = raw.split_at(i);
            nc_name(prefix) && nc_name(rest.get(1..).unwrap_or_default())
        }
        None => nc_name(raw),
    }
}

fn kept_name(ns: Option<&str>, local: &[u8]) -> String {
    let local = String::from_utf8_lossy(local);
    match ns {
        None => local.into_owned(),
        Some(XSI_NS) => format!("xsi:{local}"),
        Some(XML_NS) => format!("xml:{local}"),
        Some(uri) => format!("{{{uri}}}{local}"),
    }
}

fn local_of(raw: &[u8]) -> &[u8] {
    match colon(raw) {
        Some(i) => raw.get(i.saturating_add(1)..).unwrap_or_default(),
        None => raw,
    }
}

/// `Char` of XML 1.0 (2.2): tab, newline, carriage return, and U+0020 up, less U+FFFE and U+FFFF.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{fffe}' && c != '\u{ffff}')
}

fn is_blank(t: &[u8]) -> bool {
    t.iter().all(u8::is_ascii_whitespace)
}

fn predefined(r: &[u8]) -> Option<char> {
    match r {
        b"lt" => Some('<'),
        b"gt" => Some('>'),
        b"amp" => Some('&'),
        b"apos" => Some('\''),
        b"quot" => Some('"'),
        _ => None,
    }
}

/// A namespace URI as written in `xmlns`, entities resolved.
fn namespace_uri(raw: &[u8]) -> String {
    let raw = String::from_utf8_lossy(raw);
    quick_xml::escape::unescape(&raw).map_or_else(|_| raw.clone().into_owned(), Cow::into_owned)
}

fn namespace(resolved: &ResolveResult<'_>) -> Ns {
    match resolved {
        ResolveResult::Bound(QNamespace(uri)) => match *uri {
            u if u == SEP_NS.as_bytes() => Ns::Sep,
            u if u == CSIP_NS.as_bytes() || u == CSIP_V13_NS.as_bytes() => Ns::Csip,
            other => Ns::Other(namespace_uri(other)),
        },
        // No namespace, or an undeclared prefix: read as IEEE 2030.5.
        _ => Ns::Sep,
    }
}
