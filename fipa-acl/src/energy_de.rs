//! Reading an `idea-energy` concept frame straight into the IDEA message it writes, with serde: a
//! `Deserializer` over SL0 terms (frames are maps whose parameter names take `_` for `-`, sequences and sets
//! are sequences, strings, numbers and the words `true`, `false`, `null` are what they say). The same
//! reading as going through the message's JSON form, without building the JSON.

use crate::sl0::Term;
use serde::de::value::{StrDeserializer, StringDeserializer};
use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// Why a frame is not the message.
#[derive(Debug)]
pub(crate) struct DeError(String);

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> DeError {
        DeError(msg.to_string())
    }
}

/// One term as serde data.
struct TermDe<'a>(&'a Term);

/// A number as IDEA messages write them: an integer, else a float.
fn visit_number<'de, V: Visitor<'de>>(n: &str, v: V) -> Result<V::Value, DeError> {
    if let Ok(i) = n.parse::<i64>() {
        v.visit_i64(i)
    } else if let Ok(u) = n.parse::<u64>() {
        v.visit_u64(u)
    } else if let Some(f) = n.parse::<f64>().ok().filter(|f| f.is_finite()) {
        v.visit_f64(f)
    } else {
        Err(DeError(format!("{n} is not a number IDEA messages use")))
    }
}

fn text(bytes: &[u8]) -> Result<&str, DeError> {
    std::str::from_utf8(bytes).map_err(|_| DeError("a string is not UTF-8".into()))
}

impl<'de> de::Deserializer<'de> for TermDe<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match self.0 {
            Term::Frame { params, .. } => v.visit_map(Frame {
                params: params.iter(),
                value: None,
            }),
            Term::Function { args, .. } if args.is_empty() => v.visit_map(Frame {
                params: [].iter(),
                value: None,
            }),
            Term::Sequence(items) | Term::Set(items) => v.visit_seq(Items(items.iter())),
            Term::String(s) => v.visit_str(text(s)?),
            Term::Number(n) => visit_number(n, v),
            Term::Word(w) => match w.as_str() {
                "true" => v.visit_bool(true),
                "false" => v.visit_bool(false),
                "null" => v.visit_unit(),
                word => v.visit_str(word),
            },
            other => Err(DeError(format!("{other} has no place in an IDEA message"))),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match self.0 {
            Term::Word(w) if w == "null" => v.visit_none(),
            _ => v.visit_some(self),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        match self.0 {
            // A unit variant is its name.
            Term::String(s) => {
                v.visit_enum(IntoDeserializer::<DeError>::into_deserializer(text(s)?))
            }
            Term::Word(w) => {
                v.visit_enum(IntoDeserializer::<DeError>::into_deserializer(w.as_str()))
            }
            // A variant with data is a frame of one parameter, as its JSON form is an object of one key.
            Term::Frame { params, .. } if params.len() == 1 => match params.first() {
                Some((name, value)) => v.visit_enum(Variant {
                    name: name.replace('-', "_"),
                    value,
                }),
                None => Err(DeError("an empty variant".into())),
            },
            other => Err(DeError(format!("{other} is not an enum variant"))),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct newtype_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

/// A frame's parameters as a map.
struct Frame<'a> {
    params: std::slice::Iter<'a, (String, Term)>,
    value: Option<&'a Term>,
}

impl<'de> MapAccess<'de> for Frame<'_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some((name, value)) = self.params.next() else {
            return Ok(None);
        };
        self.value = Some(value);
        let key: StringDeserializer<DeError> = name.replace('-', "_").into_deserializer();
        seed.deserialize(key).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let value = self
            .value
            .take()
            .ok_or_else(|| DeError("a value without its parameter".into()))?;
        seed.deserialize(TermDe(value))
    }
}

/// A sequence's items.
struct Items<'a>(std::slice::Iter<'a, Term>);

impl<'de> SeqAccess<'de> for Items<'_> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        self.0
            .next()
            .map(|t| seed.deserialize(TermDe(t)))
            .transpose()
    }
}

/// An enum variant with data.
struct Variant<'a> {
    name: String,
    value: &'a Term,
}

impl<'de, 'a> de::EnumAccess<'de> for Variant<'a> {
    type Error = DeError;
    type Variant = TermDe<'a>;

    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, TermDe<'a>), DeError> {
        let name: StringDeserializer<DeError> = self.name.into_deserializer();
        Ok((seed.deserialize(name)?, TermDe(self.value)))
    }
}

impl<'de> de::VariantAccess<'de> for TermDe<'_> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeError> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, v: V) -> Result<V::Value, DeError> {
        de::Deserializer::deserialize_any(self, v)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        de::Deserializer::deserialize_any(self, v)
    }
}

/// `{"type": type_name, "message": frame}` — the form an `AnyMessage` reads.
pub(crate) struct Tagged<'a> {
    pub(crate) type_name: &'static str,
    pub(crate) frame: &'a Term,
}

impl<'de> de::Deserializer<'de> for Tagged<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        v.visit_map(TaggedAccess {
            tagged: self,
            at: 0,
        })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

struct TaggedAccess<'a> {
    tagged: Tagged<'a>,
    at: u8,
}

impl<'de> MapAccess<'de> for TaggedAccess<'_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let key = match self.at {
            0 => "type",
            1 => "message",
            _ => return Ok(None),
        };
        let key: StrDeserializer<'_, DeError> = key.into_deserializer();
        seed.deserialize(key).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        self.at = self.at.saturating_add(1);
        match self.at {
            1 => {
                let name: StrDeserializer<'_, DeError> = self.tagged.type_name.into_deserializer();
                seed.deserialize(name)
            }
            _ => seed.deserialize(TermDe(self.tagged.frame)),
        }
    }
}
