//! The one error type of this crate.

use crate::id::{AvatarId, ChannelId};
use crate::signed::MessageKind;
use idea_proto::Money;

/// Everything that can go wrong in `te-contract`: malformed bytes, forged or misdirected signatures, and
/// operations the rules refuse. A counterparty's refusal to sign is not an error: it is the absence of a
/// countersignature, which the channel bounds with its credit limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not a well-formed object.
    #[error("cannot decode {field} at byte {offset}: {reason}")]
    Decode {
        /// Offset into the input where the problem was found.
        offset: usize,
        /// The field being read.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A signed object of another kind, deployment or scope than the one expected: it was made for
    /// something else and is refused before its signatures are looked at.
    #[error("{field}: expected {expected}, found {found}")]
    WrongDomain {
        /// The domain field that differs (`kind`, `deployment`, `scope`, `counter`).
        field: &'static str,
        /// What the verifier expected.
        expected: String,
        /// What the object carries.
        found: String,
    },
    /// A signature does not verify (strictly) under the key it names.
    #[error("the signature of {signer} on a {kind} does not verify")]
    BadSignature {
        /// The kind of object.
        kind: MessageKind,
        /// Whose signature it claims to be.
        signer: AvatarId,
    },
    /// A signature the object needs is missing, or one is there that has no business being there.
    #[error("a {kind} must be signed by {expected}; signatures are from {found}")]
    WrongSigners {
        /// The kind of object.
        kind: MessageKind,
        /// Who must sign.
        expected: String,
        /// Who did.
        found: String,
    },
    /// The key is not a valid ed25519 point, or is of small order (any signature verifies under a weak key).
    #[error("{0}")]
    InvalidKey(&'static str),
    /// The avatar is not in the registry.
    #[error("avatar {0} is not registered")]
    UnknownAvatar(AvatarId),
    /// The key named by a signature cannot sign at the time asked about.
    #[error("key {version} of avatar {avatar} cannot sign now: {reason}")]
    KeyNotValid {
        /// The avatar.
        avatar: AvatarId,
        /// Its key version.
        version: u32,
        /// Rotated, revoked or not yet added.
        reason: &'static str,
    },
    /// Something that must be unique was seen before: a contract id, a debt id, a meter token.
    #[error("{what} {id} is already recorded")]
    Duplicate {
        /// What kind of thing.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// A wallet would go below zero.
    #[error("the wallet of {avatar} holds {balance}, not {needed}")]
    InsufficientFunds {
        /// Whose wallet.
        avatar: AvatarId,
        /// What it holds.
        balance: Money,
        /// What was asked for.
        needed: Money,
    },
    /// A channel update or close that breaks the channel's rules.
    #[error("channel {channel}: {reason}")]
    Channel {
        /// The channel.
        channel: ChannelId,
        /// The rule broken.
        reason: String,
    },
    /// A new debt would take the creditor's exposure past the channel's credit limit.
    #[error("channel {channel}: exposure {exposure} would pass the credit limit {limit}")]
    CreditLimit {
        /// The channel.
        channel: ChannelId,
        /// The exposure the debt would lead to.
        exposure: Money,
        /// The limit.
        limit: Money,
    },
    /// A value outside what the rules allow.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field or argument.
        field: &'static str,
        /// Why it is refused.
        reason: String,
    },
    /// Arithmetic that would overflow.
    #[error("overflow in {0}")]
    Overflow(&'static str),
    /// A ledger failed verification at entry `seq` (0: the chain as a whole).
    #[error("ledger entry {seq}: {fault}")]
    Ledger {
        /// The entry.
        seq: u64,
        /// What is wrong with it.
        fault: LedgerFault,
    },
    /// The store could not make something durable; nothing that depended on it was acknowledged.
    #[error("store: {0}")]
    Store(String),
    /// An error from the IDEA domain types.
    #[error(transparent)]
    Proto(#[from] idea_proto::Error),
}

impl Error {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Error {
        Error::Invalid {
            field,
            reason: reason.into(),
        }
    }

    pub(crate) fn channel(channel: ChannelId, reason: impl Into<String>) -> Error {
        Error::Channel {
            channel,
            reason: reason.into(),
        }
    }
}

/// What [`crate::ledger::verify`] found wrong with a ledger.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerFault {
    /// Its sequence number or its link to the previous entry is wrong (an entry removed, inserted or moved).
    #[error("not linked to the previous entry")]
    NotLinked,
    /// Its hash does not match its content.
    #[error("its hash does not match its content")]
    HashMismatch,
    /// A second entry with the same kind and key.
    #[error("recorded twice")]
    RecordedTwice,
    /// Recorded before the entry it follows.
    #[error("recorded before the entry it follows")]
    OutOfOrder,
    /// Its key is not its object's.
    #[error("its key is not its object's")]
    WrongKey,
    /// An entry kind this version does not know.
    #[error("unknown entry kind {0:#06x}")]
    UnknownKind(u16),
    /// A checkpoint in the chain that does not cover the entry before it, or is not the operator's.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    /// The chain ends before the anchor (entries were removed from its end).
    #[error("the chain ends at entry {head}, before the anchored entry")]
    Truncated {
        /// Where the chain ends (0: empty).
        head: u64,
    },
    /// The anchored entry's hash differs (the chain was rewritten).
    #[error("its hash is not the anchored hash")]
    AnchorMismatch,
    /// The file is not a ledger.
    #[error("not a ledger: {0}")]
    NotALedger(String),
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
