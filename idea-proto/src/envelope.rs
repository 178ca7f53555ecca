//! Signed envelopes: any IDEA message with its sender's ed25519 signature (SEC-01).
//!
//! The signature covers a domain-separated digest: SHA-256 over the protocol tag, the message type and the
//! payload, each preceded by its length as 8 big-endian bytes, so no two (tag, type, payload) triples share a
//! digest. A signature made for one message type therefore never verifies as another, and a signature from
//! any other protocol that uses the same key never verifies here. Verification uses `verify_strict`, and
//! signer keys of small order are refused when decoded.

use crate::error::Result;
use crate::wire::{AnyMessage, WireMessage, pb};
use crate::{Error, PublicKey};
use ed25519_dalek::Signature;
use sha2::{Digest, Sha256};

/// The protocol tag that starts every signed digest.
pub const ENVELOPE_PROTOCOL_TAG: &[u8] = b"IDEA-SDK/envelope/v1";

/// Whatever can sign envelope digests: an in-memory [`SigningKey`](crate::SigningKey), or a vendor's secure
/// element or HSM that keeps the secret key inside (keys never leave their owner, SEC-01).
pub trait EnvelopeSigner {
    /// The public key that verifies this signer's signatures.
    fn public_key(&self) -> PublicKey;
    /// The ed25519 signature of the 32-byte digest.
    fn sign_digest(&self, digest: &[u8; 32]) -> [u8; 64];
}

impl EnvelopeSigner for ed25519_dalek::SigningKey {
    fn public_key(&self) -> PublicKey {
        PublicKey::from(self)
    }

    fn sign_digest(&self, digest: &[u8; 32]) -> [u8; 64] {
        use ed25519_dalek::Signer;
        self.sign(digest).to_bytes()
    }
}

/// A message with its signer and signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedEnvelope {
    message_type: String,
    payload: Vec<u8>,
    signer: PublicKey,
    signature: [u8; 64],
}

/// The digest an envelope's signature covers.
fn digest(message_type: &str, payload: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    for part in [ENVELOPE_PROTOCOL_TAG, message_type.as_bytes(), payload] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.finalize().into()
}

impl SignedEnvelope {
    /// Signs `message` with `signer`.
    pub fn seal<M: WireMessage>(message: &M, signer: &impl EnvelopeSigner) -> SignedEnvelope {
        SignedEnvelope::seal_payload(M::TYPE_NAME, message.encode_payload(), signer)
    }

    /// Signs raw payload bytes declared to be of `message_type`.
    pub fn seal_payload(
        message_type: &str,
        payload: Vec<u8>,
        signer: &impl EnvelopeSigner,
    ) -> SignedEnvelope {
        let signature = signer.sign_digest(&digest(message_type, &payload));
        SignedEnvelope {
            message_type: message_type.to_owned(),
            payload,
            signer: signer.public_key(),
            signature,
        }
    }

    /// The declared message type.
    pub fn message_type(&self) -> &str {
        &self.message_type
    }

    /// The payload bytes.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The signer's key. Whether that key belongs to whom the message claims is the caller's check.
    pub fn signer(&self) -> &PublicKey {
        &self.signer
    }

    /// The 64 signature bytes.
    pub fn signature(&self) -> &[u8; 64] {
        &self.signature
    }

    /// Checks the signature strictly against the signer, the declared type and the payload.
    pub fn verify(&self) -> Result<()> {
        let signature = Signature::from_bytes(&self.signature);
        self.signer
            .verifying_key()
            .verify_strict(&digest(&self.message_type, &self.payload), &signature)
            .map_err(|_| Error::BadSignature)
    }

    /// Verifies the envelope and decodes its payload as `M`; an envelope of another type is refused before
    /// anything else is looked at.
    pub fn open<M: WireMessage>(&self) -> Result<M> {
        if self.message_type != M::TYPE_NAME {
            return Err(Error::WrongMessageType {
                expected: M::TYPE_NAME,
                found: self.message_type.clone(),
            });
        }
        self.verify()?;
        M::decode_payload(&self.payload)
    }

    /// Verifies the envelope and decodes its payload as whichever message type it declares.
    pub fn open_any(&self) -> Result<AnyMessage> {
        self.verify()?;
        AnyMessage::decode_payload(&self.message_type, &self.payload)
    }
}

impl From<&SignedEnvelope> for pb::SignedEnvelope {
    fn from(e: &SignedEnvelope) -> pb::SignedEnvelope {
        pb::SignedEnvelope {
            message_type: e.message_type.clone(),
            payload: e.payload.clone(),
            signer: e.signer.to_bytes().to_vec(),
            signature: e.signature.to_vec(),
        }
    }
}

impl TryFrom<pb::SignedEnvelope> for SignedEnvelope {
    type Error = Error;
    /// Checks the shape only (a known-length key that is valid and not weak, a 64-byte signature); call
    /// [`SignedEnvelope::verify`] or [`SignedEnvelope::open`] to check the signature.
    fn try_from(e: pb::SignedEnvelope) -> Result<SignedEnvelope> {
        if e.message_type.is_empty() || e.message_type.len() > 256 {
            return Err(Error::invalid("message_type", "1 to 256 bytes"));
        }
        let signer = PublicKey::from_slice(&e.signer)?;
        let signature: [u8; 64] = e.signature.as_slice().try_into().map_err(|_| {
            Error::invalid("signature", format!("64 bytes, not {}", e.signature.len()))
        })?;
        Ok(SignedEnvelope {
            message_type: e.message_type,
            payload: e.payload,
            signer,
            signature,
        })
    }
}

impl WireMessage for SignedEnvelope {
    const TYPE_NAME: &'static str = "idea.v1.SignedEnvelope";
    type Wire = pb::SignedEnvelope;
    fn to_wire(&self) -> pb::SignedEnvelope {
        self.into()
    }
    fn from_wire(wire: pb::SignedEnvelope) -> Result<SignedEnvelope> {
        SignedEnvelope::try_from(wire)
    }
}
