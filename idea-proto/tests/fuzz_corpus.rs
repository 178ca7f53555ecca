//! Replays every file of the fuzz corpora under `fuzz/corpus/` through the fuzz target bodies, as ordinary
//! tests. Run `WRITE_FUZZ_SEEDS=1 cargo test -p idea-proto --test fuzz_corpus -- --ignored` to regenerate the
//! seed files from the property-test strategies.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../../fuzz/bodies/idea_proto.rs"]
mod bodies;

use std::path::PathBuf;

fn corpus(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target)
}

fn replay(target: &str, body: fn(&[u8])) {
    let dir = corpus(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {} must exist: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(
        files.len() >= 5,
        "corpus {target} has only {} files",
        files.len()
    );
    for file in files {
        let data = std::fs::read(&file).unwrap();
        body(&data);
    }
}

#[test]
fn proto_message_corpus() {
    replay("proto_message", bodies::proto_message);
}

#[test]
fn signed_envelope_corpus() {
    replay("signed_envelope", bodies::signed_envelope);
}

#[test]
fn json_message_corpus() {
    replay("json_message", bodies::json_message);
}

#[test]
#[ignore = "writes seed files; run with WRITE_FUZZ_SEEDS=1"]
fn write_seeds() {
    use idea_proto::wire::AnyMessage;
    use idea_proto::{SignedEnvelope, SigningKey, WireMessage};
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::TestRunner;
    if std::env::var_os("WRITE_FUZZ_SEEDS").is_none() {
        return;
    }
    let mut runner = TestRunner::deterministic();
    let key = SigningKey::from_bytes(&[0x5e; 32]);
    for (target, _) in [
        ("proto_message", ()),
        ("signed_envelope", ()),
        ("json_message", ()),
    ] {
        std::fs::create_dir_all(corpus(target)).unwrap();
    }
    let mut per_type = std::collections::BTreeMap::<&str, usize>::new();
    while per_type.len() < AnyMessage::TYPE_NAMES.len() || per_type.values().any(|n| *n < 2) {
        let m = idea_proto::strategies::any_message()
            .new_tree(&mut runner)
            .unwrap()
            .current();
        let n = per_type.entry(m.type_name()).or_default();
        if *n >= 2 {
            continue;
        }
        *n += 1;
        let index = AnyMessage::TYPE_NAMES
            .iter()
            .position(|t| *t == m.type_name())
            .unwrap();
        let stem = format!("{}-{n}", m.type_name().trim_start_matches("idea.v1."));
        let mut proto = vec![u8::try_from(index).unwrap()];
        proto.extend(m.encode_payload());
        std::fs::write(corpus("proto_message").join(&stem), proto).unwrap();
        let mut env = Vec::new();
        SignedEnvelope::seal_payload(m.type_name(), m.encode_payload(), &key).encode(&mut env);
        std::fs::write(corpus("signed_envelope").join(&stem), env).unwrap();
        std::fs::write(
            corpus("json_message").join(format!("{stem}.json")),
            serde_json::to_vec_pretty(&m).unwrap(),
        )
        .unwrap();
    }
}
