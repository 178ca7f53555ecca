//! A third party adds a behaviour to an agent without touching `idea-agent` (AG-10): `HeadroomReporter`
//! answers FIPA `query-ref` messages of its own ontology with the export headroom the cell's commitment book
//! still has in the next settlement interval.
//!
//! Run with `cargo run -p idea-agent --example third_party_behaviour`.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use fipa_acl::{AclMessage, AgentIdentifier, Performative};
use idea_agent::{Agent, AgentConfig, Behaviour, Context, Output, OwnerSettings, Peer};
use idea_proto::{CellRef, Duration, PublicKey, Side, SigningKey, Timestamp};

/// The behaviour: one struct, one trait.
struct HeadroomReporter;

impl HeadroomReporter {
    const ONTOLOGY: &'static str = "acme-headroom";
}

impl Behaviour for HeadroomReporter {
    fn name(&self) -> &str {
        "acme-headroom-reporter"
    }

    fn wants(&self, m: &AclMessage) -> bool {
        m.performative == Performative::QueryRef
            && m.ontology
                .as_ref()
                .is_some_and(|o| o.is_text(HeadroomReporter::ONTOLOGY))
    }

    fn on_message(&mut self, cx: &mut Context<'_>, m: AclMessage) {
        let period = Duration::from_secs(u64::from(cx.settings.settlement_period_s));
        let next = cx
            .now
            .floor_to(period)
            .checked_add(period)
            .unwrap_or(cx.now);
        let headroom = cx.book.headroom(next, Side::Seller);
        let mut answer = m.reply(Performative::Inform, cx.me.clone());
        answer.content = Some(format!("((headroom-w {headroom}))").into());
        if cx.send(answer).is_ok() {
            cx.log(
                "AG-10",
                "headroom-reported",
                None,
                m.sender.as_ref().map(|s| s.name.as_str()),
                format!("{headroom} W at {next}"),
            );
        }
    }
}

fn main() {
    let settings = OwnerSettings::from_toml(include_str!("../data/prosumer.toml")).unwrap();
    let cell = CellRef::new(settings.cell.id.clone(), settings.cell.cell_type);
    let key = SigningKey::from_bytes(&[1; 32]);
    let mut agent = Agent::new(AgentConfig {
        me: AgentIdentifier::new("cell-1@idea"),
        key: key.clone(),
        settings,
        id_seed: [1; 16],
        te: None,
    });
    agent.add_behaviour(Box::new(HeadroomReporter)).unwrap();

    // A monitoring agent the cell's agent knows (its directory entry) asks.
    let monitor_key = SigningKey::from_bytes(&[2; 32]);
    let monitor = AgentIdentifier::new("monitor@acme");
    agent
        .add_peer(Peer {
            agent: monitor.clone(),
            cell: Some(cell),
            key: PublicKey::from(&monitor_key),
            avatar: None,
        })
        .unwrap();
    let mut query = AclMessage::new(Performative::QueryRef)
        .from(monitor)
        .to(agent.me().clone())
        .content("((iota ?w (headroom-w ?w)))");
    query.ontology = Some(HeadroomReporter::ONTOLOGY.into());
    idea_agent::signing::sign(&mut query, &monitor_key);

    let now: Timestamp = "2026-12-02T10:07:00Z".parse().unwrap();
    agent.handle_acl(query, now);
    while let Some(out) = agent.poll_transmit() {
        if let Output::Acl(m) = out {
            let mut wire = Vec::new();
            m.encode_string(&mut wire).unwrap();
            println!("{}", String::from_utf8_lossy(&wire));
        }
    }
    while let Some(event) = agent.poll_event() {
        println!("{}", event.to_json_line());
    }
}
