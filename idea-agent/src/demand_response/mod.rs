//! The operator's demand-response service (P2O, UC-01..UC-04 with the operator as buyer): the operator asks
//! for `need` W of flexibility over a window ([`DemandResponseService::call_for_flexibility`]); the service
//! calls every cell it knows with FIPA Contract Net (one conversation per cell, a P2O `transaction-request`
//! for flexibility at the operator's price cap), accepts the cheapest offers until the need is covered and
//! rejects the rest. The cells' agents answer with their [`crate::P2pSeller`]; where the deployment has a TE
//! node, each seller's signed contract is countersigned by the operator's avatar and handed on for recording
//! ([`DemandResponseService::poll_submission`]). What was bought and what is still missing is reported per
//! call ([`FlexibilityOutcome`]).
//!
//! As a process (`idea serve demand-response`): it registers with the directory (its key and, with a TE
//! deployment, its avatar, so sellers name it in their contracts) and calls every cell registered there;
//! registers its avatar at the TE node ([`DemandResponseService::register_at_te`]); and takes the operator's
//! calls through its HTTP/JSON interface ([`operator`]).
//!
//! Each cell is asked for the whole need and counters with what its commitment book can still give; the
//! cheapest offers are taken whole until the need is covered (the last may go beyond it: a second round
//! asking for exactly the remainder is not made yet).

pub mod operator;

use crate::behaviour::{Peer, Peers, TeSubmission, conversation_of};
use crate::p2p::{contract_in, energy_content};
use crate::signing;
use fipa_acl::protocol::{ContractNetInitiator, Event, not_understood};
use fipa_acl::{AclMessage, AgentIdentifier, Performative};
use idea_proto::wire::AnyMessage;
use idea_proto::{
    ActivePower, AgentId, Currency, DeliveryWindow, Duration, EnergyPrice, EnergyTransaction,
    Parties, PowerLevel, Profile, ReactivePower, ServiceId, Side, SigningKey, Subject, Terms,
    TermsSpec, Timestamp, ToleranceBand, TransactionId, TransactionRequest, TransactionSpec,
    UserId,
};
use std::collections::{BTreeMap, VecDeque};
use te_contract::{AvatarId, DeploymentId};

/// The most calls open at once.
pub const MAX_OPEN_CALLS: usize = 64;
/// The most outcomes kept for the operator.
pub const MAX_KEPT_OUTCOMES: usize = 256;
/// The most TE notices' results kept for the operator.
pub const MAX_KEPT_NOTICES: usize = 256;

/// How the service is run.
#[derive(Debug, Clone)]
pub struct DemandResponseConfig {
    /// Its ACL identifier.
    pub me: AgentIdentifier,
    /// The key its messages are signed with (and, with `te`, the operator avatar's key).
    pub key: SigningKey,
    /// The agent id named in its requests.
    pub agent_id: AgentId,
    /// The service the calls are made in (the cells' profiles must take part in it).
    pub service: ServiceId,
    /// The operator buying.
    pub operator: UserId,
    /// The currency of prices.
    pub currency: Currency,
    /// The most paid per kWh of flexibility.
    pub price_cap_per_kwh: i64,
    /// The penalty per kWh outside the tolerance band.
    pub penalty_per_kwh: i64,
    /// The tolerance band of the contracts.
    pub tolerance: ToleranceBand,
    /// How long cells have to answer.
    pub reply_within: Duration,
    /// The operator's avatar in the TE deployment (deployment, avatar, key version), where contracts are
    /// recorded.
    pub te: Option<(DeploymentId, AvatarId, u32)>,
}

/// What one call for flexibility obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlexibilityOutcome {
    /// The call.
    pub call: u64,
    /// The flexibility asked for, W.
    pub need_w: i64,
    /// Each agreed purchase: the cell's agent, the transaction, W, price per kWh.
    pub bought: Vec<(String, TransactionId, i64, i64)>,
    /// What no offer covered, W.
    pub shortfall_w: i64,
}

#[derive(Debug)]
struct Negotiation {
    cell_agent: String,
    proposal: EnergyTransaction,
    initiator: ContractNetInitiator,
    offer: Option<EnergyTransaction>,
    answered: bool,
    accepted: bool,
}

#[derive(Debug)]
struct Call {
    need_w: i64,
    negotiations: Vec<Negotiation>,
    decided: bool,
    outcome: Option<FlexibilityOutcome>,
}

/// The demand-response service (sans-IO).
#[derive(Debug)]
pub struct DemandResponseService {
    config: DemandResponseConfig,
    peers: Peers,
    calls: BTreeMap<u64, Call>,
    next: u64,
    outbox: VecDeque<AclMessage>,
    submissions: VecDeque<TeSubmission>,
    outcomes: VecDeque<FlexibilityOutcome>,
    /// The latest outcomes, for the operator.
    recent: VecDeque<FlexibilityOutcome>,
    /// What the TE node said of the contracts submitted, latest last.
    recorded: VecDeque<(TransactionId, Result<(), String>)>,
    directory: Option<crate::membership::CellDirectory>,
}

fn price_of(t: &EnergyTransaction) -> i64 {
    t.terms.price.minor_units_per_kwh
}

fn power_of(t: &EnergyTransaction) -> i64 {
    match &t.terms.profile {
        Profile::Power(levels) => levels.iter().map(|l| l.active.w().abs()).min().unwrap_or(0),
        Profile::Energy(_) => 0,
    }
}

impl DemandResponseService {
    /// A service with no cells known.
    pub fn new(config: DemandResponseConfig) -> DemandResponseService {
        DemandResponseService {
            config,
            peers: Peers::default(),
            calls: BTreeMap::new(),
            next: 0,
            outbox: VecDeque::new(),
            submissions: VecDeque::new(),
            outcomes: VecDeque::new(),
            recent: VecDeque::new(),
            recorded: VecDeque::new(),
            directory: None,
        }
    }

    /// Registers with the directory `directory` (its key, and its avatar where contracts are recorded) and
    /// follows it: every cell registered there is called.
    pub fn join_directory(&mut self, directory: Peer) {
        let service = self.config.service.to_string();
        let (follower, m) = crate::membership::CellDirectory::join_as_service(
            directory,
            &self.config.me,
            &self.config.key,
            self.config.te.as_ref().map(|(_, avatar, _)| *avatar),
            crate::membership::ServiceOffer {
                name: "demand-response",
                service_name: &service,
                service_type: SERVICE_TYPE,
                protocols: &["fipa-contract-net"],
                ontologies: &[fipa_acl::energy::ONTOLOGY],
            },
        );
        self.directory = Some(follower);
        self.outbox.push_back(m);
    }

    /// Registers the operator's avatar at the TE node whose key is `registrar` (AUX-01 over the network), so
    /// the contracts it countersigns can be recorded. Refused without a TE deployment in the configuration.
    pub fn register_at_te(
        &mut self,
        registrar: &idea_proto::PublicKey,
        now: Timestamp,
    ) -> crate::Result<()> {
        let (deployment, avatar, _) = self.config.te.clone().ok_or_else(|| {
            crate::Error::settings("te", "registering needs the operator's TE avatar")
        })?;
        self.submissions
            .push_back(crate::te_node::registration_submission(
                &deployment,
                registrar,
                avatar,
                self.config.agent_id.clone(),
                &self.config.key,
                now,
            ));
        Ok(())
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &DemandResponseConfig {
        &self.config
    }

    /// The cells it would call now.
    pub fn cells(&self) -> usize {
        self.peers.iter().filter(|p| p.cell.is_some()).count()
    }

    /// The latest outcomes (up to [`MAX_KEPT_OUTCOMES`]), oldest first.
    pub fn outcomes(&self) -> impl Iterator<Item = &FlexibilityOutcome> {
        self.recent.iter()
    }

    /// What the TE node said of the contracts submitted (up to [`MAX_KEPT_NOTICES`]): recorded, or refused
    /// with the reason.
    pub fn recordings(&self) -> impl Iterator<Item = &(TransactionId, Result<(), String>)> {
        self.recorded.iter()
    }

    /// A notice of the TE node: a recording or a refusal of a contract it submitted is kept for the operator.
    pub fn handle_te_notice(&mut self, notice: &crate::TeNotice) {
        let kept = match notice {
            crate::TeNotice::Recorded { transaction, .. } => Some((*transaction, Ok(()))),
            crate::TeNotice::Refused {
                transaction: Some(transaction),
                reason,
                ..
            } => Some((*transaction, Err(reason.clone()))),
            crate::TeNotice::Refused { reason, .. } => {
                log::warn!("demand response: the TE node refused: {reason}");
                None
            }
            _ => None,
        };
        if let Some(kept) = kept {
            if self.recorded.len() >= MAX_KEPT_NOTICES {
                self.recorded.pop_front();
            }
            self.recorded.push_back(kept);
        }
    }

    /// Its identifier.
    pub fn me(&self) -> &AgentIdentifier {
        &self.config.me
    }

    /// Adds a cell's agent it may call (from the directory).
    pub fn add_peer(&mut self, peer: Peer) -> crate::Result<()> {
        self.peers.insert(peer)
    }

    /// Calls every known cell for `need_w` W of flexibility (export increase or consumption decrease at
    /// their connection) throughout `window`; returns the call's number.
    pub fn call_for_flexibility(
        &mut self,
        window: DeliveryWindow,
        need_w: i64,
        now: Timestamp,
    ) -> crate::Result<u64> {
        if need_w <= 0 {
            return Err(crate::Error::settings(
                "need_w",
                "a call is for more than 0 W",
            ));
        }
        if self.calls.len() >= MAX_OPEN_CALLS {
            return Err(crate::Error::Full {
                what: "flexibility calls",
                max: MAX_OPEN_CALLS,
            });
        }
        let call = self.next;
        self.next = self.next.saturating_add(1);
        let reply_by = now.checked_add(self.config.reply_within)?;
        let level = PowerLevel::new(ActivePower::from_w(need_w), ReactivePower::from_var(0));
        let levels = usize::try_from(window.intervals()).unwrap_or(0);
        let terms = Terms::new(TermsSpec {
            window,
            profile: Profile::Power(vec![level; levels]),
            price: EnergyPrice::new(self.config.price_cap_per_kwh, self.config.currency),
            tolerance: self.config.tolerance,
            penalty: EnergyPrice::new(self.config.penalty_per_kwh, self.config.currency),
        })?;
        let mut negotiations = Vec::new();
        let cells: Vec<Peer> = self
            .peers
            .iter()
            .filter(|p| p.cell.is_some())
            .cloned()
            .collect();
        for (n, peer) in cells.into_iter().enumerate() {
            let Some(cell) = peer.cell.clone() else {
                continue;
            };
            let id = TransactionId::from_bytes(transaction_bytes(&self.config.me.name, call, n));
            let proposal = EnergyTransaction::new(TransactionSpec {
                id,
                service: self.config.service.clone(),
                subject: Subject::Flexibility,
                parties: Parties::PeerToOperator {
                    cell,
                    cell_side: Side::Seller,
                    operator: self.config.operator.clone(),
                },
                terms: terms.clone(),
            })?;
            let mut cfp = AclMessage::new(Performative::Cfp);
            energy_content(
                AnyMessage::TransactionRequest(TransactionRequest {
                    proposal: proposal.clone(),
                    from_agent: self.config.agent_id.clone(),
                    reply_by,
                }),
                &mut cfp,
            );
            let conversation = format!("{}-dr-{call}-{n}", self.config.me.name);
            let mut initiator = ContractNetInitiator::new(
                self.config.me.clone(),
                vec![peer.agent.clone()],
                cfp,
                conversation,
                reply_by,
                false,
                now,
            )?;
            while let Some(m) = initiator.poll_transmit() {
                self.outbox.push_back(m);
            }
            negotiations.push(Negotiation {
                cell_agent: peer.agent.name.clone(),
                proposal,
                initiator,
                offer: None,
                answered: false,
                accepted: false,
            });
        }
        self.calls.insert(
            call,
            Call {
                need_w,
                negotiations,
                decided: false,
                outcome: None,
            },
        );
        self.decide(call, now);
        Ok(call)
    }

    /// One incoming message: the directory's news, an answer in one of its conversations, or not understood.
    pub fn handle_acl(&mut self, m: AclMessage, now: Timestamp) {
        if let Some(directory) = self.directory.as_mut().filter(|d| d.wants(&m)) {
            self.outbox.extend(directory.handle(&m, &mut self.peers));
            return;
        }
        if let Err(answer) = signing::admit(&m, &self.peers, &self.config.me) {
            self.outbox.extend(answer.map(|a| *a));
            return;
        }
        let conversation = conversation_of(&m).unwrap_or_default();
        let found = self.calls.iter_mut().find_map(|(id, c)| {
            c.negotiations
                .iter()
                .position(|n| conversation_of_initiator(n) == conversation)
                .map(|i| (*id, i))
        });
        let Some((call, index)) = found else {
            if m.performative != Performative::NotUnderstood {
                self.outbox
                    .push_back(not_understood(&m, &self.config.me, "no such conversation"));
            }
            return;
        };
        if let Some(n) = self
            .calls
            .get_mut(&call)
            .and_then(|c| c.negotiations.get_mut(index))
        {
            n.initiator.handle(m, now);
        }
        self.drain(call, index);
        self.decide(call, now);
    }

    fn drain(&mut self, call: u64, index: usize) {
        let te = self.config.te.clone();
        let key = self.config.key.clone();
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let Some(n) = c.negotiations.get_mut(index) else {
            return;
        };
        while let Some(event) = n.initiator.poll_event() {
            match event {
                Event::Proposal(p) => {
                    n.answered = true;
                    n.offer = match fipa_acl::energy::read(&p) {
                        Ok(AnyMessage::TransactionAnswer(a)) => {
                            a.apply_to(&n.proposal).ok().flatten()
                        }
                        _ => None,
                    };
                }
                Event::Refusal(_) => n.answered = true,
                Event::Result(Ok(inform)) => {
                    if let (Some((deployment, avatar, version)), Some(offer)) = (&te, &n.offer) {
                        match countersign(&inform, offer, deployment, *avatar, *version, &key) {
                            Ok(s) => self.submissions.push_back(s),
                            Err(e) => log::warn!("demand response: {}: {e}", n.cell_agent),
                        }
                    }
                }
                _ => {}
            }
        }
        while let Some(m) = n.initiator.poll_transmit() {
            self.outbox.push_back(m);
        }
    }

    /// Once every cell answered (or the deadline passed), accepts the cheapest offers within the cap that
    /// cover the need, rejects the rest, and reports the outcome.
    fn decide(&mut self, call: u64, now: Timestamp) {
        let cap = self.config.price_cap_per_kwh;
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let complete = c
            .negotiations
            .iter()
            .all(|n| n.answered || n.initiator.poll_timeout().is_none_or(|d| d <= now));
        if c.decided || !complete {
            return;
        }
        c.decided = true;
        let mut order: Vec<usize> = (0..c.negotiations.len())
            .filter(|&i| {
                c.negotiations
                    .get(i)
                    .and_then(|n| n.offer.as_ref())
                    .is_some_and(|o| price_of(o) <= cap && power_of(o) > 0)
            })
            .collect();
        order.sort_by_key(|&i| {
            c.negotiations
                .get(i)
                .and_then(|n| n.offer.as_ref())
                .map_or(i64::MAX, price_of)
        });
        let mut left = c.need_w;
        let mut bought = Vec::new();
        for i in order {
            if left <= 0 {
                break;
            }
            let Some(n) = c.negotiations.get_mut(i) else {
                continue;
            };
            let Some(offer) = n.offer.clone() else {
                continue;
            };
            n.accepted = true;
            left = left.saturating_sub(power_of(&offer));
            bought.push((
                n.cell_agent.clone(),
                offer.id,
                power_of(&offer),
                price_of(&offer),
            ));
        }
        for n in &mut c.negotiations {
            let winners: Vec<AgentIdentifier> = if n.accepted {
                n.initiator
                    .proposals()
                    .iter()
                    .filter_map(|p| p.sender.clone())
                    .collect()
            } else {
                Vec::new()
            };
            let _ = n.initiator.accept(&winners, now);
        }
        let outcome = FlexibilityOutcome {
            call,
            need_w: c.need_w,
            bought,
            shortfall_w: left.max(0),
        };
        c.outcome = Some(outcome.clone());
        if self.recent.len() >= MAX_KEPT_OUTCOMES {
            self.recent.pop_front();
        }
        self.recent.push_back(outcome.clone());
        if self.outcomes.len() < MAX_KEPT_OUTCOMES {
            self.outcomes.push_back(outcome);
        }
        for i in 0..self.calls.get(&call).map_or(0, |c| c.negotiations.len()) {
            self.drain(call, i);
        }
    }

    /// The next deadline: the earliest answer deadline of an undecided call.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.calls
            .values()
            .filter(|c| !c.decided)
            .flat_map(|c| {
                c.negotiations
                    .iter()
                    .filter_map(|n| n.initiator.poll_timeout())
            })
            .min()
    }

    /// Deadlines passed: calls whose answers are late are decided with what arrived.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        let calls: Vec<u64> = self.calls.keys().copied().collect();
        for call in calls {
            let count = self.calls.get(&call).map_or(0, |c| c.negotiations.len());
            for i in 0..count {
                if let Some(n) = self
                    .calls
                    .get_mut(&call)
                    .and_then(|c| c.negotiations.get_mut(i))
                    && n.initiator.poll_timeout().is_some_and(|d| d <= now)
                {
                    n.initiator.handle_timeout(now);
                }
                self.drain(call, i);
            }
            self.decide(call, now);
        }
        // Decided calls whose conversations all ended are forgotten (their outcome was reported).
        self.calls.retain(|_, c| {
            !c.decided
                || c.negotiations
                    .iter()
                    .any(|n| n.initiator.outcome().is_none())
        });
    }

    /// The next message to send, signed by the service.
    pub fn poll_transmit(&mut self) -> Option<AclMessage> {
        let mut m = self.outbox.pop_front()?;
        signing::seal(&mut m, &self.config.me, &self.config.key);
        Some(m)
    }

    /// The next contract to record at the TE node, signed by both avatars.
    pub fn poll_submission(&mut self) -> Option<TeSubmission> {
        self.submissions.pop_front()
    }

    /// The next call's outcome.
    pub fn poll_outcome(&mut self) -> Option<FlexibilityOutcome> {
        self.outcomes.pop_front()
    }
}

/// The service type it registers in the directory.
pub const SERVICE_TYPE: &str = "idea-demand-response";

impl crate::AclService for DemandResponseService {
    fn me(&self) -> &AgentIdentifier {
        DemandResponseService::me(self)
    }
    fn handle_acl(&mut self, m: AclMessage, now: Timestamp) {
        DemandResponseService::handle_acl(self, m, now);
    }
    fn poll_transmit(&mut self) -> Option<AclMessage> {
        DemandResponseService::poll_transmit(self)
    }
    fn poll_timeout(&self) -> Option<Timestamp> {
        DemandResponseService::poll_timeout(self)
    }
    fn handle_timeout(&mut self, now: Timestamp) {
        DemandResponseService::handle_timeout(self, now);
    }
    fn poll_submission(&mut self) -> Option<TeSubmission> {
        DemandResponseService::poll_submission(self)
    }
    fn handle_te_notice(&mut self, notice: &crate::TeNotice, _now: Timestamp) {
        DemandResponseService::handle_te_notice(self, notice);
    }
}

fn conversation_of_initiator(n: &Negotiation) -> String {
    n.initiator
        .conversation_id()
        .as_text()
        .map(|t| t.into_owned())
        .unwrap_or_default()
}

/// A transaction id unique to the service, the call and the cell.
fn transaction_bytes(me: &str, call: u64, n: usize) -> [u8; 16] {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(b"idea-demand-response")
        .chain_update(me.as_bytes())
        .chain_update(call.to_be_bytes())
        .chain_update((n as u64).to_be_bytes())
        .finalize();
    let mut id = [0u8; 16];
    id.copy_from_slice(digest.get(..16).unwrap_or(&[0; 16]));
    id
}

/// The seller's signed contract, checked to be the agreed offer with the operator's avatar as buyer, signed
/// by that avatar.
fn countersign(
    inform: &AclMessage,
    offer: &EnergyTransaction,
    deployment: &DeploymentId,
    avatar: AvatarId,
    version: u32,
    key: &SigningKey,
) -> Result<TeSubmission, String> {
    let mut signed = contract_in(inform)?;
    if signed.body().transaction != *offer {
        return Err("the contract is not the agreed offer".into());
    }
    if signed.body().buyer != avatar || signed.deployment() != deployment {
        return Err("the contract names another buyer or deployment".into());
    }
    signed
        .sign(avatar, version, key)
        .map_err(|e| e.to_string())?;
    Ok(TeSubmission::RecordContract(Box::new(signed)))
}
