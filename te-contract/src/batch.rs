//! Checking the signatures of many objects as one batch before the objects are processed.
//!
//! A [`Batch`] wraps a key resolver. Objects are added with the time their keys must be valid at; their
//! deployment, signer list and keys are checked as they are added, and [`Batch::verify`] checks all their
//! signatures at once under the rule of [`crate::verify`] (the same verdict as one by one). The batch is
//! then passed as the key resolver to the usual operations — [`crate::contract::ContractBook::record`],
//! [`crate::meter::MeterSeries::accept`], [`crate::settlement::SettlementBook::settle_to_channel`],
//! [`crate::channel::Channel::confirm`] and the rest — which find
//! their signatures already checked and skip the curve arithmetic; every other rule is still applied
//! there. A signature the batch did not check (or found invalid) is checked there on its own, so an object
//! forgotten, or added at another time, is never let through unverified.
//!
//! ```
//! # use te_contract::batch::Batch;
//! # use te_contract::registry::Registry;
//! # use te_contract::{AvatarId, DeploymentId};
//! # use idea_proto::{PublicKey, SigningKey, Timestamp};
//! # let deployment = DeploymentId::new("idea-demo")?;
//! # let now: Timestamp = "2026-11-24T10:00:00Z".parse()?;
//! # let key = SigningKey::from_bytes(&[1; 32]);
//! # let registry = Registry::new(deployment.clone(), AvatarId::from_bytes([1; 16]), PublicKey::from(&key), now);
//! let mut batch = Batch::new(&registry, deployment);
//! // batch.add(&contract, now)?; batch.add(&reading, now)?; ...
//! assert_eq!(batch.verify(), 0);
//! // book.record(contract, &batch, now)?; series.accept(&reading, &batch, now)?; ...
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::error::Result;
use crate::id::{AvatarId, DeploymentId};
use crate::signed::{Body, KeyResolver, SignatureCheck, Signed, verify_checks};
use idea_proto::{PublicKey, Timestamp};
use std::collections::HashSet;

/// A signature as checked: digest, key and signature bytes.
type Checked = ([u8; 32], [u8; 32], [u8; 64]);

fn checked(check: &SignatureCheck) -> Checked {
    (check.digest, check.key.to_bytes(), check.signature)
}

/// Signatures collected from many objects, checked together, then trusted by the operations it is passed
/// to as their key resolver.
#[derive(Debug)]
pub struct Batch<'k, K> {
    keys: &'k K,
    deployment: DeploymentId,
    pending: Vec<SignatureCheck>,
    verified: Verified,
}

/// The signatures a batch found valid, kept apart from the resolver it borrowed
/// ([`Batch::into_verified`]), so the one who owns that resolver can change other state while it lends
/// them again with [`Trusted`].
#[derive(Debug, Default, Clone)]
pub struct Verified(HashSet<Checked>);

impl Verified {
    /// How many signatures.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn unchecked(&self, checks: &[SignatureCheck]) -> Vec<SignatureCheck> {
        checks
            .iter()
            .filter(|c| !self.0.contains(&checked(c)))
            .copied()
            .collect()
    }
}

/// A key resolver that trusts the signatures in a [`Verified`] set and checks any other on its own: the
/// same as the [`Batch`] they came from.
#[derive(Debug, Clone, Copy)]
pub struct Trusted<'k, K> {
    keys: &'k K,
    verified: &'k Verified,
}

impl<'k, K: KeyResolver> Trusted<'k, K> {
    /// `keys`, with the signatures in `verified` taken as checked.
    pub fn new(keys: &'k K, verified: &'k Verified) -> Trusted<'k, K> {
        Trusted { keys, verified }
    }
}

impl<K: KeyResolver> KeyResolver for Trusted<'_, K> {
    fn key(&self, avatar: &AvatarId, version: u32, at: Timestamp) -> Result<PublicKey> {
        self.keys.key(avatar, version, at)
    }

    fn verify_signatures(&self, checks: &[SignatureCheck]) -> Result<()> {
        verify_checks(&self.verified.unchecked(checks))
    }
}

impl<K: crate::settlement::MeterBindings> crate::settlement::MeterBindings for Trusted<'_, K> {
    fn metered_cell(&self, meter: &AvatarId) -> Option<&idea_proto::CellId> {
        self.keys.metered_cell(meter)
    }
}

impl<'k, K: KeyResolver> Batch<'k, K> {
    /// An empty batch resolving keys through `keys` for objects of `deployment`.
    pub fn new(keys: &'k K, deployment: DeploymentId) -> Batch<'k, K> {
        Batch {
            keys,
            deployment,
            pending: Vec::new(),
            verified: Verified::default(),
        }
    }

    /// Ends the batch and keeps what it verified (pending signatures are dropped).
    pub fn into_verified(self) -> Verified {
        self.verified
    }

    /// Adds every signature `object` needs, its keys resolved at `at`. Refused at once if the object is of
    /// another deployment, lacks a signature or names a key not valid at `at`.
    pub fn add<T: Body>(&mut self, object: &Signed<T>, at: Timestamp) -> Result<()> {
        let checks = object.checks(self.keys, &self.deployment, at)?;
        self.pending.extend(checks);
        Ok(())
    }

    /// Signatures added and not yet verified.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Signatures verified so far.
    pub fn verified(&self) -> usize {
        self.verified.len()
    }

    /// Checks every pending signature as one batch and returns how many were invalid (0 when the batch
    /// holds). When the batch fails the signatures are checked one by one: the valid ones are kept, so the
    /// objects they belong to can still be processed, and those with an invalid one fail when processed.
    pub fn verify(&mut self) -> usize {
        let pending = std::mem::take(&mut self.pending);
        if crate::verify::verify_batch(&pending) {
            self.verified.0.extend(pending.iter().map(checked));
            return 0;
        }
        let mut invalid = 0usize;
        for check in &pending {
            if check.verify().is_ok() {
                self.verified.0.insert(checked(check));
            } else {
                invalid = invalid.saturating_add(1);
            }
        }
        invalid
    }

    /// Forgets every signature, pending or verified.
    pub fn clear(&mut self) {
        self.pending.clear();
        self.verified.0.clear();
    }
}

impl<K: KeyResolver> KeyResolver for Batch<'_, K> {
    fn key(&self, avatar: &AvatarId, version: u32, at: Timestamp) -> Result<PublicKey> {
        self.keys.key(avatar, version, at)
    }

    fn verify_signatures(&self, checks: &[SignatureCheck]) -> Result<()> {
        verify_checks(&self.verified.unchecked(checks))
    }
}

/// The meter bindings of the resolver the batch wraps, so a batch settles tokens too.
impl<K: crate::settlement::MeterBindings> crate::settlement::MeterBindings for Batch<'_, K> {
    fn metered_cell(&self, meter: &AvatarId) -> Option<&idea_proto::CellId> {
        self.keys.metered_cell(meter)
    }
}
