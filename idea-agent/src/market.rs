//! The P2P market route (UC-01..UC-04 through a double auction): [`MarketService`] is the market service
//! application — it takes signed orders for a settlement period until gate closure, clears them with
//! `te_contract::market` (pay-as-clear) and tells each matched agent its contract; [`MarketParticipant`] is
//! the agents' behaviour that places orders within the commitment book and, once matched, signs the contract
//! (the seller first, then the buyer, who submits it to the TE node) — the same contract the bilateral route
//! ends in.
//!
//! Messages (`:language fipa-sl0 :ontology idea-energy :protocol fipa-propose`):
//! 1. agent → market `propose`: a `transaction-request` whose proposal is P2O between the agent's cell (its
//!    side) and the market's operator, one interval of energy at the agent's limit price;
//! 2. market → agent `accept-proposal` (the order is in the book) or `reject-proposal` with the reason;
//! 3. at gate closure, market → each matched agent `inform` with the matched P2P `energy-transaction` and the
//!    unsigned contract in `:X-idea-contract` and the counterparty's agent in `:X-idea-counterparty`; an order
//!    left unmatched gets `failure` `((not-matched))`;
//! 4. seller → buyer `inform` with the contract signed by the seller in `:X-idea-contract`; the buyer
//!    countersigns and submits it (as in the bilateral route).

use crate::behaviour::{Behaviour, Context, Peer, Peers, conversation_of};
use crate::commitment::{Commitment, Strength};
use crate::p2p::{CONTRACT_PARAM, countersign, energy_content};
use crate::signing;
use fipa_acl::energy;
use fipa_acl::protocol::not_understood;
use fipa_acl::{AclMessage, AgentIdentifier, Expression, Performative};
use idea_proto::wire::AnyMessage;
use idea_proto::{
    CellRef, Currency, DeliveryWindow, Duration, Energy, EnergyPrice, EnergyTransaction, Parties,
    Profile, ServiceId, Side, SigningKey, Subject, Terms, TermsSpec, Timestamp, ToleranceBand,
    TransactionId, TransactionRequest, TransactionSpec, TransactionState as S, UserId,
};
use std::collections::{BTreeMap, VecDeque};
use te_contract::contract::Contract;
use te_contract::market::{self, Order, PeriodTerms, Pricing};
use te_contract::{Codec, OrderId, Signed};

/// The protocol the market's messages name.
pub const MARKET_PROTOCOL: &str = "fipa-propose";
/// The user parameter of a match naming the counterparty's agent (`:X-idea-counterparty`).
pub const COUNTERPARTY_PARAM: &str = "idea-counterparty";
/// The most orders the market holds for one period.
pub const MAX_ORDERS_PER_PERIOD: usize = 1 << 16;
/// The most orders one agent places in one period.
pub const MAX_ORDERS_PER_AGENT: usize = 16;
/// How far ahead the market books periods: orders for later periods are refused, so its books stay bounded.
pub const BOOKING_HORIZON: Duration = Duration::from_mins(48 * 60);

/// How the market is run.
#[derive(Debug, Clone)]
pub struct MarketConfig {
    /// Its ACL identifier.
    pub me: AgentIdentifier,
    /// Its signing key.
    pub key: SigningKey,
    /// The service it runs.
    pub service: ServiceId,
    /// The operator orders name as counterparty.
    pub operator: UserId,
    /// The currency of prices.
    pub currency: Currency,
    /// The settlement period, seconds.
    pub period_s: u32,
    /// How long before a period starts its book closes.
    pub gate_closure: Duration,
    /// The tolerance band of the contracts.
    pub tolerance: ToleranceBand,
    /// The penalty per kWh beyond it, minor units.
    pub penalty_per_kwh: i64,
    /// The TE deployment the contracts are signed in.
    pub deployment: te_contract::DeploymentId,
}

#[derive(Debug)]
struct Book {
    orders: Vec<Order>,
    /// Who placed each order: agent name, the request's transaction id.
    owners: BTreeMap<OrderId, (String, TransactionId)>,
    /// Orders per agent in this book.
    per_agent: BTreeMap<String, usize>,
}

/// The P2P market service (double auction per settlement period, pay-as-clear).
#[derive(Debug)]
pub struct MarketService {
    config: MarketConfig,
    peers: Peers,
    books: BTreeMap<Timestamp, Book>,
    outbox: VecDeque<AclMessage>,
    seq: u64,
    membership: Option<crate::membership::CellDirectory>,
    arbitrator: Option<crate::Arbitrator>,
}

impl MarketService {
    /// A market with no orders.
    pub fn new(config: MarketConfig) -> MarketService {
        MarketService {
            config,
            peers: Peers::default(),
            books: BTreeMap::new(),
            outbox: VecDeque::new(),
            seq: 0,
            membership: None,
            arbitrator: None,
        }
    }

    /// Asks `arbitrator` (ARCH-08, option 2: the service application asks before committing) about every
    /// match at clearing: a match it permits becomes a contract; one it adjusts becomes a contract at the
    /// share of its quantities the section carries (asked about once more; the rest of both orders stays
    /// unfilled); one it refuses does not, and an order left with no contract is told why (`failure`
    /// `((arbitration-refused :reason "…"))`).
    pub fn set_arbitrator(&mut self, arbitrator: crate::Arbitrator) {
        self.arbitrator = Some(arbitrator);
    }

    /// The market's directory description: its identity (key, no cell) and the market service.
    pub fn description(&self) -> fipa_acl::directory::DfAgentDescription {
        use crate::directory::{Identity, MARKET_SERVICE};
        use fipa_acl::directory::{DfAgentDescription, ServiceDescription};
        let label = self.config.service.as_str();
        let identity = Identity {
            key: idea_proto::PublicKey::from(&self.config.key),
            cell: None,
            avatar: None,
        };
        DfAgentDescription {
            name: Some(self.config.me.clone()),
            services: vec![
                identity.to_service(label),
                ServiceDescription {
                    name: Some(label.to_owned()),
                    service_type: Some(MARKET_SERVICE.to_owned()),
                    protocols: vec![MARKET_PROTOCOL.to_owned()],
                    ontologies: vec![energy::ONTOLOGY.to_owned()],
                    languages: vec!["fipa-sl0".to_owned()],
                    ownership: Some(self.config.operator.as_str().to_owned()),
                    properties: vec![
                        (
                            "period-s".to_owned(),
                            fipa_acl::sl0::Term::Number(self.config.period_s.to_string()),
                        ),
                        (
                            "gate-closure-s".to_owned(),
                            fipa_acl::sl0::Term::Number(
                                self.config.gate_closure.as_secs().to_string(),
                            ),
                        ),
                    ],
                },
            ],
            ..DfAgentDescription::default()
        }
    }

    /// Registers the market with the directory `directory` (plug & play): the cells that register there
    /// become its traders, and those that leave stop being.
    pub fn join_directory(&mut self, directory: Peer) {
        let (follower, m) = crate::membership::CellDirectory::join(
            directory,
            &self.description(),
            &self.config.me.name,
        );
        self.membership = Some(follower);
        self.outbox.push_back(m);
    }

    /// AUX-07: the market is updated — its gate closes `gate_closure` before each period from now on,
    /// books already open included — and, when it follows a directory, tells it, so every cell sees the
    /// new terms (the description's `gate-closure-s`).
    pub fn set_gate_closure(&mut self, gate_closure: Duration) {
        self.config.gate_closure = gate_closure;
        let description = self.description();
        if let Some(directory) = self.membership.as_mut() {
            let m = directory.update(&description);
            self.outbox.push_back(m);
        }
    }

    /// Admits an agent (from the directory): its orders are accepted; its avatar signs its contracts.
    pub fn add_peer(&mut self, peer: Peer) -> crate::Result<()> {
        self.peers.insert(peer)
    }

    /// Its identifier.
    pub fn me(&self) -> &AgentIdentifier {
        &self.config.me
    }

    fn reply(&mut self, m: &AclMessage, p: Performative, content: String) {
        let mut r = m.reply(p, self.config.me.clone());
        r.protocol = Some(MARKET_PROTOCOL.to_owned());
        r.content = Some(content.into());
        self.outbox.push_back(r);
    }

    /// One incoming order (or anything else, which is not understood).
    pub fn handle_acl(&mut self, m: AclMessage, now: Timestamp) {
        self.handle_checked(m, None, now);
    }

    /// Many incoming messages in the order they arrived, their signatures checked as one batch first
    /// ([`signing::verify_all`]) — what a market does with a full inbox near gate closure. The same outcome
    /// as [`MarketService::handle_acl`] on each in turn.
    pub fn handle_acl_batch(&mut self, messages: Vec<AclMessage>, now: Timestamp) {
        // A directory notice may change a peer's key: what follows it is checked again, one by one.
        for (m, checked) in signing::verify_inbox(messages, &self.peers) {
            let verdict = checked.still_valid(&self.peers);
            self.handle_checked(m, verdict, now);
        }
    }

    fn handle_checked(
        &mut self,
        m: AclMessage,
        verdict: Option<Result<(), signing::SignatureFault>>,
        now: Timestamp,
    ) {
        if let Some(directory) = self.membership.as_mut().filter(|d| d.wants(&m)) {
            self.outbox.extend(directory.handle(&m, &mut self.peers));
            return;
        }
        let peer = match signing::admit_checked(&m, &self.peers, &self.config.me, verdict) {
            Ok(peer) => peer,
            Err(answer) => {
                self.outbox.extend(answer.map(|a| *a));
                return;
            }
        };
        if m.performative != Performative::Propose {
            if m.performative != Performative::NotUnderstood {
                self.outbox.push_back(not_understood(
                    &m,
                    &self.config.me,
                    "the market takes propose (orders) only",
                ));
            }
            return;
        }
        match self.order(&m, &peer, now) {
            Ok(()) => self.reply(&m, Performative::AcceptProposal, "((order-booked))".into()),
            Err(reason) => self.reply(&m, Performative::RejectProposal, format!("(({reason:?}))")),
        }
    }

    fn order(&mut self, m: &AclMessage, peer: &Peer, now: Timestamp) -> Result<(), String> {
        let request = match energy::read(m) {
            Ok(AnyMessage::TransactionRequest(r)) => r,
            Ok(other) => {
                return Err(format!(
                    "expected a transaction-request, got {}",
                    other.type_name()
                ));
            }
            Err(e) => return Err(e.to_string()),
        };
        let p = &request.proposal;
        let Parties::PeerToOperator {
            cell,
            cell_side,
            operator,
        } = &p.parties
        else {
            return Err("an order is a P2O proposal to the market's operator".into());
        };
        if operator != &self.config.operator || p.service != self.config.service {
            return Err(format!(
                "this market is {} of {}",
                self.config.service, self.config.operator
            ));
        }
        if peer.cell.as_ref().is_none_or(|c| c.cell != cell.cell) {
            return Err("the order names another agent's cell".into());
        }
        if p.subject != Subject::Energy {
            return Err("the market trades energy".into());
        }
        let window = p.terms.window;
        if window.intervals() != 1 || window.period_s() != self.config.period_s {
            return Err(format!(
                "an order covers one {} s period",
                self.config.period_s
            ));
        }
        let start = window.start();
        let closes = start
            .checked_sub(self.config.gate_closure)
            .map_err(|e| e.to_string())?;
        if now >= closes {
            return Err(format!("the gate for {start} closed at {closes}"));
        }
        let horizon = now
            .checked_add(BOOKING_HORIZON)
            .map_err(|e| e.to_string())?;
        if start > horizon {
            return Err(format!("{start} is beyond the booking horizon ({horizon})"));
        }
        if p.terms.price.currency != self.config.currency {
            return Err(format!("prices are in {}", self.config.currency));
        }
        let quantity = p
            .terms
            .contracted_energy(0)
            .map_err(|e| e.to_string())?
            .wh();
        if quantity <= 0 {
            return Err("an order is for more than 0 Wh".into());
        }
        let avatar = peer.avatar.ok_or("the agent has no TE avatar")?;
        let book = self.books.entry(start).or_insert_with(|| Book {
            orders: Vec::new(),
            owners: BTreeMap::new(),
            per_agent: BTreeMap::new(),
        });
        if book.orders.len() >= MAX_ORDERS_PER_PERIOD {
            return Err("the period's book is full".into());
        }
        let mine = book.per_agent.get(&peer.agent.name).copied().unwrap_or(0);
        if mine >= MAX_ORDERS_PER_AGENT {
            return Err(format!(
                "at most {MAX_ORDERS_PER_AGENT} orders per agent and period"
            ));
        }
        let id = OrderId::from_bytes(*p.id.as_bytes());
        if book.owners.contains_key(&id) {
            return Err("an order with this id is booked already".into());
        }
        self.seq = self.seq.saturating_add(1);
        book.orders.push(Order {
            id,
            avatar,
            cell: cell.clone(),
            side: *cell_side,
            price: p.terms.price.minor_units_per_kwh,
            quantity,
            seq: self.seq,
        });
        book.owners.insert(id, (peer.agent.name.clone(), p.id));
        let count = book.per_agent.entry(peer.agent.name.clone()).or_insert(0);
        *count = count.saturating_add(1);
        Ok(())
    }

    /// The next gate closure.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.books
            .keys()
            .next()
            .and_then(|start| start.checked_sub(self.config.gate_closure).ok())
    }

    /// Clears every period whose gate has closed by `now`.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        while let Some(start) = self.books.keys().next().copied() {
            let Ok(closes) = start.checked_sub(self.config.gate_closure) else {
                break;
            };
            if now < closes {
                break;
            }
            if let Some(book) = self.books.remove(&start) {
                self.clear(start, book, now);
            }
        }
    }

    fn clear(&mut self, start: Timestamp, book: Book, now: Timestamp) {
        let terms = PeriodTerms {
            service: self.config.service.clone(),
            currency: self.config.currency,
            start,
            period_s: self.config.period_s,
            tolerance: self.config.tolerance,
            penalty: self.config.penalty_per_kwh,
            cleared_at: now,
        };
        let contracts = market::clear(&book.orders, Pricing::PayAsClear).and_then(|clearing| {
            let contracts = market::contracts(&book.orders, &clearing, &terms)?;
            Ok((clearing, contracts))
        });
        let (clearing, contracts) = match contracts {
            Ok(c) => c,
            Err(e) => {
                for (agent, request) in book.owners.values() {
                    self.failure(agent, *request, &format!("clearing failed: {e}"));
                }
                return;
            }
        };
        // Orders with at least one match that became a contract, and why others' matches did not.
        let mut matched: std::collections::BTreeSet<OrderId> = std::collections::BTreeSet::new();
        let mut refused: BTreeMap<OrderId, String> = BTreeMap::new();
        for (m, contract) in clearing.matches.iter().zip(contracts) {
            let contract = match self.arbitrate(contract, now) {
                Ok(contract) => contract,
                Err(refusal) => {
                    refused.insert(m.bid, refusal.clone());
                    refused.insert(m.offer, refusal);
                    continue;
                }
            };
            matched.insert(m.bid);
            matched.insert(m.offer);
            for (order, other, side) in [(m.offer, m.bid, "seller"), (m.bid, m.offer, "buyer")] {
                let Some((agent, request)) = book.owners.get(&order) else {
                    continue;
                };
                let counterparty = book.owners.get(&other).map(|(a, _)| a.clone());
                let mut inform =
                    AclMessage::new(Performative::Inform).to(AgentIdentifier::new(agent.clone()));
                inform.protocol = Some(MARKET_PROTOCOL.to_owned());
                inform.conversation_id = Some(Expression::String(request.to_string().into_bytes()));
                energy_content(
                    AnyMessage::EnergyTransaction(contract.transaction.clone()),
                    &mut inform,
                );
                inform.user_params.push((
                    CONTRACT_PARAM.to_owned(),
                    Expression::String(
                        Signed::new(self.config.deployment.clone(), contract.clone()).to_bytes(),
                    ),
                ));
                inform
                    .user_params
                    .push(("idea-side".to_owned(), Expression::Word(side.to_owned())));
                if let Some(counterparty) = counterparty {
                    // Who the other side's agent is: an agent that follows only the services it uses has
                    // not heard of it (it looks it up in the directory when that agent writes).
                    inform.user_params.push((
                        COUNTERPARTY_PARAM.to_owned(),
                        Expression::String(counterparty.into_bytes()),
                    ));
                }
                self.outbox.push_back(inform);
            }
        }
        for (order, (agent, request)) in &book.owners {
            if !matched.contains(order) {
                let (agent, request) = (agent.clone(), *request);
                let why = refused
                    .get(order)
                    .map_or("((not-matched))", String::as_str)
                    .to_owned();
                self.failure(&agent, request, &why);
            }
        }
    }

    /// The contract the arbitrator (if any) permits for `contract`: as matched, or — when it adjusts it —
    /// at the share of its quantities the section carries, asked about once more (ARCH-08: "permission or
    /// adjusted parameters"); else the failure content saying why not.
    fn arbitrate(&mut self, contract: Contract, now: Timestamp) -> Result<Contract, String> {
        let Some(arbitrator) = self.arbitrator.as_mut() else {
            return Ok(contract);
        };
        arbitrator.release_ended(now);
        let refusal = |why: String| format!("((arbitration-refused :reason {why:?}))");
        let verdict = arbitrator
            .ask(&contract.transaction)
            .map_err(|e| refusal(e.to_string()))?;
        let why = match &verdict {
            crate::Verdict::Permit => return Ok(contract),
            crate::Verdict::Adjust {
                interval,
                granted_w,
                reason,
                ..
            } => {
                if let Some(transaction) =
                    crate::arbitrator::scaled(&contract.transaction, verdict.share())
                    && matches!(arbitrator.ask(&transaction), Ok(crate::Verdict::Permit))
                {
                    return Ok(Contract {
                        transaction,
                        ..contract
                    });
                }
                format!(
                    "interval {interval}: only {} W can be granted ({reason})",
                    granted_w.round()
                )
            }
            crate::Verdict::Refuse { interval, reason } => {
                format!("interval {interval}: {reason}")
            }
        };
        Err(refusal(why))
    }

    fn failure(&mut self, agent: &str, request: TransactionId, reason: &str) {
        let mut m = AclMessage::new(Performative::Failure).to(AgentIdentifier::new(agent));
        m.protocol = Some(MARKET_PROTOCOL.to_owned());
        m.conversation_id = Some(Expression::String(request.to_string().into_bytes()));
        m.content = Some(reason.to_owned().into());
        self.outbox.push_back(m);
    }

    /// The next message to send, signed by the market.
    pub fn poll_transmit(&mut self) -> Option<AclMessage> {
        let mut m = self.outbox.pop_front()?;
        signing::seal(&mut m, &self.config.me, &self.config.key);
        Some(m)
    }
}

/// An order of this agent's.
#[derive(Debug, Clone)]
struct Placed {
    request: TransactionId,
    side: Side,
    /// The period it is for: the order (and its matches, one inform each) is followed until it starts.
    start: Timestamp,
}

/// The agents' side of the market (AG-10 built-in behaviour): places orders within the commitment book and
/// signs the contracts of their matches.
#[derive(Debug, Default)]
pub struct MarketParticipant {
    market: Option<AgentIdentifier>,
    placed: BTreeMap<String, Placed>,
    /// Contracts a seller signed that came before this agent heard of their match from the market, by
    /// transaction: MQTT keeps each sender's messages in order, not two senders' between them, so the
    /// seller's contract may overtake the market's match. At most [`MAX_EARLY_CONTRACTS`], the oldest
    /// dropped first.
    early: VecDeque<(String, AclMessage)>,
}

/// The most contracts a buyer keeps that came before their match.
pub const MAX_EARLY_CONTRACTS: usize = 64;

impl MarketParticipant {
    /// The behaviour's name.
    pub const NAME: &'static str = "market-participant";

    /// A participant of the market `market` (its ACL identifier).
    pub fn new(market: AgentIdentifier) -> MarketParticipant {
        MarketParticipant {
            market: Some(market),
            ..MarketParticipant::default()
        }
    }

    /// A participant of whichever market the directory offers (plug & play, [`crate::PlugAndPlay`]).
    pub fn discovering() -> MarketParticipant {
        MarketParticipant::default()
    }

    /// Places an order for `wh` of energy in the period starting at `start`, on `side`, at the owner's limit
    /// price; the cell's book takes it tentatively first (refused if it does not fit or the profile in force
    /// does not trade it).
    pub fn place(
        &mut self,
        cx: &mut Context<'_>,
        service: ServiceId,
        operator: UserId,
        side: Side,
        start: Timestamp,
        wh: i64,
    ) -> crate::Result<TransactionId> {
        let market = self
            .market
            .clone()
            .or_else(|| cx.services.find(crate::directory::MARKET_SERVICE).cloned())
            .ok_or_else(|| {
                crate::Error::settings("market", "no market given and none in the directory")
            })?;
        self.market = Some(market.clone());
        if let Some(why) = cx.why_not_in(&service) {
            return Err(crate::Error::settings(
                format!("profiles.{}", cx.settings.participation),
                why,
            ));
        }
        let profile = cx.settings.profile();
        if !profile.trades(Subject::Energy, side) {
            return Err(crate::Error::settings(
                format!("profiles.{}", cx.settings.participation),
                format!("the profile in force does not {side} energy in {service}"),
            ));
        }
        let price = cx
            .settings
            .prices
            .limit(Subject::Energy, side)
            .ok_or_else(|| {
                crate::Error::settings(
                    format!(
                        "prices.{}.energy",
                        if side == Side::Seller {
                            "sell_min"
                        } else {
                            "buy_max"
                        }
                    ),
                    "no price limit: the agent does not trade this",
                )
            })?;
        if self.placed.len() >= MAX_ORDERS_PER_AGENT.saturating_mul(96) {
            return Err(crate::Error::Full {
                what: "orders",
                max: MAX_ORDERS_PER_AGENT.saturating_mul(96),
            });
        }
        let id = cx.new_transaction_id();
        let currency = cx.settings.currency;
        let proposal = EnergyTransaction::new(TransactionSpec {
            id,
            service,
            subject: Subject::Energy,
            parties: Parties::PeerToOperator {
                cell: CellRef::new(cx.settings.cell.id.clone(), cx.settings.cell.cell_type),
                cell_side: side,
                operator,
            },
            terms: Terms::new(TermsSpec {
                window: DeliveryWindow::new(start, cx.settings.settlement_period_s, 1)?,
                profile: Profile::Energy(vec![Energy::from_wh(wh)]),
                price: EnergyPrice::new(price, currency),
                tolerance: ToleranceBand::default(),
                penalty: EnergyPrice::new(0, currency),
            })?,
        })?;
        let commitment = Commitment::of(
            &proposal,
            &cx.settings.cell,
            cx.settings.priority(&proposal.service),
            Strength::Tentative,
        )?;
        cx.book.commit(commitment)?;
        let request = TransactionRequest {
            proposal: proposal.clone(),
            from_agent: cx.settings.cell.agent.clone(),
            reply_by: start,
        };
        let mut m = AclMessage::new(Performative::Propose).to(market.clone());
        m.protocol = Some(MARKET_PROTOCOL.to_owned());
        m.conversation_id = Some(Expression::String(id.to_string().into_bytes()));
        energy_content(AnyMessage::TransactionRequest(request), &mut m);
        if let Err(e) = cx.send(m) {
            cx.release(&id, "the order could not be sent");
            return Err(e);
        }
        cx.log(
            "UC-01",
            "order-placed",
            Some(id),
            Some(&market.name),
            format!("{side} {wh} Wh at {price} per kWh for {start}"),
        );
        self.placed.insert(
            id.to_string(),
            Placed {
                request: id,
                side,
                start,
            },
        );
        Ok(id)
    }

    fn on_match(&mut self, cx: &mut Context<'_>, m: &AclMessage, placed: &Placed) {
        // The order's hold gives way to the match's own commitment.
        cx.release(&placed.request, "the order matched");
        let matched = match energy::read(m) {
            Ok(AnyMessage::EnergyTransaction(t)) => t,
            _ => {
                cx.log("UC-03", "match-unreadable", Some(placed.request), None, "");
                return;
            }
        };
        let id = matched.id;
        let counterparty = match &matched.parties {
            Parties::PeerToPeer { seller, buyer } => {
                let other = if placed.side == Side::Seller {
                    buyer
                } else {
                    seller
                };
                // The agent known for that cell, else the one the market names (the TE node checks the
                // contract's signatures against the cells' avatars whoever relays it).
                cx.peers
                    .of_cell(&other.cell)
                    .map(|p| p.agent.name.clone())
                    .or_else(|| {
                        m.user_params
                            .iter()
                            .find(|(n, _)| n == COUNTERPARTY_PARAM)
                            .and_then(|(_, v)| v.as_text())
                            .map(std::borrow::Cow::into_owned)
                    })
            }
            Parties::PeerToOperator { .. } => None,
        };
        let Some(counterparty) = counterparty else {
            cx.log(
                "UC-03",
                "match-unknown-counterparty",
                Some(id),
                None,
                "the matched cell's agent is not known",
            );
            return;
        };
        if cx
            .open(matched.clone(), &counterparty, placed.side, None)
            .is_err()
        {
            return;
        }
        let price = matched.terms.price.minor_units_per_kwh;
        let _ = cx.advance(&id, S::Answered, format!("matched at {price} per kWh"));
        let commitment = Commitment::of(
            &matched,
            &cx.settings.cell,
            cx.settings.priority(&matched.service),
            Strength::Tentative,
        );
        match commitment.and_then(|c| cx.book.commit(c)) {
            Ok(_) => {
                let _ = cx.advance(&id, S::Agreed, "cleared by the market");
            }
            Err(e) => {
                let _ = cx.advance(&id, S::Rejected, e.to_string());
                return;
            }
        }
        if placed.side == Side::Seller {
            // Sign the market's contract first and send it to the buyer.
            let unsigned = m
                .user_params
                .iter()
                .find(|(n, _)| n == CONTRACT_PARAM)
                .and_then(|(_, v)| match v {
                    Expression::String(b) => Signed::<Contract>::decode_exact(b).ok(),
                    _ => None,
                });
            let Some(mut contract) = unsigned else {
                cx.log(
                    "UC-04",
                    "contract-not-signed",
                    Some(id),
                    None,
                    "the market sent no contract",
                );
                return;
            };
            if contract.body().transaction != matched {
                cx.log(
                    "UC-04",
                    "contract-not-signed",
                    Some(id),
                    None,
                    "the contract is not the match",
                );
                return;
            }
            if let Err(e) = cx.sign_te(&mut contract) {
                cx.log(
                    "UC-04",
                    "contract-not-signed",
                    Some(id),
                    None,
                    e.to_string(),
                );
                return;
            }
            let mut inform =
                AclMessage::new(Performative::Inform).to(AgentIdentifier::new(counterparty));
            inform.protocol = Some(MARKET_PROTOCOL.to_owned());
            inform.conversation_id =
                Some(Expression::String(format!("contract-{id}").into_bytes()));
            energy_content(AnyMessage::EnergyTransaction(matched), &mut inform);
            inform.user_params.push((
                CONTRACT_PARAM.to_owned(),
                Expression::String(contract.to_bytes()),
            ));
            let _ = cx.send(inform);
        } else if let Some(k) = self.early.iter().position(|(t, _)| *t == id.to_string())
            && let Some((t, contract)) = self.early.remove(k)
        {
            on_contract(cx, &contract, &t);
        }
    }
}

/// The seller's signed contract `m` for transaction `rest` (as text): countersigned and sent to the TE node
/// if this agent bought that match from the message's sender. `false` when it knows no such purchase (yet).
fn on_contract(cx: &mut Context<'_>, m: &AclMessage, rest: &str) -> bool {
    let Some((id, seller)) = cx
        .transactions
        .iter()
        .find(|(id, t)| id.to_string() == rest && t.side == Side::Buyer)
        .map(|(id, t)| (*id, t.counterparty.clone()))
    else {
        return false;
    };
    if m.sender.as_ref().map(|s| s.name.as_str()) != Some(seller.as_str()) {
        return true;
    }
    match countersign(cx, m, &id, &seller) {
        Ok(()) => cx.log(
            "UC-04",
            "contract-submitted",
            Some(id),
            Some(&seller),
            "signed by both avatars, sent to the TE node",
        ),
        Err(reason) => cx.log(
            "UC-04",
            "contract-not-signed",
            Some(id),
            Some(&seller),
            reason,
        ),
    }
    true
}

impl Behaviour for MarketParticipant {
    fn name(&self) -> &str {
        MarketParticipant::NAME
    }

    fn wants(&self, m: &AclMessage) -> bool {
        if m.protocol.as_deref() != Some(MARKET_PROTOCOL) {
            return false;
        }
        let Some(c) = conversation_of(m) else {
            return false;
        };
        self.placed.contains_key(&c) || c.starts_with("contract-")
    }

    fn on_message(&mut self, cx: &mut Context<'_>, m: AclMessage) {
        let Some(c) = conversation_of(&m) else { return };
        let from_market = m.sender.as_ref() == self.market.as_ref();
        if let Some(rest) = c.strip_prefix("contract-") {
            // The seller's signed contract of a match this agent bought; kept until the match comes if it
            // came first.
            if !on_contract(cx, &m, rest) && m.sender.is_some() {
                if self.early.len() >= MAX_EARLY_CONTRACTS {
                    self.early.pop_front();
                }
                self.early.push_back((rest.to_owned(), m));
            }
            return;
        }
        if !from_market {
            return;
        }
        let Some(placed) = self.placed.get(&c).cloned() else {
            return;
        };
        match m.performative.performative() {
            Some(Performative::AcceptProposal) => {
                cx.log("UC-02", "order-booked", Some(placed.request), None, "");
            }
            Some(Performative::RejectProposal) => {
                cx.release(&placed.request, "the market refused the order");
                self.placed.remove(&c);
                let reason = m
                    .content
                    .as_deref()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default();
                cx.log(
                    "UC-02",
                    "order-rejected",
                    Some(placed.request),
                    None,
                    reason,
                );
            }
            Some(Performative::Failure) => {
                cx.release(&placed.request, "the market failed the order");
                self.placed.remove(&c);
                let why =
                    String::from_utf8_lossy(m.content.as_deref().unwrap_or_default()).into_owned();
                cx.log(
                    "UC-03",
                    "order-not-matched",
                    Some(placed.request),
                    None,
                    why,
                );
            }
            Some(Performative::Inform) => self.on_match(cx, &m, &placed),
            _ => {}
        }
    }

    fn poll_timeout(&self) -> Option<Timestamp> {
        self.placed.values().map(|p| p.start).min()
    }

    fn on_timeout(&mut self, cx: &mut Context<'_>) {
        let now = cx.now;
        let ended: Vec<String> = self
            .placed
            .iter()
            .filter(|(_, p)| p.start <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for key in ended {
            if let Some(p) = self.placed.remove(&key) {
                // An order never answered by its period's start holds nothing any more.
                cx.release(&p.request, "the period started without a match");
            }
        }
    }
}
