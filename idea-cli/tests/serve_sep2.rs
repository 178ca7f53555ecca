//! `idea serve sep2-server`: the real binary serving IEEE 2030.5 over mutual TLS to our DER client, which
//! registers, finds the default control and the demonstration event.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(missing_docs)]

mod common;

use common::sep2::{certs, der_client, device_lfdi};
use common::serve;
use ieee2030_5::scheduler::{EventState, SchedulerEvent};

#[test]
fn a_device_registers_and_receives_the_demonstration_event() {
    let lfdi = device_lfdi();
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
    let mut client = der_client(address, Some(424_242));
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
        let mut client = der_client(address, None);
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

/// `--operator-api`: the operator enrols a device and publishes an event over HTTP/JSON behind a bearer
/// token; the device then registers and finds the event. A wrong token is refused; a non-loopback address
/// without a token is a usage error.
#[test]
fn the_operator_enrols_and_publishes_over_its_http_interface() {
    let path = |name: &str| certs().join(name).display().to_string();
    let token_file =
        std::env::temp_dir().join(format!("sep2-operator-{}.token", std::process::id()));
    std::fs::write(&token_file, "s3cret\n").unwrap();
    let token_path = token_file.display().to_string();
    let (_served, address, first) = common::serve_logged(
        "sep2-server",
        &[
            "--cert",
            &path("server.pem"),
            "--key",
            &path("server.key"),
            "--client-ca",
            &path("ca.pem"),
            "--operator-api",
            "127.0.0.1:0",
            "--operator-token",
            &token_path,
        ],
    );
    let operator = first
        .split("operator interface on http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("no operator interface in {first}"))
        .to_owned();
    let refused = common::http(&operator, "GET", "/", "wrong", "");
    assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");
    let lfdi = device_lfdi();
    let enrolled = common::http(
        &operator,
        "POST",
        "/devices",
        "s3cret",
        &format!(
            r#"{{"lfdi": "{lfdi}", "pin": 555, "fsas": [0], "connection_point": "4123456789"}}"#
        ),
    );
    assert!(enrolled.starts_with("HTTP/1.1 201"), "{enrolled}");
    let now = ieee2030_5::net::system_clock()();
    let event = common::http(
        &operator,
        "POST",
        "/programs/0/controls",
        "s3cret",
        &format!(
            r#"{{"creationTime": {now}, "interval": {{"start": {}, "duration": 600}}, "DERControlBase": {{"opModExpLimW": {{"multiplier": 0, "value": 1500}}}}}}"#,
            now - 5
        ),
    );
    assert!(event.starts_with("HTTP/1.1 201"), "{event}");
    // The device registers with the PIN the operator enrolled and runs the export limit.
    let mut client = der_client(address, Some(555));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(client.step(now)).unwrap();
    let limit = client.active().base().op_mod_exp_lim_w.clone();
    assert_eq!(
        limit.map(|w| w.value),
        Some(1500),
        "the operator's event is active"
    );
    let devices = common::http(&operator, "GET", "/devices", "s3cret", "");
    assert!(
        devices.contains(r#""connection_point":"4123456789""#),
        "{devices}"
    );
    std::fs::remove_file(&token_file).ok();
    // No token on an address others can reach: refused before serving.
    let (code, _, stderr) = common::idea_code(&[
        "serve",
        "sep2-server",
        "--listen",
        "127.0.0.1:0",
        "--operator-api",
        "0.0.0.0:0",
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--operator-token"), "{stderr}");
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
