//! The TE node (TE-01, TE-02, TE-09) as a sans-IO service: the deployment's avatar registry and the book of
//! recorded contracts. Agents submit contracts signed by both avatars ([`TeSubmission`]); the node records
//! each once after checking both signatures against the registry at the time of submission, and tells both
//! parties ([`TeNotice::Recorded`]). A contract it cannot record — a replay, a bad or missing signature, an
//! avatar it does not know — is refused, the refusal kept in its record ([`TeNode::refusals`]) and sent to the
//! submitter.
//!
//! This slice records contracts (UC-04). Meter readings, delivery tokens, payment channels, settlement and
//! clearing are `te-contract`'s and join the node in the next slices.

use crate::behaviour::TeSubmission;
use idea_proto::{Timestamp, TransactionId};
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use te_contract::contract::{Contract, ContractBook};
use te_contract::registry::Registry;
use te_contract::{AvatarId, Codec, Signed};

/// The most refusals the node keeps (the oldest are dropped first).
pub const MAX_REFUSALS: usize = 1 << 14;
/// The most notices waiting to be taken.
pub const MAX_PENDING_NOTICES: usize = 1 << 16;

/// The submission tag of a contract to record.
const TAG_RECORD_CONTRACT: u8 = 1;

impl TeSubmission {
    /// The wire form: a one-byte tag (1: record a contract), then the `te-contract` canonical bytes of the
    /// signed object.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            TeSubmission::RecordContract(signed) => {
                out.push(TAG_RECORD_CONTRACT);
                signed.encode(out);
            }
        }
    }

    /// Decodes a submission; returns it and the bytes used.
    pub fn decode(bytes: &[u8]) -> Result<(TeSubmission, usize), te_contract::Error> {
        match bytes.first() {
            Some(&TAG_RECORD_CONTRACT) => {
                let rest = bytes.get(1..).unwrap_or(&[]);
                let (signed, used) = Signed::<Contract>::decode(rest)?;
                Ok((
                    TeSubmission::RecordContract(Box::new(signed)),
                    used.saturating_add(1),
                ))
            }
            Some(&other) => Err(te_contract::Error::Decode {
                offset: 0,
                field: "tag",
                reason: format!("unknown submission tag {other}"),
            }),
            None => Err(te_contract::Error::Decode {
                offset: 0,
                field: "tag",
                reason: "empty submission".into(),
            }),
        }
    }
}

/// What the node tells an agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "notice", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum TeNotice {
    /// UC-04: the contract is recorded; sent to both parties.
    Recorded {
        /// The agent told.
        to: String,
        /// The contract.
        transaction: TransactionId,
    },
    /// The submission was refused; sent to the submitter.
    Refused {
        /// The agent told.
        to: String,
        /// The contract, when the submission named one.
        transaction: Option<TransactionId>,
        /// Why.
        reason: String,
    },
}

/// A refused submission, as the node keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// When.
    pub at: Timestamp,
    /// Who submitted it.
    pub from: String,
    /// The contract, when named.
    pub transaction: Option<TransactionId>,
    /// Why.
    pub reason: String,
}

/// The TE node of one deployment.
#[derive(Debug)]
pub struct TeNode {
    registry: Registry,
    contracts: ContractBook,
    agents: BTreeMap<AvatarId, String>,
    notices: VecDeque<TeNotice>,
    refusals: VecDeque<Refusal>,
}

impl TeNode {
    /// A node over `registry` (the deployment is the registry's).
    pub fn new(registry: Registry) -> TeNode {
        TeNode {
            contracts: ContractBook::new(registry.deployment().clone()),
            registry,
            agents: BTreeMap::new(),
            notices: VecDeque::new(),
            refusals: VecDeque::new(),
        }
    }

    /// The avatar registry (AUX-01 registers, AUX-06 rotates keys through it).
    pub fn registry_mut(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// The avatar registry.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Says which agent hears the notices of `avatar`.
    pub fn bind_agent(&mut self, avatar: AvatarId, agent: impl Into<String>) {
        self.agents.insert(avatar, agent.into());
    }

    /// The recorded contracts.
    pub fn contracts(&self) -> &ContractBook {
        &self.contracts
    }

    /// The refusals kept, oldest first.
    pub fn refusals(&self) -> impl Iterator<Item = &Refusal> {
        self.refusals.iter()
    }

    /// A submission's bytes from agent `from`.
    pub fn handle_bytes(&mut self, from: &str, bytes: &[u8], now: Timestamp) {
        match TeSubmission::decode(bytes) {
            Ok((submission, used)) if used == bytes.len() => {
                self.handle_submission(from, submission, now);
            }
            Ok(_) => self.refuse(
                from,
                None,
                "trailing bytes after the submission".into(),
                now,
            ),
            Err(e) => self.refuse(from, None, e.to_string(), now),
        }
    }

    /// A submission from agent `from`.
    pub fn handle_submission(&mut self, from: &str, submission: TeSubmission, now: Timestamp) {
        match submission {
            TeSubmission::RecordContract(signed) => self.record(from, *signed, now),
        }
    }

    fn record(&mut self, from: &str, signed: Signed<Contract>, now: Timestamp) {
        let id = signed.body().id();
        let parties = [signed.body().seller, signed.body().buyer];
        match self.contracts.record(signed, &self.registry, now) {
            Ok(_) => {
                for avatar in parties {
                    if let Some(agent) = self.agents.get(&avatar).cloned() {
                        self.notify(TeNotice::Recorded {
                            to: agent,
                            transaction: id,
                        });
                    }
                }
            }
            Err(e) => self.refuse(from, Some(id), e.to_string(), now),
        }
    }

    fn refuse(
        &mut self,
        from: &str,
        transaction: Option<TransactionId>,
        reason: String,
        now: Timestamp,
    ) {
        if self.refusals.len() >= MAX_REFUSALS {
            self.refusals.pop_front();
        }
        self.refusals.push_back(Refusal {
            at: now,
            from: from.to_owned(),
            transaction,
            reason: reason.clone(),
        });
        self.notify(TeNotice::Refused {
            to: from.to_owned(),
            transaction,
            reason,
        });
    }

    fn notify(&mut self, notice: TeNotice) {
        if self.notices.len() < MAX_PENDING_NOTICES {
            self.notices.push_back(notice);
        }
    }

    /// The next notice to deliver.
    pub fn poll_notice(&mut self) -> Option<TeNotice> {
        self.notices.pop_front()
    }
}
