//! The canonical binary form of every signed object: fixed-width big-endian integers, byte strings and
//! text with a 4-byte length, no optional padding. Each value has exactly one encoding, so a decoder that
//! reads every byte and accepts only in-range values accepts nothing a signer did not produce.

use crate::error::{Error, Result};
use idea_proto::{Currency, Money, Timestamp};

/// The longest byte string or text any field may hold.
pub const MAX_FIELD_LEN: usize = 1 << 20;

/// A value with one canonical binary encoding.
pub trait Codec: Sized {
    /// Appends the encoding to `out`.
    fn encode(&self, out: &mut Vec<u8>);

    /// Reads one value from `reader`.
    fn read(reader: &mut Reader<'_>) -> Result<Self>;

    /// Decodes one value from the start of `bytes`; returns it and how many bytes it took.
    fn decode(bytes: &[u8]) -> Result<(Self, usize)> {
        let mut reader = Reader::new(bytes);
        let value = Self::read(&mut reader)?;
        Ok((value, reader.offset()))
    }

    /// Decodes a value that must take all of `bytes`.
    fn decode_exact(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::new(bytes);
        let value = Self::read(&mut reader)?;
        reader.finish("trailing bytes")?;
        Ok(value)
    }

    /// The encoding as a new vector.
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }
}

/// Reads fields from a byte slice, keeping the offset for error messages.
#[derive(Debug)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, offset: 0 }
    }

    /// Bytes read so far.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// An error at the current offset.
    pub fn error(&self, field: &'static str, reason: impl Into<String>) -> Error {
        Error::Decode {
            offset: self.offset,
            field,
            reason: reason.into(),
        }
    }

    /// Fails unless every byte was read.
    pub fn finish(&self, field: &'static str) -> Result<()> {
        let left = self.bytes.len().saturating_sub(self.offset);
        if left == 0 {
            Ok(())
        } else {
            Err(self.error(field, format!("{left} bytes after the end")))
        }
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8]> {
        let end = self
            .offset
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| {
                self.error(
                    field,
                    format!(
                        "needs {n} bytes, {} left",
                        self.bytes.len().saturating_sub(self.offset)
                    ),
                )
            })?;
        let slice = self.bytes.get(self.offset..end).unwrap_or_default();
        self.offset = end;
        Ok(slice)
    }

    /// A fixed-size array.
    pub fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N]> {
        let at = self.offset;
        let slice = self.take(N, field)?;
        slice.try_into().map_err(|_| Error::Decode {
            offset: at,
            field,
            reason: format!("needs {N} bytes"),
        })
    }

    /// One byte.
    pub fn u8(&mut self, field: &'static str) -> Result<u8> {
        Ok(u8::from_be_bytes(self.array(field)?))
    }

    /// A big-endian u16.
    pub fn u16(&mut self, field: &'static str) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }

    /// A big-endian u32.
    pub fn u32(&mut self, field: &'static str) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    /// A big-endian u64.
    pub fn u64(&mut self, field: &'static str) -> Result<u64> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    /// A big-endian two's-complement i64.
    pub fn i64(&mut self, field: &'static str) -> Result<i64> {
        Ok(i64::from_be_bytes(self.array(field)?))
    }

    /// A boolean: exactly 0 or 1.
    pub fn bool(&mut self, field: &'static str) -> Result<bool> {
        let at = self.offset;
        match self.u8(field)? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(Error::Decode {
                offset: at,
                field,
                reason: format!("{other} is not a boolean"),
            }),
        }
    }

    /// A 4-byte length, at most `max`.
    pub fn len(&mut self, field: &'static str, max: usize) -> Result<usize> {
        let at = self.offset;
        let n = usize::try_from(self.u32(field)?).unwrap_or(usize::MAX);
        if n > max.min(MAX_FIELD_LEN) {
            return Err(Error::Decode {
                offset: at,
                field,
                reason: format!("length {n} is over the limit of {}", max.min(MAX_FIELD_LEN)),
            });
        }
        Ok(n)
    }

    /// A byte string of at most `max` bytes.
    pub fn bytes(&mut self, field: &'static str, max: usize) -> Result<&'a [u8]> {
        let n = self.len(field, max)?;
        self.take(n, field)
    }

    /// UTF-8 text of at most `max` bytes.
    pub fn text(&mut self, field: &'static str, max: usize) -> Result<&'a str> {
        let at = self.offset;
        let bytes = self.bytes(field, max)?;
        std::str::from_utf8(bytes).map_err(|e| Error::Decode {
            offset: at,
            field,
            reason: e.to_string(),
        })
    }

    /// A count of items that each take at least `min_item` bytes: refused at once if the rest of the input
    /// cannot hold them, so no allocation is sized by an untrusted count.
    pub fn count(&mut self, field: &'static str, max: usize, min_item: usize) -> Result<usize> {
        let at = self.offset;
        let n = self.len(field, max)?;
        let room = self.bytes.len().saturating_sub(self.offset);
        if n.saturating_mul(min_item.max(1)) > room {
            return Err(Error::Decode {
                offset: at,
                field,
                reason: format!("{n} items cannot fit in {room} bytes"),
            });
        }
        Ok(n)
    }

    /// A timestamp in Unix milliseconds, within the range `idea-proto` allows.
    pub fn timestamp(&mut self, field: &'static str) -> Result<Timestamp> {
        let at = self.offset;
        let ms = self.i64(field)?;
        Timestamp::from_unix_ms(ms).map_err(|e| Error::Decode {
            offset: at,
            field,
            reason: e.to_string(),
        })
    }

    /// A currency: its code and exponent.
    pub fn currency(&mut self, field: &'static str) -> Result<Currency> {
        let at = self.offset;
        let code = self.text(field, 8)?;
        let exponent = self.u8(field)?;
        Currency::new(code, u32::from(exponent)).map_err(|e| Error::Decode {
            offset: at,
            field,
            reason: e.to_string(),
        })
    }

    /// An amount of money.
    pub fn money(&mut self, field: &'static str) -> Result<Money> {
        let minor = self.i64(field)?;
        let currency = self.currency(field)?;
        Ok(Money::new(minor, currency))
    }
}

/// Appends fields in the canonical form.
pub trait Put {
    /// A big-endian u16.
    fn put_u16(&mut self, v: u16);
    /// A big-endian u32.
    fn put_u32(&mut self, v: u32);
    /// A big-endian u64.
    fn put_u64(&mut self, v: u64);
    /// A big-endian i64.
    fn put_i64(&mut self, v: i64);
    /// A boolean as one byte.
    fn put_bool(&mut self, v: bool);
    /// A length (saturated at `u32::MAX`: callers never pass more than [`MAX_FIELD_LEN`]).
    fn put_len(&mut self, n: usize);
    /// A byte string with its length.
    fn put_bytes(&mut self, v: &[u8]);
    /// Text with its length.
    fn put_text(&mut self, v: &str);
    /// A timestamp in Unix milliseconds.
    fn put_timestamp(&mut self, v: Timestamp);
    /// A currency.
    fn put_currency(&mut self, v: Currency);
    /// An amount of money.
    fn put_money(&mut self, v: Money);
}

impl Put for Vec<u8> {
    fn put_u16(&mut self, v: u16) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_u64(&mut self, v: u64) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_i64(&mut self, v: i64) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_bool(&mut self, v: bool) {
        self.push(u8::from(v));
    }
    fn put_len(&mut self, n: usize) {
        self.put_u32(u32::try_from(n).unwrap_or(u32::MAX));
    }
    fn put_bytes(&mut self, v: &[u8]) {
        self.put_len(v.len());
        self.extend_from_slice(v);
    }
    fn put_text(&mut self, v: &str) {
        self.put_bytes(v.as_bytes());
    }
    fn put_timestamp(&mut self, v: Timestamp) {
        self.put_i64(v.unix_ms());
    }
    fn put_currency(&mut self, v: Currency) {
        self.put_text(v.code());
        self.push(u8::try_from(v.exponent()).unwrap_or(u8::MAX));
    }
    fn put_money(&mut self, v: Money) {
        self.put_i64(v.minor_units);
        self.put_currency(v.currency);
    }
}
