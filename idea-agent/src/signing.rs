//! Signed ACL messages (SEC-01 on the agent interface): every message an agent sends carries its ed25519
//! signature in the user-defined parameter `:X-idea-signature`, so an agent acts only on what a known agent
//! said.
//!
//! The signature is an `idea-proto` `SignedEnvelope` signature of type [`SIGNED_TYPE`] whose payload is
//! the message's *signed fields*, each as 8 big-endian length bytes and then its bytes, in this order:
//! the performative in lower case; the sender's name; the number of receivers as one 8-byte field, then each
//! receiver's name; `:conversation-id`, `:reply-with`, `:in-reply-to`, `:protocol`, `:ontology` and
//! `:reply-by` as text (empty when absent); the content bytes. So the digest signed is
//! `SHA-256(len‖"IDEA-SDK/envelope/v1"‖len‖"idea.agent.v1.AclMessage"‖len‖fields)`, which any language with
//! SHA-256 and ed25519 reproduces without this crate's ACL encoder. The parameter's value is the signature
//! as 128 lower-case hex digits.

use fipa_acl::{AclMessage, Expression};
use idea_proto::{ENVELOPE_PROTOCOL_TAG, EnvelopeSigner, PublicKey, SigningKey};
use sha2::{Digest, Sha256};

/// The user-defined ACL parameter that carries the signature, as `AclMessage::user_params` names it (without
/// the `X-` prefix): `:X-idea-signature` on the wire.
pub const SIGNATURE_PARAM: &str = "idea-signature";
/// The message type the signature is bound to.
pub const SIGNED_TYPE: &str = "idea.agent.v1.AclMessage";

/// Why a message's signature was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureFault {
    /// No `:X-idea-signature`.
    Missing,
    /// Not 128 hex digits.
    Malformed,
    /// It does not verify against the sender's key.
    Invalid,
}

impl SignatureFault {
    /// A phrase for logs and `not-understood` reasons.
    pub fn reason(self) -> &'static str {
        match self {
            SignatureFault::Missing => "unsigned message",
            SignatureFault::Malformed => "malformed signature",
            SignatureFault::Invalid => "signature does not verify",
        }
    }
}

fn push(fields: &mut Vec<u8>, bytes: &[u8]) {
    fields.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
    fields.extend_from_slice(bytes);
}

fn text(e: Option<&Expression>) -> String {
    e.and_then(|e| e.as_text().map(|t| t.into_owned()))
        .unwrap_or_default()
}

/// The signed fields of `m` (see the module documentation).
pub fn signed_fields(m: &AclMessage) -> Vec<u8> {
    let mut fields = Vec::with_capacity(256);
    push(
        &mut fields,
        m.performative.name().to_ascii_lowercase().as_bytes(),
    );
    push(
        &mut fields,
        m.sender.as_ref().map_or("", |s| s.name.as_str()).as_bytes(),
    );
    fields.extend_from_slice(&(m.receivers.len() as u64).to_be_bytes());
    for r in &m.receivers {
        push(&mut fields, r.name.as_bytes());
    }
    for e in [
        m.conversation_id.as_ref(),
        m.reply_with.as_ref(),
        m.in_reply_to.as_ref(),
    ] {
        push(&mut fields, text(e).as_bytes());
    }
    push(&mut fields, m.protocol.as_deref().unwrap_or("").as_bytes());
    push(&mut fields, text(m.ontology.as_ref()).as_bytes());
    push(
        &mut fields,
        m.reply_by
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default()
            .as_bytes(),
    );
    push(&mut fields, m.content.as_deref().unwrap_or(&[]));
    fields
}

/// The digest a signature covers (the `idea-proto` envelope digest of type [`SIGNED_TYPE`]).
fn digest(fields: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    for part in [ENVELOPE_PROTOCOL_TAG, SIGNED_TYPE.as_bytes(), fields] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.finalize().into()
}

/// Signs `m` with `key`, replacing any signature it carries.
pub fn sign(m: &mut AclMessage, key: &SigningKey) {
    m.user_params.retain(|(name, _)| name != SIGNATURE_PARAM);
    let signature = key.sign_digest(&digest(&signed_fields(m)));
    m.user_params.push((
        SIGNATURE_PARAM.to_owned(),
        Expression::String(idea_proto::hex::encode(&signature).into_bytes()),
    ));
}

/// Makes `m` ready to send as `me`: names `me` as the sender where it names none, and signs it with `key`.
pub fn seal(m: &mut AclMessage, me: &fipa_acl::AgentIdentifier, key: &SigningKey) {
    if m.sender.is_none() {
        m.sender = Some(me.clone());
    }
    sign(m, key);
}

/// Admits `m` to a service: its sender must be one of `peers` and its signature must verify against that
/// peer's key. Otherwise the answer `me` owes it: `refuse` `((unknown-agent))` to a stranger, `not-understood`
/// with the reason to a bad or missing signature — and none to a message without a sender or to a
/// `not-understood`, `refuse` or `failure` (two agents never answer each other's complaints).
pub fn admit(
    m: &AclMessage,
    peers: &crate::Peers,
    me: &fipa_acl::AgentIdentifier,
) -> Result<crate::Peer, Option<Box<AclMessage>>> {
    use fipa_acl::Performative;
    let answerable = m.sender.is_some()
        && !matches!(
            m.performative.performative(),
            Some(Performative::NotUnderstood | Performative::Refuse | Performative::Failure)
        );
    let Some(peer) = m.sender.as_ref().and_then(|s| peers.get(&s.name)).cloned() else {
        return Err(answerable.then(|| {
            let mut refuse = m.reply(Performative::Refuse, me.clone());
            refuse.content = Some("((unknown-agent))".into());
            Box::new(refuse)
        }));
    };
    match verify(m, &peer.key) {
        Ok(()) => Ok(peer),
        Err(fault) => {
            Err(answerable
                .then(|| Box::new(fipa_acl::protocol::not_understood(m, me, fault.reason()))))
        }
    }
}

/// Checks `m`'s signature against `key` (`verify_strict`, as every signature of the SDK).
pub fn verify(m: &AclMessage, key: &PublicKey) -> Result<(), SignatureFault> {
    let value = m
        .user_params
        .iter()
        .find(|(name, _)| name == SIGNATURE_PARAM)
        .map(|(_, v)| v)
        .ok_or(SignatureFault::Missing)?;
    let hex = value.as_text().ok_or(SignatureFault::Malformed)?;
    let signature = idea_proto::hex::decode(&hex).map_err(|_| SignatureFault::Malformed)?;
    let signature: [u8; 64] = signature
        .as_slice()
        .try_into()
        .map_err(|_| SignatureFault::Malformed)?;
    key.verifying_key()
        .verify_strict(
            &digest(&signed_fields(m)),
            &ed25519_dalek::Signature::from_bytes(&signature),
        )
        .map_err(|_| SignatureFault::Invalid)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use fipa_acl::{AgentIdentifier, Performative};

    #[test]
    fn a_signed_message_verifies_and_any_change_breaks_it() {
        let key = SigningKey::from_bytes(&[5; 32]);
        let mut m = AclMessage::new(Performative::Cfp)
            .from(AgentIdentifier::new("a"))
            .to(AgentIdentifier::new("b"))
            .content("(x)");
        sign(&mut m, &key);
        assert_eq!(verify(&m, &PublicKey::from(&key)), Ok(()));
        let mut wire = Vec::new();
        m.encode_string(&mut wire).unwrap();
        let (back, _) = AclMessage::decode_string(&wire).unwrap();
        assert_eq!(verify(&back, &PublicKey::from(&key)), Ok(()));
        let mut changed = back.clone();
        changed.content = Some("(y)".into());
        assert_eq!(
            verify(&changed, &PublicKey::from(&key)),
            Err(SignatureFault::Invalid)
        );
        let other = SigningKey::from_bytes(&[6; 32]);
        assert_eq!(
            verify(&back, &PublicKey::from(&other)),
            Err(SignatureFault::Invalid)
        );
        let mut unsigned = back;
        unsigned.user_params.clear();
        assert_eq!(
            verify(&unsigned, &PublicKey::from(&key)),
            Err(SignatureFault::Missing)
        );
    }
}
