//! The behaviours API (AG-10): what an agent does is a set of [`Behaviour`]s in a registry. The built-in ones
//! (the P2P seller and buyer) are written on this API; a third party adds its own the same way, without
//! touching this crate (`examples/third_party_behaviour.rs`).
//!
//! A behaviour is sans-IO like the agent: it is handed the messages it [`wants`](Behaviour::wants) and the
//! passing of its deadlines, and acts through the [`Context`]: it sends ACL messages (signed by the agent),
//! commits and releases in the commitment book, moves transactions through their lifecycle, issues setpoints
//! and writes events.

use crate::commitment::CommitmentBook;
use crate::error::{Error, Result};
use crate::event::{Event, EventQueue};
use crate::settings::OwnerSettings;
use crate::transactions::Transactions;
use fipa_acl::{AclMessage, AgentIdentifier};
use idea_proto::{CellRef, PublicKey, SetpointCommand, Timestamp, TransactionId};
use sha2::{Digest, Sha256};
use std::any::Any;
use std::collections::{BTreeMap, VecDeque};
use te_contract::contract::Contract;
use te_contract::signed::Body;
use te_contract::{AvatarId, DeploymentId, Signed};

/// The most behaviours one agent runs.
pub const MAX_BEHAVIOURS: usize = 64;
/// The most outputs waiting to be taken before the agent refuses more work.
pub const MAX_PENDING_OUTPUTS: usize = 1 << 16;
/// The most agents one agent knows.
pub const MAX_PEERS: usize = 1 << 16;

/// Something the agent asks its runtime to do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Output {
    /// Send this ACL message (already signed).
    Acl(Box<AclMessage>),
    /// Give this setpoint to the cell's interface device (UC-05, UC-09).
    Command(SetpointCommand),
    /// Submit this to the TE node (TE-09).
    Te(TeSubmission),
}

/// What an agent submits to the TE node.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TeSubmission {
    /// UC-04: a contract signed by both avatars, to be recorded.
    RecordContract(Box<Signed<Contract>>),
    /// UC-08: a meter's cumulative registers, signed by the meter's avatar.
    MeterReading(Box<Signed<te_contract::meter::MeterReading>>),
    /// UC-08/UC-10: one interval's delivery token, signed by the meter's avatar; settles the contracts
    /// delivered through that meter's cell in that interval.
    DeliveryToken(Box<Signed<te_contract::meter::DeliveryToken>>),
    /// AUX-01/TE-01: a registration not yet signed, with the new avatar's signature over its digest, for a
    /// node that is the deployment's registrar to sign first and register (`TeNode::registrar`).
    Register {
        /// The registration, without signatures.
        registration: Box<Signed<te_contract::registry::Registration>>,
        /// The avatar's signature over the registration's digest (`Signed::digest`).
        signature: [u8; 64],
    },
    /// TE-09: a debt payment channel both avatars signed, to open at the node.
    #[doc(alias = "channel-open")]
    OpenChannel(Box<Signed<te_contract::channel::ChannelOpen>>),
    /// TE-09: a channel's latest state both avatars signed; its outstanding net is paid at the next clearing.
    #[doc(alias = "channel-state")]
    ChannelState(Box<Signed<te_contract::channel::ChannelState>>),
    /// TE-09: one side closes a channel at the latest state the node has (signed by that side alone).
    #[doc(alias = "channel-close-request")]
    CloseChannel(Box<Signed<te_contract::channel::CloseRequest>>),
}

/// The agent's identity in the TE layer (TE-02): its avatar in a deployment's registry and the version of
/// its key there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeIdentity {
    /// The deployment.
    pub deployment: DeploymentId,
    /// The agent's avatar.
    pub avatar: AvatarId,
    /// The version of the agent's key in the registry.
    pub key_version: u32,
}

/// Another agent this agent deals with: its name, its cell and the key its messages are signed with (from
/// the directory or the TE registry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Its ACL identifier.
    pub agent: AgentIdentifier,
    /// The cell it represents; `None` for a service application (a market, an operator's service).
    pub cell: Option<CellRef>,
    /// Its signing key.
    pub key: PublicKey,
    /// Its avatar in the TE registry, when it trades through the TE node.
    pub avatar: Option<AvatarId>,
}

/// The agents known to this one, by ACL name, and those that represent a cell by their cell.
#[derive(Debug, Clone, Default)]
pub struct Peers {
    by_name: BTreeMap<String, Peer>,
    /// The name of the agent of each cell (the last one inserted when two claim the same cell).
    by_cell: BTreeMap<idea_proto::CellId, String>,
    /// Counts changes, so signatures checked ahead of time are checked again after one.
    generation: u64,
}

impl Peers {
    /// Adds or replaces a peer (AUX-06 rotates its key this way); refused beyond [`MAX_PEERS`].
    pub fn insert(&mut self, peer: Peer) -> Result<()> {
        if self.by_name.len() >= MAX_PEERS && !self.by_name.contains_key(&peer.agent.name) {
            return Err(Error::Full {
                what: "peers",
                max: MAX_PEERS,
            });
        }
        self.generation = self.generation.wrapping_add(1);
        if let Some(cell) = &peer.cell {
            self.by_cell
                .insert(cell.cell.clone(), peer.agent.name.clone());
        }
        if let Some(old) = self.by_name.insert(peer.agent.name.clone(), peer) {
            self.forget_cell(&old);
        }
        Ok(())
    }

    /// Keeps the cell index true after `old` was replaced or removed.
    fn forget_cell(&mut self, old: &Peer) {
        let Some(cell) = &old.cell else { return };
        let still = self
            .by_cell
            .get(&cell.cell)
            .and_then(|name| self.by_name.get(name))
            .is_some_and(|p| p.cell.as_ref().is_some_and(|c| c.cell == cell.cell));
        if still {
            return;
        }
        // Another peer that claims the cell takes it over (a scan, on removal only).
        match self
            .by_name
            .values()
            .find(|p| p.cell.as_ref().is_some_and(|c| c.cell == cell.cell))
        {
            Some(other) => {
                let name = other.agent.name.clone();
                self.by_cell.insert(cell.cell.clone(), name);
            }
            None => {
                self.by_cell.remove(&cell.cell);
            }
        }
    }

    /// Forgets a peer (AUX-09: it disconnected).
    pub fn remove(&mut self, name: &str) -> Option<Peer> {
        let old = self.by_name.remove(name)?;
        self.generation = self.generation.wrapping_add(1);
        self.forget_cell(&old);
        Some(old)
    }

    /// A number that changes whenever a peer is added, replaced or removed.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The agent that represents `cell`.
    pub fn of_cell(&self, cell: &idea_proto::CellId) -> Option<&Peer> {
        self.by_cell
            .get(cell)
            .and_then(|name| self.by_name.get(name))
    }

    /// The peer named `name`.
    pub fn get(&self, name: &str) -> Option<&Peer> {
        self.by_name.get(name)
    }

    /// Every peer, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Peer> {
        self.by_name.values()
    }
}

/// The text of `m`'s `:conversation-id` (a word or a string), if it has one.
pub(crate) fn conversation_of(m: &AclMessage) -> Option<String> {
    m.conversation_id
        .as_ref()
        .and_then(fipa_acl::Expression::as_text)
        .map(|t| t.into_owned())
}

/// The outputs waiting to be taken.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    pub(crate) queue: VecDeque<Output>,
}

/// Transaction ids without a random source: SHA-256 of the agent's seed and a counter.
#[derive(Debug, Clone)]
pub(crate) struct IdSource {
    seed: [u8; 16],
    counter: u64,
}

impl IdSource {
    pub(crate) fn new(seed: [u8; 16]) -> IdSource {
        IdSource { seed, counter: 0 }
    }

    pub(crate) fn next(&mut self) -> [u8; 16] {
        self.counter = self.counter.wrapping_add(1);
        let digest = Sha256::new()
            .chain_update(b"idea-agent/id/v1")
            .chain_update(self.seed)
            .chain_update(self.counter.to_be_bytes())
            .finalize();
        let mut id = [0u8; 16];
        id.copy_from_slice(digest.get(..16).unwrap_or(&[0; 16]));
        id
    }
}

/// What a behaviour sees of its agent while it acts.
pub struct Context<'a> {
    /// The time of the call.
    pub now: Timestamp,
    /// The agent's ACL identifier.
    pub me: &'a AgentIdentifier,
    /// The owner's settings.
    pub settings: &'a OwnerSettings,
    /// The commitment book (AG-04).
    pub book: &'a mut CommitmentBook,
    /// The agents known (plug & play adds and removes them as the directory says).
    pub peers: &'a mut Peers,
    /// The services other agents offer, as the directory described them.
    pub services: &'a mut crate::membership::Services,
    /// The agent's transactions and their lifecycles.
    pub transactions: &'a mut Transactions,
    pub(crate) outbox: &'a mut Outbox,
    pub(crate) events: &'a mut EventQueue,
    pub(crate) ids: &'a mut IdSource,
    pub(crate) key: &'a idea_proto::SigningKey,
    /// The agent's TE identity, when it has one.
    pub te: Option<&'a TeIdentity>,
    /// The subscriptions the owner ended or is ending (AUX-08).
    pub subscriptions: &'a crate::subscription::Subscriptions,
}

impl Context<'_> {
    /// Why the cell does not take part in `service` now — the profile in force does not list it (AUX-03), or
    /// the owner ended the subscription (AUX-08) — or `None` when it does. Every behaviour asks before it
    /// starts a transaction in a service.
    pub fn why_not_in(&self, service: &idea_proto::ServiceId) -> Option<String> {
        use crate::subscription::SubscriptionState;
        if !self.settings.profile().services.contains(service) {
            return Some(format!(
                "the profile in force ({}) does not take part in {service}",
                self.settings.participation
            ));
        }
        match self.subscriptions.state(service) {
            SubscriptionState::Active => None,
            state => Some(format!(
                "the subscription to {service} is {} (AUX-08)",
                state.name()
            )),
        }
    }

    /// Sends `m` (the agent fills in the sender and signs it). Refused when [`MAX_PENDING_OUTPUTS`] wait.
    pub fn send(&mut self, mut m: AclMessage) -> Result<()> {
        if self.outbox.queue.len() >= MAX_PENDING_OUTPUTS {
            return Err(Error::Full {
                what: "outbox",
                max: MAX_PENDING_OUTPUTS,
            });
        }
        if m.sender.is_none() {
            m.sender = Some(self.me.clone());
        }
        self.outbox.queue.push_back(Output::Acl(Box::new(m)));
        Ok(())
    }

    /// Gives a setpoint to the cell's interface device.
    pub fn command(&mut self, command: SetpointCommand) -> Result<()> {
        if self.outbox.queue.len() >= MAX_PENDING_OUTPUTS {
            return Err(Error::Full {
                what: "outbox",
                max: MAX_PENDING_OUTPUTS,
            });
        }
        self.outbox.queue.push_back(Output::Command(command));
        Ok(())
    }

    /// Writes an event to the agent's log.
    pub fn log(
        &mut self,
        step: &'static str,
        what: &'static str,
        transaction: Option<TransactionId>,
        counterparty: Option<&str>,
        detail: impl Into<String>,
    ) {
        self.events.push(Event {
            at: self.now,
            agent: self.me.name.clone(),
            step,
            what,
            transaction,
            counterparty: counterparty.map(str::to_owned),
            detail: detail.into(),
        });
    }

    /// Opens transaction `transaction` with `counterparty` in `requested` (UC-01) and logs it.
    pub fn open(
        &mut self,
        transaction: idea_proto::EnergyTransaction,
        counterparty: &str,
        side: idea_proto::Side,
        reply_by: Option<Timestamp>,
    ) -> Result<()> {
        let id = transaction.id;
        let detail = format!(
            "{} {} of {} in {}",
            side,
            transaction.terms.window.intervals(),
            transaction.subject,
            transaction.service
        );
        self.transactions.open(
            transaction,
            counterparty.to_owned(),
            side,
            self.now,
            reply_by,
        )?;
        self.log("UC-01", "requested", Some(id), Some(counterparty), detail);
        Ok(())
    }

    /// Moves transaction `id` to `to` and logs the step.
    pub fn advance(
        &mut self,
        id: &TransactionId,
        to: idea_proto::TransactionState,
        detail: impl Into<String>,
    ) -> Result<()> {
        crate::transactions::advance(
            self.transactions,
            self.events,
            &self.me.name,
            id,
            to,
            self.now,
            detail.into(),
        )
    }

    /// Adds the agent's signature to a TE object (a contract, a channel state) as its avatar. Refused when the
    /// agent has no TE identity or is not the next signer.
    pub fn sign_te<T: Body>(&self, signed: &mut Signed<T>) -> Result<()> {
        let te = self
            .te
            .ok_or_else(|| Error::settings("te", "the agent has no avatar in a TE registry"))?;
        signed
            .sign(te.avatar, te.key_version, self.key)
            .map_err(Error::Te)
    }

    /// Hands a submission to the TE node.
    pub fn submit(&mut self, submission: TeSubmission) -> Result<()> {
        if self.outbox.queue.len() >= MAX_PENDING_OUTPUTS {
            return Err(Error::Full {
                what: "outbox",
                max: MAX_PENDING_OUTPUTS,
            });
        }
        self.outbox.queue.push_back(Output::Te(submission));
        Ok(())
    }

    /// Releases the commitment of transaction `id` (if the book holds one) and logs it with `why` (AG-04).
    pub fn release(&mut self, id: &TransactionId, why: &str) {
        if let Some(c) = self.book.release(id) {
            let strength = match c.strength {
                crate::commitment::Strength::Tentative => "tentative",
                crate::commitment::Strength::Binding => "binding",
            };
            self.log(
                "AG-04",
                "commitment-released",
                Some(*id),
                None,
                format!("{strength} commitment released: {why}"),
            );
        }
    }

    /// The key the agent's messages verify against.
    pub fn public_key(&self) -> idea_proto::PublicKey {
        idea_proto::PublicKey::from(self.key)
    }

    /// A fresh transaction id.
    pub fn new_transaction_id(&mut self) -> TransactionId {
        TransactionId::from_bytes(self.ids.next())
    }

    /// A fresh conversation id, unique to this agent.
    pub fn new_conversation_id(&mut self) -> String {
        format!(
            "{}-{}",
            self.me.name,
            idea_proto::hex::encode(self.ids.next().get(..8).unwrap_or(&[]))
        )
    }
}

/// One behaviour of an agent.
pub trait Behaviour: Any + Send {
    /// Its name, unique in the agent.
    fn name(&self) -> &str;

    /// Whether it takes `m`, a message whose sender is a known agent and whose signature verified.
    fn wants(&self, m: &AclMessage) -> bool;

    /// Handles a message it wants.
    fn on_message(&mut self, cx: &mut Context<'_>, m: AclMessage);

    /// Its next deadline.
    fn poll_timeout(&self) -> Option<Timestamp> {
        None
    }

    /// A notice of the TE node addressed to the agent, after the agent took it into its transactions (the
    /// debt channel keeper acts on `recorded`, `settled`, `channel-recorded`, `channel-paid`, `refused`).
    fn on_te_notice(&mut self, cx: &mut Context<'_>, notice: &crate::TeNotice) {
        let _ = (cx, notice);
    }

    /// Time has reached `cx.now`; act on deadlines that passed.
    fn on_timeout(&mut self, cx: &mut Context<'_>) {
        let _ = cx;
    }
}

/// The registry of an agent's behaviours, in the order they were added (the first that wants a message
/// gets it).
#[derive(Default)]
pub struct Behaviours {
    list: Vec<Box<dyn Behaviour>>,
}

impl std::fmt::Debug for Behaviours {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.list.iter().map(|b| b.name()))
            .finish()
    }
}

impl Behaviours {
    /// Adds a behaviour; its name must be new.
    pub fn add(&mut self, behaviour: Box<dyn Behaviour>) -> Result<()> {
        if self.list.iter().any(|b| b.name() == behaviour.name()) {
            return Err(Error::DuplicateBehaviour(behaviour.name().to_owned()));
        }
        if self.list.len() >= MAX_BEHAVIOURS {
            return Err(Error::Full {
                what: "behaviours",
                max: MAX_BEHAVIOURS,
            });
        }
        self.list.push(behaviour);
        Ok(())
    }

    /// Removes the behaviour named `name`.
    pub fn remove(&mut self, name: &str) -> Option<Box<dyn Behaviour>> {
        let i = self.list.iter().position(|b| b.name() == name)?;
        Some(self.list.remove(i))
    }

    /// The names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.list.iter().map(|b| b.name()).collect()
    }

    /// The behaviour of type `B`, if registered.
    pub fn get_mut<B: Behaviour>(&mut self) -> Option<&mut B> {
        self.list
            .iter_mut()
            .find_map(|b| (b.as_mut() as &mut dyn Any).downcast_mut::<B>())
    }

    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut Box<dyn Behaviour>> {
        self.list.iter_mut()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Box<dyn Behaviour>> {
        self.list.iter()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use idea_proto::{CellId, CellRef, PowerCellType, SigningKey};

    fn peer(name: &str, cell: Option<&str>) -> Peer {
        Peer {
            agent: AgentIdentifier::new(name),
            cell: cell.map(|c| CellRef::new(CellId::new(c).unwrap(), PowerCellType::Prosumer)),
            key: PublicKey::from(&SigningKey::from_bytes(&[1; 32])),
            avatar: None,
        }
    }

    fn agent_of(peers: &Peers, cell: &str) -> Option<String> {
        peers
            .of_cell(&CellId::new(cell).unwrap())
            .map(|p| p.agent.name.clone())
    }

    #[test]
    fn the_cell_index_follows_inserts_replacements_and_removals() {
        let mut peers = Peers::default();
        let g0 = peers.generation();
        peers.insert(peer("a@idea", Some("cell-1"))).unwrap();
        peers.insert(peer("market@idea", None)).unwrap();
        assert_eq!(agent_of(&peers, "cell-1").as_deref(), Some("a@idea"));
        assert_ne!(peers.generation(), g0);
        // The agent moves to another cell: the old one is free.
        peers.insert(peer("a@idea", Some("cell-2"))).unwrap();
        assert_eq!(agent_of(&peers, "cell-1"), None);
        assert_eq!(agent_of(&peers, "cell-2").as_deref(), Some("a@idea"));
        // Two claim one cell: the last inserted holds it, and the other takes it over when it leaves.
        peers.insert(peer("b@idea", Some("cell-2"))).unwrap();
        assert_eq!(agent_of(&peers, "cell-2").as_deref(), Some("b@idea"));
        let g1 = peers.generation();
        peers.remove("b@idea").unwrap();
        assert_ne!(peers.generation(), g1);
        assert_eq!(agent_of(&peers, "cell-2").as_deref(), Some("a@idea"));
        peers.remove("a@idea").unwrap();
        assert_eq!(agent_of(&peers, "cell-2"), None);
        assert!(peers.remove("a@idea").is_none());
    }
}
