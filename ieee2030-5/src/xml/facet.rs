//! Schema facets a value must meet beyond its Rust type (XSD Part 2 clause 4.3): the `maxLength` of the
//! `StringN` types — octets of UTF-8, IEEE 2030.5 clause 5.2.2 — and the `minInclusive`/`maxInclusive` range of
//! integers narrower than the Rust type that holds them (`Int48`, `UInt40`, `UInt48`). The generated resource
//! declarations name each field's facet (from the schema, by `codegen/generate.py`); reading a document
//! checks it, so a value the schema refuses never enters the SDK (a 4 MiB `description` where the schema says
//! `String32` is an [`Error::Value`] at its offset).

use crate::Error;

/// A facet of a simple type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Facet {
    /// `maxLength`: at most this many octets of UTF-8.
    MaxLength(usize),
    /// `minInclusive` and `maxInclusive`.
    Range {
        /// The least value allowed.
        min: i128,
        /// The greatest value allowed.
        max: i128,
    },
}

/// A value a facet can be checked on.
pub trait Faceted {
    /// Why the value breaks `facet`, or `None` when it meets it (or the facet does not apply to its type).
    fn violation(&self, facet: Facet) -> Option<String>;
}

impl Faceted for String {
    fn violation(&self, facet: Facet) -> Option<String> {
        match facet {
            Facet::MaxLength(most) if self.len() > most => Some(format!(
                "{} octets of UTF-8; the schema allows at most {most}",
                self.len()
            )),
            _ => None,
        }
    }
}

macro_rules! faceted_integer {
    ($($t:ty),*) => {$(
        impl Faceted for $t {
            fn violation(&self, facet: Facet) -> Option<String> {
                match facet {
                    Facet::Range { min, max } if !(min..=max).contains(&i128::from(*self)) => Some(
                        format!("{self} is outside the schema's range {min}..={max}"),
                    ),
                    _ => None,
                }
            }
        }
    )*};
}

faceted_integer!(u8, u16, u32, u64, i8, i16, i32, i64);

/// Checks `value` of the field `field` (read at `offset`) against `facet`.
///
/// # Errors
/// [`Error::Value`] naming the field and the facet broken.
pub fn check<T: Faceted>(value: &T, facet: Facet, field: &str, offset: u64) -> Result<(), Error> {
    match value.violation(facet) {
        None => Ok(()),
        Some(reason) => Err(Error::Value {
            offset,
            field: field.to_owned(),
            reason,
        }),
    }
}
