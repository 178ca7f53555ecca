//! String-representation throughput on a mix of energy-negotiation messages (a call for proposals, proposals,
//! an acceptance, a refusal, an inform with a settlement report), 200–2000 bytes each. Reported as messages per
//! second (criterion's elements/s).
#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    missing_docs
)]

use criterion::{Criterion, Throughput};
use fipa_acl::{
    AclMessage, AgentIdentifier, DateTime, Expression, Limits, Performative, Representation,
};
use std::hint::black_box;

fn aid(name: &str) -> AgentIdentifier {
    AgentIdentifier::new(format!("{name}@idea.cell"))
        .with_address(format!("mqtt://127.0.0.1:1883/idea/{name}/inbox"))
}

fn mix() -> Vec<Vec<u8>> {
    let mut messages = Vec::new();
    let mut cfp = AclMessage::new(Performative::Cfp)
        .from(aid("prosumer-17"))
        .content("((action (agent-identifier :name prosumer-17@idea.cell) (buy-energy (energy-request :period (interval 20261124T120000000Z 20261124T121500000Z) :energy-wh 2500 :max-price-minor 31 :currency EUR :tolerance-percent 5))))");
    for i in 0..3 {
        cfp = cfp.to(aid(&format!("generator-{i}")));
    }
    cfp.language = Some("fipa-sl0".into());
    cfp.ontology = Some("idea-energy".into());
    cfp.protocol = Some("fipa-contract-net".into());
    cfp.conversation_id = Some("cn-20261124-120000-prosumer-17".into());
    cfp.reply_with = Some("cfp-1".into());
    cfp.reply_by = Some(DateTime::utc(2026, 11, 24, 11, 59, 30, 0));
    messages.push(cfp.clone());
    for i in 0..3 {
        let mut propose = cfp.reply(Performative::Propose, aid(&format!("generator-{i}")));
        propose.content = Some(format!("((offer (energy-offer :period (interval 20261124T120000000Z 20261124T121500000Z) :energy-wh 2500 :price-minor {} :currency EUR :source pv :penalty-minor-per-kwh 4)))", 27 + i).into_bytes().into());
        propose.reply_with = Some(format!("proposal-{i}").into());
        messages.push(propose);
    }
    let mut accept = cfp.clone();
    accept.performative = Performative::AcceptProposal.into();
    accept.in_reply_to = Some("proposal-0".into());
    messages.push(accept);
    let mut refuse = cfp.reply(Performative::Refuse, aid("generator-2"));
    refuse.content = Some(b"((action (agent-identifier :name generator-2@idea.cell) (sell-energy)) (capacity-exhausted))".to_vec().into());
    messages.push(refuse);
    let mut report = cfp.reply(Performative::Inform, aid("meter-17"));
    let readings: Vec<String> = (0..15)
        .map(|m| {
            format!(
                "(reading :minute {m} :import-wh {} :export-wh 0 :quality good)",
                160 + m
            )
        })
        .collect();
    report.content = Some(format!("((settlement-report :contract cn-20261124-120000-prosumer-17 :readings (sequence {}) :delivered-wh 2490 :deviation-wh -10 :penalty-minor 0))", readings.join(" ")).into_bytes().into());
    report
        .user_params
        .push(("signature".into(), Expression::String(vec![0xa5; 64])));
    messages.push(report);
    messages
        .iter()
        .map(|m| {
            let mut out = Vec::new();
            m.encode_string(&mut out).unwrap();
            out
        })
        .collect()
}

fn main() {
    let wire = mix();
    let decoded: Vec<AclMessage> = wire
        .iter()
        .map(|w| AclMessage::decode_string(w).unwrap().0)
        .collect();
    let sizes: Vec<usize> = wire.iter().map(Vec::len).collect();
    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("string_representation");
    group.throughput(Throughput::Elements(wire.len() as u64));
    group.bench_function("decode_mix", |b| {
        b.iter(|| {
            for w in &wire {
                black_box(AclMessage::decode_string(black_box(w)).unwrap());
            }
        })
    });
    let shared: Vec<fipa_acl::Bytes> = wire.iter().map(|w| w.clone().into()).collect();
    let limits = Limits::default();
    group.bench_function("decode_mix_shared", |b| {
        b.iter(|| {
            for w in &shared {
                black_box(AclMessage::decode_string_shared(black_box(w), &limits).unwrap());
            }
        })
    });
    group.bench_function("encode_mix", |b| {
        let mut out = Vec::with_capacity(4096);
        b.iter(|| {
            for m in &decoded {
                out.clear();
                black_box(m).encode_string(&mut out).unwrap();
            }
        })
    });
    group.finish();
    for representation in [Representation::BitEfficient, Representation::Xml] {
        // XML cannot carry the report's binary signature: each representation gets the messages it carries.
        let carried: Vec<&AclMessage> = decoded
            .iter()
            .filter(|m| m.encode_as(representation, &mut Vec::new()).is_ok())
            .collect();
        let encoded: Vec<Vec<u8>> = carried
            .iter()
            .map(|m| {
                let mut out = Vec::new();
                m.encode_as(representation, &mut out).unwrap();
                out
            })
            .collect();
        let limits = Limits::default();
        let mut group = c.benchmark_group(format!("{representation}_representation"));
        group.throughput(Throughput::Elements(encoded.len() as u64));
        group.bench_function("decode_mix", |b| {
            b.iter(|| {
                for w in &encoded {
                    black_box(
                        AclMessage::decode_as(black_box(w), representation, &limits).unwrap(),
                    );
                }
            })
        });
        group.bench_function("encode_mix", |b| {
            let mut out = Vec::with_capacity(4096);
            b.iter(|| {
                for m in &carried {
                    out.clear();
                    black_box(m).encode_as(representation, &mut out).unwrap();
                }
            })
        });
        group.finish();
    }
    c.final_summary();
    println!("mix: {} messages of {:?} bytes", wire.len(), sizes);
}
