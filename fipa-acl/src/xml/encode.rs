//! From an [`AclMessage`] to the XML representation (SC00071).

use crate::error::Error;
use crate::message::{AclMessage, AgentIdentifier, Expression, ParameterValue};
use crate::string::{Limits, read_expression, write_expression};
use std::fmt::Write as _;

/// Whether XML 1.0 can carry `c` at all (its `Char` production).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Appends `text` escaped for element content (`in_attribute` false) or a double-quoted attribute value.
fn escape(
    text: &str,
    in_attribute: bool,
    field: &'static str,
    out: &mut String,
) -> Result<(), Error> {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            '"' if in_attribute => out.push_str("&quot;"),
            '\t' if in_attribute => out.push_str("&#9;"),
            '\n' if in_attribute => out.push_str("&#10;"),
            c if is_xml_char(c) => out.push(c),
            c => {
                return Err(Error::Invalid {
                    field,
                    reason: format!("U+{:04X} cannot appear in XML 1.0", u32::from(c)),
                });
            }
        }
    }
    Ok(())
}

fn utf8<'a>(bytes: &'a [u8], field: &'static str) -> Result<&'a str, Error> {
    std::str::from_utf8(bytes).map_err(|e| Error::Invalid {
        field,
        reason: format!(
            "not UTF-8 at byte {}: XML cannot carry it (use the string or bit-efficient representation)",
            e.valid_up_to()
        ),
    })
}

/// `<tag>text</tag>`.
fn element(tag: &str, text: &str, field: &'static str, out: &mut String) -> Result<(), Error> {
    let _ = write!(out, "<{tag}>");
    escape(text, false, field, out)?;
    let _ = write!(out, "</{tag}>");
    Ok(())
}

/// The text of an expression-valued element (module policy).
fn expression_text(e: &Expression, field: &'static str) -> Result<String, Error> {
    if let Expression::String(s) = e
        && let Ok(text) = std::str::from_utf8(s)
    {
        let reads_back = match read_expression(s, &Limits::default()) {
            None => true,
            Some(Expression::String(back)) => back == *s,
            Some(_) => false,
        };
        if reads_back {
            return Ok(text.to_owned());
        }
    }
    let mut bytes = Vec::new();
    write_expression(e, &mut bytes)?;
    utf8(&bytes, field).map(str::to_owned)
}

fn user_defined(
    name: &str,
    value: &Expression,
    field: &'static str,
    out: &mut String,
) -> Result<(), Error> {
    if !crate::string::is_parameter_name(name) {
        return Err(Error::Invalid {
            field,
            reason: format!("{name:?} is not a parameter name"),
        });
    }
    out.push_str("<user-defined href=\"X-");
    escape(name, true, field, out)?;
    out.push_str("\">");
    escape(&expression_text(value, field)?, false, field, out)?;
    out.push_str("</user-defined>");
    Ok(())
}

fn agent_identifier(aid: &AgentIdentifier, out: &mut String) -> Result<(), Error> {
    out.push_str("<agent-identifier><name id=\"");
    escape(&aid.name, true, "agent-identifier :name", out)?;
    out.push_str("\"/>");
    if !aid.addresses.is_empty() {
        out.push_str("<addresses>");
        for url in &aid.addresses {
            out.push_str("<url href=\"");
            escape(url, true, "agent-identifier :addresses", out)?;
            out.push_str("\"/>");
        }
        out.push_str("</addresses>");
    }
    if !aid.resolvers.is_empty() {
        out.push_str("<resolvers>");
        for r in &aid.resolvers {
            agent_identifier(r, out)?;
        }
        out.push_str("</resolvers>");
    }
    for (name, value) in &aid.user_params {
        user_defined(name, value, "agent-identifier user parameter", out)?;
    }
    out.push_str("</agent-identifier>");
    Ok(())
}

fn agent_identifiers(tag: &str, aids: &[AgentIdentifier], out: &mut String) -> Result<(), Error> {
    if aids.is_empty() {
        return Ok(());
    }
    let _ = write!(out, "\n<{tag}>");
    for aid in aids {
        agent_identifier(aid, out)?;
    }
    let _ = write!(out, "</{tag}>");
    Ok(())
}

/// Appends the document to `out`.
pub(crate) fn encode(m: &AclMessage, out: &mut String) -> Result<(), Error> {
    let Some(performative) = m.performative.performative() else {
        return Err(Error::Invalid {
            field: "performative",
            reason: format!(
                "the XML representation has no user-defined message types ({})",
                m.performative
            ),
        });
    };
    let _ = write!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<fipa-message act=\"{}\">",
        performative.name()
    );
    if let Some(sender) = &m.sender {
        out.push_str("\n<sender>");
        agent_identifier(sender, out)?;
        out.push_str("</sender>");
    }
    agent_identifiers("receiver", &m.receivers, out)?;
    if let Some(content) = &m.content {
        out.push('\n');
        element("content", utf8(content, "content")?, "content", out)?;
    }
    for (name, value) in m.expression_parameters() {
        let text = match value {
            None => continue,
            Some(ParameterValue::Expression(e)) => expression_text(e, name)?,
            Some(ParameterValue::Text(t)) => t.to_owned(),
        };
        out.push('\n');
        element(name, &text, name, out)?;
    }
    if let Some(t) = &m.reply_by {
        let _ = write!(out, "\n<reply-by time=\"{t}\"/>");
    }
    agent_identifiers("reply-to", &m.reply_to, out)?;
    for (name, value) in &m.user_params {
        out.push('\n');
        user_defined(name, value, "user parameter", out)?;
    }
    out.push_str("\n</fipa-message>\n");
    Ok(())
}
