//! Wire formats: the protobuf schema under `proto/` (the source of truth, compiled by prost) and the codec
//! every IDEA message shares.
//!
//! [`WireMessage::encode`] writes a message length-delimited (a varint length, then the protobuf bytes), so
//! messages can be streamed; [`WireMessage::decode`] reads one back and says how many bytes it used.
//! Converting wire → domain validates: a message that breaks Table 2 or any other rule fails to decode, with
//! the field path.

mod convert;
mod messages;
mod service;
mod topology;
mod transaction;

pub use messages::AnyMessage;

use crate::Error;
use crate::error::Result;
use prost::Message;

/// The generated protobuf types of package `idea.v1`.
#[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/idea.v1.rs"));
}

/// The largest message accepted, in bytes. Larger length prefixes are refused before any allocation.
pub const MAX_MESSAGE_LEN: usize = 4 << 20;

/// A domain type with a protobuf wire form.
pub trait WireMessage: Sized {
    /// The full protobuf name, e.g. `idea.v1.PowerCell`; signed envelopes bind it into the signature.
    const TYPE_NAME: &'static str;
    /// The generated protobuf type.
    type Wire: Message + Default;

    /// The wire form.
    fn to_wire(&self) -> Self::Wire;

    /// The domain form, validated.
    fn from_wire(wire: Self::Wire) -> Result<Self>;

    /// Appends the message, length-delimited, to `out`.
    fn encode(&self, out: &mut Vec<u8>) {
        let wire = self.to_wire();
        let len = wire.encoded_len();
        // u64 from usize never truncates on supported targets.
        prost::encoding::encode_varint(len as u64, out);
        out.reserve(len);
        // Encoding into a Vec cannot run out of space.
        let _ = wire.encode(out);
    }

    /// Reads one length-delimited message from the front of `bytes`; returns it and the bytes consumed.
    fn decode(bytes: &[u8]) -> Result<(Self, usize)> {
        let mut rest = bytes;
        let len = prost::encoding::decode_varint(&mut rest).map_err(|e| Error::Decode {
            message: Self::TYPE_NAME,
            offset: 0,
            reason: format!("length prefix: {e}"),
        })?;
        let prefix = bytes.len().saturating_sub(rest.len());
        let len = usize::try_from(len)
            .ok()
            .filter(|l| *l <= MAX_MESSAGE_LEN)
            .ok_or_else(|| Error::Decode {
                message: Self::TYPE_NAME,
                offset: 0,
                reason: format!("length {len} exceeds the limit of {MAX_MESSAGE_LEN} bytes"),
            })?;
        let body = rest.get(..len).ok_or_else(|| Error::Decode {
            message: Self::TYPE_NAME,
            offset: bytes.len(),
            reason: format!("truncated: {len} bytes announced, {} present", rest.len()),
        })?;
        let message = decode_body::<Self>(body, prefix)?;
        Ok((message, prefix.saturating_add(len)))
    }

    /// The bare protobuf bytes, without a length prefix (the payload of a signed envelope).
    fn encode_payload(&self) -> Vec<u8> {
        self.to_wire().encode_to_vec()
    }

    /// Reads bare protobuf bytes that make exactly one message.
    fn decode_payload(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_MESSAGE_LEN {
            return Err(Error::Decode {
                message: Self::TYPE_NAME,
                offset: 0,
                reason: format!(
                    "{} bytes exceed the limit of {MAX_MESSAGE_LEN}",
                    bytes.len()
                ),
            });
        }
        decode_body::<Self>(bytes, 0)
    }
}

fn decode_body<M: WireMessage>(body: &[u8], offset: usize) -> Result<M> {
    let wire = M::Wire::decode(body).map_err(|e| Error::Decode {
        message: M::TYPE_NAME,
        offset,
        reason: e.to_string(),
    })?;
    M::from_wire(wire)
}
