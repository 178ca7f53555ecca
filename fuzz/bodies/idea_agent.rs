//! Fuzz bodies for `idea-agent`: the TE node's submission decoder and the agent's handling of ACL messages;
//! shared by `fuzz_targets/agent_te_submission.rs`, `fuzz_targets/agent_acl.rs` and the corpus replay test
//! `idea-agent/tests/fuzz_corpus.rs`.
#![allow(
    unreachable_pub,
    dead_code,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use fipa_acl::{AclMessage, AgentIdentifier};
use idea_agent::{
    Agent, AgentConfig, MarketParticipant, OwnerSettings, P2pBuyer, P2pSeller, Peer, TeNode,
    TeSubmission,
};
use idea_proto::{CellId, CellRef, PowerCellType, PublicKey, SigningKey, Timestamp};
use te_contract::registry::Registry;
use te_contract::{AvatarId, DeploymentId};

const SETTINGS: &str = include_str!("../../idea-agent/data/prosumer.toml");

fn now() -> Timestamp {
    Timestamp::from_unix_secs(1_796_205_600).unwrap()
}

/// Decodes `data` as a TE submission: what decodes re-encodes to exactly the bytes read, and a TE node (with
/// an empty registry) handles it — and the raw bytes — with a verdict, never a panic. Returns whether it
/// decoded.
pub fn te_submission(data: &[u8]) -> bool {
    let registrar = SigningKey::from_bytes(&[100; 32]);
    let registry = Registry::new(
        DeploymentId::new("idea-fuzz").unwrap(),
        AvatarId::from_bytes([100; 16]),
        PublicKey::from(&registrar),
        now(),
    );
    let mut node = TeNode::new(registry);
    node.handle_bytes("fuzz", data, now());
    while node.poll_notice().is_some() {}
    let Ok((submission, used)) = TeSubmission::decode(data) else {
        return false;
    };
    let mut again = Vec::new();
    submission.encode(&mut again);
    assert_eq!(again, &data[..used], "not canonical");
    node.handle_submission("fuzz", submission, now());
    true
}

/// The key the fuzzed messages' sender signs with, and its identifier.
pub fn sender() -> (AgentIdentifier, SigningKey) {
    (
        AgentIdentifier::new("cell-2@idea"),
        SigningKey::from_bytes(&[2; 32]),
    )
}

/// An agent with every built-in behaviour that knows `sender()` (as cell-2) and a market.
pub fn agent() -> Agent {
    let mut agent = Agent::new(AgentConfig {
        me: AgentIdentifier::new("cell-1@idea"),
        key: SigningKey::from_bytes(&[1; 32]),
        settings: OwnerSettings::from_toml(SETTINGS).unwrap(),
        id_seed: [1; 16],
        te: None,
    });
    agent.add_behaviour(Box::new(P2pSeller::new())).unwrap();
    agent.add_behaviour(Box::new(P2pBuyer::new())).unwrap();
    agent
        .add_behaviour(Box::new(MarketParticipant::new(AgentIdentifier::new(
            "market@idea",
        ))))
        .unwrap();
    let (who, key) = sender();
    agent
        .add_peer(Peer {
            agent: who,
            cell: Some(CellRef::new(
                CellId::new("cell-2").unwrap(),
                PowerCellType::Prosumer,
            )),
            key: PublicKey::from(&key),
            avatar: None,
        })
        .unwrap();
    agent.handle_stored_energy(8_000, now());
    agent
}

/// Decodes `data` as an ACL message in the string representation and hands it to the agent twice: as it
/// came (its signature, if any, checked) and re-signed by the known sender, so the behaviours see it. Then
/// the agent's deadlines are run a day ahead. Nothing may panic. Returns whether it decoded.
pub fn acl(data: &[u8]) -> bool {
    let Ok((m, _)) = AclMessage::decode_string(data) else {
        return false;
    };
    let mut agent = agent();
    agent.handle_acl(m.clone(), now());
    let (who, key) = sender();
    let mut signed = m;
    signed.sender = Some(who);
    idea_agent::signing::sign(&mut signed, &key);
    agent.handle_acl(signed, now());
    while agent.poll_transmit().is_some() {}
    let mut t = now();
    for _ in 0..64 {
        match agent.poll_timeout() {
            Some(next) if next <= Timestamp::from_unix_secs(1_796_292_000).unwrap() => {
                t = next.max(t);
                agent.handle_timeout(t);
                while agent.poll_transmit().is_some() {}
            }
            _ => break,
        }
    }
    while agent.poll_event().is_some() {}
    true
}

/// Decodes `data` as a TE notice's JSON (the payload of the node's signed envelope): what parses writes back
/// to JSON that parses to the same notice (tokens included), and never panics. Returns whether it parsed.
pub fn te_notice(data: &[u8]) -> bool {
    let Ok(notice) = serde_json::from_slice::<idea_agent::TeNotice>(data) else {
        return false;
    };
    let again = serde_json::to_vec(&notice).unwrap();
    let back: idea_agent::TeNotice = serde_json::from_slice(&again).unwrap();
    assert_eq!(back, notice, "not a round trip");
    true
}

/// The directory's key, and the cell agent the services know (cell-2, key 2).
fn directory_key() -> SigningKey {
    SigningKey::from_bytes(&[90; 32])
}

/// Decodes `data` as an ACL message and hands it to the service applications a deployment runs — the
/// directory (as it came, and re-signed by cell-2 once registered), the load-shedding service (re-signed by
/// cell-2's agent) and a plug-and-play agent (re-signed by the directory) — nothing may panic, and nothing
/// the services send is unsigned. Returns whether it decoded.
pub fn services(data: &[u8]) -> bool {
    use idea_agent::directory::Identity;
    use idea_agent::load_shedding::{DEMO_LOADS, LoadSheddingService, loads_from_toml};
    use idea_agent::{Admission, DirectoryConfig, DirectoryService, PlugAndPlay};
    let Ok((m, _)) = AclMessage::decode_string(data) else {
        return false;
    };
    let (who, key) = sender();
    let resign = |m: &AclMessage, sender: &AgentIdentifier, key: &SigningKey| {
        let mut m = m.clone();
        m.sender = Some(sender.clone());
        idea_agent::signing::sign(&mut m, key);
        m
    };
    // The directory, with cell-2 registered.
    let df = AgentIdentifier::new("df@idea");
    let mut directory = DirectoryService::new(DirectoryConfig {
        me: df.clone(),
        key: directory_key(),
        admission: Admission::Open,
    });
    let identity = Identity {
        key: PublicKey::from(&key),
        cell: Some(CellRef::new(
            CellId::new("cell-2").unwrap(),
            PowerCellType::Prosumer,
        )),
        avatar: None,
    };
    let description = fipa_acl::directory::DfAgentDescription {
        name: Some(who.clone()),
        services: vec![identity.to_service("cell-2")],
        ..Default::default()
    };
    let mut membership = idea_agent::Membership::new(Peer {
        agent: df.clone(),
        cell: None,
        key: PublicKey::from(&directory_key()),
        avatar: None,
    });
    let register = membership.register(&description, "fuzz-join".into());
    directory.handle_acl(resign(&register, &who, &key), now());
    directory.handle_acl(m.clone(), now());
    directory.handle_acl(resign(&m, &who, &key), now());
    while let Some(out) = directory.poll_transmit() {
        assert!(!out.user_params.is_empty(), "an unsigned reply");
    }
    // The load-shedding service, asked by cell-2's agent.
    let mut shedding = LoadSheddingService::new(
        AgentIdentifier::new("load-shedding@idea"),
        SigningKey::from_bytes(&[80; 32]),
        loads_from_toml(DEMO_LOADS).unwrap(),
    );
    shedding.add_peer(identity.peer(who.clone())).unwrap();
    shedding.handle_acl(m.clone());
    shedding.handle_acl(resign(&m, &who, &key));
    while shedding.poll_transmit().is_some() {}
    while shedding.poll_command().is_some() {}
    // The arbitrator of the IEEE 33-bus section, asked by cell-2's agent (cell-2 nested behind 29-30).
    let section = "case = \"case33bw.m\"\n[[site]]\ncell = \"cell-1\"\nbus = 2\nmax_import_w = 1e9\n\
                   max_export_w = 1e9\n[[site]]\ncell = \"cell-2\"\nbus = 30\n\
                   connection = { branch = 28, bus = 30 }\nmax_import_w = 700000.0\nmax_export_w = 1e9\n";
    let arbitrator = idea_agent::SectionConfig::from_toml(section)
        .unwrap()
        .arbitrator(include_str!("../../ng-control/data/cases/case33bw.m"))
        .unwrap();
    let mut arbitration = idea_agent::ArbitratorService::new(
        AgentIdentifier::new("arbitrator@idea"),
        SigningKey::from_bytes(&[81; 32]),
        arbitrator,
    );
    arbitration.add_peer(identity.peer(who.clone())).unwrap();
    arbitration.handle_acl(m.clone(), now());
    arbitration.handle_acl(resign(&m, &who, &key), now());
    while let Some(out) = arbitration.poll_transmit() {
        assert!(!out.user_params.is_empty(), "an unsigned reply");
    }
    // A plug-and-play agent, registered and subscribed through the directory above, told by it: the message
    // as it came (re-signed by the directory) and in the agent's subscription conversation.
    let mut agent = agent();
    agent
        .add_behaviour(Box::new(PlugAndPlay::new(Peer {
            agent: df.clone(),
            cell: None,
            key: PublicKey::from(&directory_key()),
            avatar: None,
        })))
        .unwrap();
    agent
        .with_behaviour::<PlugAndPlay, _>(now(), |p, cx| p.join(cx))
        .unwrap()
        .unwrap();
    let mut subscription = None;
    for _ in 0..4 {
        while let Some(out) = agent.poll_transmit() {
            if let idea_agent::Output::Acl(out) = out {
                if out.performative == fipa_acl::Performative::Subscribe {
                    subscription = out.conversation_id.clone();
                }
                directory.handle_acl(*out, now());
            }
        }
        while let Some(reply) = directory.poll_transmit() {
            if reply.receivers.iter().any(|r| r == agent.me()) {
                agent.handle_acl(reply, now());
            }
        }
    }
    agent.handle_acl(resign(&m, &df, &directory_key()), now());
    if let Some(conversation) = subscription {
        let mut told = m;
        told.conversation_id = Some(conversation);
        agent.handle_acl(resign(&told, &df, &directory_key()), now());
    }
    while agent.poll_transmit().is_some() {}
    while agent.poll_event().is_some() {}
    true
}
