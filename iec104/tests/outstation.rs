//! The controlled station's answers, on explicit time: interrogations, counters, read, clock, commands direct
//! and select-before-operate, the negative confirmations 44–47, spontaneous and cyclic reports.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation
)]

use iec104::station::{
    CommandHandler, CommandMode, CommandResult, Outstation, OutstationConfig, Point, PointDatabase,
    cause,
};
use iec104::*;
use std::time::{Duration, Instant};

#[derive(Default)]
struct App {
    commands: Vec<(u8, u32)>,
    clock: Option<Cp56Time2a>,
    refuse: bool,
}

impl CommandHandler for App {
    fn command(&mut self, type_id: u8, object: &InformationObject, _now: Instant) -> CommandResult {
        self.commands.push((type_id, object.ioa));
        if self.refuse {
            CommandResult::Reject
        } else {
            CommandResult::Accept
        }
    }
    fn clock_sync(&mut self, time: Cp56Time2a) {
        self.clock = Some(time);
    }
}

fn station(now: Instant) -> Outstation<App> {
    let mut db = PointDatabase::new();
    db.insert(
        1001,
        Point {
            type_id: 13,
            elements: vec![Element::R32(50.0f32.to_bits()), Element::Qds(0)],
            groups: vec![1],
            counter: false,
        },
    )
    .unwrap();
    db.insert(
        2001,
        Point {
            type_id: 30,
            elements: vec![
                Element::Siq(1),
                Element::Cp56(Cp56Time2a([0, 0, 0, 0, 1, 1, 26])),
            ],
            groups: vec![2],
            counter: false,
        },
    )
    .unwrap();
    db.insert(
        3001,
        Point {
            type_id: 15,
            elements: vec![Element::Bcr(12345, 0)],
            groups: vec![],
            counter: true,
        },
    )
    .unwrap();
    let mut config = OutstationConfig::new(1);
    config.commands.insert(4001, (45, CommandMode::Direct));
    config
        .commands
        .insert(5001, (45, CommandMode::SelectBeforeOperate));
    config.commands.insert(6001, (50, CommandMode::Direct));
    config.select_timeout = Duration::from_secs(5);
    config.cyclic_period = Some(Duration::from_secs(60));
    Outstation::new(config, db, App::default(), now)
}

fn asdu(type_id: u8, cause: u8, ca: u16, ioa: u32, elements: Vec<Element>) -> Asdu {
    Asdu {
        type_id,
        sq: false,
        count: 1,
        cot: Cot::new(cause),
        common_address: ca,
        objects: Objects::Known(vec![InformationObject { ioa, elements }]),
    }
}

fn summary(out: &[Asdu]) -> Vec<(u8, u8, bool)> {
    out.iter()
        .map(|a| (a.type_id, a.cot.cause, a.cot.negative))
        .collect()
}

fn ioas(a: &Asdu) -> Vec<u32> {
    match &a.objects {
        Objects::Known(o) => o.iter().map(|o| o.ioa).collect(),
        Objects::Raw(_) => vec![],
    }
}

#[test]
fn station_and_group_interrogation() {
    let t = Instant::now();
    let mut s = station(t);
    let out = s.handle_asdu(&asdu(100, 6, 1, 0, vec![Element::Qoi(20)]), t);
    assert_eq!(
        summary(&out),
        [
            (100, 7, false),
            (1, 20, false),
            (13, 20, false),
            (100, 10, false)
        ]
    );
    // Reported without time tags: M_SP_TB_1 as M_SP_NA_1; the counter is not in a station interrogation.
    assert_eq!(ioas(&out[1]), [2001]);
    assert_eq!(ioas(&out[2]), [1001]);
    // Group 1 (QOI 21) holds only the measurement; the cause is the QOI.
    let out = s.handle_asdu(&asdu(100, 6, 1, 0, vec![Element::Qoi(21)]), t);
    assert_eq!(
        summary(&out),
        [(100, 7, false), (13, 21, false), (100, 10, false)]
    );
    // The global address is accepted for an interrogation.
    assert_eq!(
        s.handle_asdu(&asdu(100, 6, 0xffff, 0, vec![Element::Qoi(20)]), t)
            .len(),
        4
    );
    assert_eq!(
        summary(&s.handle_asdu(&asdu(100, 8, 1, 0, vec![Element::Qoi(20)]), t)),
        [(100, 9, false)]
    );
}

#[test]
fn counter_interrogation_read_clock_and_test() {
    let t = Instant::now();
    let mut s = station(t);
    let out = s.handle_asdu(&asdu(101, 6, 1, 0, vec![Element::Qcc(5)]), t);
    assert_eq!(
        summary(&out),
        [(101, 7, false), (15, 37, false), (101, 10, false)]
    );
    let out = s.handle_asdu(&asdu(102, 5, 1, 1001, vec![]), t);
    assert_eq!(summary(&out), [(13, 5, false)]);
    assert_eq!(
        summary(&s.handle_asdu(&asdu(102, 5, 1, 9999, vec![]), t)),
        [(102, 47, true)]
    );
    let tag = Cp56Time2a::from_timestamp("2026-11-24T10:00:00Z".parse().unwrap()).unwrap();
    assert_eq!(
        summary(&s.handle_asdu(&asdu(103, 6, 1, 0, vec![Element::Cp56(tag)]), t)),
        [(103, 7, false)]
    );
    assert_eq!(s.handler_mut().clock, Some(tag));
    let test = asdu(107, 6, 1, 0, vec![Element::Tsc(7), Element::Cp56(tag)]);
    assert_eq!(summary(&s.handle_asdu(&test, t)), [(107, 7, false)]);
}

#[test]
fn direct_commands_and_refusals() {
    let t = Instant::now();
    let mut s = station(t);
    let out = s.handle_asdu(&asdu(45, 6, 1, 4001, vec![Element::Sco(1)]), t);
    assert_eq!(summary(&out), [(45, 7, false), (45, 10, false)]);
    let setpoint = asdu(
        50,
        6,
        1,
        6001,
        vec![Element::R32(1.5f32.to_bits()), Element::Qos(0)],
    );
    assert_eq!(
        summary(&s.handle_asdu(&setpoint, t)),
        [(50, 7, false), (50, 10, false)]
    );
    // The time-tagged form addresses the same point.
    let tag = Cp56Time2a([0, 0, 0, 0, 1, 1, 26]);
    assert_eq!(
        summary(&s.handle_asdu(
            &asdu(58, 6, 1, 4001, vec![Element::Sco(0), Element::Cp56(tag)]),
            t
        ))[0],
        (58, 7, false)
    );
    // A select on a direct point is refused; so is what the application refuses.
    assert_eq!(
        summary(&s.handle_asdu(&asdu(45, 6, 1, 4001, vec![Element::Sco(0x81)]), t)),
        [(45, 7, true)]
    );
    s.handler_mut().refuse = true;
    assert_eq!(
        summary(&s.handle_asdu(&asdu(45, 6, 1, 4001, vec![Element::Sco(1)]), t)),
        [(45, 7, true)]
    );
    assert_eq!(s.handler_mut().commands.len(), 4);
}

#[test]
fn select_before_operate_with_its_timeout() {
    let t = Instant::now();
    let mut s = station(t);
    // Execute without select: refused, nothing executed.
    assert_eq!(
        summary(&s.handle_asdu(&asdu(45, 6, 1, 5001, vec![Element::Sco(1)]), t)),
        [(45, 7, true)]
    );
    assert!(s.handler_mut().commands.is_empty());
    // Select then execute within 5 s.
    assert_eq!(
        summary(&s.handle_asdu(&asdu(45, 6, 1, 5001, vec![Element::Sco(0x81)]), t)),
        [(45, 7, false)]
    );
    let later = t + Duration::from_secs(3);
    assert_eq!(
        summary(&s.handle_asdu(&asdu(45, 6, 1, 5001, vec![Element::Sco(1)]), later)),
        [(45, 7, false), (45, 10, false)]
    );
    assert_eq!(s.handler_mut().commands, [(45, 5001)]);
    // Select, then execute too late.
    s.handle_asdu(&asdu(45, 6, 1, 5001, vec![Element::Sco(0x81)]), later);
    let too_late = later + Duration::from_secs(6);
    assert_eq!(
        summary(&s.handle_asdu(&asdu(45, 6, 1, 5001, vec![Element::Sco(1)]), too_late)),
        [(45, 7, true)]
    );
    // A deactivation cancels a selection.
    s.handle_asdu(&asdu(45, 6, 1, 5001, vec![Element::Sco(0x81)]), too_late);
    assert_eq!(
        summary(&s.handle_asdu(&asdu(45, 8, 1, 5001, vec![Element::Sco(0x81)]), too_late)),
        [(45, 9, false)]
    );
    assert_eq!(
        summary(&s.handle_asdu(&asdu(45, 6, 1, 5001, vec![Element::Sco(1)]), too_late)),
        [(45, 7, true)]
    );
}

#[test]
fn negative_confirmations_44_to_47() {
    let t = Instant::now();
    let mut s = station(t);
    // 46: another station's address (the global one is not valid for commands).
    assert_eq!(
        summary(&s.handle_asdu(&asdu(45, 6, 2, 4001, vec![Element::Sco(1)]), t)),
        [(45, 46, true)]
    );
    assert_eq!(
        summary(&s.handle_asdu(&asdu(45, 6, 0xffff, 4001, vec![Element::Sco(1)]), t)),
        [(45, 46, true)]
    );
    // 44: a type the station does not take, and an unknown type identification.
    assert_eq!(
        summary(&s.handle_asdu(
            &asdu(13, 6, 1, 1001, vec![Element::R32(0), Element::Qds(0)]),
            t
        )),
        [(13, 44, true)]
    );
    let raw = Asdu {
        type_id: 120,
        sq: false,
        count: 1,
        cot: Cot::new(13),
        common_address: 1,
        objects: Objects::Raw(vec![0; 5]),
    };
    assert_eq!(summary(&s.handle_asdu(&raw, t)), [(120, 44, true)]);
    // 45: a cause that makes no sense for the type.
    assert_eq!(
        summary(&s.handle_asdu(&asdu(100, 3, 1, 0, vec![Element::Qoi(20)]), t)),
        [(100, 45, true)]
    );
    // A command sent spontaneously (cause 3) is refused with 45 and not executed (c104 executes it).
    assert_eq!(
        summary(&s.handle_asdu(&asdu(45, 3, 1, 4001, vec![Element::Sco(1)]), t)),
        [(45, 45, true)]
    );
    assert!(s.handler_mut().commands.is_empty());
    // 47: an unknown command point.
    assert_eq!(
        summary(&s.handle_asdu(&asdu(45, 6, 1, 9999, vec![Element::Sco(1)]), t)),
        [(45, 47, true)]
    );
    // The negative confirmation keeps the originator address.
    let mut from_7 = asdu(45, 6, 1, 9999, vec![Element::Sco(1)]);
    from_7.cot.originator = 7;
    assert_eq!(s.handle_asdu(&from_7, t)[0].cot.originator, 7);
}

#[test]
fn spontaneous_and_cyclic_reports() {
    let t = Instant::now();
    let mut s = station(t);
    assert!(s.poll_report().is_none());
    s.database_mut()
        .update(1001, vec![Element::R32(51.0f32.to_bits()), Element::Qds(0)])
        .unwrap();
    assert!(
        s.database_mut()
            .update(1001, vec![Element::Siq(1)])
            .is_none(),
        "wrong layout"
    );
    let out: Vec<Asdu> = std::iter::from_fn(|| s.poll_report()).collect();
    assert_eq!(summary(&out), [(13, 3, false)]);
    assert!(s.poll_report().is_none());
    assert_eq!(s.poll_timeout(), Some(t + Duration::from_secs(60)));
    s.handle_timeout(t + Duration::from_secs(59));
    assert!(s.poll_report().is_none());
    s.handle_timeout(t + Duration::from_secs(60));
    // A spontaneous change goes before the periodic round.
    s.database_mut()
        .update(1001, vec![Element::R32(52.0f32.to_bits()), Element::Qds(0)])
        .unwrap();
    let out: Vec<Asdu> = std::iter::from_fn(|| s.poll_report()).collect();
    assert_eq!(out[0].cot.cause, cause::SPONTANEOUS);
    let cyclic = &out[1..];
    assert!(!cyclic.is_empty() && cyclic.iter().all(|a| a.cot.cause == cause::PERIODIC));
    // A round not taken is replaced by the next one, never stacked.
    s.handle_timeout(t + Duration::from_secs(120));
    let first = std::iter::from_fn(|| s.poll_report()).count();
    s.handle_timeout(t + Duration::from_secs(180));
    s.handle_timeout(t + Duration::from_secs(240));
    assert_eq!(std::iter::from_fn(|| s.poll_report()).count(), first);
}

#[test]
fn large_databases_report_in_frames_that_fit() {
    let t = Instant::now();
    let mut db = PointDatabase::new();
    for ioa in 0..1000u32 {
        db.insert(
            ioa,
            Point {
                type_id: 36,
                elements: vec![
                    Element::R32(ioa),
                    Element::Qds(0),
                    Element::Cp56(Cp56Time2a([0; 7])),
                ],
                groups: vec![],
                counter: false,
            },
        )
        .unwrap();
    }
    let mut s = Outstation::new(OutstationConfig::new(1), db, App::default(), t);
    let out = s.handle_asdu(&asdu(100, 6, 1, 0, vec![Element::Qoi(20)]), t);
    let data: Vec<_> = out.iter().filter(|a| a.cot.cause == 20).collect();
    assert_eq!(
        data.iter().map(|a| usize::from(a.count)).sum::<usize>(),
        1000
    );
    for (i, a) in data.into_iter().enumerate() {
        let mut frame = Vec::new();
        Apdu::I {
            ns: i as u16,
            nr: 0,
            asdu: a.clone(),
        }
        .encode(&AsduParams::IEC104, &mut frame)
        .unwrap();
        assert!(frame.len() <= 255);
    }
}

#[test]
fn consecutive_addresses_go_out_as_sequences_and_the_rest_as_lists() {
    let t = Instant::now();
    let mut db = PointDatabase::new();
    let float = |v: u32| Point {
        type_id: 13,
        elements: vec![Element::R32(v), Element::Qds(0)],
        groups: vec![],
        counter: false,
    };
    // 100 consecutive addresses, then three short runs that do not pay for a sequence of their own.
    for ioa in (5000..5100u32).chain([7000, 7001, 7005, 7010, 7011, 7012]) {
        db.insert(ioa, float(ioa)).unwrap();
    }
    let mut s = Outstation::new(OutstationConfig::new(1), db, App::default(), t);
    let out = s.handle_asdu(&asdu(100, 6, 1, 0, vec![Element::Qoi(20)]), t);
    let data: Vec<_> = out.iter().filter(|a| a.cot.cause == 20).collect();
    let shape: Vec<_> = data.iter().map(|a| (a.sq, a.count)).collect();
    // Sequence capacity: (249 − 6 − 3) / 5 = 48 values; a list holds 243 / 8 = 30 objects.
    assert_eq!(shape, [(true, 48), (true, 48), (true, 4), (false, 6)]);
    assert_eq!(ioas(data[0]).first(), Some(&5000));
    assert_eq!(ioas(data[3]), [7000, 7001, 7005, 7010, 7011, 7012]);
    // Every frame encodes within 253 octets of APDU and decodes back to the same objects.
    let mut received = Vec::new();
    for a in &data {
        let mut frame = Vec::new();
        Apdu::I {
            ns: 0,
            nr: 0,
            asdu: (*a).clone(),
        }
        .encode(&AsduParams::IEC104, &mut frame)
        .unwrap();
        assert!(frame.len() <= 255);
        let (back, used) = Apdu::decode(&frame, &AsduParams::IEC104).unwrap();
        assert_eq!(used, frame.len());
        let Apdu::I { asdu, .. } = back else {
            panic!("not an I frame")
        };
        received.extend(ioas(&asdu));
    }
    assert_eq!(received.len(), 106);
    assert!(received.contains(&5099) && received.contains(&7012));
}
