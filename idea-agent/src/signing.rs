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
//! as 128 lower-case hex digits. It is accepted by the rule of every signature of the SDK
//! (`te_contract::verify`), so a service may check its inbox's signatures as one batch ([`verify_all`]).

use fipa_acl::{AclMessage, Expression};
use idea_proto::{ENVELOPE_PROTOCOL_TAG, EnvelopeSigner, PublicKey, SigningKey};
use sha2::{Digest, Sha256};
use te_contract::verify::DigestCheck;

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
    admit_checked(m, peers, me, None)
}

/// [`admit`] with the signature's verdict already known (from [`verify_all`]); `None` checks it here.
pub fn admit_checked(
    m: &AclMessage,
    peers: &crate::Peers,
    me: &fipa_acl::AgentIdentifier,
    verdict: Option<Result<(), SignatureFault>>,
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
    match verdict.unwrap_or_else(|| verify(m, &peer.key)) {
        Ok(()) => Ok(peer),
        Err(fault) => {
            Err(answerable
                .then(|| Box::new(fipa_acl::protocol::not_understood(m, me, fault.reason()))))
        }
    }
}

/// A message's signature as checked ahead of time, with the state of the peers it was checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checked {
    verdict: Option<Result<(), SignatureFault>>,
    generation: u64,
}

impl Checked {
    /// The verdict, if the peers are still as they were when it was reached (a peer added, replaced or
    /// removed since — a key rotated by a directory notice earlier in the same inbox — leaves the message to
    /// be checked again, on its own).
    pub fn still_valid(self, peers: &crate::Peers) -> Option<Result<(), SignatureFault>> {
        self.verdict
            .filter(|_| peers.generation() == self.generation)
    }
}

/// An inbox with each message's signature checked ahead of time ([`verify_all`]), for the service or agent
/// to take in order, passing [`Checked::still_valid`] to [`admit_checked`] or its own check.
pub fn verify_inbox(messages: Vec<AclMessage>, peers: &crate::Peers) -> Vec<(AclMessage, Checked)> {
    let verdicts = verify_all(&messages, peers);
    let generation = peers.generation();
    messages
        .into_iter()
        .zip(verdicts)
        .map(|(m, verdict)| {
            (
                m,
                Checked {
                    verdict,
                    generation,
                },
            )
        })
        .collect()
}

/// `m`'s signature as a check under `key`, or why it has none.
fn check(m: &AclMessage, key: &PublicKey) -> Result<DigestCheck, SignatureFault> {
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
    Ok(DigestCheck {
        key: *key,
        digest: digest(&signed_fields(m)),
        signature,
    })
}

/// Checks `m`'s signature against `key`, by the SDK's one acceptance rule (`te_contract::verify`: canonical
/// encodings, no small-order key or commitment, the cofactored equation), so a batch ([`verify_all`]) and
/// one message at a time give the same verdict.
pub fn verify(m: &AclMessage, key: &PublicKey) -> Result<(), SignatureFault> {
    let check = check(m, key)?;
    if te_contract::verify::verify_one(&check) {
        Ok(())
    } else {
        Err(SignatureFault::Invalid)
    }
}

/// The verdict on each message's signature under its sender's key in `peers` — `None` for a message whose
/// sender is not a peer (it is refused as a stranger, unchecked). The signatures are checked together first
/// (`te_contract::verify::verify_batch_on_cores`: about three times cheaper each in a large batch, and a
/// large batch split over the cores), one by one only when the batch fails; the verdicts are those of
/// [`verify`].
pub fn verify_all(
    messages: &[AclMessage],
    peers: &crate::Peers,
) -> Vec<Option<Result<(), SignatureFault>>> {
    let mut verdicts: Vec<Option<Result<(), SignatureFault>>> = Vec::with_capacity(messages.len());
    let mut checks = Vec::with_capacity(messages.len());
    let mut checked = Vec::with_capacity(messages.len());
    for (i, m) in messages.iter().enumerate() {
        let peer = m.sender.as_ref().and_then(|s| peers.get(&s.name));
        verdicts.push(peer.map(|p| match check(m, &p.key) {
            Ok(c) => {
                checks.push(c);
                checked.push(i);
                Ok(())
            }
            Err(fault) => Err(fault),
        }));
    }
    if !te_contract::verify::verify_batch_on_cores(&checks) {
        for (c, &i) in checks.iter().zip(&checked) {
            if !te_contract::verify::verify_one(c)
                && let Some(v) = verdicts.get_mut(i)
            {
                *v = Some(Err(SignatureFault::Invalid));
            }
        }
    }
    verdicts
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

    #[test]
    fn a_batch_gives_each_message_the_verdict_it_gets_alone() {
        let key = SigningKey::from_bytes(&[5; 32]);
        let mut peers = crate::Peers::default();
        peers
            .insert(crate::Peer {
                agent: AgentIdentifier::new("a"),
                cell: None,
                key: PublicKey::from(&key),
                avatar: None,
            })
            .unwrap();
        let message = |content: &'static str| {
            let mut m = AclMessage::new(Performative::Inform)
                .from(AgentIdentifier::new("a"))
                .to(AgentIdentifier::new("b"))
                .content(content);
            sign(&mut m, &key);
            m
        };
        let good = message("(x)");
        let mut forged = message("(y)");
        forged.content = Some("(z)".into());
        let mut unsigned = good.clone();
        unsigned.user_params.clear();
        let mut malformed = good.clone();
        malformed.user_params = vec![(SIGNATURE_PARAM.to_owned(), Expression::from("abc"))];
        let mut stranger = good.clone();
        stranger.sender = Some(AgentIdentifier::new("c"));
        let all = [
            good.clone(),
            forged,
            unsigned,
            malformed,
            stranger,
            message("(w)"),
        ];
        let verdicts = verify_all(&all, &peers);
        assert_eq!(
            verdicts,
            [
                Some(Ok(())),
                Some(Err(SignatureFault::Invalid)),
                Some(Err(SignatureFault::Missing)),
                Some(Err(SignatureFault::Malformed)),
                None,
                Some(Ok(())),
            ]
        );
        for (m, v) in all.iter().zip(&verdicts) {
            if let Some(v) = v {
                assert_eq!(verify(m, &PublicKey::from(&key)), *v);
            }
        }
        // All good: the batch holds without a second look.
        assert_eq!(
            verify_all(&[good.clone(), good], &peers),
            [Some(Ok(())), Some(Ok(()))]
        );
    }
}
