//! The XML layer: a namespace-aware pull [`Reader`], a [`Writer`] that emits schema order, the [`Element`]
//! trait every field type implements, and the `sep_type!` macro the generated resource declarations use.

pub mod extension;
pub mod facet;
pub mod read;
pub mod write;

pub use extension::{Extension, Unknown};
pub use read::{Limits, Ns, Reader, Start};
pub use write::{WriteNs, Writer};

use crate::Error;
use crate::primitives::HexBinary;

/// Something that can be an element's content: a value (`<version>3</version>`) or a complex type.
pub trait Element: Sized {
    /// Reads the element `start` has just entered, through its end tag.
    ///
    /// # Errors
    /// [`Error`] with the byte offset for bad values, missing or repeated children, broken XML.
    fn read(reader: &mut Reader<'_>, start: &Start<'_>, field: &'static str)
    -> Result<Self, Error>;

    /// Writes the element `name` with this content.
    fn write(&self, writer: &mut Writer, ns: WriteNs, name: &str);
}

/// A value written as text: element content or an attribute value.
pub trait Text: Sized {
    /// Reads the value from its lexical form (surrounding white space ignored where the type collapses it).
    fn parse(text: &str) -> Option<Self>;
    /// Appends the canonical lexical form.
    fn write(&self, out: &mut String);
    /// Reads the value from text already owned (a string keeps it); the text back when it is not valid.
    ///
    /// # Errors
    /// The text, when it is not a valid value.
    fn from_text(text: String) -> Result<Self, String> {
        Self::parse(&text).ok_or(text)
    }
}

/// A value is an element with text content.
impl<T: Text> Element for T {
    fn read(
        reader: &mut Reader<'_>,
        start: &Start<'_>,
        field: &'static str,
    ) -> Result<Self, Error> {
        let text = reader.text(start)?;
        T::from_text(text).map_err(|text| invalid_value::<T>(&text, field, start.offset))
    }
    fn write(&self, writer: &mut Writer, ns: WriteNs, name: &str) {
        writer.start(ns, name);
        writer.text(&text_of(self));
        writer.end(ns, name);
    }
}

/// Reads `text` as a value of the field `field` at `offset`.
///
/// # Errors
/// [`Error::Value`] naming the field.
pub fn parse_text<T: Text>(text: &str, field: &str, offset: u64) -> Result<T, Error> {
    T::parse(text).ok_or_else(|| invalid_value::<T>(text, field, offset))
}

fn invalid_value<T>(text: &str, field: &str, offset: u64) -> Error {
    Error::Value {
        offset,
        field: field.to_owned(),
        reason: format!("{text:?} is not a valid {}", short_type_name::<T>()),
    }
}

fn short_type_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    full.rsplit("::").next().unwrap_or(full)
}

/// The canonical text of a value.
pub fn text_of<T: Text>(value: &T) -> String {
    let mut out = String::new();
    value.write(&mut out);
    out
}

macro_rules! integer_text {
    ($($t:ty),*) => {$(
        impl Text for $t {
            /// Rust's integer syntax is the schema's: an optional sign, then digits.
            fn parse(text: &str) -> Option<Self> {
                text.trim().parse().ok()
            }
            fn write(&self, out: &mut String) {
                use std::fmt::Write as _;
                let _ = write!(out, "{self}");
            }
        }
    )*};
}

integer_text!(u8, u16, u32, u64, i8, i16, i32, i64);

/// `xs:boolean`: `true`, `false`, `1`, `0` read; `true` and `false` written.
impl Text for bool {
    fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        }
    }
    fn write(&self, out: &mut String) {
        out.push_str(if *self { "true" } else { "false" });
    }
}

impl Text for String {
    fn parse(text: &str) -> Option<Self> {
        Some(text.to_owned())
    }
    fn from_text(text: String) -> Result<Self, String> {
        Ok(text)
    }
    fn write(&self, out: &mut String) {
        out.push_str(self);
    }
}

impl<const N: usize> Text for HexBinary<N> {
    fn parse(text: &str) -> Option<Self> {
        Self::parse(text).ok()
    }
    fn write(&self, out: &mut String) {
        use std::fmt::Write as _;
        let _ = write!(out, "{self}");
    }
}

/// Stores a single-occurrence child, refusing a second one.
///
/// # Errors
/// [`Error::Structure`] when the slot is already filled.
pub fn once<T>(
    slot: &mut Option<T>,
    value: T,
    resource: &'static str,
    field: &'static str,
    offset: u64,
) -> Result<(), Error> {
    if slot.is_some() {
        return Err(structure(resource, field, "repeated", offset));
    }
    *slot = Some(value);
    Ok(())
}

/// A required child or attribute.
///
/// # Errors
/// [`Error::Structure`] when it was not there.
pub fn required<T>(
    slot: Option<T>,
    resource: &'static str,
    field: &'static str,
    offset: u64,
) -> Result<T, Error> {
    slot.ok_or_else(|| structure(resource, field, "missing", offset))
}

/// A child that occurs one or more times.
///
/// # Errors
/// [`Error::Structure`] when there was none.
pub fn at_least_one<T>(
    items: Vec<T>,
    resource: &'static str,
    field: &'static str,
    offset: u64,
) -> Result<Vec<T>, Error> {
    if items.is_empty() {
        return Err(structure(resource, field, "missing", offset));
    }
    Ok(items)
}

fn structure(
    resource: &'static str,
    field: &'static str,
    reason: &'static str,
    offset: u64,
) -> Error {
    Error::Structure {
        offset,
        resource,
        field,
        reason,
    }
}

/// Declares a resource type from its schema description: a struct with one field per attribute and child
/// element (schema order), serde derives for JSON, and its [`Element`] reader and writer. A field may name a
/// [`facet::Facet`] after `;`: the reader refuses a value that breaks it.
macro_rules! sep_type {
    (
        $name:ident $(in $rootns:ident)? {
            attributes { $($aname:ident : $akind:ident $aty:ty = $axml:literal $(; $afacet:expr)?,)* }
            elements { $($ename:ident : $ekind:ident $ety:ty = $ens:ident $exml:literal $(; $efacet:expr)?,)* }
        }
    ) => {
        #[doc = concat!("IEEE 2030.5 `", stringify!($name), "`: attributes and elements in schema order.")]
        #[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
        #[serde(default)]
        #[allow(non_snake_case)]
        pub struct $name {
            $(
                #[doc = concat!("Attribute `", $axml, "` (", stringify!($akind), ").")]
                #[serde(rename = $axml, skip_serializing_if = "crate::xml::Absent::is_absent")]
                pub $aname: $crate::xml::field_type!($akind $aty),
            )*
            $(
                #[doc = concat!("Element `", $exml, "` (", stringify!($ekind), ").")]
                #[serde(rename = $exml, skip_serializing_if = "crate::xml::Absent::is_absent")]
                pub $ename: $crate::xml::field_type!($ekind $ety),
            )*
            /// Extension elements and attributes outside the schema, kept as read.
            #[serde(skip_serializing_if = "crate::xml::Unknown::is_empty")]
            pub unknown: $crate::xml::Unknown,
        }

        impl $crate::xml::Absent for $name {}

        impl $name {
            /// The type's name in the schema.
            pub const NAME: &'static str = stringify!($name);

            /// The namespace of its root element in a document.
            pub(crate) const ROOT_NS: $crate::xml::WriteNs = $crate::xml::root_ns!($($rootns)?);

            /// Reads a document whose root element is this resource; returns it and the bytes used.
            ///
            /// # Errors
            /// [`Error`](crate::Error) with the byte offset: broken XML, a bad value, a required element
            /// missing, another root element, a limit exceeded.
            pub fn decode(input: &[u8]) -> Result<(Self, usize), $crate::Error> {
                $crate::resources::document::decode_root(input, Self::NAME, Self::read_content)
            }

            /// Writes this resource as a document (schema order, canonical values).
            pub fn encode(&self, out: &mut Vec<u8>) {
                $crate::resources::document::encode_root(
                    Self::ROOT_NS,
                    Self::NAME,
                    out,
                    |w| self.write_content(w),
                );
            }

            #[allow(unused_mut, unused_variables)]
            pub(crate) fn read_content(
                reader: &mut $crate::xml::Reader<'_>,
                start: &$crate::xml::Start<'_>,
            ) -> Result<Self, $crate::Error> {
                const RESOURCE: &str = stringify!($name);
                $( let mut $aname: Option<$aty> = None; )*
                let mut unknown = $crate::xml::Unknown::default();
                for attribute in reader.attributes(start)? {
                    match (attribute.ns.as_deref(), attribute.local) {
                        $(
                            (None, a) if a == $axml.as_bytes() => {
                                let value = $crate::xml::parse_text(
                                    &attribute.value,
                                    concat!(stringify!($name), "@", $axml),
                                    start.offset,
                                )?;
                                $(
                                    $crate::xml::facet::check(
                                        &value,
                                        $afacet,
                                        concat!(stringify!($name), "@", $axml),
                                        start.offset,
                                    )?;
                                )?
                                $aname = Some(value);
                            }
                        )*
                        (Some($crate::xml::read::XSI_NS), _) => {}
                        _ => unknown.attributes.push((
                            attribute.kept,
                            attribute.value.into_owned(),
                        )),
                    }
                }
                $( let mut $ename = $crate::xml::slot!($ekind $ety); )*
                while let Some(child) = reader.child(start)? {
                    match (&child.ns, child.local()) {
                        $(
                            ($crate::xml::ns_pattern!($ens), e) if e == $exml.as_bytes() => {
                                let value = <$ety as $crate::xml::Element>::read(
                                    reader,
                                    &child,
                                    concat!(stringify!($name), ".", $exml),
                                )?;
                                $(
                                    $crate::xml::facet::check(
                                        &value,
                                        $efacet,
                                        concat!(stringify!($name), ".", $exml),
                                        child.offset,
                                    )?;
                                )?
                                $crate::xml::store!($ekind $ename, value, RESOURCE, $exml, child.offset);
                            }
                        )*
                        _ => unknown.elements.push(reader.capture(&child)?),
                    }
                }
                Ok(Self {
                    $( $aname: $crate::xml::finish!($akind $aname, RESOURCE, $axml, start.offset), )*
                    $( $ename: $crate::xml::finish!($ekind $ename, RESOURCE, $exml, start.offset), )*
                    unknown,
                })
            }

            pub(crate) fn write_content(&self, writer: &mut $crate::xml::Writer) {
                $( $crate::xml::write_attribute!($akind writer, &self.$aname, $axml); )*
                for (name, value) in &self.unknown.attributes {
                    writer.kept_attribute(name, value);
                }
                $( $crate::xml::write_element!($ekind writer, &self.$ename, $ens, $exml); )*
                for element in &self.unknown.elements {
                    writer.extension(element);
                }
            }
        }

        impl $crate::xml::Element for $name {
            fn read(
                reader: &mut $crate::xml::Reader<'_>,
                start: &$crate::xml::Start<'_>,
                _: &'static str,
            ) -> Result<Self, $crate::Error> {
                Self::read_content(reader, start)
            }

            fn write(&self, writer: &mut $crate::xml::Writer, ns: $crate::xml::WriteNs, name: &str) {
                writer.start(ns, name);
                self.write_content(writer);
                writer.end(ns, name);
            }
        }
    };
}
pub(crate) use sep_type;

/// Field types by occurrence: `one` T, `opt` `Option<T>`, `many` `Vec<T>` (0 or more), `some` `Vec<T>` (1 or
/// more).
macro_rules! field_type {
    (one $t:ty) => { $t };
    (opt $t:ty) => { Option<$t> };
    (many $t:ty) => { Vec<$t> };
    (some $t:ty) => { Vec<$t> };
}
pub(crate) use field_type;

macro_rules! slot {
    (one $t:ty) => {
        Option::<$t>::None
    };
    (opt $t:ty) => {
        Option::<$t>::None
    };
    (many $t:ty) => {
        Vec::<$t>::new()
    };
    (some $t:ty) => {
        Vec::<$t>::new()
    };
}
pub(crate) use slot;

macro_rules! store {
    (one $slot:ident, $v:expr, $r:expr, $f:expr, $o:expr) => {
        $crate::xml::once(&mut $slot, $v, $r, $f, $o)?
    };
    (opt $slot:ident, $v:expr, $r:expr, $f:expr, $o:expr) => {
        $crate::xml::once(&mut $slot, $v, $r, $f, $o)?
    };
    (many $slot:ident, $v:expr, $r:expr, $f:expr, $o:expr) => {
        $slot.push($v)
    };
    (some $slot:ident, $v:expr, $r:expr, $f:expr, $o:expr) => {
        $slot.push($v)
    };
}
pub(crate) use store;

macro_rules! finish {
    (one $slot:ident, $r:expr, $f:expr, $o:expr) => {
        $crate::xml::required($slot, $r, $f, $o)?
    };
    (opt $slot:ident, $r:expr, $f:expr, $o:expr) => {
        $slot
    };
    (many $slot:ident, $r:expr, $f:expr, $o:expr) => {
        $slot
    };
    (some $slot:ident, $r:expr, $f:expr, $o:expr) => {
        $crate::xml::at_least_one($slot, $r, $f, $o)?
    };
}
pub(crate) use finish;

macro_rules! ns_pattern {
    (sep) => {
        $crate::xml::Ns::Sep
    };
    (csip) => {
        $crate::xml::Ns::Csip
    };
}
pub(crate) use ns_pattern;

/// The namespace of a resource's root element: IEEE 2030.5's unless the declaration says `in csip`.
macro_rules! root_ns {
    () => {
        $crate::xml::WriteNs::Sep
    };
    ($ns:ident) => {
        $crate::xml::write_ns!($ns)
    };
}
pub(crate) use root_ns;

macro_rules! write_ns {
    (sep) => {
        $crate::xml::WriteNs::Sep
    };
    (csip) => {
        $crate::xml::WriteNs::Csip
    };
}
pub(crate) use write_ns;

macro_rules! write_attribute {
    (one $w:ident, $v:expr, $n:expr) => {
        $w.attribute($n, &$crate::xml::text_of($v))
    };
    (opt $w:ident, $v:expr, $n:expr) => {
        if let Some(v) = $v {
            $w.attribute($n, &$crate::xml::text_of(v))
        }
    };
}
pub(crate) use write_attribute;

macro_rules! write_element {
    (one $w:ident, $v:expr, $ns:ident, $n:expr) => {
        $crate::xml::Element::write($v, $w, $crate::xml::write_ns!($ns), $n)
    };
    (opt $w:ident, $v:expr, $ns:ident, $n:expr) => {
        if let Some(v) = $v {
            $crate::xml::Element::write(v, $w, $crate::xml::write_ns!($ns), $n)
        }
    };
    (many $w:ident, $v:expr, $ns:ident, $n:expr) => {
        for v in $v {
            $crate::xml::Element::write(v, $w, $crate::xml::write_ns!($ns), $n)
        }
    };
    (some $w:ident, $v:expr, $ns:ident, $n:expr) => {
        for v in $v {
            $crate::xml::Element::write(v, $w, $crate::xml::write_ns!($ns), $n)
        }
    };
}
pub(crate) use write_element;

/// Whether a field is left out of JSON: `None`, an empty list; values that are always there never are.
pub trait Absent {
    /// Whether to leave the field out.
    fn is_absent(&self) -> bool {
        false
    }
}

impl<T> Absent for Option<T> {
    fn is_absent(&self) -> bool {
        self.is_none()
    }
}

impl<T> Absent for Vec<T> {
    fn is_absent(&self) -> bool {
        self.is_empty()
    }
}

macro_rules! present {
    ($($t:ty),*) => {$( impl Absent for $t {} )*};
}
present!(u8, u16, u32, u64, i8, i16, i32, i64, bool, String);
impl<const N: usize> Absent for HexBinary<N> {}

/// A notification's `Resource`, boxed because a notification is itself a resource.
impl Element for Box<crate::resources::AnyResource> {
    fn read(
        reader: &mut Reader<'_>,
        start: &Start<'_>,
        field: &'static str,
    ) -> Result<Self, Error> {
        crate::resources::AnyResource::read(reader, start, field).map(Box::new)
    }
    fn write(&self, writer: &mut Writer, ns: WriteNs, name: &str) {
        crate::resources::AnyResource::write(self, writer, ns, name);
    }
}

impl<T: Absent> Absent for Box<T> {
    fn is_absent(&self) -> bool {
        T::is_absent(self)
    }
}
