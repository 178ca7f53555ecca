//! The sans-IO agent core, in the shape of quinn-proto: it takes ACL messages, device results, measurements,
//! TE events and `now`; it gives signed ACL messages and setpoints ([`Agent::poll_transmit`]), events
//! ([`Agent::poll_event`]) and its next deadline ([`Agent::poll_timeout`]). No socket, clock or random
//! source inside: a runtime (or a test) moves bytes and time.

use crate::behaviour::{
    Behaviour, Behaviours, Context, IdSource, Outbox, Output, Peer, Peers, TeIdentity,
};
use crate::commitment::{CommitmentBook, Strength};
use crate::error::{Error, Result};
use crate::event::{Event, EventQueue};
use crate::settings::OwnerSettings;
use crate::signing;
use crate::transactions::{self, Transactions};
use fipa_acl::protocol::not_understood;
use fipa_acl::{AclMessage, AgentIdentifier, Performative};
use idea_proto::{
    CommandKind, Duration, MeasurementReport, PowerLevel, ReactivePower, SetpointCommand,
    SetpointCommandFields, SigningKey, Timestamp, TransactionId, TransactionState as S,
};

/// How long after its window a delivery may wait for its last measurement before it fails (UC-08).
pub const MEASUREMENT_GRACE: Duration = Duration::from_mins(30);

/// What an agent is made of.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// Its ACL identifier.
    pub me: AgentIdentifier,
    /// The key it signs with (SEC-01; it never leaves the agent).
    pub key: SigningKey,
    /// The owner's settings, with the cell.
    pub settings: OwnerSettings,
    /// Seed of the agent's transaction and conversation ids (drawn by the caller: no RNG inside).
    pub id_seed: [u8; 16],
    /// Its avatar in the TE registry; without one it negotiates but cannot sign contracts for recording.
    pub te: Option<TeIdentity>,
}

/// The agent of one power cell.
pub struct Agent {
    me: AgentIdentifier,
    key: SigningKey,
    settings: OwnerSettings,
    book: CommitmentBook,
    peers: Peers,
    services: crate::membership::Services,
    subscriptions: crate::subscription::Subscriptions,
    transactions: Transactions,
    behaviours: Behaviours,
    outbox: Outbox,
    events: EventQueue,
    ids: IdSource,
    /// The interval start each executing transaction was last commanded for.
    commanded: std::collections::BTreeMap<TransactionId, Timestamp>,
    te: Option<TeIdentity>,
    /// A key announced to the directory and not confirmed yet (AUX-06).
    next_key: Option<SigningKey>,
    /// What the TE node settled, per transaction (UC-10).
    settlements: std::collections::BTreeMap<TransactionId, Settlement>,
    /// Messages from agents not known yet, held while the directory is asked who they are (with
    /// [`crate::PlugAndPlay::following`]), each with the time it is refused if no answer came.
    parked: std::collections::VecDeque<(Timestamp, AclMessage)>,
}

/// The most messages an agent holds while it looks their senders up in the directory.
pub const MAX_PARKED: usize = 1024;
/// How long a message from an agent being looked up waits for the directory's answer before it is refused
/// as from an unknown agent.
pub const LOOKUP_TIMEOUT: idea_proto::Duration = idea_proto::Duration::from_secs(30);

/// What the TE node settled of one transaction so far, from this agent's side: the intervals it verified and
/// what they come to, and what clearing runs have paid of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Settlement {
    /// Intervals verified and settled.
    pub intervals: u32,
    /// Energy the meter verified, Wh.
    pub delivered_wh: i64,
    /// Money in (positive: the seller's receipts) or out (negative: the buyer's payments), minor units.
    pub amount_minor: i64,
    /// The penalties inside the amounts, minor units.
    pub penalty_minor: i64,
    /// Intervals a clearing run paid (TE-08).
    pub paid_intervals: u32,
    /// The part of `amount_minor` clearing runs paid, minor units, same sign.
    pub paid_minor: i64,
    /// Whether every interval of the contract is paid.
    pub paid_in_full: bool,
}

/// The most settlements an agent keeps (the oldest transactions' are dropped first).
pub const MAX_SETTLEMENTS: usize = 1 << 16;

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("me", &self.me.name)
            .field("cell", &self.settings.cell.id)
            .field("behaviours", &self.behaviours)
            .field("transactions", &self.transactions.len())
            .finish_non_exhaustive()
    }
}

macro_rules! context {
    ($self:ident, $now:expr) => {
        Context {
            now: $now,
            me: &$self.me,
            settings: &$self.settings,
            book: &mut $self.book,
            peers: &mut $self.peers,
            services: &mut $self.services,
            transactions: &mut $self.transactions,
            outbox: &mut $self.outbox,
            events: &mut $self.events,
            ids: &mut $self.ids,
            key: &$self.key,
            te: $self.te.as_ref(),
            subscriptions: &$self.subscriptions,
        }
    };
}

impl Agent {
    /// An agent with no behaviours and no peers.
    pub fn new(config: AgentConfig) -> Agent {
        Agent {
            book: CommitmentBook::new(config.settings.cell.clone()),
            me: config.me,
            key: config.key,
            settings: config.settings,
            peers: Peers::default(),
            services: crate::membership::Services::default(),
            subscriptions: crate::subscription::Subscriptions::default(),
            transactions: Transactions::default(),
            behaviours: Behaviours::default(),
            outbox: Outbox::default(),
            events: EventQueue::default(),
            ids: IdSource::new(config.id_seed),
            commanded: std::collections::BTreeMap::new(),
            te: config.te,
            next_key: None,
            settlements: std::collections::BTreeMap::new(),
            parked: std::collections::VecDeque::new(),
        }
    }

    /// Its ACL identifier.
    pub fn me(&self) -> &AgentIdentifier {
        &self.me
    }

    /// The owner's settings.
    pub fn settings(&self) -> &OwnerSettings {
        &self.settings
    }

    /// The commitment book.
    pub fn book(&self) -> &CommitmentBook {
        &self.book
    }

    /// The transactions.
    pub fn transactions(&self) -> &Transactions {
        &self.transactions
    }

    /// The agent's TE identity.
    pub fn te_identity(&self) -> Option<&TeIdentity> {
        self.te.as_ref()
    }

    /// The known agents.
    pub fn peers(&self) -> &Peers {
        &self.peers
    }

    /// What the TE node settled, per transaction.
    pub fn settlements(&self) -> &std::collections::BTreeMap<TransactionId, Settlement> {
        &self.settlements
    }

    /// The settlement record of transaction `id` (made on first use, the oldest dropped beyond
    /// [`MAX_SETTLEMENTS`]) and the sign of money from this agent's side (+1 the seller's receipts, -1 the
    /// buyer's payments); `None` for a transaction the agent does not know.
    fn settlement_of(&mut self, id: &TransactionId) -> Option<(&mut Settlement, i64)> {
        let side = self.transactions.get(id).map(|t| t.side)?;
        if self.settlements.len() >= MAX_SETTLEMENTS && !self.settlements.contains_key(id) {
            self.settlements.pop_first();
        }
        let sign = if side == idea_proto::Side::Seller {
            1
        } else {
            -1
        };
        Some((self.settlements.entry(*id).or_default(), sign))
    }

    fn record_settlement(
        &mut self,
        id: &TransactionId,
        delivered_wh: i64,
        amount: i64,
        penalty: i64,
    ) {
        let Some((s, sign)) = self.settlement_of(id) else {
            return;
        };
        s.intervals = s.intervals.saturating_add(1);
        s.delivered_wh = s.delivered_wh.saturating_add(delivered_wh);
        s.amount_minor = s.amount_minor.saturating_add(amount.saturating_mul(sign));
        s.penalty_minor = s.penalty_minor.saturating_add(penalty);
    }

    /// Intervals of transaction `id` a clearing run paid; returns whether the contract is now paid in full.
    fn record_payment(
        &mut self,
        id: &TransactionId,
        paid: &crate::te_node::ClearedInterval,
    ) -> bool {
        let Some((s, sign)) = self.settlement_of(id) else {
            return false;
        };
        s.paid_intervals = s.paid_intervals.saturating_add(1);
        s.paid_minor = s
            .paid_minor
            .saturating_add(paid.amount_minor.saturating_mul(sign));
        s.paid_in_full |= paid.complete;
        s.paid_in_full
    }

    /// The services other agents offer, as the directory described them (plug & play).
    pub fn services(&self) -> &crate::membership::Services {
        &self.services
    }

    /// Adds or replaces a known agent.
    pub fn add_peer(&mut self, peer: Peer) -> Result<()> {
        self.peers.insert(peer)
    }

    /// Adds a behaviour (AG-10).
    pub fn add_behaviour(&mut self, behaviour: Box<dyn Behaviour>) -> Result<()> {
        self.behaviours.add(behaviour)
    }

    /// The registered behaviours' names.
    pub fn behaviour_names(&self) -> Vec<&str> {
        self.behaviours.names()
    }

    /// Runs `f` on the behaviour of type `B` with the agent's context at `now` — how an owner's request
    /// (buy, sell, subscribe) reaches a behaviour. `None` when no such behaviour is registered.
    pub fn with_behaviour<B: Behaviour, R>(
        &mut self,
        now: Timestamp,
        f: impl FnOnce(&mut B, &mut Context<'_>) -> R,
    ) -> Option<R> {
        let behaviour = self.behaviours.get_mut::<B>()?;
        let mut cx = context!(self, now);
        let r = f(behaviour, &mut cx);
        self.close_subscriptions(now);
        Some(r)
    }

    /// AUX-03: the owner chooses another participation profile (one defined in the settings). Commitments
    /// already made stay; new offers and orders follow the new profile.
    pub fn set_participation(&mut self, profile: &str, now: Timestamp) -> Result<()> {
        if !self.settings.profiles.contains_key(profile) {
            return Err(Error::settings(
                "participation",
                format!("no profile {profile:?} in [profiles]"),
            ));
        }
        let before = std::mem::replace(&mut self.settings.participation, profile.to_owned());
        self.log(
            now,
            "AUX-03",
            "participation-changed",
            None,
            None,
            format!("{before} → {profile}"),
        );
        Ok(())
    }

    /// AUX-05: the cell's installations changed (units and limits, re-validated against its type). Tentative
    /// commitments that no longer fit are released, the lowest priority first; binding ones that pass a new
    /// limit are kept (they are contracts) and logged, so the owner or the operator can act. Returns the
    /// transactions released.
    pub fn change_installations(
        &mut self,
        units: Vec<idea_proto::ElectricalUnit>,
        limits: idea_proto::CellLimits,
        now: Timestamp,
    ) -> Result<Vec<TransactionId>> {
        let cell = self.settings.cell.with_installations(units, limits)?;
        self.settings.cell = cell.clone();
        self.book.set_cell(cell);
        self.log(
            now,
            "AUX-05",
            "installations-changed",
            None,
            None,
            String::new(),
        );
        let mut released = Vec::new();
        loop {
            if self.book.violations().is_empty() {
                break;
            }
            let Some(victim) = self
                .book
                .commitments()
                .iter()
                .filter(|c| c.strength == Strength::Tentative)
                .max_by_key(|c| c.priority)
                .map(|c| c.transaction)
            else {
                break;
            };
            self.release(
                &victim,
                now,
                "no longer fits the cell's installations (AUX-05)",
            );
            released.push(victim);
        }
        for e in self.book.violations() {
            self.log(
                now,
                "AUX-05",
                "limit-passed",
                None,
                None,
                format!("binding commitments after the change: {e}"),
            );
        }
        Ok(released)
    }

    /// The energy now in the cell's storage, as measured (AG-04 checks storage against it).
    pub fn handle_stored_energy(&mut self, wh: i64, now: Timestamp) {
        self.book.set_stored_energy(wh);
        for e in self.book.violations() {
            self.log(
                now,
                "AG-04",
                "limit-passed",
                None,
                None,
                format!("after a storage measurement of {wh} Wh: {e}"),
            );
        }
    }

    /// The agent's forecast of its own stochastic supply in an interval (W), for AG-04's storage check.
    pub fn handle_supply_forecast(&mut self, interval: Timestamp, w: i64) {
        self.book.set_supply_forecast(interval, w);
    }

    /// One incoming ACL message. From an agent this one does not know it is refused; unsigned or with a
    /// signature that does not verify it gets `not-understood`; otherwise the first behaviour that wants it
    /// handles it, and a message no behaviour wants gets `not-understood`. Nothing is answered to a
    /// `not-understood`, `refuse` or `failure` (two agents cannot loop).
    ///
    /// With [`crate::PlugAndPlay::following`], a message from an agent not known yet is held while the
    /// directory is asked for it (AG-09 still holds: what the directory does not know, or does not answer
    /// for within [`LOOKUP_TIMEOUT`], is refused), and handled in order once its sender is known.
    pub fn handle_acl(&mut self, m: AclMessage, now: Timestamp) {
        self.handle_checked(m, None, now);
        self.replay_parked(now);
    }

    /// Many messages in the order they arrived (a runtime's inbox drained at once), their signatures
    /// checked as one batch first (`signing::verify_all`); the same outcome as [`Agent::handle_acl`] on each
    /// in turn — a message after one that changed the agent's peers is checked again on its own.
    pub fn handle_acl_batch(&mut self, messages: Vec<AclMessage>, now: Timestamp) {
        if messages.len() < 2 {
            for m in messages {
                self.handle_acl(m, now);
            }
            return;
        }
        for (m, checked) in signing::verify_inbox(messages, &self.peers) {
            let verdict = checked.still_valid(&self.peers);
            self.handle_checked(m, verdict, now);
        }
        self.replay_parked(now);
    }

    /// Holds `m` from `sender`, not known yet, while the directory is asked for it; gives `m` back when it
    /// cannot be held (no lookups by this agent, too many held, the directory not reachable).
    fn park(&mut self, sender: &str, m: AclMessage, now: Timestamp) -> Option<AclMessage> {
        if self.parked.len() >= MAX_PARKED {
            return Some(m);
        }
        // Behind a message of the same sender already held: in order, after it.
        let behind = self
            .parked
            .iter()
            .any(|(_, p)| p.sender.as_ref().is_some_and(|s| s.name == sender));
        let asked = behind
            || self
                .with_behaviour::<crate::PlugAndPlay, _>(now, |p, cx| {
                    p.looks_up() && p.look_up(cx, sender)
                })
                .unwrap_or(false);
        if !asked {
            return Some(m);
        }
        if !behind {
            self.log(
                now,
                "AG-09",
                "sender-looked-up",
                None,
                Some(sender),
                format!("{} held while the directory is asked", m.performative),
            );
        }
        let until = now.checked_add(LOOKUP_TIMEOUT).unwrap_or(now);
        self.parked.push_back((until, m));
        None
    }

    /// Handles, in order, the held messages whose senders the directory has now answered for (found or
    /// not) or whose wait ran out; the others wait on.
    fn replay_parked(&mut self, now: Timestamp) {
        // Taken on every pass, held messages or not: the list never outlives the answers it records.
        let not_found = self
            .behaviours
            .get_mut::<crate::PlugAndPlay>()
            .map(crate::PlugAndPlay::take_not_found)
            .unwrap_or_default();
        if self.parked.is_empty() {
            return;
        }
        let sender_of = |m: &AclMessage| {
            m.sender
                .as_ref()
                .map(|s| s.name.clone())
                .unwrap_or_default()
        };
        // A sender whose first held message waited out LOOKUP_TIMEOUT is given up on, and everything
        // held from it goes together: what it sent later is not left waiting on a lookup no one makes.
        let mut timed_out: Vec<String> = Vec::new();
        for (until, m) in &self.parked {
            let sender = sender_of(m);
            if *until <= now
                && self.peers.get(&sender).is_none()
                && !not_found.contains(&sender)
                && !timed_out.contains(&sender)
            {
                timed_out.push(sender);
            }
        }
        for (until, m) in std::mem::take(&mut self.parked) {
            let sender = sender_of(&m);
            let answered = self.peers.get(&sender).is_some() || not_found.contains(&sender);
            if answered || timed_out.contains(&sender) {
                self.handle_known_or_refused(m, None, now);
            } else {
                self.parked.push_back((until, m));
            }
        }
        if let Some(p) = self.behaviours.get_mut::<crate::PlugAndPlay>() {
            for name in &timed_out {
                p.give_up(name);
            }
        }
    }

    fn handle_checked(
        &mut self,
        m: AclMessage,
        verdict: Option<Result<(), signing::SignatureFault>>,
        now: Timestamp,
    ) {
        let unknown = m
            .sender
            .as_ref()
            .map(|s| s.name.clone())
            .filter(|name| self.peers.get(name).is_none());
        let m = match unknown {
            Some(name) => match self.park(&name, m, now) {
                Some(m) => m,
                None => return,
            },
            None => m,
        };
        self.handle_known_or_refused(m, verdict, now);
    }

    /// A message handled as it is: refused if its sender is unknown, checked against its key otherwise.
    fn handle_known_or_refused(
        &mut self,
        m: AclMessage,
        verdict: Option<Result<(), signing::SignatureFault>>,
        now: Timestamp,
    ) {
        let sender = m.sender.as_ref().map(|s| s.name.clone());
        let answerable = !matches!(
            m.performative.performative(),
            Some(Performative::NotUnderstood | Performative::Refuse | Performative::Failure)
        );
        let Some(peer) = sender.as_deref().and_then(|name| self.peers.get(name)) else {
            self.log(
                now,
                "AG-09",
                "refused-unknown-agent",
                None,
                sender.as_deref(),
                format!("{} from an agent not in the directory", m.performative),
            );
            if answerable && m.sender.is_some() {
                let mut refuse = m.reply(Performative::Refuse, self.me.clone());
                refuse.content = Some("((unknown-agent))".into());
                self.reply(refuse);
            }
            return;
        };
        if let Err(fault) = verdict.unwrap_or_else(|| signing::verify(&m, &peer.key)) {
            self.log(
                now,
                "AG-09",
                "not-understood",
                None,
                sender.as_deref(),
                format!("{}: {}", m.performative, fault.reason()),
            );
            if answerable {
                self.reply(not_understood(&m, &self.me, fault.reason()));
            }
            return;
        }
        let Some(behaviour) = self.behaviours.iter_mut().find(|b| b.wants(&m)) else {
            self.log(
                now,
                "AG-09",
                "not-understood",
                None,
                sender.as_deref(),
                format!("{}: no behaviour takes it", m.performative),
            );
            if answerable {
                self.reply(not_understood(
                    &m,
                    &self.me,
                    "no behaviour takes this message",
                ));
            }
            return;
        };
        let mut cx = context!(self, now);
        behaviour.on_message(&mut cx, m);
        self.take_up_rotated_key(now);
        self.close_subscriptions(now);
    }

    /// AUX-06 (the owner or the user changes): announces `new_key` to the directory through the
    /// [`crate::PlugAndPlay`] behaviour; the agent keeps signing with its current key until the directory
    /// confirms, then signs with `new_key` (every peer hears of it from the directory). The TE registry's
    /// key is rotated separately, by the registrar.
    pub fn rotate_key(&mut self, new_key: SigningKey, now: Timestamp) -> Result<()> {
        let public = idea_proto::PublicKey::from(&new_key);
        self.with_behaviour::<crate::PlugAndPlay, _>(now, |p, cx| p.rotate(cx, public))
            .ok_or_else(|| Error::settings("behaviours", "key rotation needs plug-and-play"))??;
        self.next_key = Some(new_key);
        Ok(())
    }

    fn take_up_rotated_key(&mut self, now: Timestamp) {
        let confirmed = self
            .behaviours
            .get_mut::<crate::PlugAndPlay>()
            .is_some_and(crate::PlugAndPlay::take_rotated);
        if confirmed && let Some(key) = self.next_key.take() {
            // Messages are signed as they are taken: from now on with the new key, which the directory is
            // telling every peer at the same time.
            self.key = key;
            let public = idea_proto::PublicKey::from(&self.key);
            self.log(now, "AUX-06", "key-rotated", None, None, public.to_string());
        }
    }

    /// AUX-01 through the network: submits to the TE node a registration of this agent's avatar (its TE
    /// identity) with its key, signed by the avatar, for the node that is the registrar — the holder of
    /// `registrar` — to countersign (`crate::TeNode::registrar`). The node answers
    /// `TeNotice::Registered` (logged `te-registered`) or a refusal.
    ///
    /// # Errors
    /// [`Error::Settings`] when the agent has no TE identity.
    pub fn register_at_te(
        &mut self,
        registrar: &idea_proto::PublicKey,
        now: Timestamp,
    ) -> Result<()> {
        let te = self
            .te
            .clone()
            .ok_or_else(|| Error::settings("te", "registering needs the agent's TE identity"))?;
        self.outbox
            .queue
            .push_back(Output::Te(crate::te_node::registration_submission(
                &te.deployment,
                registrar,
                te.avatar,
                self.settings.cell.agent.clone(),
                &self.key,
                now,
            )));
        self.log(
            now,
            "AUX-01",
            "te-registration-sent",
            None,
            None,
            format!("avatar {}", te.avatar),
        );
        Ok(())
    }

    /// AUX-04: subscribes to `service` (again): the cell takes part in it from now on. The participation
    /// profile in force must list it (choose one that does first, AUX-03).
    ///
    /// # Errors
    /// [`Error::Settings`] when the profile in force does not list `service`.
    pub fn subscribe(&mut self, service: &idea_proto::ServiceId, now: Timestamp) -> Result<()> {
        if !self.settings.profile().services.contains(service) {
            return Err(Error::settings(
                format!("profiles.{}", self.settings.participation),
                format!(
                    "the profile in force does not take part in {service}: choose one that does"
                ),
            ));
        }
        let again = self.subscriptions.subscribe(service);
        self.log(
            now,
            "AUX-04",
            "subscribed",
            None,
            None,
            format!("{service}{}", if again { " again" } else { "" }),
        );
        Ok(())
    }

    /// AUX-08: ends the subscription to `service`. No new transaction in it is started or accepted from now
    /// on; those under way run to their end (an agreed trade is still recorded, delivered and settled), and
    /// when the last is over the subscription has ended (`subscription-ended`). Returns where it stands.
    pub fn unsubscribe(
        &mut self,
        service: &idea_proto::ServiceId,
        now: Timestamp,
    ) -> crate::subscription::SubscriptionState {
        if self.subscriptions.end(service) {
            let open = self.transactions.open_in(service);
            self.log(
                now,
                "AUX-08",
                "subscription-ending",
                None,
                None,
                format!("{service}: {open} transactions still open"),
            );
            self.close_subscriptions(now);
        }
        self.subscriptions.state(service)
    }

    /// The subscriptions ended or ending.
    pub fn subscriptions(&self) -> &crate::subscription::Subscriptions {
        &self.subscriptions
    }

    /// Ends the ending subscriptions with nothing left open.
    fn close_subscriptions(&mut self, now: Timestamp) {
        if !self.subscriptions.any_ending() {
            return;
        }
        let transactions = &self.transactions;
        let ended = self
            .subscriptions
            .close(|service| transactions.open_in(service) > 0);
        for service in ended {
            self.log(
                now,
                "AUX-08",
                "subscription-ended",
                None,
                None,
                service.to_string(),
            );
        }
    }

    /// A message the transport could not decode: logged (there is no sender to answer).
    pub fn handle_undecodable(&mut self, reason: &str, now: Timestamp) {
        self.log(now, "AG-09", "undecodable", None, None, reason.to_owned());
    }

    /// UC-04: the TE node recorded the contract of transaction `id`. Its commitment becomes binding.
    pub fn handle_recorded(&mut self, id: &TransactionId, now: Timestamp) -> Result<()> {
        self.advance(
            id,
            S::Recorded,
            now,
            "contract recorded by the TE node".into(),
        )?;
        self.book.bind(id)?;
        let start = self
            .transactions
            .get(id)
            .map(|t| t.transaction.terms.window.start());
        if let (Some(start), Some(t)) = (start, self.transactions.get_mut(id)) {
            t.lifecycle
                .set_deadline(start.checked_add(MEASUREMENT_GRACE).ok());
        }
        Ok(())
    }

    /// A notice of the TE node addressed to this agent: a recorded contract moves its transaction to
    /// `recorded` (UC-04); a refusal is logged (the agreement then expires at its deadline unless another
    /// submission is recorded). Every behaviour is then shown the notice ([`crate::Behaviour::on_te_notice`]).
    pub fn handle_te_notice(&mut self, notice: &crate::TeNotice, now: Timestamp) -> Result<()> {
        let taken = self.take_te_notice(notice, now);
        for behaviour in self.behaviours.iter_mut() {
            let mut cx = context!(self, now);
            behaviour.on_te_notice(&mut cx, notice);
        }
        taken
    }

    fn take_te_notice(&mut self, notice: &crate::TeNotice, now: Timestamp) -> Result<()> {
        match notice {
            crate::TeNotice::Recorded { transaction, .. } => self.handle_recorded(transaction, now),
            crate::TeNotice::Settled {
                transaction,
                interval,
                amount_minor,
                penalty_minor,
                delivered_wh,
                complete,
                ..
            } => {
                let detail = format!(
                    "interval {interval}: {delivered_wh} Wh, {amount_minor} minor units due at the next clearing (penalty {penalty_minor}){}",
                    if *complete {
                        "; every interval verified"
                    } else {
                        ""
                    }
                );
                self.record_settlement(transaction, *delivered_wh, *amount_minor, *penalty_minor);
                self.log(
                    now,
                    "TE-04",
                    "interval-settled",
                    Some(*transaction),
                    None,
                    detail,
                );
                Ok(())
            }
            crate::TeNotice::Cleared {
                period_end,
                paid,
                carried,
                set_aside,
                ..
            } => {
                self.handle_cleared(*period_end, paid, carried, set_aside, now);
                Ok(())
            }
            crate::TeNotice::TokensToSign { .. } => Ok(()),
            crate::TeNotice::ChannelRecorded {
                channel,
                counter,
                due_minor,
                ..
            } => {
                self.log(
                    now,
                    "TE-09",
                    "channel-recorded",
                    None,
                    None,
                    format!(
                        "channel {channel} at state {counter}: {due_minor} minor units due to this cell at the next clearing"
                    ),
                );
                Ok(())
            }
            crate::TeNotice::ChannelClosed {
                channel, counter, ..
            } => {
                self.log(
                    now,
                    "TE-09",
                    "channel-closed",
                    None,
                    None,
                    format!("channel {channel} closed at state {counter}"),
                );
                Ok(())
            }
            crate::TeNotice::ChannelPaid {
                channel,
                run,
                payer,
                amount_minor,
                ..
            } => {
                self.log(
                    now,
                    "TE-09",
                    "channel-paid",
                    None,
                    None,
                    format!(
                        "channel {channel}: {payer} paid {amount_minor} minor units at clearing run {run}"
                    ),
                );
                Ok(())
            }
            crate::TeNotice::Registered { avatar, .. } => {
                self.log(
                    now,
                    "AUX-01",
                    "te-registered",
                    None,
                    None,
                    format!("avatar {avatar} registered at the TE node"),
                );
                Ok(())
            }
            crate::TeNotice::Refused {
                transaction,
                reason,
                ..
            } => {
                self.log(
                    now,
                    "UC-04",
                    "recording-refused",
                    *transaction,
                    None,
                    reason.clone(),
                );
                Ok(())
            }
        }
    }

    /// UC-06: the interface device applied (or refused, or did not answer to) the setpoint of transaction
    /// `id`. A failed command fails the transaction and releases its commitment.
    pub fn handle_command_result(
        &mut self,
        id: &TransactionId,
        result: std::result::Result<(), String>,
        now: Timestamp,
    ) -> Result<()> {
        let state = self
            .transactions
            .get(id)
            .map(|t| t.lifecycle.state())
            .ok_or(Error::UnknownTransaction(*id))?;
        match result {
            Ok(()) if state == S::Commanded => {
                self.advance(
                    id,
                    S::Executing,
                    now,
                    "the device applied the setpoint".into(),
                )?;
                self.set_delivery_deadline(id);
                Ok(())
            }
            Ok(()) => Ok(()),
            Err(reason) => {
                if matches!(state, S::Commanded | S::Executing) {
                    self.advance(
                        id,
                        S::Failed,
                        now,
                        format!("the device did not take the setpoint: {reason}"),
                    )?;
                }
                self.release(id, now, "the delivery failed");
                Ok(())
            }
        }
    }

    /// UC-08: a meter's measurement of one interval of transaction `id`. The last interval completes the
    /// delivery (UC-09) and releases the commitment.
    pub fn handle_measurement(&mut self, report: &MeasurementReport, now: Timestamp) -> Result<()> {
        let id = report.transaction_id;
        let (state, window) = self
            .transactions
            .get(&id)
            .map(|t| (t.lifecycle.state(), t.transaction.terms.window))
            .ok_or(Error::UnknownTransaction(id))?;
        if state == S::Commanded {
            self.advance(&id, S::Executing, now, "flow measured".into())?;
        }
        let interval = window.interval_at(report.interval_start).ok_or_else(|| {
            Error::Proto(idea_proto::Error::invalid(
                "interval_start",
                format!("{} is outside the delivery window", report.interval_start),
            ))
        })?;
        self.advance(
            &id,
            S::Measured,
            now,
            format!(
                "interval {interval}: {} Wh at the connection point",
                report.energy.wh()
            ),
        )?;
        if interval.saturating_add(1) >= window.intervals() {
            self.advance(&id, S::Completed, now, "last interval measured".into())?;
            self.commanded.remove(&id);
            self.release(&id, now, "delivered");
            if self.settlements.get(&id).is_some_and(|s| s.paid_in_full) {
                self.handle_settled(&id, "paid in full at clearing", now)?;
            }
        } else {
            self.advance(&id, S::Executing, now, String::new())?;
            self.set_delivery_deadline(&id);
        }
        Ok(())
    }

    /// TE-08: a clearing run paid, carried or set aside intervals of this agent's transactions. A transaction
    /// paid in full whose delivery is complete is settled (UC-10); one whose delivery completes later is
    /// settled then.
    fn handle_cleared(
        &mut self,
        period_end: Timestamp,
        paid: &[crate::te_node::ClearedInterval],
        carried: &[crate::te_node::ClearedInterval],
        set_aside: &[crate::te_node::ClearedInterval],
        now: Timestamp,
    ) {
        for p in paid {
            let in_full = self.record_payment(&p.transaction, p);
            let detail = format!(
                "interval {}: {} minor units paid at the clearing of {period_end}",
                p.interval, p.amount_minor
            );
            let state = self
                .transactions
                .get(&p.transaction)
                .map(|t| t.lifecycle.state());
            if in_full && state == Some(S::Completed) {
                let detail = format!("{detail}; paid in full");
                if let Err(e) = self.handle_settled(&p.transaction, &detail, now) {
                    self.log(
                        now,
                        "UC-10",
                        "settle-failed",
                        Some(p.transaction),
                        None,
                        e.to_string(),
                    );
                }
            } else {
                self.log(
                    now,
                    "TE-08",
                    "interval-paid",
                    Some(p.transaction),
                    None,
                    detail,
                );
            }
        }
        for (items, what) in [
            (carried, "payment-carried"),
            (set_aside, "payment-set-aside"),
        ] {
            for c in items {
                let reason = c.reason.clone().unwrap_or_default();
                self.log(
                    now,
                    "TE-08",
                    what,
                    Some(c.transaction),
                    None,
                    format!("interval {}: {reason}", c.interval),
                );
            }
        }
    }

    /// UC-10: the TE node settled transaction `id`.
    pub fn handle_settled(
        &mut self,
        id: &TransactionId,
        detail: &str,
        now: Timestamp,
    ) -> Result<()> {
        self.advance(id, S::Settled, now, detail.to_owned())
    }

    /// TE-05: the TE node recorded a dispute on transaction `id`.
    pub fn handle_disputed(
        &mut self,
        id: &TransactionId,
        detail: &str,
        now: Timestamp,
    ) -> Result<()> {
        self.advance(id, S::Disputed, now, detail.to_owned())
    }

    /// The next output: a signed ACL message or a setpoint.
    pub fn poll_transmit(&mut self) -> Option<Output> {
        let mut out = self.outbox.queue.pop_front()?;
        if let Output::Acl(m) = &mut out {
            signing::seal(m, &self.me, &self.key);
        }
        Some(out)
    }

    /// How many outputs [`poll_transmit`](Self::poll_transmit) has queued: a conductor driving many agents
    /// asks only those with something to send.
    pub fn pending_output(&self) -> usize {
        self.outbox.queue.len()
    }

    /// The next event of the log.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop()
    }

    /// How many events were dropped because nobody took them.
    pub fn events_dropped(&self) -> u64 {
        self.events.dropped()
    }

    /// The next instant [`Agent::handle_timeout`] must be called at.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        let behaviours = self.behaviours.iter().filter_map(|b| b.poll_timeout());
        let lifecycles = self.transactions.poll_timeout();
        let commands = self.next_command_at();
        // Held in arrival order with one wait each: the first is the earliest.
        let parked = self.parked.front().map(|(until, _)| *until);
        behaviours
            .chain(lifecycles)
            .chain(commands)
            .chain(parked)
            .min()
    }

    /// Time has reached `now`: behaviours act on their deadlines, lifecycles expire or fail (and their
    /// commitments are released), and each recorded or executing delivery is commanded for the interval
    /// that started (UC-05, UC-09).
    pub fn handle_timeout(&mut self, now: Timestamp) {
        self.replay_parked(now);
        for behaviour in self.behaviours.iter_mut() {
            if behaviour.poll_timeout().is_some_and(|t| t <= now) {
                let mut cx = context!(self, now);
                behaviour.on_timeout(&mut cx);
            }
        }
        for (id, state) in self.transactions.handle_timeout(now) {
            let counterparty = self.transactions.get(&id).map(|t| t.counterparty.clone());
            self.log(
                now,
                if state == S::Expired {
                    "deadline"
                } else {
                    "UC-08"
                },
                state.name(),
                Some(id),
                counterparty.as_deref(),
                if state == S::Expired {
                    "the deadline passed before the transaction was recorded".to_owned()
                } else {
                    "the delivery was not measured in time: discrepancy recorded".to_owned()
                },
            );
            self.commanded.remove(&id);
            self.release(&id, now, state.name());
        }
        self.command_due(now);
        self.book.forget_before(now);
        self.close_subscriptions(now);
    }

    /// The transactions between recording and completion: those commanded at each interval start.
    fn delivering(&self) -> impl Iterator<Item = (&TransactionId, &crate::Tracked)> {
        // Only states before the final ones.
        self.transactions.maybe_open().filter(|(_, t)| {
            matches!(
                t.lifecycle.state(),
                S::Recorded | S::Commanded | S::Executing | S::Measured
            )
        })
    }

    fn command_due(&mut self, now: Timestamp) {
        let due: Vec<(TransactionId, Timestamp, bool)> = self
            .delivering()
            .filter_map(|(id, t)| {
                let window = t.transaction.terms.window;
                let i = window.interval_at(now)?;
                let start = window.interval_start(i).ok()?;
                let last = self.commanded.get(id);
                (last != Some(&start)).then_some((*id, start, t.lifecycle.state() == S::Recorded))
            })
            .collect();
        for (id, start, first) in due {
            self.commanded.insert(id, start);
            if let Err(e) = self.command(&id, start, first, now) {
                self.log(
                    now,
                    "UC-05",
                    "command-failed",
                    Some(id),
                    None,
                    e.to_string(),
                );
            }
        }
    }

    /// The setpoint at the cell's connection for the interval starting at `start`: the net of the binding
    /// energy and power commitments, clamped to the cell's limits (AG-11: never beyond them).
    fn command(
        &mut self,
        id: &TransactionId,
        start: Timestamp,
        first: bool,
        now: Timestamp,
    ) -> Result<()> {
        let window = self
            .transactions
            .get(id)
            .map(|t| t.transaction.terms.window)
            .ok_or(Error::UnknownTransaction(*id))?;
        let until = start.checked_add(window.period())?;
        let limits = self.settings.cell.limits;
        let setpoint_w = self.book.totals(start).setpoint_w.clamp(
            limits.max_import.w().saturating_neg(),
            limits.max_export.w(),
        );
        let command = SetpointCommand::new(SetpointCommandFields {
            transaction_id: *id,
            cell: self.settings.cell.id.clone(),
            kind: if first {
                CommandKind::Start
            } else {
                CommandKind::Adjust
            },
            setpoint: PowerLevel::new(
                idea_proto::ActivePower::from_w(setpoint_w),
                ReactivePower::from_var(0),
            ),
            from: start,
            until,
        })?;
        self.outbox.queue.push_back(Output::Command(command));
        if first {
            self.advance(
                id,
                S::Commanded,
                now,
                format!("setpoint {setpoint_w} W at the connection point"),
            )?;
            if let Some(t) = self.transactions.get_mut(id) {
                t.lifecycle
                    .set_deadline(now.checked_add(MEASUREMENT_GRACE).ok());
            }
        }
        Ok(())
    }

    fn next_command_at(&self) -> Option<Timestamp> {
        self.delivering()
            .filter_map(|(id, t)| {
                let window = t.transaction.terms.window;
                let last = self.commanded.get(id);
                (0..window.intervals())
                    .filter_map(|i| window.interval_start(i).ok())
                    .find(|s| last.is_none_or(|l| s > l))
            })
            .min()
    }

    fn set_delivery_deadline(&mut self, id: &TransactionId) {
        if let Some(t) = self.transactions.get_mut(id) {
            let end = t.transaction.terms.window.end().ok();
            t.lifecycle
                .set_deadline(end.and_then(|e| e.checked_add(MEASUREMENT_GRACE).ok()));
        }
    }

    fn advance(&mut self, id: &TransactionId, to: S, now: Timestamp, detail: String) -> Result<()> {
        transactions::advance(
            &mut self.transactions,
            &mut self.events,
            &self.me.name,
            id,
            to,
            now,
            detail,
        )?;
        if to.is_terminal() {
            self.close_subscriptions(now);
        }
        Ok(())
    }

    /// Queues an answer of the agent's own (refuse, not-understood), dropped when the outbox is full: a flood
    /// of bad messages cannot grow it.
    fn reply(&mut self, m: AclMessage) {
        if self.outbox.queue.len() < crate::behaviour::MAX_PENDING_OUTPUTS {
            self.outbox.queue.push_back(Output::Acl(Box::new(m)));
        }
    }

    fn release(&mut self, id: &TransactionId, now: Timestamp, why: &str) {
        if let Some(c) = self.book.release(id) {
            let strength = match c.strength {
                Strength::Tentative => "tentative",
                Strength::Binding => "binding",
            };
            self.log(
                now,
                "AG-04",
                "commitment-released",
                Some(*id),
                None,
                format!("{strength} commitment released: {why}"),
            );
        }
    }

    fn log(
        &mut self,
        now: Timestamp,
        step: &'static str,
        what: &'static str,
        transaction: Option<TransactionId>,
        counterparty: Option<&str>,
        detail: String,
    ) {
        self.events.push(Event {
            at: now,
            agent: self.me.name.clone(),
            step,
            what,
            transaction,
            counterparty: counterparty.map(str::to_owned),
            detail,
        });
    }
}
