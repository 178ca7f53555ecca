//! Avatars and their keys: registration by the deployment's registrar, key rotation, revocation.
//!
//! An avatar keeps its id for life; its keys are numbered from 0. A key signs from the time it is added
//! until the time it is rotated out or revoked, whichever comes first; signatures are checked against the
//! time they are accepted (a ledger entry's time), so a revoked key cannot sign anything new however it
//! dates its objects, and what it signed before stays verifiable.

use crate::codec::{Codec, Put, Reader};
use crate::error::{Error, Result};
use crate::id::{AvatarId, DeploymentId};
use crate::signed::{Body, KeyResolver, MessageKind, Signed};
use idea_proto::{AgentId, CellId, MeterId, PublicKey, Timestamp, UserId};
use std::collections::HashMap;

/// Whom an avatar represents.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AvatarKind {
    /// The registrar of the deployment (registers avatars, may revoke any key).
    Registrar,
    /// A cell's software agent.
    Agent(AgentId),
    /// A user: a cell owner or a service operator.
    User(UserId),
    /// A meter whose readings are converted to tokens, installed at `cell`'s connection point: export is
    /// energy out of that cell, import energy into it. Settlement accepts its tokens only for contracts
    /// whose delivery point is that cell. A meter moved to another cell is a new avatar (the old one's key
    /// revoked), so what it measured before stays bound to where it measured it.
    Meter {
        /// The meter's id.
        meter: MeterId,
        /// The cell it measures.
        cell: CellId,
    },
}

impl Codec for AvatarKind {
    fn encode(&self, out: &mut Vec<u8>) {
        let (tag, name) = match self {
            AvatarKind::Registrar => (0u8, ""),
            AvatarKind::Agent(id) => (1, id.as_str()),
            AvatarKind::User(id) => (2, id.as_str()),
            AvatarKind::Meter { meter, .. } => (3, meter.as_str()),
        };
        out.push(tag);
        out.put_text(name);
        if let AvatarKind::Meter { cell, .. } = self {
            out.put_text(cell.as_str());
        }
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self> {
        let at = reader.offset();
        let tag = reader.u8("avatar_kind")?;
        let name = reader.text("avatar_kind.id", 128)?;
        let bad = |e: idea_proto::Error| Error::Decode {
            offset: at,
            field: "avatar_kind.id",
            reason: e.to_string(),
        };
        match tag {
            0 if name.is_empty() => Ok(AvatarKind::Registrar),
            1 => AgentId::new(name).map(AvatarKind::Agent).map_err(bad),
            2 => UserId::new(name).map(AvatarKind::User).map_err(bad),
            3 => {
                let meter = MeterId::new(name).map_err(bad)?;
                let at = reader.offset();
                let cell = reader.text("avatar_kind.cell", 128)?;
                let cell = CellId::new(cell).map_err(|e| Error::Decode {
                    offset: at,
                    field: "avatar_kind.cell",
                    reason: e.to_string(),
                })?;
                Ok(AvatarKind::Meter { meter, cell })
            }
            _ => Err(Error::Decode {
                offset: at,
                field: "avatar_kind",
                reason: format!("tag {tag} with id {name:?}"),
            }),
        }
    }
}

pub(crate) fn put_key(out: &mut Vec<u8>, key: &PublicKey) {
    out.extend_from_slice(&key.to_bytes());
}

/// Reads a public key, refusing invalid and weak (small-order) points.
pub(crate) fn read_key(reader: &mut Reader<'_>, field: &'static str) -> Result<PublicKey> {
    let at = reader.offset();
    let bytes = reader.array::<32>(field)?;
    PublicKey::from_bytes(&bytes).map_err(|e| Error::Decode {
        offset: at,
        field,
        reason: e.to_string(),
    })
}

/// An avatar entered in the registry; signed by the registrar, then by the avatar's key 0 (proof that it
/// holds it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// The registrar.
    pub registrar: AvatarId,
    /// The new avatar.
    pub avatar: AvatarId,
    /// Whom it represents.
    pub kind: AvatarKind,
    /// Its key 0.
    pub key: PublicKey,
    /// When it takes effect.
    pub at: Timestamp,
}

impl Codec for Registration {
    fn encode(&self, out: &mut Vec<u8>) {
        self.registrar.encode(out);
        self.avatar.encode(out);
        self.kind.encode(out);
        put_key(out, &self.key);
        out.put_timestamp(self.at);
    }
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Registration {
            registrar: AvatarId::read(r)?,
            avatar: AvatarId::read(r)?,
            kind: AvatarKind::read(r)?,
            key: read_key(r, "key")?,
            at: r.timestamp("at")?,
        })
    }
}

impl Body for Registration {
    const KIND: MessageKind = MessageKind::Registration;
    fn scope(&self) -> [u8; 16] {
        self.avatar.0
    }
    fn signers(&self) -> Vec<AvatarId> {
        vec![self.registrar, self.avatar]
    }
}

/// An avatar's next key; signed by the avatar with its current key, then with the new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRotation {
    /// The avatar.
    pub avatar: AvatarId,
    /// The new key's version: the current one plus 1.
    pub version: u32,
    /// The new key.
    pub key: PublicKey,
    /// When the new key replaces the old one.
    pub at: Timestamp,
}

impl Codec for KeyRotation {
    fn encode(&self, out: &mut Vec<u8>) {
        self.avatar.encode(out);
        out.put_u32(self.version);
        put_key(out, &self.key);
        out.put_timestamp(self.at);
    }
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(KeyRotation {
            avatar: AvatarId::read(r)?,
            version: r.u32("version")?,
            key: read_key(r, "key")?,
            at: r.timestamp("at")?,
        })
    }
}

impl Body for KeyRotation {
    const KIND: MessageKind = MessageKind::KeyRotation;
    fn scope(&self) -> [u8; 16] {
        self.avatar.0
    }
    fn counter(&self) -> u64 {
        u64::from(self.version)
    }
    fn signers(&self) -> Vec<AvatarId> {
        vec![self.avatar, self.avatar]
    }
}

/// A key withdrawn (lost or compromised); signed by the registrar or by the avatar itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// Who revokes: the registrar or the avatar.
    pub by: AvatarId,
    /// Whose key.
    pub avatar: AvatarId,
    /// Which key.
    pub version: u32,
    /// From when it can no longer sign.
    pub at: Timestamp,
}

impl Codec for Revocation {
    fn encode(&self, out: &mut Vec<u8>) {
        self.by.encode(out);
        self.avatar.encode(out);
        out.put_u32(self.version);
        out.put_timestamp(self.at);
    }
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Revocation {
            by: AvatarId::read(r)?,
            avatar: AvatarId::read(r)?,
            version: r.u32("version")?,
            at: r.timestamp("at")?,
        })
    }
}

impl Body for Revocation {
    const KIND: MessageKind = MessageKind::Revocation;
    fn scope(&self) -> [u8; 16] {
        self.avatar.0
    }
    fn counter(&self) -> u64 {
        u64::from(self.version)
    }
    fn signers(&self) -> Vec<AvatarId> {
        vec![self.by]
    }
}

/// One key of an avatar and when it may sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// The key.
    pub key: PublicKey,
    /// From when.
    pub added: Timestamp,
    /// Until when (exclusive): rotated out or revoked.
    pub until: Option<Timestamp>,
    /// Whether it ended by revocation.
    pub revoked: bool,
}

/// An avatar: whom it represents and its keys by version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Avatar {
    /// Its id.
    pub id: AvatarId,
    /// Whom it represents.
    pub kind: AvatarKind,
    /// Its keys; the index is the version.
    pub keys: Vec<KeyRecord>,
}

/// The avatars of one deployment. Changes come as signed objects in time order; each is checked
/// completely before anything changes.
#[derive(Debug, Clone)]
pub struct Registry {
    deployment: DeploymentId,
    registrar: AvatarId,
    avatars: HashMap<AvatarId, Avatar>,
    /// Time of the last change: changes are applied in time order.
    last: Timestamp,
}

/// Resolves one not-yet-registered key (key 0 of an avatar being registered, or the new key of a
/// rotation) on top of the registry.
struct WithPending<'a> {
    registry: &'a Registry,
    avatar: AvatarId,
    version: u32,
    key: PublicKey,
}

impl KeyResolver for WithPending<'_> {
    fn key(&self, avatar: &AvatarId, version: u32, at: Timestamp) -> Result<PublicKey> {
        if *avatar == self.avatar && version == self.version {
            Ok(self.key)
        } else {
            self.registry.key(avatar, version, at)
        }
    }
}

impl Registry {
    /// A registry for `deployment` whose registrar `registrar` holds `key` from `at`.
    pub fn new(
        deployment: DeploymentId,
        registrar: AvatarId,
        key: PublicKey,
        at: Timestamp,
    ) -> Registry {
        let mut avatars = HashMap::new();
        avatars.insert(
            registrar,
            Avatar {
                id: registrar,
                kind: AvatarKind::Registrar,
                keys: vec![KeyRecord {
                    key,
                    added: at,
                    until: None,
                    revoked: false,
                }],
            },
        );
        Registry {
            deployment,
            registrar,
            avatars,
            last: at,
        }
    }

    /// The deployment.
    pub fn deployment(&self) -> &DeploymentId {
        &self.deployment
    }

    /// The registrar's avatar.
    pub fn registrar(&self) -> AvatarId {
        self.registrar
    }

    /// When the registry began: from then the registrar's first key signs (what `audit::verify` takes as
    /// its genesis).
    pub fn genesis(&self) -> Timestamp {
        self.avatars
            .get(&self.registrar)
            .and_then(|a| a.keys.first())
            .map_or(self.last, |k| k.added)
    }

    /// An avatar.
    pub fn avatar(&self, id: &AvatarId) -> Option<&Avatar> {
        self.avatars.get(id)
    }

    /// The cell `meter` measures, if it is a registered meter.
    pub fn metered_cell(&self, meter: &AvatarId) -> Option<&CellId> {
        match &self.avatars.get(meter)?.kind {
            AvatarKind::Meter { cell, .. } => Some(cell),
            _ => None,
        }
    }

    /// How many avatars, the registrar included.
    pub fn len(&self) -> usize {
        self.avatars.len()
    }

    /// Whether only the registrar is there (never true: it always is).
    pub fn is_empty(&self) -> bool {
        self.avatars.is_empty()
    }

    fn in_order(&self, at: Timestamp) -> Result<()> {
        if at < self.last {
            return Err(Error::invalid(
                "at",
                format!("{at} is before the registry's last change at {}", self.last),
            ));
        }
        Ok(())
    }

    /// Enters an avatar.
    pub fn register(&mut self, signed: &Signed<Registration>) -> Result<()> {
        let r = signed.body();
        self.in_order(r.at)?;
        if r.registrar != self.registrar {
            return Err(Error::invalid(
                "registrar",
                format!("{} is not the registrar", r.registrar),
            ));
        }
        if self.avatars.contains_key(&r.avatar) {
            return Err(Error::Duplicate {
                what: "avatar",
                id: r.avatar.to_string(),
            });
        }
        if r.kind == AvatarKind::Registrar {
            return Err(Error::invalid("kind", "a deployment has one registrar"));
        }
        let keys = WithPending {
            registry: self,
            avatar: r.avatar,
            version: 0,
            key: r.key,
        };
        if signed.signatures().get(1).map(|s| s.key_version) != Some(0) {
            return Err(Error::invalid(
                "signatures",
                "the new avatar signs with key 0",
            ));
        }
        signed.verify(&keys, &self.deployment, r.at)?;
        self.avatars.insert(
            r.avatar,
            Avatar {
                id: r.avatar,
                kind: r.kind.clone(),
                keys: vec![KeyRecord {
                    key: r.key,
                    added: r.at,
                    until: None,
                    revoked: false,
                }],
            },
        );
        self.last = r.at;
        Ok(())
    }

    /// Replaces an avatar's current key by the next one.
    pub fn rotate(&mut self, signed: &Signed<KeyRotation>) -> Result<()> {
        let r = signed.body();
        self.in_order(r.at)?;
        let avatar = self
            .avatars
            .get(&r.avatar)
            .ok_or(Error::UnknownAvatar(r.avatar))?;
        let current = u32::try_from(avatar.keys.len().saturating_sub(1)).unwrap_or(u32::MAX);
        if r.version != current.saturating_add(1) {
            return Err(Error::invalid(
                "version",
                format!(
                    "the next key of {} is version {}",
                    r.avatar,
                    current.saturating_add(1)
                ),
            ));
        }
        if avatar.keys.iter().any(|k| k.key == r.key) {
            return Err(Error::invalid("key", "a key cannot be used twice"));
        }
        let versions: Vec<u32> = signed.signatures().iter().map(|s| s.key_version).collect();
        if versions != [current, r.version] {
            return Err(Error::invalid(
                "signatures",
                "signed with the current key, then the new one",
            ));
        }
        let keys = WithPending {
            registry: self,
            avatar: r.avatar,
            version: r.version,
            key: r.key,
        };
        signed.verify(&keys, &self.deployment, r.at)?;
        let avatar = self
            .avatars
            .get_mut(&r.avatar)
            .ok_or(Error::UnknownAvatar(r.avatar))?;
        if let Some(old) = avatar.keys.last_mut() {
            old.until = Some(old.until.map_or(r.at, |u| u.min(r.at)));
        }
        avatar.keys.push(KeyRecord {
            key: r.key,
            added: r.at,
            until: None,
            revoked: false,
        });
        self.last = r.at;
        Ok(())
    }

    /// Withdraws a key from `at`.
    pub fn revoke(&mut self, signed: &Signed<Revocation>) -> Result<()> {
        let r = signed.body();
        self.in_order(r.at)?;
        if r.by != self.registrar && r.by != r.avatar {
            return Err(Error::invalid(
                "by",
                "only the registrar or the avatar itself revokes its keys",
            ));
        }
        let avatar = self
            .avatars
            .get(&r.avatar)
            .ok_or(Error::UnknownAvatar(r.avatar))?;
        if avatar.keys.get(r.version as usize).is_none() {
            return Err(Error::invalid(
                "version",
                format!("{} has no key {}", r.avatar, r.version),
            ));
        }
        signed.verify(self, &self.deployment, r.at)?;
        let record = self
            .avatars
            .get_mut(&r.avatar)
            .and_then(|a| a.keys.get_mut(r.version as usize))
            .ok_or(Error::UnknownAvatar(r.avatar))?;
        record.until = Some(record.until.map_or(r.at, |u| u.min(r.at)));
        record.revoked = true;
        self.last = r.at;
        Ok(())
    }
}

/// The registry seen for checking objects agreed earlier (a channel state brought to a close): a key
/// rotated out still verifies what it signed while it was current — an honest peer never countersigns
/// anything new under it, so a rotated key alone cannot make a state both sides signed — but a revoked key
/// verifies nothing from its revocation on.
#[derive(Debug, Clone, Copy)]
pub struct Archive<'a>(pub &'a Registry);

impl KeyResolver for Archive<'_> {
    fn key(&self, avatar: &AvatarId, version: u32, at: Timestamp) -> Result<PublicKey> {
        let record = self.0.record(avatar, version)?;
        match record.until {
            Some(until) if record.revoked && at >= until => Err(Error::KeyNotValid {
                avatar: *avatar,
                version,
                reason: "revoked",
            }),
            _ => Ok(record.key),
        }
    }
}

impl Registry {
    fn record(&self, avatar: &AvatarId, version: u32) -> Result<&KeyRecord> {
        self.avatars
            .get(avatar)
            .ok_or(Error::UnknownAvatar(*avatar))?
            .keys
            .get(version as usize)
            .ok_or(Error::KeyNotValid {
                avatar: *avatar,
                version,
                reason: "no such key",
            })
    }
}

impl KeyResolver for Registry {
    fn key(&self, avatar: &AvatarId, version: u32, at: Timestamp) -> Result<PublicKey> {
        let record = self.record(avatar, version)?;
        let refuse = |reason| Error::KeyNotValid {
            avatar: *avatar,
            version,
            reason,
        };
        if at < record.added {
            return Err(refuse("not yet added"));
        }
        match record.until {
            Some(until) if at >= until && record.revoked => Err(refuse("revoked")),
            Some(until) if at >= until => Err(refuse("rotated out")),
            _ => Ok(record.key),
        }
    }
}

/// The longest transport name a binding records, bytes.
pub const MAX_BINDING_NAME: usize = 256;

/// Which agent, by the name it is reached at (its MQTT inbox, say), hears the notices of `avatar` — as the
/// platform recorded it when the agent registered (again), the `sequence`th binding; the ledger keeps them so
/// a platform rebuilt from it still knows where to send what it owes each party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The avatar.
    pub avatar: AvatarId,
    /// The agent's transport name.
    pub name: String,
    /// The platform's count of bindings, from 1.
    pub sequence: u64,
}

/// Layout: the avatar (16 bytes), the name (text), the sequence (u64).
impl Codec for Binding {
    fn encode(&self, out: &mut Vec<u8>) {
        self.avatar.encode(out);
        out.put_text(&self.name);
        out.put_u64(self.sequence);
    }
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        let avatar = AvatarId::read(r)?;
        let name = r.text("name", MAX_BINDING_NAME)?.to_owned();
        if name.is_empty() {
            return Err(r.error("name", "a binding names its agent"));
        }
        Ok(Binding {
            avatar,
            name,
            sequence: r.u64("sequence")?,
        })
    }
}

impl Binding {
    /// The ledger entry recording it, keyed by the avatar and the sequence.
    pub fn ledger_entry(&self, at: Timestamp) -> crate::ledger::Entry {
        crate::ledger::Entry::record(
            crate::ledger::RecordKind::Binding,
            self.avatar.0,
            self.sequence,
            at,
            self.to_bytes(),
        )
    }
}

/// The ledger's check of a binding record: it decodes canonically, names an avatar the registry holds at
/// that point of the chain, and is keyed by its avatar and sequence.
#[derive(Debug, Clone, Copy, Default)]
pub struct BindingRecordKind;

impl crate::ledger::EntryKind for BindingRecordKind {
    fn code(&self) -> u16 {
        crate::ledger::RecordKind::Binding.code()
    }
    fn check(
        &self,
        entry: &crate::ledger::Entry,
        registry: &mut Registry,
        _: &DeploymentId,
    ) -> Result<u64> {
        let binding = Binding::decode_exact(&entry.body)?;
        if binding.ledger_entry(entry.at).key != entry.key {
            return Err(Error::Ledger {
                seq: 0,
                fault: crate::LedgerFault::WrongKey,
            });
        }
        if registry.avatar(&binding.avatar).is_none() {
            return Err(Error::UnknownAvatar(binding.avatar));
        }
        Ok(0)
    }
}
