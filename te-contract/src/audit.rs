//! Verifying a ledger with every kind of entry this crate records: the table of
//! [`EntryKind`](crate::ledger::EntryKind)s (signed objects, registry changes, platform records, settlement
//! records with the meter's token) that [`crate::ledger::verify`] dispatches on.
//!
//! ```
//! # use te_contract::{AvatarId, DeploymentId};
//! # use te_contract::ledger::{Anchor, MemoryStore};
//! # use idea_proto::{PublicKey, SigningKey, Timestamp};
//! let deployment = DeploymentId::new("idea-demo")?;
//! let registrar = AvatarId::from_bytes([1; 16]);
//! let key = PublicKey::from(&SigningKey::from_bytes(&[1; 32]));
//! let genesis: Timestamp = "2026-11-24T10:00:00Z".parse()?;
//! let report = te_contract::audit::verify(&MemoryStore::new(), &deployment, registrar, key, genesis, &Anchor::None)?;
//! assert_eq!(report.entries, 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::channel::{ChannelClose, ChannelOpen, ChannelState, CloseRequest};
use crate::clearing::ClearingRecordKind;
use crate::contract::Contract;
use crate::error::Result;
use crate::id::{AvatarId, DeploymentId};
use crate::ledger::{
    Anchor, Kinds, LedgerStore, PlatformKind, RecordKind, RegistryKind, SignedKind, VerifyReport,
};
use crate::meter::{DeliveryToken, MeterReading};
use crate::registry::{BindingRecordKind, KeyRotation, Registration, Revocation};
use crate::settlement::{Dispute, SettlementRecordKind};
use crate::wallet::DepositRecordKind;
use idea_proto::{PublicKey, Timestamp};

/// Every kind of entry this crate records, each with its check.
pub fn standard_kinds() -> Kinds {
    let mut kinds = Kinds::new()
        .with(RegistryKind::<Registration>::new())
        .with(RegistryKind::<KeyRotation>::new())
        .with(RegistryKind::<Revocation>::new())
        .with(SignedKind::<Contract>::new())
        .with(SignedKind::<ChannelOpen>::new())
        .with(SignedKind::<ChannelState>::new())
        .with(SignedKind::<ChannelClose>::new())
        .with(SignedKind::<CloseRequest>::new())
        .with(SignedKind::<MeterReading>::new())
        .with(SignedKind::<DeliveryToken>::new())
        .with(SignedKind::<Dispute>::new());
    for record in RecordKind::ALL {
        kinds = match record {
            RecordKind::Settlement => kinds.with(SettlementRecordKind),
            RecordKind::Clearing => kinds.with(ClearingRecordKind),
            RecordKind::Deposit => kinds.with(DepositRecordKind),
            RecordKind::Binding => kinds.with(BindingRecordKind),
            _ => kinds.with(PlatformKind(record)),
        };
    }
    kinds
}

/// [`crate::ledger::verify`] with [`standard_kinds`].
///
/// # Errors
/// As [`crate::ledger::verify`].
pub fn verify(
    store: &impl LedgerStore,
    deployment: &DeploymentId,
    registrar: AvatarId,
    key: PublicKey,
    genesis: Timestamp,
    anchor: &Anchor,
) -> Result<VerifyReport> {
    crate::ledger::verify(
        store,
        deployment,
        registrar,
        key,
        genesis,
        anchor,
        &standard_kinds(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signed::MessageKind;

    #[test]
    fn every_kind_but_the_checkpoint_has_a_check() {
        let kinds = standard_kinds();
        for kind in MessageKind::ALL {
            let known = kinds.get(kind.code()).is_some();
            // The checkpoint is the ledger's own kind, checked against the chain before any table.
            assert_eq!(known, *kind != MessageKind::LedgerCheckpoint, "{kind}");
        }
        for kind in RecordKind::ALL {
            assert!(kinds.get(kind.code()).is_some(), "{kind:?}");
        }
        assert!(kinds.get(0xffff).is_none(), "an unknown code has no check");
    }
}
