//! Who may see and change what: every route of the server walked with the owner's certificate, a
//! neighbour's (another enrolled device, on another FunctionSetAssignments) and a stranger's (certified by
//! the CA, never enrolled) — and the defects CSIP-AUS's harness found: registration twice, in-band
//! registration, reserved response statuses, subscriptions to what cannot be subscribed, mirror usage points
//! updated by mRID and meter reading lists, colliding mRIDs, and the PEN written in decimal digits.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    missing_docs
)]

mod common;

use ieee2030_5::identity::{lfdi, sfdi};
use ieee2030_5::primitives::{HexBinary, HexBinary160, Mrid};
use ieee2030_5::resources::{
    ConnectionPoint, DERControl, DERControlBase, DERControlResponse, DERProgram, DateTimeInterval,
    DefaultDERControl, DeviceCapability, EndDevice, EndDeviceList, MirrorMeterReading,
    MirrorMeterReadingList, MirrorUsagePoint, MirrorUsagePointList, ReadingType, ResponseList,
    Subscription,
};
use ieee2030_5::server::{FsaId, Method, RegistrationPolicy, Reply, Request, Server};

const T0: i64 = 1_800_000_000;

struct World {
    server: Server,
    alice_fsa: FsaId,
    alice: HexBinary160,
    bob: HexBinary160,
    stranger: HexBinary160,
}

fn encode(write: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut body = Vec::new();
    write(&mut body);
    body
}

fn subscription(resource: &str) -> Vec<u8> {
    encode(|b| {
        Subscription {
            subscribed_resource: resource.into(),
            encoding: 0,
            level: "+S1".into(),
            limit: 1,
            notification_uri: "https://device/ntfy".into(),
            ..Default::default()
        }
        .encode(b)
    })
}

fn mup(mrid: u8, owner: HexBinary160, role_flags: u8, readings: &[u8]) -> Vec<u8> {
    encode(|b| {
        MirrorUsagePoint {
            mrid: Mrid::with_pen([mrid; 12], 37244),
            device_lfdi: owner,
            role_flags: HexBinary([0, role_flags]),
            status: 1,
            mirror_meter_reading: readings.iter().map(|&r| reading(r)).collect(),
            ..Default::default()
        }
        .encode(b)
    })
}

fn reading(mrid: u8) -> MirrorMeterReading {
    MirrorMeterReading {
        mrid: Mrid::with_pen([mrid; 12], 37244),
        reading_type: Some(ReadingType {
            uom: Some(38),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn response(device: HexBinary160, subject: Mrid, status: u8) -> Vec<u8> {
    encode(|b| {
        DERControlResponse {
            created_date_time: Some(T0),
            end_device_lfdi: device,
            status: Some(status),
            subject,
            ..Default::default()
        }
        .encode(b)
    })
}

/// Alice on FSA 0 (program 0, one event), Bob on FSA 1 (program 1, one event); each with a mirror, a
/// subscription to its own program's events and a response to its own event.
fn world() -> World {
    let mut server = Server::new(60);
    let (alice, bob) = (lfdi(b"alice's certificate"), lfdi(b"bob's certificate"));
    let stranger = lfdi(b"certified by the CA, never enrolled");
    let mut fsas = Vec::new();
    for (who, name) in [(alice, "alice"), (bob, "bob")] {
        let fsa = server.add_fsa(name);
        fsas.push(fsa);
        let program = server.add_program(
            fsa,
            DERProgram {
                primacy: 1,
                ..Default::default()
            },
        );
        server.set_default(program, DefaultDERControl::default());
        server
            .add_control(
                program,
                DERControl {
                    creation_time: T0,
                    interval: DateTimeInterval {
                        start: T0 - 10,
                        duration: 3600,
                        ..Default::default()
                    },
                    der_control_base: DERControlBase {
                        op_mod_max_lim_w: Some(50),
                        ..Default::default()
                    },
                    ..Default::default()
                },
                T0,
            )
            .unwrap();
        server.enrol(who, 1234, &[fsa], T0);
    }
    let mut w = World {
        server,
        alice_fsa: fsas[0],
        alice,
        bob,
        stranger,
    };
    for (i, who) in [(0u8, alice), (1, bob)] {
        let sub = format!("/edev/{i}/sub");
        assert_eq!(
            post(&mut w, &sub, subscription(&format!("/derp/{i}/derc")), who).status,
            201
        );
        assert_eq!(
            post(&mut w, "/mup", mup(10 + i, who, 0x03, &[20 + i]), who).status,
            201
        );
        let event = event_mrid(&mut w, i);
        assert_eq!(
            post(&mut w, "/rsps/0/rsp", response(who, event, 1), who).status,
            201
        );
        let cp = format!("/edev/{i}/cp");
        let nmi = encode(|b| {
            ConnectionPoint {
                connection_point_id: format!("412345678{i}"),
                ..Default::default()
            }
            .encode(b)
        });
        assert_eq!(put(&mut w, &cp, nmi, who).status, 201);
        let ders = format!("/edev/{i}/der/0/ders");
        let status = sample("23_DERStatus.ode.xml");
        assert_eq!(put(&mut w, &ders, status, who).status, 201);
    }
    w
}

/// A real document from `../shared/ieee2030-5/samples/`.
fn sample(name: &str) -> Vec<u8> {
    common::samples()
        .into_iter()
        .find(|(file, _)| file == name)
        .unwrap_or_else(|| panic!("no sample {name}"))
        .1
}

fn put(w: &mut World, path: &str, body: Vec<u8>, client: HexBinary160) -> Reply {
    w.server.handle(&Request::put(path, body, Some(client)), T0)
}

fn event_mrid(w: &mut World, program: u8) -> Mrid {
    let reply = w
        .server
        .handle(&Request::get(&format!("/derp/{program}/derc/0"), None), T0);
    DERControl::decode(&reply.body).unwrap().0.mrid
}

fn get(w: &mut World, target: &str, client: HexBinary160) -> Reply {
    w.server.handle(&Request::get(target, Some(client)), T0)
}

fn post(w: &mut World, path: &str, body: Vec<u8>, client: HexBinary160) -> Reply {
    w.server
        .handle(&Request::post(path, body, Some(client)), T0)
}

/// Alice's resources, one per route that names a resource of hers.
const ALICES: &[&str] = &[
    "/edev/0",
    "/edev/0/rg",
    "/edev/0/fsa",
    "/edev/0/sub",
    "/edev/0/sub/0",
    "/fsa/0",
    "/fsa/0/derp",
    "/derp/0",
    "/derp/0/derc",
    "/derp/0/derc/0",
    "/derp/0/actderc",
    "/derp/0/dderc",
    "/mup/0",
    "/edev/0/der",
    "/edev/0/der/0",
    "/edev/0/der/0/ders",
    "/edev/0/cp",
];

#[test]
fn every_resource_is_served_to_its_owner_only() {
    let mut w = world();
    let (alice, bob, stranger) = (w.alice, w.bob, w.stranger);
    for target in ALICES {
        assert_eq!(get(&mut w, target, alice).status, 200, "alice's {target}");
        assert_eq!(
            get(&mut w, target, bob).status,
            403,
            "{target} to her neighbour"
        );
        assert_eq!(
            get(&mut w, target, stranger).status,
            403,
            "{target} to a stranger"
        );
        assert_eq!(
            w.server.handle(&Request::get(target, None), T0).status,
            200,
            "{target} to the operator"
        );
    }
    // The same walk from Bob's side of the server.
    for target in ALICES {
        let bobs = target.replacen("/0", "/1", 1);
        assert_eq!(get(&mut w, &bobs, bob).status, 200, "bob's {bobs}");
        assert_eq!(get(&mut w, &bobs, alice).status, 403, "{bobs} to alice");
    }
}

#[test]
fn lists_and_counts_hold_only_what_the_client_may_see() {
    let mut w = world();
    let (alice, stranger) = (w.alice, w.stranger);
    let decode_ok = |reply: &Reply| {
        assert_eq!(
            reply.status,
            200,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
        reply.body.clone()
    };
    let responses = ResponseList::decode(&decode_ok(&get(&mut w, "/rsps/0/rsp", alice)))
        .unwrap()
        .0;
    assert_eq!(responses.all, 1, "alice reads her own response only");
    assert_eq!(responses.response[0].end_device_lfdi, alice);
    let mirrors = MirrorUsagePointList::decode(&decode_ok(&get(&mut w, "/mup", alice)))
        .unwrap()
        .0;
    assert_eq!(
        (mirrors.all, mirrors.mirror_usage_point[0].device_lfdi),
        (1, alice)
    );
    let dcap = DeviceCapability::decode(&decode_ok(&get(&mut w, "/dcap", alice)))
        .unwrap()
        .0;
    let all = |link: Option<ieee2030_5::resources::ListLink>| link.and_then(|l| l.all);
    assert_eq!(
        all(dcap.mirror_usage_point_list_link),
        Some(1),
        "her own mirrors"
    );
    assert_eq!(all(dcap.end_device_list_link), Some(1));
    // A stranger discovers the server (to register in band) and sees nothing in it.
    let dcap = DeviceCapability::decode(&decode_ok(&get(&mut w, "/dcap", stranger)))
        .unwrap()
        .0;
    assert_eq!(all(dcap.mirror_usage_point_list_link), Some(0));
    assert_eq!(all(dcap.end_device_list_link), Some(0));
    let edevs = EndDeviceList::decode(&decode_ok(&get(&mut w, "/edev", stranger)))
        .unwrap()
        .0;
    assert_eq!(edevs.all, 0);
    let responses = ResponseList::decode(&decode_ok(&get(&mut w, "/rsps/0/rsp", stranger)))
        .unwrap()
        .0;
    assert_eq!(responses.all, 0);
    // The operator reads everything.
    let everything = w.server.handle(&Request::get("/rsps/0/rsp", None), T0);
    assert_eq!(ResponseList::decode(&everything.body).unwrap().0.all, 2);
}

#[test]
fn nobody_writes_into_another_devices_resources() {
    let mut w = world();
    let (alice, bob, stranger) = (w.alice, w.bob, w.stranger);
    let alices_event = event_mrid(&mut w, 0);
    let reading_list = encode(|b| {
        MirrorMeterReadingList {
            mirror_meter_reading: vec![reading(30)],
            ..Default::default()
        }
        .encode(b)
    });
    assert_eq!(
        post(&mut w, "/mup/0", reading_list.clone(), bob).status,
        403
    );
    assert_eq!(
        post(&mut w, "/edev/0/sub", subscription("/derp/0/derc"), bob).status,
        403
    );
    // Bob may not subscribe to Alice's program from his own EndDevice either.
    assert_eq!(
        post(&mut w, "/edev/1/sub", subscription("/derp/0/derc"), bob).status,
        400
    );
    // A response naming Alice, or about an event Bob was never sent.
    assert_eq!(
        post(&mut w, "/rsps/0/rsp", response(alice, alices_event, 2), bob).status,
        403
    );
    assert_eq!(
        post(&mut w, "/rsps/0/rsp", response(bob, alices_event, 2), bob).status,
        400
    );
    // A stranger mirrors nothing and answers nothing.
    assert_eq!(
        post(&mut w, "/mup", mup(40, stranger, 3, &[]), stranger).status,
        403
    );
    assert_eq!(
        post(
            &mut w,
            "/rsps/0/rsp",
            response(stranger, alices_event, 1),
            stranger
        )
        .status,
        400
    );
    // Deleting another's subscription.
    let delete = Request {
        method: Method::Delete,
        ..Request::get("/edev/0/sub/0", Some(bob))
    };
    assert_eq!(w.server.handle(&delete, T0).status, 403);
    assert_eq!(
        get(&mut w, "/edev/0/sub/0", alice).status,
        200,
        "still there"
    );
}

#[test]
fn a_response_with_a_reserved_status_is_refused() {
    let mut w = world();
    let alice = w.alice;
    let event = event_mrid(&mut w, 0);
    for reserved in [0u8, 15, 100, 251, 255] {
        assert_eq!(
            post(
                &mut w,
                "/rsps/0/rsp",
                response(alice, event, reserved),
                alice
            )
            .status,
            400,
            "status {reserved}"
        );
    }
    // The messaging function set's statuses are no answer to a DER event.
    for messaging in [11u8, 12] {
        assert_eq!(
            post(
                &mut w,
                "/rsps/0/rsp",
                response(alice, event, messaging),
                alice
            )
            .status,
            400,
            "status {messaging}"
        );
    }
    for defined in [2u8, 3, 13, 14, 252, 253, 254] {
        assert_eq!(
            post(
                &mut w,
                "/rsps/0/rsp",
                response(alice, event, defined),
                alice
            )
            .status,
            201,
            "status {defined}"
        );
    }
    // Bob's list is untouched by anything Alice sent.
    let bob = w.bob;
    let list = get(&mut w, "/rsps/0/rsp", bob);
    assert_eq!(ResponseList::decode(&list.body).unwrap().0.all, 1);
}

#[test]
fn subscriptions_are_only_to_subscribable_resources_that_exist() {
    let mut w = world();
    let alice = w.alice;
    for resource in [
        "/derp/9/derc",
        "/derp/0",
        "/edev/0",
        "/tm",
        "/derp/0/derc/0",
        "nonsense",
    ] {
        assert_eq!(
            post(&mut w, "/edev/0/sub", subscription(resource), alice).status,
            400,
            "{resource}"
        );
    }
    assert_eq!(
        post(&mut w, "/edev/0/sub", subscription("/derp/0/derc"), alice).status,
        201
    );
    // Bob's lists are not Alice's to subscribe to.
    for resource in [
        "/edev/1/fsa",
        "/fsa/1/derp",
        "/derp/1/derc",
        "/derp/1/dderc",
    ] {
        assert_eq!(
            post(&mut w, "/edev/0/sub", subscription(resource), alice).status,
            400,
            "{resource}"
        );
    }
}

/// CSIP-AUS subscribes to every list a device walks and to its default control: each change queues a
/// notification carrying the resource as the subscriber reads it — its own EndDevice only, its own
/// assignments — and a poll-rate change reaches the subscribers of that kind of list.
#[test]
fn subscribers_are_notified_of_what_they_see_change() {
    use ieee2030_5::resources::{
        AnyResource, DERProgramList, EndDeviceList, FunctionSetAssignmentsList,
    };
    use ieee2030_5::server::Polled;
    let mut w = world();
    let alice = w.alice;
    while w.server.poll_notification().is_some() {}
    for resource in ["/edev", "/edev/0/fsa", "/fsa/0/derp", "/derp/0/dderc"] {
        assert_eq!(
            post(&mut w, "/edev/0/sub", subscription(resource), alice).status,
            201,
            "{resource}"
        );
    }
    let notified = |w: &mut World| {
        std::iter::from_fn(|| w.server.poll_notification())
            .map(|n| {
                (
                    n.notification.subscribed_resource.clone(),
                    n.notification.resource.map(|r| *r),
                )
            })
            .collect::<Vec<_>>()
    };
    // A third device registers: Alice's EndDeviceList is notified, and holds only her own.
    w.server.enrol(lfdi(b"carol"), 1, &[], T0);
    let notes = notified(&mut w);
    assert_eq!(notes.len(), 1, "{notes:?}");
    match &notes[0] {
        (
            r,
            Some(AnyResource::EndDeviceList(EndDeviceList {
                all, end_device, ..
            })),
        ) => {
            assert_eq!((r.as_str(), *all, end_device.len()), ("/edev", 1, 1));
            assert_eq!(end_device[0].lfdi, Some(alice));
        }
        other => panic!("{other:?}"),
    }
    // A second FSA assigned to her; a program added to her first FSA; her default control set.
    let second = w.server.add_fsa("second");
    assert!(w.server.assign_fsas(&alice, &[w.alice_fsa, second], T0));
    let program = w.server.add_program(
        w.alice_fsa,
        DERProgram {
            primacy: 2,
            ..Default::default()
        },
    );
    w.server.set_default(program, DefaultDERControl::default());
    let notes = notified(&mut w);
    let kinds: Vec<&str> = notes.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(kinds, ["/edev/0/fsa", "/fsa/0/derp"], "{notes:?}");
    assert!(matches!(
        &notes[0].1,
        Some(AnyResource::FunctionSetAssignmentsList(
            FunctionSetAssignmentsList { all: 2, .. }
        ))
    ));
    assert!(matches!(
        &notes[1].1,
        Some(AnyResource::DERProgramList(DERProgramList { all: 2, .. }))
    ));
    let (status, _) = ieee2030_5::server::operator::answer(
        &mut w.server,
        &ieee2030_5::server::operator::OperatorRequest {
            method: "PUT",
            path: "/programs/0/default",
            body: br#"{"DERControlBase": {"opModConnect": true}}"#,
        },
        T0,
    );
    assert_eq!(status, 200);
    let notes = notified(&mut w);
    assert_eq!(notes.len(), 1);
    assert!(matches!(
        &notes[0].1,
        Some(AnyResource::DefaultDERControl(_))
    ));
    // The EndDeviceList's poll rate: its subscribers hear it.
    w.server.set_poll_rate_of(Polled::EndDeviceList, 30);
    let notes = notified(&mut w);
    match &notes[..] {
        [(_, Some(AnyResource::EndDeviceList(list)))] => assert_eq!(list.poll_rate, Some(30)),
        other => panic!("{other:?}"),
    }
}

fn end_device(who: HexBinary160) -> Vec<u8> {
    encode(|b| {
        EndDevice {
            lfdi: Some(who),
            sfdi: sfdi(&who),
            ..Default::default()
        }
        .encode(b)
    })
}

#[test]
fn registration_is_refused_twice_and_in_band_only_by_policy() {
    let mut w = world();
    let (alice, stranger) = (w.alice, w.stranger);
    assert_eq!(post(&mut w, "/edev", end_device(alice), alice).status, 409);
    assert_eq!(
        post(&mut w, "/edev", end_device(stranger), stranger).status,
        403,
        "pre-enrolment: a stranger is not registered"
    );
    let fsa = w.alice_fsa;
    w.server
        .set_registration_policy(RegistrationPolicy::InBand { fsas: vec![fsa] });
    let created = post(&mut w, "/edev", end_device(stranger), stranger);
    assert_eq!(
        (created.status, created.location.as_deref()),
        (201, Some("/edev/2"))
    );
    assert_eq!(
        post(&mut w, "/edev", end_device(stranger), stranger).status,
        409
    );
    // Registered in band: it reads its EndDevice and its assignments, but no Registration until the
    // operator confirms it with a PIN.
    let device = EndDevice::decode(&get(&mut w, "/edev/2", stranger).body)
        .unwrap()
        .0;
    assert_eq!(device.lfdi, Some(stranger));
    assert!(device.registration_link.is_none());
    assert_eq!(get(&mut w, "/edev/2/rg", stranger).status, 404);
    assert_eq!(get(&mut w, "/fsa/0/derp", stranger).status, 200);
    w.server.enrol(stranger, 99_991, &[fsa], T0);
    assert_eq!(get(&mut w, "/edev/2/rg", stranger).status, 200);
}

#[test]
fn in_band_registration_is_bounded() {
    let mut server = Server::new(60);
    server.set_registration_policy(RegistrationPolicy::InBand { fsas: Vec::new() });
    server.set_quotas(ieee2030_5::server::Quotas {
        in_band_devices: 3,
        ..Default::default()
    });
    for n in 0..5u8 {
        let who = lfdi(&[n; 8]);
        let reply = server.handle(&Request::post("/edev", end_device(who), Some(who)), T0);
        assert_eq!(reply.status, if n < 3 { 201 } else { 429 }, "device {n}");
    }
}

#[test]
fn a_mirror_posted_again_is_updated_not_duplicated() {
    let mut w = world();
    let alice = w.alice;
    // Same mRID, new role flags and one more meter reading.
    let again = post(&mut w, "/mup", mup(10, alice, 0x49, &[20, 25]), alice);
    assert_eq!(
        (again.status, again.location.as_deref()),
        (201, Some("/mup/0"))
    );
    let held = MirrorUsagePoint::decode(&get(&mut w, "/mup/0", alice).body)
        .unwrap()
        .0;
    assert_eq!(held.role_flags, HexBinary([0, 0x49]), "roleFlags applied");
    assert_eq!(held.mirror_meter_reading.len(), 2);
    let list = MirrorUsagePointList::decode(&get(&mut w, "/mup", alice).body)
        .unwrap()
        .0;
    assert_eq!(list.all, 1, "not duplicated");
    // A MirrorMeterReadingList posted to the mirror.
    let readings = encode(|b| {
        MirrorMeterReadingList {
            mirror_meter_reading: vec![reading(22), reading(23)],
            ..Default::default()
        }
        .encode(b)
    });
    assert_eq!(post(&mut w, "/mup/0", readings, alice).status, 204);
    let held = MirrorUsagePoint::decode(&get(&mut w, "/mup/0", alice).body)
        .unwrap()
        .0;
    assert_eq!(held.mirror_meter_reading.len(), 4);
}

#[test]
fn an_mrid_another_device_holds_is_refused() {
    let mut w = world();
    let (alice, bob) = (w.alice, w.bob);
    // Bob's mirror usage point's mRID (11), and Bob's meter reading's mRID (21).
    assert_eq!(
        post(&mut w, "/mup", mup(11, alice, 3, &[]), alice).status,
        409
    );
    assert_eq!(
        post(&mut w, "/mup", mup(10, alice, 3, &[21]), alice).status,
        409
    );
    let list = encode(|b| {
        MirrorMeterReadingList {
            mirror_meter_reading: vec![reading(24), reading(21)],
            ..Default::default()
        }
        .encode(b)
    });
    assert_eq!(post(&mut w, "/mup/0", list, alice).status, 409);
    let held = MirrorUsagePoint::decode(&get(&mut w, "/mup/0", alice).body)
        .unwrap()
        .0;
    assert_eq!(
        held.mirror_meter_reading.len(),
        1,
        "nothing of a refused list applied"
    );
    let bobs = MirrorUsagePoint::decode(&get(&mut w, "/mup/1", bob).body)
        .unwrap()
        .0;
    assert_eq!(
        bobs.role_flags,
        HexBinary([0, 0x03]),
        "bob's mirror untouched"
    );
}

#[test]
fn the_mrids_the_server_makes_end_in_the_pens_decimal_digits() {
    let mut w = world();
    let alice = w.alice;
    let fsa =
        ieee2030_5::resources::FunctionSetAssignments::decode(&get(&mut w, "/fsa/0", alice).body)
            .unwrap()
            .0;
    assert!(fsa.mrid.to_string().ends_with("00037244"), "{}", fsa.mrid);
    assert_eq!(fsa.mrid.pen(), Some(37244));
    let event = event_mrid(&mut w, 0);
    assert!(event.to_string().ends_with("00037244"), "{event}");
    let mut server = Server::new(60);
    server.set_pen(28547);
    server.add_fsa("x");
    let reply = server.handle(&Request::get("/fsa/0", None), T0);
    let fsa = ieee2030_5::resources::FunctionSetAssignments::decode(&reply.body)
        .unwrap()
        .0;
    assert!(fsa.mrid.to_string().ends_with("00028547"), "{}", fsa.mrid);
}

#[test]
fn the_der_function_set_is_put_by_the_device_and_read_back() {
    use ieee2030_5::resources::{DER, DERCapability, DERList, DERStatus};
    let mut w = world();
    let (alice, bob) = (w.alice, w.bob);
    let device = EndDevice::decode(&get(&mut w, "/edev/0", alice).body)
        .unwrap()
        .0;
    assert_eq!(device.der_list_link.unwrap().href, "/edev/0/der");
    let list = DERList::decode(&get(&mut w, "/edev/0/der", alice).body)
        .unwrap()
        .0;
    assert_eq!((list.all, list.der.len()), (1, 1));
    let der = DER::decode(&get(&mut w, "/edev/0/der/0", alice).body)
        .unwrap()
        .0;
    for (link, file) in [
        (der.der_capability_link, "26_DERCapability.ode.xml"),
        (der.der_settings_link, "25_DERSettings.ode.xml"),
        (der.der_availability_link, "28_DERAvailability.ode.xml"),
    ] {
        let href = link.unwrap().href;
        assert_eq!(
            get(&mut w, &href, alice).status,
            404,
            "{href} before the device puts it"
        );
        assert_eq!(
            put(&mut w, &href, sample(file), bob).status,
            403,
            "bob puts alice's {href}"
        );
        assert_eq!(
            put(&mut w, &href, b"<DERStatus".to_vec(), alice).status,
            400
        );
        let first = put(&mut w, &href, sample(file), alice);
        assert_eq!(
            (first.status, first.location.as_deref()),
            (201, Some(href.as_str())),
            "{href} created"
        );
        let again = put(&mut w, &href, sample(file), alice);
        assert_eq!(
            (again.status, again.location.as_deref()),
            (204, Some(href.as_str())),
            "{href} replaced"
        );
        assert_eq!(get(&mut w, &href, alice).status, 200, "{href}");
        assert_eq!(get(&mut w, &href, bob).status, 403, "{href} to bob");
    }
    // What was put is what is read, with the server's href; the operator reads it through the core too.
    let capability = DERCapability::decode(&sample("26_DERCapability.ode.xml"))
        .unwrap()
        .0;
    let served = DERCapability::decode(&get(&mut w, "/edev/0/der/0/dercap", alice).body)
        .unwrap()
        .0;
    assert_eq!(served.href.as_deref(), Some("/edev/0/der/0/dercap"));
    assert_eq!(served.rtg_max_w, capability.rtg_max_w);
    assert_eq!(served.modes_supported, capability.modes_supported);
    assert_eq!(
        w.server.der_capability(&alice).unwrap().rtg_max_w,
        capability.rtg_max_w
    );
    let status = DERStatus::decode(&sample("23_DERStatus.ode.xml"))
        .unwrap()
        .0;
    assert_eq!(
        w.server.der_status(&alice).unwrap().reading_time,
        status.reading_time
    );
    assert!(w.server.der_settings(&alice).is_some());
    assert!(w.server.der_availability(&alice).is_some());
    assert!(
        w.server.der_capability(&bob).is_none(),
        "bob put no capability"
    );
    // A document of another type where a settings document belongs, and methods the resources do not take.
    assert_eq!(
        put(
            &mut w,
            "/edev/0/der/0/derg",
            sample("23_DERStatus.ode.xml"),
            alice
        )
        .status,
        400
    );
    let delete = Request {
        method: Method::Delete,
        ..Request::get("/edev/0/der/0/ders", Some(alice))
    };
    assert_eq!(w.server.handle(&delete, T0).status, 405);
    assert_eq!(
        put(&mut w, "/edev/0/der/1/ders", Vec::new(), alice).status,
        405
    );
    assert_eq!(get(&mut w, "/edev/0/der/1", alice).status, 404);
}

/// A hexBinary's octet count is part of its value: what the device put (`03`, one octet) is what it reads
/// back, not the four octets of the schema's widest `HexBinary32`; the served document carries the
/// server's href whatever the device wrote.
#[test]
fn der_documents_are_read_back_as_written_with_the_servers_href() {
    let mut w = world();
    let alice = w.alice;
    let written = br#"<DERCapability xmlns="urn:ieee:std:2030.5:ns" href="/somewhere/else"><modesSupported>03</modesSupported><rtgMaxW><multiplier>0</multiplier><value>5000</value></rtgMaxW><type>4</type></DERCapability>"#;
    assert_eq!(
        put(&mut w, "/edev/0/der/0/dercap", written.to_vec(), alice).status,
        201
    );
    let served = get(&mut w, "/edev/0/der/0/dercap", alice);
    let text = String::from_utf8(served.body.clone()).unwrap();
    assert!(
        text.contains("<modesSupported>03</modesSupported>"),
        "{text}"
    );
    assert!(!text.contains("/somewhere/else"), "{text}");
    let decoded = ieee2030_5::resources::DERCapability::decode(&served.body)
        .unwrap()
        .0;
    assert_eq!(decoded.href.as_deref(), Some("/edev/0/der/0/dercap"));
    assert_eq!(decoded.modes_supported.to_u64(), 3);
}

#[test]
fn the_connection_point_is_linked_put_by_the_device_and_set_by_the_operator() {
    let mut w = world();
    let (alice, bob, stranger) = (w.alice, w.bob, w.stranger);
    let device = EndDevice::decode(&get(&mut w, "/edev/0", alice).body)
        .unwrap()
        .0;
    assert_eq!(device.connection_point_link.unwrap().href, "/edev/0/cp");
    let served = get(&mut w, "/edev/0/cp", alice);
    assert!(
        String::from_utf8_lossy(&served.body).starts_with("<csipaus:ConnectionPoint"),
        "a CSIP-AUS resource: {}",
        String::from_utf8_lossy(&served.body)
    );
    let point = ConnectionPoint::decode(&served.body).unwrap().0;
    assert_eq!(
        (point.connection_point_id.as_str(), point.href.as_deref()),
        ("4123456780", Some("/edev/0/cp"))
    );
    assert_eq!(w.server.connection_point(&alice), Some("4123456780"));
    // Another device's, too long, not a ConnectionPoint.
    let nmi = |id: &str| {
        encode(|b| {
            ConnectionPoint {
                connection_point_id: id.into(),
                ..Default::default()
            }
            .encode(b)
        })
    };
    assert_eq!(
        put(&mut w, "/edev/0/cp", nmi("6000000000"), bob).status,
        403
    );
    assert_eq!(
        put(&mut w, "/edev/0/cp", nmi(&"9".repeat(33)), alice).status,
        400
    );
    assert_eq!(
        put(&mut w, "/edev/0/cp", sample("23_DERStatus.ode.xml"), alice).status,
        400
    );
    // CSIP-AUS: the identifier is an NMI — ten characters without O and I, and its checksum digit if given.
    for refused in [
        "NOTAVALIDID",
        "410200000",
        "41020000003",
        "4102000000X",
        "41020O0000",
    ] {
        let reply = put(&mut w, "/edev/0/cp", nmi(refused), alice);
        let error = ieee2030_5::resources::Error::decode(&reply.body).unwrap().0;
        assert_eq!((reply.status, error.reason_code), (400, 1), "{refused}");
    }
    assert_eq!(
        w.server.connection_point(&alice),
        Some("4123456780"),
        "unchanged"
    );
    for accepted in ["41020000002", "41020000026", "QAAAVZZZZZ3", "2001985732"] {
        let reply = put(&mut w, "/edev/0/cp", nmi(accepted), alice);
        assert_eq!(
            (reply.status, reply.location.as_deref()),
            (204, Some("/edev/0/cp")),
            "{accepted}"
        );
        assert_eq!(w.server.connection_point(&alice), Some(accepted));
    }
    // The operator sets it; the device reads what the operator set.
    assert!(w.server.set_connection_point(&alice, "4111111111"));
    assert!(!w.server.set_connection_point(&stranger, "4111111111"));
    assert!(!w.server.set_connection_point(&alice, &"9".repeat(33)));
    let point = ConnectionPoint::decode(&get(&mut w, "/edev/0/cp", alice).body)
        .unwrap()
        .0;
    assert_eq!(point.connection_point_id, "4111111111");
}

#[test]
fn an_aggregator_acts_for_the_end_devices_it_manages_and_no_others() {
    let mut w = world();
    let (alice, bob) = (w.alice, w.bob);
    let aggregator = lfdi(b"an aggregator's certificate");
    let (d1, d2) = (lfdi(b"site one inverter"), lfdi(b"site two inverter"));
    w.server.add_aggregator(aggregator);
    // Pre-enrolment: nobody registers an EndDevice in band, not even an aggregator.
    assert_eq!(
        post(&mut w, "/edev", end_device(d1), aggregator).status,
        403
    );
    let fsa = w.alice_fsa;
    w.server
        .set_registration_policy(RegistrationPolicy::InBand { fsas: vec![fsa] });
    assert_eq!(
        post(&mut w, "/edev", end_device(d1), bob).status,
        403,
        "a device registers only itself"
    );
    for (who, at) in [(d1, "/edev/2"), (d2, "/edev/3")] {
        let created = post(&mut w, "/edev", end_device(who), aggregator);
        assert_eq!(
            (created.status, created.location.as_deref()),
            (201, Some(at))
        );
    }
    // It lists and reads its devices, not Alice's or Bob's.
    let list = EndDeviceList::decode(&get(&mut w, "/edev?l=10", aggregator).body)
        .unwrap()
        .0;
    let mut seen: Vec<_> = list.end_device.iter().filter_map(|d| d.lfdi).collect();
    seen.sort();
    let mut expected = vec![d1, d2];
    expected.sort();
    assert_eq!(seen, expected);
    for target in ["/edev/2", "/edev/3/der", "/fsa/0/derp", "/derp/0/derc"] {
        assert_eq!(get(&mut w, target, aggregator).status, 200, "{target}");
    }
    for target in ["/edev/0", "/edev/1", "/fsa/1", "/derp/1"] {
        assert_eq!(get(&mut w, target, aggregator).status, 403, "{target}");
    }
    // It writes for them: a DER status, a mirror, a response about an event their program carries.
    assert_eq!(
        put(
            &mut w,
            "/edev/2/der/0/ders",
            sample("23_DERStatus.ode.xml"),
            aggregator
        )
        .status,
        201
    );
    assert_eq!(
        post(&mut w, "/mup", mup(50, d1, 3, &[51]), aggregator).status,
        201
    );
    let event = event_mrid(&mut w, 0);
    assert_eq!(
        post(&mut w, "/rsps/0/rsp", response(d1, event, 1), aggregator).status,
        201
    );
    // ...but not for Alice, and Alice sees none of it.
    assert_eq!(
        post(&mut w, "/rsps/0/rsp", response(alice, event, 2), aggregator).status,
        403
    );
    assert_eq!(
        post(&mut w, "/mup", mup(52, alice, 3, &[]), aggregator).status,
        403
    );
    let mirrors = MirrorUsagePointList::decode(&get(&mut w, "/mup", alice).body)
        .unwrap()
        .0;
    assert_eq!(mirrors.all, 1, "alice's own only");
    let responses = ResponseList::decode(&get(&mut w, "/rsps/0/rsp?l=10", aggregator).body)
        .unwrap()
        .0;
    assert_eq!(responses.all, 1);
    assert_eq!(responses.response[0].end_device_lfdi, d1);
    // A device enrolled by the operator is put under the aggregator, or refused an undeclared one.
    let d3 = lfdi(b"site three inverter");
    w.server.enrol(d3, 1111, &[fsa], T0);
    assert_eq!(get(&mut w, "/edev/4", aggregator).status, 403);
    assert!(
        !w.server.assign_aggregator(&d3, Some(bob)),
        "bob is no aggregator"
    );
    assert!(w.server.assign_aggregator(&d3, Some(aggregator)));
    assert_eq!(get(&mut w, "/edev/4", aggregator).status, 200);
    assert!(w.server.assign_aggregator(&d3, None));
    assert_eq!(get(&mut w, "/edev/4", aggregator).status, 403);
}

#[test]
fn revoked_access_sees_nothing_and_changes_nothing_until_granted_again() {
    let mut w = world();
    let (alice, bob) = (w.alice, w.bob);
    let event = event_mrid(&mut w, 0);
    w.server.set_access(alice, false);
    let list = EndDeviceList::decode(&get(&mut w, "/edev", alice).body)
        .unwrap()
        .0;
    assert_eq!(list.all, 0, "an empty list");
    for target in ALICES {
        assert_eq!(
            get(&mut w, target, alice).status,
            403,
            "{target} after revocation"
        );
    }
    assert_eq!(
        post(&mut w, "/mup", mup(60, alice, 3, &[]), alice).status,
        403
    );
    assert_eq!(
        post(&mut w, "/rsps/0/rsp", response(alice, event, 2), alice).status,
        403
    );
    assert_eq!(post(&mut w, "/edev", end_device(alice), alice).status, 403);
    // Bob is untouched, and the operator still reads Alice's EndDevice.
    assert_eq!(get(&mut w, "/edev/1", bob).status, 200);
    assert_eq!(
        w.server.handle(&Request::get("/edev/0", None), T0).status,
        200
    );
    w.server.set_access(alice, true);
    for target in ALICES {
        assert_eq!(
            get(&mut w, target, alice).status,
            200,
            "{target} granted again"
        );
    }
    // The poll rate the operator sets is what clients are told.
    w.server.set_poll_rate(17);
    let list = EndDeviceList::decode(&get(&mut w, "/edev", alice).body)
        .unwrap()
        .0;
    assert_eq!(list.poll_rate, Some(17));
}

#[test]
fn an_aggregator_loses_a_revoked_device() {
    let mut w = world();
    let aggregator = lfdi(b"an aggregator's certificate");
    let d1 = lfdi(b"site one inverter");
    w.server.add_aggregator(aggregator);
    let fsa = w.alice_fsa;
    w.server.enrol(d1, 1, &[fsa], T0);
    assert!(w.server.assign_aggregator(&d1, Some(aggregator)));
    assert_eq!(get(&mut w, "/edev/2", aggregator).status, 200);
    w.server.set_access(d1, false);
    assert_eq!(get(&mut w, "/edev/2", aggregator).status, 403);
    w.server.set_access(aggregator, false);
    w.server.set_access(d1, true);
    assert_eq!(
        get(&mut w, "/edev/2", aggregator).status,
        403,
        "the aggregator itself revoked"
    );
    w.server.set_access(aggregator, true);
    assert_eq!(get(&mut w, "/edev/2", aggregator).status, 200);
}
