//! A member's side of the directory ([`crate::directory`]): register, subscribe — to every description, or
//! ([`PlugAndPlay::following`]) only to the providers of some service types, looking other agents up by name
//! when they first write — and turn the directory's results into peers joining and leaving; shared by the
//! agents' [`PlugAndPlay`] behaviour and the service applications (the market learns its traders this way).

use crate::behaviour::{Behaviour, Context, MAX_PEERS, Peer, conversation_of};
use crate::directory::{IDENTITY_SERVICE, Identity, ONTOLOGY, P2P_SERVICE};
use fipa_acl::directory::{DfAgentDescription, ServiceDescription, request};
use fipa_acl::sl0::{Content, ContentElement, Formula, Term};
use fipa_acl::{AclMessage, AgentIdentifier, Expression, Performative};
use idea_proto::{CellRef, Timestamp};
use std::collections::BTreeMap;

/// What a directory message changed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// The registration is done (the subscription follows).
    Registered,
    /// The directory refused or failed the registration; its reason.
    Refused(String),
    /// An agent registered or changed its description (a key rotation among others).
    Joined {
        /// The agent as a peer.
        peer: Box<Peer>,
        /// What it offers besides its identity.
        services: Vec<ServiceDescription>,
    },
    /// An agent deregistered (AUX-09).
    Left(String),
    /// This member's own deregistration is done.
    Deregistered,
    /// This member's `modify` is done (a key rotation takes effect now).
    Modified,
    /// This member's lease was renewed.
    Renewed,
    /// The directory no longer holds this member (its lease ran out before the renewal came): register
    /// again.
    Lapsed(String),
    /// A [`Membership::look_up`] found no agent of that name (or the directory refused the search).
    NotFound(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    Registering,
    Member,
    Leaving,
}

/// The most lookups ([`Membership::look_up`]) one member has waiting at once.
pub const MAX_LOOKUPS: usize = 256;

/// A member of one directory.
#[derive(Debug, Clone)]
pub struct Membership {
    directory: Peer,
    conversation: Option<String>,
    state: State,
    /// The service types it follows; empty: every description.
    follows: Vec<String>,
    /// The lookups waiting for the directory's answer: their conversation, and the name asked.
    lookups: BTreeMap<String, String>,
    /// How many lookups it has asked (their conversations are numbered).
    asked: u64,
}

fn results(m: &AclMessage) -> Vec<DfAgentDescription> {
    let Ok(content) = Content::parse(m.content.as_deref().unwrap_or_default()) else {
        return Vec::new();
    };
    content
        .0
        .iter()
        .filter_map(|e| match e {
            ContentElement::Formula(Formula::Result(_, found)) => found.members(),
            _ => None,
        })
        .flatten()
        .filter_map(DfAgentDescription::from_term)
        .collect()
}

/// The SC00023 `search` of `template`, with at most `max_results` results if given.
fn search(template: &DfAgentDescription, max_results: Option<u32>) -> Term {
    let constraints = max_results
        .map(|n| ("max-results", Term::Number(n.to_string())))
        .into_iter();
    Term::Function {
        symbol: "search".into(),
        args: vec![
            template.to_term(),
            Term::frame("search-constraints", constraints),
        ],
    }
}

/// Whether conversation `c` is the subscription `subscription` or one of its per-type subscriptions.
fn in_subscription(c: &str, subscription: &str) -> bool {
    c.strip_prefix(subscription)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('-'))
}

/// What one description in a directory result says: an agent (re)joined with its identity and services, or
/// — a description without services — left.
fn change_of(d: DfAgentDescription) -> Option<Change> {
    let name = d.name.clone()?;
    if d.services.is_empty() {
        return Some(Change::Left(name.name));
    }
    match Identity::of(&d) {
        Ok(identity) => Some(Change::Joined {
            peer: Box::new(identity.peer(name)),
            services: d
                .services
                .into_iter()
                .filter(|s| s.service_type.as_deref() != Some(IDENTITY_SERVICE))
                .collect(),
        }),
        Err(e) => {
            log::info!("directory: {} ignored: {e}", name.name);
            None
        }
    }
}

impl Membership {
    /// A member of the directory `directory` (its identifier and key), not registered yet.
    pub fn new(directory: Peer) -> Membership {
        Membership {
            directory,
            conversation: None,
            state: State::Idle,
            follows: Vec::new(),
            lookups: BTreeMap::new(),
            asked: 0,
        }
    }

    /// Follows only the descriptions offering a service of one of `types` (one subscription each) instead
    /// of every description; agents it has not heard of are looked up by name when needed
    /// ([`Membership::look_up`]). At scale this is the difference between each member reading every
    /// other's description (quadratic in the members) and reading the few it deals with.
    pub fn following(mut self, types: &[&str]) -> Membership {
        self.follows = types.iter().map(|t| (*t).to_owned()).collect();
        self
    }

    /// Whether it follows only some service types (and looks other agents up by name).
    pub fn looks_up(&self) -> bool {
        !self.follows.is_empty()
    }

    /// SC00023 `search` for the agent named `name` (at most one result), unless that name is already being
    /// looked up, the member is not registered, or [`MAX_LOOKUPS`] are waiting.
    pub fn look_up(&mut self, name: &str) -> Option<AclMessage> {
        let conversation = self.conversation.clone()?;
        if self.state != State::Member
            || self.lookups.len() >= MAX_LOOKUPS
            || self.lookups.values().any(|n| n == name)
        {
            return None;
        }
        self.asked = self.asked.wrapping_add(1);
        let lookup = format!("{conversation}-lookup-{}", self.asked);
        self.lookups.insert(lookup.clone(), name.to_owned());
        let template = DfAgentDescription {
            name: Some(AgentIdentifier::new(name)),
            ..DfAgentDescription::default()
        };
        Some(self.message(search(&template, Some(1)), Performative::Request, lookup))
    }

    /// Whether `name` is being looked up.
    pub fn is_looking_up(&self, name: &str) -> bool {
        self.lookups.values().any(|n| n == name)
    }

    /// Stops waiting for the directory's answer about `name` (it did not come in time): a late answer is
    /// ignored, and a later message from `name` asks again. Without this an unanswered lookup would hold
    /// its place among the [`MAX_LOOKUPS`] for good.
    pub fn give_up(&mut self, name: &str) {
        self.lookups.retain(|_, n| n != name);
    }

    /// The subscriptions to send once registered: one to every description, or one per service type
    /// followed.
    fn subscriptions(&self, subscription: &str) -> Vec<AclMessage> {
        if self.follows.is_empty() {
            let all = search(&DfAgentDescription::default(), None);
            return vec![self.message(all, Performative::Subscribe, subscription.to_owned())];
        }
        self.follows
            .iter()
            .enumerate()
            .map(|(k, kind)| {
                let template = DfAgentDescription {
                    services: vec![ServiceDescription {
                        service_type: Some(kind.clone()),
                        ..ServiceDescription::default()
                    }],
                    ..DfAgentDescription::default()
                };
                self.message(
                    search(&template, None),
                    Performative::Subscribe,
                    format!("{subscription}-{k}"),
                )
            })
            .collect()
    }

    /// The directory.
    pub fn directory(&self) -> &Peer {
        &self.directory
    }

    /// Whether the registration is done.
    pub fn is_member(&self) -> bool {
        self.state == State::Member
    }

    /// The `register` request for `description`, in conversation `conversation`.
    pub fn register(
        &mut self,
        description: &DfAgentDescription,
        conversation: String,
    ) -> AclMessage {
        self.state = State::Registering;
        self.conversation = Some(conversation.clone());
        self.message(
            Term::Function {
                symbol: "register".into(),
                args: vec![description.to_term()],
            },
            Performative::Request,
            conversation,
        )
    }

    /// The `deregister` request for the agent `me` (AUX-09).
    pub fn deregister(&mut self, me: &AgentIdentifier) -> AclMessage {
        self.state = State::Leaving;
        let d = DfAgentDescription {
            name: Some(me.clone()),
            ..DfAgentDescription::default()
        };
        let conversation = format!("{}-leave", self.conversation.clone().unwrap_or_default());
        self.message(
            Term::Function {
                symbol: "deregister".into(),
                args: vec![d.to_term()],
            },
            Performative::Request,
            conversation,
        )
    }

    /// The `modify` request that renews this member's lease: `description` as registered, with its
    /// `:lease-time`.
    pub fn renew(&mut self, description: &DfAgentDescription) -> AclMessage {
        self.modify_in(description, "renew")
    }

    /// The `modify` request replacing this member's description with `description` (AUX-06 names a new key
    /// in it, and the request is still signed with the old one).
    pub fn modify(&mut self, description: &DfAgentDescription) -> AclMessage {
        self.modify_in(description, "modify")
    }

    /// A `modify` of this member's description, in the registration's conversation with `suffix`.
    fn modify_in(&self, description: &DfAgentDescription, suffix: &str) -> AclMessage {
        let conversation = format!("{}-{suffix}", self.conversation.clone().unwrap_or_default());
        self.message(
            Term::Function {
                symbol: "modify".into(),
                args: vec![description.to_term()],
            },
            Performative::Request,
            conversation,
        )
    }

    fn message(&self, act: Term, performative: Performative, conversation: String) -> AclMessage {
        let mut m = request(&self.directory.agent, act);
        m.performative = performative.into();
        m.receivers = vec![self.directory.agent.clone()];
        m.protocol = Some(
            if performative == Performative::Subscribe {
                "fipa-subscribe"
            } else {
                "fipa-request"
            }
            .into(),
        );
        m.conversation_id = Some(Expression::String(conversation.into_bytes()));
        m
    }

    /// Whether `m` is the directory's.
    pub fn wants(&self, m: &AclMessage) -> bool {
        m.sender
            .as_ref()
            .is_some_and(|s| s.name == self.directory.agent.name)
            && m.ontology
                .as_ref()
                .and_then(Expression::as_text)
                .is_some_and(|o| o == ONTOLOGY)
    }

    /// Takes a message from the directory: the changes it brings, and the messages to send back (the
    /// subscriptions, once registered).
    pub fn handle(&mut self, m: &AclMessage) -> (Vec<Change>, Vec<AclMessage>) {
        let Some(conversation) = self.conversation.clone() else {
            return (Vec::new(), Vec::new());
        };
        if let Some(asked) = conversation_of(m).and_then(|c| self.lookups.get(&c).cloned()) {
            return (self.answer(m, asked), Vec::new());
        }
        let subscription = format!("{conversation}-subscription");
        let leaving = format!("{conversation}-leave");
        let modifying = format!("{conversation}-modify");
        let renewing = format!("{conversation}-renew");
        let theirs = conversation_of(m);
        let content =
            || String::from_utf8_lossy(m.content.as_deref().unwrap_or_default()).into_owned();
        match (m.performative.performative(), theirs) {
            (Some(Performative::Inform), Some(c)) if c == conversation => {
                if self.state != State::Registering {
                    return (Vec::new(), Vec::new());
                }
                self.state = State::Member;
                (vec![Change::Registered], self.subscriptions(&subscription))
            }
            (Some(Performative::Refuse | Performative::Failure), Some(c)) if c == conversation => {
                self.state = State::Idle;
                self.lookups.clear();
                (vec![Change::Refused(content())], Vec::new())
            }
            (Some(Performative::Inform), Some(c)) if in_subscription(&c, &subscription) => (
                results(m).into_iter().filter_map(change_of).collect(),
                Vec::new(),
            ),
            (Some(Performative::Inform), Some(c)) if c == leaving => {
                self.state = State::Idle;
                self.lookups.clear();
                (vec![Change::Deregistered], Vec::new())
            }
            (Some(Performative::Inform), Some(c)) if c == modifying => {
                (vec![Change::Modified], Vec::new())
            }
            (Some(Performative::Inform), Some(c)) if c == renewing => {
                (vec![Change::Renewed], Vec::new())
            }
            (Some(Performative::Refuse | Performative::Failure), Some(c))
                if c == renewing && self.state == State::Member =>
            {
                self.state = State::Idle;
                self.lookups.clear();
                (vec![Change::Lapsed(content())], Vec::new())
            }
            (Some(Performative::Refuse | Performative::Failure), Some(c))
                if in_subscription(&c, &subscription) || c == modifying =>
            {
                (vec![Change::Refused(content())], Vec::new())
            }
            _ => (Vec::new(), Vec::new()),
        }
    }

    /// The directory's answer to the lookup of `asked`: the agent found, or that it was not.
    fn answer(&mut self, m: &AclMessage, asked: String) -> Vec<Change> {
        match m.performative.performative() {
            // The search is under way: its result follows.
            Some(Performative::Agree) => Vec::new(),
            Some(Performative::Inform) => {
                if let Some(c) = conversation_of(m) {
                    self.lookups.remove(&c);
                }
                let found: Vec<Change> = results(m)
                    .into_iter()
                    .filter(|d| d.name.as_ref().is_some_and(|n| n.name == asked))
                    .filter_map(change_of)
                    .filter(|c| matches!(c, Change::Joined { .. }))
                    .collect();
                if found.is_empty() {
                    vec![Change::NotFound(asked)]
                } else {
                    found
                }
            }
            _ => {
                if let Some(c) = conversation_of(m) {
                    self.lookups.remove(&c);
                }
                vec![Change::NotFound(asked)]
            }
        }
    }
}

/// A service application's view of the directory: the cells' agents it deals with, kept to what the
/// directory says (cells that register become peers, cells that leave stop being).
#[derive(Debug, Clone)]
pub struct CellDirectory {
    membership: Membership,
    who: String,
}

/// What a service application offers, as it registers with the directory.
#[derive(Debug, Clone, Copy)]
pub struct ServiceOffer<'a> {
    /// The name of its identity entry.
    pub name: &'a str,
    /// The name of the service it offers.
    pub service_name: &'a str,
    /// Its type, e.g. `idea-load-shedding`.
    pub service_type: &'a str,
    /// The interaction protocols it speaks.
    pub protocols: &'a [&'a str],
    /// The ontologies of its content.
    pub ontologies: &'a [&'a str],
}

impl CellDirectory {
    /// Registers the service `description` with `directory`; returns the follower and the request to send.
    pub fn join(
        directory: Peer,
        description: &DfAgentDescription,
        who: &str,
    ) -> (CellDirectory, AclMessage) {
        let mut membership = Membership::new(directory);
        let conversation = format!("{who}-directory");
        let m = membership.register(description, conversation);
        (
            CellDirectory {
                membership,
                who: who.to_owned(),
            },
            m,
        )
    }

    /// Registers a service application with `directory`: its identity (the key it signs with and, where it
    /// records contracts, its TE avatar) under `name`, and what it offers (`service_type`, the protocols and
    /// ontologies it speaks, in SL0); returns the follower and the request to send.
    pub fn join_as_service(
        directory: Peer,
        me: &fipa_acl::AgentIdentifier,
        key: &idea_proto::SigningKey,
        avatar: Option<te_contract::AvatarId>,
        offer: ServiceOffer<'_>,
    ) -> (CellDirectory, AclMessage) {
        use fipa_acl::directory::ServiceDescription;
        let identity = crate::directory::Identity {
            key: idea_proto::PublicKey::from(key),
            cell: None,
            avatar,
        };
        let description = DfAgentDescription {
            name: Some(me.clone()),
            services: vec![
                identity.to_service(offer.name),
                ServiceDescription {
                    name: Some(offer.service_name.to_owned()),
                    service_type: Some(offer.service_type.to_owned()),
                    protocols: offer.protocols.iter().map(|p| (*p).to_owned()).collect(),
                    ontologies: offer.ontologies.iter().map(|o| (*o).to_owned()).collect(),
                    languages: vec!["fipa-sl0".to_owned()],
                    ..ServiceDescription::default()
                },
            ],
            ..DfAgentDescription::default()
        };
        CellDirectory::join(directory, &description, &me.name)
    }

    /// Whether `m` is the directory's.
    pub fn wants(&self, m: &AclMessage) -> bool {
        self.membership.wants(m)
    }

    /// AUX-07: the `modify` request that replaces the service's description with `description` (a new
    /// version of what it offers); the directory tells every cell that follows it.
    pub fn update(&mut self, description: &DfAgentDescription) -> AclMessage {
        self.membership.modify(description)
    }

    /// Takes a directory message (checked against the directory's key) into `peers`; returns what to send
    /// back.
    pub fn handle(
        &mut self,
        m: &AclMessage,
        peers: &mut crate::behaviour::Peers,
    ) -> Vec<AclMessage> {
        if crate::signing::verify(m, &self.membership.directory().key).is_err() {
            log::warn!("{}: a directory message that does not verify", self.who);
            return Vec::new();
        }
        let (changes, reply) = self.membership.handle(m);
        for change in changes {
            match change {
                Change::Joined { peer, .. } if peer.cell.is_some() => {
                    if let Err(e) = peers.insert(*peer) {
                        log::warn!("{}: {e}", self.who);
                    }
                }
                Change::Left(name) => {
                    peers.remove(&name);
                }
                Change::Refused(reason) => {
                    log::warn!("{}: the directory refused: {reason}", self.who);
                }
                _ => {}
            }
        }
        reply
    }
}

/// A service another agent offers, as the directory described it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferedService {
    /// The agent offering it.
    pub provider: AgentIdentifier,
    /// Its description.
    pub description: ServiceDescription,
}

/// The most services an agent keeps on record.
pub const MAX_SERVICES_KNOWN: usize = MAX_PEERS;

/// The services the agent knows of, by type then provider.
#[derive(Debug, Clone, Default)]
pub struct Services {
    by_type: BTreeMap<String, BTreeMap<String, OfferedService>>,
    count: usize,
}

impl Services {
    /// Records what `provider` offers now (replacing what it offered before).
    pub fn offer(&mut self, provider: &AgentIdentifier, services: &[ServiceDescription]) {
        self.withdraw(&provider.name);
        for s in services {
            let Some(kind) = s.service_type.clone() else {
                continue;
            };
            if self.count >= MAX_SERVICES_KNOWN {
                log::warn!(
                    "{MAX_SERVICES_KNOWN} services known; {kind} of {} ignored",
                    provider.name
                );
                return;
            }
            let entry = self.by_type.entry(kind).or_default();
            if entry
                .insert(
                    provider.name.clone(),
                    OfferedService {
                        provider: provider.clone(),
                        description: s.clone(),
                    },
                )
                .is_none()
            {
                self.count = self.count.saturating_add(1);
            }
        }
    }

    /// Forgets what `provider` offered.
    pub fn withdraw(&mut self, provider: &str) {
        for entry in self.by_type.values_mut() {
            if entry.remove(provider).is_some() {
                self.count = self.count.saturating_sub(1);
            }
        }
        self.by_type.retain(|_, e| !e.is_empty());
    }

    /// The providers of services of type `kind`, by name.
    pub fn of_type(&self, kind: &str) -> impl Iterator<Item = &OfferedService> {
        self.by_type
            .get(kind)
            .into_iter()
            .flat_map(BTreeMap::values)
    }

    /// The first provider of a service of type `kind`.
    pub fn find(&self, kind: &str) -> Option<&AgentIdentifier> {
        self.of_type(kind).next().map(|s| &s.provider)
    }

    /// Every service known.
    pub fn iter(&self) -> impl Iterator<Item = &OfferedService> {
        self.by_type.values().flat_map(BTreeMap::values)
    }
}

/// Plug & play (PROP-02, AUX-01, AUX-09; AG-10 built-in behaviour): registers the cell with the directory,
/// subscribes to it, and keeps the agent's peers and known services to what the directory says — so a cell
/// that connects is offered every running service and trades with no manual step.
#[derive(Debug, Clone)]
pub struct PlugAndPlay {
    membership: Membership,
    /// A key rotation the directory has confirmed, for the agent to take up.
    rotated: bool,
    /// The lease the registration asks for, renewed at half of it (none: until deregistered).
    lease: Option<idea_proto::Duration>,
    /// When the lease is renewed next.
    renew_at: Option<Timestamp>,
    /// Names looked up and not found, for the agent to take.
    not_found: Vec<String>,
}

impl PlugAndPlay {
    /// The behaviour's name.
    pub const NAME: &'static str = "plug-and-play";

    /// Plug & play with the directory `directory` (its identifier and key, from the deployment), following
    /// every description in it.
    pub fn new(directory: Peer) -> PlugAndPlay {
        PlugAndPlay {
            membership: Membership::new(directory),
            rotated: false,
            lease: None,
            renew_at: None,
            not_found: Vec::new(),
        }
    }

    /// Follows only the providers of services of `types` (e.g. the market and load shedding) instead of
    /// every agent; a message from an agent not known yet waits while the agent looks its sender up in the
    /// directory ([`crate::Agent`] does this), so each agent reads the descriptions of those it deals with,
    /// not of the whole deployment. A peer's key rotation (AUX-06) reaches such an agent only if it follows
    /// the peer's service type or looks it up again.
    pub fn following(mut self, types: &[&str]) -> PlugAndPlay {
        self.membership = self.membership.following(types);
        self
    }

    /// Whether it looks agents up by name (it follows only some service types).
    pub fn looks_up(&self) -> bool {
        self.membership.looks_up()
    }

    /// Asks the directory for the agent named `name`; whether that lookup is under way (asked now or
    /// before). Not while unregistered, nor beyond [`MAX_LOOKUPS`] at once.
    pub fn look_up(&mut self, cx: &mut Context<'_>, name: &str) -> bool {
        if self.membership.is_looking_up(name) {
            return true;
        }
        let Some(m) = self.membership.look_up(name) else {
            return false;
        };
        cx.send(m).is_ok()
    }

    /// The names the directory did not know since the last call (the agent refuses what they sent).
    pub fn take_not_found(&mut self) -> Vec<String> {
        std::mem::take(&mut self.not_found)
    }

    /// Stops waiting for the directory's answer about `name` ([`Membership::give_up`]).
    pub fn give_up(&mut self, name: &str) {
        self.membership.give_up(name);
    }

    /// Registers for `lease` at a time (SC00023 `:lease-time`), renewed at half of it: a cell whose agent
    /// vanishes without deregistering — its process killed, its link lost — leaves the directory when the
    /// lease runs out, and its peers hear it left. Re-registers if the directory let the lease run out
    /// while the agent lived (a link down for longer than the lease).
    pub fn with_lease(mut self, lease: idea_proto::Duration) -> PlugAndPlay {
        self.lease = Some(lease).filter(|l| l.as_ms() > 0);
        self
    }

    /// The agent's description with this behaviour's lease, if any.
    fn leased_description(&self, cx: &Context<'_>) -> DfAgentDescription {
        let mut description = PlugAndPlay::description(cx);
        description.lease_time = self.lease.and_then(fipa_acl::DateTime::relative);
        description
    }

    /// The next renewal after `now`: half the lease on.
    fn schedule_renewal(&mut self, now: Timestamp) {
        self.renew_at = self.lease.and_then(|l| {
            now.checked_add(idea_proto::Duration::from_ms(l.as_ms() / 2))
                .ok()
        });
    }

    /// Whether the agent is registered.
    pub fn is_member(&self) -> bool {
        self.membership.is_member()
    }

    /// The agent's description: its identity (key, cell, avatar) and the bilateral trading it offers.
    pub fn description(cx: &Context<'_>) -> DfAgentDescription {
        let cell = &cx.settings.cell;
        let identity = Identity {
            key: cx.public_key(),
            cell: Some(CellRef::new(cell.id.clone(), cell.cell_type)),
            avatar: cx.te.map(|t| t.avatar),
        };
        let label = cell.id.as_str();
        DfAgentDescription {
            name: Some(cx.me.clone()),
            services: vec![
                identity.to_service(label),
                ServiceDescription {
                    name: Some(label.to_owned()),
                    service_type: Some(P2P_SERVICE.to_owned()),
                    protocols: vec!["fipa-contract-net".into()],
                    ontologies: vec![fipa_acl::energy::ONTOLOGY.into()],
                    languages: vec!["fipa-sl0".into()],
                    ..ServiceDescription::default()
                },
            ],
            ..DfAgentDescription::default()
        }
    }

    /// AUX-01: connects the cell — registers it with the directory (the subscription follows).
    pub fn join(&mut self, cx: &mut Context<'_>) -> crate::Result<()> {
        cx.peers.insert(self.membership.directory().clone())?;
        let description = self.leased_description(cx);
        let conversation = cx.new_conversation_id();
        let m = self.membership.register(&description, conversation);
        cx.log(
            "AUX-01",
            "registering",
            None,
            Some(&self.membership.directory().agent.name),
            "the cell registers with the directory",
        );
        cx.send(m)
    }

    /// AUX-06: announces `new_key` as the agent's key (a `modify` signed with the current one). The agent
    /// signs with the new key once the directory confirms ([`PlugAndPlay::take_rotated`]).
    pub fn rotate(
        &mut self,
        cx: &mut Context<'_>,
        new_key: idea_proto::PublicKey,
    ) -> crate::Result<()> {
        let mut description = self.leased_description(cx);
        if let Some(identity) = description
            .services
            .iter_mut()
            .find(|s| s.service_type.as_deref() == Some(IDENTITY_SERVICE))
        {
            for (name, value) in &mut identity.properties {
                if name == "key" {
                    *value = Term::String(new_key.to_string().into());
                }
            }
        }
        let m = self.membership.modify(&description);
        cx.log(
            "AUX-06",
            "key-announced",
            None,
            Some(&self.membership.directory().agent.name),
            new_key.to_string(),
        );
        cx.send(m)
    }

    /// Whether the directory confirmed a key rotation since the last call.
    pub fn take_rotated(&mut self) -> bool {
        std::mem::take(&mut self.rotated)
    }

    /// AUX-09: disconnects the cell from the directory. Commitments already recorded go on to settlement.
    pub fn leave(&mut self, cx: &mut Context<'_>) -> crate::Result<()> {
        let m = self.membership.deregister(cx.me);
        cx.log(
            "AUX-09",
            "deregistering",
            None,
            Some(&self.membership.directory().agent.name),
            "the cell leaves the directory",
        );
        cx.send(m)
    }
}

impl Behaviour for PlugAndPlay {
    fn name(&self) -> &str {
        PlugAndPlay::NAME
    }

    fn wants(&self, m: &AclMessage) -> bool {
        self.membership.wants(m)
    }

    fn on_message(&mut self, cx: &mut Context<'_>, m: AclMessage) {
        let directory = self.membership.directory().agent.name.clone();
        let (changes, replies) = self.membership.handle(&m);
        for reply in replies {
            if let Err(e) = cx.send(reply) {
                cx.log(
                    "AUX-01",
                    "subscription-failed",
                    None,
                    Some(&directory),
                    e.to_string(),
                );
            }
        }
        for change in changes {
            match change {
                Change::Registered => {
                    self.schedule_renewal(cx.now);
                    cx.log("AUX-01", "registered", None, Some(&directory), "registered");
                }
                Change::Renewed => {}
                Change::Lapsed(reason) => {
                    cx.log(
                        "AUX-01",
                        "registration-lapsed",
                        None,
                        Some(&directory),
                        format!(
                            "the directory no longer holds the cell ({reason}): registering again"
                        ),
                    );
                    self.renew_at = None;
                    if let Err(e) = self.join(cx) {
                        cx.log(
                            "AUX-01",
                            "registration-failed",
                            None,
                            Some(&directory),
                            e.to_string(),
                        );
                    }
                }
                Change::Refused(reason) => {
                    cx.log(
                        "AUX-01",
                        "registration-refused",
                        None,
                        Some(&directory),
                        reason,
                    );
                }
                Change::Joined { peer, services } => {
                    if peer.agent.name == cx.me.name || peer.agent.name == directory {
                        continue;
                    }
                    let name = peer.agent.name.clone();
                    let detail = match &peer.cell {
                        Some(c) => format!("{} ({})", c.cell, c.cell_type),
                        None => "a service application".to_owned(),
                    };
                    let known = cx.peers.get(&name).is_some();
                    let service_application = peer.cell.is_none();
                    if let Err(e) = cx.peers.insert(*peer) {
                        cx.log("AUX-01", "peer-ignored", None, Some(&name), e.to_string());
                        continue;
                    }
                    let offered: Vec<String> = services
                        .iter()
                        .filter(|s| s.service_type.as_deref() != Some(P2P_SERVICE))
                        .map(|s| s.service_type.clone().unwrap_or_default())
                        .collect();
                    if known {
                        // A known agent's new description: a service application updated (AUX-07), or a
                        // cell's (a key rotated, AUX-06).
                        let step = if service_application {
                            "AUX-07"
                        } else {
                            "AUX-06"
                        };
                        cx.log(step, "peer-updated", None, Some(&name), offered.join(" "));
                    } else {
                        cx.log("AUX-01", "peer-found", None, Some(&name), detail);
                        for kind in offered {
                            cx.log("AUX-01", "service-offered", None, Some(&name), kind);
                        }
                    }
                    let provider = cx.peers.get(&name).map(|p| p.agent.clone());
                    if let Some(provider) = provider {
                        cx.services.offer(&provider, &services);
                    }
                }
                Change::Left(name) => {
                    if name == directory {
                        continue;
                    }
                    cx.services.withdraw(&name);
                    if cx.peers.remove(&name).is_some() {
                        cx.log("AUX-09", "peer-left", None, Some(&name), "deregistered");
                    }
                }
                Change::NotFound(name) => {
                    cx.log(
                        "AG-09",
                        "peer-not-found",
                        None,
                        Some(&name),
                        "the directory holds no agent of this name",
                    );
                    self.not_found.push(name);
                }
                Change::Modified => self.rotated = true,
                Change::Deregistered => {
                    self.renew_at = None;
                    cx.log(
                        "AUX-09",
                        "deregistered",
                        None,
                        Some(&directory),
                        "left the directory",
                    );
                }
            }
        }
    }

    fn poll_timeout(&self) -> Option<Timestamp> {
        self.renew_at
    }

    fn on_timeout(&mut self, cx: &mut Context<'_>) {
        if self.renew_at.is_none_or(|at| at > cx.now) {
            return;
        }
        if !self.membership.is_member() {
            self.renew_at = None;
            return;
        }
        let description = self.leased_description(cx);
        let m = self.membership.renew(&description);
        self.schedule_renewal(cx.now);
        if let Err(e) = cx.send(m) {
            let directory = self.membership.directory().agent.name.clone();
            cx.log(
                "AUX-01",
                "renewal-failed",
                None,
                Some(&directory),
                e.to_string(),
            );
        }
    }
}
