//! Agents for the tests: the prosumer of `data/prosumer.toml` under other names, wired to each other as
//! peers, and a loop that carries their messages through the ACL string representation.
#![allow(dead_code, unreachable_pub)]

use fipa_acl::{AclMessage, AgentIdentifier};
use idea_agent::{Agent, AgentConfig, Event, Output, OwnerSettings, P2pBuyer, P2pSeller, Peer};
use idea_proto::{CellId, CellRef, PublicKey, SetpointCommand, SigningKey, Timestamp};

pub const PROSUMER: &str = include_str!("../../data/prosumer.toml");

/// The prosumer settings for cell `cell`, with `edit` applied to the TOML text.
pub fn settings(cell: &str, edit: impl Fn(String) -> String) -> OwnerSettings {
    let text = PROSUMER
        .replace("id = \"cell-1\"", &format!("id = \"{cell}\""))
        .replace(
            "agent = \"agent-cell-1\"",
            &format!("agent = \"agent-{cell}\""),
        );
    OwnerSettings::from_toml(&edit(text)).unwrap()
}

pub fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32])
}

/// An agent for `cell` with both P2P behaviours.
pub fn agent(cell: &str, n: u8, settings: OwnerSettings) -> Agent {
    let mut agent = Agent::new(AgentConfig {
        me: AgentIdentifier::new(format!("{cell}@idea")),
        key: key(n),
        settings,
        id_seed: [n; 16],
        te: None,
    });
    agent.add_behaviour(Box::new(P2pSeller::new())).unwrap();
    agent.add_behaviour(Box::new(P2pBuyer::new())).unwrap();
    agent
}

/// An order for energy from any seller: `wh` per 15-minute interval from `start`, answers within 30 s, the
/// default tolerance band, a penalty of 40 per kWh beyond it.
pub fn buy_order(start: Timestamp, wh: &[i64]) -> idea_agent::BuyOrder {
    use idea_proto::{
        DeliveryWindow, Duration, Energy, Profile, ServiceId, Subject, ToleranceBand,
    };
    idea_agent::BuyOrder {
        service: ServiceId::new("p2p-market").unwrap(),
        subject: Subject::Energy,
        window: DeliveryWindow::new(start, 900, u32::try_from(wh.len()).unwrap()).unwrap(),
        profile: Profile::Energy(wh.iter().map(|w| Energy::from_wh(*w)).collect()),
        sellers: Vec::new(),
        reply_within: Duration::from_secs(30),
        tolerance: ToleranceBand::default(),
        penalty_per_kwh: 40,
    }
}

/// Agent `n` of cell `cell-n` with both P2P behaviours and avatar `n` in the test deployment's TE registry.
pub fn te_agent(n: u8) -> Agent {
    let cell = format!("cell-{n}");
    let mut a = Agent::new(AgentConfig {
        me: AgentIdentifier::new(format!("{cell}@idea")),
        key: key(n),
        settings: settings(&cell, |s| s),
        id_seed: [n; 16],
        te: Some(idea_agent::TeIdentity {
            deployment: deployment(),
            avatar: avatar(n),
            key_version: 0,
        }),
    });
    a.add_behaviour(Box::new(P2pSeller::new())).unwrap();
    a.add_behaviour(Box::new(P2pBuyer::new())).unwrap();
    a
}

/// Agent `n` as its peers know it, with its avatar (agents of [`te_agent`]).
pub fn te_peer(agent: &Agent, n: u8) -> Peer {
    Peer {
        avatar: Some(avatar(n)),
        ..peer_of(agent, n)
    }
}

pub fn peer_of(agent: &Agent, n: u8) -> Peer {
    let cell = &agent.settings().cell;
    Peer {
        agent: agent.me().clone(),
        cell: Some(CellRef::new(
            CellId::new(cell.id.as_str()).unwrap(),
            cell.cell_type,
        )),
        key: PublicKey::from(&key(n)),
        avatar: None,
    }
}

/// Everything the agents put out, after delivery.
#[derive(Default, Debug)]
pub struct Trace {
    pub messages: Vec<AclMessage>,
    pub commands: Vec<(String, SetpointCommand)>,
    pub events: Vec<Event>,
    pub te: Vec<(String, idea_agent::TeSubmission)>,
}

impl Trace {
    pub fn whats(&self, agent: &str) -> Vec<&'static str> {
        self.events
            .iter()
            .filter(|e| e.agent == agent)
            .map(|e| e.what)
            .collect()
    }
}

/// Delivers every message between `agents` (encoded and decoded in the string representation) until none
/// is left; messages to unknown receivers are kept in the trace only.
pub fn pump(agents: &mut [&mut Agent], now: Timestamp, trace: &mut Trace) {
    for _ in 0..1000 {
        let mut moved = false;
        let mut mail = Vec::new();
        for a in agents.iter_mut() {
            while let Some(out) = a.poll_transmit() {
                moved = true;
                match out {
                    Output::Acl(m) => {
                        let mut wire = Vec::new();
                        m.encode_string(&mut wire).unwrap();
                        let (back, _) = AclMessage::decode_string(&wire).unwrap();
                        mail.push(back);
                    }
                    Output::Command(c) => trace.commands.push((a.me().name.clone(), c)),
                    Output::Te(s) => trace.te.push((a.me().name.clone(), s)),
                    _ => {}
                }
            }
            while let Some(e) = a.poll_event() {
                trace.events.push(e);
            }
        }
        for m in mail {
            for a in agents.iter_mut() {
                if m.receivers.iter().any(|r| r == a.me()) {
                    a.handle_acl(m.clone(), now);
                }
            }
            trace.messages.push(m);
        }
        if !moved {
            return;
        }
    }
    panic!("the agents did not settle down");
}

/// Runs `agents` until `until`, one deadline at a time, delivering messages at each.
pub fn run_until(agents: &mut [&mut Agent], until: Timestamp, trace: &mut Trace) {
    for _ in 0..10_000 {
        let next = agents.iter().filter_map(|a| a.poll_timeout()).min();
        match next {
            Some(t) if t <= until => {
                for a in agents.iter_mut() {
                    if a.poll_timeout().is_some_and(|d| d <= t) {
                        a.handle_timeout(t);
                    }
                }
                pump(agents, t, trace);
            }
            _ => return,
        }
    }
    panic!("deadlines did not advance");
}

pub fn identifier(name: &str) -> AgentIdentifier {
    AgentIdentifier::new(name)
}

/// The deployment of the TE tests.
pub fn deployment() -> te_contract::DeploymentId {
    te_contract::DeploymentId::new("idea-test").unwrap()
}

/// Avatar `n` (agent `n` signs with `key(n)`).
pub fn avatar(n: u8) -> te_contract::AvatarId {
    te_contract::AvatarId::from_bytes([n; 16])
}

/// The test deployment's registrar, its key and the registry's genesis.
pub fn registrar() -> (te_contract::AvatarId, SigningKey, Timestamp) {
    (
        te_contract::AvatarId::from_bytes([100; 16]),
        SigningKey::from_bytes(&[100; 32]),
        "2026-12-01T00:00:00Z".parse().unwrap(),
    )
}

/// A registration of `avatar` (`kind`, `key`) signed by the registrar and the avatar, at the genesis.
pub fn registration(
    avatar: te_contract::AvatarId,
    kind: te_contract::registry::AvatarKind,
    key: &SigningKey,
) -> te_contract::Signed<te_contract::registry::Registration> {
    let (registrar, registrar_key, at) = registrar();
    let mut r = te_contract::Signed::new(
        deployment(),
        te_contract::registry::Registration {
            registrar,
            avatar,
            kind,
            key: PublicKey::from(key),
            at,
        },
    );
    r.sign(registrar, 0, &registrar_key).unwrap();
    r.sign(avatar, 0, key).unwrap();
    r
}

/// The registrations of the agents `ns` (avatar n, key n).
pub fn registrations(ns: &[u8]) -> Vec<te_contract::Signed<te_contract::registry::Registration>> {
    ns.iter()
        .map(|&n| {
            registration(
                avatar(n),
                te_contract::registry::AvatarKind::Agent(
                    idea_proto::AgentId::new(format!("agent-cell-{n}")).unwrap(),
                ),
                &key(n),
            )
        })
        .collect()
}

/// The test deployment's registry with nobody registered.
pub fn empty_registry() -> te_contract::registry::Registry {
    let (registrar, registrar_key, at) = registrar();
    te_contract::registry::Registry::new(
        deployment(),
        registrar,
        PublicKey::from(&registrar_key),
        at,
    )
}

/// A registry with the agents `ns` registered by the test registrar (avatar n, key n).
pub fn registry(ns: &[u8]) -> te_contract::registry::Registry {
    let mut registry = empty_registry();
    for r in registrations(ns) {
        registry.register(&r).unwrap();
    }
    registry
}

/// The avatar of the meter at cell-1's connection point.
pub fn meter_avatar() -> te_contract::AvatarId {
    te_contract::AvatarId::from_bytes([50; 16])
}

/// The key of that meter.
pub fn meter_key() -> SigningKey {
    SigningKey::from_bytes(&[50; 32])
}

/// The registration of the meter `meter` at cell-1's connection point.
pub fn meter_registration(meter: &str) -> te_contract::Signed<te_contract::registry::Registration> {
    registration(
        meter_avatar(),
        te_contract::registry::AvatarKind::Meter {
            meter: idea_proto::MeterId::new(meter).unwrap(),
            cell: CellId::new("cell-1").unwrap(),
        },
        &meter_key(),
    )
}

/// The registry of `registry(ns)` plus the meter `meter` at cell-1's connection point.
pub fn registry_with_meter(ns: &[u8], meter: &str) -> te_contract::registry::Registry {
    let mut r = registry(ns);
    r.register(&meter_registration(meter)).unwrap();
    r
}

/// The P2P market `market@idea` (key 77) of the test deployment: 15-minute periods, gate closure 5 minutes
/// before.
pub fn market_service() -> idea_agent::MarketService {
    use idea_proto::{Currency, Duration, ServiceId, ToleranceBand, UserId};
    idea_agent::MarketService::new(idea_agent::MarketConfig {
        me: AgentIdentifier::new("market@idea"),
        key: SigningKey::from_bytes(&[77; 32]),
        service: ServiceId::new("p2p-market").unwrap(),
        operator: UserId::new("market-operator").unwrap(),
        currency: Currency::new("EUR", 2).unwrap(),
        period_s: 900,
        gate_closure: Duration::from_mins(5),
        tolerance: ToleranceBand::default(),
        penalty_per_kwh: 40,
        deployment: deployment(),
    })
}

/// A FIPA-ACL transport for agent `me` on the broker at 127.0.0.1:`port`.
#[cfg(feature = "mqtt")]
pub async fn transport(port: u16, me: &AgentIdentifier) -> fipa_acl::mqtt::MqttTransport {
    fipa_acl::mqtt::MqttTransport::connect(
        "127.0.0.1",
        port,
        me.clone(),
        fipa_acl::mqtt::TransportOptions::default(),
    )
    .await
    .unwrap()
}

/// `agent` places a `side` order of `wh` for the 11:00 interval of 2026-12-02 on the `p2p-market` service of
/// `market-operator`, at `now`.
pub fn place_on_market(
    agent: &mut Agent,
    side: idea_proto::Side,
    wh: i64,
    now: Timestamp,
) -> idea_agent::Result<idea_proto::TransactionId> {
    agent
        .with_behaviour::<idea_agent::MarketParticipant, _>(now, |p, cx| {
            p.place(
                cx,
                idea_proto::ServiceId::new("p2p-market").unwrap(),
                idea_proto::UserId::new("market-operator").unwrap(),
                side,
                "2026-12-02T11:00:00Z".parse().unwrap(),
                wh,
            )
        })
        .unwrap()
}
