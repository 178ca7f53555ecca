//! Replays the fuzz corpora `fuzz/corpus/agent_te_submission/` and `fuzz/corpus/agent_acl/` through the fuzz
//! target bodies; their seeds are the submissions and ACL messages of one recorded trade, as `seeds()` makes
//! them (`IDEA_WRITE_SEEDS=1` writes them again).
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

#[test]
fn seeds_are_the_messages_of_one_recorded_trade() {
    let (te, acl) = seeds();
    assert_eq!(te.len(), 3);
    assert_eq!(acl.len(), 4);
    check_seeds("agent_te_submission", te);
    check_seeds("agent_acl", acl);
}

#[test]
fn agent_te_submission_corpus() {
    let inputs = corpus_files::corpus("agent_te_submission", 3);
    let decoded = inputs.iter().filter(|c| bodies::te_submission(c)).count();
    assert!(decoded >= 3, "{decoded} inputs decoded");
}

#[test]
fn agent_acl_corpus() {
    let inputs = corpus_files::corpus("agent_acl", 4);
    let decoded = inputs.iter().filter(|c| bodies::acl(c)).count();
    assert!(decoded >= 4, "{decoded} inputs decoded");
}
