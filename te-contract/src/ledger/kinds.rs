//! What the verifier asks of each kind of entry: one [`EntryKind`] per kind, handed to [`super::verify`] in a
//! [`Kinds`] table, so the ledger knows no record type above it and a new kind is a new implementation, not an
//! edit of the ledger. [`crate::audit::standard_kinds`] is the table of every kind this crate records.

use super::{Entry, RecordKind, decode};
use crate::error::Result;
use crate::id::DeploymentId;
use crate::registry::{KeyRotation, Registration, Registry, Revocation};
use crate::signed::{Body, SignatureCheck, verify_checks};
use std::marker::PhantomData;

/// The check of the entries of one kind.
pub trait EntryKind: Send + Sync {
    /// The entry code it checks.
    fn code(&self) -> u16;
    /// Checks one entry of this kind (keys valid at `entry.at`), applying it to the registry being rebuilt
    /// where it changes it; returns how many signatures it checked.
    fn check(
        &self,
        entry: &Entry,
        registry: &mut Registry,
        deployment: &DeploymentId,
    ) -> Result<u64>;

    /// As [`EntryKind::check`], except that the signature checks it would verify last — checks that need
    /// nothing but their own arithmetic, the registry left as it would have been — may be appended to
    /// `deferred` unverified, for the caller to verify with others in a batch. The chain's walk
    /// ([`super::verify`]) does, and reports an invalid one as this entry's fault. By default, `check`.
    fn check_deferring(
        &self,
        entry: &Entry,
        registry: &mut Registry,
        deployment: &DeploymentId,
        deferred: &mut Vec<SignatureCheck>,
    ) -> Result<u64> {
        let _ = deferred;
        self.check(entry, registry, deployment)
    }
}

/// An object its signers signed: decoded (its key must be its own), and every signature verified.
pub struct SignedKind<T>(PhantomData<fn() -> T>);

impl<T> SignedKind<T> {
    /// The check of objects of type `T`.
    pub fn new() -> SignedKind<T> {
        SignedKind(PhantomData)
    }
}

impl<T> Default for SignedKind<T> {
    fn default() -> SignedKind<T> {
        SignedKind::new()
    }
}

impl<T: Body> EntryKind for SignedKind<T> {
    fn code(&self) -> u16 {
        T::KIND.code()
    }
    fn check(
        &self,
        entry: &Entry,
        registry: &mut Registry,
        deployment: &DeploymentId,
    ) -> Result<u64> {
        let mut checks = Vec::new();
        let signatures = self.check_deferring(entry, registry, deployment, &mut checks)?;
        verify_checks(&checks)?;
        Ok(signatures)
    }

    fn check_deferring(
        &self,
        entry: &Entry,
        registry: &mut Registry,
        deployment: &DeploymentId,
        deferred: &mut Vec<SignatureCheck>,
    ) -> Result<u64> {
        let object = decode::<T>(entry)?;
        // The deployment, the signers and their keys now; the signatures' arithmetic with the batch.
        deferred.extend(object.checks(&*registry, deployment, entry.at)?);
        Ok(object.signatures().len() as u64)
    }
}

/// A change of the registry (registration, key rotation, revocation): applied as the registry applies it,
/// which checks its signatures.
pub struct RegistryKind<T>(PhantomData<fn() -> T>);

impl<T> RegistryKind<T> {
    /// The check of registry changes of type `T`.
    pub fn new() -> RegistryKind<T> {
        RegistryKind(PhantomData)
    }
}

impl<T> Default for RegistryKind<T> {
    fn default() -> RegistryKind<T> {
        RegistryKind::new()
    }
}

macro_rules! registry_kind {
    ($($t:ty => $apply:ident),*) => {$(
        impl EntryKind for RegistryKind<$t> {
            fn code(&self) -> u16 {
                <$t as Body>::KIND.code()
            }
            fn check(
                &self,
                entry: &Entry,
                registry: &mut Registry,
                _deployment: &DeploymentId,
            ) -> Result<u64> {
                let object = decode::<$t>(entry)?;
                registry.$apply(&object)?;
                Ok(object.signatures().len() as u64)
            }
        }
    )*};
}

registry_kind!(Registration => register, KeyRotation => rotate, Revocation => revoke);

/// A platform record no party signs: the chain, and the operator's checkpoints over it, vouch for it.
pub struct PlatformKind(pub RecordKind);

impl EntryKind for PlatformKind {
    fn code(&self) -> u16 {
        self.0.code()
    }
    fn check(&self, _: &Entry, _: &mut Registry, _: &DeploymentId) -> Result<u64> {
        Ok(0)
    }
}

/// The kinds a verifier knows; an entry of any other kind is refused.
#[derive(Default)]
pub struct Kinds(Vec<Box<dyn EntryKind>>);

impl Kinds {
    /// No kinds.
    pub fn new() -> Kinds {
        Kinds(Vec::new())
    }

    /// With `kind` added; it replaces a kind of the same code.
    pub fn with(mut self, kind: impl EntryKind + 'static) -> Kinds {
        self.0.retain(|k| k.code() != kind.code());
        self.0.push(Box::new(kind));
        self
    }

    /// The check of entries with code `code`.
    pub fn get(&self, code: u16) -> Option<&dyn EntryKind> {
        self.0.iter().find(|k| k.code() == code).map(|k| &**k)
    }
}

impl std::fmt::Debug for Kinds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|k| k.code()))
            .finish()
    }
}
