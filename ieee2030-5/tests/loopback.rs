//! Our DER client against our server over mutual TLS on loopback: discovery → registration → a DERControl
//! event → its responses, then mirrored readings; and the refusals: a device certified by another
//! authority, a device the server has not enrolled, a wrong registration PIN; and notifications delivered to
//! a subscriber.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(clippy::arithmetic_side_effects)]

use ieee2030_5::Error;
use ieee2030_5::net::{
    ClientConfig, Clock, Connection, DerClient, RustlsConnector, deliver_notifications, serve, tls,
};
use ieee2030_5::primitives::{HexBinary, Mrid};
use ieee2030_5::resources::{
    DERControl, DERControlBase, DERProgram, DateTimeInterval, DefaultDERControl,
    MirrorMeterReading, MirrorUsagePoint, Reading,
};
use ieee2030_5::scheduler::{DerMode, ModeSet, ResponseStatus};
use ieee2030_5::server::{Request, Server};
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

fn cert(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/certs")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn identity(who: &str) -> tls::Identity {
    tls::Identity::from_pem(&cert(&format!("{who}.pem")), &cert(&format!("{who}.key"))).unwrap()
}

const START: i64 = 1_800_000_000;
/// The device's clock runs this far behind the server's; the client learns the offset from `/tm`.
const DEVICE_LAG: i64 = 100;
const PIN: u32 = 111_115;

struct Setup {
    server: Arc<Mutex<Server>>,
    clock: Arc<AtomicI64>,
    address: String,
    program: ieee2030_5::server::ProgramIndex,
}

async fn start_server(enrol: bool) -> Setup {
    let mut core = Server::new(5);
    let fsa = core.add_fsa("loopback feeder");
    let program = core.add_program(
        fsa,
        DERProgram {
            primacy: 1,
            ..Default::default()
        },
    );
    core.set_default(
        program,
        DefaultDERControl {
            der_control_base: DERControlBase {
                op_mod_max_lim_w: Some(100),
                ..Default::default()
            },
            ..Default::default()
        },
    );
    if enrol {
        core.enrol(identity("device").lfdi(), PIN, &[fsa], START);
    }
    let server = Arc::new(Mutex::new(core));
    let clock = Arc::new(AtomicI64::new(START));
    let config = tls::server_config(
        identity("server"),
        tls::trust_anchors(&cert("ca.pem")).unwrap(),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let server_clock = clock.clone();
    let time: Clock = Arc::new(move || server_clock.load(Ordering::SeqCst));
    tokio::spawn(serve(
        listener,
        Some(Arc::new(config)),
        server.clone(),
        time,
    ));
    Setup {
        server,
        clock,
        address,
        program,
    }
}

fn client(setup: &Setup, who: &str, pin: u32) -> DerClient {
    let identity = identity(who);
    let lfdi = identity.lfdi();
    let config =
        tls::client_config(identity, tls::trust_anchors(&cert("ca.pem")).unwrap()).unwrap();
    let connector = RustlsConnector {
        address: setup.address.clone(),
        server_name: "localhost".try_into().unwrap(),
        config: Arc::new(config),
    };
    DerClient::new(
        Connection::new(connector, "localhost"),
        ClientConfig {
            lfdi,
            pin: Some(pin),
            dcap: "/dcap".into(),
            server: "loopback".into(),
            device_category: None,
            supported: ModeSet::all(),
            seed: 9,
        },
    )
}

/// An event limiting active power to `w` for a minute from `start`.
fn limit_event(created: i64, start: i64, w: u16) -> DERControl {
    DERControl {
        creation_time: created,
        interval: DateTimeInterval {
            start,
            duration: 60,
            ..Default::default()
        },
        der_control_base: DERControlBase {
            op_mod_max_lim_w: Some(w),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// Moves both clocks to server time `t` and steps the client.
async fn at(setup: &Setup, client: &mut DerClient, t: i64) -> i64 {
    setup.clock.store(t, Ordering::SeqCst);
    client.step(t - DEVICE_LAG).await.unwrap() + DEVICE_LAG
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_registration_event_and_responses_over_mutual_tls() {
    let setup = start_server(true).await;
    let mut device = client(&setup, "device", PIN);

    // Discovery and registration: the default control applies, nothing is scheduled.
    let wake = at(&setup, &mut device, START).await;
    assert_eq!(device.end_device(), Some("/edev/0"));
    assert_eq!(device.active().base().op_mod_max_lim_w, Some(100));
    assert_eq!(wake, START + 5, "the server's pollRate");

    // The operator publishes an event; the next poll receives it.
    let mut event = limit_event(START + 1, START + 30, 40);
    event.response_required = Some(HexBinary([0x03]));
    setup
        .server
        .lock()
        .unwrap()
        .add_control(setup.program, event, START + 1)
        .unwrap();
    let mut t = START + 5;
    while t < START + 200 {
        let wake = at(&setup, &mut device, t).await;
        if (START + 30..START + 90).contains(&t) {
            assert_eq!(device.active().base().op_mod_max_lim_w, Some(40), "at {t}");
            assert!(device.active().event_for(DerMode::MaxLimW).is_some());
        } else {
            assert_eq!(device.active().base().op_mod_max_lim_w, Some(100), "at {t}");
        }
        t = wake.min(t + 5);
    }

    let server = setup.server.lock().unwrap();
    let responses: Vec<(u8, i64)> = server
        .responses()
        .iter()
        .map(|r| (r.status.unwrap(), r.created_date_time.unwrap()))
        .collect();
    assert_eq!(
        responses,
        [
            (ResponseStatus::EventReceived.code(), START + 5),
            (ResponseStatus::EventStarted.code(), START + 30),
            (ResponseStatus::EventCompleted.code(), START + 90),
        ],
        "stamped in server time"
    );
    let lfdi = identity("device").lfdi();
    assert!(server.responses().iter().all(|r| r.end_device_lfdi == lfdi));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readings_are_mirrored() {
    let setup = start_server(true).await;
    let mut device = client(&setup, "device", PIN);
    at(&setup, &mut device, START).await;
    let lfdi = identity("device").lfdi();
    let usage_point = MirrorUsagePoint {
        mrid: Mrid::with_pen([7; 12], 37244),
        role_flags: HexBinary([0, 0x03]),
        service_category_kind: 0,
        status: 1,
        device_lfdi: lfdi,
        ..Default::default()
    };
    let reading = MirrorMeterReading {
        mrid: Mrid::with_pen([8; 12], 37244),
        reading: Some(Reading {
            value: Some(4_200),
            ..Default::default()
        }),
        ..Default::default()
    };
    let href = device.mirror(&usage_point, &reading).await.unwrap();
    assert_eq!(href, "/mup/0");
    let again = device.mirror(&usage_point, &reading).await.unwrap();
    assert_eq!(again, href, "the same mRID finds the same MirrorUsagePoint");
    let server = setup.server.lock().unwrap();
    let mirrors = server.mirror_usage_points();
    assert_eq!(mirrors.len(), 1);
    assert_eq!(
        mirrors[0].mirror_meter_reading[0]
            .reading
            .as_ref()
            .unwrap()
            .value,
        Some(4_200)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals() {
    let setup = start_server(true).await;

    let mut rogue = client(&setup, "rogue", PIN);
    let error = rogue.step(START).await.unwrap_err();
    assert!(matches!(error, Error::Transport(_)), "{error}");

    let mut wrong_pin = client(&setup, "device", PIN + 1);
    let error = wrong_pin.step(START).await.unwrap_err();
    assert!(matches!(error, Error::Registration(_)), "{error}");

    let unenrolled = start_server(false).await;
    let mut stranger = client(&unenrolled, "device", PIN);
    let error = stranger.step(START).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Http {
                method: "POST",
                status: 403,
                ..
            }
        ),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_reach_the_subscriber() {
    use http_body_util::{BodyExt, Full};
    use hyper_util::rt::TokioIo;

    let setup = start_server(true).await;
    // The subscriber's notification endpoint: a bare hyper server that hands every body to the test.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, Vec<u8>)>();
    // Its link is down at first: the first two posts are answered 500, and the server tries again.
    let tries = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = Arc::clone(&tries);
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let tx = tx.clone();
            let counted = Arc::clone(&counted);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |request: hyper::Request<hyper::body::Incoming>| {
                        let tx = tx.clone();
                        let attempt = counted.fetch_add(1, Ordering::SeqCst);
                        async move {
                            if attempt < 2 {
                                let mut refused =
                                    hyper::Response::new(Full::new(bytes::Bytes::new()));
                                *refused.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
                                return Ok::<_, std::convert::Infallible>(refused);
                            }
                            let path = request.uri().path().to_owned();
                            let body = request
                                .into_body()
                                .collect()
                                .await
                                .unwrap()
                                .to_bytes()
                                .to_vec();
                            tx.send((path, body)).unwrap();
                            let mut response = hyper::Response::new(Full::new(bytes::Bytes::new()));
                            *response.status_mut() = hyper::StatusCode::CREATED;
                            Ok::<_, std::convert::Infallible>(response)
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    let lfdi = identity("device").lfdi();
    let mut subscription = Vec::new();
    ieee2030_5::resources::Subscription {
        subscribed_resource: format!("{}/derc", setup.program.href()),
        level: "+S1".into(),
        limit: 10,
        notification_uri: format!("http://127.0.0.1:{port}/ntfy/derc"),
        ..Default::default()
    }
    .encode(&mut subscription);
    let reply = setup.server.lock().unwrap().handle(
        &Request::post("/edev/0/sub", subscription, Some(lfdi)),
        START,
    );
    assert_eq!(reply.status, 201);
    tokio::spawn(deliver_notifications(
        Arc::downgrade(&setup.server),
        None,
        std::time::Duration::from_millis(20),
    ));

    let event = limit_event(START, START + 30, 40);
    setup
        .server
        .lock()
        .unwrap()
        .add_control(setup.program, event, START)
        .unwrap();
    let (path, body) = tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(path, "/ntfy/derc");
    assert_eq!(tries.load(Ordering::SeqCst), 3, "taken at the third try");
    let (note, _) = ieee2030_5::resources::Notification::decode(&body).unwrap();
    assert_eq!(note.subscription_uri, "/edev/0/sub/0");
    match note.resource.as_deref() {
        Some(ieee2030_5::resources::AnyResource::DERControlList(list)) => {
            assert_eq!(
                list.der_control[0].der_control_base.op_mod_max_lim_w,
                Some(40)
            );
        }
        other => panic!("{other:?}"),
    }
}
