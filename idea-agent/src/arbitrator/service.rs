//! The arbitrator as a service application (ARCH-08 option 1): the cells' agents ask it, over signed FIPA-ACL,
//! before they commit to a transaction ([`super::protocol`]); it answers from its [`Arbitrator`] and keeps what
//! it permitted until the asker gives it back or its window ends.

use super::Arbitrator;
use super::protocol::{self, ONTOLOGY, SERVICE_TYPE};
use crate::behaviour::{Peer, Peers};
use crate::signing;
use fipa_acl::protocol::not_understood;
use fipa_acl::{AclMessage, AgentIdentifier, Performative};
use idea_proto::wire::AnyMessage;
use idea_proto::{SigningKey, Timestamp};
use std::collections::VecDeque;

/// The most answers waiting to be sent.
pub const MAX_PENDING_ANSWERS: usize = 1 << 14;

/// The arbitrator of a section, answering the agents of its cells (sans-IO).
#[derive(Debug)]
pub struct ArbitratorService {
    me: AgentIdentifier,
    key: SigningKey,
    arbitrator: Arbitrator,
    peers: Peers,
    outbox: VecDeque<AclMessage>,
    directory: Option<crate::membership::CellDirectory>,
}

impl ArbitratorService {
    /// The service of `arbitrator`, answering as `me`.
    pub fn new(me: AgentIdentifier, key: SigningKey, arbitrator: Arbitrator) -> ArbitratorService {
        ArbitratorService {
            me,
            key,
            arbitrator,
            peers: Peers::default(),
            outbox: VecDeque::new(),
            directory: None,
        }
    }

    /// Registers with the directory `directory` (its key proves its identity) and follows it: the cells that
    /// register there may ask.
    pub fn join_directory(&mut self, directory: Peer) {
        let (follower, m) = crate::membership::CellDirectory::join_as_service(
            directory,
            &self.me,
            &self.key,
            None,
            crate::membership::ServiceOffer {
                name: "arbitrator",
                service_name: "arbitrator",
                service_type: SERVICE_TYPE,
                protocols: &["fipa-request"],
                ontologies: &[ONTOLOGY, fipa_acl::energy::ONTOLOGY],
            },
        );
        self.directory = Some(follower);
        self.push(m);
    }

    /// Its identifier.
    pub fn me(&self) -> &AgentIdentifier {
        &self.me
    }

    /// A cell's agent that may ask.
    pub fn add_peer(&mut self, peer: Peer) -> crate::Result<()> {
        self.peers.insert(peer)
    }

    /// The arbitrator it answers from.
    pub fn arbitrator(&self) -> &Arbitrator {
        &self.arbitrator
    }

    /// One incoming message: a question, a release, or the directory's news.
    pub fn handle_acl(&mut self, m: AclMessage, now: Timestamp) {
        if let Some(directory) = self.directory.as_mut().filter(|d| d.wants(&m)) {
            for reply in directory.handle(&m, &mut self.peers) {
                self.push(reply);
            }
            return;
        }
        let answerable = m.performative != Performative::NotUnderstood;
        let peer = match signing::admit(&m, &self.peers, &self.me) {
            Ok(peer) => peer,
            Err(answer) => {
                if let Some(a) = answer {
                    self.push(*a);
                }
                return;
            }
        };
        if m.performative != Performative::Request {
            if answerable {
                let reply = not_understood(&m, &self.me, "the arbitrator takes requests");
                self.push(reply);
            }
            return;
        }
        if let Some(id) = protocol::read_release(&m) {
            // Only a party's agent gives a permission back.
            let party = self.arbitrator.permitted_transaction(&id).is_some_and(|t| {
                peer.cell
                    .as_ref()
                    .is_some_and(|c| t.side_of(&c.cell).is_some())
            });
            if party {
                self.arbitrator.release(&id);
            }
            let content = format!("((released :transaction \"{id}\" :was-permitted {party}))");
            self.reply(&m, Performative::Inform, content);
            return;
        }
        let transaction = match fipa_acl::energy::read(&m) {
            Ok(AnyMessage::EnergyTransaction(t)) => t,
            _ => {
                let reply = not_understood(
                    &m,
                    &self.me,
                    "expected an energy-transaction (idea-energy) or (release :transaction ID)",
                );
                self.push(reply);
                return;
            }
        };
        if peer
            .cell
            .as_ref()
            .is_none_or(|c| transaction.side_of(&c.cell).is_none())
        {
            self.reply(&m, Performative::Refuse, "((not-a-party))".into());
            return;
        }
        self.arbitrator.release_ended(now);
        let (performative, content) = match self.arbitrator.ask(&transaction) {
            Ok(verdict) => protocol::answer(&transaction.id, &verdict),
            Err(e) => (
                Performative::Failure,
                format!("((arbitration-failed {:?}))", e.to_string()),
            ),
        };
        self.reply(&m, performative, content);
    }

    fn reply(&mut self, m: &AclMessage, p: Performative, content: String) {
        let mut r = m.reply(p, self.me.clone());
        r.ontology = Some(ONTOLOGY.into());
        r.language = Some("fipa-sl0".into());
        r.content = Some(content.into());
        self.push(r);
    }

    fn push(&mut self, m: AclMessage) {
        if self.outbox.len() < MAX_PENDING_ANSWERS {
            self.outbox.push_back(m);
        }
    }

    /// The next message to send, signed.
    pub fn poll_transmit(&mut self) -> Option<AclMessage> {
        let mut m = self.outbox.pop_front()?;
        signing::seal(&mut m, &self.me, &self.key);
        Some(m)
    }
}

impl crate::AclService for ArbitratorService {
    fn me(&self) -> &AgentIdentifier {
        ArbitratorService::me(self)
    }
    fn handle_acl(&mut self, m: AclMessage, now: Timestamp) {
        ArbitratorService::handle_acl(self, m, now);
    }
    fn poll_transmit(&mut self) -> Option<AclMessage> {
        ArbitratorService::poll_transmit(self)
    }
}
