//! Plug & play through the directory (PROP-02, AUX-01, AUX-06, AUX-09): cells and the market register, a
//! cell that connects later is offered every service and trades with no manual step; strangers, impostors,
//! key rotation and departures — all through the ACL string representation.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use common::*;
use fipa_acl::directory::DfAgentDescription;
use fipa_acl::{AclMessage, AgentIdentifier, Performative};
use idea_agent::directory::{Identity, MARKET_SERVICE};
use idea_agent::signing;
use idea_agent::{
    AclService, Admission, Agent, BuyOrder, DirectoryConfig, DirectoryService, MarketParticipant,
    Membership, Output, P2pBuyer, Peer, PlugAndPlay,
};
use idea_proto::*;
use std::collections::BTreeSet;

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn df_id() -> AgentIdentifier {
    AgentIdentifier::new("df@idea")
}

fn df_key() -> SigningKey {
    SigningKey::from_bytes(&[90; 32])
}

fn df_peer() -> Peer {
    Peer {
        agent: df_id(),
        cell: None,
        key: PublicKey::from(&df_key()),
        avatar: None,
    }
}

fn directory(admission: Admission) -> DirectoryService {
    DirectoryService::new(DirectoryConfig {
        me: df_id(),
        key: df_key(),
        admission,
    })
}

/// Agent `n` of cell `cell-n` with the P2P behaviours, plug & play and a market participant that finds its
/// market in the directory; no peers configured.
fn cell_agent(n: u8) -> Agent {
    let mut a = te_agent(n);
    a.add_behaviour(Box::new(PlugAndPlay::new(df_peer())))
        .unwrap();
    a.add_behaviour(Box::new(MarketParticipant::discovering()))
        .unwrap();
    a.handle_stored_energy(8_000, t("2026-12-02T10:00:00Z"));
    a
}

fn join(a: &mut Agent, now: Timestamp) {
    a.with_behaviour::<PlugAndPlay, _>(now, |p, cx| p.join(cx))
        .unwrap()
        .unwrap();
}

/// Agents and services on one simulated network (every message through the string representation).
struct World {
    agents: Vec<Agent>,
    services: Vec<Box<dyn AclService>>,
    trace: Trace,
}

impl World {
    fn new(services: Vec<Box<dyn AclService>>) -> World {
        World {
            agents: Vec::new(),
            services,
            trace: Trace::default(),
        }
    }

    fn agent(&mut self, name: &str) -> &mut Agent {
        self.agents
            .iter_mut()
            .find(|a| a.me().name == name)
            .unwrap()
    }

    /// Delivers `m` as the network would.
    fn deliver(&mut self, m: AclMessage, now: Timestamp) {
        let mut wire = Vec::new();
        m.encode_string(&mut wire).unwrap();
        let (m, _) = AclMessage::decode_string(&wire).unwrap();
        for s in &mut self.services {
            if m.receivers.contains(s.me()) {
                s.handle_acl(m.clone(), now);
            }
        }
        for a in &mut self.agents {
            if m.receivers.contains(a.me()) {
                a.handle_acl(m.clone(), now);
            }
        }
        self.trace.messages.push(m);
    }

    fn pump(&mut self, now: Timestamp) {
        for _ in 0..200 {
            let mut mail = Vec::new();
            for a in &mut self.agents {
                while let Some(out) = a.poll_transmit() {
                    match out {
                        Output::Acl(m) => mail.push(*m),
                        Output::Command(c) => self.trace.commands.push((a.me().name.clone(), c)),
                        Output::Te(s) => self.trace.te.push((a.me().name.clone(), s)),
                        _ => {}
                    }
                }
                while let Some(e) = a.poll_event() {
                    self.trace.events.push(e);
                }
            }
            for s in &mut self.services {
                while let Some(m) = s.poll_transmit() {
                    mail.push(m);
                }
            }
            if mail.is_empty() {
                return;
            }
            for m in mail {
                self.deliver(m, now);
            }
        }
        panic!("no quiet");
    }

    fn replies_to(&self, name: &str) -> Vec<&AclMessage> {
        self.trace
            .messages
            .iter()
            .filter(|m| m.receivers.iter().any(|r| r.name == name))
            .collect()
    }
}

/// The directory and the market, and cells 1–3 made by `agent`, joined and quiet at `now`.
fn three_cells_joined(agent: fn(u8) -> Agent, now: Timestamp) -> World {
    let mut market = market_service();
    market.join_directory(df_peer());
    let mut w = World::new(vec![Box::new(directory(Admission::Open)), Box::new(market)]);
    for n in 1..=3 {
        let mut a = agent(n);
        join(&mut a, now);
        w.agents.push(a);
    }
    w.pump(now);
    w
}

#[test]
fn a_cell_that_connects_is_offered_every_service_and_trades_with_no_manual_step() {
    let now = t("2026-12-02T10:00:00Z");
    let mut w = three_cells_joined(cell_agent, now);
    for n in 1..=3 {
        let name = format!("cell-{n}@idea");
        let whats = w.trace.whats(&name);
        assert!(whats.contains(&"registered"), "{name}: {whats:?}");
        let peers: Vec<String> = w
            .agent(&name)
            .peers()
            .iter()
            .map(|p| p.agent.name.clone())
            .collect();
        let mut expected: Vec<String> = (1..=3)
            .filter(|&m| m != n)
            .map(|m| format!("cell-{m}@idea"))
            .collect();
        expected.extend(["df@idea".to_owned(), "market@idea".to_owned()]);
        expected.sort();
        assert_eq!(
            peers, expected,
            "{name} knows every cell, the directory and the market"
        );
    }

    // A fifth cell connects during the run (S3): nobody configures anything.
    let later = t("2026-12-02T10:05:00Z");
    let mut newcomer = cell_agent(5);
    join(&mut newcomer, later);
    w.agents.push(newcomer);
    w.pump(later);
    let found: Vec<_> = w
        .trace
        .events
        .iter()
        .filter(|e| e.agent == "cell-5@idea" && e.step == "AUX-01")
        .map(|e| {
            (
                e.what,
                e.counterparty.clone().unwrap_or_default(),
                e.detail.clone(),
            )
        })
        .collect();
    assert!(found.contains(&("registered", "df@idea".into(), "registered".into())));
    assert!(found.contains(&(
        "service-offered",
        "market@idea".into(),
        MARKET_SERVICE.into()
    )));
    for n in 1..=3 {
        assert!(found.contains(&(
            "peer-found",
            format!("cell-{n}@idea"),
            format!("cell-{n} (prosumer)")
        )));
        let theirs = w.trace.events.iter().any(|e| {
            e.agent == format!("cell-{n}@idea")
                && e.what == "peer-found"
                && e.counterparty.as_deref() == Some("cell-5@idea")
        });
        assert!(theirs, "cell-{n} heard of cell-5");
    }
    assert_eq!(
        w.agent("cell-5@idea")
            .services()
            .find(MARKET_SERVICE)
            .map(|m| m.name.as_str()),
        Some("market@idea")
    );

    // It buys bilaterally from the cells it found…
    let start = t("2026-12-02T11:00:00Z");
    let order = BuyOrder {
        reply_within: Duration::from_secs(10),
        ..buy_order(start, &[600])
    };
    w.agent("cell-5@idea")
        .with_behaviour::<idea_agent::P2pBuyer, _>(later, |b, cx| b.buy(cx, order))
        .unwrap()
        .unwrap();
    w.pump(later);
    let replied = later.checked_add(Duration::from_secs(10)).unwrap();
    for a in &mut w.agents {
        if let Some(d) = a.poll_timeout().filter(|d| *d <= replied) {
            a.handle_timeout(d);
        }
    }
    w.pump(replied);
    let agreed = w
        .trace
        .events
        .iter()
        .filter(|e| e.what == "agreed" && e.transaction.is_some())
        .filter(|e| e.agent == "cell-5@idea")
        .count();
    assert!(
        agreed >= 1,
        "the newcomer agreed a trade: {:?}",
        w.trace.whats("cell-5@idea")
    );

    // …and its order reaches the market it found, which knows it from the directory.
    let placed = w
        .agent("cell-5@idea")
        .with_behaviour::<MarketParticipant, _>(later, |p, cx| {
            p.place(
                cx,
                ServiceId::new("p2p-market").unwrap(),
                UserId::new("market-operator").unwrap(),
                Side::Buyer,
                t("2026-12-02T12:00:00Z"),
                300,
            )
        })
        .unwrap();
    assert!(placed.is_ok(), "{placed:?}");
    w.pump(later);
    let booked = w.replies_to("cell-5@idea").into_iter().any(|m| {
        m.sender.as_ref().is_some_and(|s| s.name == "market@idea")
            && m.performative == Performative::AcceptProposal
    });
    assert!(
        booked,
        "the market booked the newcomer's order: {:#?}",
        w.replies_to("cell-5@idea").last()
    );
}

/// A `register` of `description` from `sender`, signed by `signer`.
fn registration(sender: &str, description: &DfAgentDescription, signer: &SigningKey) -> AclMessage {
    let mut membership = Membership::new(df_peer());
    let mut m = membership.register(description, format!("{sender}-join"));
    m.sender = Some(AgentIdentifier::new(sender));
    signing::sign(&mut m, signer);
    m
}

fn description_of(name: &str, key: &SigningKey) -> DfAgentDescription {
    let identity = Identity {
        key: PublicKey::from(key),
        cell: Some(CellRef::new(
            CellId::new("cell-9").unwrap(),
            PowerCellType::Prosumer,
        )),
        avatar: None,
    };
    DfAgentDescription {
        name: Some(AgentIdentifier::new(name)),
        services: vec![identity.to_service("cell-9")],
        ..DfAgentDescription::default()
    }
}

fn answers(df: &mut DirectoryService) -> Vec<(Performative, String)> {
    std::iter::from_fn(|| df.poll_transmit())
        .map(|m| {
            (
                m.performative.performative().unwrap(),
                String::from_utf8_lossy(m.content.as_deref().unwrap_or_default()).into_owned(),
            )
        })
        .collect()
}

#[test]
fn strangers_impostors_and_unenrolled_keys_are_refused_by_the_directory() {
    let now = t("2026-12-02T10:00:00Z");
    let mut df = directory(Admission::Open);
    let owner = key(9);
    let d = description_of("cell-9@idea", &owner);

    // Signed by another key than the one declared: not understood, and nothing registered.
    df.handle_acl(registration("cell-9@idea", &d, &key(10)), now);
    let a = answers(&mut df);
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].0, Performative::NotUnderstood);
    assert!(a[0].1.contains("signature"), "{a:?}");
    assert_eq!(df.registered().count(), 0);

    // Registering someone else: refused as unauthorised.
    df.handle_acl(registration("cell-8@idea", &d, &owner), now);
    assert_eq!(
        answers(&mut df),
        [(Performative::Refuse, "((unauthorised))".to_owned())]
    );

    // A description without an identity: refused with the reason.
    let bare = DfAgentDescription {
        name: Some(AgentIdentifier::new("cell-9@idea")),
        ..DfAgentDescription::default()
    };
    df.handle_acl(registration("cell-9@idea", &bare, &owner), now);
    let a = answers(&mut df);
    assert_eq!(a[0].0, Performative::Refuse);
    assert!(a[0].1.contains("exactly one idea-identity"), "{a:?}");

    // The owner registers; an impostor then re-registering the name with its own key is not understood.
    df.handle_acl(registration("cell-9@idea", &d, &owner), now);
    let a = answers(&mut df);
    assert_eq!(
        a.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
        [Performative::Agree, Performative::Inform]
    );
    let impostor = description_of("cell-9@idea", &key(11));
    df.handle_acl(registration("cell-9@idea", &impostor, &key(11)), now);
    assert_eq!(answers(&mut df)[0].0, Performative::NotUnderstood);
    assert_eq!(
        df.registered()
            .map(|(n, k)| (n.to_owned(), *k))
            .collect::<Vec<_>>(),
        [("cell-9@idea".to_owned(), PublicKey::from(&owner))]
    );

    // A stranger's search: refused, it is not in the directory.
    let mut search = registration("cell-7@idea", &d, &key(7));
    search.content = Some(
        b"((action (agent-identifier :name df@idea) (search (df-agent-description))))"
            .to_vec()
            .into(),
    );
    signing::sign(&mut search, &key(7));
    df.handle_acl(search, now);
    assert_eq!(
        answers(&mut df),
        [(Performative::Refuse, "((unknown-agent))".to_owned())]
    );

    // A closed deployment: only enrolled keys are admitted.
    let enrolled: BTreeSet<String> = [PublicKey::from(&key(3)).to_string()].into();
    let mut closed = directory(Admission::Keys(enrolled));
    closed.handle_acl(registration("cell-9@idea", &d, &owner), now);
    assert_eq!(
        answers(&mut closed),
        [(Performative::Refuse, "((unauthorised))".to_owned())]
    );
    let d3 = description_of("cell-3@idea", &key(3));
    closed.handle_acl(registration("cell-3@idea", &d3, &key(3)), now);
    assert_eq!(answers(&mut closed)[1].0, Performative::Inform);
}

#[test]
fn a_rotated_key_reaches_every_peer_and_a_departed_cell_is_forgotten() {
    let now = t("2026-12-02T10:00:00Z");
    let mut w = World::new(vec![Box::new(directory(Admission::Open))]);
    for n in 1..=2 {
        let mut a = cell_agent(n);
        join(&mut a, now);
        w.agents.push(a);
    }
    w.pump(now);
    assert_eq!(
        w.agent("cell-1@idea")
            .peers()
            .get("cell-2@idea")
            .unwrap()
            .key,
        PublicKey::from(&key(2))
    );

    // AUX-06: cell-2's user changes; the new key is announced with a modify signed by the old one, and the
    // agent signs with the new key once the directory confirms.
    let new_key = key(42);
    w.agent("cell-2@idea")
        .rotate_key(new_key.clone(), now)
        .unwrap();
    w.pump(now);
    assert!(w.trace.whats("cell-2@idea").contains(&"key-rotated"));
    assert_eq!(
        w.agent("cell-1@idea")
            .peers()
            .get("cell-2@idea")
            .unwrap()
            .key,
        PublicKey::from(&new_key),
        "cell-1 took the rotated key from the directory"
    );
    // A message under the old key is now not understood by the directory or the peer.
    let mut stale = AclMessage::new(Performative::Request);
    stale.receivers = vec![df_id(), AgentIdentifier::new("cell-1@idea")];
    stale.sender = Some(AgentIdentifier::new("cell-2@idea"));
    stale.ontology = Some("FIPA-Agent-Management".into());
    stale.conversation_id = Some(fipa_acl::Expression::String(b"stale".to_vec()));
    stale.content = Some(
        b"((action (agent-identifier :name df@idea) (search (df-agent-description))))"
            .to_vec()
            .into(),
    );
    signing::sign(&mut stale, &key(2));
    w.deliver(stale, now);
    w.pump(now);
    let last: Vec<_> = w
        .replies_to("cell-2@idea")
        .into_iter()
        .rev()
        .take(2)
        .map(|m| m.performative.performative().unwrap())
        .collect();
    assert_eq!(
        last,
        [Performative::NotUnderstood, Performative::NotUnderstood]
    );
    // And cell-2 still trades with cell-1 under its new key.
    let order = BuyOrder {
        reply_within: Duration::from_secs(10),
        ..buy_order(t("2026-12-02T11:00:00Z"), &[400])
    };
    w.agent("cell-2@idea")
        .with_behaviour::<P2pBuyer, _>(now, |b, cx| b.buy(cx, order))
        .unwrap()
        .unwrap();
    w.pump(now);
    assert!(
        w.trace.whats("cell-1@idea").contains(&"agreed"),
        "{:?}",
        w.trace.whats("cell-1@idea")
    );

    // AUX-09: cell-1 leaves; cell-2 forgets it, and a message from it is refused as from a stranger.
    let later = t("2026-12-02T10:10:00Z");
    w.agent("cell-1@idea")
        .with_behaviour::<PlugAndPlay, _>(later, |p, cx| p.leave(cx))
        .unwrap()
        .unwrap();
    w.pump(later);
    assert!(w.trace.whats("cell-1@idea").contains(&"deregistered"));
    assert!(w.trace.whats("cell-2@idea").contains(&"peer-left"));
    assert!(w.agent("cell-2@idea").peers().get("cell-1@idea").is_none());
    let mut hello = AclMessage::new(Performative::Inform);
    hello.receivers = vec![AgentIdentifier::new("cell-2@idea")];
    hello.sender = Some(AgentIdentifier::new("cell-1@idea"));
    signing::sign(&mut hello, &key(1));
    w.deliver(hello, later);
    w.pump(later);
    assert!(
        w.trace
            .whats("cell-2@idea")
            .contains(&"refused-unknown-agent")
    );
}

/// AUX-09 without a goodbye: cells register for a minute at a time (SC00023 `:lease-time`) and renew every
/// half minute, the renewals telling the other cells nothing. Cell 2's agent vanishes (no deregistration, no renewal): when its lease runs out the directory
/// takes it out and cell 1 hears it left, while cell 1 — renewing — stays for as long as it lives. A directory
/// that let cell 1's lease run out (its renewals lost) refuses the next renewal, and cell 1 registers again. A
/// lease that names no time to come is refused.
#[test]
fn a_cell_that_vanishes_without_deregistering_leaves_when_its_lease_runs_out() {
    let lease = Duration::from_secs(60);
    let start = t("2026-12-02T10:00:00Z");
    let mut w = World::new(vec![Box::new(directory(Admission::Open))]);
    for n in 1..=3 {
        let mut a = te_agent(n);
        a.add_behaviour(Box::new(PlugAndPlay::new(df_peer()).with_lease(lease)))
            .unwrap();
        join(&mut a, start);
        w.agents.push(a);
    }
    w.pump(start);
    assert!(w.agent("cell-1@idea").peers().get("cell-2@idea").is_some());
    // Cell 2 vanishes: it is no longer run.
    let gone = w.agents.remove(1);
    drop(gone);
    // Three minutes, everyone's deadlines in turn.
    let end = start.checked_add(Duration::from_secs(180)).unwrap();
    let mut now = start;
    while now < end {
        let next = w
            .agents
            .iter()
            .filter_map(Agent::poll_timeout)
            .chain(w.services.iter().filter_map(|s| s.poll_timeout()))
            .min()
            .filter(|n| *n <= end)
            .unwrap_or(end);
        now = next;
        for a in &mut w.agents {
            if a.poll_timeout().is_some_and(|d| d <= now) {
                a.handle_timeout(now);
            }
        }
        for s in &mut w.services {
            if s.poll_timeout().is_some_and(|d| d <= now) {
                s.handle_timeout(now);
            }
        }
        w.pump(now);
    }
    let left: Vec<&idea_agent::Event> = w
        .trace
        .events
        .iter()
        .filter(|e| e.what == "peer-left" && e.agent == "cell-1@idea")
        .collect();
    assert_eq!(left.len(), 1, "{:?}", w.trace.events);
    assert_eq!(left[0].counterparty.as_deref(), Some("cell-2@idea"));
    assert!(left[0].at >= start.checked_add(lease).unwrap());
    assert!(w.agent("cell-1@idea").peers().get("cell-2@idea").is_none());
    // Cell 1 renewed all along and is still there (its subscription too).
    let renewals = w
        .replies_to("df@idea")
        .iter()
        .filter(|m| {
            m.conversation_id
                .as_ref()
                .and_then(fipa_acl::Expression::as_text)
                .is_some_and(|c| c.ends_with("-renew"))
        })
        .count();
    assert!(renewals >= 10, "{renewals} renewals in three minutes");
    // Renewals change nothing the others see: cell 1 found cell 3 once and was never told of it again.
    let about_cell_3 = w
        .trace
        .events
        .iter()
        .filter(|e| e.agent == "cell-1@idea" && e.counterparty.as_deref() == Some("cell-3@idea"))
        .count();
    assert_eq!(about_cell_3, 1, "{:?}", w.trace.events);
    assert!(
        !w.trace
            .whats("cell-1@idea")
            .contains(&"registration-lapsed")
    );

    // The directory lets cell 1's lease run out (its renewals lost on the way): the next renewal is refused
    // and cell 1 registers again.
    let later = end.checked_add(Duration::from_secs(120)).unwrap();
    w.services[0].handle_timeout(later);
    w.pump(later);
    let a = w.agent("cell-1@idea");
    a.handle_timeout(later);
    w.pump(later);
    let whats = w.trace.whats("cell-1@idea");
    assert!(whats.contains(&"registration-lapsed"), "{whats:?}");
    assert_eq!(
        whats.iter().filter(|w| **w == "registered").count(),
        2,
        "{whats:?}"
    );

    // A lease in months names no fixed time: refused.
    let mut df = directory(Admission::Open);
    let mut d = description_of("cell-3@idea", &key(3));
    d.lease_time = Some(fipa_acl::DateTime::parse(b"+00000100T000000000", 0).unwrap());
    df.handle_acl(registration("cell-3@idea", &d, &key(3)), start);
    let answers = answers(&mut df);
    assert_eq!(answers[0].0, Performative::Refuse, "{answers:?}");
    assert!(answers[0].1.contains("lease-time"), "{answers:?}");
}

/// AUX-02 and AUX-07: a service application placed in the directory is offered to the cells, and when it is
/// updated — the market's gate now closes two minutes before each period instead of five — every cell that
/// follows the directory sees the new terms in its description, logged as an update, not as a new peer.
#[test]
fn a_service_application_updated_in_the_directory_reaches_every_cell() {
    let now = t("2026-12-02T10:00:00Z");
    let mut df = directory(Admission::Open);
    let mut market = market_service();
    market.join_directory(df_peer());
    let mut cell = cell_agent(1);
    join(&mut cell, now);
    let mut events = Vec::new();
    let run = |df: &mut DirectoryService,
               market: &mut idea_agent::MarketService,
               cell: &mut Agent,
               events: &mut Vec<idea_agent::Event>| {
        for _ in 0..50 {
            let mut mail: Vec<AclMessage> = Vec::new();
            while let Some(m) = df.poll_transmit() {
                mail.push(m);
            }
            while let Some(m) = market.poll_transmit() {
                mail.push(m);
            }
            while let Some(out) = cell.poll_transmit() {
                if let Output::Acl(m) = out {
                    mail.push(*m);
                }
            }
            events.extend(std::iter::from_fn(|| cell.poll_event()));
            if mail.is_empty() {
                return;
            }
            for m in mail {
                if m.receivers.contains(df.me()) {
                    df.handle_acl(m.clone(), now);
                }
                if m.receivers.contains(market.me()) {
                    market.handle_acl(m.clone(), now);
                }
                if m.receivers.contains(cell.me()) {
                    cell.handle_acl(m, now);
                }
            }
        }
        panic!("no quiet");
    };
    run(&mut df, &mut market, &mut cell, &mut events);
    let gate_closure = |cell: &Agent| {
        let offered = cell.services().of_type(MARKET_SERVICE).next().unwrap();
        offered
            .description
            .properties
            .iter()
            .find(|(name, _)| name == "gate-closure-s")
            .and_then(|(_, v)| v.as_text().map(str::to_owned))
    };
    assert_eq!(gate_closure(&cell).as_deref(), Some("300"));
    assert!(events.iter().any(|e| e.what == "service-offered"));

    market.set_gate_closure(Duration::from_secs(120));
    events.clear();
    run(&mut df, &mut market, &mut cell, &mut events);
    assert_eq!(gate_closure(&cell).as_deref(), Some("120"));
    let whats: Vec<(&str, &str)> = events.iter().map(|e| (e.step, e.what)).collect();
    assert_eq!(whats, [("AUX-07", "peer-updated")], "{events:?}");
    assert_eq!(market.poll_timeout(), None, "no book open yet");
}

/// Agent `n` that follows only the market's providers in the directory and looks other cells up by name.
fn following_agent(n: u8) -> Agent {
    let mut a = te_agent(n);
    a.add_behaviour(Box::new(
        PlugAndPlay::new(df_peer()).following(&[MARKET_SERVICE]),
    ))
    .unwrap();
    a.add_behaviour(Box::new(MarketParticipant::discovering()))
        .unwrap();
    a.handle_stored_energy(8_000, t("2026-12-02T10:00:00Z"));
    a
}

#[test]
fn agents_that_follow_only_services_look_their_counterparty_up_when_it_writes_and_trade() {
    let now = t("2026-12-02T10:00:00Z");
    let mut w = three_cells_joined(following_agent, now);
    // Each knows the directory and the market, and no other cell: nobody read everybody's description.
    for n in 1..=3 {
        let name = format!("cell-{n}@idea");
        let peers: Vec<String> = w
            .agent(&name)
            .peers()
            .iter()
            .map(|p| p.agent.name.clone())
            .collect();
        assert_eq!(peers, ["df@idea", "market@idea"], "{name}");
    }
    let to_cells_from_df = w
        .trace
        .messages
        .iter()
        .filter(|m| m.sender.as_ref().is_some_and(|s| s.name == "df@idea"))
        .filter(|m| m.receivers.iter().any(|r| r.name.starts_with("cell-")))
        .filter(|m| {
            m.content
                .as_deref()
                .unwrap_or_default()
                .windows(7)
                .any(|w| w == b"cell-1@")
        })
        .filter(|m| !m.receivers.iter().any(|r| r.name == "cell-1@idea"))
        .count();
    assert_eq!(to_cells_from_df, 0, "no cell was told of cell-1");

    // cell-1 sells, cell-2 buys; the market matches them at gate closure and names each one's counterparty.
    let place = |w: &mut World, name: &str, side: Side, wh: i64| {
        place_on_market(w.agent(name), side, wh, now).unwrap();
    };
    place(&mut w, "cell-1@idea", Side::Seller, 600);
    place(&mut w, "cell-2@idea", Side::Buyer, 500);
    w.pump(now);
    let closes = t("2026-12-02T10:55:00Z");
    for s in &mut w.services {
        if s.poll_timeout().is_some_and(|d| d <= closes) {
            s.handle_timeout(closes);
        }
    }
    w.pump(closes);
    // The seller's signed contract reached a buyer that had never heard of it: held, looked up, then
    // countersigned and submitted.
    let looked_up = w.trace.events.iter().any(|e| {
        e.agent == "cell-2@idea"
            && e.what == "sender-looked-up"
            && e.counterparty.as_deref() == Some("cell-1@idea")
    });
    assert!(looked_up, "{:?}", w.trace.whats("cell-2@idea"));
    assert!(
        w.trace.whats("cell-2@idea").contains(&"contract-submitted"),
        "{:?}",
        w.trace.whats("cell-2@idea")
    );
    assert!(w.agent("cell-2@idea").peers().get("cell-1@idea").is_some());
    assert!(
        w.trace.te.iter().any(|(who, s)| who == "cell-2@idea"
            && matches!(s, idea_agent::TeSubmission::RecordContract(_)))
    );
    // cell-3 took no part and still knows no cell.
    assert_eq!(w.agent("cell-3@idea").peers().iter().count(), 2);

    // A message from an agent the directory does not hold is held, looked up, and refused as unknown.
    let ghost_key = SigningKey::from_bytes(&[66; 32]);
    let mut m = AclMessage::new(Performative::QueryRef).to(AgentIdentifier::new("cell-3@idea"));
    m.sender = Some(AgentIdentifier::new("ghost@idea"));
    m.content = Some(b"((price))".to_vec().into());
    signing::sign(&mut m, &ghost_key);
    w.deliver(m, closes);
    w.pump(closes);
    let cell3 = w.trace.whats("cell-3@idea");
    assert!(cell3.contains(&"sender-looked-up"), "{cell3:?}");
    assert!(cell3.contains(&"peer-not-found"), "{cell3:?}");
    assert!(cell3.contains(&"refused-unknown-agent"), "{cell3:?}");
    let refused = w.replies_to("ghost@idea");
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].performative, Performative::Refuse);
    assert_eq!(
        refused[0].content.as_deref(),
        Some(&b"((unknown-agent))"[..])
    );
}

#[test]
fn an_agent_may_follow_several_templates_and_hears_of_a_departure_once() {
    let now = t("2026-12-02T10:00:00Z");
    let mut df = directory(Admission::Open);
    let key = SigningKey::from_bytes(&[5; 32]);
    df.handle_acl(
        registration("cell-9@idea", &description_of("cell-9@idea", &key), &key),
        now,
    );
    let _ = answers(&mut df);
    // Subscriptions written out, one per conversation, as a member following some service types sends them.
    let subscribe = |conversation: &str, kind: &str| {
        let mut m = AclMessage::new(Performative::Subscribe).to(df_id());
        m.sender = Some(AgentIdentifier::new("cell-9@idea"));
        m.conversation_id = Some(fipa_acl::Expression::String(
            conversation.as_bytes().to_vec(),
        ));
        m.content = Some(
            format!(
                "((action (agent-identifier :name df@idea) (search (df-agent-description :services (set (service-description :type {kind}))) (search-constraints))))"
            )
            .into_bytes()
            .into(),
        );
        signing::sign(&mut m, &key);
        m
    };
    for k in 0..8 {
        df.handle_acl(subscribe(&format!("s-{k}"), "a"), now);
    }
    assert!(
        answers(&mut df)
            .iter()
            .all(|(p, _)| *p != Performative::Refuse)
    );
    assert_eq!(df.subscribers().collect::<Vec<_>>(), ["cell-9@idea"]);
    df.handle_acl(subscribe("s-8", "b"), now);
    let refused = answers(&mut df);
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].0, Performative::Refuse);
    assert!(
        refused[0].1.contains("too-many-subscriptions"),
        "{refused:?}"
    );
    // The same conversation again replaces its subscription, within the bound.
    df.handle_acl(subscribe("s-7", "b"), now);
    assert!(
        answers(&mut df)
            .iter()
            .all(|(p, _)| *p != Performative::Refuse)
    );

    // Another agent registers and leaves: cell-9 follows "a" eight times but hears of the departure once.
    let other = SigningKey::from_bytes(&[6; 32]);
    df.handle_acl(
        registration(
            "cell-8@idea",
            &description_of("cell-8@idea", &other),
            &other,
        ),
        now,
    );
    let _ = answers(&mut df);
    let mut leave = Membership::new(df_peer());
    let _ = leave.register(&description_of("cell-8@idea", &other), "c8".into());
    let mut m = leave.deregister(&AgentIdentifier::new("cell-8@idea"));
    m.sender = Some(AgentIdentifier::new("cell-8@idea"));
    signing::sign(&mut m, &other);
    df.handle_acl(m, now);
    let told: Vec<_> = std::iter::from_fn(|| df.poll_transmit())
        .filter(|m| m.receivers.iter().any(|r| r.name == "cell-9@idea"))
        .collect();
    assert_eq!(told.len(), 1, "{told:#?}");
}

/// A lookup the directory never answers: the held message is refused when LOOKUP_TIMEOUT runs out —
/// with what the same sender sent after it — and the next message from that sender asks again.
#[test]
fn a_lookup_left_unanswered_times_out_and_the_next_message_asks_again() {
    let now = t("2026-12-02T10:00:00Z");
    let mut w = three_cells_joined(following_agent, now);
    let ghost_key = SigningKey::from_bytes(&[66; 32]);
    let from_ghost = |n: u8| {
        let mut m = AclMessage::new(Performative::QueryRef).to(AgentIdentifier::new("cell-3@idea"));
        m.sender = Some(AgentIdentifier::new("ghost@idea"));
        m.content = Some(format!("((price {n}))").into_bytes().into());
        signing::sign(&mut m, &ghost_key);
        m
    };
    // What cell-3 asks the directory is lost on the way: no answer ever comes.
    let searches = |a: &mut Agent| {
        let mut n = 0;
        while let Some(out) = a.poll_transmit() {
            if let Output::Acl(m) = out
                && m.receivers.iter().any(|r| r.name == "df@idea")
                && m.performative == Performative::Request
            {
                n += 1;
            }
        }
        n
    };
    let cell3 = w.agent("cell-3@idea");
    cell3.handle_acl(from_ghost(1), now);
    let later = now.checked_add(Duration::from_secs(5)).unwrap();
    cell3.handle_acl(from_ghost(2), later);
    assert_eq!(searches(cell3), 1, "one lookup for both messages");
    let due = cell3.poll_timeout().unwrap();
    assert_eq!(due, now.checked_add(idea_agent::LOOKUP_TIMEOUT).unwrap());
    cell3.handle_timeout(due);
    // Both refused as unknown, in the order they came, not one at its own deadline five seconds later.
    let mut refusals = Vec::new();
    while let Some(out) = cell3.poll_transmit() {
        if let Output::Acl(m) = out {
            assert!(m.receivers.iter().any(|r| r.name == "ghost@idea"));
            refusals.push(m.performative);
        }
    }
    assert_eq!(refusals, [Performative::Refuse, Performative::Refuse]);
    assert!(cell3.poll_timeout().is_none_or(|t| t > due));
    // The lookup was given up: the ghost's next message is looked up again.
    let again = due.checked_add(Duration::from_secs(60)).unwrap();
    cell3.handle_acl(from_ghost(3), again);
    assert_eq!(searches(cell3), 1, "a new lookup");
}
