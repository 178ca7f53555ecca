//! The ledger: an append-only, hash-chained record of registrations, contracts, channel states, meter
//! readings, disputes and the platform's own records (settlements, discrepancies, clearings), behind a
//! store trait — SQLite by default (feature `sqlite`), memory for tests.
//!
//! Each entry's hash is SHA-256 over a tag, the previous entry's hash, its sequence number, kind, unique
//! key, time and body; a second entry with the same kind and key is refused, so nothing is recorded twice.
//! Entries are submitted to a group and made durable together by [`Ledger::commit`]: only what a commit
//! returned is acknowledged, and a crash loses at most the group in flight, never part of one.
//! [`verify`] walks the chain, rebuilding the registry from the registrar's key and checking every
//! signature at the time its entry was recorded.
//!
//! The chain alone is not keyed: whoever can write the file could rewrite it and recompute every hash, or
//! cut entries off its end. So the registrar, the deployment's operator, signs [`Checkpoint`]s (see
//! [`Ledger::checkpoint`]) — at least every clearing period — that are recorded in the chain and kept
//! outside it, and [`verify`] checks every checkpoint in the chain and the chain against an [`Anchor`]: the
//! latest checkpoint kept outside, or a head known by other means.
//!
//! What the ledger guarantees, and against whom:
//! - **A reader** (who can read the file) learns everything in it — it is not encrypted — and can check all
//!   of it against the registrar's public key, without being able to change it ([`SqliteStore::open_read_only`]).
//! - **A writer of the file** (without the operator's key) cannot change, insert, remove or reorder any entry
//!   up to the latest checkpoint without [`verify`] failing; entries after it it can rewrite or cut off, and
//!   only an [`Anchor`] kept out of its reach (a checkpoint file, a head published elsewhere) shows that.
//!   Signed objects (contracts, channel states, readings, disputes) it cannot forge at all: their parties'
//!   signatures fail. Unknown entry kinds are refused.
//! - **The operator** (who holds the registrar's key) can write any history of platform records
//!   (settlements, clearings, payouts) and sign checkpoints over it, but cannot forge what parties signed:
//!   every contract, channel state, reading and dispute still verifies only under its parties' keys. Two
//!   checkpoints it signed for one sequence number with different hashes are evidence of a rewrite.

mod checkpoint;
mod kinds;
mod memory;
#[cfg(feature = "sqlite")]
mod sqlite;

pub use checkpoint::Checkpoint;
pub use kinds::{EntryKind, Kinds, PlatformKind, RegistryKind, SignedKind};
pub use memory::MemoryStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;

use crate::codec::Codec;
use crate::error::{Error, LedgerFault, Result};
use crate::id::{AvatarId, DeploymentId};
use crate::registry::Registry;
use crate::signed::{Body, MessageKind, SignatureCheck, Signed};
use idea_proto::{EnvelopeSigner, PublicKey, Timestamp};
use sha2::{Digest, Sha256};
use std::collections::HashSet;

/// The tag that starts every entry hash.
pub const LEDGER_TAG: &[u8] = b"IDEA-SDK/te-ledger/v1";

/// The first code of the platform's own (unsigned) records; below it, codes are [`MessageKind`] codes.
pub const RECORD_CODES: u16 = 0x1000;

/// A platform record kind (not signed by a party; the chain vouches for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordKind {
    /// A verified interval and what it paid.
    Settlement,
    /// A delivery outside the tolerance band.
    Discrepancy,
    /// The outcome of a dispute.
    Resolution,
    /// A clearing run.
    Clearing,
    /// A channel paid out at its close.
    ChannelPayout,
    /// Money paid into a wallet from outside (TE-02).
    Deposit,
    /// Which agent, by its transport name, hears an avatar's notices.
    Binding,
}

impl RecordKind {
    /// Every kind.
    pub const ALL: [RecordKind; 7] = [
        RecordKind::Settlement,
        RecordKind::Discrepancy,
        RecordKind::Resolution,
        RecordKind::Clearing,
        RecordKind::ChannelPayout,
        RecordKind::Deposit,
        RecordKind::Binding,
    ];

    /// The kind with this code.
    pub fn from_code(code: u16) -> Option<RecordKind> {
        RecordKind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// Its entry code.
    pub const fn code(self) -> u16 {
        match self {
            RecordKind::Settlement => 0x1001,
            RecordKind::Discrepancy => 0x1002,
            RecordKind::Resolution => 0x1003,
            RecordKind::Clearing => 0x1004,
            RecordKind::ChannelPayout => 0x1005,
            RecordKind::Deposit => 0x1006,
            RecordKind::Binding => 0x1007,
        }
    }
}

/// One entry before it is chained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// A [`MessageKind`] code for signed objects, a [`RecordKind`] code for records.
    pub kind: u16,
    /// Unique per kind: the object's scope and counter (a contract id, a channel and its counter, a meter
    /// and its sequence number).
    pub key: [u8; 24],
    /// When it was recorded.
    pub at: Timestamp,
    /// The signed object's bytes, or the record's.
    pub body: Vec<u8>,
}

impl Entry {
    /// A signed object, keyed by its scope and counter.
    pub fn signed<T: Body>(object: &Signed<T>, at: Timestamp) -> Entry {
        let body = object.body();
        Entry {
            kind: T::KIND.code(),
            key: key(body.scope(), body.counter()),
            at,
            body: object.to_bytes(),
        }
    }

    /// A platform record with its own unique key.
    pub fn record(
        kind: RecordKind,
        scope: [u8; 16],
        counter: u64,
        at: Timestamp,
        body: Vec<u8>,
    ) -> Entry {
        Entry {
            kind: kind.code(),
            key: key(scope, counter),
            at,
            body,
        }
    }
}

fn key(scope: [u8; 16], counter: u64) -> [u8; 24] {
    let mut key = [0u8; 24];
    let (s, c) = key.split_at_mut(16);
    s.copy_from_slice(&scope);
    c.copy_from_slice(&counter.to_be_bytes());
    key
}

/// An entry in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    /// Its position, from 1.
    pub seq: u64,
    /// The entry.
    pub entry: Entry,
    /// The previous entry's hash (zeros for the first).
    pub prev: [u8; 32],
    /// Its hash.
    pub hash: [u8; 32],
}

/// The hash of entry `seq` after `prev`.
pub fn entry_hash(prev: &[u8; 32], seq: u64, entry: &Entry) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update((LEDGER_TAG.len() as u64).to_be_bytes());
    h.update(LEDGER_TAG);
    h.update(prev);
    h.update(seq.to_be_bytes());
    h.update(entry.kind.to_be_bytes());
    h.update(entry.key);
    h.update(entry.at.unix_ms().to_be_bytes());
    h.update((entry.body.len() as u64).to_be_bytes());
    h.update(&entry.body);
    h.finalize().into()
}

/// The last entry of a chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainHead {
    /// Its sequence number.
    pub seq: u64,
    /// Its hash.
    pub hash: [u8; 32],
}

/// Where the chain is kept. `append` is all or nothing and durable when it returns.
pub trait LedgerStore {
    /// The last entry, if any.
    fn head(&self) -> Result<Option<ChainHead>>;
    /// Whether an entry of `kind` with `key` is stored.
    fn contains(&self, kind: u16, key: &[u8; 24]) -> Result<bool>;
    /// The position in `ids` of the first (kind, key) already stored; by default one [`Self::contains`]
    /// each, a store may look them up together.
    fn first_stored(&self, ids: &[(u16, [u8; 24])]) -> Result<Option<usize>> {
        for (i, (kind, key)) in ids.iter().enumerate() {
            if self.contains(*kind, key)? {
                return Ok(Some(i));
            }
        }
        Ok(None)
    }
    /// Stores `entries` (consecutive, after the head) atomically and durably.
    fn append(&mut self, entries: &[StoredEntry]) -> Result<()>;
    /// Calls `f` with every entry from `from` on, in order, until it returns an error.
    fn scan(&self, from: u64, f: &mut dyn FnMut(StoredEntry) -> Result<()>) -> Result<()>;
}

/// A ledger over a store, with a group of entries waiting for the next commit.
#[derive(Debug)]
pub struct Ledger<S> {
    store: S,
    head: Option<ChainHead>,
    group: Vec<StoredEntry>,
    group_keys: HashSet<(u16, [u8; 24])>,
}

impl<S: LedgerStore> Ledger<S> {
    /// Opens the chain in `store` where it ends.
    pub fn open(store: S) -> Result<Ledger<S>> {
        let head = store.head()?;
        Ok(Ledger {
            store,
            head,
            group: Vec::new(),
            group_keys: HashSet::new(),
        })
    }

    /// The last committed entry.
    pub fn head(&self) -> Option<ChainHead> {
        self.head
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Adds an entry to the group; returns its sequence number. It is not recorded — nor may it be
    /// acknowledged to anyone — until [`Ledger::commit`] returns. A kind and key already stored or in the
    /// group is refused.
    pub fn submit(&mut self, entry: Entry) -> Result<u64> {
        let seqs = self.submit_all(vec![entry])?;
        seqs.first()
            .copied()
            .ok_or(Error::Overflow("ledger sequence"))
    }

    /// Adds entries to the group in order, all or none; returns their sequence numbers. The store is asked
    /// about all their keys at once. Refused if any kind and key is already stored, in the group, or twice
    /// among `entries`.
    pub fn submit_all(&mut self, entries: Vec<Entry>) -> Result<Vec<u64>> {
        let ids: Vec<(u16, [u8; 24])> = entries.iter().map(|e| (e.kind, e.key)).collect();
        let mut seen = HashSet::with_capacity(ids.len());
        let repeated = ids
            .iter()
            .position(|id| self.group_keys.contains(id) || !seen.insert(*id));
        let stored = match repeated {
            Some(i) => Some(i),
            None => self.store.first_stored(&ids)?,
        };
        if let Some((kind, key)) = stored.and_then(|i| ids.get(i)) {
            return Err(Error::Duplicate {
                what: "ledger entry",
                id: format!("kind {kind} key {}", crate::hex(key)),
            });
        }
        let (mut seq, mut prev) = match self.group.last() {
            Some(last) => (last.seq, last.hash),
            None => self.head.map_or((0, [0; 32]), |h| (h.seq, h.hash)),
        };
        let mut seqs = Vec::with_capacity(entries.len());
        let mut stored = Vec::with_capacity(entries.len());
        for entry in entries {
            seq = seq
                .checked_add(1)
                .ok_or(Error::Overflow("ledger sequence"))?;
            let hash = entry_hash(&prev, seq, &entry);
            stored.push(StoredEntry {
                seq,
                entry,
                prev,
                hash,
            });
            seqs.push(seq);
            prev = hash;
        }
        self.group_keys.extend(ids);
        self.group.extend(stored);
        Ok(seqs)
    }

    /// Makes the group durable in one store transaction; returns the new head. On error nothing of the
    /// group is recorded and the group is dropped (submit again).
    pub fn commit(&mut self) -> Result<Option<ChainHead>> {
        let group = std::mem::take(&mut self.group);
        self.group_keys.clear();
        if let Some(last) = group.last() {
            self.store.append(&group)?;
            self.head = Some(ChainHead {
                seq: last.seq,
                hash: last.hash,
            });
        }
        Ok(self.head)
    }

    /// How many entries wait for the next commit.
    pub fn pending(&self) -> usize {
        self.group.len()
    }

    /// The operator (the registrar, `operator`, with its key `key_version`) signs the chain up to its last
    /// entry — committed or in the group — and the checkpoint joins the group as the next entry. Keep the
    /// returned checkpoint outside the ledger too (`to_bytes()` into a file the ledger's writer cannot
    /// change): it is the [`Anchor`] [`verify`] checks the chain against. Refused on an empty chain.
    pub fn checkpoint(
        &mut self,
        operator: AvatarId,
        key_version: u32,
        key: &impl EnvelopeSigner,
        deployment: &DeploymentId,
        at: Timestamp,
    ) -> Result<Signed<Checkpoint>> {
        let last = match self.group.last() {
            Some(last) => ChainHead {
                seq: last.seq,
                hash: last.hash,
            },
            None => self
                .head
                .ok_or_else(|| Error::invalid("ledger", "nothing to checkpoint"))?,
        };
        let mut signed = Signed::new(
            deployment.clone(),
            Checkpoint {
                operator,
                seq: last.seq,
                hash: last.hash,
                at,
            },
        );
        signed.sign(operator, key_version, key)?;
        self.submit(Entry::signed(&signed, at))?;
        Ok(signed)
    }
}

/// What [`verify`] checks the chain against, besides itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Anchor {
    /// Nothing: the chain is checked up to its latest in-chain checkpoint only; what follows it, or a cut
    /// at its end, cannot be told.
    #[default]
    None,
    /// A head known by other means (published, printed by an earlier verification): the chain must hold
    /// this entry with this hash.
    Head(ChainHead),
    /// The latest checkpoint, kept outside the ledger: it must be the operator's, and the chain must hold
    /// the entry it covers with its hash.
    Checkpoint(Signed<Checkpoint>),
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Entries walked.
    pub entries: u64,
    /// Signatures checked.
    pub signatures: u64,
    /// The head.
    pub head: Option<ChainHead>,
    /// Checkpoints found in the chain.
    pub checkpoints: u64,
    /// The entry the latest in-chain checkpoint covers.
    pub last_checkpoint: Option<ChainHead>,
    /// Entries after the entry the latest in-chain checkpoint covers (all of them when there is none): what
    /// only an [`Anchor`] protects.
    pub unanchored: u64,
}

fn fault(seq: u64, fault: LedgerFault) -> Error {
    Error::Ledger { seq, fault }
}

/// How many signatures the walk verifies at once: a batch costs about half of verifying each alone
/// ([`crate::verify::verify_batch`]), and this many keep the memory small.
const DEFERRED_BATCH: usize = 256;

/// Signature checks handed back by [`EntryKind::check_deferring`], in chain order, not yet verified.
#[derive(Default)]
struct Deferred {
    checks: Vec<SignatureCheck>,
}

impl Deferred {
    /// Verifies every check waiting, as one batch split over the cores; the error of the first invalid one
    /// (the error the entry carrying it would have given, verified alone).
    fn verify(&mut self) -> Result<()> {
        let checks = std::mem::take(&mut self.checks);
        if crate::verify::verify_batch_on_cores(&checks) {
            return Ok(());
        }
        crate::signed::verify_checks(&checks)
    }

    /// The walk meets `e`: an earlier entry's invalid signature comes first, else `e`.
    fn fail(&mut self, e: Error) -> Result<()> {
        self.verify()?;
        Err(e)
    }
}

/// Walks the chain: every hash and link, every key unique, times never going back, every entry of a kind in
/// `kinds` and checked as that kind says — signed objects decoded and verified, registrations, rotations and
/// revocations rebuilding the registry from `registrar`'s `key`, every signature under a key valid when its
/// entry was recorded. Every checkpoint in the chain must be the registrar's and cover the entry before it; the
/// chain must then hold what `anchor` names. [`crate::audit::verify`] is this with every kind this crate
/// records.
///
/// The signed objects' signatures are verified 256 at a time
/// ([`EntryKind::check_deferring`]), at about half the cost of one by one, and each 256 split over the
/// machine's cores ([`crate::verify::verify_batch_on_cores`]); the verdict and the fault
/// reported are those of verifying each entry in its turn — the first fault in the chain, a signature
/// included.
pub fn verify(
    store: &impl LedgerStore,
    deployment: &DeploymentId,
    registrar: AvatarId,
    key: PublicKey,
    genesis: Timestamp,
    anchor: &Anchor,
    kinds: &Kinds,
) -> Result<VerifyReport> {
    let mut registry = Registry::new(deployment.clone(), registrar, key, genesis);
    let anchored_seq = match anchor {
        Anchor::None => None,
        Anchor::Head(head) => Some(head.seq),
        Anchor::Checkpoint(c) => Some(c.body().seq),
    };
    let mut anchored_hash = None;
    let mut prev = [0u8; 32];
    let mut expected = 1u64;
    let mut last_at = genesis;
    let mut signatures = 0u64;
    let mut checkpoints = 0u64;
    let mut last_checkpoint = None;
    let mut seen = HashSet::new();
    // Signatures that need only their own arithmetic wait here to be verified many at once; whatever fault
    // the walk meets later is reported only once they are, so the first fault in the chain is the one
    // reported, as if each had been verified in its turn.
    let mut pending = Deferred::default();
    let walked = store.scan(1, &mut |stored| {
        let seq = stored.seq;
        if seq != expected || stored.prev != prev {
            return pending.fail(fault(expected, LedgerFault::NotLinked));
        }
        if entry_hash(&prev, seq, &stored.entry) != stored.hash {
            return pending.fail(fault(seq, LedgerFault::HashMismatch));
        }
        if !seen.insert((stored.entry.kind, stored.entry.key)) {
            return pending.fail(fault(seq, LedgerFault::RecordedTwice));
        }
        if stored.entry.at < last_at {
            return pending.fail(fault(seq, LedgerFault::OutOfOrder));
        }
        if stored.entry.kind == MessageKind::LedgerCheckpoint.code() {
            let covered = match check_checkpoint(&stored, prev, registrar, &registry, deployment) {
                Ok(covered) => covered,
                Err(e) => return pending.fail(e),
            };
            checkpoints = checkpoints.saturating_add(1);
            last_checkpoint = Some(covered);
            signatures = signatures.saturating_add(1);
        } else {
            let Some(kind) = kinds.get(stored.entry.kind) else {
                return pending.fail(fault(seq, LedgerFault::UnknownKind(stored.entry.kind)));
            };
            let checked = match kind.check_deferring(
                &stored.entry,
                &mut registry,
                deployment,
                &mut pending.checks,
            ) {
                Ok(checked) => checked,
                Err(Error::Ledger { fault: f, .. }) => return pending.fail(fault(seq, f)),
                Err(other) => return pending.fail(other),
            };
            signatures = signatures.saturating_add(checked);
        }
        if Some(seq) == anchored_seq {
            anchored_hash = Some(stored.hash);
        }
        prev = stored.hash;
        last_at = stored.entry.at;
        expected = expected.saturating_add(1);
        if pending.checks.len() >= DEFERRED_BATCH {
            pending.verify()?;
        }
        Ok(())
    });
    match walked {
        Ok(()) => pending.verify()?,
        Err(e) => pending.fail(e)?,
    }
    let entries = expected.saturating_sub(1);
    let head = (entries > 0).then_some(ChainHead {
        seq: entries,
        hash: prev,
    });
    check_anchor(
        anchor,
        anchored_hash,
        entries,
        registrar,
        &registry,
        deployment,
    )?;
    Ok(VerifyReport {
        entries,
        signatures,
        head,
        checkpoints,
        last_checkpoint,
        unanchored: entries.saturating_sub(last_checkpoint.map_or(0, |c: ChainHead| c.seq)),
    })
}

/// A checkpoint entry: the registrar's, verifying, and covering the entry before it (whose hash is `prev`).
/// Returns what it covers.
fn check_checkpoint(
    stored: &StoredEntry,
    prev: [u8; 32],
    registrar: AvatarId,
    registry: &Registry,
    deployment: &DeploymentId,
) -> Result<ChainHead> {
    let seq = stored.seq;
    let signed = decode::<Checkpoint>(&stored.entry).map_err(|e| match e {
        Error::Ledger { fault: f, .. } => fault(seq, f),
        other => other,
    })?;
    let c = signed.body();
    if c.operator != registrar {
        return Err(fault(
            seq,
            LedgerFault::Checkpoint(format!(
                "signed by {}, not the operator {registrar}",
                c.operator
            )),
        ));
    }
    if c.seq.checked_add(1) != Some(seq) || c.hash != prev {
        return Err(fault(
            seq,
            LedgerFault::Checkpoint(format!("covers entry {}, not the entry before it", c.seq)),
        ));
    }
    signed.verify(registry, deployment, stored.entry.at)?;
    Ok(ChainHead {
        seq: c.seq,
        hash: c.hash,
    })
}

/// The chain (`entries` long; `found` the hash of the anchored entry, if reached) against `anchor`.
fn check_anchor(
    anchor: &Anchor,
    found: Option<[u8; 32]>,
    entries: u64,
    registrar: AvatarId,
    registry: &Registry,
    deployment: &DeploymentId,
) -> Result<()> {
    let (seq, hash) = match anchor {
        Anchor::None => return Ok(()),
        Anchor::Head(head) => (head.seq, head.hash),
        Anchor::Checkpoint(signed) => {
            let c = signed.body();
            if c.operator != registrar {
                return Err(fault(
                    c.seq,
                    LedgerFault::Checkpoint(format!(
                        "the anchor is signed by {}, not the operator {registrar}",
                        c.operator
                    )),
                ));
            }
            signed.verify(registry, deployment, c.at)?;
            (c.seq, c.hash)
        }
    };
    match found {
        None => Err(fault(seq, LedgerFault::Truncated { head: entries })),
        Some(found) if found != hash => Err(fault(seq, LedgerFault::AnchorMismatch)),
        Some(_) => Ok(()),
    }
}

/// Decodes an entry's signed object, which must be the one its key names.
fn decode<T: Body>(entry: &Entry) -> Result<Signed<T>> {
    let object = Signed::<T>::decode_exact(&entry.body)?;
    let body = object.body();
    if key(body.scope(), body.counter()) != entry.key {
        return Err(fault(0, LedgerFault::WrongKey));
    }
    Ok(object)
}
