//! From the XML representation (SC00071) to an [`AclMessage`], on quick-xml's pull parser.

use crate::datetime::DateTime;
use crate::error::Error;
use crate::message::{AclMessage, AgentIdentifier, Expression};
use crate::performative::Performative;
use crate::string::{Limits, read_expression};
use quick_xml::Reader;
use quick_xml::events::{BytesRef, BytesStart, Event};

struct Xml<'a> {
    reader: Reader<&'a [u8]>,
    limits: &'a Limits,
    depth: usize,
}

fn offset(position: u64) -> usize {
    usize::try_from(position).unwrap_or(usize::MAX)
}

/// The value of a named entity or character reference.
fn reference(r: &BytesRef<'_>) -> Option<char> {
    if r.is_char_ref() {
        return r.resolve_char_ref().ok().flatten();
    }
    match r.as_ref() {
        b"amp" => Some('&'),
        b"lt" => Some('<'),
        b"gt" => Some('>'),
        b"quot" => Some('"'),
        b"apos" => Some('\''),
        _ => None,
    }
}

impl<'a> Xml<'a> {
    fn at(&self) -> usize {
        offset(self.reader.buffer_position())
    }

    fn error(&self, field: &'static str, reason: impl Into<String>) -> Error {
        Error::Decode {
            offset: self.at(),
            field,
            reason: reason.into(),
        }
    }

    fn next(&mut self, field: &'static str) -> Result<Event<'a>, Error> {
        match self.reader.read_event() {
            Ok(Event::Eof) => Err(self.error(field, "the document ends inside the message")),
            Ok(event) => Ok(event),
            Err(e) => Err(Error::Decode {
                offset: offset(self.reader.error_position()),
                field,
                reason: e.to_string(),
            }),
        }
    }

    fn attribute(
        &self,
        e: &BytesStart<'_>,
        name: &str,
        field: &'static str,
    ) -> Result<Option<String>, Error> {
        let attribute = e
            .try_get_attribute(name)
            .map_err(|err| self.error(field, err.to_string()))?;
        attribute
            .map(|a| {
                a.unescape_value()
                    .map(|v| v.into_owned())
                    .map_err(|err| self.error(field, err.to_string()))
            })
            .transpose()
    }

    /// Enters a child element, bounding the depth.
    fn enter(&mut self) -> Result<(), Error> {
        self.depth = self.depth.saturating_add(1);
        if self.depth > self.limits.max_depth {
            return Err(Error::Limit {
                offset: self.at(),
                what: "nesting depth",
            });
        }
        Ok(())
    }

    /// The next child element's start (`None` at the parent's end); white space and comments between are
    /// skipped, other text is an error.
    fn child(&mut self, field: &'static str) -> Result<Option<BytesStart<'a>>, Error> {
        loop {
            match self.next(field)? {
                Event::Start(e) => {
                    self.enter()?;
                    return Ok(Some(e));
                }
                Event::End(_) => {
                    self.depth = self.depth.saturating_sub(1);
                    return Ok(None);
                }
                Event::Text(t) if t.iter().all(u8::is_ascii_whitespace) => {}
                Event::Comment(_) | Event::PI(_) => {}
                _ => return Err(self.error(field, "only child elements are allowed here")),
            }
        }
    }

    /// The text of the current element up to its end; child elements are an error.
    fn text(&mut self, field: &'static str) -> Result<String, Error> {
        let mut text = String::new();
        loop {
            match self.next(field)? {
                Event::Text(t) => {
                    let part = t
                        .xml10_content()
                        .map_err(|e| self.error(field, e.to_string()))?;
                    text.push_str(&part);
                }
                Event::CData(c) => {
                    let part = c.decode().map_err(|e| self.error(field, e.to_string()))?;
                    text.push_str(&part);
                }
                Event::GeneralRef(r) => {
                    let c = reference(&r).ok_or_else(|| {
                        self.error(
                            field,
                            format!("unknown reference &{};", String::from_utf8_lossy(&r)),
                        )
                    })?;
                    text.push(c);
                }
                Event::Comment(_) | Event::PI(_) => {}
                Event::End(_) => {
                    self.depth = self.depth.saturating_sub(1);
                    return Ok(text);
                }
                _ => return Err(self.error(field, "expected text, found an element")),
            }
            if text.len() > self.limits.max_size {
                return Err(Error::Limit {
                    offset: self.at(),
                    what: "message size",
                });
            }
        }
    }

    /// A `user-defined` element: the `href` names it, the text is the value (module policy).
    fn user_defined(
        &mut self,
        e: &BytesStart<'_>,
        field: &'static str,
    ) -> Result<(String, Expression), Error> {
        let href = self
            .attribute(e, "href", field)?
            .ok_or_else(|| self.error(field, "user-defined without href"))?;
        let name = href
            .strip_prefix("X-")
            .or_else(|| href.strip_prefix("x-"))
            .unwrap_or(&href)
            .to_owned();
        if !crate::string::is_parameter_name(&name) {
            return Err(self.error(field, format!("{href:?} is not a parameter name")));
        }
        Ok((name, self.expression(field)?))
    }

    /// An element whose text is an expression (module policy): the expression the text is, else the text as
    /// a string.
    fn expression(&mut self, field: &'static str) -> Result<Expression, Error> {
        let text = self.text(field)?;
        Ok(read_expression(text.as_bytes(), self.limits)
            .unwrap_or_else(|| Expression::String(text.into_bytes())))
    }

    /// A value held in attribute `attribute` of an empty element, or as its text.
    fn attribute_or_text(
        &mut self,
        e: &BytesStart<'_>,
        attribute: &str,
        field: &'static str,
    ) -> Result<String, Error> {
        let value = self.attribute(e, attribute, field)?;
        let text = self.text(field)?;
        Ok(value.unwrap_or(text))
    }

    fn agent_identifier(&mut self) -> Result<AgentIdentifier, Error> {
        let mut name = None;
        let mut aid = AgentIdentifier::default();
        while let Some(e) = self.child("agent-identifier")? {
            match e.local_name().as_ref() {
                b"name" if name.is_none() => {
                    name = Some(self.attribute_or_text(&e, "id", "agent-identifier :name")?);
                }
                b"addresses" if aid.addresses.is_empty() => {
                    while let Some(url) = self.child("agent-identifier :addresses")? {
                        if url.local_name().as_ref() != b"url" {
                            return Err(self.error("agent-identifier :addresses", "expected url"));
                        }
                        let url =
                            self.attribute_or_text(&url, "href", "agent-identifier :addresses")?;
                        aid.addresses.push(url);
                    }
                }
                b"resolvers" if aid.resolvers.is_empty() => {
                    aid.resolvers = self.agent_identifiers("agent-identifier :resolvers")?;
                }
                b"user-defined" => {
                    let param = self.user_defined(&e, "agent-identifier user parameter")?;
                    aid.user_params.push(param);
                }
                other => {
                    return Err(self.error(
                        "agent-identifier",
                        format!(
                            "unexpected or repeated element <{}>",
                            String::from_utf8_lossy(other)
                        ),
                    ));
                }
            }
        }
        aid.name = name.ok_or_else(|| self.error("agent-identifier", "no name"))?;
        Ok(aid)
    }

    fn agent_identifiers(&mut self, field: &'static str) -> Result<Vec<AgentIdentifier>, Error> {
        let mut aids = Vec::new();
        while let Some(e) = self.child(field)? {
            if e.local_name().as_ref() != b"agent-identifier" {
                return Err(self.error(field, "expected agent-identifier"));
            }
            aids.push(self.agent_identifier()?);
        }
        Ok(aids)
    }

    /// The `fipa-message` element, its start already read.
    fn message(&mut self, root: &BytesStart<'_>) -> Result<AclMessage, Error> {
        let act = self
            .attribute(root, "act", "performative")?
            .ok_or_else(|| self.error("performative", "fipa-message without act"))?;
        let performative = Performative::from_name(&act)
            .ok_or_else(|| self.error("performative", format!("unknown performative {act:?}")))?;
        let mut m = AclMessage::new(performative);
        m.conversation_id = self
            .attribute(root, "conversation-id", "conversation-id")?
            .map(|text| {
                read_expression(text.as_bytes(), self.limits)
                    .unwrap_or_else(|| Expression::String(text.into_bytes()))
            });
        let mut seen: Vec<Vec<u8>> = Vec::new();
        if m.conversation_id.is_some() {
            seen.push(b"conversation-id".to_vec());
        }
        while let Some(e) = self.child("message")? {
            let name = e.local_name().as_ref().to_vec();
            if name.as_slice() != b"user-defined" {
                if seen.contains(&name) {
                    return Err(self.error(
                        "message",
                        format!("parameter {} appears twice", String::from_utf8_lossy(&name)),
                    ));
                }
                seen.push(name.clone());
            }
            match name.as_slice() {
                b"sender" => {
                    let mut aids = self.agent_identifiers("sender")?;
                    if aids.len() != 1 {
                        return Err(self.error("sender", "expected one agent-identifier"));
                    }
                    m.sender = aids.pop();
                }
                b"receiver" => m.receivers = self.agent_identifiers("receiver")?,
                b"reply-to" => m.reply_to = self.agent_identifiers("reply-to")?,
                b"content" => {
                    if self.attribute(&e, "href", "content")?.is_some() {
                        return Err(
                            self.error("content", "content by reference (href) is not supported")
                        );
                    }
                    m.content = Some(self.text("content")?.into_bytes().into());
                }
                b"language" => m.language = Some(self.expression("language")?),
                b"encoding" => m.encoding = Some(self.expression("encoding")?),
                b"ontology" => m.ontology = Some(self.expression("ontology")?),
                b"protocol" => m.protocol = Some(self.text("protocol")?),
                b"conversation-id" => {
                    m.conversation_id = Some(self.expression("conversation-id")?);
                }
                b"reply-with" => m.reply_with = Some(self.expression("reply-with")?),
                b"in-reply-to" => m.in_reply_to = Some(self.expression("in-reply-to")?),
                b"reply-by" => {
                    let at = self.at();
                    let time = self
                        .attribute(&e, "time", "reply-by")?
                        .ok_or_else(|| self.error("reply-by", "reply-by without time"))?;
                    let text = self.text("reply-by")?;
                    if !text.trim().is_empty() {
                        return Err(
                            self.error("reply-by", "reply-by has text; the time is an attribute")
                        );
                    }
                    m.reply_by =
                        Some(DateTime::parse(time.as_bytes(), at).map_err(|e| match e {
                            Error::Decode { offset, reason, .. } => Error::Decode {
                                offset,
                                field: "reply-by",
                                reason,
                            },
                            other => other,
                        })?);
                }
                b"user-defined" => {
                    let param = self.user_defined(&e, "user parameter")?;
                    m.user_params.push(param);
                }
                other => {
                    return Err(self.error(
                        "message",
                        format!("unknown element <{}>", String::from_utf8_lossy(other)),
                    ));
                }
            }
        }
        Ok(m)
    }
}

/// Decodes one message from the start of `input`; returns it and the bytes used.
pub(crate) fn decode(input: &[u8], limits: &Limits) -> Result<(AclMessage, usize), Error> {
    if input.len() > limits.max_size {
        return Err(Error::Limit {
            offset: limits.max_size,
            what: "message size",
        });
    }
    let mut reader = Reader::from_reader(input);
    let config = reader.config_mut();
    config.expand_empty_elements = true;
    config.check_end_names = true;
    let mut xml = Xml {
        reader,
        limits,
        depth: 0,
    };
    loop {
        match xml.next("document")? {
            Event::Start(e) if e.local_name().as_ref() == b"fipa-message" => {
                xml.enter()?;
                let m = xml.message(&e)?;
                return Ok((m, xml.at()));
            }
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) | Event::DocType(_) => {}
            Event::Text(t) if t.iter().all(u8::is_ascii_whitespace) => {}
            _ => return Err(xml.error("document", "expected a fipa-message element")),
        }
    }
}
