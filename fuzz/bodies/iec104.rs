//! Fuzz target bodies for `iec104`, shared by `fuzz/fuzz_targets/*` and `iec104/tests/fuzz_corpus.rs`.
#![allow(
    unreachable_pub,
    dead_code,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects
)]

use iec104::{Apdu, AsduParams};

/// The first octet picks the ASDU field sizes; the rest is an APDU stream. Whatever decodes re-encodes to the
/// same octets.
pub fn apdu(data: &[u8]) {
    let Some((&selector, mut rest)) = data.split_first() else {
        return;
    };
    let params = AsduParams {
        cot_size: 1 + (selector & 1),
        ca_size: 1 + ((selector >> 1) & 1),
        ioa_size: 1 + ((selector >> 2) % 3),
    };
    while let Ok((apdu, used)) = Apdu::decode(rest, &params) {
        let mut again = Vec::new();
        apdu.encode(&params, &mut again)
            .expect("a decoded APDU encodes");
        assert_eq!(
            again.as_slice(),
            rest.get(..used).expect("used is within the input")
        );
        let _ = iec104::view::to_json(&apdu);
        let Some(next) = rest.get(used..) else { break };
        rest = next;
    }
}

/// The link layer driven by a script: each step picks an operation (a received I, S or U frame, time passing,
/// a local ASDU to send, start or stop) from one octet and its arguments from the next. After every step the
/// link's output is drained and checked: every frame re-encodes, sent N(S) run on without gaps, at most k
/// frames are unacknowledged, no more than w received frames wait for an acknowledgement, and a closed link
/// stays closed and silent.
pub fn link(data: &[u8]) {
    use iec104::link::{Event, Link, LinkParams, Role};
    use iec104::{Asdu, Cot, Element, InformationObject, Objects, UFunction};
    use std::time::{Duration, Instant};

    let Some((&selector, script)) = data.split_first() else {
        return;
    };
    let role = if selector & 1 == 0 {
        Role::Controlling
    } else {
        Role::Controlled
    };
    let params = if selector & 2 == 0 {
        LinkParams::default()
    } else {
        LinkParams {
            k: 3,
            w: 2,
            ..LinkParams::default()
        }
    };
    let start = Instant::now();
    let mut now = start;
    let mut link = Link::new(role, params, now).expect("valid parameters");
    let asdu = |ioa: u32| Asdu {
        type_id: 45,
        sq: false,
        count: 1,
        cot: Cot::new(6),
        common_address: 1,
        objects: Objects::Known(vec![InformationObject {
            ioa,
            elements: vec![Element::Sco(1)],
        }]),
    };
    let u = [
        UFunction::StartDtAct,
        UFunction::StartDtCon,
        UFunction::StopDtAct,
        UFunction::StopDtCon,
        UFunction::TestFrAct,
        UFunction::TestFrCon,
    ];
    let mut next_ns: u16 = 0;
    let mut waiting_ack: u16 = 0;
    let mut was_closed = false;
    for step in script.chunks_exact(3) {
        let &[op, a, b] = step else { break };
        let number = u16::from_le_bytes([a, b]) % 32768;
        match op % 8 {
            0 | 1 => link.handle_apdu(
                Apdu::I {
                    ns: number,
                    nr: u16::from(op >> 3) * 7 % 32768,
                    asdu: asdu(u32::from(a)),
                },
                now,
            ),
            2 => link.handle_apdu(Apdu::S { nr: number }, now),
            3 => link.handle_apdu(Apdu::U(u[usize::from(a) % u.len()]), now),
            4 => {
                now += Duration::from_millis(u64::from(number) * 10);
                if link.poll_timeout().is_some_and(|t| t <= now) {
                    link.handle_timeout(now);
                }
            }
            5 => link.send_asdu(asdu(u32::from(number))),
            6 => link.start(),
            _ => link.stop(),
        }
        while let Some(event) = link.poll_event() {
            if let Event::Asdu(_) = event {
                waiting_ack += 1;
            }
        }
        while let Some(apdu) = link.poll_transmit(now) {
            assert!(!was_closed, "a closed link transmitted {apdu:?}");
            let mut octets = Vec::new();
            apdu.encode(&AsduParams::IEC104, &mut octets)
                .expect("a transmitted APDU encodes");
            let (back, used) = Apdu::decode(&octets, &AsduParams::IEC104).expect("and decodes");
            assert_eq!((back, used), (apdu.clone(), octets.len()));
            match apdu {
                Apdu::I { ns, .. } => {
                    assert_eq!(ns, next_ns, "sent N(S) skipped");
                    next_ns = (next_ns + 1) % 32768;
                    waiting_ack = 0;
                }
                Apdu::S { .. } => waiting_ack = 0,
                Apdu::U(_) => {}
            }
        }
        assert!(link.unacknowledged() <= usize::from(params.k));
        if link.is_closed() {
            was_closed = true;
            assert!(link.poll_timeout().is_none());
        } else {
            assert!(
                waiting_ack < params.w,
                "{waiting_ack} received frames unacknowledged"
            );
            assert!(!was_closed, "a closed link reopened");
        }
    }
}
