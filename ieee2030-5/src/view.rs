//! A resource for people: an indented outline of its attributes and elements in schema order, named as in
//! the schema, values in their canonical form.

use crate::resources::{AnyResource, encode};
use crate::xml::{Extension, Limits, Reader};
use std::fmt::Write as _;

/// The resource as an outline: its type, then one line per attribute and element (`mRID:
/// 00…01`), nested elements indented.
pub fn to_text(resource: &AnyResource) -> String {
    // The canonical document read back as a tree gives the schema's order and the canonical values.
    let mut xml = Vec::new();
    encode(resource, &mut xml);
    let tree = Reader::new(&xml, Limits::default()).and_then(|mut reader| {
        let root = reader.root()?;
        reader.capture(&root)
    });
    let mut out = String::new();
    match tree {
        Ok(tree) => outline(&mut out, &tree, 0),
        Err(e) => {
            let _ = writeln!(out, "(cannot show: {e})");
        }
    }
    out
}

fn outline(out: &mut String, element: &Extension, depth: usize) {
    let indent = "  ".repeat(depth);
    let prefix = match element.namespace.as_deref() {
        None => String::new(),
        Some(crate::xml::read::CSIP_NS) => "csipaus:".to_owned(),
        Some(other) => format!("{{{other}}}"),
    };
    if element.children.is_empty() && element.attributes.is_empty() {
        let _ = writeln!(out, "{indent}{prefix}{}: {}", element.name, element.text);
        return;
    }
    if depth == 0 {
        let _ = writeln!(out, "{}", element.name);
    } else {
        let _ = writeln!(out, "{indent}{prefix}{}:", element.name);
    }
    let inner = "  ".repeat(depth.saturating_add(1));
    for (name, value) in &element.attributes {
        let _ = writeln!(out, "{inner}{name}: {value}");
    }
    if !element.text.is_empty() {
        let _ = writeln!(out, "{inner}{}", element.text);
    }
    for child in &element.children {
        outline(out, child, depth.saturating_add(1));
    }
}
