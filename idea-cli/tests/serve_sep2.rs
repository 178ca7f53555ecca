//! `idea serve sep2-server`: the real binary serving IEEE 2030.5 over mutual TLS to our DER client, which
//! registers, finds the default control and the demonstration event.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(missing_docs)]

mod common;

use common::serve;
use ieee2030_5::net::{ClientConfig, Connection, DerClient, RustlsConnector, tls};
use ieee2030_5::scheduler::{EventState, ModeSet, SchedulerEvent};
use std::path::PathBuf;
use std::sync::Arc;

fn certs() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ieee2030-5/tests/certs")
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(certs().join(name)).unwrap()
}

#[test]
fn a_device_registers_and_receives_the_demonstration_event() {
    let device = tls::Identity::from_pem(&read("device.pem"), &read("device.key")).unwrap();
    let lfdi = device.lfdi();
    let path = |name: &str| certs().join(name).display().to_string();
    let enrolment = format!("{lfdi}=424242");
    let (_served, address) = serve(
        "sep2-server",
        &[
            "--cert",
            &path("server.pem"),
            "--key",
            &path("server.key"),
            "--client-ca",
            &path("ca.pem"),
            "--enrol",
            &enrolment,
        ],
    );
    let config = tls::client_config(device, tls::trust_anchors(&read("ca.pem")).unwrap()).unwrap();
    let connector = RustlsConnector {
        address,
        server_name: "localhost".try_into().unwrap(),
        config: Arc::new(config),
    };
    let mut client = DerClient::new(
        Connection::new(connector, "localhost"),
        ClientConfig {
            lfdi,
            pin: Some(424_242),
            dcap: "/dcap".into(),
            server: "demo".into(),
            device_category: None,
            supported: ModeSet::all(),
            seed: 1,
        },
    );
    let now = ieee2030_5::net::system_clock()();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let wake = runtime.block_on(client.step(now)).unwrap();
    assert_eq!(client.end_device(), Some("/edev/0"));
    assert_eq!(
        client.active().base().op_mod_max_lim_w,
        Some(10_000),
        "the default: 100 %"
    );
    let scheduled = std::iter::from_fn(|| client.scheduler().poll_event()).any(|e| {
        matches!(
            e,
            SchedulerEvent::StateChanged {
                state: EventState::Scheduled,
                ..
            }
        )
    });
    assert!(scheduled, "the demonstration event is scheduled");
    assert!(
        wake > now && wake <= now + 60,
        "next step {wake} (now {now})"
    );
}

/// `--in-band`: a device certified by the CA but never enrolled registers itself (CSIP-AUS in-band
/// registration) and receives the program; without the flag the same device is refused.
#[test]
fn with_in_band_registration_an_unenrolled_device_registers_itself() {
    let path = |name: &str| certs().join(name).display().to_string();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for in_band in [false, true] {
        let mut args = vec![
            "--cert".to_owned(),
            path("server.pem"),
            "--key".to_owned(),
            path("server.key"),
            "--client-ca".to_owned(),
            path("ca.pem"),
        ];
        if in_band {
            args.push("--in-band".to_owned());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (_served, address) = serve("sep2-server", &args);
        let device = tls::Identity::from_pem(&read("device.pem"), &read("device.key")).unwrap();
        let lfdi = device.lfdi();
        let config =
            tls::client_config(device, tls::trust_anchors(&read("ca.pem")).unwrap()).unwrap();
        let connector = RustlsConnector {
            address,
            server_name: "localhost".try_into().unwrap(),
            config: Arc::new(config),
        };
        let mut client = DerClient::new(
            Connection::new(connector, "localhost"),
            ClientConfig {
                lfdi,
                pin: None,
                dcap: "/dcap".into(),
                server: "demo".into(),
                device_category: None,
                supported: ModeSet::all(),
                seed: 1,
            },
        );
        let now = ieee2030_5::net::system_clock()();
        let stepped = runtime.block_on(client.step(now));
        if in_band {
            stepped.unwrap();
            assert_eq!(client.end_device(), Some("/edev/0"));
            assert_eq!(client.active().base().op_mod_max_lim_w, Some(10_000));
        } else {
            let refused = stepped.unwrap_err().to_string();
            assert!(refused.contains("403"), "{refused}");
        }
    }
}

/// `idea sep2 get`: a resource fetched by hand over mutual TLS and shown as `idea decode sep2` shows it; a
/// path the server does not have is its verdict (exit 1); a server that is not there is no answer (exit 3);
/// a client without the server's CA is refused in the handshake (exit 3).
#[test]
fn a_resource_is_fetched_by_hand_over_mutual_tls() {
    let path = |name: &str| certs().join(name).display().to_string();
    let (_served, address) = serve(
        "sep2-server",
        &[
            "--cert",
            &path("server.pem"),
            "--key",
            &path("server.key"),
            "--client-ca",
            &path("ca.pem"),
        ],
    );
    let tls = [
        "--cert".to_owned(),
        path("device.pem"),
        "--key".to_owned(),
        path("device.key"),
        "--server-ca".to_owned(),
        path("ca.pem"),
        "--server-name".to_owned(),
        "localhost".to_owned(),
    ];
    let get = |extra: &[&str]| {
        let mut args = vec!["sep2", "get", &address];
        args.extend_from_slice(extra);
        args.extend(tls.iter().map(String::as_str));
        common::idea_code(&args)
    };
    let (code, stdout, stderr) = get(&["/dcap", "--json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let dcap: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(dcap.to_string().contains("/edev"), "{dcap}");
    let (code, _, stderr) = get(&["/no-such-resource"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("HTTP 404"), "{stderr}");
    let (code, _, stderr) = common::idea_code(&[
        "sep2",
        "get",
        &address,
        "/dcap",
        "--cert",
        &path("rogue.pem"),
        "--key",
        &path("rogue.key"),
        "--server-ca",
        &path("rogue-ca.pem"),
    ]);
    assert_eq!(code, Some(3), "{stderr}");
    let (code, _, stderr) = common::idea_code(&["sep2", "get", "127.0.0.1:1", "/dcap"]);
    assert_eq!(code, Some(3), "{stderr}");
}
