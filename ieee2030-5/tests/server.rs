//! The server core without a network: who sees what, list order and paging, the event status the server
//! keeps, registration, responses, mirrors, subscriptions and notifications — and every reply body valid
//! against the official schema.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    missing_docs
)]

mod common;
#[path = "../../interop/python.rs"]
mod python;

use ieee2030_5::identity::{lfdi, sfdi};
use ieee2030_5::primitives::{HexBinary, HexBinary160, Mrid};
use ieee2030_5::resources::{
    AnyResource, DERControl, DERControlBase, DERControlList, DERControlResponse, DERProgram,
    DERProgramList, DateTimeInterval, Decode, DefaultDERControl, EndDevice, EndDeviceList,
    MirrorMeterReading, MirrorUsagePoint, Reading, ResponseList, Subscription,
};
use ieee2030_5::server::{Method, ProgramIndex, Reply, Request, Server};

const T0: i64 = 1_800_000_000;

struct World {
    server: Server,
    alice: HexBinary160,
    bob: HexBinary160,
    program: ProgramIndex,
}

fn control(created: i64, start: i64, duration: u32, base: DERControlBase) -> DERControl {
    DERControl {
        creation_time: created,
        interval: DateTimeInterval {
            start,
            duration,
            ..Default::default()
        },
        der_control_base: base,
        response_required: Some(HexBinary([0x03])),
        ..Default::default()
    }
}

fn limit(w: u16) -> DERControlBase {
    DERControlBase {
        op_mod_max_lim_w: Some(w),
        ..Default::default()
    }
}

fn world() -> World {
    let mut server = Server::new(60);
    let alice = lfdi(b"alice's certificate");
    let bob = lfdi(b"bob's certificate");
    let fsa = server.add_fsa("feeder");
    let low = server.add_program(
        fsa,
        DERProgram {
            primacy: 9,
            ..Default::default()
        },
    );
    let program = server.add_program(
        fsa,
        DERProgram {
            primacy: 1,
            ..Default::default()
        },
    );
    server.set_default(
        low,
        DefaultDERControl {
            der_control_base: limit(100),
            ..Default::default()
        },
    );
    server.enrol(alice, 1234, &[fsa], T0);
    server.enrol(bob, 5678, &[fsa], T0);
    World {
        server,
        alice,
        bob,
        program,
    }
}

fn get(w: &mut World, target: &str, client: Option<HexBinary160>, now: i64) -> Reply {
    w.server.handle(&Request::get(target, client), now)
}

fn body<T>(reply: &Reply, decode: Decode<T>) -> T {
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    decode(&reply.body).unwrap().0
}

#[test]
fn each_client_sees_its_own_end_device() {
    let mut w = world();
    let alice = w.alice;
    let list = body(
        &get(&mut w, "/edev?l=10", Some(alice), T0),
        EndDeviceList::decode,
    );
    assert_eq!((list.all, list.results), (1, 1));
    assert_eq!(list.end_device[0].lfdi, Some(alice));
    assert_eq!(list.end_device[0].sfdi, sfdi(&alice));
    assert_eq!(
        get(&mut w, "/edev/1", Some(alice), T0).status,
        403,
        "bob's EndDevice"
    );
    assert_eq!(get(&mut w, "/edev/1/rg", Some(alice), T0).status, 403);
    assert_eq!(get(&mut w, "/edev/9", Some(alice), T0).status, 404);
    let all = body(&get(&mut w, "/edev?l=10", None, T0), EndDeviceList::decode);
    assert_eq!(all.all, 2, "the operator sees every device");
    let rg = body(
        &get(&mut w, "/edev/0/rg", Some(alice), T0),
        ieee2030_5::resources::Registration::decode,
    );
    assert_eq!(rg.pin, 1234);
}

#[test]
fn registration_needs_the_certificate_lfdi_and_its_sfdi() {
    let mut w = world();
    let post = |lfdi: HexBinary160, sfdi: u64| {
        let mut body = Vec::new();
        EndDevice {
            lfdi: Some(lfdi),
            sfdi,
            ..Default::default()
        }
        .encode(&mut body);
        body
    };
    let (alice, bob) = (w.alice, w.bob);
    let again = w.server.handle(
        &Request::post("/edev", post(alice, sfdi(&alice)), Some(alice)),
        T0,
    );
    assert_eq!(again.status, 409, "an EndDevice registered already");
    let posing = w.server.handle(
        &Request::post("/edev", post(bob, sfdi(&bob)), Some(alice)),
        T0,
    );
    assert_eq!(posing.status, 403, "an EndDevice for another certificate");
    let bad_sfdi = w
        .server
        .handle(&Request::post("/edev", post(alice, 1), Some(alice)), T0);
    assert_eq!(bad_sfdi.status, 400);
    let stranger = lfdi(b"not enrolled");
    let refused = w.server.handle(
        &Request::post("/edev", post(stranger, sfdi(&stranger)), Some(stranger)),
        T0,
    );
    assert_eq!(refused.status, 403);
    assert_eq!(
        w.server
            .handle(
                &Request::post("/edev", b"<EndDevice".to_vec(), Some(alice)),
                T0
            )
            .status,
        400
    );
}

#[test]
fn programs_and_events_are_listed_in_the_standards_order_with_paging() {
    let mut w = world();
    let p = w.program;
    let late = w
        .server
        .add_control(p, control(T0, T0 + 500, 60, limit(1)), T0)
        .unwrap();
    let older = w
        .server
        .add_control(p, control(T0 - 10, T0 + 100, 60, limit(2)), T0)
        .unwrap();
    let newer = w
        .server
        .add_control(p, control(T0 - 5, T0 + 100, 60, limit(3)), T0)
        .unwrap();
    let alice = w.alice;
    let list = body(
        &get(&mut w, &format!("{}/derc?l=10", p.href()), Some(alice), T0),
        DERControlList::decode,
    );
    let hrefs: Vec<_> = list
        .der_control
        .iter()
        .map(|c| c.href.clone().unwrap())
        .collect();
    assert_eq!(
        hrefs,
        [newer.clone(), older, late],
        "start ascending, then creation time descending"
    );
    let page = body(
        &get(
            &mut w,
            &format!("{}/derc?s=1&l=1", p.href()),
            Some(alice),
            T0,
        ),
        DERControlList::decode,
    );
    assert_eq!((page.all, page.results), (3, 1));
    assert_eq!(
        page.der_control[0].der_control_base.op_mod_max_lim_w,
        Some(2)
    );
    let default_page = body(
        &get(&mut w, &format!("{}/derc", p.href()), Some(alice), T0),
        DERControlList::decode,
    );
    assert_eq!(default_page.results, 1, "l defaults to 1");
    assert_eq!(get(&mut w, "/edev?l=x", Some(alice), T0).status, 400);

    let programs = body(
        &get(&mut w, "/fsa/0/derp?l=10", Some(alice), T0),
        DERProgramList::decode,
    );
    let primacies: Vec<u8> = programs.der_program.iter().map(|p| p.primacy).collect();
    assert_eq!(primacies, [1, 9], "by primacy");
    // Every program has its DefaultDERControl from the start; one the operator never set carries no mode.
    for program in &programs.der_program {
        let href = &program.default_der_control_link.as_ref().unwrap().href;
        let default = body(
            &get(&mut w, href, Some(alice), T0),
            DefaultDERControl::decode,
        );
        let unset = program.primacy == 1;
        assert_eq!(
            default.der_control_base.op_mod_max_lim_w.is_none(),
            unset,
            "{href}"
        );
    }
    let event = body(&get(&mut w, &newer, Some(alice), T0), DERControl::decode);
    assert_eq!(event.reply_to.as_deref(), Some("/rsps/0/rsp"));
}

#[test]
fn the_server_keeps_event_status() {
    let mut w = world();
    let p = w.program;
    let wide = w
        .server
        .add_control(p, control(T0, T0 + 100, 1000, limit(5)), T0)
        .unwrap();
    let both = DERControlBase {
        op_mod_max_lim_w: Some(1),
        op_mod_fixed_w: Some(1),
        ..Default::default()
    };
    let partial = w
        .server
        .add_control(p, control(T0 + 1, T0 + 300, 100, both), T0 + 1)
        .unwrap();
    let alice = w.alice;
    let status = |w: &mut World, href: &str, now| {
        body(&get(w, href, Some(alice), now), DERControl::decode).event_status
    };
    assert_eq!(
        status(&mut w, &wide, T0 + 50).current_status,
        0,
        "scheduled"
    );
    let active = status(&mut w, &wide, T0 + 150);
    assert_eq!(
        (active.current_status, active.date_time),
        (1, T0 + 100),
        "active from its start"
    );
    assert!(
        active.potentially_superseded,
        "a newer event shares some of its modes"
    );
    let newer = w
        .server
        .add_control(p, control(T0 + 200, T0 + 400, 100, limit(7)), T0 + 200)
        .unwrap();
    assert_eq!(status(&mut w, &wide, T0 + 399).current_status, 1);
    let superseded = status(&mut w, &wide, T0 + 400);
    assert_eq!(
        (superseded.current_status, superseded.date_time),
        (4, T0 + 400)
    );
    assert_eq!(status(&mut w, &newer, T0 + 400).current_status, 1);
    assert_eq!(
        status(&mut w, &partial, T0 + 400).current_status,
        1,
        "different modes: not superseded"
    );
    let active_list = body(
        &get(
            &mut w,
            &format!("{}/actderc?l=10", p.href()),
            Some(alice),
            T0 + 400,
        ),
        DERControlList::decode,
    );
    // The newer event is active; the partial one ended at T0 + 400 and leaves the lists (it stays readable
    // at its href); the superseded wide one is listed until its own end.
    assert_eq!(active_list.all, 1);
    let listed = body(
        &get(
            &mut w,
            &format!("{}/derc?l=10", p.href()),
            Some(alice),
            T0 + 400,
        ),
        DERControlList::decode,
    );
    let hrefs: Vec<_> = listed
        .der_control
        .iter()
        .filter_map(|c| c.href.clone())
        .collect();
    assert_eq!(hrefs, [wide.clone(), newer.clone()], "by start");
    assert_eq!(status(&mut w, &partial, T0 + 400).current_status, 1);

    let mrid = body(
        &get(&mut w, &newer, Some(alice), T0 + 400),
        DERControl::decode,
    )
    .mrid;
    assert!(w.server.cancel_control(p, &mrid, false, T0 + 410));
    let cancelled = status(&mut w, &newer, T0 + 420);
    assert_eq!(
        (cancelled.current_status, cancelled.date_time),
        (2, T0 + 410)
    );
}

#[test]
fn responses_must_be_about_our_events_and_from_their_sender() {
    let mut w = world();
    let href = w
        .server
        .add_control(w.program, control(T0, T0 + 10, 10, limit(5)), T0)
        .unwrap();
    let alice = w.alice;
    let subject = body(&get(&mut w, &href, Some(alice), T0), DERControl::decode).mrid;
    let response = |lfdi: HexBinary160, subject: Mrid| {
        let mut body = Vec::new();
        DERControlResponse {
            end_device_lfdi: lfdi,
            status: Some(1),
            subject,
            created_date_time: Some(T0),
            ..Default::default()
        }
        .encode(&mut body);
        body
    };
    let ok = w.server.handle(
        &Request::post("/rsps/0/rsp", response(alice, subject), Some(alice)),
        T0,
    );
    assert_eq!(ok.status, 201);
    let forged = w.server.handle(
        &Request::post("/rsps/0/rsp", response(w.bob, subject), Some(alice)),
        T0,
    );
    assert_eq!(forged.status, 403);
    let unknown = w.server.handle(
        &Request::post("/rsps/0/rsp", response(alice, Mrid::default()), Some(alice)),
        T0,
    );
    assert_eq!(unknown.status, 400);
    let list = body(
        &get(&mut w, "/rsps/0/rsp?l=10", None, T0),
        ResponseList::decode,
    );
    assert_eq!(list.all, 1);
    assert_eq!(list.response[0].end_device_lfdi, alice);
    assert_eq!(w.server.responses().len(), 1);
}

#[test]
fn mirrors_belong_to_their_device() {
    let mut w = world();
    let (alice, bob) = (w.alice, w.bob);
    let mut mup = Vec::new();
    MirrorUsagePoint {
        mrid: Mrid::with_pen([1; 12], 1),
        device_lfdi: alice,
        status: 1,
        ..Default::default()
    }
    .encode(&mut mup);
    assert_eq!(
        w.server
            .handle(&Request::post("/mup", mup.clone(), Some(bob)), T0)
            .status,
        403
    );
    let created = w
        .server
        .handle(&Request::post("/mup", mup, Some(alice)), T0);
    assert_eq!(
        (created.status, created.location.as_deref()),
        (201, Some("/mup/0"))
    );
    let mut reading = Vec::new();
    MirrorMeterReading {
        mrid: Mrid::with_pen([2; 12], 1),
        reading: Some(Reading {
            value: Some(5),
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode(&mut reading);
    assert_eq!(
        w.server
            .handle(&Request::post("/mup/0", reading.clone(), Some(bob)), T0)
            .status,
        403
    );
    assert_eq!(
        w.server
            .handle(&Request::post("/mup/0", reading, Some(alice)), T0)
            .status,
        204
    );
    assert_eq!(get(&mut w, "/mup/0", Some(bob), T0).status, 403);
    let stored = body(
        &get(&mut w, "/mup/0", Some(alice), T0),
        MirrorUsagePoint::decode,
    );
    assert_eq!(
        stored.mirror_meter_reading[0]
            .reading
            .as_ref()
            .unwrap()
            .value,
        Some(5)
    );
}

#[test]
fn subscribers_are_notified_of_event_changes() {
    let mut w = world();
    let alice = w.alice;
    let list = format!("{}/derc", w.program.href());
    let mut sub = Vec::new();
    Subscription {
        subscribed_resource: list.clone(),
        encoding: 0,
        level: "+S1".into(),
        limit: 5,
        notification_uri: "https://device/ntfy".into(),
        ..Default::default()
    }
    .encode(&mut sub);
    let created = w
        .server
        .handle(&Request::post("/edev/0/sub", sub, Some(alice)), T0);
    assert_eq!(
        (created.status, created.location.as_deref()),
        (201, Some("/edev/0/sub/0"))
    );
    w.server
        .add_control(w.program, control(T0, T0 + 10, 10, limit(5)), T0)
        .unwrap();
    let note = w.server.poll_notification().unwrap();
    assert_eq!(note.uri, "https://device/ntfy");
    assert_eq!(note.notification.subscription_uri, "/edev/0/sub/0");
    match note.notification.resource.as_deref() {
        Some(AnyResource::DERControlList(l)) => assert_eq!(l.all, 1),
        other => panic!("{other:?}"),
    }
    assert!(w.server.poll_notification().is_none());
    let delete = Request {
        method: Method::Delete,
        ..Request::get("/edev/0/sub/0", Some(alice))
    };
    assert_eq!(w.server.handle(&delete, T0).status, 204);
    w.server
        .add_control(w.program, control(T0, T0 + 20, 10, limit(5)), T0)
        .unwrap();
    assert!(w.server.poll_notification().is_none(), "unsubscribed");
}

#[test]
fn every_reply_is_schema_valid() {
    let Some(sep) = common::sep_xsd("every_reply_is_schema_valid") else {
        return;
    };
    let Some(python) = python::python("XSD validation with xmlschema") else {
        return;
    };
    let mut w = world();
    let (alice, p) = (w.alice, w.program);
    w.server
        .add_control(p, control(T0, T0 + 10, 10, limit(5)), T0)
        .unwrap();
    let mut sub = Vec::new();
    Subscription {
        subscribed_resource: "/derp/1/derc".into(),
        level: "+S1".into(),
        limit: 1,
        notification_uri: "/n".into(),
        ..Default::default()
    }
    .encode(&mut sub);
    w.server
        .handle(&Request::post("/edev/0/sub", sub, Some(alice)), T0);
    w.server
        .add_control(p, control(T0, T0 + 20, 10, limit(6)), T0)
        .unwrap();
    let mut mup = Vec::new();
    MirrorUsagePoint {
        mrid: Mrid::with_pen([1; 12], 1),
        device_lfdi: alice,
        ..Default::default()
    }
    .encode(&mut mup);
    w.server
        .handle(&Request::post("/mup", mup, Some(alice)), T0);
    // The device's DER as CSIP-AUS devices put it (the shared samples).
    let samples = common::samples();
    for (href, file) in [
        ("/edev/0/der/0/dercap", "26_DERCapability.ode.xml"),
        ("/edev/0/der/0/derg", "25_DERSettings.ode.xml"),
        ("/edev/0/der/0/ders", "23_DERStatus.ode.xml"),
        ("/edev/0/der/0/dera", "28_DERAvailability.ode.xml"),
    ] {
        let body = samples.iter().find(|(f, _)| f == file).unwrap().1.clone();
        let reply = w.server.handle(&Request::put(href, body, Some(alice)), T0);
        assert_eq!(reply.status, 201, "{href}");
    }
    let dir = common::scratch("server");
    let mut files = Vec::new();
    for target in [
        "/dcap",
        "/tm",
        "/edev?l=9",
        "/edev/0",
        "/edev/0/rg",
        "/edev/0/fsa?l=9",
        "/edev/0/sub?l=9",
        "/edev/0/sub/0",
        "/fsa/0",
        "/fsa/0/derp?l=9",
        "/derp/0",
        "/derp/1",
        "/derp/1/derc?l=9",
        "/derp/1/derc/0",
        "/derp/1/actderc?l=9",
        "/derp/0/dderc",
        "/rsps?l=9",
        "/rsps/0",
        "/rsps/0/rsp?l=9",
        "/mup?l=9",
        "/mup/0",
        "/edev/0/der?l=9",
        "/edev/0/der/0",
        "/edev/0/der/0/dercap",
        "/edev/0/der/0/derg",
        "/edev/0/der/0/ders",
        "/edev/0/der/0/dera",
    ] {
        let reply = get(&mut w, target, Some(alice), T0 + 15);
        assert_eq!(reply.status, 200, "{target}");
        let file = dir.join(format!("{:02}.xml", files.len()));
        std::fs::write(&file, &reply.body).unwrap();
        files.push(file);
    }
    let note = w.server.poll_notification().unwrap();
    let mut out = Vec::new();
    note.notification.encode(&mut out);
    let file = dir.join("notification.xml");
    std::fs::write(&file, &out).unwrap();
    files.push(file);
    let invalid: Vec<_> = common::validate(&python, &sep, &files)
        .into_iter()
        .filter_map(|(f, e)| e.map(|e| format!("{f}: {e}")))
        .collect();
    assert!(invalid.is_empty(), "{invalid:#?}");
    std::fs::remove_dir_all(dir).ok();
}

/// Issue 19: one authenticated device cannot grow the server's state without bound — over-long strings are
/// refused, mirrors, meter readings, subscriptions and responses stop at their quotas (429), reading sets
/// keep the latest, and no list page is larger than `MAX_PAGE`.
#[test]
fn a_device_cannot_grow_the_servers_state_without_bound() {
    use ieee2030_5::resources::MirrorReadingSet;
    use ieee2030_5::server::{MAX_PAGE, Quotas};
    let mut w = world();
    let alice = w.alice;
    let quotas = Quotas::default();
    let post = |w: &mut World, path: &str, body: Vec<u8>| {
        w.server
            .handle(&Request::post(path, body, Some(alice)), T0)
            .status
    };
    let mup = |n: u8, description: Option<String>| {
        let mut body = Vec::new();
        MirrorUsagePoint {
            mrid: Mrid::with_pen([n; 12], 1),
            description,
            device_lfdi: alice,
            status: 1,
            ..Default::default()
        }
        .encode(&mut body);
        body
    };
    // String32: 33 octets refused (as a 4 MiB one would be).
    assert_eq!(post(&mut w, "/mup", mup(0, Some("x".repeat(33)))), 400);
    assert_eq!(post(&mut w, "/mup", mup(0, Some("x".repeat(32)))), 201);
    for n in 1..quotas.mirror_usage_points {
        assert_eq!(
            post(&mut w, "/mup", mup(u8::try_from(n).unwrap(), None)),
            201
        );
    }
    assert_eq!(post(&mut w, "/mup", mup(200, None)), 429);
    assert_eq!(
        post(&mut w, "/mup", mup(1, None)),
        201,
        "an existing mRID is found, not added"
    );
    // Meter readings per mirror, and reading sets per meter reading.
    let reading = |n: u16, sets: usize| {
        let mut body = Vec::new();
        let [hi, lo] = n.to_be_bytes();
        MirrorMeterReading {
            mrid: Mrid::with_pen([hi, lo, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 1),
            mirror_reading_set: (0..sets)
                .map(|i| MirrorReadingSet {
                    mrid: Mrid::with_pen([7; 12], u32::try_from(i).unwrap()),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
        .encode(&mut body);
        body
    };
    assert_eq!(post(&mut w, "/mup/0", reading(0, 200)), 204);
    for n in 1..quotas.meter_readings {
        assert_eq!(
            post(&mut w, "/mup/0", reading(u16::try_from(n).unwrap(), 0)),
            204
        );
    }
    assert_eq!(post(&mut w, "/mup/0", reading(999, 0)), 429);
    assert_eq!(
        post(&mut w, "/mup/0", reading(0, 50)),
        204,
        "an existing reading accumulates"
    );
    let stored = body(
        &get(&mut w, "/mup/0", Some(alice), T0),
        MirrorUsagePoint::decode,
    );
    let sets = &stored.mirror_meter_reading[0].mirror_reading_set;
    assert_eq!(sets.len(), quotas.reading_sets, "the latest are kept");
    assert_eq!(sets.last().unwrap().mrid, Mrid::with_pen([7; 12], 49));
    // Subscriptions: a deleted one frees its slot.
    let subscription = {
        let mut body = Vec::new();
        Subscription {
            subscribed_resource: "/derp/1/derc".into(),
            encoding: 0,
            level: "+S1".into(),
            limit: 1,
            notification_uri: "https://device/ntfy".into(),
            ..Default::default()
        }
        .encode(&mut body);
        body
    };
    for _ in 0..quotas.subscriptions {
        assert_eq!(post(&mut w, "/edev/0/sub", subscription.clone()), 201);
    }
    assert_eq!(post(&mut w, "/edev/0/sub", subscription.clone()), 429);
    let delete = Request {
        method: Method::Delete,
        ..Request::get("/edev/0/sub/3", Some(alice))
    };
    assert_eq!(w.server.handle(&delete, T0).status, 204);
    let again = w
        .server
        .handle(&Request::post("/edev/0/sub", subscription, Some(alice)), T0);
    assert_eq!(
        (again.status, again.location.as_deref()),
        (201, Some("/edev/0/sub/3"))
    );
    // Responses about one event.
    let href = w
        .server
        .add_control(w.program, control(T0, T0 + 10, 10, limit(5)), T0)
        .unwrap();
    let subject = body(&get(&mut w, &href, Some(alice), T0), DERControl::decode).mrid;
    let mut response = Vec::new();
    DERControlResponse {
        end_device_lfdi: alice,
        status: Some(1),
        subject,
        created_date_time: Some(T0),
        ..Default::default()
    }
    .encode(&mut response);
    for _ in 0..quotas.responses_per_event {
        assert_eq!(post(&mut w, "/rsps/0/rsp", response.clone()), 201);
    }
    assert_eq!(post(&mut w, "/rsps/0/rsp", response), 429);
    // A list page is at most MAX_PAGE entries, however many are asked for.
    for i in 0..300 {
        w.server
            .add_control(w.program, control(T0, T0 + 100 + i, 10, limit(5)), T0)
            .unwrap();
    }
    let list = format!("{}/derc?l=100000", w.program.href());
    let page = body(&get(&mut w, &list, Some(alice), T0), DERControlList::decode);
    assert_eq!(usize::try_from(page.results).unwrap(), MAX_PAGE);
    assert_eq!(page.all, 301);
}
