//! Codec throughput on a realistic capture mix: interrogation responses (M_ME_NC_1 and M_SP_NA_1 in full frames),
//! spontaneous time-tagged changes (M_ME_TF_1, M_SP_TB_1), S frames and commands with their confirmations.
//! Reported as information objects per second (criterion's elements/s).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    clippy::print_stdout,
    clippy::indexing_slicing,
    missing_docs
)]

use criterion::{Criterion, Throughput};
use iec104::*;
use std::hint::black_box;

fn asdu(type_id: u8, cause: u8, objects: Vec<InformationObject>) -> Asdu {
    Asdu {
        type_id,
        sq: false,
        count: objects.len() as u8,
        cot: Cot::new(cause),
        common_address: 1,
        objects: Objects::Known(objects),
    }
}

/// A stream of APDUs and the number of information objects in it.
fn capture() -> (Vec<u8>, u64) {
    let tag = Cp56Time2a([0x10, 0x27, 15, 10, 24, 11, 26]);
    let mut frames = Vec::new();
    let mut ns = 0u16;
    let mut push = |frames: &mut Vec<Apdu>, a: Asdu| {
        frames.push(Apdu::I { ns, nr: 0, asdu: a });
        ns = (ns + 1) % 32768;
    };
    for block in 0..40u32 {
        // 16 floats with quality per frame (8 octets each) and 60 single points per frame.
        let floats = (0..16)
            .map(|i| InformationObject {
                ioa: 1000 + block * 16 + i,
                elements: vec![Element::R32((i as f32).to_bits()), Element::Qds(0)],
            })
            .collect();
        push(&mut frames, asdu(13, 20, floats));
        let singles = (0..60)
            .map(|i| InformationObject {
                ioa: 50_000 + block * 60 + i,
                elements: vec![Element::Siq((i % 2) as u8)],
            })
            .collect();
        push(&mut frames, asdu(1, 20, singles));
        for i in 0..4 {
            let spontaneous = vec![InformationObject {
                ioa: 2000 + i,
                elements: vec![
                    Element::R32(1.5f32.to_bits()),
                    Element::Qds(0),
                    Element::Cp56(tag),
                ],
            }];
            push(&mut frames, asdu(36, 3, spontaneous));
            push(
                &mut frames,
                asdu(
                    30,
                    3,
                    vec![InformationObject {
                        ioa: 3000 + i,
                        elements: vec![Element::Siq(1), Element::Cp56(tag)],
                    }],
                ),
            );
        }
        frames.push(Apdu::S { nr: 0 });
        push(
            &mut frames,
            asdu(
                50,
                7,
                vec![InformationObject {
                    ioa: 5101,
                    elements: vec![Element::R32(8.0f32.to_bits()), Element::Qos(0)],
                }],
            ),
        );
    }
    let objects = frames
        .iter()
        .map(|f| match f {
            Apdu::I { asdu, .. } => u64::from(asdu.count),
            _ => 0,
        })
        .sum();
    let mut bytes = Vec::new();
    for f in &frames {
        f.encode(&AsduParams::IEC104, &mut bytes).unwrap();
    }
    (bytes, objects)
}

fn decode_all(mut bytes: &[u8]) -> usize {
    let mut n = 0;
    while !bytes.is_empty() {
        let (apdu, used) = Apdu::decode(bytes, &AsduParams::IEC104).unwrap();
        n += usize::from(matches!(apdu, Apdu::I { .. }));
        black_box(apdu);
        bytes = &bytes[used..];
    }
    n
}

fn main() {
    let (bytes, objects) = capture();
    let frames: Vec<Apdu> = {
        let mut out = Vec::new();
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            let (a, used) = Apdu::decode(rest, &AsduParams::IEC104).unwrap();
            out.push(a);
            rest = &rest[used..];
        }
        out
    };
    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("iec104");
    group.throughput(Throughput::Elements(objects));
    group.bench_function("decode", |b| b.iter(|| decode_all(black_box(&bytes))));
    let mut out = Vec::with_capacity(bytes.len());
    group.bench_function("encode", |b| {
        b.iter(|| {
            out.clear();
            for f in &frames {
                f.encode(&AsduParams::IEC104, &mut out).unwrap();
            }
            black_box(out.len())
        })
    });
    group.finish();
    c.final_summary();
    println!(
        "capture: {} octets, {} frames, {objects} information objects",
        bytes.len(),
        frames.len()
    );
}
