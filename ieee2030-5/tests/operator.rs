//! The operator's interface (`server::operator`): a back office sets up assignments and programs, enrols
//! devices, publishes and cancels events with the CSIP-AUS modes, sets defaults, the poll rate, the
//! registration policy and access — and a device reads exactly that through the server core. Bad input is
//! refused with the status that says why.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use ieee2030_5::identity::lfdi;
use ieee2030_5::resources::{DERControlList, DefaultDERControl, EndDeviceList};
use ieee2030_5::server::operator::{OperatorRequest, answer};
use ieee2030_5::server::{Request, Server};
use serde_json::{Value, json};

const T0: i64 = 1_800_000_000;

fn call(server: &mut Server, method: &str, path: &str, body: Value) -> (u16, Value) {
    let bytes = if body.is_null() {
        Vec::new()
    } else {
        serde_json::to_vec(&body).unwrap()
    };
    answer(
        server,
        &OperatorRequest {
            method,
            path,
            body: &bytes,
        },
        T0,
    )
}

#[test]
fn a_back_office_publishes_what_a_device_then_reads() {
    let mut server = Server::new(300);
    let device = lfdi(b"an inverter's certificate");
    let (status, fsa) = call(
        &mut server,
        "POST",
        "/fsas",
        json!({"description": "feeder 7"}),
    );
    assert_eq!((status, fsa["fsa"].as_u64()), (201, Some(0)));
    let (status, program) = call(
        &mut server,
        "POST",
        "/programs",
        json!({"fsa": 0, "program": {"primacy": 2, "description": "export limits"}}),
    );
    assert_eq!((status, program["href"].as_str()), (201, Some("/derp/0")));
    let (status, enrolled) = call(
        &mut server,
        "POST",
        "/devices",
        json!({"lfdi": device.to_string(), "pin": 111_115, "fsas": [0], "connection_point": "4123456789"}),
    );
    assert_eq!((status, enrolled["href"].as_str()), (201, Some("/edev/0")));
    // An event with CSIP-AUS export and import limits, a connect mode and a ramp time.
    let (status, event) = call(
        &mut server,
        "POST",
        "/programs/0/controls",
        json!({
            "creationTime": T0,
            "interval": {"start": T0 + 60, "duration": 900},
            "DERControlBase": {
                "opModExpLimW": {"multiplier": 0, "value": 5000},
                "opModImpLimW": {"multiplier": 1, "value": 700},
                "opModConnect": true,
                "rampTms": 600
            },
            "randomizeStart": 30
        }),
    );
    assert_eq!(status, 201, "{event}");
    let mrid = event["mRID"].as_str().unwrap().to_owned();
    assert!(mrid.ends_with("00037244"), "{mrid}");
    let (status, _) = call(
        &mut server,
        "PUT",
        "/programs/0/default",
        json!({"DERControlBase": {"opModExpLimW": {"multiplier": 3, "value": 10}}}),
    );
    assert_eq!(status, 200);
    // The device reads them through the server core.
    let reply = server.handle(&Request::get("/derp/0/derc?l=5", Some(device)), T0);
    let list = DERControlList::decode(&reply.body).unwrap().0;
    let base = &list.der_control[0].der_control_base;
    assert_eq!(base.op_mod_exp_lim_w.as_ref().map(|w| w.value), Some(5000));
    assert_eq!(
        base.op_mod_imp_lim_w
            .as_ref()
            .map(|w| (w.multiplier, w.value)),
        Some((1, 700))
    );
    assert_eq!(base.op_mod_connect, Some(true));
    assert_eq!(base.ramp_tms, Some(600));
    assert_eq!(list.der_control[0].randomize_start, Some(30));
    let reply = server.handle(&Request::get("/derp/0/dderc", Some(device)), T0);
    let default = DefaultDERControl::decode(&reply.body).unwrap().0;
    assert_eq!(
        default
            .der_control_base
            .op_mod_exp_lim_w
            .map(|w| (w.multiplier, w.value)),
        Some((3, 10))
    );
    assert_eq!(server.connection_point(&device), Some("4123456789"));
    // Cancelled: the device sees currentStatus 2.
    let (status, _) = call(
        &mut server,
        "POST",
        &format!("/programs/0/controls/{mrid}/cancel"),
        json!({}),
    );
    assert_eq!(status, 200);
    let reply = server.handle(&Request::get("/derp/0/derc/0", Some(device)), T0);
    let control = ieee2030_5::resources::DERControl::decode(&reply.body)
        .unwrap()
        .0;
    assert_eq!(control.event_status.current_status, 2);
    // The poll rate, the listing, access.
    assert_eq!(
        call(&mut server, "PUT", "/poll-rate", json!({"seconds": 60})).0,
        200
    );
    let reply = server.handle(&Request::get("/edev", Some(device)), T0);
    assert_eq!(
        EndDeviceList::decode(&reply.body).unwrap().0.poll_rate,
        Some(60)
    );
    let (_, devices) = call(&mut server, "GET", "/devices", Value::Null);
    assert_eq!(devices["devices"][0]["connection_point"], "4123456789");
    assert_eq!(devices["devices"][0]["access"], "granted");
    let path = format!("/devices/{device}/access");
    assert_eq!(
        call(&mut server, "POST", &path, json!({"granted": false})).0,
        200
    );
    assert_eq!(
        server
            .handle(&Request::get("/edev/0", Some(device)), T0)
            .status,
        403
    );
    let (_, summary) = call(&mut server, "GET", "/", Value::Null);
    assert_eq!(
        (
            summary["devices"].as_u64(),
            summary["revoked"].as_u64(),
            summary["poll_rate"].as_u64()
        ),
        (Some(1), Some(1), Some(60))
    );
}

#[test]
fn in_band_registration_and_aggregators_are_set_by_the_operator() {
    let mut server = Server::new(300);
    call(
        &mut server,
        "POST",
        "/fsas",
        json!({"description": "feeder"}),
    );
    let stranger = lfdi(b"never enrolled");
    let aggregator = lfdi(b"an aggregator");
    assert_eq!(
        call(
            &mut server,
            "PUT",
            "/registration",
            json!({"in_band": true, "fsas": [0]})
        )
        .0,
        200
    );
    assert_eq!(
        call(
            &mut server,
            "POST",
            "/aggregators",
            json!({"lfdi": aggregator.to_string()})
        )
        .0,
        201
    );
    let mut body = Vec::new();
    ieee2030_5::resources::EndDevice {
        lfdi: Some(stranger),
        sfdi: ieee2030_5::identity::sfdi(&stranger),
        ..Default::default()
    }
    .encode(&mut body);
    let reply = server.handle(&Request::post("/edev", body, Some(aggregator)), T0);
    assert_eq!(
        reply.status, 201,
        "an aggregator registers a device in band"
    );
    let (_, devices) = call(&mut server, "GET", "/devices", Value::Null);
    assert_eq!(devices["devices"][0]["in_band"], true);
    assert_eq!(devices["devices"][0]["aggregator"], aggregator.to_string());
    assert_eq!(devices["devices"][0]["registered"], false);
}

#[test]
fn bad_requests_say_why() {
    let mut server = Server::new(300);
    call(
        &mut server,
        "POST",
        "/fsas",
        json!({"description": "feeder"}),
    );
    call(
        &mut server,
        "POST",
        "/programs",
        json!({"fsa": 0, "program": {"primacy": 1}}),
    );
    let cases: Vec<(&str, &str, Value, u16)> = vec![
        ("POST", "/fsas", json!({"description": "x".repeat(33)}), 400),
        ("POST", "/programs", json!({"fsa": 9}), 404),
        (
            "POST",
            "/programs",
            json!({"fsa": 0, "program": {"description": "y".repeat(33)}}),
            400,
        ),
        ("POST", "/programs/7/controls", json!({}), 404),
        (
            "POST",
            "/programs/0/controls",
            json!({"DERControlBase": {"opModConnect": "yes"}}),
            400,
        ),
        (
            "POST",
            "/programs/0/controls",
            json!({"description": "z".repeat(33)}),
            400,
        ),
        ("POST", "/programs/0/controls/zz/cancel", json!({}), 400),
        (
            "POST",
            "/programs/0/controls/000000000000000000000000000000AA/cancel",
            json!({}),
            404,
        ),
        (
            "POST",
            "/devices",
            json!({"lfdi": "not hex", "pin": 1}),
            400,
        ),
        (
            "POST",
            "/devices",
            json!({"lfdi": lfdi(b"d").to_string()}),
            400,
        ),
        (
            "POST",
            "/devices",
            json!({"lfdi": lfdi(b"d").to_string(), "pin": 1, "fsas": [3]}),
            404,
        ),
        (
            "POST",
            "/devices",
            json!({"lfdi": lfdi(b"d").to_string(), "pin": 1, "aggregator": lfdi(b"a").to_string()}),
            409,
        ),
        ("PUT", "/poll-rate", json!({"seconds": -1}), 400),
        ("PUT", "/registration", json!({"in_band": "sometimes"}), 400),
        ("DELETE", "/devices", Value::Null, 405),
        ("GET", "/nothing-here", Value::Null, 404),
    ];
    for (method, path, body, expected) in cases {
        let (status, answer) = call(&mut server, method, path, body.clone());
        assert_eq!(status, expected, "{method} {path} {body}: {answer}");
        assert!(answer["error"].is_string(), "{answer}");
    }
    // Not JSON at all.
    let (status, _) = answer(
        &mut server,
        &OperatorRequest {
            method: "POST",
            path: "/fsas",
            body: b"{not json",
        },
        T0,
    );
    assert_eq!(status, 400);
    // Nothing was made by the refused requests.
    let (_, summary) = call(&mut server, "GET", "/", Value::Null);
    assert_eq!(
        (summary["fsas"].as_u64(), summary["programs"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(summary["devices"].as_u64(), Some(0));
}

#[test]
fn the_operator_cancels_the_newest_event_or_all_and_sets_the_post_rate() {
    let mut server = Server::new(300);
    let device = lfdi(b"an inverter");
    call(
        &mut server,
        "POST",
        "/fsas",
        json!({"description": "feeder"}),
    );
    for _ in 0..2 {
        call(
            &mut server,
            "POST",
            "/programs",
            json!({"fsa": 0, "program": {"primacy": 1}}),
        );
    }
    call(
        &mut server,
        "POST",
        "/devices",
        json!({"lfdi": device.to_string(), "pin": 1, "fsas": [0]}),
    );
    let mut mrids = Vec::new();
    for (k, created) in [(0, T0 - 30), (1, T0 - 20), (0, T0 - 10)] {
        let (status, event) = call(
            &mut server,
            "POST",
            &format!("/programs/{k}/controls"),
            json!({
                "creationTime": created,
                // Not overlapping: a newer event would supersede a scheduled older one at once.
                "interval": {"start": T0 + 600 + (created - T0) * 10, "duration": 60},
                "DERControlBase": {"opModExpLimW": {"multiplier": 0, "value": 1000}}
            }),
        );
        assert_eq!(status, 201, "{event}");
        mrids.push(event["mRID"].as_str().unwrap().to_owned());
    }
    // The newest (created last), then all that are left.
    let (status, cancelled) = call(&mut server, "POST", "/controls/cancel", json!({}));
    assert_eq!(status, 200);
    assert_eq!(cancelled["cancelled"], json!([mrids[2]]));
    let (_, cancelled) = call(
        &mut server,
        "POST",
        "/controls/cancel",
        json!({"all": true}),
    );
    let mut all: Vec<String> = cancelled["cancelled"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap().to_owned())
        .collect();
    all.sort();
    let mut expected = vec![mrids[0].clone(), mrids[1].clone()];
    expected.sort();
    assert_eq!(all, expected);
    let (_, none_left) = call(
        &mut server,
        "POST",
        "/controls/cancel",
        json!({"all": true}),
    );
    assert_eq!(none_left["cancelled"], json!([]));
    let reply = server.handle(&Request::get("/derp/1/derc/0", Some(device)), T0);
    let control = ieee2030_5::resources::DERControl::decode(&reply.body)
        .unwrap()
        .0;
    assert_eq!(control.event_status.current_status, 2);
    // The post rate asked of mirrors.
    let mut mup = Vec::new();
    ieee2030_5::resources::MirrorUsagePoint {
        mrid: ieee2030_5::primitives::Mrid::with_pen([1; 12], 1),
        device_lfdi: device,
        post_rate: Some(900),
        ..Default::default()
    }
    .encode(&mut mup);
    assert_eq!(
        server
            .handle(&Request::post("/mup", mup, Some(device)), T0)
            .status,
        201
    );
    let read = |server: &mut Server| {
        let reply = server.handle(&Request::get("/mup/0", Some(device)), T0);
        ieee2030_5::resources::MirrorUsagePoint::decode(&reply.body)
            .unwrap()
            .0
            .post_rate
    };
    assert_eq!(read(&mut server), Some(900), "the device's own");
    assert_eq!(
        call(&mut server, "PUT", "/post-rate", json!({"seconds": 60})).0,
        200
    );
    assert_eq!(read(&mut server), Some(60), "the operator's");
    assert_eq!(
        call(&mut server, "PUT", "/post-rate", json!({"seconds": null})).0,
        200
    );
    assert_eq!(read(&mut server), Some(900));
    assert_eq!(
        call(&mut server, "PUT", "/post-rate", json!({"seconds": "soon"})).0,
        400
    );
}

#[test]
fn a_removed_device_and_cleared_mirrors_are_gone_and_the_others_keep_their_hrefs() {
    let mut server = Server::new(300);
    let (alice, bob) = (lfdi(b"alice"), lfdi(b"bob"));
    call(
        &mut server,
        "POST",
        "/fsas",
        json!({"description": "feeder"}),
    );
    for who in [alice, bob] {
        let (status, _) = call(
            &mut server,
            "POST",
            "/devices",
            json!({"lfdi": who.to_string(), "pin": 1, "fsas": [0]}),
        );
        assert_eq!(status, 201);
    }
    let post_mup = |server: &mut Server, who, n: u8| {
        let mut body = Vec::new();
        ieee2030_5::resources::MirrorUsagePoint {
            mrid: ieee2030_5::primitives::Mrid::with_pen([n; 12], 1),
            device_lfdi: who,
            ..Default::default()
        }
        .encode(&mut body);
        let reply = server.handle(&Request::post("/mup", body, Some(who)), T0);
        assert_eq!(reply.status, 201);
        reply.location.unwrap()
    };
    assert_eq!(post_mup(&mut server, alice, 1), "/mup/0");
    assert_eq!(post_mup(&mut server, bob, 2), "/mup/1");
    // Alice removed: her EndDevice and mirror are gone, to her and to the operator.
    let path = format!("/devices/{alice}");
    assert_eq!(call(&mut server, "DELETE", &path, Value::Null).0, 200);
    assert_eq!(
        call(&mut server, "DELETE", &path, Value::Null).0,
        404,
        "already gone"
    );
    assert_eq!(
        call(&mut server, "DELETE", "/devices/xyz", Value::Null).0,
        400
    );
    assert_eq!(
        server
            .handle(&Request::get("/edev/0", Some(alice)), T0)
            .status,
        404
    );
    assert_eq!(
        server.handle(&Request::get("/edev/0", None), T0).status,
        404
    );
    let list = server.handle(&Request::get("/edev", Some(alice)), T0);
    assert_eq!(EndDeviceList::decode(&list.body).unwrap().0.all, 0);
    assert_eq!(server.handle(&Request::get("/mup/0", None), T0).status, 404);
    // Bob's mirror keeps its href.
    assert_eq!(
        server.handle(&Request::get("/mup/1", Some(bob)), T0).status,
        200
    );
    let (_, summary) = call(&mut server, "GET", "/", Value::Null);
    assert_eq!(
        (summary["devices"].as_u64(), summary["mirrors"].as_u64()),
        (Some(1), Some(1))
    );
    // Enrolled again, Alice is a new EndDevice.
    let (_, again) = call(
        &mut server,
        "POST",
        "/devices",
        json!({"lfdi": alice.to_string(), "pin": 2, "fsas": [0]}),
    );
    assert_eq!(again["href"], "/edev/2");
    assert_eq!(
        server
            .handle(&Request::get("/edev/2", Some(alice)), T0)
            .status,
        200
    );
    // Every mirror cleared; a new one gets a number never used before.
    let (status, cleared) = call(&mut server, "POST", "/mirrors/clear", json!({}));
    assert_eq!((status, cleared["removed"].as_u64()), (200, Some(1)));
    assert_eq!(
        server.handle(&Request::get("/mup/1", Some(bob)), T0).status,
        404
    );
    assert_eq!(post_mup(&mut server, bob, 3), "/mup/2");
    let (_, cleared) = call(
        &mut server,
        "POST",
        "/mirrors/clear",
        json!({"lfdi": alice.to_string()}),
    );
    assert_eq!(cleared["removed"].as_u64(), Some(0), "alice has none now");
    assert_eq!(
        server.handle(&Request::get("/mup/2", Some(bob)), T0).status,
        200
    );
}
