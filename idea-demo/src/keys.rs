//! Every identity of a run drawn from its seed: the same seed gives the same keys, avatars, transaction ids
//! and so the same signed bytes — part of what makes a run reproducible byte for byte.

use idea_proto::{PublicKey, SigningKey};
use sha2::{Digest, Sha256};
use te_contract::AvatarId;

/// 32 bytes drawn from `seed` for `role` (domain-separated, never reused across roles).
fn draw(seed: u64, role: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"idea-demo/v1\0");
    h.update(seed.to_be_bytes());
    h.update(role.as_bytes());
    h.finalize().into()
}

/// The signing key of `role` (`cell-1`, `market`, `te-node`, `meter:cell1.meter`, `registrar`).
pub(crate) fn signing_key(seed: u64, role: &str) -> SigningKey {
    SigningKey::from_bytes(&draw(seed, role))
}

/// The avatar of `role`: derived from its public key, as the TE node derives avatars it registers.
pub(crate) fn avatar(seed: u64, role: &str) -> AvatarId {
    idea_agent::te_node::avatar_of_key(&PublicKey::from(&signing_key(seed, role)))
}

/// The seed of `role`'s transaction ids.
pub(crate) fn id_seed(seed: u64, role: &str) -> [u8; 16] {
    let d = draw(seed, &format!("ids:{role}"));
    let mut out = [0u8; 16];
    out.copy_from_slice(d.get(..16).unwrap_or(&[0; 16]));
    out
}
