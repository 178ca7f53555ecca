//! The TE node (TE-01, TE-02, TE-09) as a sans-IO service: the deployment's avatar registry and the book of
//! recorded contracts. Agents submit contracts signed by both avatars ([`TeSubmission`]); the node records
//! each once after checking both signatures against the registry at the time of submission, and tells both
//! parties ([`TeNotice::Recorded`]). A contract it cannot record — a replay, a bad or missing signature, an
//! avatar it does not know — is refused, the refusal kept in its record ([`TeNode::refusals`]) and sent to the
//! submitter.
//!
//! Meter-to-cash (TE-04, TE-05): a meter's signed readings become delivery tokens
//! ([`TeNotice::TokensToSign`], for the meter to sign); a signed token settles, between the parties' wallets,
//! the interval of each recorded contract delivered through that meter's cell — the price of the verified
//! energy less the penalty beyond the tolerance band ([`TeNotice::Settled`] to both parties). One meter's
//! interval settles one contract (a token is never counted twice); a second contract at the same delivery
//! point in the same interval is refused with the reason.
//!
//! The ledger (TE-07): a node made [`TeNode::with_ledger_entries`] keeps, in order, every registration
//! ([`TeNode::register`]), recorded contract, accepted meter reading and settlement as `te-contract` ledger
//! entries ([`TeNode::poll_entry`]); `crate::te_link::TeService::spawn_with_ledger` commits them to SQLite
//! before sending the notices they cause, and `te_contract::audit::verify` (or `idea ledger verify`) walks
//! the result.
//!
//! Registration through the network (AUX-01): a node made [`TeNode::registrar`] is its deployment's registrar
//! and registers the avatars that submit [`TeSubmission::Register`] — a registration the avatar signed — when
//! its admission lets their key in ([`TeNotice::Registered`]).
//!
//! Clearing (TE-05, TE-08): a verified interval's amount is due at the next clearing run, at
//! each period end (UTC-aligned, every 15 minutes unless [`TeNode::with_clearing_period`] says less); the run
//! nets every obligation multilaterally, moves each avatar's net position between the wallets, is recorded in
//! the ledger and tells each party which intervals were paid ([`TeNotice::Cleared`]). A party whose wallet
//! cannot cover its position is left out of the run with its obligations, which wait for the next one; the
//! others are paid. The node's time is [`TeNode::poll_timeout`] / [`TeNode::handle_timeout`].
//!
//! Restarts (TE-01): a node is rebuilt from its ledger ([`TeNode::rebuild`], [`TeNode::rebuilt_registrar`]):
//! verified, then replayed — registry, contracts, intervals due, wallets (deposits and clearing transfers),
//! which agent hears which avatar (binding records). Money paid in from outside is a recorded deposit
//! ([`TeNode::deposit`]; the operator's interface, [`operator`]).
//!
//! Not yet: debt payment channels between avatars (`te-contract` has them; the node settles through wallets
//! and the clearing pool).

mod channels;
mod clearing;
mod meters;
pub mod operator;
mod rebuild;

pub use rebuild::Rebuilt;

pub use channels::{
    CHANNEL_MEMORY, MAX_CHANNELS, MAX_CHANNELS_PER_AVATAR, MAX_DEBTS_PER_CHANNEL,
    MAX_UNRECORDED_PAYMENTS,
};
pub use clearing::{ClearedInterval, MAX_CLEARING_PERIOD};
pub use meters::{
    EnrolledMeter, MAX_ENROLLED_METERS, meter_registration_submission, meters_from_toml,
};

use crate::behaviour::TeSubmission;
use idea_proto::CellId;
use idea_proto::{Timestamp, TransactionId};
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use te_contract::batch::{Batch, Trusted, Verified};
use te_contract::clearing::Pool;
use te_contract::contract::{Contract, ContractBook};
use te_contract::ledger::Entry;
use te_contract::meter::{DeliveryToken, MeterConfig, MeterReading, MeterSeries};
use te_contract::registry::Registration;
use te_contract::registry::Registry;
use te_contract::settlement::SettlementBook;
use te_contract::settlement::settlement_debt_id;
use te_contract::wallet::Wallets;
use te_contract::{AvatarId, Codec, DebtId, Signed};

/// The most refusals the node keeps (the oldest are dropped first).
pub const MAX_REFUSALS: usize = 1 << 14;
/// The most notices waiting to be taken.
pub const MAX_PENDING_NOTICES: usize = 1 << 16;

/// The submission tag of a contract to record.
const TAG_RECORD_CONTRACT: u8 = 1;
/// The submission tag of a meter reading.
const TAG_METER_READING: u8 = 2;
/// The submission tag of a signed delivery token.
const TAG_DELIVERY_TOKEN: u8 = 3;
/// The submission tag of a registration to countersign.
const TAG_REGISTER: u8 = 4;
/// The tag of [`TeSubmission::OpenChannel`].
const TAG_OPEN_CHANNEL: u8 = 5;
/// The tag of [`TeSubmission::ChannelState`].
const TAG_CHANNEL_STATE: u8 = 6;
/// The tag of [`TeSubmission::CloseChannel`].
const TAG_CLOSE_CHANNEL: u8 = 7;

fn decode_tagged<T: te_contract::signed::Body>(
    bytes: &[u8],
) -> Result<(Box<Signed<T>>, usize), te_contract::Error> {
    let rest = bytes.get(1..).unwrap_or(&[]);
    let (signed, used) = Signed::<T>::decode(rest)?;
    Ok((Box::new(signed), used.saturating_add(1)))
}

impl TeSubmission {
    /// The wire form: a one-byte tag (1: record a contract, 2: a meter reading, 3: a delivery token, 4: a
    /// registration to sign as registrar, followed by the avatar's 64-byte signature, 5: a channel to open,
    /// 6: a channel's state, 7: a channel's close), then the `te-contract` canonical bytes of the signed
    /// object.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            TeSubmission::RecordContract(signed) => {
                out.push(TAG_RECORD_CONTRACT);
                signed.encode(out);
            }
            TeSubmission::MeterReading(signed) => {
                out.push(TAG_METER_READING);
                signed.encode(out);
            }
            TeSubmission::DeliveryToken(signed) => {
                out.push(TAG_DELIVERY_TOKEN);
                signed.encode(out);
            }
            TeSubmission::Register {
                registration,
                signature,
            } => {
                out.push(TAG_REGISTER);
                registration.encode(out);
                out.extend_from_slice(signature);
            }
            TeSubmission::OpenChannel(signed) => {
                out.push(TAG_OPEN_CHANNEL);
                signed.encode(out);
            }
            TeSubmission::ChannelState(signed) => {
                out.push(TAG_CHANNEL_STATE);
                signed.encode(out);
            }
            TeSubmission::CloseChannel(signed) => {
                out.push(TAG_CLOSE_CHANNEL);
                signed.encode(out);
            }
        }
    }

    /// Decodes a submission; returns it and the bytes used.
    pub fn decode(bytes: &[u8]) -> Result<(TeSubmission, usize), te_contract::Error> {
        match bytes.first() {
            Some(&TAG_RECORD_CONTRACT) => {
                decode_tagged(bytes).map(|(s, n)| (TeSubmission::RecordContract(s), n))
            }
            Some(&TAG_METER_READING) => {
                decode_tagged(bytes).map(|(s, n)| (TeSubmission::MeterReading(s), n))
            }
            Some(&TAG_DELIVERY_TOKEN) => {
                decode_tagged(bytes).map(|(s, n)| (TeSubmission::DeliveryToken(s), n))
            }
            Some(&TAG_OPEN_CHANNEL) => {
                decode_tagged(bytes).map(|(s, n)| (TeSubmission::OpenChannel(s), n))
            }
            Some(&TAG_CHANNEL_STATE) => {
                decode_tagged(bytes).map(|(s, n)| (TeSubmission::ChannelState(s), n))
            }
            Some(&TAG_CLOSE_CHANNEL) => {
                decode_tagged(bytes).map(|(s, n)| (TeSubmission::CloseChannel(s), n))
            }
            Some(&TAG_REGISTER) => {
                let (registration, used) = decode_tagged(bytes)?;
                let signature: [u8; 64] = bytes
                    .get(used..used.saturating_add(64))
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| te_contract::Error::Decode {
                        offset: used,
                        field: "signature",
                        reason: "a registration ends with the avatar's 64-byte signature".into(),
                    })?;
                Ok((
                    TeSubmission::Register {
                        registration,
                        signature,
                    },
                    used.saturating_add(64),
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
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
    /// UC-08: the intervals a meter reading completed in which a recorded contract delivers at the meter's
    /// cell, for the meter to sign and submit back (an interval nothing settles in is not asked for).
    TokensToSign {
        /// The submitter of the reading.
        to: String,
        /// The tokens; in the JSON form each is the hex of its `te-contract` canonical bytes.
        #[serde(with = "tokens_hex")]
        tokens: Vec<DeliveryToken>,
    },
    /// TE-03, TE-04: one interval of a contract verified against the meter's token and its amount fixed;
    /// sent to both parties. The amount is paid at the next clearing run ([`TeNotice::Cleared`]).
    Settled {
        /// The agent told.
        to: String,
        /// The contract.
        transaction: TransactionId,
        /// The interval.
        interval: u32,
        /// Energy contracted and delivered, Wh.
        contracted_wh: i64,
        /// Energy the meter counted, Wh.
        delivered_wh: i64,
        /// What the buyer pays the seller, net of the penalty (negative: the seller pays), minor units.
        amount_minor: i64,
        /// The penalty inside it, minor units.
        penalty_minor: i64,
        /// Whether every interval of the contract is now verified.
        complete: bool,
    },
    /// UC-10, TE-08: a clearing run paid (or carried, or set aside) the party's intervals due; sent to each
    /// party with an interval in the run.
    Cleared {
        /// The agent told.
        to: String,
        /// The end of the period the run closed.
        period_end: Timestamp,
        /// The party's net position per currency code (positive: it received), minor units.
        net_minor: BTreeMap<String, i64>,
        /// The intervals paid.
        paid: Vec<ClearedInterval>,
        /// The intervals carried to the next run, each with the reason.
        carried: Vec<ClearedInterval>,
        /// The intervals the run refused for good, each with the reason.
        set_aside: Vec<ClearedInterval>,
    },
    /// AUX-01: the node, as registrar, registered the submitter's avatar; sent to the submitter.
    Registered {
        /// The agent told.
        to: String,
        /// The avatar registered, as 32 hex digits.
        avatar: String,
    },
    /// TE-09: the node recorded a channel's open (counter 0) or a newer state; sent to both sides.
    ChannelRecorded {
        /// The agent told.
        to: String,
        /// The channel, as 32 hex digits.
        channel: String,
        /// The state's counter (0: the open).
        counter: u64,
        /// What this side receives at the next clearing (negative: what it pays), minor units.
        due_minor: i64,
    },
    /// TE-08, TE-09: a clearing run paid a channel's outstanding net; sent to both sides, to write into
    /// their next state as a payment whose id is the run's.
    ChannelPaid {
        /// The agent told.
        to: String,
        /// The channel, as 32 hex digits.
        channel: String,
        /// The clearing run's id (the payment's), as 32 hex digits.
        run: String,
        /// The avatar that paid, as 32 hex digits.
        payer: String,
        /// How much, minor units.
        amount_minor: i64,
    },
    /// TE-09: a channel is closed — its last net paid, or nothing outstanding — and takes no more states;
    /// sent to both sides.
    ChannelClosed {
        /// The agent told.
        to: String,
        /// The channel, as 32 hex digits.
        channel: String,
        /// The counter of the state it closed at.
        counter: u64,
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

impl TeNotice {
    /// The agent the notice is addressed to.
    pub fn to(&self) -> &str {
        match self {
            TeNotice::Recorded { to, .. }
            | TeNotice::TokensToSign { to, .. }
            | TeNotice::Settled { to, .. }
            | TeNotice::Cleared { to, .. }
            | TeNotice::Registered { to, .. }
            | TeNotice::ChannelRecorded { to, .. }
            | TeNotice::ChannelPaid { to, .. }
            | TeNotice::ChannelClosed { to, .. }
            | TeNotice::Refused { to, .. } => to,
        }
    }
}

/// Delivery tokens in JSON: the hex of each one's canonical bytes.
mod tokens_hex {
    use serde::{Deserialize, Deserializer, Serializer};
    use te_contract::Codec;
    use te_contract::meter::DeliveryToken;

    pub(super) fn serialize<S: Serializer>(
        tokens: &[DeliveryToken],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(tokens.iter().map(|t| {
            let mut bytes = Vec::new();
            t.encode(&mut bytes);
            idea_proto::hex::encode(&bytes)
        }))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<DeliveryToken>, D::Error> {
        let texts = Vec::<String>::deserialize(d)?;
        if texts.len() > super::MAX_TOKENS_PER_NOTICE {
            return Err(serde::de::Error::custom("too many tokens in one notice"));
        }
        texts
            .iter()
            .map(|t| {
                let bytes = idea_proto::hex::decode(t).map_err(serde::de::Error::custom)?;
                match DeliveryToken::decode(&bytes) {
                    Ok((token, used)) if used == bytes.len() => Ok(token),
                    Ok(_) => Err(serde::de::Error::custom("trailing bytes after a token")),
                    Err(e) => Err(serde::de::Error::custom(e)),
                }
            })
            .collect()
    }
}

/// The most tokens one notice carries when read back from JSON.
pub const MAX_TOKENS_PER_NOTICE: usize = 4096;

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

/// How long a settled interval outside the band may be disputed (TE-05).
pub const DISPUTE_PERIOD: idea_proto::Duration = idea_proto::Duration::from_mins(24 * 60);
/// The most meters one node reads.
pub const MAX_METERS: usize = 1 << 16;

/// The TE node of one deployment.
#[derive(Debug)]
pub struct TeNode {
    registry: Registry,
    contracts: ContractBook,
    agents: BTreeMap<AvatarId, String>,
    notices: VecDeque<TeNotice>,
    refusals: VecDeque<Refusal>,
    meters: BTreeMap<AvatarId, MeterSeries>,
    settlement: SettlementBook,
    wallets: Wallets,
    /// Recorded contracts by the cell at their delivery point.
    by_cell: BTreeMap<CellId, Vec<TransactionId>>,
    /// Intervals settled per contract.
    settled: BTreeMap<TransactionId, u32>,
    /// What the ledger must record, in order, before the notices that follow them are sent (kept only when
    /// the node serves over a ledger).
    entries: VecDeque<Entry>,
    keep_entries: bool,
    /// The registrar's avatar, key and admission policy, when the node registers avatars itself.
    registrar: Option<Registrar>,
    /// The clearing period (TE-08).
    clearing_period: idea_proto::Duration,
    /// The obligations waiting for the next clearing run (made at the first settlement).
    pool: Option<Pool>,
    /// The verified intervals waiting for the run that pays them, by their settlement id.
    due: BTreeMap<DebtId, clearing::DueInterval>,
    /// Intervals paid per contract, until every one is.
    paid: BTreeMap<TransactionId, u32>,
    /// Deposits made (the last one's sequence).
    deposits: u64,
    /// Bindings of agents to avatars recorded (the last one's sequence).
    bindings: u64,
    /// The time of each agent avatar's latest registration taken (a registration again must be newer: an old
    /// one replayed does not move its notices).
    registered_at: BTreeMap<AvatarId, Timestamp>,
    /// Debt payment channels opened at the node (TE-09).
    channels: channels::ChannelBook,
    /// Channels closed lately, with when (an open of one is refused).
    closed_channels: BTreeMap<te_contract::ChannelId, Timestamp>,
}

/// A node acting as its deployment's registrar (AUX-01 over the network).
#[derive(Debug)]
struct Registrar {
    avatar: AvatarId,
    key: idea_proto::SigningKey,
    admission: crate::Admission,
    /// The meters it lets register themselves, by the hex of their key.
    meters: BTreeMap<String, meters::EnrolledMeter>,
}

/// The avatar id a key names when no registrar assigns one: the first 16 bytes of
/// `SHA-256("IDEA-SDK/avatar/v1" ‖ key)`. A node serving as registrar ([`TeNode::registrar`]) has the
/// avatar of its key; an agent that registers itself through the network ([`TeSubmission::Register`]) uses
/// the avatar of its own.
pub fn avatar_of_key(key: &idea_proto::PublicKey) -> AvatarId {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"IDEA-SDK/avatar/v1");
    h.update(key.to_bytes());
    let digest = h.finalize();
    let mut id = [0u8; 16];
    id.copy_from_slice(digest.get(..16).unwrap_or(&[0; 16]));
    AvatarId::from_bytes(id)
}

/// The submission that registers `avatar` — an agent named `agent`, whose key is `key` — at the node whose
/// key is `registrar` (its avatar is the one that key names), in `deployment` (AUX-01 over the network): the
/// registration unsigned, and the avatar's signature over it beside it.
pub fn registration_submission(
    deployment: &te_contract::DeploymentId,
    registrar: &idea_proto::PublicKey,
    avatar: AvatarId,
    agent: idea_proto::AgentId,
    key: &idea_proto::SigningKey,
    now: Timestamp,
) -> TeSubmission {
    let registration = Registration {
        registrar: avatar_of_key(registrar),
        avatar,
        kind: te_contract::registry::AvatarKind::Agent(agent),
        key: idea_proto::PublicKey::from(key),
        at: now,
    };
    let unsigned = Signed::new(deployment.clone(), registration);
    let signature = idea_proto::EnvelopeSigner::sign_digest(key, &unsigned.digest());
    TeSubmission::Register {
        registration: Box::new(unsigned),
        signature,
    }
}

/// The most ledger entries waiting; beyond, submissions are refused until the ledger catches up.
pub const MAX_PENDING_ENTRIES: usize = 1 << 16;

impl TeNode {
    /// A node over `registry` (the deployment is the registry's).
    pub fn new(registry: Registry) -> TeNode {
        TeNode {
            contracts: ContractBook::new(registry.deployment().clone()),
            settlement: SettlementBook::new(registry.deployment().clone(), DISPUTE_PERIOD),
            registry,
            agents: BTreeMap::new(),
            notices: VecDeque::new(),
            refusals: VecDeque::new(),
            meters: BTreeMap::new(),
            wallets: Wallets::new(),
            by_cell: BTreeMap::new(),
            settled: BTreeMap::new(),
            entries: VecDeque::new(),
            keep_entries: false,
            registrar: None,
            clearing_period: MAX_CLEARING_PERIOD,
            pool: None,
            due: BTreeMap::new(),
            paid: BTreeMap::new(),
            deposits: 0,
            bindings: 0,
            registered_at: BTreeMap::new(),
            channels: channels::ChannelBook::new(),
            closed_channels: BTreeMap::new(),
        }
    }

    /// A node that is its deployment's registrar: a new deployment whose registry's registrar is the avatar
    /// of `key` ([`avatar_of_key`]), which registers the avatars that submit a registration they signed
    /// ([`TeSubmission::Register`]) and that `admission` lets in — any agent's key that proves itself
    /// ([`crate::Admission::Open`]; meters, users and registrars are never registered that way), or only
    /// enrolled keys.
    pub fn registrar(
        deployment: te_contract::DeploymentId,
        key: idea_proto::SigningKey,
        admission: crate::Admission,
        now: Timestamp,
    ) -> TeNode {
        let public = idea_proto::PublicKey::from(&key);
        let avatar = avatar_of_key(&public);
        let mut node = TeNode::new(Registry::new(deployment, avatar, public, now));
        node.registrar = Some(Registrar {
            avatar,
            key,
            admission,
            meters: BTreeMap::new(),
        });
        node
    }

    /// Keeps every ledger entry for [`TeNode::poll_entry`] (a node serving over a ledger).
    pub fn with_ledger_entries(mut self) -> TeNode {
        self.keep_entries = true;
        self
    }

    fn entry(&mut self, entry: Entry) {
        if self.keep_entries {
            self.entries.push_back(entry);
        }
    }

    /// Registers an avatar (AUX-01, TE-01) — a registration signed by the registrar and the avatar — and
    /// records it for the ledger.
    ///
    /// # Errors
    /// The registry's refusal (a bad signature, an avatar or key already registered, …).
    pub fn register(
        &mut self,
        registration: &Signed<Registration>,
        now: Timestamp,
    ) -> crate::Result<()> {
        self.registry.register(registration)?;
        self.entry(Entry::signed(registration, now));
        Ok(())
    }

    /// The next entry for the ledger (TE-07): every registration, recorded contract, accepted meter reading
    /// and settlement, in the order the node accepted them. A node serving over a ledger records them —
    /// committing before it sends the notices that follow — so `te_contract::audit::verify` can walk what
    /// the node did.
    pub fn poll_entry(&mut self) -> Option<Entry> {
        self.entries.pop_front()
    }

    /// Reads `meter` (an avatar the registry binds to a cell) with `config`.
    pub fn add_meter(&mut self, meter: AvatarId, config: MeterConfig) -> crate::Result<()> {
        if self.registry.metered_cell(&meter).is_none() {
            return Err(crate::Error::NotRegistered(format!(
                "{meter} is not a registered meter"
            )));
        }
        if self.meters.len() >= MAX_METERS && !self.meters.contains_key(&meter) {
            return Err(crate::Error::Full {
                what: "meters",
                max: MAX_METERS,
            });
        }
        let series = MeterSeries::new(self.registry.deployment().clone(), meter, config)?;
        self.meters.insert(meter, series);
        Ok(())
    }

    /// The wallets (TE-02), unrecorded: a node serving over a ledger funds them with
    /// [`TeNode::deposit`].
    pub fn wallets_mut(&mut self) -> &mut Wallets {
        &mut self.wallets
    }

    /// Pays `amount` into the wallet of `avatar`, a registered avatar, from outside (TE-02), and records the
    /// deposit for the ledger.
    ///
    /// # Errors
    /// [`crate::Error::NotRegistered`] for an avatar the registry does not know; the wallet's refusal of an
    /// amount that is not positive or would overflow the balance.
    pub fn deposit(
        &mut self,
        avatar: AvatarId,
        amount: idea_proto::Money,
        now: Timestamp,
    ) -> crate::Result<te_contract::wallet::Deposit> {
        if self.registry.avatar(&avatar).is_none() {
            return Err(crate::Error::NotRegistered(format!(
                "{avatar} is not a registered avatar"
            )));
        }
        if amount.minor_units <= 0 {
            return Err(crate::Error::Te(te_contract::Error::Invalid {
                field: "amount",
                reason: "a deposit is positive".into(),
            }));
        }
        self.wallets.deposit(avatar, amount)?;
        self.deposits = self.deposits.saturating_add(1);
        let deposit = te_contract::wallet::Deposit {
            avatar,
            amount,
            sequence: self.deposits,
        };
        self.entry(deposit.ledger_entry(now));
        Ok(deposit)
    }

    /// The wallets.
    pub fn wallets(&self) -> &Wallets {
        &self.wallets
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
        self.handle_bytes_batch(vec![(from.to_owned(), bytes.to_vec())], now);
    }

    /// Many submissions' bytes in the order they arrived, `(submitter, bytes)`: each decoded as
    /// [`TeNode::handle_bytes`] does, the signatures of those that decode checked as one batch
    /// ([`TeNode::handle_submissions`]); the same outcome as `handle_bytes` on each in turn.
    pub fn handle_bytes_batch(&mut self, payloads: Vec<(String, Vec<u8>)>, now: Timestamp) {
        let decoded: Vec<(String, Result<TeSubmission, String>)> = payloads
            .into_iter()
            .map(|(from, bytes)| {
                let submission = match TeSubmission::decode(&bytes) {
                    Ok((s, used)) if used == bytes.len() => Ok(s),
                    Ok(_) => Err("trailing bytes after the submission".to_owned()),
                    Err(e) => Err(e.to_string()),
                };
                (from, submission)
            })
            .collect();
        let verified = self.verify_batch(decoded.iter().filter_map(|(_, s)| s.as_ref().ok()), now);
        for (from, submission) in decoded {
            match submission {
                Ok(s) => self.handle_verified(&from, s, &verified, now),
                Err(reason) => self.refuse(&from, None, reason, now),
            }
        }
    }

    /// The signatures of `submissions` that verify, checked as one batch.
    fn verify_batch<'a>(
        &self,
        submissions: impl Iterator<Item = &'a TeSubmission>,
        now: Timestamp,
    ) -> Verified {
        let mut batch = Batch::new(&self.registry, self.registry.deployment().clone());
        for submission in submissions {
            // An object whose keys do not resolve is refused when it is handled, with the reason.
            let _ = match submission {
                TeSubmission::RecordContract(s) => batch.add(s, now),
                TeSubmission::MeterReading(s) => batch.add(s, now),
                TeSubmission::DeliveryToken(s) => batch.add(s, now),
                TeSubmission::OpenChannel(s) => batch.add(s, now),
                TeSubmission::ChannelState(s) => batch.add(s, now),
                TeSubmission::CloseChannel(s) => batch.add(s, now),
                // Countersigned first, then checked whole by the registry.
                TeSubmission::Register { .. } => Ok(()),
            };
        }
        batch.verify();
        batch.into_verified()
    }

    /// A submission from agent `from`.
    pub fn handle_submission(&mut self, from: &str, submission: TeSubmission, now: Timestamp) {
        self.handle_verified(from, submission, &Verified::default(), now);
    }

    /// Many submissions in the order they arrived, `(submitter, submission)`, their signatures checked as one
    /// batch first (`te_contract::batch`); the same outcome as [`TeNode::handle_submission`] on each in turn.
    pub fn handle_submissions(&mut self, submissions: Vec<(String, TeSubmission)>, now: Timestamp) {
        let verified = self.verify_batch(submissions.iter().map(|(_, s)| s), now);
        for (from, submission) in submissions {
            self.handle_verified(&from, submission, &verified, now);
        }
    }

    fn handle_verified(
        &mut self,
        from: &str,
        submission: TeSubmission,
        verified: &Verified,
        now: Timestamp,
    ) {
        if self.entries.len() >= MAX_PENDING_ENTRIES {
            return self.refuse(
                from,
                None,
                "the ledger is behind: submit again later".into(),
                now,
            );
        }
        match submission {
            TeSubmission::RecordContract(signed) => self.record(from, *signed, verified, now),
            TeSubmission::MeterReading(signed) => self.read_meter(from, &signed, verified, now),
            TeSubmission::DeliveryToken(signed) => self.settle(from, &signed, verified, now),
            TeSubmission::Register {
                registration,
                signature,
            } => self.register_for(from, *registration, signature, now),
            TeSubmission::OpenChannel(signed) => self.open_channel(from, &signed, verified, now),
            TeSubmission::ChannelState(signed) => self.update_channel(from, &signed, verified, now),
            TeSubmission::CloseChannel(signed) => self.close_channel(from, &signed, verified, now),
        }
    }

    /// Whether a recorded contract delivered at `cell` has an interval starting at `start`.
    fn settles_at(&self, cell: &CellId, start: Timestamp) -> bool {
        self.by_cell.get(cell).is_some_and(|ids| {
            ids.iter().any(|id| {
                self.contracts.get(id).is_some_and(|c| {
                    c.signed
                        .body()
                        .transaction
                        .terms
                        .window
                        .interval_at(start)
                        .is_some()
                })
            })
        })
    }

    fn read_meter(
        &mut self,
        from: &str,
        signed: &Signed<MeterReading>,
        verified: &Verified,
        now: Timestamp,
    ) {
        let meter = signed.body().meter;
        let Some(series) = self.meters.get_mut(&meter) else {
            return self.refuse(
                from,
                None,
                format!("{meter} is not a meter this node reads"),
                now,
            );
        };
        match series.accept(signed, &Trusted::new(&self.registry, verified), now) {
            Ok(tokens) => {
                self.entry(Entry::signed(signed, now));
                // Only the intervals a recorded contract at the meter's cell delivers in are worth a
                // signature: a token of any other interval would settle nothing.
                let cell = self.registry.metered_cell(&meter).cloned();
                let tokens: Vec<DeliveryToken> = tokens
                    .into_iter()
                    .filter(|t| cell.as_ref().is_some_and(|c| self.settles_at(c, t.start)))
                    .collect();
                if !tokens.is_empty() {
                    self.notify(TeNotice::TokensToSign {
                        to: from.to_owned(),
                        tokens,
                    });
                }
            }
            Err(e) => self.refuse(from, None, e.to_string(), now),
        }
    }

    fn settle(
        &mut self,
        from: &str,
        token: &Signed<DeliveryToken>,
        verified: &Verified,
        now: Timestamp,
    ) {
        let meter = token.body().meter;
        let Some(cell) = self.registry.metered_cell(&meter).cloned() else {
            return self.refuse(
                from,
                None,
                format!("{meter} is not a registered meter"),
                now,
            );
        };
        // Every contract delivered at the cell in the token's interval: one settles on the whole token,
        // several each on its share of it (TE-04, `te_contract::settlement::allocate`).
        let group: Vec<(TransactionId, Contract, u32)> = self
            .by_cell
            .get(&cell)
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|id| {
                let contract = self.contracts.get(&id).map(|c| c.signed.body().clone())?;
                let interval = contract
                    .transaction
                    .terms
                    .window
                    .interval_at(token.body().start)?;
                Some((id, contract, interval))
            })
            .collect();
        let shares = shares_of(&group, token.body());
        let mut settled_any = false;
        for (k, (id, contract, interval)) in group.into_iter().enumerate() {
            let window = contract.transaction.terms.window;
            let pool = match self.pool.as_mut() {
                Some(pool) => pool,
                None => match Pool::new(self.clearing_period, now) {
                    Ok(pool) => self.pool.insert(pool),
                    Err(e) => return self.refuse(from, Some(id), e.to_string(), now),
                },
            };
            let trusted = Trusted::new(&self.registry, verified);
            let settled = match shares.get(k).copied().flatten() {
                Some(share) => self
                    .settlement
                    .settle_share_to_pool(&contract, interval, token, share, &trusted, pool, now),
                None => self
                    .settlement
                    .settle_to_pool(&contract, interval, token, &trusted, pool, now),
            };
            match settled {
                Ok((check, obligation)) => {
                    self.entry(check.ledger_entry(now));
                    settled_any = true;
                    self.due(
                        settlement_debt_id(&id, interval),
                        clearing::DueInterval {
                            transaction: id,
                            interval,
                            seller: contract.seller,
                            buyer: contract.buyer,
                            amount_minor: check.amount.minor_units,
                            currency: check.amount.currency,
                            in_pool: obligation.is_some(),
                            channel: None,
                        },
                    );
                    let count = self.settled.entry(id).or_insert(0);
                    *count = count.saturating_add(1);
                    let complete = *count >= window.intervals();
                    for avatar in [contract.seller, contract.buyer] {
                        if let Some(agent) = self.agents.get(&avatar).cloned() {
                            self.notify(TeNotice::Settled {
                                to: agent,
                                transaction: id,
                                interval,
                                contracted_wh: check.contracted_wh,
                                delivered_wh: check.delivered_wh,
                                amount_minor: check.amount.minor_units,
                                penalty_minor: check.penalty.minor_units,
                                complete,
                            });
                        }
                    }
                }
                Err(e) => self.refuse(from, Some(id), e.to_string(), now),
            }
        }
        if !settled_any
            && self
                .refusals
                .back()
                .is_none_or(|r| r.at != now || r.from != from)
        {
            self.refuse(
                from,
                None,
                format!(
                    "no recorded contract settles at {} in {}",
                    cell,
                    token.body().start
                ),
                now,
            );
        }
    }

    fn record(
        &mut self,
        from: &str,
        signed: Signed<Contract>,
        verified: &Verified,
        now: Timestamp,
    ) {
        let id = signed.body().id();
        let parties = [signed.body().seller, signed.body().buyer];
        let entry = Entry::signed(&signed, now);
        match self
            .contracts
            .record(signed, &Trusted::new(&self.registry, verified), now)
        {
            Ok(_) => {
                self.entry(entry);
                let cell = self
                    .contracts
                    .get(&id)
                    .map(|c| c.signed.body().delivery_point().cell.clone());
                if let Some(cell) = cell {
                    self.by_cell.entry(cell).or_default().push(id);
                }
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

    /// AUX-01: signs as registrar and registers a registration the new avatar signed, if this node is the
    /// registrar and its admission lets the key in; the submitter is bound to an agent's avatar for notices.
    fn register_for(
        &mut self,
        from: &str,
        mut signed: Signed<Registration>,
        signature: [u8; 64],
        now: Timestamp,
    ) {
        let Some(registrar) = &self.registrar else {
            return self.refuse(
                from,
                None,
                "this node does not register avatars".into(),
                now,
            );
        };
        let body = signed.body().clone();
        if body.registrar != registrar.avatar {
            return self.refuse(
                from,
                None,
                format!(
                    "the registrar is {}, not {}",
                    registrar.avatar, body.registrar
                ),
                now,
            );
        }
        let is_meter = matches!(body.kind, te_contract::registry::AvatarKind::Meter { .. });
        // A meter's avatar signs the readings money moves on: it registers only as the registrar enrolled
        // it (its key, id and cell), whatever the admission of agents.
        if is_meter && self.enrolment_of(&body).is_none() {
            return self.refuse(
                from,
                None,
                format!(
                    "meter key {} is not enrolled for that meter and cell",
                    body.key
                ),
                now,
            );
        }
        let Some(registrar) = &self.registrar else {
            return;
        };
        // Open admission lets in agents only: a user's or registrar's avatar acts for people, so those are
        // enrolled.
        if !is_meter
            && matches!(registrar.admission, crate::Admission::Open)
            && !matches!(body.kind, te_contract::registry::AvatarKind::Agent(_))
        {
            return self.refuse(
                from,
                None,
                "only an agent registers without enrolment".into(),
                now,
            );
        }
        if let crate::Admission::Keys(keys) = &registrar.admission
            && !is_meter
            && !keys.contains(&body.key.to_string())
        {
            return self.refuse(
                from,
                None,
                format!("the key {} is not enrolled", body.key),
                now,
            );
        }
        if !signed.signatures().is_empty() {
            return self.refuse(
                from,
                None,
                "the registration must come unsigned, the avatar's signature beside it".into(),
                now,
            );
        }
        // The registry checks both signatures when it registers.
        let signed_both = signed
            .sign(registrar.avatar, 0, &registrar.key)
            .and_then(|()| signed.attach(body.avatar, 0, signature));
        if let Err(e) = signed_both {
            return self.refuse(from, None, e.to_string(), now);
        }
        // An agent registering again (its process restarted, or the node's) with the key it holds: bound
        // again to the submitter, once its signature verifies under that key; nothing new is recorded.
        let again = self.registry.avatar(&body.avatar).is_some_and(|a| {
            a.kind == body.kind
                && a.keys
                    .last()
                    .is_some_and(|k| k.key == body.key && k.until.is_none())
        });
        if again {
            if self
                .registered_at
                .get(&body.avatar)
                .is_some_and(|last| body.at <= *last)
            {
                return self.refuse(
                    from,
                    None,
                    format!(
                        "a registration of {} no newer than the one taken: a replay",
                        body.avatar
                    ),
                    now,
                );
            }
            return match signed.verify(&self.registry, self.registry.deployment(), now) {
                Ok(()) => {
                    self.registered_at.insert(body.avatar, body.at);
                    // Recorded even when the name is the same: the ledger keeps when it was taken, so an
                    // older registration replayed after a restart is still refused. (A meter's notices go to
                    // whoever submits its readings: nothing to bind.)
                    if !is_meter {
                        self.record_binding(body.avatar, from, true, now);
                    }
                    self.notify(TeNotice::Registered {
                        to: from.to_owned(),
                        avatar: body.avatar.to_string(),
                    });
                }
                Err(e) => self.refuse(from, None, e.to_string(), now),
            };
        }
        match self.register(&signed, now) {
            Ok(()) => {
                if matches!(body.kind, te_contract::registry::AvatarKind::Agent(_)) {
                    self.registered_at.insert(body.avatar, body.at);
                    self.record_binding(body.avatar, from, false, now);
                }
                if is_meter {
                    self.registered_at.insert(body.avatar, body.at);
                    self.read_enrolled(&body);
                }
                self.notify(TeNotice::Registered {
                    to: from.to_owned(),
                    avatar: body.avatar.to_string(),
                });
            }
            Err(e) => self.refuse(from, None, e.to_string(), now),
        }
    }

    /// Binds the agent named `name` to `avatar` for notices, recording the binding for the ledger when it
    /// changes or `always` (so a node rebuilt from its ledger still knows where to send them).
    fn record_binding(&mut self, avatar: AvatarId, name: &str, always: bool, now: Timestamp) {
        // A name a binding record cannot hold is not bound (the submitter hears nothing more).
        if name.is_empty() || name.len() > te_contract::registry::MAX_BINDING_NAME {
            return;
        }
        if !always && self.agents.get(&avatar).map(String::as_str) == Some(name) {
            return;
        }
        self.agents.insert(avatar, name.to_owned());
        self.bindings = self.bindings.saturating_add(1);
        let binding = te_contract::registry::Binding {
            avatar,
            name: name.to_owned(),
            sequence: self.bindings,
        };
        self.entry(binding.ledger_entry(now));
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

/// Each contract's share of a token where several contracts measured by the same register of the same
/// meter deliver in the token's interval (`None`: the contract is alone there and settles on the whole).
fn shares_of(group: &[(TransactionId, Contract, u32)], token: &DeliveryToken) -> Vec<Option<i64>> {
    use te_contract::contract::Flow;
    let flow = |c: &Contract| c.delivery_point().flow;
    group
        .iter()
        .map(|(_, contract, _)| {
            let mine = flow(contract);
            let members: Vec<&(TransactionId, Contract, u32)> =
                group.iter().filter(|(_, c, _)| flow(c) == mine).collect();
            if members.len() < 2 {
                return None;
            }
            let contracted: Vec<i64> = members
                .iter()
                .map(|(_, c, i)| {
                    c.transaction
                        .terms
                        .contracted_energy(*i)
                        .map_or(0, |e| e.wh())
                })
                .collect();
            let counted = match mine {
                Flow::Export => token.export_wh,
                Flow::Import => token.import_wh,
            };
            let position = members.iter().position(|(id, _, _)| *id == contract.id())?;
            te_contract::settlement::allocate(counted, &contracted)
                .get(position)
                .copied()
        })
        .collect()
}
