//! Fuzz target body for `ieee2030-5`, shared by `fuzz/fuzz_targets/sep2_xml.rs` and
//! `ieee2030-5/tests/fuzz_corpus.rs`.
#![allow(unreachable_pub, dead_code, clippy::expect_used, clippy::panic)]

use ieee2030_5::resources::{decode, encode};

/// Any bytes: an error or a resource; a resource written back reads as the same resource, and writing that
/// again gives the same bytes (the output is canonical). Returns whether a resource was read.
pub fn xml(data: &[u8]) -> bool {
    let Ok((resource, used)) = decode(data) else {
        return false;
    };
    assert!(used <= data.len());
    let mut out = Vec::new();
    encode(&resource, &mut out);
    let (again, _) =
        decode(&out).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out)));
    assert_eq!(again, resource);
    let mut twice = Vec::new();
    encode(&again, &mut twice);
    assert_eq!(twice, out);
    true
}

/// One request to a populated server core, then the same bytes as a server's event list fed to a DER
/// scheduler run to its end. The first line is the method (its first byte) and target (`G/derp/0/derc?l=3`);
/// the rest is the body. Nothing may panic; the scheduler must make progress at every timeout it announces.
/// Returns whether the body was an event list.
pub fn server(data: &[u8]) -> bool {
    use ieee2030_5::primitives::HexBinary;
    use ieee2030_5::resources::{DERControlList, DERProgram, DefaultDERControl, Time};
    use ieee2030_5::scheduler::{ModeSet, Scheduler, SchedulerConfig};
    use ieee2030_5::server::{Method, Request, Server};

    let split = data.iter().position(|b| *b == b'\n').unwrap_or(data.len());
    let (line, body) = data.split_at(split);
    let body = body.get(1..).unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let method = match line.bytes().next() {
        Some(b'P') => Method::Post,
        Some(b'U') => Method::Put,
        Some(b'D') => Method::Delete,
        _ => Method::Get,
    };
    let target = line.get(1..).unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut core = Server::new(60);
    let fsa = core.add_fsa("fuzz");
    let program = core.add_program(
        fsa,
        DERProgram {
            primacy: 1,
            ..Default::default()
        },
    );
    core.set_default(program, DefaultDERControl::default());
    let device = HexBinary([7; 20]);
    core.enrol(device, 1, &[fsa], 0);
    for client in [None, Some(device), Some(HexBinary([8; 20]))] {
        let request = Request {
            method,
            path: path.to_owned(),
            query: query.to_owned(),
            body: body.to_vec(),
            client,
        };
        let reply = core.handle(&request, 1_000);
        assert!((200..600).contains(&reply.status));
    }

    let Ok((list, _)) = DERControlList::decode(body) else {
        return false;
    };
    let mut scheduler = Scheduler::new(SchedulerConfig {
        lfdi: device,
        device_category: None,
        supported: ModeSet::all(),
        seed: u64::try_from(data.len()).unwrap_or(0),
    });
    // The server's clock from the first event's creation time: any i64, so the offset can be extreme.
    let server_now = list.der_control.first().map_or(0, |c| c.creation_time);
    scheduler.set_time(
        &Time {
            current_time: server_now,
            ..Default::default()
        },
        0,
    );
    let program = DERProgram {
        primacy: 1,
        ..Default::default()
    };
    scheduler.update_program("fuzz", &program, &list.der_control, None, 0);
    let mut steps = 0usize;
    while let Some(t) = scheduler.poll_timeout() {
        scheduler.handle_timeout(t);
        assert_ne!(scheduler.poll_timeout(), Some(t), "no progress at {t}");
        steps = steps.saturating_add(1);
        let boundaries = list.der_control.len().saturating_mul(4).saturating_add(4);
        assert!(steps <= boundaries, "more timeouts than boundaries");
    }
    while scheduler.poll_response().is_some() {}
    true
}
