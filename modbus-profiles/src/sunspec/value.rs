//! Point values: registers to typed values and back (big-endian, high word first), with the SunSpec
//! not-implemented values read as [`Value::Absent`], never as numbers.

use super::model::PointType;
use crate::Error;
use std::net::{Ipv4Addr, Ipv6Addr};

/// A point's value as read from its registers.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// The device does not implement the point (its registers hold the type's not-implemented value).
    Absent,
    /// A signed integer (`int16/32/64`, `sunssf`).
    Int(i64),
    /// An unsigned integer (`uint16/32/64`, `count`, `acc16/32/64`, `enum16/32`, `bitfield16/32`, `pad`).
    Uint(u64),
    /// A floating-point number (`float32`, `float64`).
    Float(f64),
    /// Text (`string`), NUL padding removed.
    Text(String),
    /// A `string` whose bytes are not UTF-8, NUL padding removed, kept exactly.
    Bytes(Vec<u8>),
    /// An IPv4 address (`ipaddr`).
    Ipv4(Ipv4Addr),
    /// An IPv6 address (`ipv6addr`).
    Ipv6(Ipv6Addr),
    /// A MAC address (`eui48`).
    Eui48([u8; 6]),
}

impl Value {
    /// The value as a number, if it is one.
    pub fn as_f64(&self) -> Option<f64> {
        #[allow(clippy::cast_precision_loss)]
        match self {
            Self::Int(v) => Some(*v as f64),
            Self::Uint(v) => Some(*v as f64),
            Self::Float(v) => Some(*v),
            _ => None,
        }
    }

    /// The value as an integer, if it is one that fits.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Self::Int(v) => Some(*v),
            Self::Uint(v) => i64::try_from(*v).ok(),
            _ => None,
        }
    }

    /// The value as JSON (`null` when absent; addresses as text).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Self::Absent => J::Null,
            Self::Int(v) => J::from(*v),
            Self::Uint(v) => J::from(*v),
            Self::Float(v) => serde_json::Number::from_f64(*v).map_or(J::Null, J::Number),
            Self::Text(s) => J::from(s.as_str()),
            Self::Bytes(b) => J::from(String::from_utf8_lossy(b).into_owned()),
            Self::Ipv4(a) => J::from(a.to_string()),
            Self::Ipv6(a) => J::from(a.to_string()),
            Self::Eui48(m) => J::from(
                m.iter()
                    .map(|b| format!("{b:02X}"))
                    .collect::<Vec<_>>()
                    .join(":"),
            ),
        }
    }
}

fn word(regs: &[u16], n: usize) -> u64 {
    regs.iter()
        .take(n)
        .fold(0u64, |acc, r| (acc << 16) | u64::from(*r))
}

fn bytes(regs: &[u16]) -> Vec<u8> {
    regs.iter().flat_map(|r| r.to_be_bytes()).collect()
}

/// The inverse of [`bytes`] for an even number of bytes.
fn words(bytes: &[u8]) -> Vec<u16> {
    bytes
        .chunks_exact(2)
        .map(|c| {
            u16::from_be_bytes([
                c.first().copied().unwrap_or(0),
                c.get(1).copied().unwrap_or(0),
            ])
        })
        .collect()
}

/// Decodes a point of type `kind` from its registers (`regs.len()` is the point's size).
pub fn decode(kind: PointType, regs: &[u16]) -> Value {
    use PointType as T;
    #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
    match kind {
        T::Int16 | T::Sunssf => match word(regs, 1) as u16 {
            0x8000 => Value::Absent,
            v => Value::Int(i64::from(v as i16)),
        },
        T::Uint16 | T::Count | T::Enum16 | T::Bitfield16 => match word(regs, 1) {
            0xFFFF => Value::Absent,
            v => Value::Uint(v),
        },
        T::Pad => Value::Uint(word(regs, 1)),
        T::Acc16 | T::Acc32 | T::Acc64 | T::Ipaddr => {
            let v = word(regs, regs.len().min(4));
            match (v, kind) {
                (0, _) => Value::Absent,
                (v, T::Ipaddr) => Value::Ipv4(Ipv4Addr::from(v as u32)),
                (v, _) => Value::Uint(v),
            }
        }
        T::Int32 => match word(regs, 2) as u32 {
            0x8000_0000 => Value::Absent,
            v => Value::Int(i64::from(v as i32)),
        },
        T::Uint32 | T::Enum32 | T::Bitfield32 => match word(regs, 2) {
            0xFFFF_FFFF => Value::Absent,
            v => Value::Uint(v),
        },
        T::Int64 => match word(regs, 4) {
            0x8000_0000_0000_0000 => Value::Absent,
            v => Value::Int(v as i64),
        },
        T::Uint64 => match word(regs, 4) {
            u64::MAX => Value::Absent,
            v => Value::Uint(v),
        },
        T::Float32 => {
            let v = f32::from_bits(word(regs, 2) as u32);
            if v.is_nan() {
                Value::Absent
            } else {
                Value::Float(f64::from(v))
            }
        }
        T::Float64 => {
            let v = f64::from_bits(word(regs, 4));
            if v.is_nan() {
                Value::Absent
            } else {
                Value::Float(v)
            }
        }
        T::String => {
            let raw = bytes(regs);
            if raw.first().is_none_or(|b| *b == 0) {
                return Value::Absent;
            }
            let end = raw.iter().position(|b| *b == 0).unwrap_or(raw.len());
            let text = raw.get(..end).unwrap_or_default();
            match std::str::from_utf8(text) {
                Ok(s) => Value::Text(s.to_owned()),
                Err(_) => Value::Bytes(text.to_vec()),
            }
        }
        T::Ipv6addr => {
            let raw = bytes(regs);
            match <[u8; 16]>::try_from(raw.as_slice()) {
                Ok(a) if a != [0; 16] => Value::Ipv6(Ipv6Addr::from(a)),
                _ => Value::Absent,
            }
        }
        T::Eui48 => {
            let raw = bytes(regs);
            match raw.get(2..8).and_then(|m| <[u8; 6]>::try_from(m).ok()) {
                Some(m) if m != [0; 6] && m != [0xFF; 6] => Value::Eui48(m),
                _ => Value::Absent,
            }
        }
    }
}

/// The registers of the not-implemented value of `kind`, `size` registers long.
pub fn absent(kind: PointType, size: u16) -> Vec<u16> {
    use PointType as T;
    let size = usize::from(size);
    let mut regs = vec![0u16; size];
    let fill = |regs: &mut Vec<u16>, first: u16, rest: u16| {
        for (i, r) in regs.iter_mut().enumerate() {
            *r = if i == 0 { first } else { rest };
        }
    };
    match kind {
        T::Int16 | T::Sunssf | T::Int32 | T::Int64 | T::Pad => fill(&mut regs, 0x8000, 0),
        T::Uint16
        | T::Count
        | T::Enum16
        | T::Bitfield16
        | T::Uint32
        | T::Enum32
        | T::Bitfield32
        | T::Uint64 => {
            fill(&mut regs, 0xFFFF, 0xFFFF);
        }
        T::Float32 => fill(&mut regs, 0x7FC0, 0),
        T::Float64 => fill(&mut regs, 0x7FF8, 0),
        T::Acc16 | T::Acc32 | T::Acc64 | T::Ipaddr | T::Ipv6addr | T::String | T::Eui48 => {}
    }
    regs
}

/// Encodes `value` as a point of type `kind` taking `size` registers.
///
/// # Errors
/// [`Error::Invalid`] when the value does not fit the type, or is the type's not-implemented value
/// (which would read back as absent).
pub fn encode(kind: PointType, size: u16, value: &Value) -> Result<Vec<u16>, Error> {
    use PointType as T;
    let invalid = |reason: String| Error::Invalid {
        field: kind.name(),
        reason,
    };
    if *value == Value::Absent {
        return Ok(absent(kind, size));
    }
    let regs = match (kind, value) {
        (T::Int16 | T::Sunssf | T::Int32 | T::Int64, v) => {
            let v = v
                .as_i64()
                .ok_or_else(|| invalid(format!("{v:?} is not an integer")))?;
            // The lowest value of each width is its not-implemented value.
            let (min, max, n) = match kind {
                T::Int16 => (
                    i64::from(i16::MIN).saturating_add(1),
                    i64::from(i16::MAX),
                    1,
                ),
                T::Sunssf => (-10, 10, 1),
                T::Int32 => (
                    i64::from(i32::MIN).saturating_add(1),
                    i64::from(i32::MAX),
                    2,
                ),
                _ => (i64::MIN.saturating_add(1), i64::MAX, 4),
            };
            if !(min..=max).contains(&v) {
                return Err(invalid(format!("{v} is outside {min}..={max}")));
            }
            #[allow(clippy::cast_sign_loss)]
            split(v as u64, n)
        }
        (T::Float32, v) => {
            let v = v
                .as_f64()
                .ok_or_else(|| invalid(format!("{v:?} is not a number")))?;
            #[allow(clippy::cast_possible_truncation)]
            let f = v as f32;
            if !f.is_finite() {
                return Err(invalid(format!("{v} is not a finite float32")));
            }
            split(u64::from(f.to_bits()), 2)
        }
        (T::Float64, v) => {
            let v = v
                .as_f64()
                .filter(|v| v.is_finite())
                .ok_or_else(|| invalid(format!("{v:?} is not a finite number")))?;
            split(v.to_bits(), 4)
        }
        (T::String, Value::Text(_) | Value::Bytes(_)) => {
            let s = match value {
                Value::Text(s) => s.as_bytes(),
                Value::Bytes(b) => b.as_slice(),
                _ => &[],
            };
            let max = usize::from(size).saturating_mul(2);
            if s.len() > max || s.contains(&0) {
                return Err(invalid(format!(
                    "text of {} bytes (at most {max}, no NUL)",
                    s.len()
                )));
            }
            let mut raw = s.to_vec();
            raw.resize(max, 0);
            words(&raw)
        }
        (T::Ipaddr, Value::Ipv4(a)) => split(u64::from(u32::from(*a)), 2),
        (T::Ipv6addr, Value::Ipv6(a)) => words(&a.octets()),
        (T::Eui48, Value::Eui48(m)) => {
            let mut raw = vec![0u8, 0];
            raw.extend_from_slice(m);
            words(&raw)
        }
        (T::Pad, _) => absent(kind, size),
        (_, v) => {
            let v = match v {
                Value::Uint(v) => *v,
                Value::Int(v) => {
                    u64::try_from(*v).map_err(|_| invalid(format!("{v} is negative")))?
                }
                other => return Err(invalid(format!("{other:?} is not an unsigned integer"))),
            };
            let n = usize::from(kind.fixed_size().unwrap_or(size));
            let bits = n.saturating_mul(16);
            if bits < 64 && v >> bits != 0 {
                return Err(invalid(format!("{v} does not fit {bits} bits")));
            }
            split(v, n)
        }
    };
    if decode(kind, &regs) == Value::Absent {
        return Err(invalid(format!(
            "{value:?} is the not-implemented value of a {}",
            kind.name()
        )));
    }
    Ok(regs)
}

/// The `n` low 16-bit words of `v`, high word first.
fn split(v: u64, n: usize) -> Vec<u16> {
    #[allow(clippy::cast_possible_truncation)]
    (0..n)
        .rev()
        .map(|i| {
            v.checked_shr(u32::try_from(i.saturating_mul(16)).unwrap_or(u32::MAX))
                .unwrap_or(0) as u16
        })
        .collect()
}
