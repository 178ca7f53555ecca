//! The IDEA directory (PROP-02, AUX-01, AUX-06, AUX-09): the FIPA directory facilitator
//! ([`fipa_acl::directory::DirectoryFacilitator`], SC00023) with what a deployment of signed agents needs on
//! top — every registration proves its key, names are bound to keys, and subscribers hear of every change.
//!
//! The protocol, in SL0 over FIPA-ACL (`:language fipa-sl0`, `:ontology FIPA-Agent-Management`):
//! - **Register** (`request`, `fipa-request`):
//!   `((action (agent-identifier :name df@idea) (register (df-agent-description :name (agent-identifier :name
//!   cell-5@idea) :services (set (service-description :name cell-5 :type idea-identity :properties (set
//!   (property :name key :value "…64 hex…") (property :name cell :value cell-5) (property :name cell-type
//!   :value prosumer) (property :name avatar :value "…32 hex…"))) …)))))`. The `idea-identity` service
//!   ([`IDENTITY_SERVICE`]) carries the agent's public key (required), its cell and cell type (absent for a
//!   service application) and its TE avatar (when it trades through the TE node); the other services are
//!   what it offers (`idea-p2p-market`, `idea-te-node`, …). The message must be signed
//!   ([`crate::signing`]) by the key it declares: a stranger is admitted by proving that key, under the
//!   directory's [`Admission`] policy. The answer is `agree` then `inform` `(done …)`, or `refuse` / `failure`
//!   with the SC00023 reason.
//! - From then on the name is bound to the key: every later message of that name must verify against it, so
//!   nobody else can modify, deregister or re-register it. **Key rotation** (AUX-06) is a `modify` whose
//!   identity names the new key, signed by the old one.
//! - **Subscribe** (`subscribe`, `fipa-subscribe`), only for registered agents: content
//!   `((action (agent-identifier :name df@idea) (search (df-agent-description …) (search-constraints))))`
//!   with the template of interest. The answer is `agree`, then an `inform` `(result … (sequence …))` with
//!   every description matching now, then one `inform` per later change: the new or modified description,
//!   or — for an agent that deregistered (AUX-09) — its bare `(df-agent-description :name …)` without
//!   services. `cancel` in the conversation ends the subscription. An agent may hold a few subscriptions
//!   at once, one per conversation ([`MAX_SUBSCRIPTIONS_PER_AGENT`]) — e.g. one per service type it follows
//!   — and hears of every departure once.
//! - **Deregister**, **modify** and **search** are the facilitator's; deregistering ends the agent's
//!   subscriptions and frees its name. A `search` for a name (`(df-agent-description :name …)`, at most one
//!   result) is how an agent that follows only some service types looks up an agent it has not heard of.
//!
//! Every reply is signed by the directory's key; agents know that key as they know the TE node's. The
//! registrations, subscriptions and pending replies are bounded ([`MAX_REGISTRATIONS`]).

use crate::behaviour::{MAX_PEERS, Peer};
use crate::signing;
use fipa_acl::directory::{DfAgentDescription, DirectoryFacilitator, ServiceDescription};
use fipa_acl::protocol::not_understood;
use fipa_acl::sl0::{Action, Content, ContentElement, Formula, Term};
use fipa_acl::{AclMessage, AgentIdentifier, Performative};
use idea_proto::{CellId, CellRef, PowerCellType, PublicKey, SigningKey, Timestamp};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use te_contract::AvatarId;

/// The service type of the description's identity entry.
pub const IDENTITY_SERVICE: &str = "idea-identity";
/// The service type of a P2P market (`market`).
pub const MARKET_SERVICE: &str = "idea-p2p-market";
/// The service type of the P2P bilateral trading an agent offers (Contract Net, `p2p`).
pub const P2P_SERVICE: &str = "idea-p2p-bilateral";
/// The service type of a TE node.
pub const TE_NODE_SERVICE: &str = "idea-te-node";
/// The most agents registered at once.
pub const MAX_REGISTRATIONS: usize = MAX_PEERS;
/// The most services one description may list.
pub const MAX_SERVICES: usize = 16;
/// The most subscriptions one agent holds at once (one per template it follows).
pub const MAX_SUBSCRIPTIONS_PER_AGENT: usize = 8;
/// The most replies and notifications waiting to be taken.
pub const MAX_PENDING_REPLIES: usize = 1 << 20;

/// The ontology of directory messages.
pub const ONTOLOGY: &str = "FIPA-Agent-Management";

/// Who the directory admits.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Admission {
    /// Any agent that proves the key it declares: plug & play (PROP-02).
    Open,
    /// Only agents whose key is in the set (hex of the 32 bytes), as a closed deployment enrols them.
    Keys(BTreeSet<String>),
}

/// What the IDEA identity entry of a description says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The key the agent signs with.
    pub key: PublicKey,
    /// Its cell, for a cell's agent.
    pub cell: Option<CellRef>,
    /// Its TE avatar.
    pub avatar: Option<AvatarId>,
}

fn property_text<'a>(s: &'a ServiceDescription, name: &str) -> Option<&'a str> {
    s.properties
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.as_text())
}

impl Identity {
    /// The `idea-identity` service description of this identity for the agent whose cell or service is
    /// `label`.
    pub fn to_service(&self, label: &str) -> ServiceDescription {
        let mut properties = vec![("key".to_owned(), Term::String(self.key.to_string().into()))];
        if let Some(cell) = &self.cell {
            properties.push(("cell".into(), Term::String(cell.cell.as_str().into())));
            properties.push(("cell-type".into(), Term::word(cell.cell_type.name())));
        }
        if let Some(avatar) = &self.avatar {
            properties.push(("avatar".into(), Term::String(avatar.to_string().into())));
        }
        ServiceDescription {
            name: Some(label.to_owned()),
            service_type: Some(IDENTITY_SERVICE.to_owned()),
            properties,
            ..ServiceDescription::default()
        }
    }

    /// The identity a description declares; `Err` with the reason when it has none or it is malformed.
    pub fn of(d: &DfAgentDescription) -> Result<Identity, String> {
        let mut entries = d
            .services
            .iter()
            .filter(|s| s.service_type.as_deref() == Some(IDENTITY_SERVICE));
        let (Some(s), None) = (entries.next(), entries.next()) else {
            return Err(format!(
                "exactly one {IDENTITY_SERVICE} service is required"
            ));
        };
        let key = property_text(s, "key")
            .ok_or("the identity has no key")?
            .parse::<PublicKey>()
            .map_err(|e| format!("key: {e}"))?;
        let cell = match (property_text(s, "cell"), property_text(s, "cell-type")) {
            (None, None) => None,
            (Some(cell), Some(kind)) => {
                let cell = CellId::new(cell).map_err(|e| format!("cell: {e}"))?;
                let kind = PowerCellType::ALL
                    .into_iter()
                    .find(|t| t.name() == kind)
                    .ok_or_else(|| format!("cell-type: {kind:?} is not a Table 1 type"))?;
                Some(CellRef::new(cell, kind))
            }
            _ => return Err("a cell needs both cell and cell-type".into()),
        };
        let avatar = property_text(s, "avatar")
            .map(str::parse::<AvatarId>)
            .transpose()
            .map_err(|e| format!("avatar: {e}"))?;
        Ok(Identity { key, cell, avatar })
    }

    /// The peer a registered description stands for.
    pub fn peer(&self, agent: AgentIdentifier) -> Peer {
        Peer {
            agent,
            cell: self.cell.clone(),
            key: self.key,
            avatar: self.avatar,
        }
    }
}

/// One agent's subscription.
#[derive(Debug, Clone)]
struct Subscription {
    /// The `subscribe` it sent (replies quote it).
    opening: AclMessage,
    /// The action it subscribed to (results quote it).
    action: Action,
    template: DfAgentDescription,
}

/// How the directory is run.
#[derive(Debug, Clone)]
pub struct DirectoryConfig {
    /// Its ACL identifier.
    pub me: AgentIdentifier,
    /// The key its replies are signed with.
    pub key: SigningKey,
    /// Who it admits.
    pub admission: Admission,
}

/// The directory service (sans-IO): messages in with [`DirectoryService::handle_acl`], signed replies and
/// notifications out with [`DirectoryService::poll_transmit`].
#[derive(Debug)]
pub struct DirectoryService {
    config: DirectoryConfig,
    df: DirectoryFacilitator,
    keys: BTreeMap<String, PublicKey>,
    /// Subscriptions by subscriber and conversation (an agent may follow a few templates at once).
    subscriptions: BTreeMap<(String, String), Subscription>,
    outbox: VecDeque<AclMessage>,
    /// When each leased registration runs out (SC00023 `:lease-time`); one without a lease holds until the
    /// agent deregisters.
    leases: BTreeMap<String, Timestamp>,
}

/// The longest lease the directory grants: a registration asking for more holds this long (and is renewed
/// as any other).
pub const MAX_LEASE: idea_proto::Duration = idea_proto::Duration::from_mins(60);

/// What a message asks of the directory.
struct Asked {
    function: String,
    description: DfAgentDescription,
    action: Action,
}

fn asked(m: &AclMessage) -> Option<Asked> {
    let content = Content::parse(m.content.as_deref().unwrap_or_default()).ok()?;
    let [ContentElement::Action(action)] = &content.0[..] else {
        return None;
    };
    let function = action.act.symbol()?.to_ascii_lowercase();
    let Term::Function { args, .. } = &action.act else {
        return None;
    };
    let description = DfAgentDescription::from_term(args.first()?)?;
    Some(Asked {
        function,
        description,
        action: action.clone(),
    })
}

impl DirectoryService {
    /// An empty directory.
    pub fn new(config: DirectoryConfig) -> DirectoryService {
        DirectoryService {
            df: DirectoryFacilitator::new(config.me.clone()),
            config,
            keys: BTreeMap::new(),
            subscriptions: BTreeMap::new(),
            outbox: VecDeque::new(),
            leases: BTreeMap::new(),
        }
    }

    /// When the next lease runs out.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.leases.values().min().copied()
    }

    /// Takes out every registration whose lease ran out by `now` — an agent that vanished without
    /// deregistering (its process killed, its link lost) — and tells the subscribers it left (AUX-09).
    pub fn handle_timeout(&mut self, now: Timestamp) {
        let expired: Vec<String> = self
            .leases
            .iter()
            .filter(|(_, until)| **until <= now)
            .map(|(name, _)| name.clone())
            .collect();
        for name in expired {
            self.leases.remove(&name);
            let gone = DfAgentDescription {
                name: Some(AgentIdentifier::new(name.clone())),
                ..DfAgentDescription::default()
            };
            // Already gone from the directory is as good as taken out.
            let _ = self.df.directory_mut().deregister(&gone);
            self.keys.remove(&name);
            self.drop_subscriptions(&name);
            log::info!("directory: the lease of {name} ran out");
            self.notify(&gone);
        }
    }

    /// When the registration of `name` runs out, if it is leased.
    pub fn lease_of(&self, name: &str) -> Option<Timestamp> {
        self.leases.get(name).copied()
    }

    /// Its identifier.
    pub fn me(&self) -> &AgentIdentifier {
        &self.config.me
    }

    /// The public key its replies verify against.
    pub fn public_key(&self) -> PublicKey {
        PublicKey::from(&self.config.key)
    }

    /// The registered agents and their keys.
    pub fn registered(&self) -> impl Iterator<Item = (&str, &PublicKey)> {
        self.keys.iter().map(|(n, k)| (n.as_str(), k))
    }

    /// The agents subscribed (each once, however many templates it follows).
    pub fn subscribers(&self) -> impl Iterator<Item = &str> {
        self.subscriptions
            .keys()
            .map(|(name, _)| name.as_str())
            .collect::<BTreeSet<_>>()
            .into_iter()
    }

    /// Ends every subscription of `name`.
    fn drop_subscriptions(&mut self, name: &str) {
        self.subscriptions.retain(|(n, _), _| n != name);
    }

    fn push(&mut self, m: AclMessage) {
        if self.outbox.len() >= MAX_PENDING_REPLIES {
            log::warn!("directory: {MAX_PENDING_REPLIES} replies wait; one dropped");
            return;
        }
        self.outbox.push_back(m);
    }

    fn refuse(&mut self, m: &AclMessage, reason: &str) {
        let mut r = m.reply(Performative::Refuse, self.config.me.clone());
        r.content = Some(format!("(({reason}))").into());
        self.push(r);
    }

    /// One incoming message.
    pub fn handle_acl(&mut self, m: AclMessage, now: Timestamp) {
        let answerable = !matches!(
            m.performative.performative(),
            Some(Performative::NotUnderstood | Performative::Refuse | Performative::Failure)
        );
        let Some(sender) = m.sender.as_ref().map(|s| s.name.clone()) else {
            return;
        };
        let request = asked(&m);
        let key = match self.keys.get(&sender) {
            Some(key) => *key,
            None => {
                // A stranger may only register itself, proving the key it declares.
                let Some(Asked {
                    function,
                    description,
                    ..
                }) = request
                    .as_ref()
                    .filter(|_| m.performative == Performative::Request)
                else {
                    if answerable {
                        self.refuse(&m, "unknown-agent");
                    }
                    return;
                };
                if function != "register" {
                    self.refuse(&m, "unknown-agent");
                    return;
                }
                match self.admit(&sender, description) {
                    Ok(key) => key,
                    Err(reason) => {
                        log::info!("directory: {sender} not admitted: {reason}");
                        self.refuse(&m, &reason);
                        return;
                    }
                }
            }
        };
        if let Err(fault) = signing::verify(&m, &key) {
            if answerable {
                self.push(not_understood(&m, &self.config.me, fault.reason()));
            }
            return;
        }
        match m.performative.performative() {
            Some(Performative::Subscribe) => self.subscribe(&sender, m),
            Some(Performative::Cancel) => self.cancel(&sender, &m),
            Some(Performative::Request) => self.request(&sender, m, request, now),
            _ if answerable => self.push(not_understood(
                &m,
                &self.config.me,
                "the directory takes request, subscribe and cancel",
            )),
            _ => {}
        }
    }

    /// Whether a stranger registering `d` as `sender` is admitted; its declared key.
    fn admit(&self, sender: &str, d: &DfAgentDescription) -> Result<PublicKey, String> {
        if d.name.as_ref().is_none_or(|n| n.name != sender) {
            return Err("unauthorised".into());
        }
        let identity =
            Identity::of(d).map_err(|e| format!("unrecognised-value identity \"{e}\""))?;
        if let Admission::Keys(keys) = &self.config.admission
            && !keys.contains(&identity.key.to_string())
        {
            return Err("unauthorised".into());
        }
        if self.keys.len() >= MAX_REGISTRATIONS {
            return Err("directory-full".into());
        }
        Ok(identity.key)
    }

    fn request(&mut self, sender: &str, m: AclMessage, asked: Option<Asked>, now: Timestamp) {
        let writes = asked
            .as_ref()
            .filter(|a| a.function == "register" || a.function == "modify");
        if let Some(a) = writes {
            if a.description.services.len() > MAX_SERVICES {
                self.refuse(&m, "too-many-services");
                return;
            }
            if let Some(lease) = a.description.lease_time
                && lease.to_timestamp(now).is_none_or(|until| until <= now)
            {
                self.refuse(&m, "unrecognised-value lease-time");
                return;
            }
            if let Err(e) = Identity::of(&a.description) {
                self.refuse(&m, &format!("unrecognised-value identity \"{e}\""));
                return;
            }
        }
        // What the agent had registered, to tell a renewal (the same description, a new lease) from a change.
        let before = asked
            .as_ref()
            .filter(|a| a.function == "modify")
            .and_then(|a| a.description.name.as_ref())
            .and_then(|name| self.df.directory().df_description(&name.name))
            .cloned();
        let replies = self.df.handle(m, now);
        let done = replies
            .iter()
            .any(|r| r.performative == Performative::Inform);
        for reply in replies {
            self.push(reply);
        }
        let Some(asked) = asked.filter(|_| done) else {
            return;
        };
        match asked.function.as_str() {
            "register" | "modify" => {
                if let Ok(identity) = Identity::of(&asked.description) {
                    self.keys.insert(sender.to_owned(), identity.key);
                }
                let most = now.checked_add(MAX_LEASE).unwrap_or(now);
                match asked
                    .description
                    .lease_time
                    .and_then(|lease| lease.to_timestamp(now))
                {
                    Some(until) => {
                        self.leases.insert(sender.to_owned(), until.min(most));
                    }
                    None => {
                        self.leases.remove(sender);
                    }
                }
                // A renewal changes nothing the subscribers see: they are not told.
                let unchanged = before.is_some_and(|b| {
                    DfAgentDescription {
                        lease_time: None,
                        ..b
                    } == DfAgentDescription {
                        lease_time: None,
                        ..asked.description.clone()
                    }
                });
                if !unchanged {
                    self.notify(&asked.description);
                }
            }
            "deregister" => {
                self.leases.remove(sender);
                self.keys.remove(sender);
                self.drop_subscriptions(sender);
                self.notify(&DfAgentDescription {
                    name: asked.description.name.clone(),
                    ..DfAgentDescription::default()
                });
            }
            _ => {}
        }
    }

    /// Tells every subscription whose template `d` matches; a departure, every subscriber once (whatever it
    /// follows, it may have looked the agent up).
    fn notify(&mut self, d: &DfAgentDescription) {
        let leaving = d.services.is_empty();
        let mut out = Vec::new();
        let mut told: Option<&str> = None;
        for ((name, _), s) in &self.subscriptions {
            if d.name.as_ref().is_some_and(|n| &n.name == name) {
                continue;
            }
            if leaving {
                // Keys are ordered by subscriber: its subscriptions are consecutive.
                if told != Some(name.as_str()) {
                    told = Some(name.as_str());
                    out.push(self.result(s, vec![d.to_term()]));
                }
            } else if d.matches(&s.template) {
                out.push(self.result(s, vec![d.to_term()]));
            }
        }
        for m in out {
            self.push(m);
        }
    }

    fn result(&self, s: &Subscription, found: Vec<Term>) -> AclMessage {
        let mut r = s
            .opening
            .reply(Performative::Inform, self.config.me.clone());
        r.content = Some(
            Content::one(ContentElement::Formula(Formula::Result(
                Term::Action(Box::new(s.action.clone())),
                Term::Sequence(found),
            )))
            .to_bytes()
            .into(),
        );
        r
    }

    fn subscribe(&mut self, sender: &str, m: AclMessage) {
        let Some(asked) = asked(&m).filter(|a| a.function == "search") else {
            self.refuse(&m, "unrecognised-value subscription");
            return;
        };
        let conversation = crate::behaviour::conversation_of(&m).unwrap_or_default();
        let key = (sender.to_owned(), conversation);
        let held = self
            .subscriptions
            .range((sender.to_owned(), String::new())..)
            .take_while(|((n, _), _)| n == sender)
            .count();
        if held >= MAX_SUBSCRIPTIONS_PER_AGENT && !self.subscriptions.contains_key(&key) {
            self.refuse(&m, "too-many-subscriptions");
            return;
        }
        let agree = m.reply(Performative::Agree, self.config.me.clone());
        self.push(agree);
        let subscription = Subscription {
            opening: m,
            action: asked.action,
            template: asked.description,
        };
        let found = self
            .df
            .directory()
            .search(&subscription.template, None)
            .iter()
            .filter(|d| d.name.as_ref().is_none_or(|n| n.name != sender))
            .map(DfAgentDescription::to_term)
            .collect();
        let first = self.result(&subscription, found);
        self.push(first);
        self.subscriptions.insert(key, subscription);
    }

    fn cancel(&mut self, sender: &str, m: &AclMessage) {
        let key = (
            sender.to_owned(),
            crate::behaviour::conversation_of(m).unwrap_or_default(),
        );
        if !self.subscriptions.contains_key(&key) {
            self.push(not_understood(
                m,
                &self.config.me,
                "no subscription in this conversation",
            ));
            return;
        }
        self.subscriptions.remove(&key);
        let mut done = m.reply(Performative::Inform, self.config.me.clone());
        done.content = Some(
            Content::one(ContentElement::Formula(Formula::Done(Action {
                actor: Term::agent_identifier(&self.config.me),
                act: Term::word("cancel"),
            })))
            .to_bytes()
            .into(),
        );
        self.push(done);
    }

    /// The next message to send, signed by the directory.
    pub fn poll_transmit(&mut self) -> Option<AclMessage> {
        let mut m = self.outbox.pop_front()?;
        signing::seal(&mut m, &self.config.me, &self.config.key);
        Some(m)
    }
}
