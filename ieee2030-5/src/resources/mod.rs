//! The IEEE 2030.5 resources DER devices and their servers exchange, one Rust type per schema type, named as
//! in the schema (`DERControl`, `EndDeviceList`, …), fields in schema order.
//!
//! The declarations in `generated.rs` come from the schema itself (`codegen/generate.py` over
//! `csipaus-core.xsd`, which extends `sep.xsd`); a test regenerates them and fails if they differ. Every
//! `…Link` element is a [`Link`] and every `…ListLink` a [`ListLink`], as in the schema.
#![allow(clippy::doc_markdown)]

mod document;
#[rustfmt::skip]
mod generated;

pub use document::{decode, decode_with, encode};
pub use generated::*;

/// A document decoder: a resource type's `decode` (`DERControl::decode`), which returns the value and the
/// bytes it used.
pub type Decode<T> = fn(&[u8]) -> Result<(T, usize), crate::Error>;

/// `any_resource!` builds [`AnyResource`] over the document types.
macro_rules! any_resource {
    ($($name:ident,)*) => {
        /// Any resource this crate reads as a document, or as the `Resource` of a [`Notification`]
        /// (chosen by its `xsi:type`).
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        #[non_exhaustive]
        #[allow(clippy::large_enum_variant)]
        pub enum AnyResource {
            $(
                #[doc = concat!("A `", stringify!($name), "`.")]
                $name($name),
            )*
            /// A resource of a type this crate does not model, kept whole.
            Other($crate::xml::Extension),
        }

        impl AnyResource {
            /// The schema type name (`Other`: the element's name).
            pub fn type_name(&self) -> &str {
                match self {
                    $( Self::$name(_) => stringify!($name), )*
                    Self::Other(e) => &e.name,
                }
            }

            /// Reads the content of `start` as the type named `type_name`.
            pub(crate) fn read_as(
                type_name: &[u8],
                reader: &mut $crate::xml::Reader<'_>,
                start: &$crate::xml::Start<'_>,
            ) -> Result<Self, $crate::Error> {
                $(
                    if type_name == stringify!($name).as_bytes() {
                        return $name::read_content(reader, start).map(Self::$name);
                    }
                )*
                reader.capture(start).map(Self::Other)
            }

            /// Whether `type_name` names a type this crate reads.
            pub(crate) fn knows(type_name: &[u8]) -> bool {
                $( type_name == stringify!($name).as_bytes() || )* false
            }

            /// The namespace of the resource's root element (CSIP-AUS resources are `csipaus:`).
            pub(crate) fn root_ns(&self) -> $crate::xml::WriteNs {
                match self {
                    $( Self::$name(_) => $name::ROOT_NS, )*
                    Self::Other(_) => $crate::xml::WriteNs::Sep,
                }
            }

            pub(crate) fn write_content(&self, writer: &mut $crate::xml::Writer) {
                match self {
                    $( Self::$name(r) => r.write_content(writer), )*
                    Self::Other(e) => {
                        for (name, value) in &e.attributes {
                            writer.kept_attribute(name, value);
                        }
                        if !e.text.is_empty() {
                            writer.text(&e.text);
                        }
                        for child in &e.children {
                            writer.extension(child);
                        }
                    }
                }
            }
        }

        $(
            impl From<$name> for AnyResource {
                fn from(r: $name) -> Self {
                    Self::$name(r)
                }
            }
        )*
    };
}
pub(crate) use any_resource;
