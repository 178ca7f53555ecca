//! Debt payment channels between agents (TE-09), the built-in behaviour `debt-channels` ([`ChannelKeeper`]):
//! two cells that trade keep what they owe each other in a channel of `te-contract`, signed by both, and the
//! TE node clears the channel's net with everything else.
//!
//! - **Opening.** When the node records a contract ([`TeNotice::Recorded`]) and this agent is its seller with
//!   no channel to the buyer, it signs a `ChannelOpen` (side A, its own credit limit, the contract's currency)
//!   and sends it as a `propose` (`:protocol idea-channel-propose`, `:ontology idea-channel`, the object's canonical bytes in the user parameter
//!   `:X-idea-channel-open`). The buyer countersigns if the limit is no more than its own, submits it to the
//!   node and answers `accept-proposal` with the countersigned object (or `reject-proposal` with the reason).
//!   Both use the channel once the node says it recorded it (`channel-recorded`, counter 0).
//! - **Debts.** When the node verifies an interval between the two ([`TeNotice::Settled`]), the side owed
//!   proposes the next state with the debt (its id the interval's settlement id, the amount the node fixed) as
//!   a `propose` with `:X-idea-channel-state`. The side that owes countersigns only debts the node told *it*
//!   of, for the same amount, and only payments clearing told it of; a proposal that names an interval or a
//!   payment it has not heard of yet waits for that notice (at most [`ANSWER_WITHIN`]). It submits the countersigned state to
//!   the node and sends it back (`accept-proposal`). One proposal at a time: later debts queue behind it.
//! - **Payments.** When clearing pays the channel's net ([`TeNotice::ChannelPaid`]), the side paid proposes a
//!   state recording the payment, so both sides' totals follow the node's.
//! - **Closing.** [`ChannelKeeper::close`] asks the node to close a channel at the latest state both signed
//!   (a `CloseRequest` signed by this side); the node clears what is outstanding and both sides hear
//!   `channel-closed`, after which a new contract opens a new channel.
//! - **Faults.** A proposal not answered within [`ANSWER_WITHIN`] is withdrawn and its debts are left to the
//!   node, which pays an interval that never went into a channel wallet to wallet; a channel the node refuses a
//!   state of is no longer used (both sides' next intervals are paid wallet to wallet) and the refusal is
//!   logged. Money is never at stake in either: the node pays each verified interval once, through the channel
//!   or not.

use crate::behaviour::{Behaviour, Context, Peers, TeSubmission};
use crate::channel_journal::{ChannelJournal, JournalEntry, MemoryJournal};
use crate::te_node::TeNotice;
use fipa_acl::{AclMessage, AgentIdentifier, Expression, Performative};
use idea_proto::{Duration, PublicKey, Side, Timestamp, TransactionId};
use std::collections::{BTreeMap, VecDeque};
use te_contract::channel::{
    Channel, ChannelOpen, ChannelState, ChannelStore, CloseRequest, Debt, Party, Payment,
};
use te_contract::settlement::settlement_debt_id;
use te_contract::signed::KeyResolver;
use te_contract::{AvatarId, ChannelId, Codec, DebtId, Signed};

/// The ontology of channel messages.
pub const ONTOLOGY: &str = "idea-channel";
/// The interaction protocol of channel messages (FIPA Propose, under its own name so the keeper finds them).
pub const PROTOCOL: &str = "idea-channel-propose";
/// The user-defined ACL parameter (`:X-idea-channel-open`) carrying a signed `ChannelOpen`.
pub const OPEN_PARAM: &str = "idea-channel-open";
/// The user-defined ACL parameter (`:X-idea-channel-state`) carrying a signed `ChannelState`.
pub const STATE_PARAM: &str = "idea-channel-state";
/// The most channels one agent keeps.
pub const MAX_CHANNELS: usize = 256;
/// The most intervals the node verified that the agent keeps to check debts against.
pub const MAX_VERIFIED: usize = 4096;
/// The most proposals waiting for the node's notice of an interval they name.
pub const MAX_WAITING: usize = 64;
/// How long a proposal waits for its countersignature, or for the notice of an interval it names.
pub const ANSWER_WITHIN: Duration = Duration::from_secs(120);
/// The challenge period written into the channels this agent opens.
pub const CHALLENGE_PERIOD: Duration = Duration::from_mins(60);

/// The keys of this agent and its peers, by avatar (an agent signs ACL and TE objects with one key).
struct PeerKeys<'a> {
    peers: &'a Peers,
    me: (AvatarId, PublicKey),
}

impl KeyResolver for PeerKeys<'_> {
    fn key(
        &self,
        avatar: &AvatarId,
        _version: u32,
        _at: Timestamp,
    ) -> te_contract::Result<PublicKey> {
        if *avatar == self.me.0 {
            return Ok(self.me.1);
        }
        self.peers
            .iter()
            .find(|p| p.avatar == Some(*avatar))
            .map(|p| p.key)
            .ok_or(te_contract::Error::UnknownAvatar(*avatar))
    }
}

/// One channel, as this side keeps it.
#[derive(Debug)]
struct ChannelSide {
    /// The other side's agent.
    peer: String,
    channel: Channel,
    /// The node recorded the open.
    at_node: bool,
    /// The node refused a state: not used any more.
    broken: bool,
    /// Debts owed to this side, waiting for the proposal in flight to be answered.
    queued_debts: Vec<Debt>,
    /// Payments clearing made that no state records yet.
    payments_due: Vec<Payment>,
    /// When the proposal in flight is given up.
    pending_until: Option<Timestamp>,
}

impl ChannelSide {
    /// The channel is no longer used (its intervals are paid wallet to wallet): logged with `why`.
    fn break_off(&mut self, cx: &mut Context<'_>, why: String) {
        self.broken = true;
        let peer = self.peer.clone();
        cx.log("TE-09", "channel-broken", None, Some(&peer), why);
    }
}

/// An interval the node verified, as this agent heard it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Heard {
    /// Who owes (the avatar).
    debtor: AvatarId,
    /// How much, minor units (> 0).
    amount: i64,
}

/// The built-in behaviour that keeps this agent's debt payment channels.
#[derive(Debug)]
pub struct ChannelKeeper {
    credit_limit_minor: i64,
    /// Channels by the other side's avatar.
    sides: BTreeMap<AvatarId, ChannelSide>,
    /// Opens this agent proposed, by the other side's avatar, with when they are given up.
    opening: BTreeMap<AvatarId, (Signed<ChannelOpen>, Timestamp)>,
    /// Intervals the node verified, by contract and interval.
    heard: BTreeMap<(TransactionId, u32), Heard>,
    /// Proposals naming an interval not heard of yet, with when they are refused.
    waiting: VecDeque<(AclMessage, Timestamp)>,
    /// Channels the node said it recorded before this agent had the countersigned open: the node's notice
    /// and the other agent's answer travel different ways and may arrive in either order.
    recorded_early: VecDeque<ChannelId>,
    /// Where the channels are kept across restarts.
    journal: Box<dyn ChannelJournal>,
    /// Channels read back from the journal, waiting for the other side's key (from the directory).
    unrestored: Vec<(Signed<ChannelOpen>, Vec<Signed<ChannelState>>)>,
    /// What reading the journal found wrong, logged once the agent runs.
    journal_notes: Vec<String>,
}

/// A [`ChannelStore`] writing to the agent's journal.
struct JournalStore<'a>(&'a mut dyn ChannelJournal);

impl ChannelStore for JournalStore<'_> {
    fn save_state(&mut self, state: &Signed<ChannelState>) -> te_contract::Result<()> {
        self.0
            .append(&JournalEntry::State(Box::new(state.clone())))
            .map_err(te_contract::Error::Store)
    }

    fn save_proposal(&mut self, proposal: &Signed<ChannelState>) -> te_contract::Result<()> {
        self.save_state(proposal)
    }
}

/// Channels remembered as recorded before their countersigned open arrived.
const MAX_RECORDED_EARLY: usize = 64;

impl ChannelKeeper {
    /// The behaviour's name.
    pub const NAME: &'static str = "debt-channels";

    /// A keeper that opens channels with a credit limit of `credit_limit_minor` (minor units of the
    /// contracts' currency) and countersigns opens of at most that.
    pub fn new(credit_limit_minor: i64) -> ChannelKeeper {
        ChannelKeeper {
            credit_limit_minor: credit_limit_minor.max(0),
            sides: BTreeMap::new(),
            opening: BTreeMap::new(),
            heard: BTreeMap::new(),
            waiting: VecDeque::new(),
            recorded_early: VecDeque::new(),
            journal: Box::new(MemoryJournal::default()),
            unrestored: Vec::new(),
            journal_notes: Vec::new(),
        }
    }

    /// A keeper that keeps its channels in `journal` and goes on with those it holds: each channel recorded
    /// and not closed is restored from its latest state both signed (and this side's proposals after it)
    /// once the other side's key is known, and used again. A channel whose entries do not replay is left
    /// out and said so in the event log (`channel-restore-failed`); the others are restored all the same.
    ///
    /// # Errors
    /// [`crate::Error::Settings`] when the journal cannot be read at all.
    pub fn with_journal(
        credit_limit_minor: i64,
        journal: Box<dyn ChannelJournal>,
    ) -> crate::Result<ChannelKeeper> {
        let contents = journal
            .read()
            .map_err(|e| crate::Error::settings("channel journal", e))?;
        let mut channels: Vec<(Signed<ChannelOpen>, Vec<Signed<ChannelState>>)> = Vec::new();
        let mut notes = contents.problems;
        for entry in contents.entries {
            match entry {
                JournalEntry::Open(open) => {
                    let id = open.body().channel;
                    if !channels.iter().any(|(o, _)| o.body().channel == id) {
                        channels.push((*open, Vec::new()));
                    }
                }
                JournalEntry::State(state) => {
                    let id = state.body().channel;
                    match channels.iter_mut().find(|(o, _)| o.body().channel == id) {
                        Some((_, states)) => states.push(*state),
                        None => notes.push(format!("a state of channel {id}, which has no open")),
                    }
                }
                JournalEntry::Closed(id) => channels.retain(|(o, _)| o.body().channel != id),
            }
        }
        if channels.len() > MAX_CHANNELS {
            notes.push(format!(
                "{} channels in the journal, {MAX_CHANNELS} kept",
                channels.len()
            ));
            channels.truncate(MAX_CHANNELS);
        }
        let mut keeper = ChannelKeeper::new(credit_limit_minor);
        keeper.journal = journal;
        keeper.unrestored = channels;
        keeper.journal_notes = notes;
        Ok(keeper)
    }

    /// Restores the journal's channels whose other side's key the directory gave by now; logs what reading
    /// the journal found wrong, once.
    fn restore_known(&mut self, cx: &mut Context<'_>) {
        for note in std::mem::take(&mut self.journal_notes) {
            cx.log("TE-09", "channel-journal", None, None, note);
        }
        if self.unrestored.is_empty() {
            return;
        }
        let Some(te) = cx.te else { return };
        let waiting = std::mem::take(&mut self.unrestored);
        for (open, states) in waiting {
            let body = open.body();
            let other = if body.a == te.avatar { body.b } else { body.a };
            let Some(peer) = cx.peers.iter().find(|p| p.avatar == Some(other)) else {
                self.unrestored.push((open, states));
                continue;
            };
            let peer_name = peer.agent.name.clone();
            let channel = body.channel;
            let restored = match Self::keys(cx) {
                Some(keys) => Channel::restore(
                    te.deployment.clone(),
                    open,
                    te.avatar,
                    states,
                    &keys,
                    cx.now,
                ),
                None => return,
            };
            match restored {
                Ok(restored) => {
                    let counter = restored.totals().counter;
                    self.sides.insert(
                        other,
                        ChannelSide {
                            peer: peer_name.clone(),
                            channel: restored,
                            at_node: true,
                            broken: false,
                            queued_debts: Vec::new(),
                            payments_due: Vec::new(),
                            pending_until: None,
                        },
                    );
                    cx.log(
                        "TE-09",
                        "channel-restored",
                        None,
                        Some(&peer_name),
                        format!("channel {channel} at state {counter}"),
                    );
                }
                Err(e) => cx.log(
                    "TE-09",
                    "channel-restore-failed",
                    None,
                    Some(&peer_name),
                    format!("channel {channel}: {e}"),
                ),
            }
        }
    }

    /// Writes the open of a channel the node recorded; a channel whose open cannot be kept is not used.
    fn journal_open(
        journal: &mut dyn ChannelJournal,
        cx: &mut Context<'_>,
        side: &mut ChannelSide,
    ) {
        let open = side.channel.open().channel;
        let entry = JournalEntry::Open(Box::new(side.channel.signed_open().clone()));
        if let Err(e) = journal.append(&entry) {
            side.break_off(
                cx,
                format!("channel {open} cannot be kept ({e}); its intervals are paid through the wallets"),
            );
        }
    }

    /// The channels kept: the other side's avatar, the channel, its latest counter both signed, whether the
    /// node recorded it and whether it is still used.
    pub fn channels(&self) -> impl Iterator<Item = (AvatarId, ChannelId, u64, bool, bool)> + '_ {
        self.sides.iter().map(|(avatar, s)| {
            (
                *avatar,
                s.channel.open().channel,
                s.channel.totals().counter,
                s.at_node,
                !s.broken,
            )
        })
    }

    /// Closes the channel with `peer` (its avatar) at the latest state both signed: the request, signed by
    /// this agent, goes to the TE node, which clears what is outstanding and says when the channel is closed
    /// (`channel-closed`). A proposal in flight is withdrawn first (its debts are paid wallet to wallet).
    ///
    /// # Errors
    /// [`crate::Error::Settings`] when there is no such channel in use or the agent has no TE avatar.
    pub fn close(&mut self, cx: &mut Context<'_>, peer: AvatarId) -> crate::Result<()> {
        let te = cx.te.ok_or_else(|| {
            crate::Error::settings("te", "the agent has no avatar in a TE registry")
        })?;
        let side = self
            .sides
            .get_mut(&peer)
            .filter(|s| s.at_node && !s.broken)
            .ok_or_else(|| {
                crate::Error::settings("channel", format!("no channel in use with {peer}"))
            })?;
        side.channel.withdraw();
        side.pending_until = None;
        side.broken = true;
        let mut request = Signed::new(
            te.deployment.clone(),
            CloseRequest {
                channel: side.channel.open().channel,
                by: te.avatar,
                counter: side.channel.totals().counter,
                at: cx.now,
            },
        );
        cx.sign_te(&mut request)?;
        let detail = format!(
            "channel {} at state {}",
            request.body().channel,
            request.body().counter
        );
        let peer_name = side.peer.clone();
        cx.submit(TeSubmission::CloseChannel(Box::new(request)))?;
        cx.log("TE-09", "channel-closing", None, Some(&peer_name), detail);
        Ok(())
    }

    fn keys<'a>(cx: &'a Context<'_>) -> Option<PeerKeys<'a>> {
        let te = cx.te?;
        Some(PeerKeys {
            peers: cx.peers,
            me: (te.avatar, cx.public_key()),
        })
    }

    /// The seller of a recorded contract offers a channel to the buyer, if they have none.
    fn offer_channel(&mut self, cx: &mut Context<'_>, transaction: &TransactionId) {
        let Some(t) = cx.transactions.get(transaction) else {
            return;
        };
        if t.side != Side::Seller {
            return;
        }
        let currency = t.transaction.terms.price.currency;
        let peer_name = t.counterparty.clone();
        let (Some(te), Some(peer)) = (cx.te, cx.peers.get(&peer_name)) else {
            return;
        };
        let Some(buyer) = peer.avatar else {
            return;
        };
        if self.sides.contains_key(&buyer)
            || self.opening.contains_key(&buyer)
            || self.sides.len().saturating_add(self.opening.len()) >= MAX_CHANNELS
        {
            return;
        }
        let channel = ChannelId::from_bytes(cx.ids.next());
        let mut open = Signed::new(
            te.deployment.clone(),
            ChannelOpen {
                channel,
                a: te.avatar,
                b: buyer,
                currency,
                credit_limit: self.credit_limit_minor,
                challenge_period: CHALLENGE_PERIOD,
                opened_at: cx.now,
            },
        );
        if let Err(e) = cx.sign_te(&mut open) {
            cx.log(
                "TE-09",
                "channel-refused",
                None,
                Some(&peer_name),
                e.to_string(),
            );
            return;
        }
        let m = message(
            Performative::Propose,
            &peer_name,
            OPEN_PARAM,
            open.to_bytes(),
        );
        if cx.send(m).is_ok() {
            let until = cx.now.checked_add(ANSWER_WITHIN).unwrap_or(cx.now);
            self.opening.insert(buyer, (open, until));
            cx.log(
                "TE-09",
                "channel-proposed",
                Some(*transaction),
                Some(&peer_name),
                format!(
                    "channel {channel}, credit limit {}",
                    self.credit_limit_minor
                ),
            );
        }
    }

    /// The buyer's side of an open: countersigned and submitted if it is between the sender and this agent
    /// within this agent's credit limit.
    fn take_open(&mut self, cx: &mut Context<'_>, m: &AclMessage, mut open: Signed<ChannelOpen>) {
        let sender = m
            .sender
            .as_ref()
            .map(|s| s.name.clone())
            .unwrap_or_default();
        let checked = (|| {
            let te = cx.te.ok_or("this agent has no TE avatar")?;
            let peer = cx.peers.get(&sender).ok_or("an unknown sender")?;
            let body = open.body();
            if Some(body.a) != peer.avatar || body.b != te.avatar {
                return Err("the channel is not between the sender's avatar and this agent's");
            }
            if body.credit_limit > self.credit_limit_minor {
                return Err("the credit limit is beyond this agent's");
            }
            if self.sides.contains_key(&body.a) || self.sides.len() >= MAX_CHANNELS {
                return Err(
                    "a channel with the sender is open already, or this agent keeps enough",
                );
            }
            // Both offered a channel at once: the open of the lower avatar stands.
            if self.opening.contains_key(&body.a) && te.avatar < body.a {
                return Err("both sides offered a channel: the lower avatar's offer stands");
            }
            Ok(body.a)
        })();
        let peer_avatar = match checked {
            Ok(a) => a,
            Err(why) => {
                let _ = cx.send(reply(m, Performative::RejectProposal, None, why));
                cx.log("TE-09", "channel-refused", None, Some(&sender), why);
                return;
            }
        };
        if let Err(e) = cx.sign_te(&mut open) {
            cx.log(
                "TE-09",
                "channel-refused",
                None,
                Some(&sender),
                e.to_string(),
            );
            return;
        }
        let Some(channel) = self.new_side(cx, &sender, open.clone()) else {
            return;
        };
        self.opening.remove(&peer_avatar);
        self.sides.insert(peer_avatar, channel);
        let _ = cx.submit(TeSubmission::OpenChannel(Box::new(open.clone())));
        let _ = cx.send(reply(
            m,
            Performative::AcceptProposal,
            Some((OPEN_PARAM, open.to_bytes())),
            "",
        ));
        cx.log(
            "TE-09",
            "channel-accepted",
            None,
            Some(&sender),
            format!("channel {}", open.body().channel),
        );
    }

    fn new_side(
        &self,
        cx: &mut Context<'_>,
        peer: &str,
        open: Signed<ChannelOpen>,
    ) -> Option<ChannelSide> {
        let te = cx.te?;
        let made = {
            let keys = Self::keys(cx)?;
            Channel::new(te.deployment.clone(), open, te.avatar, &keys, cx.now)
        };
        match made {
            Ok(channel) => Some(ChannelSide {
                peer: peer.to_owned(),
                channel,
                at_node: false,
                broken: false,
                queued_debts: Vec::new(),
                payments_due: Vec::new(),
                pending_until: None,
            }),
            Err(e) => {
                cx.log("TE-09", "channel-refused", None, Some(peer), e.to_string());
                None
            }
        }
    }

    /// The seller's side: the buyer countersigned the open.
    fn take_open_accepted(&mut self, cx: &mut Context<'_>, open: Signed<ChannelOpen>) {
        let b = open.body().b;
        if self.sides.contains_key(&b) {
            return;
        }
        let Some((ours, _)) = self.opening.get(&b) else {
            return;
        };
        if ours.body() != open.body() {
            return;
        }
        self.opening.remove(&b);
        let peer = cx
            .peers
            .iter()
            .find(|p| p.avatar == Some(b))
            .map(|p| p.agent.name.clone())
            .unwrap_or_default();
        let channel = open.body().channel;
        if let Some(mut side) = self.new_side(cx, &peer, open) {
            if let Some(at) = self.recorded_early.iter().position(|c| *c == channel) {
                self.recorded_early.remove(at);
                side.at_node = true;
                Self::journal_open(&mut *self.journal, cx, &mut side);
                cx.log(
                    "TE-09",
                    "channel-open",
                    None,
                    Some(&peer),
                    format!("channel {channel} recorded at the TE node"),
                );
            }
            self.sides.insert(b, side);
        }
    }

    /// The node verified an interval: remembered, and if it is owed to this agent through a channel, proposed.
    fn take_settled(
        &mut self,
        cx: &mut Context<'_>,
        transaction: &TransactionId,
        interval: u32,
        amount_minor: i64,
    ) {
        let Some(t) = cx.transactions.get(transaction) else {
            return;
        };
        let (Some(te), Some(peer_avatar)) =
            (cx.te, cx.peers.get(&t.counterparty).and_then(|p| p.avatar))
        else {
            return;
        };
        let (seller, buyer) = if t.side == Side::Seller {
            (te.avatar, peer_avatar)
        } else {
            (peer_avatar, te.avatar)
        };
        let (debtor, creditor, amount) = if amount_minor >= 0 {
            (buyer, seller, amount_minor)
        } else {
            (seller, buyer, amount_minor.saturating_neg())
        };
        if amount == 0 {
            return;
        }
        if self.heard.len() >= MAX_VERIFIED
            && let Some(first) = self.heard.keys().next().copied()
        {
            self.heard.remove(&first);
        }
        self.heard
            .insert((*transaction, interval), Heard { debtor, amount });
        if creditor != te.avatar {
            self.retry_waiting(cx);
            return;
        }
        let Some(side) = self.sides.get_mut(&peer_avatar) else {
            return;
        };
        if !side.at_node || side.broken {
            return;
        }
        let debtor_party = if debtor == side.channel.open().a {
            Party::A
        } else {
            Party::B
        };
        side.queued_debts.push(Debt {
            id: settlement_debt_id(transaction, interval),
            debtor: debtor_party,
            amount,
            contract: *transaction,
            interval,
            token: None,
        });
        propose_next(cx, side, &mut *self.journal);
    }

    /// The other side proposes a state: countersigned and submitted if every debt and payment in it is one
    /// the node told this agent of; kept until `until` (a new proposal: [`ANSWER_WITHIN`] from now) if it
    /// names one not heard of yet.
    fn take_state(
        &mut self,
        cx: &mut Context<'_>,
        m: AclMessage,
        proposal: Signed<ChannelState>,
        until: Option<Timestamp>,
    ) {
        let sender = m
            .sender
            .as_ref()
            .map(|s| s.name.clone())
            .unwrap_or_default();
        let Some(te) = cx.te else { return };
        let body = proposal.body();
        let peer_avatar = body.proposer_avatar;
        let Some(side) = self.sides.get(&peer_avatar) else {
            let _ = cx.send(reply(
                &m,
                Performative::RejectProposal,
                None,
                "no such channel",
            ));
            return;
        };
        if side.peer != sender || side.broken || !side.at_node {
            let _ = cx.send(reply(
                &m,
                Performative::RejectProposal,
                None,
                "the channel is not in use",
            ));
            return;
        }
        let me_party = side.channel.side();
        let mut unheard = false;
        let mut wrong = None;
        for debt in &body.debts {
            match self.heard.get(&(debt.contract, debt.interval)) {
                None => unheard = true,
                Some(h) => {
                    let owed_by_me = debt.debtor == me_party;
                    if !owed_by_me || h.debtor != te.avatar || h.amount != debt.amount {
                        wrong = Some(format!(
                            "interval {} of {} is not owed by this agent for {}",
                            debt.interval, debt.contract, debt.amount
                        ));
                    }
                }
            }
        }
        // A payment this agent has not heard of yet (the node's notice may come after the proposal) waits.
        if body.payments.iter().any(|p| !side.payments_due.contains(p)) {
            unheard = true;
        }
        if let Some(why) = wrong {
            let _ = cx.send(reply(&m, Performative::RejectProposal, None, &why));
            cx.log("TE-09", "channel-refused", None, Some(&sender), why);
            return;
        }
        if unheard {
            if self.waiting.len() < MAX_WAITING {
                let until =
                    until.unwrap_or_else(|| cx.now.checked_add(ANSWER_WITHIN).unwrap_or(cx.now));
                self.waiting.push_back((m, until));
            }
            return;
        }
        let counter = body.counter;
        let payments = body.payments.clone();
        let accepted = {
            let Some(keys) = Self::keys(cx) else { return };
            let Some(side) = self.sides.get_mut(&peer_avatar) else {
                return;
            };
            side.channel.accept(
                proposal,
                &keys,
                &mut JournalStore(&mut *self.journal),
                cx.key,
                te.key_version,
                cx.now,
            )
        };
        match accepted {
            Ok(accepted) => {
                if let Some(side) = self.sides.get_mut(&peer_avatar) {
                    side.payments_due.retain(|p| !payments.contains(p));
                    if let Some(withdrawn) = accepted.withdrawn {
                        side.queued_debts.extend(withdrawn.debts);
                        side.pending_until = None;
                    }
                }
                let _ = cx.submit(TeSubmission::ChannelState(Box::new(
                    accepted.countersigned.clone(),
                )));
                let _ = cx.send(reply(
                    &m,
                    Performative::AcceptProposal,
                    Some((STATE_PARAM, accepted.countersigned.to_bytes())),
                    "",
                ));
                cx.log(
                    "TE-09",
                    "channel-countersigned",
                    None,
                    Some(&sender),
                    format!("state {counter}"),
                );
            }
            Err(e) => {
                let why = e.to_string();
                let _ = cx.send(reply(&m, Performative::RejectProposal, None, &why));
                cx.log("TE-09", "channel-refused", None, Some(&sender), why);
            }
        }
    }

    /// Proposals that waited for an interval's or a payment's notice, tried again (those still waiting keep
    /// their deadline).
    fn retry_waiting(&mut self, cx: &mut Context<'_>) {
        let waiting: Vec<(AclMessage, Timestamp)> = self.waiting.drain(..).collect();
        for (m, until) in waiting {
            if let Some(s) = state_in(&m) {
                self.take_state(cx, m, s, Some(until));
            }
        }
    }

    /// The side that proposed gets its state back countersigned.
    fn take_state_accepted(&mut self, cx: &mut Context<'_>, countersigned: Signed<ChannelState>) {
        let peer_avatar = countersigned.body().acceptor_avatar;
        let counter = countersigned.body().counter;
        let confirmed = {
            let Some(keys) = Self::keys(cx) else { return };
            let Some(side) = self.sides.get_mut(&peer_avatar) else {
                return;
            };
            side.channel.confirm(
                countersigned,
                &keys,
                &mut JournalStore(&mut *self.journal),
                cx.now,
            )
        };
        let Some(side) = self.sides.get_mut(&peer_avatar) else {
            return;
        };
        match confirmed {
            Ok(()) => {
                side.pending_until = None;
                let recorded: Vec<Payment> = side.channel.totals().payments.clone();
                side.payments_due.retain(|p| !recorded.contains(p));
                let peer = side.peer.clone();
                cx.log(
                    "TE-09",
                    "channel-state",
                    None,
                    Some(&peer),
                    format!("state {counter} signed by both"),
                );
                propose_next(cx, side, &mut *self.journal);
            }
            Err(e) => {
                let peer = side.peer.clone();
                cx.log("TE-09", "channel-refused", None, Some(&peer), e.to_string());
            }
        }
    }

    /// The other side refused our proposal: withdrawn; its debts are left to the node (paid wallet to
    /// wallet).
    fn take_state_rejected(&mut self, cx: &mut Context<'_>, sender: &str, why: &str) {
        if let Some(side) = self.sides.values_mut().find(|s| s.peer == sender)
            && let Some(withdrawn) = side.channel.withdraw()
        {
            side.pending_until = None;
            let left = withdrawn.debts.len();
            let peer = side.peer.clone();
            cx.log(
                "TE-09",
                "channel-withdrawn",
                None,
                Some(&peer),
                format!("{why}; {left} debts paid through the wallets instead"),
            );
            propose_next(cx, side, &mut *self.journal);
        }
    }
}

/// The side of `channel` (its id as text) among `sides`.
fn side_of_channel<'a>(
    sides: &'a mut BTreeMap<AvatarId, ChannelSide>,
    channel: &str,
) -> Option<&'a mut ChannelSide> {
    let id: ChannelId = channel.parse().ok()?;
    sides.values_mut().find(|s| s.channel.open().channel == id)
}

/// Proposes the next state with the debts queued and the payments due, if no proposal is in flight; the
/// proposal is in the journal before it is sent.
fn propose_next(cx: &mut Context<'_>, side: &mut ChannelSide, journal: &mut dyn ChannelJournal) {
    if side.channel.pending().is_some()
        || side.broken
        || (side.queued_debts.is_empty() && side.payments_due.is_empty())
    {
        return;
    }
    let Some(te) = cx.te else { return };
    let debts = std::mem::take(&mut side.queued_debts);
    let payments = side.payments_due.clone();
    match side.channel.propose(
        debts,
        payments,
        &mut JournalStore(journal),
        cx.key,
        te.key_version,
    ) {
        Ok(proposal) => {
            let m = message(
                Performative::Propose,
                &side.peer,
                STATE_PARAM,
                proposal.to_bytes(),
            );
            if cx.send(m).is_ok() {
                side.pending_until = cx.now.checked_add(ANSWER_WITHIN).ok();
            }
        }
        Err(e) => {
            let peer = side.peer.clone();
            cx.log(
                "TE-09",
                "channel-withdrawn",
                None,
                Some(&peer),
                format!("{e}; the debts are paid through the wallets instead"),
            );
        }
    }
}

/// A channel message to `to` carrying `bytes` in `param`.
fn message(performative: Performative, to: &str, param: &str, bytes: Vec<u8>) -> AclMessage {
    let mut m = AclMessage::new(performative);
    m.receivers = vec![AgentIdentifier::new(to)];
    m.protocol = Some(PROTOCOL.into());
    m.ontology = Some(ONTOLOGY.into());
    m.user_params
        .push((param.to_owned(), Expression::String(bytes)));
    m
}

/// The answer to `m`: `performative`, carrying `object` in its parameter, or the reason as content.
fn reply(
    m: &AclMessage,
    performative: Performative,
    object: Option<(&str, Vec<u8>)>,
    why: &str,
) -> AclMessage {
    let mut r = AclMessage::new(performative);
    r.receivers = m.sender.clone().into_iter().collect();
    r.protocol = Some(PROTOCOL.into());
    r.ontology = Some(ONTOLOGY.into());
    r.conversation_id = m.conversation_id.clone();
    r.in_reply_to = m.reply_with.clone();
    if let Some((param, bytes)) = object {
        r.user_params
            .push((param.to_owned(), Expression::String(bytes)));
    }
    if !why.is_empty() {
        r = r.content(why.as_bytes().to_vec());
    }
    r
}

fn param<'a>(m: &'a AclMessage, name: &str) -> Option<&'a [u8]> {
    m.user_params.iter().find_map(|(n, v)| match v {
        Expression::String(b) if n == name => Some(b.as_slice()),
        _ => None,
    })
}

fn open_in(m: &AclMessage) -> Option<Signed<ChannelOpen>> {
    Signed::<ChannelOpen>::decode_exact(param(m, OPEN_PARAM)?).ok()
}

fn state_in(m: &AclMessage) -> Option<Signed<ChannelState>> {
    Signed::<ChannelState>::decode_exact(param(m, STATE_PARAM)?).ok()
}

impl Behaviour for ChannelKeeper {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn wants(&self, m: &AclMessage) -> bool {
        m.protocol.as_deref() == Some(PROTOCOL)
    }

    fn on_message(&mut self, cx: &mut Context<'_>, m: AclMessage) {
        self.restore_known(cx);
        let sender = m
            .sender
            .as_ref()
            .map(|s| s.name.clone())
            .unwrap_or_default();
        let p = m.performative.clone();
        if p == Performative::Propose {
            if let Some(open) = open_in(&m) {
                self.take_open(cx, &m, open);
            } else if let Some(state) = state_in(&m) {
                self.take_state(cx, m, state, None);
            } else {
                let _ = cx.send(reply(
                    &m,
                    Performative::NotUnderstood,
                    None,
                    "no channel object in the proposal",
                ));
            }
        } else if p == Performative::AcceptProposal {
            if let Some(open) = open_in(&m) {
                self.take_open_accepted(cx, open);
            } else if let Some(state) = state_in(&m) {
                self.take_state_accepted(cx, state);
            }
        } else if p == Performative::RejectProposal {
            {
                let why =
                    String::from_utf8_lossy(m.content.as_deref().unwrap_or_default()).into_owned();
                if let Some(avatar) = cx.peers.get(&sender).and_then(|p| p.avatar)
                    && self.opening.remove(&avatar).is_some()
                {
                    cx.log("TE-09", "channel-refused", None, Some(&sender), why);
                    return;
                }
                self.take_state_rejected(cx, &sender, &why);
            }
        }
    }

    fn on_te_notice(&mut self, cx: &mut Context<'_>, notice: &TeNotice) {
        self.restore_known(cx);
        match notice {
            TeNotice::Recorded { transaction, .. } => self.offer_channel(cx, transaction),
            TeNotice::Settled {
                transaction,
                interval,
                amount_minor,
                ..
            } => self.take_settled(cx, transaction, *interval, *amount_minor),
            TeNotice::ChannelRecorded {
                channel, counter, ..
            } => {
                if *counter != 0 {
                    return;
                }
                if let Some(side) = side_of_channel(&mut self.sides, channel) {
                    side.at_node = true;
                    Self::journal_open(&mut *self.journal, cx, side);
                    let peer = side.peer.clone();
                    cx.log(
                        "TE-09",
                        "channel-open",
                        None,
                        Some(&peer),
                        format!("channel {channel} recorded at the TE node"),
                    );
                } else if let Ok(id) = channel.parse::<ChannelId>()
                    && !self.recorded_early.contains(&id)
                {
                    // The countersigned open is still on its way from the other agent.
                    if self.recorded_early.len() >= MAX_RECORDED_EARLY {
                        self.recorded_early.pop_front();
                    }
                    self.recorded_early.push_back(id);
                }
            }
            TeNotice::ChannelPaid {
                channel,
                run,
                payer,
                amount_minor,
                ..
            } => {
                let (Ok(run), Ok(payer)) = (run.parse::<DebtId>(), payer.parse::<AvatarId>())
                else {
                    return;
                };
                let Some(side) = side_of_channel(&mut self.sides, channel) else {
                    return;
                };
                let Some(party) = side.channel.open().party_of(&payer) else {
                    return;
                };
                let payment = Payment {
                    id: run,
                    payer: party,
                    amount: *amount_minor,
                };
                if !side.payments_due.contains(&payment) {
                    side.payments_due.push(payment);
                }
                // The side paid writes it down; the other takes a proposal that waited for this notice.
                if party != side.channel.side() {
                    propose_next(cx, side, &mut *self.journal);
                } else {
                    self.retry_waiting(cx);
                }
            }
            TeNotice::ChannelClosed { channel, .. } => {
                if let Ok(id) = channel.parse::<ChannelId>() {
                    self.sides.retain(|_, s| s.channel.open().channel != id);
                    self.unrestored.retain(|(o, _)| o.body().channel != id);
                    if let Err(e) = self.journal.append(&JournalEntry::Closed(id)) {
                        cx.log(
                            "TE-09",
                            "channel-journal",
                            None,
                            None,
                            format!("channel {id} closed, not written down: {e}"),
                        );
                    }
                }
            }
            TeNotice::Refused { reason, .. } => {
                let Some(channel) = reason
                    .strip_prefix("channel ")
                    .and_then(|r| r.split(':').next())
                else {
                    return;
                };
                if let Some(side) = side_of_channel(&mut self.sides, channel) {
                    side.break_off(
                        cx,
                        format!("{reason}; later intervals are paid through the wallets"),
                    );
                }
            }
            _ => {}
        }
    }

    fn poll_timeout(&self) -> Option<Timestamp> {
        let pending = self.sides.values().filter_map(|s| s.pending_until);
        let opening = self.opening.values().map(|(_, until)| *until);
        let waiting = self.waiting.iter().map(|(_, until)| *until);
        pending.chain(opening).chain(waiting).min()
    }

    fn on_timeout(&mut self, cx: &mut Context<'_>) {
        self.restore_known(cx);
        let now = cx.now;
        self.opening.retain(|_, (_, until)| *until > now);
        let expired: Vec<AclMessage> = {
            let (keep, gone): (Vec<_>, Vec<_>) =
                self.waiting.drain(..).partition(|(_, until)| *until > now);
            self.waiting = keep.into();
            gone.into_iter().map(|(m, _)| m).collect()
        };
        for m in expired {
            let _ = cx.send(reply(
                &m,
                Performative::RejectProposal,
                None,
                "the TE node never told this agent of an interval the state names",
            ));
        }
        for side in self.sides.values_mut() {
            if side.pending_until.is_some_and(|until| until <= now)
                && let Some(withdrawn) = side.channel.withdraw()
            {
                side.pending_until = None;
                let peer = side.peer.clone();
                cx.log(
                    "TE-09",
                    "channel-withdrawn",
                    None,
                    Some(&peer),
                    format!(
                        "state {} not countersigned in time; {} debts paid through the wallets instead",
                        withdrawn.counter,
                        withdrawn.debts.len()
                    ),
                );
            }
        }
    }
}
