//! Every link-layer rule driven by a virtual clock: start/stop/test, the k and w windows, t1, t2, t3, the
//! closing conditions, and sequence numbers wrapping at 32768.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation
)]

use iec104::link::{CloseReason, Event, Link, LinkParams, Role};
use iec104::*;
use std::time::{Duration, Instant};

fn asdu(n: u8) -> Asdu {
    Asdu {
        type_id: 1,
        sq: false,
        count: 1,
        cot: Cot::new(3),
        common_address: 1,
        objects: Objects::Known(vec![InformationObject {
            ioa: u32::from(n),
            elements: vec![Element::Siq(n & 1)],
        }]),
    }
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// A started pair: (client, server, t0).
fn started() -> (Link, Link, Instant) {
    let t0 = Instant::now();
    let mut c = Link::new(Role::Controlling, LinkParams::default(), t0).unwrap();
    let mut s = Link::new(Role::Controlled, LinkParams::default(), t0).unwrap();
    c.start();
    pump(&mut c, &mut s, t0);
    assert_eq!(c.poll_event(), Some(Event::Started));
    assert_eq!(s.poll_event(), Some(Event::Started));
    (c, s, t0)
}

/// Delivers everything each side has to send to the other, until both are quiet.
fn pump(a: &mut Link, b: &mut Link, now: Instant) {
    loop {
        let mut moved = false;
        while let Some(apdu) = a.poll_transmit(now) {
            b.handle_apdu(apdu, now);
            moved = true;
        }
        while let Some(apdu) = b.poll_transmit(now) {
            a.handle_apdu(apdu, now);
            moved = true;
        }
        if !moved {
            break;
        }
    }
}

fn drain_asdus(l: &mut Link) -> usize {
    let mut n = 0;
    while let Some(e) = l.poll_event() {
        if matches!(e, Event::Asdu(_)) {
            n += 1;
        }
    }
    n
}

#[test]
fn parameters_are_validated() {
    assert!(LinkParams::default().validate().is_ok());
    let bad = [
        LinkParams {
            t2: secs(15),
            ..LinkParams::default()
        },
        LinkParams {
            w: 9,
            ..LinkParams::default()
        },
        LinkParams {
            k: 0,
            ..LinkParams::default()
        },
        LinkParams {
            t1: secs(300),
            ..LinkParams::default()
        },
        LinkParams {
            t3: Duration::from_millis(500),
            ..LinkParams::default()
        },
    ];
    for p in bad {
        assert!(
            Link::new(Role::Controlled, p, Instant::now()).is_err(),
            "{p:?}"
        );
    }
}

#[test]
fn an_i_frame_before_startdt_closes() {
    let t0 = Instant::now();
    let mut s = Link::new(Role::Controlled, LinkParams::default(), t0).unwrap();
    s.handle_apdu(
        Apdu::I {
            ns: 0,
            nr: 0,
            asdu: asdu(1),
        },
        t0,
    );
    assert_eq!(
        s.poll_event(),
        Some(Event::Closed(CloseReason::IFrameBeforeStart))
    );
    assert!(s.is_closed());
    assert_eq!(s.poll_transmit(t0), None);
}

#[test]
fn a_wrong_send_sequence_closes() {
    let (_, mut s, t0) = started();
    s.handle_apdu(
        Apdu::I {
            ns: 1,
            nr: 0,
            asdu: asdu(1),
        },
        t0,
    );
    assert_eq!(
        s.poll_event(),
        Some(Event::Closed(CloseReason::WrongSendSequence {
            expected: 0,
            received: 1
        }))
    );
}

#[test]
fn an_acknowledgement_out_of_range_closes() {
    let (mut c, mut s, t0) = started();
    s.send_asdu(asdu(1));
    let i = s.poll_transmit(t0).unwrap();
    c.handle_apdu(i, t0);
    // The server sent N(S)=0 only; an acknowledgement of 2 frames is impossible.
    s.handle_apdu(Apdu::S { nr: 2 }, t0);
    assert_eq!(
        s.poll_event(),
        Some(Event::Closed(CloseReason::AcknowledgementOutOfRange {
            received: 2,
            oldest: 0,
            next: 1
        }))
    );
}

#[test]
fn w_frames_are_acknowledged_at_once_fewer_at_t2() {
    let (mut c, mut s, t0) = started();
    for n in 0..8 {
        s.send_asdu(asdu(n));
    }
    while let Some(i) = s.poll_transmit(t0) {
        c.handle_apdu(i, t0);
    }
    // The eighth frame (w = 8) makes the client acknowledge immediately.
    assert_eq!(c.poll_transmit(t0), Some(Apdu::S { nr: 8 }));
    assert_eq!(drain_asdus(&mut c), 8);
    // One more frame: no acknowledgement until t2 (10 s) passes.
    s.send_asdu(asdu(9));
    let i = s.poll_transmit(t0).unwrap();
    c.handle_apdu(i, t0);
    assert_eq!(c.poll_transmit(t0), None);
    assert_eq!(c.poll_timeout(), Some(t0 + secs(10)));
    c.handle_timeout(t0 + secs(10));
    assert_eq!(c.poll_transmit(t0 + secs(10)), Some(Apdu::S { nr: 9 }));
}

#[test]
fn the_k_window_holds_frames_until_acknowledged() {
    let (mut c, mut s, t0) = started();
    for n in 0..20 {
        s.send_asdu(asdu(n));
    }
    let mut sent = 0;
    while s.poll_transmit(t0).is_some() {
        sent += 1;
    }
    assert_eq!(sent, 12, "k = 12");
    assert_eq!(s.unacknowledged(), 12);
    s.handle_apdu(Apdu::S { nr: 5 }, t0);
    assert_eq!(s.unacknowledged(), 7);
    let mut more = 0;
    while s.poll_transmit(t0).is_some() {
        more += 1;
    }
    assert_eq!(more, 5);
    drop(c.poll_event());
}

#[test]
fn t1_expiry_of_an_unacknowledged_i_frame_closes() {
    let (_, mut s, t0) = started();
    s.send_asdu(asdu(1));
    s.poll_transmit(t0).unwrap();
    assert_eq!(s.poll_timeout(), Some(t0 + secs(15)));
    s.handle_timeout(t0 + secs(14));
    assert!(!s.is_closed());
    s.handle_timeout(t0 + secs(15));
    assert_eq!(s.poll_event(), Some(Event::Closed(CloseReason::T1Expired)));
}

#[test]
fn testfr_at_t3_and_close_without_confirmation() {
    let (mut c, mut s, t0) = started();
    let t3 = t0 + secs(20);
    assert_eq!(c.poll_timeout(), Some(t3));
    c.handle_timeout(t3);
    assert_eq!(c.poll_transmit(t3), Some(Apdu::U(UFunction::TestFrAct)));
    // Confirmed: the link stays up.
    s.handle_apdu(Apdu::U(UFunction::TestFrAct), t3);
    assert_eq!(s.poll_transmit(t3), Some(Apdu::U(UFunction::TestFrCon)));
    c.handle_apdu(Apdu::U(UFunction::TestFrCon), t3);
    assert!(!c.is_closed());
    // Next idle period, no confirmation: t1 after the test frame, the link closes.
    let t3b = t3 + secs(20);
    c.handle_timeout(t3b);
    assert_eq!(c.poll_transmit(t3b), Some(Apdu::U(UFunction::TestFrAct)));
    c.handle_timeout(t3b + secs(15));
    assert_eq!(c.poll_event(), Some(Event::Closed(CloseReason::T1Expired)));
}

#[test]
fn stopdt_acknowledges_received_frames_first() {
    let (mut c, mut s, t0) = started();
    c.send_asdu(asdu(1));
    c.send_asdu(asdu(2));
    while let Some(i) = c.poll_transmit(t0) {
        s.handle_apdu(i, t0);
    }
    assert_eq!(drain_asdus(&mut s), 2);
    s.handle_apdu(Apdu::U(UFunction::StopDtAct), t0);
    assert_eq!(
        s.poll_transmit(t0),
        Some(Apdu::S { nr: 2 }),
        "acknowledge first"
    );
    assert_eq!(s.poll_transmit(t0), Some(Apdu::U(UFunction::StopDtCon)));
    assert_eq!(s.poll_event(), Some(Event::Stopped));
}

#[test]
fn stopdt_confirmation_waits_for_own_frames_to_be_acknowledged() {
    let (mut c, mut s, t0) = started();
    s.send_asdu(asdu(1));
    let i = s.poll_transmit(t0).unwrap();
    c.stop();
    let stop = c.poll_transmit(t0).unwrap();
    assert_eq!(stop, Apdu::U(UFunction::StopDtAct));
    s.handle_apdu(stop, t0);
    assert_eq!(
        s.poll_transmit(t0),
        None,
        "its I frame is not acknowledged yet"
    );
    c.handle_apdu(i, t0);
    c.handle_timeout(t0 + secs(10));
    let ack = c.poll_transmit(t0 + secs(10)).unwrap();
    assert_eq!(ack, Apdu::S { nr: 1 });
    s.handle_apdu(ack, t0 + secs(10));
    assert_eq!(
        s.poll_transmit(t0 + secs(10)),
        Some(Apdu::U(UFunction::StopDtCon))
    );
    c.handle_apdu(Apdu::U(UFunction::StopDtCon), t0 + secs(10));
    assert!(c.poll_event().is_some());
    assert!(!c.is_started());
}

#[test]
fn sequence_numbers_wrap_at_32768() {
    let (mut c, mut s, t0) = started();
    let total = 33_000u32;
    let mut delivered = 0u32;
    for n in 0..total {
        s.send_asdu(asdu((n % 200) as u8));
        pump(&mut s, &mut c, t0);
        delivered += drain_asdus(&mut c) as u32;
    }
    c.handle_timeout(t0 + secs(10));
    pump(&mut s, &mut c, t0 + secs(10));
    assert_eq!(delivered, total);
    assert!(!s.is_closed() && !c.is_closed());
    assert_eq!(s.unacknowledged(), 0);
}

#[test]
fn unexpected_confirmations_close() {
    let (mut c, _, t0) = started();
    c.handle_apdu(Apdu::U(UFunction::StartDtAct), t0);
    assert!(matches!(
        c.poll_event(),
        Some(Event::Closed(CloseReason::UnexpectedFrame(
            UFunction::StartDtAct
        )))
    ));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Any mix of sends from both sides, delivered in order, arrives complete without closing.
    #[test]
    fn in_order_traffic_never_closes(plan in proptest::collection::vec((proptest::bool::ANY, 1u8..30), 1..40), w in 1u16..8) {
        let t0 = Instant::now();
        let params = LinkParams { w, ..LinkParams::default() };
        let mut c = Link::new(Role::Controlling, params, t0).unwrap();
        let mut s = Link::new(Role::Controlled, params, t0).unwrap();
        c.start();
        pump(&mut c, &mut s, t0);
        let (mut to_s, mut to_c) = (0usize, 0usize);
        for (from_client, n) in plan {
            for i in 0..n {
                if from_client { c.send_asdu(asdu(i)); to_s += 1 } else { s.send_asdu(asdu(i)); to_c += 1 }
            }
            pump(&mut c, &mut s, t0);
        }
        let got_s = drain_asdus(&mut s);
        let got_c = drain_asdus(&mut c);
        proptest::prop_assert_eq!(got_s, to_s);
        proptest::prop_assert_eq!(got_c, to_c);
        proptest::prop_assert!(!c.is_closed() && !s.is_closed());
    }
}
