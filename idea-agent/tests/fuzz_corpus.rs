//! Replays the fuzz corpora `fuzz/corpus/agent_te_submission/`, `agent_acl/`, `agent_te_notice/` and
//! `agent_services/` through the fuzz target bodies; their seeds are the submissions and ACL messages of one
//! recorded trade, the node's notices and the messages the service applications take, as the `*seeds()`
//! functions make them (`IDEA_WRITE_SEEDS=1` writes them again).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    missing_docs
)]

#[path = "../../fuzz/bodies/idea_agent.rs"]
mod bodies;

mod common;

#[path = "../../fuzz/bodies/corpus.rs"]
mod corpus_files;

use common::*;
use idea_agent::{P2pBuyer, TeSubmission};
use idea_proto::*;
use te_contract::Signed;

/// One trade between TE-enabled agents: its ACL messages and TE submissions, plus a meter reading and a
/// delivery token.
/// Named seed files of one corpus.
type Seeds = Vec<(String, Vec<u8>)>;

fn seeds() -> (Seeds, Seeds) {
    let now: Timestamp = "2026-12-02T10:00:00Z".parse().unwrap();
    let (mut seller, mut buyer) = (te_agent(1), te_agent(2));
    seller.handle_stored_energy(8_000, now);
    seller.add_peer(te_peer(&buyer, 2)).unwrap();
    buyer.add_peer(te_peer(&seller, 1)).unwrap();
    let order = buy_order("2026-12-02T11:00:00Z".parse().unwrap(), &[600, 700]);
    buyer
        .with_behaviour::<P2pBuyer, _>(now, |b, cx| b.buy(cx, order))
        .unwrap()
        .unwrap();
    let mut trace = Trace::default();
    pump(&mut [&mut seller, &mut buyer], now, &mut trace);
    let acl = trace
        .messages
        .iter()
        .map(|m| {
            let mut wire = Vec::new();
            m.encode_string(&mut wire).unwrap();
            (m.performative.to_string(), wire)
        })
        .collect();
    let mut te = Vec::new();
    for (_, s) in &trace.te {
        let mut bytes = Vec::new();
        s.encode(&mut bytes);
        te.push(("record_contract".to_owned(), bytes));
    }
    let mut reading = Signed::new(
        deployment(),
        te_contract::meter::MeterReading {
            meter: avatar(7),
            sequence: 3,
            at: now,
            import_wh: 10,
            export_wh: 20,
        },
    );
    reading.sign(avatar(7), 0, &key(7)).unwrap();
    let mut bytes = Vec::new();
    TeSubmission::MeterReading(Box::new(reading)).encode(&mut bytes);
    te.push(("meter_reading".to_owned(), bytes));
    let mut token = Signed::new(
        deployment(),
        te_contract::meter::DeliveryToken::new(avatar(7), now, 900, 0, 480, false).unwrap(),
    );
    token.sign(avatar(7), 0, &key(7)).unwrap();
    let mut bytes = Vec::new();
    TeSubmission::DeliveryToken(Box::new(token)).encode(&mut bytes);
    te.push(("delivery_token".to_owned(), bytes));
    // AUX-01 through the network: an agent's registration for a registrar node.
    let mut joining = idea_agent::Agent::new(idea_agent::AgentConfig {
        me: identifier("cell-3@idea"),
        key: key(3),
        settings: settings("cell-3", |s| s),
        id_seed: [3; 16],
        te: Some(idea_agent::TeIdentity {
            deployment: deployment(),
            avatar: idea_agent::te_node::avatar_of_key(&PublicKey::from(&key(3))),
            key_version: 0,
        }),
    });
    joining
        .register_at_te(&PublicKey::from(&key(50)), now)
        .unwrap();
    while let Some(out) = joining.poll_transmit() {
        if let idea_agent::Output::Te(s) = out {
            let mut bytes = Vec::new();
            s.encode(&mut bytes);
            te.push(("register".to_owned(), bytes));
        }
    }
    (te, acl)
}

fn check_seeds(corpus: &str, seeds: Seeds) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(corpus);
    if std::env::var_os("IDEA_WRITE_SEEDS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(&dir).unwrap();
    }
    for (i, (name, bytes)) in seeds.into_iter().enumerate() {
        let file = dir.join(format!("{i:02}_{name}.bin"));
        if std::env::var_os("IDEA_WRITE_SEEDS").is_some_and(|v| v == "1") {
            std::fs::write(&file, &bytes).unwrap();
        }
        let stored = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(stored, bytes, "{}", file.display());
    }
}

/// The notices of a trade's recording and settlement, as the node writes them (JSON).
fn notice_seeds() -> Seeds {
    use idea_agent::TeNotice;
    let id = TransactionId::from_bytes([9; 16]);
    let now: Timestamp = "2026-12-02T10:00:00Z".parse().unwrap();
    let notices = [
        (
            "recorded",
            TeNotice::Recorded {
                to: "cell-1@idea".into(),
                transaction: id,
            },
        ),
        (
            "tokens_to_sign",
            TeNotice::TokensToSign {
                to: "meter-gateway".into(),
                tokens: vec![
                    te_contract::meter::DeliveryToken::new(avatar(7), now, 900, 0, 480, false)
                        .unwrap(),
                ],
            },
        ),
        (
            "settled",
            TeNotice::Settled {
                to: "cell-1@idea".into(),
                transaction: id,
                interval: 0,
                contracted_wh: 500,
                delivered_wh: 480,
                amount_minor: 9,
                penalty_minor: 0,
                complete: true,
            },
        ),
        (
            "registered",
            TeNotice::Registered {
                to: "cell-3@idea".into(),
                avatar: avatar(3).to_string(),
            },
        ),
        (
            "refused",
            TeNotice::Refused {
                to: "cell-2@idea".into(),
                transaction: Some(id),
                reason: "a replay".into(),
            },
        ),
        (
            "cleared",
            TeNotice::Cleared {
                to: "cell-1@idea".into(),
                period_end: now,
                net_minor: [("EUR".to_owned(), 9)].into_iter().collect(),
                paid: vec![idea_agent::te_node::ClearedInterval {
                    transaction: id,
                    interval: 0,
                    amount_minor: 9,
                    complete: true,
                    reason: None,
                }],
                carried: vec![idea_agent::te_node::ClearedInterval {
                    transaction: TransactionId::from_bytes([8; 16]),
                    interval: 3,
                    amount_minor: -2,
                    complete: false,
                    reason: Some("carried to the next clearing".into()),
                }],
                set_aside: Vec::new(),
            },
        ),
        (
            "channel_recorded",
            TeNotice::ChannelRecorded {
                to: "cell-1@idea".into(),
                channel: "09090909090909090909090909090909".into(),
                counter: 3,
                due_minor: -300,
            },
        ),
        (
            "channel_paid",
            TeNotice::ChannelPaid {
                to: "cell-2@idea".into(),
                channel: "09090909090909090909090909090909".into(),
                run: "0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a".into(),
                payer: "01010101010101010101010101010101".into(),
                amount_minor: 1_200,
            },
        ),
        (
            "channel_closed",
            TeNotice::ChannelClosed {
                to: "cell-1@idea".into(),
                channel: "09090909090909090909090909090909".into(),
                counter: 3,
            },
        ),
    ];
    notices
        .into_iter()
        .map(|(name, n)| (name.to_owned(), serde_json::to_vec(&n).unwrap()))
        .collect()
}

/// What the service applications are sent: directory requests and results, load-shedding requests.
fn service_seeds() -> Seeds {
    use fipa_acl::directory::{DfAgentDescription, request};
    use fipa_acl::sl0::Term;
    let df = fipa_acl::AgentIdentifier::new("df@idea");
    let mut seeds = Vec::new();
    let mut push = |name: &str, mut m: fipa_acl::AclMessage| {
        m.sender = Some(fipa_acl::AgentIdentifier::new("cell-2@idea"));
        m.receivers = vec![df.clone()];
        m.conversation_id = Some(fipa_acl::Expression::String(
            b"fuzz-join-subscription".to_vec(),
        ));
        let mut wire = Vec::new();
        m.encode_string(&mut wire).unwrap();
        seeds.push((name.to_owned(), wire));
    };
    let search = Term::Function {
        symbol: "search".into(),
        args: vec![
            DfAgentDescription::default().to_term(),
            Term::frame::<&str>("search-constraints", []),
        ],
    };
    let mut subscribe = request(&df, search.clone());
    subscribe.performative = fipa_acl::Performative::Subscribe.into();
    push("subscribe", subscribe);
    push("search", request(&df, search));
    let me = DfAgentDescription {
        name: Some(fipa_acl::AgentIdentifier::new("cell-2@idea")),
        ..DfAgentDescription::default()
    };
    push(
        "deregister",
        request(
            &df,
            Term::Function {
                symbol: "deregister".into(),
                args: vec![me.to_term()],
            },
        ),
    );
    let mut result = fipa_acl::AclMessage::new(fipa_acl::Performative::Inform);
    result.ontology = Some("FIPA-Agent-Management".into());
    result.content = Some(
        format!(
            "((result (action (agent-identifier :name df@idea) (search (df-agent-description))) (sequence \
             (df-agent-description :name (agent-identifier :name cell-3@idea) :services (set \
             (service-description :name cell-3 :type idea-identity :properties (set (property :name key \
             :value \"{}\") (property :name cell :value cell-3) (property :name cell-type :value prosumer))))))))",
            PublicKey::from(&key(3))
        )
        .into(),
    );
    push("directory_result", result);
    let ls = fipa_acl::AgentIdentifier::new("load-shedding@idea");
    let cell = CellId::new("cell-2").unwrap();
    push(
        "shed_load",
        idea_agent::load_shedding::request(&ls, &cell, Some(500)),
    );
    push(
        "restore_load",
        idea_agent::load_shedding::request(&ls, &cell, None),
    );
    // The arbitrator's question and a permission given back (ARCH-08 option 1).
    let arbitrator = fipa_acl::AgentIdentifier::new("arbitrator@idea");
    let eur = Currency::new("EUR", 2).unwrap();
    let transaction = EnergyTransaction::new(TransactionSpec {
        id: TransactionId::from_bytes([5; 16]),
        service: ServiceId::new("p2p-market").unwrap(),
        subject: Subject::Energy,
        parties: Parties::PeerToPeer {
            seller: CellRef::new(CellId::new("cell-1").unwrap(), PowerCellType::Prosumer),
            buyer: CellRef::new(cell.clone(), PowerCellType::Prosumer),
        },
        terms: Terms::new(TermsSpec {
            window: DeliveryWindow::new("2026-12-02T11:00:00Z".parse().unwrap(), 900, 2).unwrap(),
            profile: Profile::Energy(vec![Energy::from_wh(500); 2]),
            price: EnergyPrice::new(20, eur),
            tolerance: ToleranceBand::default(),
            penalty: EnergyPrice::new(40, eur),
        })
        .unwrap(),
    })
    .unwrap();
    push(
        "arbitrate",
        idea_agent::arbitrator::protocol::ask(&arbitrator, &transaction),
    );
    push(
        "arbitration_release",
        idea_agent::arbitrator::protocol::release(&arbitrator, &transaction.id),
    );
    seeds
}

#[test]
fn notice_and_service_seeds_are_what_the_node_and_agents_write() {
    check_seeds("agent_te_notice", notice_seeds());
    check_seeds("agent_services", service_seeds());
}

#[test]
fn agent_te_notice_corpus() {
    let inputs = corpus_files::corpus("agent_te_notice", 9);
    let parsed = inputs.iter().filter(|c| bodies::te_notice(c)).count();
    assert!(parsed >= 9, "{parsed} inputs parsed");
}

#[test]
fn agent_services_corpus() {
    let inputs = corpus_files::corpus("agent_services", 8);
    let decoded = inputs.iter().filter(|c| bodies::services(c)).count();
    assert!(decoded >= 8, "{decoded} inputs decoded");
}

#[test]
fn seeds_are_the_messages_of_one_recorded_trade() {
    let (te, acl) = seeds();
    assert_eq!(te.len(), 4);
    assert_eq!(acl.len(), 4);
    check_seeds("agent_te_submission", te);
    check_seeds("agent_acl", acl);
}

#[test]
fn agent_te_submission_corpus() {
    // The trade's four, and a channel's open and state (TE-09).
    let inputs = corpus_files::corpus("agent_te_submission", 6);
    let decoded = inputs.iter().filter(|c| bodies::te_submission(c)).count();
    assert!(decoded >= 6, "{decoded} inputs decoded");
}

#[test]
fn agent_acl_corpus() {
    let inputs = corpus_files::corpus("agent_acl", 4);
    let decoded = inputs.iter().filter(|c| bodies::acl(c)).count();
    assert!(decoded >= 4, "{decoded} inputs decoded");
}
