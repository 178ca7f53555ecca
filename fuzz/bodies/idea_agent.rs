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
