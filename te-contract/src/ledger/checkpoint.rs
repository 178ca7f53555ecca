//! Signed checkpoints: the ledger's operator (the registrar) signs the sequence number and hash of an entry,
//! which anchors every entry up to it. A checkpoint is recorded in the chain (the entry after the one it
//! covers) and kept outside it too — the latest one in a file the ledger's writer cannot change — so that
//! [`super::verify`] can tell a chain that was rewritten, or cut short, from the one the operator signed.

use crate::codec::{Codec, Put, Reader};
use crate::error::Result;
use crate::id::AvatarId;
use crate::signed::{Body, MessageKind};
use idea_proto::Timestamp;

/// The operator's signature over the chain up to entry `seq`, whose hash is `hash`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// Who signs it: the registrar, the deployment's operator.
    pub operator: AvatarId,
    /// The entry it covers (the chain up to and including it).
    pub seq: u64,
    /// That entry's hash.
    pub hash: [u8; 32],
    /// When it was made.
    pub at: Timestamp,
}

impl Codec for Checkpoint {
    fn encode(&self, out: &mut Vec<u8>) {
        self.operator.encode(out);
        out.put_u64(self.seq);
        out.extend_from_slice(&self.hash);
        out.put_timestamp(self.at);
    }
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Checkpoint {
            operator: AvatarId::read(r)?,
            seq: r.u64("seq")?,
            hash: r.array("hash")?,
            at: r.timestamp("at")?,
        })
    }
}

impl Body for Checkpoint {
    const KIND: MessageKind = MessageKind::LedgerCheckpoint;
    fn scope(&self) -> [u8; 16] {
        self.operator.0
    }
    fn counter(&self) -> u64 {
        self.seq
    }
    fn signers(&self) -> Vec<AvatarId> {
        vec![self.operator]
    }
}
