//! Reading `idea-energy` content (`fipa_acl::energy::read`, a serde `Deserializer` over the SL0 terms) against
//! the way it was read before, through the message's JSON form (`serde_json::Value` built from the terms,
//! then `serde_json::from_value`) — the peer, kept here as the reference. Both parse the same SL0 text of the
//! same 64 IDEA messages of every type (drawn by `idea_proto::strategies` with a fixed seed); compare the two
//! lines of one run, as ratios.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    missing_docs
)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fipa_acl::energy::{self, ContentForm};
use fipa_acl::sl0::{Content, ContentElement, Formula, Term};
use fipa_acl::{AclMessage, Performative};
use idea_proto::wire::AnyMessage;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use serde_json::{Map, Number, Value};
use std::hint::black_box;

fn messages() -> Vec<AclMessage> {
    let mut runner = TestRunner::deterministic();
    let strategy = idea_proto::strategies::any_message();
    (0..64)
        .map(|_| {
            let message = strategy.new_tree(&mut runner).unwrap().current();
            let mut m = AclMessage::new(Performative::Propose);
            energy::write(&message, ContentForm::Sl0, &mut m);
            m
        })
        .collect()
}

/// The reference: a term as the JSON value the message's JSON form has.
fn json_of(term: &Term) -> Value {
    match term {
        Term::Frame { params, .. } => Value::Object(
            params
                .iter()
                .map(|(k, v)| (k.replace('-', "_"), json_of(v)))
                .collect::<Map<_, _>>(),
        ),
        Term::Function { .. } => Value::Object(Map::new()),
        Term::Sequence(items) | Term::Set(items) => {
            Value::Array(items.iter().map(json_of).collect())
        }
        Term::String(s) => Value::String(String::from_utf8(s.clone()).unwrap()),
        Term::Number(n) => Value::Number(
            n.parse::<i64>()
                .map(Number::from)
                .ok()
                .or_else(|| n.parse::<f64>().ok().and_then(Number::from_f64))
                .unwrap(),
        ),
        Term::Word(w) if w == "true" => Value::Bool(true),
        Term::Word(w) if w == "false" => Value::Bool(false),
        Term::Word(w) if w == "null" => Value::Null,
        Term::Word(w) => Value::String(w.clone()),
        other => panic!("{other}"),
    }
}

/// The reference reader: parse, build the JSON value, deserialize it.
fn via_json(m: &AclMessage, type_name: &str) -> AnyMessage {
    let content = Content::parse(m.content.as_deref().unwrap()).unwrap();
    let [ContentElement::Formula(Formula::Predicate { args, .. })] = &content.0[..] else {
        panic!("one proposition");
    };
    let mut wrapped = Map::new();
    wrapped.insert("type".into(), Value::String(type_name.to_owned()));
    wrapped.insert("message".into(), json_of(&args[0]));
    serde_json::from_value(Value::Object(wrapped)).unwrap()
}

fn bench(c: &mut Criterion) {
    let messages = messages();
    let typed: Vec<(AclMessage, &'static str)> = messages
        .iter()
        .map(|m| (m.clone(), energy::read(m).unwrap().type_name()))
        .collect();
    // Both readers give the same messages.
    for (m, type_name) in &typed {
        assert_eq!(energy::read(m).unwrap(), via_json(m, type_name));
    }
    let mut group = c.benchmark_group("energy_read");
    group.throughput(Throughput::Elements(typed.len() as u64));
    group.bench_function("serde_over_terms", |b| {
        b.iter(|| {
            for (m, _) in &typed {
                black_box(energy::read(m).unwrap());
            }
        });
    });
    group.bench_function("via_json_value", |b| {
        b.iter(|| {
            for (m, type_name) in &typed {
                black_box(via_json(m, type_name));
            }
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
