//! `idea serve modbus-*` and `idea sunspec scan`: the real binary serving each simulated device on a socket,
//! and the real binary scanning it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(missing_docs)]

mod common;

use common::{idea, idea_code, serve};

fn scan(args: &[&str]) -> (bool, String, String) {
    idea(&[&["sunspec", "scan"], args].concat())
}

/// The model ids of a `sunspec scan --json` output, in map order.
fn model_ids(json: &serde_json::Value) -> Vec<u64> {
    json["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_u64().unwrap())
        .collect()
}

#[test]
fn every_modbus_device_serves_and_scans() {
    let expected: &[(&str, &[u64])] = &[
        ("modbus-router", &[1, 64900]),
        ("modbus-hub", &[1, 64901]),
        ("modbus-port", &[1, 64902]),
        ("modbus-rectiverter", &[1, 64903]),
        ("modbus-meter", &[1, 203]),
        ("modbus-relay", &[1, 64904]),
        ("modbus-der", &[1, 701, 702, 704, 705, 711, 712]),
    ];
    for (name, ids) in expected {
        let (_served, address) = serve(name, &[]);
        let (ok, stdout, stderr) = scan(&[&address, "--json"]);
        assert!(ok, "{name}: {stderr}");
        let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(json["base"], 40000);
        assert_eq!(model_ids(&json), *ids, "{name}");
        assert_eq!(json["models"][0]["points"]["Mn"], "IDEA SDK");
    }
}

#[test]
fn base_and_unit_options_and_text_output() {
    let (_served, address) = serve("modbus-meter", &["--base", "50000", "--unit", "7"]);
    let (ok, stdout, stderr) = scan(&[&address, "--unit", "7"]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.starts_with("SunSpec map at 50000: 2 models"),
        "{stdout}"
    );
    assert!(stdout.contains("model 203 ac_meter"), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.trim_start().starts_with("W ") && l.contains(" W")),
        "{stdout}"
    );
    // The wrong unit: no answer, no SunSpec map.
    let (ok, _, stderr) = scan(&[&address, "--unit", "1"]);
    assert!(!ok);
    assert!(stderr.contains("no SunSpec map"), "{stderr}");
    // Nothing listening.
    let (ok, _, stderr) = scan(&["127.0.0.1:1"]);
    assert!(!ok && stderr.contains("127.0.0.1:1"), "{stderr}");
}

/// A pseudo-terminal: the end the test drives, the other end (kept open, unused, so the line stays up) and
/// that end's path, which the `idea` binary opens as it would open a real port.
#[cfg(unix)]
fn pty() -> (
    modbus_profiles::net::SerialStream,
    modbus_profiles::net::SerialStream,
    String,
) {
    let (driver, device) = modbus_profiles::net::SerialStream::pair().unwrap();
    let path = tokio_serial::SerialPort::name(&device).unwrap();
    (driver, device, path)
}

/// `idea serve modbus-meter --serial PATH`: the device answers Modbus RTU on the port, with the character
/// format given, and a client on the other end of the line scans it.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_serves_on_a_serial_port() {
    let (driver, _device, path) = pty();
    let (_served, line) = common::spawn(&[
        "serve",
        "modbus-meter",
        "--serial",
        &path,
        "--baud",
        "9600",
        "--parity",
        "none",
        "--unit",
        "3",
    ]);
    assert!(
        line.contains("serving modbus-meter (Modbus RTU, unit 3)") && line.contains("9600 8N2"),
        "{line}"
    );
    let mut client =
        modbus_profiles::net::Client::new(driver, modbus_profiles::net::Framing::Rtu, 3);
    client.set_frame_gap(modbus_profiles::frame::frame_gap(9600));
    let device = client
        .scan(modbus_profiles::sunspec::Catalog::builtin().unwrap())
        .await
        .unwrap();
    // The meter reads the simulated flow into its cell: some import, within the cable's reach.
    let w = device.model(203).unwrap().get_scaled("W").unwrap().unwrap();
    assert!(w.abs() < 25_000.0, "{w}");
    assert_eq!(
        device.model(203).unwrap().get_scaled("Hz").unwrap(),
        Some(50.0)
    );
    // The port is the device's alone while it serves.
    let (ok, _, stderr) = idea(&["serve", "modbus-meter", "--serial", &path]);
    assert!(!ok && stderr.contains(&path), "{stderr}");
}

/// `idea sunspec scan PATH --serial`: the binary scans a device on the other end of a serial line.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_on_a_serial_port_is_scanned() {
    let (driver, _device, path) = pty();
    let catalog = modbus_profiles::sunspec::Catalog::builtin().unwrap();
    let device = modbus_profiles::simulator::SimulatedDevice::new(
        modbus_profiles::simulator::Profile::builtin("modbus-der").unwrap(),
        &catalog,
        40000,
    )
    .unwrap();
    tokio::spawn(modbus_profiles::net::serve_rtu(
        driver,
        std::sync::Arc::new(std::sync::Mutex::new(modbus_profiles::server::Server::new(
            1, device,
        ))),
        std::time::Duration::from_millis(2),
    ));
    let (ok, stdout, stderr) = tokio::task::spawn_blocking(move || {
        idea(&[
            "sunspec", "scan", &path, "--serial", "--baud", "115200", "--json",
        ])
    })
    .await
    .unwrap();
    assert!(ok, "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(model_ids(&json), [1, 701, 702, 704, 705, 711, 712, 713]);
}

#[test]
fn serial_options_are_checked() {
    // Only Modbus devices serve on a serial line.
    let (ok, _, stderr) = idea(&["serve", "iec104-router", "--serial", "/dev/null"]);
    assert!(
        !ok && stderr.contains("iec104-router does not take --serial"),
        "{stderr}"
    );
    // A port that does not exist is named.
    let (ok, _, stderr) = idea(&["serve", "modbus-relay", "--serial", "/dev/idea-no-port"]);
    assert!(!ok && stderr.contains("/dev/idea-no-port"), "{stderr}");
    let (ok, _, stderr) = scan(&["/dev/idea-no-port", "--serial"]);
    assert!(!ok && stderr.contains("/dev/idea-no-port"), "{stderr}");
    // A line setting without a serial port, both transports, neither, a bad parity or stop bits.
    for args in [
        &[
            "serve",
            "modbus-relay",
            "--listen",
            "127.0.0.1:0",
            "--baud",
            "9600",
        ][..],
        &[
            "serve",
            "modbus-relay",
            "--listen",
            "127.0.0.1:0",
            "--serial",
            "/dev/null",
        ],
        &["serve", "modbus-relay"],
        &[
            "serve",
            "modbus-relay",
            "--serial",
            "/dev/null",
            "--parity",
            "mark",
        ],
        &[
            "serve",
            "modbus-relay",
            "--serial",
            "/dev/null",
            "--stop-bits",
            "3",
        ],
        &["sunspec", "scan", "127.0.0.1:1", "--parity", "odd"],
    ] {
        // Usage errors, each: exit 2 with one line that says what is wrong.
        let (code, _, stderr) = idea_code(args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(!stderr.trim().is_empty(), "{args:?}");
    }
}

/// Addresses are read one way wherever one is taken: a host name works for `--listen` as for a client.
#[test]
fn a_host_name_is_an_address_to_listen_on() {
    let (_served, line) = common::spawn(&["serve", "modbus-meter", "--listen", "localhost:0"]);
    assert!(
        line.contains("serving modbus-meter on 127.0.0.1:")
            || line.contains("serving modbus-meter on [::1]:"),
        "{line}"
    );
    let (code, _, stderr) = idea_code(&[
        "serve",
        "modbus-meter",
        "--listen",
        "no-such-host.invalid:1502",
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("expected HOST:PORT"), "{stderr}");
}

/// `idea modbus read|write`: registers by hand. The SunSpec marker reads back; a register outside the map is
/// the device's exception (exit 1, named); a closed port is no answer (exit 3).
#[test]
fn registers_are_read_and_written_by_hand() {
    let (_served, address) = serve("modbus-meter", &[]);
    let (ok, stdout, stderr) = idea(&[
        "modbus",
        "read",
        &address,
        "--address",
        "40000",
        "--count",
        "2",
        "--json",
    ]);
    assert!(ok, "{stderr}");
    let read: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        read["values"],
        serde_json::json!([0x5375, 0x6E53]),
        "\"SunS\""
    );
    let (code, stdout, stderr) =
        idea_code(&["modbus", "read", &address, "--address", "1", "--json"]);
    assert_eq!(code, Some(1), "{stderr}");
    let refused: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(refused["exception"], "illegal data address");
    let (code, _, stderr) = idea_code(&[
        "modbus",
        "write",
        &address,
        "--address",
        "1",
        "--values",
        "7,0x10",
    ]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("exception 2 (illegal data address)"),
        "{stderr}"
    );
    let (code, _, stderr) = idea_code(&["modbus", "read", "127.0.0.1:1", "--address", "0"]);
    assert_eq!(code, Some(3), "{stderr}");
    let (code, _, stderr) = idea_code(&[
        "modbus",
        "read",
        &address,
        "--address",
        "0",
        "--count",
        "200",
    ]);
    assert_eq!(code, Some(2), "{stderr}");
}

/// `--list-faults` names what the kind can show; a planned fault is taken, an unknown one refused as usage,
/// and `stale` refused where there is nothing to freeze.
#[test]
fn faults_are_listed_planned_and_checked() {
    let (ok, stdout, _) = idea(&["serve", "modbus-hub", "--list-faults"]);
    assert!(ok);
    assert!(
        stdout.starts_with("silent") && stdout.contains("\nstale"),
        "{stdout}"
    );
    assert!(!stdout.contains("wrong-cot"), "{stdout}");
    assert!(stdout.contains("register-off-by-one"), "{stdout}");
    let (ok, stdout, _) = idea(&["serve", "sep2-server", "--list-faults"]);
    assert!(
        ok && stdout.contains("silent") && !stdout.contains("stale"),
        "{stdout}"
    );
    // The IEC 104 protocol faults belong to the IEC 104 devices, over plain TCP.
    let (ok, stdout, _) = idea(&["serve", "iec104-router", "--list-faults"]);
    assert!(ok && stdout.lines().count() == 15, "{stdout}");
    assert!(stdout.contains("negative-confirmation-missing"), "{stdout}");
    assert!(!stdout.contains("register-off-by-one"), "{stdout}");
    // The Modbus protocol faults belong to the Modbus/SunSpec devices, over Modbus TCP.
    let (code, _, stderr) = idea_code(&[
        "serve",
        "iec104-router",
        "--listen",
        "127.0.0.1:0",
        "--fault",
        "write-not-applied",
    ]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("applies to the Modbus/SunSpec devices only"),
        "{stderr}"
    );
    let (code, _, stderr) = idea_code(&[
        "serve",
        "modbus-meter",
        "--serial",
        "/dev/null",
        "--fault",
        "trailing-byte",
    ]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("serve with --listen, not --serial"),
        "{stderr}"
    );
    let (code, _, stderr) = idea_code(&[
        "serve",
        "modbus-hub",
        "--listen",
        "127.0.0.1:0",
        "--fault",
        "wrong-cot",
    ]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("applies to iec104-router and iec104-meter only"),
        "{stderr}"
    );
    let (code, _, stderr) = idea_code(&[
        "serve",
        "modbus-hub",
        "--listen",
        "127.0.0.1:0",
        "--fault",
        "loud",
    ]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("no fault \"loud\"") && stderr.contains("silent, stale"),
        "{stderr}"
    );
    let (code, _, stderr) = idea_code(&[
        "serve",
        "sep2-server",
        "--listen",
        "127.0.0.1:0",
        "--fault",
        "stale",
    ]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("stale fault does not apply"), "{stderr}");
    // A stale meter still answers: the scan works.
    let (_served, address) = serve("modbus-meter", &["--fault", "stale", "--speed", "60"]);
    let (ok, _, stderr) = scan(&[&address]);
    assert!(ok, "{stderr}");
}

/// A device of another topology, by element name, and a name the topology lacks refused before serving.
#[test]
fn a_device_binds_to_an_element_of_a_topology_file() {
    let dir = std::env::temp_dir().join(format!("idea-topology-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("shop.toml");
    std::fs::write(
        &file,
        "name = \"shop\"\n[grid]\nbus = \"n\"\n[[bus]]\nname = \"n\"\nkv = 0.4\n[[load]]\nname = \"shop\"\nbus = \"n\"\nkw = 3.0\n[[meter]]\nname = \"m\"\nelement = \"shop\"\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let (_served, address) = serve("modbus-meter", &["--topology", path, "--element", "m"]);
    let (ok, stdout, stderr) = scan(&[&address, "--json"]);
    assert!(ok, "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let meter = json["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == 203)
        .unwrap();
    assert_eq!(meter["points"]["W"], 3000.0, "the flat 3 kW load: {meter}");
    let (code, _, stderr) = idea_code(&[
        "serve",
        "modbus-meter",
        "--listen",
        "127.0.0.1:0",
        "--topology",
        path,
        "--element",
        "nope",
    ]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("no meter named \"nope\""), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--start` sets the simulated calendar: a roof under a cloudless sky gives nothing at midnight and its
/// power at noon, whatever the hour the device is started. A start that is not RFC 3339 is a usage error, and
/// a device with no simulated microgrid refuses it.
#[test]
fn the_simulated_calendar_starts_where_asked() {
    let dir = common::scratch_dir("serve-start", "roof");
    let file = dir.join("roof.toml");
    std::fs::write(
        &file,
        "name = \"roof\"\n[sun]\nsunrise_h = 6.0\nsunset_h = 18.0\npeak_w_per_m2 = 1000.0\ncloudiness = 0.0\n\
         [grid]\nbus = \"n\"\n[[bus]]\nname = \"n\"\nkv = 0.4\n[[pv]]\nname = \"roof\"\nbus = \"n\"\nkwp = 5.0\n\
         [[meter]]\nname = \"m\"\nelement = \"roof\"\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let power_at = |start: &str| {
        let (_served, address) = serve(
            "modbus-meter",
            &["--topology", path, "--element", "m", "--start", start],
        );
        let (ok, stdout, stderr) = scan(&[&address, "--json"]);
        assert!(ok, "{stderr}");
        let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        let meter = json["models"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == 203)
            .unwrap()
            .clone();
        meter["points"]["W"].as_f64().unwrap()
    };
    let midnight = power_at("2026-06-21T00:00:00Z");
    let noon = power_at("2026-06-21T12:00:00Z");
    assert!(midnight.abs() < 1.0, "{midnight} W at midnight");
    assert!(noon.abs() > 1_000.0, "{noon} W at noon from 5 kWp");
    let (code, _, stderr) = idea_code(&[
        "serve",
        "modbus-meter",
        "--listen",
        "127.0.0.1:0",
        "--start",
        "yesterday",
    ]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("'--start <RFC3339>'") && stderr.contains("expected a digit"),
        "{stderr}"
    );
    let (code, _, stderr) = idea_code(&[
        "serve",
        "sep2-server",
        "--listen",
        "127.0.0.1:0",
        "--start",
        "2026-06-21T00:00:00Z",
    ]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("does not take --topology, --element, --seed, --speed or --start"),
        "{stderr}"
    );
}

/// `idea serve mqtt-devices`: a broker on the address, the demonstration complex's meters and relays
/// publishing their state (IOT-05).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meters_and_relays_publish_over_mqtt() {
    use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
    let (_served, address) = serve("mqtt-devices", &[]);
    let (host, port) = address.rsplit_once(':').unwrap();
    let (client, mut events) = AsyncClient::new(
        MqttOptions::new("observer", host, port.parse().unwrap()),
        16,
    );
    client
        .subscribe("idea/devices/+/state", QoS::AtLeastOnce)
        .await
        .unwrap();
    let state = tokio::time::timeout(std::time::Duration::from_secs(15), async {
        loop {
            if let Ok(Event::Incoming(Packet::Publish(p))) = events.poll().await
                && p.topic == "idea/devices/cell4.workshop.relay/state"
            {
                break serde_json::from_slice::<serde_json::Value>(&p.payload).unwrap();
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(state["kind"], "relay");
    assert_eq!(state["closed"], true);
}

/// The IEC 104 timers belong to the IEC 104 devices: a Modbus device refuses them as usage, and a t2 not
/// below t1 is refused by the link's rules.
#[test]
fn iec104_timers_are_refused_where_they_do_not_apply() {
    let (code, _, stderr) = idea_code(&[
        "serve",
        "modbus-hub",
        "--listen",
        "127.0.0.1:0",
        "--t1",
        "4",
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("does not take --t1"), "{stderr}");
    let (code, _, stderr) = idea_code(&[
        "serve",
        "iec104-router",
        "--listen",
        "127.0.0.1:0",
        "--t1",
        "4",
        "--t2",
        "5",
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("t2"), "{stderr}");
}
