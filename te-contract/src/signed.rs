//! Domain-separated signed objects.
//!
//! Every signature covers SHA-256 over, each preceded by its length as 8 big-endian bytes: the protocol tag
//! [`PROTOCOL_TAG`], the deployment name, the message kind, the scope (the channel, contract or avatar the
//! object belongs to), the counter (a channel state's number, a key version, 0 where there is none) and the
//! object's canonical bytes. A signature made for one deployment, kind, scope or counter therefore never
//! verifies as another, and objects are identified by their ids and counters, never by signature bytes
//! (ed25519 signatures are not unique per message under every implementation). Signatures are checked
//! under the rule of [`crate::verify`] (`verify_strict`'s refusals, the cofactored equation), one by one or
//! in batches with the same verdict, against keys the registry accepts at the time asked about.

use crate::codec::{Codec, Put, Reader};
use crate::error::{Error, Result};
use crate::id::{AvatarId, DeploymentId};
use idea_proto::{EnvelopeSigner, PublicKey, Timestamp};
use sha2::{Digest, Sha256};
use std::fmt;

/// The protocol tag that starts every signed digest of this crate.
pub const PROTOCOL_TAG: &[u8] = b"IDEA-SDK/te-contract/v1";

/// The most signatures an object carries.
pub const MAX_SIGNATURES: usize = 4;

/// The largest encoded object body.
pub const MAX_BODY_LEN: usize = 1 << 20;

macro_rules! kinds {
    ($($(#[$doc:meta])* $variant:ident = $code:literal, $name:literal;)+) => {
        /// What a signed object is; part of every signed digest.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        pub enum MessageKind {
            $($(#[$doc])* $variant,)+
        }

        impl MessageKind {
            /// Every kind.
            pub const ALL: &'static [MessageKind] = &[$(MessageKind::$variant),+];

            /// The 16-bit code on the wire.
            pub const fn code(self) -> u16 {
                match self {
                    $(MessageKind::$variant => $code,)+
                }
            }

            /// The kind with this code.
            pub fn from_code(code: u16) -> Option<MessageKind> {
                match code {
                    $($code => Some(MessageKind::$variant),)+
                    _ => None,
                }
            }

            /// The kebab-case name.
            pub const fn name(self) -> &'static str {
                match self {
                    $(MessageKind::$variant => $name,)+
                }
            }
        }
    };
}

kinds! {
    /// An avatar entered in the registry.
    Registration = 1, "registration";
    /// An avatar's new key.
    KeyRotation = 2, "key-rotation";
    /// A key withdrawn.
    Revocation = 3, "revocation";
    /// A smart contract fixing a transaction's terms.
    Contract = 16, "contract";
    /// A debt payment channel opened between two avatars.
    ChannelOpen = 32, "channel-open";
    /// A channel state: counter and debts.
    ChannelState = 33, "channel-state";
    /// A cooperative close of a channel.
    ChannelClose = 34, "channel-close";
    /// One side's request to close a channel at a state (the start of a one-sided close).
    ChannelCloseRequest = 35, "channel-close-request";
    /// A meter's signed register reading.
    MeterReading = 48, "meter-reading";
    /// A meter's statement of the energy it counted in one settlement interval.
    DeliveryToken = 49, "delivery-token";
    /// A dispute of a recorded discrepancy.
    Dispute = 64, "dispute";
    /// The ledger operator's signature over the chain up to an entry.
    LedgerCheckpoint = 80, "ledger-checkpoint";
}

impl fmt::Display for MessageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a signature is bound to besides the object itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain<'a> {
    /// The deployment.
    pub deployment: &'a DeploymentId,
    /// The kind of object.
    pub kind: MessageKind,
    /// The channel, contract or avatar the object belongs to.
    pub scope: [u8; 16],
    /// Its counter (channel state number, key version), 0 where the kind has none.
    pub counter: u64,
}

impl Domain<'_> {
    /// The digest signed for an object with canonical bytes `body`.
    pub fn digest(&self, body: &[u8]) -> [u8; 32] {
        let mut h = Sha256::new();
        let kind = self.kind.code().to_be_bytes();
        let counter = self.counter.to_be_bytes();
        for part in [
            PROTOCOL_TAG,
            self.deployment.as_str().as_bytes(),
            &kind,
            &self.scope,
            &counter,
            body,
        ] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part);
        }
        h.finalize().into()
    }
}

/// The content of a signed object: its canonical encoding and what binds its signatures.
pub trait Body: Codec + Clone {
    /// Its kind.
    const KIND: MessageKind;
    /// The channel, contract or avatar it belongs to.
    fn scope(&self) -> [u8; 16];
    /// Its counter; 0 where the kind has none.
    fn counter(&self) -> u64 {
        0
    }
    /// Who must sign it, in signature order.
    fn signers(&self) -> Vec<AvatarId>;
}

/// Finds the key an avatar signed with, and checks signatures made with the keys it finds.
pub trait KeyResolver {
    /// Key `version` of `avatar`, if it may sign at `at`.
    fn key(&self, avatar: &AvatarId, version: u32, at: Timestamp) -> Result<PublicKey>;

    /// Checks the signatures of one object; by default all of them as one batch. A resolver that has
    /// already checked some (see [`crate::batch::Batch`]) skips those.
    fn verify_signatures(&self, checks: &[SignatureCheck]) -> Result<()> {
        verify_checks(checks)
    }
}

/// One signature: who, with which of their keys, and the 64 bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature {
    /// The signing avatar.
    pub signer: AvatarId,
    /// The version of its key that signed (0 for the key it registered with).
    pub key_version: u32,
    /// The ed25519 signature of the domain digest.
    pub bytes: [u8; 64],
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({} v{})", self.signer, self.key_version)
    }
}

/// One signature check, ready for single or batched verification.
#[derive(Debug, Clone, Copy)]
pub struct SignatureCheck {
    /// The kind of object signed (for the error).
    pub kind: MessageKind,
    /// The signed digest.
    pub digest: [u8; 32],
    /// The key it must verify under.
    pub key: PublicKey,
    /// The signature.
    pub signature: [u8; 64],
    /// Who signed.
    pub signer: AvatarId,
}

impl SignatureCheck {
    /// Verifies this signature alone.
    pub fn verify(&self) -> Result<()> {
        if crate::verify::verify_one(self) {
            Ok(())
        } else {
            Err(self.bad())
        }
    }

    fn bad(&self) -> Error {
        Error::BadSignature {
            kind: self.kind,
            signer: self.signer,
        }
    }
}

/// Verifies all `checks` as one batch; when the batch fails, the error names the first invalid signature.
pub fn verify_checks(checks: &[SignatureCheck]) -> Result<()> {
    match crate::verify::first_invalid(checks).and_then(|i| checks.get(i)) {
        None => Ok(()),
        Some(bad) => Err(bad.bad()),
    }
}

/// An object with the signatures of those who must sign it. Decoding checks its form; [`Signed::verify`]
/// checks its signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed<T> {
    deployment: DeploymentId,
    body: T,
    body_bytes: Vec<u8>,
    signatures: Vec<Signature>,
}

impl<T: Body> Signed<T> {
    /// The object in `deployment`, not yet signed.
    pub fn new(deployment: DeploymentId, body: T) -> Signed<T> {
        let body_bytes = body.to_bytes();
        Signed {
            deployment,
            body,
            body_bytes,
            signatures: Vec::new(),
        }
    }

    /// The object.
    pub fn body(&self) -> &T {
        &self.body
    }

    /// Its canonical bytes.
    pub fn body_bytes(&self) -> &[u8] {
        &self.body_bytes
    }

    /// The deployment it was signed for.
    pub fn deployment(&self) -> &DeploymentId {
        &self.deployment
    }

    /// Its signatures so far.
    pub fn signatures(&self) -> &[Signature] {
        &self.signatures
    }

    /// What its signatures are bound to.
    pub fn domain(&self) -> Domain<'_> {
        Domain {
            deployment: &self.deployment,
            kind: T::KIND,
            scope: self.body.scope(),
            counter: self.body.counter(),
        }
    }

    /// The digest every signature covers.
    pub fn digest(&self) -> [u8; 32] {
        self.domain().digest(&self.body_bytes)
    }

    /// Adds `signer`'s signature made with key `key_version` held by `key` (an in-memory key, or a secure
    /// element behind [`EnvelopeSigner`]). Refused if `signer` need not sign or already has.
    pub fn sign(
        &mut self,
        signer: AvatarId,
        key_version: u32,
        key: &impl EnvelopeSigner,
    ) -> Result<()> {
        let expected = self.body.signers();
        let slot = self.signatures.len();
        if expected.get(slot) != Some(&signer) {
            return Err(self.wrong_signers(&expected));
        }
        let bytes = key.sign_digest(&self.digest());
        self.signatures.push(Signature {
            signer,
            key_version,
            bytes,
        });
        Ok(())
    }

    /// Adds a signature `signer` made elsewhere over [`Signed::digest`] — by a party that signs before those
    /// ahead of it in the order have (a new avatar signs its registration, then sends it to the registrar,
    /// who signs first and attaches the avatar's). Refused if `signer` need not sign in the next slot; the
    /// signature is checked with the others whenever the object is verified.
    pub fn attach(&mut self, signer: AvatarId, key_version: u32, bytes: [u8; 64]) -> Result<()> {
        let expected = self.body.signers();
        if expected.get(self.signatures.len()) != Some(&signer) {
            return Err(self.wrong_signers(&expected));
        }
        self.signatures.push(Signature {
            signer,
            key_version,
            bytes,
        });
        Ok(())
    }

    /// The checks its signatures need, keys resolved at `at`, after the deployment and signer list are
    /// checked; for batched verification.
    pub fn checks(
        &self,
        keys: &impl KeyResolver,
        deployment: &DeploymentId,
        at: Timestamp,
    ) -> Result<Vec<SignatureCheck>> {
        self.checks_of(keys, deployment, at, true)
    }

    /// Checks the signatures present so far (a prefix of those it needs, at least one), as the second signer
    /// does before adding its own.
    pub fn verify_partial(
        &self,
        keys: &impl KeyResolver,
        deployment: &DeploymentId,
        at: Timestamp,
    ) -> Result<()> {
        keys.verify_signatures(&self.checks_of(keys, deployment, at, false)?)
    }

    /// The deployment and signer-order checks, then one signature check per signature present: all of those
    /// the object needs when `complete`, else a non-empty prefix of them.
    fn checks_of(
        &self,
        keys: &impl KeyResolver,
        deployment: &DeploymentId,
        at: Timestamp,
        complete: bool,
    ) -> Result<Vec<SignatureCheck>> {
        if self.deployment != *deployment {
            return Err(Error::WrongDomain {
                field: "deployment",
                expected: deployment.to_string(),
                found: self.deployment.to_string(),
            });
        }
        let expected = self.body.signers();
        let count_ok = if complete {
            self.signatures.len() == expected.len()
        } else {
            !self.signatures.is_empty() && self.signatures.len() <= expected.len()
        };
        let in_order = expected
            .iter()
            .zip(&self.signatures)
            .all(|(e, s)| *e == s.signer);
        if !(count_ok && in_order) {
            return Err(self.wrong_signers(&expected));
        }
        let digest = self.digest();
        self.signatures
            .iter()
            .map(|s| {
                Ok(SignatureCheck {
                    kind: T::KIND,
                    digest,
                    key: keys.key(&s.signer, s.key_version, at)?,
                    signature: s.bytes,
                    signer: s.signer,
                })
            })
            .collect()
    }

    /// Checks that it was made for `deployment`, carries exactly the signatures it needs, and that each
    /// verifies under a key the resolver accepts at `at`.
    pub fn verify(
        &self,
        keys: &impl KeyResolver,
        deployment: &DeploymentId,
        at: Timestamp,
    ) -> Result<()> {
        keys.verify_signatures(&self.checks(keys, deployment, at)?)
    }

    fn wrong_signers(&self, expected: &[AvatarId]) -> Error {
        let list = |ids: &mut dyn Iterator<Item = AvatarId>| {
            ids.map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
        };
        Error::WrongSigners {
            kind: T::KIND,
            expected: list(&mut expected.iter().copied()),
            found: list(&mut self.signatures.iter().map(|s| s.signer)),
        }
    }
}

/// Layout: kind (u16), deployment (text), body (bytes), signature count (u8), then per signature the
/// signer (16 bytes), key version (u32) and 64 signature bytes. The body must be the canonical encoding of
/// its value: bytes that decode but re-encode differently are refused.
impl<T: Body> Codec for Signed<T> {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_u16(T::KIND.code());
        self.deployment.encode(out);
        out.put_bytes(&self.body_bytes);
        out.push(u8::try_from(self.signatures.len()).unwrap_or(u8::MAX));
        for s in &self.signatures {
            s.signer.encode(out);
            out.put_u32(s.key_version);
            out.extend_from_slice(&s.bytes);
        }
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self> {
        let at = reader.offset();
        let code = reader.u16("kind")?;
        if code != T::KIND.code() {
            let found = MessageKind::from_code(code)
                .map_or_else(|| format!("code {code}"), |k| k.to_string());
            return Err(Error::Decode {
                offset: at,
                field: "kind",
                reason: format!("a {found}, not a {}", T::KIND),
            });
        }
        let deployment = DeploymentId::read(reader)?;
        let body_at = reader.offset().saturating_add(4);
        let body_bytes = reader.bytes("body", MAX_BODY_LEN)?;
        let body = T::decode_exact(body_bytes).map_err(|e| shift(e, body_at))?;
        if body.to_bytes() != body_bytes {
            return Err(Error::Decode {
                offset: body_at,
                field: "body",
                reason: "not in canonical form".into(),
            });
        }
        let count_at = reader.offset();
        let count = usize::from(reader.u8("signatures")?);
        if count > MAX_SIGNATURES {
            return Err(Error::Decode {
                offset: count_at,
                field: "signatures",
                reason: format!("{count} signatures; at most {MAX_SIGNATURES}"),
            });
        }
        let mut signatures = Vec::with_capacity(count);
        for _ in 0..count {
            signatures.push(Signature {
                signer: AvatarId::read(reader)?,
                key_version: reader.u32("key_version")?,
                bytes: reader.array("signature")?,
            });
        }
        Ok(Signed {
            deployment,
            body,
            body_bytes: body_bytes.to_vec(),
            signatures,
        })
    }
}

/// Moves a decode error inside a nested buffer to its offset in the outer one.
fn shift(error: Error, by: usize) -> Error {
    match error {
        Error::Decode {
            offset,
            field,
            reason,
        } => Error::Decode {
            offset: offset.saturating_add(by),
            field,
            reason,
        },
        other => other,
    }
}
