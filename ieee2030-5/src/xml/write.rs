//! Writing documents: elements in the order the generated code emits them (the schema's), the IEEE 2030.5
//! namespace as the default one, `csipaus:` and `xsi:` declared on the root only when used.

use super::extension::Extension;
use super::read::{CSIP_NS, SEP_NS, XML_NS, XSI_NS};

/// The namespace an element is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteNs {
    /// IEEE 2030.5 (the default namespace, no prefix).
    Sep,
    /// CSIP-AUS (`csipaus:`).
    Csip,
}

/// Builds one document.
#[derive(Debug, Default)]
pub struct Writer {
    out: String,
    /// A start tag is open: attributes may still follow, `>` or `/>` not yet written.
    open: bool,
    /// Where the root's namespace declarations go.
    root_declarations: usize,
    csip: bool,
    xsi: bool,
    depth: usize,
    /// Prefixes made up for kept attributes in other namespaces.
    prefixes: u32,
}

impl Writer {
    /// An empty document.
    pub fn new() -> Self {
        Self::default()
    }

    /// Opens element `name`; the first one is the root and carries the namespace declarations.
    pub fn start(&mut self, ns: WriteNs, name: &str) {
        let prefix = self.prefix(ns);
        self.open_tag(prefix, name);
        if self.depth == 0 {
            self.out.push_str(" xmlns=\"");
            self.out.push_str(SEP_NS);
            self.out.push('"');
            self.root_declarations = self.out.len();
        }
        self.depth = self.depth.saturating_add(1);
    }

    /// An attribute of the element just opened.
    pub fn attribute(&mut self, name: &str, value: &str) {
        if !self.open {
            return;
        }
        self.out.push(' ');
        self.out.push_str(name);
        self.out.push_str("=\"");
        escape_into(&mut self.out, value, true);
        self.out.push('"');
    }

    /// An attribute kept from the input (see [`Extension::attributes`]): `{uri}name` is written with a
    /// prefix declared on the same element.
    pub fn kept_attribute(&mut self, name: &str, value: &str) {
        if !self.open {
            return;
        }
        if let Some((uri, local)) = name.strip_prefix('{').and_then(|n| n.rsplit_once('}')) {
            self.prefixes = self.prefixes.saturating_add(1);
            let prefix = format!("a{}", self.prefixes);
            self.attribute(&format!("xmlns:{prefix}"), uri);
            self.attribute(&format!("{prefix}:{local}"), value);
            return;
        }
        if name.starts_with("xsi:") {
            self.xsi = true;
        }
        self.attribute(name, value);
    }

    /// `xsi:type="name"` on the element just opened.
    pub fn xsi_type(&mut self, name: &str) {
        self.xsi = true;
        self.attribute("xsi:type", name);
    }

    /// Text content of the element just opened.
    pub fn text(&mut self, text: &str) {
        self.close_tag();
        escape_into(&mut self.out, text, false);
    }

    /// Closes element `name`.
    pub fn end(&mut self, ns: WriteNs, name: &str) {
        self.depth = self.depth.saturating_sub(1);
        let prefix = self.prefix(ns);
        self.close_element(prefix, name);
    }

    /// An element kept from the input, in its own namespace (declared on it).
    pub fn extension(&mut self, element: &Extension) {
        let prefix = match element.namespace.as_deref() {
            None | Some(SEP_NS) => None,
            Some(CSIP_NS) => self.prefix(WriteNs::Csip),
            // Bound by XML itself; it may not be declared.
            Some(XML_NS) => Some("xml"),
            Some(_) => Some("ext"),
        };
        self.open_tag(prefix, &element.name);
        if let (Some("ext"), Some(uri)) = (prefix, element.namespace.as_deref()) {
            self.attribute("xmlns:ext", uri);
        }
        for (name, value) in &element.attributes {
            self.kept_attribute(name, value);
        }
        if !element.text.is_empty() {
            self.text(&element.text);
        }
        for child in &element.children {
            self.extension(child);
        }
        self.close_element(prefix, &element.name);
    }

    /// The document, with the declarations its content needs.
    pub fn finish(mut self) -> String {
        let mut declarations = String::new();
        if self.csip {
            declarations.push_str(" xmlns:csipaus=\"");
            declarations.push_str(CSIP_NS);
            declarations.push('"');
        }
        if self.xsi {
            declarations.push_str(" xmlns:xsi=\"");
            declarations.push_str(XSI_NS);
            declarations.push('"');
        }
        if !declarations.is_empty() && self.out.is_char_boundary(self.root_declarations) {
            self.out.insert_str(self.root_declarations, &declarations);
        }
        self.out
    }

    fn prefix(&mut self, ns: WriteNs) -> Option<&'static str> {
        match ns {
            WriteNs::Sep => None,
            WriteNs::Csip => {
                self.csip = true;
                Some("csipaus")
            }
        }
    }

    /// `<prefix:name`, left open for attributes.
    fn open_tag(&mut self, prefix: Option<&str>, name: &str) {
        self.close_tag();
        self.out.push('<');
        self.qualified(prefix, name);
        self.open = true;
    }

    /// `/>` when nothing was written inside, else `</prefix:name>`.
    fn close_element(&mut self, prefix: Option<&str>, name: &str) {
        if self.open {
            self.out.push_str("/>");
            self.open = false;
            return;
        }
        self.out.push_str("</");
        self.qualified(prefix, name);
        self.out.push('>');
    }

    fn qualified(&mut self, prefix: Option<&str>, name: &str) {
        if let Some(p) = prefix {
            self.out.push_str(p);
            self.out.push(':');
        }
        self.out.push_str(name);
    }

    fn close_tag(&mut self) {
        if self.open {
            self.out.push('>');
            self.open = false;
        }
    }
}

/// Escapes markup; characters XML 1.0 cannot carry become U+FFFD.
fn escape_into(out: &mut String, text: &str, attribute: bool) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' if attribute => out.push_str("&quot;"),
            '\r' => out.push_str("&#13;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\t' if attribute => out.push_str("&#9;"),
            // Not a character of XML 1.0, not even as a reference.
            '\u{0}'..='\u{8}'
            | '\u{b}'
            | '\u{c}'
            | '\u{e}'..='\u{1f}'
            | '\u{fffe}'
            | '\u{ffff}' => {
                out.push('\u{fffd}');
            }
            c => out.push(c),
        }
    }
}
