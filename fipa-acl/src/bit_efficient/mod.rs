//! The bit-efficient representation of ACL messages (FIPA SC00069), the `0xFA` form without code tables.
//!
//! The encoder writes every parameter with its predefined code, words as `0x10 … 0x00`, every other string
//! as a byte-length string (`0x16`, `0x17` or `0x19` by size, so any bytes round-trip), numbers as coded
//! decimal nibbles (`0x12`), date-times as binary date tokens and nested expressions between level-down
//! (`0x60`) and level-up (`0x40`). It writes version byte `0x10` (1.0), as the rock-multiagent vectors do.

mod decode;
mod encode;

use crate::error::Error;
use crate::message::AclMessage;
use crate::string::Limits;

/// The message identifier of the form without code tables.
const WITHOUT_CODE_TABLES: u8 = 0xfa;
/// The version byte written: 1.0.
const VERSION: u8 = 0x10;
/// End of a message or of a collection.
const END: u8 = 0x01;
/// Starts a nested expression.
const LEVEL_DOWN: u8 = 0x60;
/// Ends a nested expression.
const LEVEL_UP: u8 = 0x40;

impl AclMessage {
    /// Decodes a message in the bit-efficient representation (SC00069, the `0xFA` form) from the start of
    /// `input`; returns it and the number of bytes used.
    pub fn decode_bit_efficient(input: &[u8]) -> Result<(AclMessage, usize), Error> {
        decode::decode(input, &Limits::default(), None)
    }

    /// As [`AclMessage::decode_bit_efficient`], with explicit limits.
    pub fn decode_bit_efficient_with(
        input: &[u8],
        limits: &Limits,
    ) -> Result<(AclMessage, usize), Error> {
        decode::decode(input, limits, None)
    }

    /// As [`AclMessage::decode_bit_efficient_with`], from a shared buffer: byte-string content refers to
    /// `input` instead of being copied.
    pub fn decode_bit_efficient_shared(
        input: &bytes::Bytes,
        limits: &Limits,
    ) -> Result<(AclMessage, usize), Error> {
        decode::decode(input, limits, Some(input))
    }

    /// Appends the message in the bit-efficient representation (SC00069, `0xFA` form) to `out`; on error
    /// nothing is appended. Fails for what the form cannot carry: a user-defined message type or user
    /// parameter name with a space or parenthesis, a number with a hexadecimal part or a lower-case exponent `e` (which the
    /// coded nibbles cannot keep), a string longer than 4 GiB.
    pub fn encode_bit_efficient(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        let mut body = Vec::with_capacity(256);
        encode::encode(self, &mut body)?;
        out.extend_from_slice(&body);
        Ok(())
    }
}
