//! The load-shedding service application (P2O; the demonstration complex's AMIGO): a cell's agent that
//! cannot keep its power balance asks it to shed load; the service plans which of the cell's remotely
//! controlled relays to open — loads in the owner's shedding order, as few as cover the need — and commands
//! them over MQTT (IOT-05, `idea_sim::mqtt`'s topics); the agent may later ask it to restore them.
//!
//! The protocol, FIPA Request in SL0 (`:ontology idea-load-shedding`), only from the cell's own agent:
//! - `((action (agent-identifier :name load-shedding@idea) (shed-load :cell cell-4 :power-w 1500)))` →
//!   `agree`, then `inform` `((done (action …) ) (shed :relays (sequence "cell4.workshop.relay") :power-w
//!   2300))`, or `failure` `((insufficient-load :available-w 900))` when the cell's sheddable loads cannot
//!   cover the need (nothing is opened then);
//! - `((action … (restore-load :cell cell-4)))` → `agree`, `inform` with the relays closed again.
//!
//! The loads are data ([`SheddableLoad`], read from TOML); their power comes from the meters' published
//! state, the relays' position from theirs.

use crate::behaviour::{Peer, Peers};
use crate::signing;
use fipa_acl::protocol::not_understood;
use fipa_acl::sl0::{Content, ContentElement, Term};
use fipa_acl::{AclMessage, AgentIdentifier, Performative};
use idea_proto::{CellId, SigningKey};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

/// The loads of the demonstration complex (idea-sim's `demo-microgrid`).
pub const DEMO_LOADS: &str = include_str!("../data/load-shedding.toml");

/// The ontology of the service's messages.
pub const ONTOLOGY: &str = "idea-load-shedding";
/// The service type it registers in the directory.
pub const SERVICE_TYPE: &str = "idea-load-shedding";
/// The most loads the service manages.
pub const MAX_LOADS: usize = 4096;

/// A load behind a remotely controlled relay.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SheddableLoad {
    /// The relay's device name (its MQTT topic level).
    pub relay: String,
    /// The meter measuring the load.
    pub meter: String,
    /// The cell it belongs to.
    pub cell: CellId,
    /// Shedding order within the cell: lower is shed first.
    #[serde(default)]
    pub order: u32,
}

/// The loads of a deployment, as TOML: `[[load]] relay = "…" meter = "…" cell = "…" order = 0`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoadsFile {
    load: Vec<SheddableLoad>,
}

/// Reads the loads from TOML.
///
/// # Errors
/// [`crate::Error::Settings`] naming what does not parse, or too many loads.
pub fn loads_from_toml(text: &str) -> crate::Result<Vec<SheddableLoad>> {
    let file: LoadsFile =
        toml::from_str(text).map_err(|e| crate::Error::settings("load", e.message().to_owned()))?;
    if file.load.len() > MAX_LOADS {
        return Err(crate::Error::settings(
            "load",
            format!("at most {MAX_LOADS} loads"),
        ));
    }
    Ok(file.load)
}

/// A relay command to publish: `{"close": close}` to `PREFIX/relay/set`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayCommand {
    /// The relay.
    pub relay: String,
    /// Close (restore) or open (shed).
    pub close: bool,
}

#[derive(Debug, Clone, Default)]
struct LoadState {
    power_w: f64,
    closed: Option<bool>,
}

/// The service (sans-IO).
#[derive(Debug)]
pub struct LoadSheddingService {
    me: AgentIdentifier,
    key: SigningKey,
    loads: Vec<SheddableLoad>,
    /// The loads each device name belongs to (as a meter or a relay), by index in `loads`: a device's
    /// state is applied without scanning every load (thousands on a large feeder).
    by_device: HashMap<String, Vec<usize>>,
    state: BTreeMap<String, LoadState>,
    /// The relays this service opened, per cell.
    shed: BTreeMap<CellId, BTreeSet<String>>,
    peers: Peers,
    outbox: VecDeque<AclMessage>,
    commands: VecDeque<RelayCommand>,
    directory: Option<crate::membership::CellDirectory>,
}

impl LoadSheddingService {
    /// A service over `loads`, answering as `me`.
    pub fn new(
        me: AgentIdentifier,
        key: SigningKey,
        loads: Vec<SheddableLoad>,
    ) -> LoadSheddingService {
        let mut by_device: HashMap<String, Vec<usize>> = HashMap::new();
        for (k, l) in loads.iter().enumerate() {
            by_device.entry(l.meter.clone()).or_default().push(k);
            if l.relay != l.meter {
                by_device.entry(l.relay.clone()).or_default().push(k);
            }
        }
        LoadSheddingService {
            me,
            key,
            loads,
            by_device,
            state: BTreeMap::new(),
            shed: BTreeMap::new(),
            peers: Peers::default(),
            outbox: VecDeque::new(),
            commands: VecDeque::new(),
            directory: None,
        }
    }

    /// Registers the service with the directory `directory` (its key proves its identity): the cells that
    /// register there may ask it.
    pub fn join_directory(&mut self, directory: Peer) {
        let (follower, m) = crate::membership::CellDirectory::join_as_service(
            directory,
            &self.me,
            &self.key,
            None,
            crate::membership::ServiceOffer {
                name: "load-shedding",
                service_name: "load-shedding",
                service_type: SERVICE_TYPE,
                protocols: &["fipa-request"],
                ontologies: &[ONTOLOGY],
            },
        );
        self.directory = Some(follower);
        self.outbox.push_back(m);
    }

    /// Its identifier.
    pub fn me(&self) -> &AgentIdentifier {
        &self.me
    }

    /// A cell's agent that may ask (from the directory).
    pub fn add_peer(&mut self, peer: Peer) -> crate::Result<()> {
        self.peers.insert(peer)
    }

    /// The device names whose state it needs: every load's relay and meter.
    pub fn devices(&self) -> Vec<String> {
        let mut names: BTreeSet<String> = BTreeSet::new();
        for l in &self.loads {
            names.insert(l.relay.clone());
            names.insert(l.meter.clone());
        }
        names.into_iter().collect()
    }

    /// A device's published state (`idea_sim::mqtt`'s JSON): a meter's `p_w`, a relay's `closed`.
    pub fn handle_device_state(&mut self, device: &str, state: &serde_json::Value) {
        let Some(loads) = self.by_device.get(device) else {
            return;
        };
        for l in loads.iter().filter_map(|k| self.loads.get(*k)) {
            if l.meter == device
                && let Some(p) = state.get("p_w").and_then(serde_json::Value::as_f64)
            {
                self.state.entry(l.relay.clone()).or_default().power_w = p.max(0.0);
            }
            if l.relay == device
                && let Some(c) = state.get("closed").and_then(serde_json::Value::as_bool)
            {
                self.state.entry(l.relay.clone()).or_default().closed = Some(c);
            }
        }
    }

    /// The relays it has opened in `cell`.
    pub fn shed_in(&self, cell: &CellId) -> Vec<String> {
        self.shed
            .get(cell)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The relays to open in `cell` for at least `need_w`: closed loads in shedding order, as few as cover
    /// it; or the power available when they cannot.
    pub fn plan(&self, cell: &CellId, need_w: f64) -> Result<(Vec<String>, f64), f64> {
        let mut candidates: Vec<(&SheddableLoad, f64)> = self
            .loads
            .iter()
            .filter(|l| &l.cell == cell)
            .filter_map(|l| {
                let s = self.state.get(&l.relay)?;
                (s.closed == Some(true)).then_some((l, s.power_w))
            })
            .collect();
        candidates.sort_by(|a, b| a.0.order.cmp(&b.0.order).then(b.1.total_cmp(&a.1)));
        let mut chosen = Vec::new();
        let mut total = 0.0;
        for (l, w) in &candidates {
            if total >= need_w {
                break;
            }
            chosen.push(l.relay.clone());
            total += w;
        }
        if total >= need_w {
            Ok((chosen, total))
        } else {
            Err(total)
        }
    }

    /// One incoming message.
    pub fn handle_acl(&mut self, m: AclMessage) {
        if let Some(directory) = self.directory.as_mut().filter(|d| d.wants(&m)) {
            self.outbox.extend(directory.handle(&m, &mut self.peers));
            return;
        }
        let answerable = m.performative != Performative::NotUnderstood;
        let peer = match signing::admit(&m, &self.peers, &self.me) {
            Ok(peer) => peer,
            Err(answer) => {
                self.outbox.extend(answer.map(|a| *a));
                return;
            }
        };
        if m.performative != Performative::Request {
            if answerable {
                self.outbox
                    .push_back(not_understood(&m, &self.me, "the service takes requests"));
            }
            return;
        }
        let Some((act, cell, watts)) = read_request(&m) else {
            self.outbox.push_back(not_understood(
                &m,
                &self.me,
                "expected (shed-load :cell C :power-w W) or (restore-load :cell C)",
            ));
            return;
        };
        if peer.cell.as_ref().is_none_or(|c| c.cell != cell) {
            self.reply(&m, Performative::Refuse, "((unauthorised))".into());
            return;
        }
        self.reply(&m, Performative::Agree, String::new());
        match act.as_str() {
            "shed-load" => match self.plan(&cell, watts) {
                Ok((relays, total)) => {
                    for r in &relays {
                        self.commands.push_back(RelayCommand {
                            relay: r.clone(),
                            close: false,
                        });
                        if let Some(s) = self.state.get_mut(r) {
                            s.closed = Some(false);
                        }
                    }
                    self.shed
                        .entry(cell)
                        .or_default()
                        .extend(relays.iter().cloned());
                    self.reply(&m, Performative::Inform, shed_content(&relays, total));
                }
                Err(available) => self.reply(
                    &m,
                    Performative::Failure,
                    format!("((insufficient-load :available-w {}))", available.round()),
                ),
            },
            _ => {
                let relays: Vec<String> = self
                    .shed
                    .remove(&cell)
                    .map(|s| s.into_iter().collect())
                    .unwrap_or_default();
                for r in &relays {
                    self.commands.push_back(RelayCommand {
                        relay: r.clone(),
                        close: true,
                    });
                }
                self.reply(&m, Performative::Inform, shed_content(&relays, 0.0));
            }
        }
    }

    fn reply(&mut self, m: &AclMessage, p: Performative, content: String) {
        let mut r = m.reply(p, self.me.clone());
        if !content.is_empty() {
            r.content = Some(content.into());
        }
        self.outbox.push_back(r);
    }

    /// The next message to send, signed.
    pub fn poll_transmit(&mut self) -> Option<AclMessage> {
        let mut m = self.outbox.pop_front()?;
        signing::seal(&mut m, &self.me, &self.key);
        Some(m)
    }

    /// The next relay command to publish.
    pub fn poll_command(&mut self) -> Option<RelayCommand> {
        self.commands.pop_front()
    }
}

fn shed_content(relays: &[String], total: f64) -> String {
    let names: Vec<String> = relays.iter().map(|r| format!("{r:?}")).collect();
    format!(
        "((shed :relays (sequence {}) :power-w {}))",
        names.join(" "),
        total.round()
    )
}

/// The act, the cell and the power of a request.
fn read_request(m: &AclMessage) -> Option<(String, CellId, f64)> {
    let content = Content::parse(m.content.as_deref().unwrap_or_default()).ok()?;
    let [ContentElement::Action(action)] = &content.0[..] else {
        return None;
    };
    let act = action.act.symbol()?.to_ascii_lowercase();
    let cell = CellId::new(action.act.param("cell")?.as_text()?).ok()?;
    match act.as_str() {
        "shed-load" => {
            let watts: f64 = action.act.param("power-w")?.as_text()?.parse().ok()?;
            (watts.is_finite() && watts > 0.0).then_some((act, cell, watts))
        }
        "restore-load" => Some((act, cell, 0.0)),
        _ => None,
    }
}

/// The request a cell's agent sends: shed at least `watts` of `cell`'s load (or restore it, `watts` `None`).
pub fn request(service: &AgentIdentifier, cell: &CellId, watts: Option<i64>) -> AclMessage {
    let act = match watts {
        Some(w) => Term::frame(
            "shed-load",
            [
                ("cell", Term::String(cell.as_str().into())),
                ("power-w", Term::Number(w.to_string())),
            ],
        ),
        None => Term::frame(
            "restore-load",
            [("cell", Term::String(cell.as_str().into()))],
        ),
    };
    let content = Content::one(ContentElement::Action(fipa_acl::sl0::Action {
        actor: Term::agent_identifier(service),
        act,
    }));
    let mut m = AclMessage::new(Performative::Request).content(content.to_bytes());
    m.receivers = vec![service.clone()];
    m.protocol = Some("fipa-request".into());
    m.language = Some("fipa-sl0".into());
    m.ontology = Some(ONTOLOGY.into());
    m
}

/// A cell's side of the load-shedding service (AG-10 built-in behaviour): asks it to shed or restore the
/// cell's loads and logs what it did (`load-shed`, `load-shed-failed`, `load-restored`).
#[derive(Debug, Clone)]
pub struct LoadSheddingClient {
    /// The service, once known (given, or found in the directory).
    service: Option<AgentIdentifier>,
    /// Open requests: conversation → shed (true) or restore.
    open: BTreeMap<String, bool>,
}

/// The most requests a client keeps open.
pub const MAX_OPEN_REQUESTS: usize = 64;

impl LoadSheddingClient {
    /// The behaviour's name.
    pub const NAME: &'static str = "load-shedding-client";

    /// A client of the service `service`.
    pub fn new(service: AgentIdentifier) -> LoadSheddingClient {
        LoadSheddingClient {
            service: Some(service),
            open: BTreeMap::new(),
        }
    }

    /// A client of whichever load-shedding service the directory offers (plug & play).
    pub fn discovering() -> LoadSheddingClient {
        LoadSheddingClient {
            service: None,
            open: BTreeMap::new(),
        }
    }

    fn ask(&mut self, cx: &mut crate::Context<'_>, watts: Option<i64>) -> crate::Result<()> {
        if self.open.len() >= MAX_OPEN_REQUESTS {
            return Err(crate::Error::Full {
                what: "load-shedding requests",
                max: MAX_OPEN_REQUESTS,
            });
        }
        let service = self
            .service
            .clone()
            .or_else(|| cx.services.find(SERVICE_TYPE).cloned())
            .ok_or_else(|| {
                crate::Error::settings(
                    "load-shedding",
                    "no service given and none in the directory",
                )
            })?;
        self.service = Some(service.clone());
        let cell = cx.settings.cell.id.clone();
        let mut m = request(&service, &cell, watts);
        let conversation = cx.new_conversation_id();
        m.conversation_id = Some(fipa_acl::Expression::String(
            conversation.clone().into_bytes(),
        ));
        cx.send(m)?;
        self.open.insert(conversation, watts.is_some());
        let what = match watts {
            Some(w) => format!("shed at least {w} W"),
            None => "restore the shed loads".to_owned(),
        };
        cx.log(
            "AG-11",
            "load-shedding-requested",
            None,
            Some(&service.name),
            what,
        );
        Ok(())
    }

    /// Asks the service to shed at least `watts` of the cell's load.
    pub fn shed(&mut self, cx: &mut crate::Context<'_>, watts: i64) -> crate::Result<()> {
        self.ask(cx, Some(watts))
    }

    /// Asks the service to restore what it shed.
    pub fn restore(&mut self, cx: &mut crate::Context<'_>) -> crate::Result<()> {
        self.ask(cx, None)
    }
}

impl crate::Behaviour for LoadSheddingClient {
    fn name(&self) -> &str {
        LoadSheddingClient::NAME
    }

    fn wants(&self, m: &AclMessage) -> bool {
        self.service.is_some()
            && m.sender.as_ref() == self.service.as_ref()
            && crate::behaviour::conversation_of(m).is_some_and(|c| self.open.contains_key(&c))
    }

    fn on_message(&mut self, cx: &mut crate::Context<'_>, m: AclMessage) {
        let Some(conversation) = crate::behaviour::conversation_of(&m) else {
            return;
        };
        let Some(&shedding) = self.open.get(&conversation) else {
            return;
        };
        let content =
            String::from_utf8_lossy(m.content.as_deref().unwrap_or_default()).into_owned();
        let service = self
            .service
            .as_ref()
            .map(|s| s.name.clone())
            .unwrap_or_default();
        let what = match (m.performative.performative(), shedding) {
            (Some(Performative::Agree), _) => return,
            (Some(Performative::Inform), true) => "load-shed",
            (Some(Performative::Inform), false) => "load-restored",
            _ => "load-shed-failed",
        };
        self.open.remove(&conversation);
        cx.log("AG-11", what, None, Some(&service), content);
    }
}

/// The service on FIPA-ACL over MQTT and the relays and meters over MQTT (feature `mqtt`).
#[cfg(feature = "mqtt")]
pub mod link {
    use super::LoadSheddingService;
    use fipa_acl::mqtt::MqttTransport;
    use rumqttc::{Event, MqttOptions, Packet, QoS};

    /// Where the devices publish: the broker and the topic prefix (`idea/devices`).
    #[derive(Debug, Clone)]
    pub struct DeviceBus {
        /// The broker's host.
        pub host: String,
        /// Its port.
        pub port: u16,
        /// The topic prefix.
        pub prefix: String,
    }

    /// Runs the service until its ACL transport or the device bus fails.
    ///
    /// # Errors
    /// [`crate::Error::Link`] saying which failed.
    pub async fn run_load_shedding(
        mut service: LoadSheddingService,
        mut transport: MqttTransport,
        bus: DeviceBus,
    ) -> crate::Result<()> {
        let mut options = MqttOptions::new(
            format!(
                "load-shedding-{}",
                service.me().name.replace(['/', '+', '#', ' '], "_")
            ),
            bus.host.clone(),
            bus.port,
        );
        options.set_keep_alive(std::time::Duration::from_secs(30));
        options.set_max_packet_size(64 * 1024, 64 * 1024);
        let (client, mut events) = fipa_acl::mqtt::client(options, 64);
        for device in service.devices() {
            client
                .subscribe(format!("{}/{device}/state", bus.prefix), QoS::AtLeastOnce)
                .await
                .map_err(|e| crate::Error::Link(format!("device bus: {e}")))?;
        }
        let state_of = |topic: &str| {
            topic
                .strip_prefix(&format!("{}/", bus.prefix))
                .and_then(|rest| rest.strip_suffix("/state"))
                .map(str::to_owned)
        };
        loop {
            while let Some(m) = service.poll_transmit() {
                if let Err(e) = transport.send(&m).await {
                    log::warn!("load shedding: sending {} failed: {e}", m.performative);
                }
            }
            while let Some(c) = service.poll_command() {
                let payload = serde_json::json!({ "close": c.close }).to_string();
                client
                    .publish(
                        format!("{}/{}/set", bus.prefix, c.relay),
                        QoS::AtLeastOnce,
                        false,
                        payload,
                    )
                    .await
                    .map_err(|e| crate::Error::Link(format!("device bus: {e}")))?;
            }
            tokio::select! {
                received = transport.recv() => match received {
                    Ok(m) => service.handle_acl(m),
                    Err(fipa_acl::Error::Transport { reason }) => {
                        return Err(crate::Error::Link(format!("ACL transport: {reason}")));
                    }
                    Err(e) => log::info!("load shedding: an undecodable message: {e}"),
                },
                event = events.poll() => match event {
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        if let (Some(device), Ok(state)) = (
                            state_of(&p.topic),
                            serde_json::from_slice::<serde_json::Value>(&p.payload),
                        ) {
                            service.handle_device_state(&device, &state);
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        log::warn!("load shedding: device bus: {e}");
                        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    }
                },
            }
        }
    }
}
