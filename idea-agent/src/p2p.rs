//! The built-in P2P behaviours (UC-01..UC-03 by direct bilateral negotiation): [`P2pBuyer`] calls for
//! offers from sellers with FIPA Contract Net (SC00029), one conversation per seller, and accepts the
//! cheapest offers within the owner's price limit until its need is covered; [`P2pSeller`] answers a call
//! with an offer at the owner's floor price for what its commitment book can still take (a counter-proposal
//! when that is less than asked), or refuses with the reason.
//!
//! Content is the `idea-energy` ontology in SL0: the call carries a `TransactionRequest` whose proposal names
//! both cells and the buyer's price limit; the offer a `TransactionAnswer` (accept, or counter with other
//! terms); the acceptance repeats the offer; the seller's `inform` carries the agreed `EnergyTransaction`.
//! The seller answers a service application's P2O call the same way (an operator's demand-response service
//! buying flexibility from the cell, say). Both sides reach `agreed` when the offer is accepted; the commitment is tentative until the TE node records
//! the contract (UC-04).

use crate::behaviour::{Behaviour, Context, TeSubmission, conversation_of};
use crate::commitment::{Commitment, Strength};
use fipa_acl::energy::{self, ContentForm};
use fipa_acl::protocol::{ContractNetInitiator, ContractNetParticipant, Event, Protocol};
use fipa_acl::{AclMessage, AgentIdentifier, Expression, Performative};
use idea_proto::wire::AnyMessage;
use idea_proto::{
    CellRef, Decision, DeliveryWindow, Duration, Energy, EnergyPrice, EnergyTransaction, Parties,
    Profile, ServiceId, Side, Subject, Terms, TermsSpec, Timestamp, ToleranceBand,
    TransactionAnswer, TransactionId, TransactionRequest, TransactionSpec, TransactionState as S,
};
use te_contract::Codec;
use te_contract::Signed;
use te_contract::contract::Contract;

/// The most negotiations one P2P behaviour keeps open.
pub const MAX_NEGOTIATIONS: usize = 4096;

fn is_contract_net(m: &AclMessage) -> bool {
    m.protocol
        .as_deref()
        .and_then(Protocol::from_name)
        .is_some_and(|p| matches!(p, Protocol::ContractNet | Protocol::IteratedContractNet))
}

pub(crate) fn energy_content(message: AnyMessage, m: &mut AclMessage) {
    energy::write(&message, ContentForm::Sl0, m);
}

/// What an owner asks the buyer to buy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuyOrder {
    /// The service it is bought under (the P2P market service, for instance).
    pub service: ServiceId,
    /// What is bought.
    pub subject: Subject,
    /// When.
    pub window: DeliveryWindow,
    /// How much, per interval.
    pub profile: Profile,
    /// The sellers asked, by ACL name; empty asks every known agent whose cell may sell the subject.
    pub sellers: Vec<String>,
    /// How long sellers have to answer.
    pub reply_within: Duration,
    /// The tolerance band offered.
    pub tolerance: ToleranceBand,
    /// The penalty per kWh outside the band, minor units.
    pub penalty_per_kwh: i64,
}

#[derive(Debug)]
struct Negotiation {
    initiator: ContractNetInitiator,
    transaction: TransactionId,
    seller: String,
    round: u64,
    /// The transaction the seller offered, once it did.
    offer: Option<EnergyTransaction>,
    answered: bool,
}

/// The P2P buyer (AG-10 built-in behaviour).
#[derive(Debug, Default)]
pub struct P2pBuyer {
    negotiations: Vec<Negotiation>,
    rounds: u64,
}

impl P2pBuyer {
    /// The behaviour's name.
    pub const NAME: &'static str = "p2p-buyer";

    /// A buyer with nothing open.
    pub fn new() -> P2pBuyer {
        P2pBuyer::default()
    }

    /// Calls for offers for `order` (UC-01): one Contract Net conversation per seller, each a transaction in
    /// `requested`. Refused when the profile in force does not buy the subject in that service, when the
    /// owner set no price limit for it, or when the need does not fit the cell's limits.
    pub fn buy(
        &mut self,
        cx: &mut Context<'_>,
        order: BuyOrder,
    ) -> crate::Result<Vec<TransactionId>> {
        if let Some(why) = cx.why_not_in(&order.service) {
            return Err(crate::Error::settings(
                format!("profiles.{}", cx.settings.participation),
                why,
            ));
        }
        let profile = cx.settings.profile();
        if !profile.trades(order.subject, Side::Buyer) {
            return Err(crate::Error::settings(
                format!("profiles.{}", cx.settings.participation),
                format!(
                    "the profile in force does not buy {} in {}",
                    order.subject, order.service
                ),
            ));
        }
        let limit = cx
            .settings
            .prices
            .limit(order.subject, Side::Buyer)
            .ok_or_else(|| {
                crate::Error::settings(
                    format!("prices.buy_max.{}", order.subject),
                    "no price limit: the agent does not buy this",
                )
            })?;
        let me_cell = CellRef::new(cx.settings.cell.id.clone(), cx.settings.cell.cell_type);
        let sellers: Vec<(crate::Peer, CellRef)> = cx
            .peers
            .iter()
            .filter(|p| {
                if order.sellers.is_empty() {
                    p.cell
                        .as_ref()
                        .is_some_and(|c| c.cell_type.may_take(order.subject, Side::Seller))
                } else {
                    order.sellers.contains(&p.agent.name)
                }
            })
            .filter_map(|p| {
                let cell = p.cell.clone().filter(|c| c.cell != me_cell.cell)?;
                Some((p.clone(), cell))
            })
            .collect();
        if self.negotiations.len().saturating_add(sellers.len()) > MAX_NEGOTIATIONS {
            return Err(crate::Error::Full {
                what: "negotiations",
                max: MAX_NEGOTIATIONS,
            });
        }
        let currency = cx.settings.currency;
        let terms = Terms::new(TermsSpec {
            window: order.window,
            profile: order.profile.clone(),
            price: EnergyPrice::new(limit, currency),
            tolerance: order.tolerance,
            penalty: EnergyPrice::new(order.penalty_per_kwh, currency),
        })?;
        let reply_by = cx.now.checked_add(order.reply_within)?;
        self.rounds = self.rounds.saturating_add(1);
        let mut opened = Vec::new();
        for (seller, seller_cell) in sellers {
            let id = cx.new_transaction_id();
            let proposal = EnergyTransaction::new(TransactionSpec {
                id,
                service: order.service.clone(),
                subject: order.subject,
                parties: Parties::PeerToPeer {
                    seller: seller_cell,
                    buyer: me_cell.clone(),
                },
                terms: terms.clone(),
            })?;
            if opened.is_empty() {
                // The need must fit the cell before anyone is asked.
                let trial = Commitment::of(
                    &proposal,
                    &cx.settings.cell,
                    cx.settings.priority(&order.service),
                    Strength::Tentative,
                )?;
                cx.book.would_commit(&trial)?;
            }
            let request = TransactionRequest {
                proposal: proposal.clone(),
                from_agent: cx.settings.cell.agent.clone(),
                reply_by,
            };
            let mut cfp = AclMessage::new(Performative::Cfp);
            energy_content(AnyMessage::TransactionRequest(request), &mut cfp);
            let conversation = cx.new_conversation_id();
            let mut initiator = ContractNetInitiator::new(
                cx.me.clone(),
                vec![seller.agent.clone()],
                cfp,
                conversation,
                reply_by,
                false,
                cx.now,
            )?;
            cx.open(proposal, &seller.agent.name, Side::Buyer, Some(reply_by))?;
            while let Some(m) = initiator.poll_transmit() {
                cx.send(m)?;
            }
            self.negotiations.push(Negotiation {
                initiator,
                transaction: id,
                seller: seller.agent.name.clone(),
                round: self.rounds,
                offer: None,
                answered: false,
            });
            opened.push(id);
        }
        if opened.is_empty() {
            cx.log(
                "UC-01",
                "no-sellers",
                None,
                None,
                format!("no known agent sells {}", order.subject),
            );
        }
        Ok(opened)
    }

    fn drain(&mut self, cx: &mut Context<'_>, index: usize) {
        let Some(n) = self.negotiations.get_mut(index) else {
            return;
        };
        while let Some(event) = n.initiator.poll_event() {
            match event {
                Event::Proposal(p) => {
                    n.answered = true;
                    let offer = match energy::read(&p) {
                        Ok(AnyMessage::TransactionAnswer(answer)) => cx
                            .transactions
                            .get(&n.transaction)
                            .and_then(|t| answer.apply_to(&t.transaction).ok().flatten()),
                        _ => None,
                    };
                    let detail = offer.as_ref().map_or_else(
                        || "an offer that could not be read".to_owned(),
                        |o| format!("offer at {} per kWh", o.terms.price.minor_units_per_kwh),
                    );
                    let _ = cx.advance(&n.transaction, S::Answered, detail);
                    if let Some(o) = &offer
                        && let Some(t) = cx.transactions.get_mut(&n.transaction)
                        && t.transaction.terms != o.terms
                    {
                        t.transaction = o.clone();
                        let _ = cx.advance(&n.transaction, S::Negotiating, "counter-proposal");
                    }
                    n.offer = offer;
                }
                Event::Refusal(r) => {
                    n.answered = true;
                    let reason = r
                        .content
                        .as_deref()
                        .map(|c| String::from_utf8_lossy(c).into_owned())
                        .unwrap_or_default();
                    let _ = cx.advance(&n.transaction, S::Rejected, reason);
                }
                Event::Result(Ok(inform)) => {
                    cx.log(
                        "UC-03",
                        "seller-confirmed",
                        Some(n.transaction),
                        Some(&n.seller),
                        "the seller confirmed the agreed terms",
                    );
                    if cx.te.is_some() {
                        match countersign(cx, &inform, &n.transaction, &n.seller) {
                            Ok(()) => cx.log(
                                "UC-04",
                                "contract-submitted",
                                Some(n.transaction),
                                Some(&n.seller),
                                "signed by both avatars, sent to the TE node",
                            ),
                            Err(reason) => cx.log(
                                "UC-04",
                                "contract-not-signed",
                                Some(n.transaction),
                                Some(&n.seller),
                                reason,
                            ),
                        }
                    }
                }
                Event::Result(Err(failure)) => {
                    let _ = failure;
                    let _ = cx.advance(&n.transaction, S::Failed, "the seller reported failure");
                    cx.release(&n.transaction, "the seller reported failure");
                }
                Event::Unexpected(m) => {
                    cx.log(
                        "AG-09",
                        "not-understood",
                        Some(n.transaction),
                        m.sender.as_ref().map(|s| s.name.as_str()),
                        format!("{} outside the conversation", m.performative),
                    );
                }
                _ => {}
            }
        }
        while let Some(m) = n.initiator.poll_transmit() {
            let _ = cx.send(m);
        }
    }

    /// Once every negotiation of a round has an answer (or its deadline passed), accepts the cheapest offers
    /// within the price limit that fit the remaining need and the commitment book; rejects the rest.
    fn decide(&mut self, cx: &mut Context<'_>, round: u64) {
        let members: Vec<usize> = (0..self.negotiations.len())
            .filter(|&i| self.negotiations.get(i).is_some_and(|n| n.round == round))
            .collect();
        let complete = members.iter().all(|&i| {
            self.negotiations
                .get(i)
                .is_some_and(|n| n.answered || n.initiator.poll_timeout().is_none())
        });
        if !complete {
            return;
        }
        let Some(need) = members
            .first()
            .and_then(|&i| self.negotiations.get(i))
            .and_then(|n| cx.transactions.get(&n.transaction))
            .map(|t| t.transaction.clone())
        else {
            return;
        };
        let limit = cx
            .settings
            .prices
            .limit(need.subject, Side::Buyer)
            .unwrap_or(0);
        let mut remaining: Vec<i64> = profile_amounts(&need.terms.profile);
        let mut by_price: Vec<usize> = members
            .iter()
            .copied()
            .filter(|&i| self.negotiations.get(i).is_some_and(|n| n.offer.is_some()))
            .collect();
        by_price.sort_by_key(|&i| {
            self.negotiations
                .get(i)
                .and_then(|n| n.offer.as_ref())
                .map_or(i64::MAX, |o| o.terms.price.minor_units_per_kwh)
        });
        for i in members {
            let Some(n) = self.negotiations.get_mut(i) else {
                continue;
            };
            let choice = by_price.contains(&i).then(|| n.offer.clone()).flatten();
            let verdict = match choice {
                Some(offer) => accept_if_fits(cx, &offer, limit, &mut remaining),
                None => Err("no offer".to_owned()),
            };
            let winners = match &verdict {
                Ok(offer) => {
                    if let Some(t) = cx.transactions.get_mut(&n.transaction) {
                        t.transaction = offer.clone();
                    }
                    let _ = cx.advance(
                        &n.transaction,
                        S::Agreed,
                        format!(
                            "accepted at {} per kWh",
                            offer.terms.price.minor_units_per_kwh
                        ),
                    );
                    n.initiator
                        .proposals()
                        .iter()
                        .filter_map(|p| p.sender.clone())
                        .collect::<Vec<AgentIdentifier>>()
                }
                Err(reason) => {
                    let state = cx
                        .transactions
                        .get(&n.transaction)
                        .map(|t| t.lifecycle.state());
                    if matches!(state, Some(S::Answered | S::Negotiating)) {
                        let _ = cx.advance(&n.transaction, S::Rejected, reason.clone());
                    }
                    Vec::new()
                }
            };
            let _ = n.initiator.accept(&winners, cx.now);
            n.answered = false;
            n.round = 0;
        }
        for i in 0..self.negotiations.len() {
            self.drain(cx, i);
        }
        self.negotiations
            .retain(|n| n.initiator.outcome().is_none() || n.round != 0);
    }
}

/// The amount per interval of a profile: Wh for energy, W for power.
fn profile_amounts(profile: &Profile) -> Vec<i64> {
    match profile {
        Profile::Energy(values) => values.iter().map(|e| e.wh()).collect(),
        Profile::Power(levels) => levels.iter().map(|l| l.active.w().abs()).collect(),
    }
}

fn accept_if_fits(
    cx: &mut Context<'_>,
    offer: &EnergyTransaction,
    limit: i64,
    remaining: &mut [i64],
) -> Result<EnergyTransaction, String> {
    if offer.terms.price.minor_units_per_kwh > limit {
        return Err(format!(
            "offer at {} per kWh is above the owner's limit {limit}",
            offer.terms.price.minor_units_per_kwh
        ));
    }
    let amounts = profile_amounts(&offer.terms.profile);
    if amounts.len() != remaining.len() || amounts.iter().zip(remaining.iter()).any(|(a, r)| a > r)
    {
        return Err("the need is covered by cheaper offers".to_owned());
    }
    let commitment = Commitment::of(
        offer,
        &cx.settings.cell,
        cx.settings.priority(&offer.service),
        Strength::Tentative,
    )
    .map_err(|e| e.to_string())?;
    let committed = cx.book.commit(commitment).map_err(|e| e.to_string())?;
    for displaced in committed.displaced {
        cx.log(
            "AG-04",
            "commitment-displaced",
            Some(displaced.transaction),
            None,
            format!(
                "a higher-priority commitment in {} took its room",
                offer.service
            ),
        );
    }
    for (r, a) in remaining.iter_mut().zip(amounts) {
        *r = r.saturating_sub(a);
    }
    Ok(offer.clone())
}

impl Behaviour for P2pBuyer {
    fn name(&self) -> &str {
        P2pBuyer::NAME
    }

    fn wants(&self, m: &AclMessage) -> bool {
        let Some(id) = m.conversation_id.as_ref() else {
            return false;
        };
        self.negotiations
            .iter()
            .any(|n| n.initiator.conversation_id() == id)
    }

    fn on_message(&mut self, cx: &mut Context<'_>, m: AclMessage) {
        let Some(i) = self
            .negotiations
            .iter()
            .position(|n| Some(n.initiator.conversation_id()) == m.conversation_id.as_ref())
        else {
            return;
        };
        let round = self.negotiations.get(i).map_or(0, |n| n.round);
        if let Some(n) = self.negotiations.get_mut(i) {
            n.initiator.handle(m, cx.now);
        }
        self.drain(cx, i);
        if round != 0 {
            self.decide(cx, round);
        }
        self.negotiations
            .retain(|n| n.initiator.outcome().is_none() || n.round != 0);
    }

    fn poll_timeout(&self) -> Option<Timestamp> {
        self.negotiations
            .iter()
            .filter_map(|n| n.initiator.poll_timeout())
            .min()
    }

    fn on_timeout(&mut self, cx: &mut Context<'_>) {
        let mut rounds = Vec::new();
        for i in 0..self.negotiations.len() {
            if let Some(n) = self.negotiations.get_mut(i)
                && n.initiator.poll_timeout().is_some_and(|t| t <= cx.now)
            {
                n.initiator.handle_timeout(cx.now);
                rounds.push(n.round);
            }
            self.drain(cx, i);
        }
        rounds.sort_unstable();
        rounds.dedup();
        for round in rounds.into_iter().filter(|r| *r != 0) {
            self.decide(cx, round);
        }
    }
}

#[derive(Debug)]
struct Call {
    participant: ContractNetParticipant,
    conversation: String,
    transaction: Option<TransactionId>,
    /// The contract signed by this seller, to travel with the `inform` (UC-04).
    contract: Option<Vec<u8>>,
    /// The offer waiting for the arbitrator's answer (ARCH-08 option 1).
    arbitration: Option<Arbitration>,
    /// Whether the arbitrator permitted the offer (it is given back if the buyer does not take it).
    permitted: bool,
}

/// An offer the arbitrator was asked about.
#[derive(Debug)]
struct Arbitration {
    offered: EnergyTransaction,
    /// How many times it was asked for this call (an adjusted offer is asked about once more).
    asked: u8,
}

/// The user-defined ACL parameter (`:X-idea-contract`) that carries a `te-contract` contract, signed by the
/// seller, in its canonical bytes, beside the `inform` of the agreed transaction.
pub const CONTRACT_PARAM: &str = "idea-contract";

/// The contract for `agreed` between this seller and the buyer `buyer`, signed by this agent.
fn seller_contract(
    cx: &Context<'_>,
    agreed: &EnergyTransaction,
    buyer: &str,
) -> crate::Result<Vec<u8>> {
    let te = cx
        .te
        .ok_or_else(|| crate::Error::settings("te", "the agent has no avatar in a TE registry"))?;
    let buyer_avatar = cx
        .peers
        .get(buyer)
        .and_then(|p| p.avatar)
        .ok_or_else(|| crate::Error::settings("peers", format!("{buyer} has no TE avatar")))?;
    let mut signed = Signed::new(
        te.deployment.clone(),
        Contract {
            transaction: agreed.clone(),
            seller: te.avatar,
            buyer: buyer_avatar,
            agreed_at: cx.now,
        },
    );
    cx.sign_te(&mut signed)?;
    Ok(signed.to_bytes())
}

/// The buyer's side of UC-04: the seller's signed contract must be for exactly the agreed transaction,
/// between the seller's avatar and this agent's; countersigned, it goes to the TE node.
/// The seller's signed contract an `inform` carries in [`CONTRACT_PARAM`].
pub(crate) fn contract_in(inform: &AclMessage) -> Result<Signed<Contract>, String> {
    let bytes = inform
        .user_params
        .iter()
        .find(|(name, _)| name == CONTRACT_PARAM)
        .and_then(|(_, v)| match v {
            Expression::String(b) => Some(b.clone()),
            _ => None,
        })
        .ok_or("the seller sent no contract")?;
    Signed::<Contract>::decode_exact(&bytes).map_err(|e| e.to_string())
}

pub(crate) fn countersign(
    cx: &mut Context<'_>,
    inform: &AclMessage,
    transaction: &TransactionId,
    seller: &str,
) -> Result<(), String> {
    let mut signed = contract_in(inform)?;
    let agreed = cx
        .transactions
        .get(transaction)
        .map(|t| t.transaction.clone())
        .ok_or("unknown transaction")?;
    let te = cx.te.ok_or("this agent has no TE avatar")?;
    let seller_avatar = cx.peers.get(seller).and_then(|p| p.avatar);
    let body = signed.body();
    if body.transaction != agreed {
        return Err("the contract is not the agreed transaction".into());
    }
    if body.buyer != te.avatar || Some(body.seller) != seller_avatar {
        return Err("the contract names other avatars".into());
    }
    if signed.deployment() != &te.deployment {
        return Err("the contract is for another deployment".into());
    }
    cx.sign_te(&mut signed).map_err(|e| e.to_string())?;
    cx.submit(TeSubmission::RecordContract(Box::new(signed)))
        .map_err(|e| e.to_string())
}

/// The P2P seller (AG-10 built-in behaviour).
#[derive(Debug, Default)]
pub struct P2pSeller {
    calls: Vec<Call>,
    /// The arbitrator of the cell's section, asked before each offer (ARCH-08 option 1).
    arbitrator: Option<AgentIdentifier>,
}

impl P2pSeller {
    /// The behaviour's name.
    pub const NAME: &'static str = "p2p-seller";

    /// A seller with no open calls.
    pub fn new() -> P2pSeller {
        P2pSeller::default()
    }

    /// Asks `arbitrator` (the arbitrator of the cell's section, a known peer) before each offer (ARCH-08
    /// option 1): the offer is made as the arbitrator permits it, counter-proposed at the share of it the
    /// section allows, or the call refused with the limit that binds; an offer the buyer does not take is
    /// given back. `None` stops asking.
    pub fn ask_arbitrator(&mut self, arbitrator: Option<AgentIdentifier>) {
        self.arbitrator = arbitrator;
    }

    /// The arbitrator asked before each offer.
    pub fn arbitrator(&self) -> Option<&AgentIdentifier> {
        self.arbitrator.as_ref()
    }

    /// Sends the offer `offered` for transaction `id` (an acceptance of the call's terms, or a
    /// counter-proposal when they differ) and moves the transaction to `answered`.
    fn send_offer(
        cx: &mut Context<'_>,
        participant: &mut ContractNetParticipant,
        id: TransactionId,
        offered: EnergyTransaction,
    ) {
        let asked = cx
            .transactions
            .get(&id)
            .map(|t| t.transaction.terms.clone());
        let decision = if asked.as_ref() == Some(&offered.terms) {
            Decision::Accept
        } else {
            Decision::Counter {
                terms: offered.terms.clone(),
            }
        };
        let detail = format!(
            "offer at {} per kWh{}",
            offered.terms.price.minor_units_per_kwh,
            if matches!(decision, Decision::Counter { .. }) {
                " (counter-proposal)"
            } else {
                ""
            }
        );
        match TransactionAnswer::new(id, cx.settings.cell.agent.clone(), decision) {
            Ok(answer) => {
                let mut content = AclMessage::new(Performative::Propose);
                energy_content(AnyMessage::TransactionAnswer(answer), &mut content);
                if participant
                    .propose(content.content.unwrap_or_default(), cx.now)
                    .is_ok()
                {
                    let counter = asked.as_ref() != Some(&offered.terms);
                    if let Some(t) = cx.transactions.get_mut(&id) {
                        t.transaction = offered;
                    }
                    let _ = cx.advance(&id, S::Answered, detail);
                    if counter {
                        let _ = cx.advance(&id, S::Negotiating, "counter-proposal");
                    }
                } else {
                    cx.release(&id, "the call's deadline passed");
                    let _ = cx.advance(&id, S::Expired, "the call's deadline passed");
                }
            }
            Err(e) => {
                cx.release(&id, "the offer could not be sent");
                let _ = participant.refuse(e.to_string());
            }
        }
    }

    /// Refuses the call of transaction `id` with `reason` (the commitment released).
    fn refuse_call(
        cx: &mut Context<'_>,
        participant: &mut ContractNetParticipant,
        id: TransactionId,
        reason: &str,
    ) {
        cx.release(&id, reason);
        let _ = cx.advance(&id, S::Rejected, reason.to_owned());
        let _ = participant.refuse(format!("(({reason:?}))"));
    }

    /// The arbitrator's answer about the offer of call `i`.
    fn on_arbitration(&mut self, cx: &mut Context<'_>, i: usize, m: &AclMessage) {
        let arbitrator = self.arbitrator.clone();
        let Some(call) = self.calls.get_mut(i) else {
            return;
        };
        let (Some(id), Some(arbitration)) = (call.transaction, call.arbitration.take()) else {
            return;
        };
        let from = arbitrator.as_ref().map(|a| a.name.as_str());
        let answer = crate::arbitrator::protocol::read_answer(m, &id);
        let refusal = match answer {
            Some(crate::arbitrator::protocol::Answer::Permit) => {
                cx.log(
                    "ARCH-08",
                    "arbitration-permitted",
                    Some(id),
                    from,
                    "the section carries the offer",
                );
                call.permitted = true;
                Self::send_offer(cx, &mut call.participant, id, arbitration.offered);
                None
            }
            Some(crate::arbitrator::protocol::Answer::Adjust { share, reason })
                if arbitration.asked < 2 =>
            {
                let adjusted = crate::arbitrator::scaled(&arbitration.offered, share);
                let priority = cx.settings.priority(&arbitration.offered.service);
                let recommitted = adjusted.and_then(|t| {
                    cx.book.release(&id);
                    let c = Commitment::of(&t, &cx.settings.cell, priority, Strength::Tentative)
                        .ok()?;
                    cx.book.commit(c).ok().map(|_| t)
                });
                match (recommitted, arbitrator.as_ref()) {
                    (Some(t), Some(a))
                        if cx.send(crate::arbitrator::protocol::ask(a, &t)).is_ok() =>
                    {
                        cx.log(
                            "ARCH-08",
                            "arbitration-adjusted",
                            Some(id),
                            from,
                            format!(
                                "the section carries {:.0} % of the offer: {reason}",
                                share * 100.0
                            ),
                        );
                        call.arbitration = Some(Arbitration {
                            offered: t,
                            asked: arbitration.asked.saturating_add(1),
                        });
                        None
                    }
                    _ => Some(format!("the section cannot carry the offer: {reason}")),
                }
            }
            Some(
                crate::arbitrator::protocol::Answer::Adjust { reason, .. }
                | crate::arbitrator::protocol::Answer::Refuse(reason),
            ) => Some(format!("the section cannot carry the offer: {reason}")),
            None => Some(format!(
                "the arbitrator answered {}: {}",
                m.performative,
                String::from_utf8_lossy(m.content.as_deref().unwrap_or_default())
            )),
        };
        if let Some(reason) = refusal {
            cx.log(
                "ARCH-08",
                "arbitration-refused",
                Some(id),
                from,
                reason.clone(),
            );
            Self::refuse_call(cx, &mut call.participant, id, &reason);
        }
        self.drain(cx, i);
    }

    /// Gives the arbitrator back the permission of an offer the buyer did not take.
    fn give_back(cx: &mut Context<'_>, arbitrator: Option<&AgentIdentifier>, call: &mut Call) {
        if let (true, Some(a), Some(id)) = (call.permitted, arbitrator, call.transaction) {
            call.permitted = false;
            let _ = cx.send(crate::arbitrator::protocol::release(a, &id));
        }
    }

    /// The offer for `request`, or why there is none.
    fn offer(
        cx: &mut Context<'_>,
        request: &TransactionRequest,
        buyer: &crate::Peer,
    ) -> Result<(EnergyTransaction, Decision), String> {
        let proposal = &request.proposal;
        match &proposal.parties {
            Parties::PeerToPeer { seller, buyer: b }
                if seller.cell == cx.settings.cell.id
                    && buyer.cell.as_ref().is_some_and(|c| c.cell == b.cell) => {}
            // P2O: a service application (a peer without a cell, such as the operator's demand-response
            // service) buys from this cell.
            Parties::PeerToOperator {
                cell,
                cell_side: Side::Seller,
                ..
            } if cell.cell == cx.settings.cell.id && buyer.cell.is_none() => {}
            _ => {
                return Err(
                    "the proposal does not name this cell as seller and the sender (its cell, or its \
                     operator) as buyer"
                        .into(),
                );
            }
        }
        if let Some(why) = cx.why_not_in(&proposal.service) {
            return Err(format!("not taking part in {}: {why}", proposal.service));
        }
        let profile = cx.settings.profile();
        if !profile.trades(proposal.subject, Side::Seller) {
            return Err(format!("not selling {}", proposal.subject));
        }
        let floor = cx
            .settings
            .prices
            .limit(proposal.subject, Side::Seller)
            .ok_or_else(|| format!("no price set for {}", proposal.subject))?;
        if floor > proposal.terms.price.minor_units_per_kwh {
            return Err(format!(
                "{} per kWh is below the owner's floor",
                proposal.terms.price.minor_units_per_kwh
            ));
        }
        let priority = cx.settings.priority(&proposal.service);
        let mut spec = proposal.terms.clone().into_spec();
        spec.price = EnergyPrice::new(floor, spec.price.currency);
        let at_floor = proposal
            .with_terms(Terms::new(spec.clone()).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
        let full = Commitment::of(&at_floor, &cx.settings.cell, priority, Strength::Tentative)
            .map_err(|e| e.to_string())?;
        let offered = match cx.book.commit(full) {
            Ok(_) => at_floor,
            Err(first) => {
                // Offer what still fits: each interval's amount capped by the export headroom.
                let window = spec.window;
                let period_s = i64::from(window.period_s());
                let room_w = |i: usize| {
                    u32::try_from(i)
                        .ok()
                        .and_then(|i| window.interval_start(i).ok())
                        .map_or(0, |s| cx.book.headroom(s, Side::Seller))
                };
                spec.profile = match &spec.profile {
                    Profile::Energy(values) => {
                        let capped: Vec<Energy> = values
                            .iter()
                            .enumerate()
                            .map(|(i, e)| {
                                let room_wh = room_w(i)
                                    .saturating_mul(period_s)
                                    .checked_div(3600)
                                    .unwrap_or(0);
                                Energy::from_wh(e.wh().min(room_wh).max(0))
                            })
                            .collect();
                        if capped.iter().all(|e| e.wh() == 0) {
                            return Err(first.to_string());
                        }
                        Profile::Energy(capped)
                    }
                    Profile::Power(levels) => {
                        // A power profile (flexibility): each level's active power capped the same way.
                        let capped: Vec<idea_proto::PowerLevel> = levels
                            .iter()
                            .enumerate()
                            .map(|(i, l)| {
                                let w = l.active.w().min(room_w(i)).max(0);
                                idea_proto::PowerLevel::new(
                                    idea_proto::ActivePower::from_w(w),
                                    l.reactive,
                                )
                            })
                            .collect();
                        if capped.iter().all(|l| l.active.w() == 0) {
                            return Err(first.to_string());
                        }
                        Profile::Power(capped)
                    }
                };
                let reduced = proposal
                    .with_terms(Terms::new(spec).map_err(|e| e.to_string())?)
                    .map_err(|e| e.to_string())?;
                let c = Commitment::of(&reduced, &cx.settings.cell, priority, Strength::Tentative)
                    .map_err(|e| e.to_string())?;
                cx.book.commit(c).map_err(|_| first.to_string())?;
                reduced
            }
        };
        let decision = if offered.terms == proposal.terms {
            Decision::Accept
        } else {
            Decision::Counter {
                terms: offered.terms.clone(),
            }
        };
        Ok((offered, decision))
    }

    fn on_cfp(&mut self, cx: &mut Context<'_>, m: AclMessage) {
        let sender = m
            .sender
            .as_ref()
            .map(|s| s.name.clone())
            .unwrap_or_default();
        let conversation = conversation_of(&m).unwrap_or_default();
        let mut participant = match ContractNetParticipant::new(cx.me.clone(), m.clone(), cx.now) {
            Ok(p) => p,
            Err(e) => {
                let _ = cx.send(fipa_acl::protocol::not_understood(
                    &m,
                    cx.me,
                    &e.to_string(),
                ));
                return;
            }
        };
        let request = match energy::read(&m) {
            Ok(AnyMessage::TransactionRequest(r)) => r,
            Ok(other) => {
                let reason = format!("expected a transaction-request, got {}", other.type_name());
                cx.log(
                    "AG-09",
                    "not-understood",
                    None,
                    Some(&sender),
                    reason.clone(),
                );
                let _ = cx.send(fipa_acl::protocol::not_understood(&m, cx.me, &reason));
                return;
            }
            Err(e) => {
                cx.log(
                    "AG-09",
                    "not-understood",
                    None,
                    Some(&sender),
                    e.to_string(),
                );
                let _ = cx.send(fipa_acl::protocol::not_understood(
                    &m,
                    cx.me,
                    &e.to_string(),
                ));
                return;
            }
        };
        let id = request.proposal.id;
        let Some(buyer) = cx.peers.get(&sender).cloned() else {
            return;
        };
        let mut arbitration = None;
        if self.calls.len() >= MAX_NEGOTIATIONS || cx.transactions.get(&id).is_some() {
            let _ = participant.refuse("((busy))");
        } else if let Err(e) = cx.open(
            request.proposal.clone(),
            &sender,
            Side::Seller,
            Some(request.reply_by),
        ) {
            let _ = participant.refuse(format!("{e}"));
        } else {
            match Self::offer(cx, &request, &buyer) {
                Ok((offered, _)) => match &self.arbitrator {
                    Some(a) => {
                        if cx
                            .send(crate::arbitrator::protocol::ask(a, &offered))
                            .is_ok()
                        {
                            cx.log(
                                "ARCH-08",
                                "arbitration-asked",
                                Some(id),
                                Some(&a.name),
                                "may the section carry the offer?",
                            );
                            arbitration = Some(Arbitration { offered, asked: 1 });
                        } else {
                            Self::refuse_call(cx, &mut participant, id, "the outbox is full");
                        }
                    }
                    None => Self::send_offer(cx, &mut participant, id, offered),
                },
                Err(reason) => {
                    cx.log(
                        "AG-04",
                        "commitment-refused",
                        Some(id),
                        Some(&sender),
                        reason.clone(),
                    );
                    let _ = cx.advance(&id, S::Rejected, reason.clone());
                    let _ = participant.refuse(format!("(({reason:?}))"));
                }
            }
        }
        self.calls.push(Call {
            participant,
            conversation,
            transaction: Some(id),
            contract: None,
            arbitration,
            permitted: false,
        });
        self.drain_last(cx);
    }

    fn drain_last(&mut self, cx: &mut Context<'_>) {
        if let Some(i) = self.calls.len().checked_sub(1) {
            self.drain(cx, i);
        }
    }

    fn drain(&mut self, cx: &mut Context<'_>, i: usize) {
        let arbitrator = self.arbitrator.clone();
        let Some(call) = self.calls.get_mut(i) else {
            return;
        };
        while let Some(event) = call.participant.poll_event() {
            let Some(id) = call.transaction else { continue };
            match event {
                Event::Accepted(_) => {
                    let _ = cx.advance(&id, S::Agreed, "the buyer accepted the offer");
                    let agreed = cx.transactions.get(&id).map(|t| t.transaction.clone());
                    let buyer = cx.transactions.get(&id).map(|t| t.counterparty.clone());
                    if let (Some(agreed), Some(buyer)) = (&agreed, buyer)
                        && cx.te.is_some()
                    {
                        match seller_contract(cx, agreed, &buyer) {
                            Ok(bytes) => call.contract = Some(bytes),
                            Err(e) => cx.log(
                                "UC-04",
                                "contract-not-signed",
                                Some(id),
                                Some(&buyer),
                                e.to_string(),
                            ),
                        }
                    }
                    if let Some(agreed) = agreed {
                        let mut m = AclMessage::new(Performative::Inform);
                        energy_content(AnyMessage::EnergyTransaction(agreed), &mut m);
                        let _ = call.participant.inform(m.content.unwrap_or_default());
                    }
                }
                Event::Rejected(_) => {
                    let _ = cx.advance(&id, S::Rejected, "the buyer preferred another offer");
                    cx.release(&id, "the buyer preferred another offer");
                    Self::give_back(cx, arbitrator.as_ref(), call);
                }
                Event::Cancelled(_) => {
                    let state = cx.transactions.get(&id).map(|t| t.lifecycle.state());
                    if matches!(state, Some(S::Answered | S::Negotiating)) {
                        let _ = cx.advance(&id, S::Rejected, "the buyer cancelled");
                    }
                    cx.release(&id, "the buyer cancelled");
                    Self::give_back(cx, arbitrator.as_ref(), call);
                }
                Event::Unexpected(m) => cx.log(
                    "AG-09",
                    "not-understood",
                    Some(id),
                    m.sender.as_ref().map(|s| s.name.as_str()),
                    format!("{} outside the conversation", m.performative),
                ),
                _ => {}
            }
        }
        while let Some(mut m) = call.participant.poll_transmit() {
            if m.performative == Performative::Inform
                && let Some(bytes) = call.contract.take()
            {
                m.user_params
                    .push((CONTRACT_PARAM.to_owned(), Expression::String(bytes)));
            }
            let _ = cx.send(m);
        }
    }
}

impl Behaviour for P2pSeller {
    fn name(&self) -> &str {
        P2pSeller::NAME
    }

    fn wants(&self, m: &AclMessage) -> bool {
        if m.performative == Performative::Cfp {
            return is_contract_net(m);
        }
        if self.arbitration_call(m).is_some() || self.is_release_answer(m) {
            return true;
        }
        conversation_of(m).is_some_and(|c| self.calls.iter().any(|call| call.conversation == c))
    }

    fn on_message(&mut self, cx: &mut Context<'_>, m: AclMessage) {
        if m.performative == Performative::Cfp {
            self.on_cfp(cx, m);
        } else if let Some(i) = self.arbitration_call(&m) {
            self.on_arbitration(cx, i, &m);
        } else if self.is_release_answer(&m) {
            // The arbitrator acknowledged a permission given back: nothing to do.
        } else if let Some(c) = conversation_of(&m)
            && let Some(i) = self.calls.iter().position(|call| call.conversation == c)
        {
            if let Some(call) = self.calls.get_mut(i) {
                call.participant.handle(m, cx.now);
            }
            self.drain(cx, i);
        }
        self.calls.retain(|c| !c.participant.is_finished());
    }

    fn poll_timeout(&self) -> Option<Timestamp> {
        self.calls
            .iter()
            .filter_map(|c| c.participant.poll_timeout())
            .min()
    }

    fn on_timeout(&mut self, cx: &mut Context<'_>) {
        let arbitrator = self.arbitrator.clone();
        for i in 0..self.calls.len() {
            if let Some(call) = self.calls.get_mut(i) {
                call.participant.handle_timeout(cx.now);
                // The call's deadline passed while the arbitrator had not answered: no offer was made.
                if call.participant.is_finished()
                    && let (Some(_), Some(id)) = (call.arbitration.take(), call.transaction)
                {
                    cx.release(
                        &id,
                        "the arbitrator did not answer before the call's deadline",
                    );
                    let _ = cx.advance(
                        &id,
                        S::Expired,
                        "the arbitrator did not answer before the call's deadline",
                    );
                    call.permitted = true;
                    Self::give_back(cx, arbitrator.as_ref(), call);
                }
            }
            self.drain(cx, i);
        }
        self.calls.retain(|c| !c.participant.is_finished());
    }
}

impl P2pSeller {
    /// Whether `m` is the arbitrator's acknowledgement of a permission given back.
    fn is_release_answer(&self, m: &AclMessage) -> bool {
        self.arbitrator.as_ref().is_some_and(|a| {
            m.sender.as_ref().map(|s| &s.name) == Some(&a.name)
                && conversation_of(m).is_some_and(|c| c.starts_with("release-"))
        })
    }

    /// The call an answer of the arbitrator is about.
    fn arbitration_call(&self, m: &AclMessage) -> Option<usize> {
        let arbitrator = self.arbitrator.as_ref()?;
        if m.sender.as_ref().map(|s| &s.name) != Some(&arbitrator.name) {
            return None;
        }
        let c = conversation_of(m)?;
        self.calls.iter().position(|call| {
            call.arbitration.is_some()
                && call
                    .transaction
                    .is_some_and(|id| crate::arbitrator::protocol::conversation(&id) == c)
        })
    }
}
