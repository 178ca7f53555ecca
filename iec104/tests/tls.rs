//! TLS to the IEC 62351-3 profile (feature `tls`): mutual authentication between our controlling and controlled
//! stations, and the refusals — a client certified by another authority, a server that does not carry the
//! expected name, a client without TLS; and our client against a lib60870 TLS outstation (c104). A c104 TLS
//! client cannot complete a handshake with any server (see `tests/peers/c104_tls.py`), so that direction is not
//! tested.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use iec104::net::tls::{ClientTls, Identity, server_config, trust_anchors};
use iec104::net::{Client, ClientConfig, ReconnectPolicy, Server, ServerConfig};
use iec104::station::{
    CommandHandler, CommandResult, Outstation, OutstationConfig, Point, PointDatabase,
};
use iec104::*;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[path = "../../interop/python.rs"]
mod python;

const WAIT: Duration = Duration::from_secs(5);

fn cert(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/certs")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn identity(who: &str) -> Identity {
    Identity::from_pem(&cert(&format!("{who}.pem")), &cert(&format!("{who}.key"))).unwrap()
}

struct NoCommands;

impl CommandHandler for NoCommands {
    fn command(&mut self, _: u8, _: &InformationObject, _: Instant) -> CommandResult {
        CommandResult::Reject
    }
}

async fn tls_server() -> std::net::SocketAddr {
    let mut db = PointDatabase::new();
    let point = Point {
        type_id: 13,
        elements: vec![Element::R32(230.5f32.to_bits()), Element::Qds(0)],
        groups: vec![],
        counter: false,
    };
    db.insert(1001, point).unwrap();
    let station = Outstation::new(OutstationConfig::new(1), db, NoCommands, Instant::now());
    let server = Server::new(station, ServerConfig::default()).unwrap();
    let tls = server_config(
        identity("outstation"),
        trust_anchors(&cert("ca.pem")).unwrap(),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(server.run_tls(listener, tls));
    address
}

fn client_config(tls: Option<ClientTls>) -> ClientConfig {
    ClientConfig {
        tls,
        reconnect: ReconnectPolicy {
            delay: Duration::from_millis(100),
            max_attempts: Some(2),
        },
        ..ClientConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutually_authenticated_stations_exchange_data() {
    let address = tls_server().await;
    let tls = ClientTls::new(
        identity("scada"),
        trust_anchors(&cert("ca.pem")).unwrap(),
        "outstation.test",
    )
    .unwrap();
    let mut client = Client::connect(address, client_config(Some(tls))).unwrap();
    client.wait_started(WAIT).await.unwrap();
    let data = client.interrogate(1, 20, WAIT).await.unwrap();
    assert_eq!(data.len(), 1);
    let Objects::Known(objects) = &data[0].objects else {
        panic!("raw objects")
    };
    assert_eq!(objects[0].ioa, 1001);
    assert_eq!(objects[0].elements[0], Element::R32(230.5f32.to_bits()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_certified_by_another_authority_is_refused() {
    let address = tls_server().await;
    // The rogue client trusts the right CA for the server, but its own certificate chains to another one.
    let tls = ClientTls::new(
        identity("rogue"),
        trust_anchors(&cert("ca.pem")).unwrap(),
        "outstation.test",
    )
    .unwrap();
    let mut client = Client::connect(address, client_config(Some(tls))).unwrap();
    assert!(client.wait_started(Duration::from_secs(2)).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_the_expected_name_or_anchor_is_refused() {
    let address = tls_server().await;
    let wrong_name = ClientTls::new(
        identity("scada"),
        trust_anchors(&cert("ca.pem")).unwrap(),
        "substation-7.test",
    )
    .unwrap();
    // The handshake fails on our side: the client gives up after its two attempts.
    let mut client = Client::connect(address, client_config(Some(wrong_name))).unwrap();
    let refused = client.wait_started(Duration::from_secs(4)).await;
    assert!(matches!(refused, Err(Error::Transport(_))), "{refused:?}");
    let wrong_anchor = ClientTls::new(
        identity("scada"),
        trust_anchors(&cert("rogue-ca.pem")).unwrap(),
        "outstation.test",
    )
    .unwrap();
    let mut client = Client::connect(address, client_config(Some(wrong_anchor))).unwrap();
    let refused = client.wait_started(Duration::from_secs(4)).await;
    assert!(matches!(refused, Err(Error::Transport(_))), "{refused:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_client_gets_no_data_from_a_tls_server() {
    let address = tls_server().await;
    let mut client = Client::connect(address, client_config(None)).unwrap();
    assert!(client.wait_started(Duration::from_secs(2)).await.is_err());
}

#[test]
fn malformed_pem_is_an_error() {
    assert!(Identity::from_pem(b"not a certificate", &cert("scada.key")).is_err());
    assert!(Identity::from_pem(&cert("scada.pem"), b"").is_err());
    assert!(trust_anchors(b"").is_err());
}

/// Our controlling station over TLS against a lib60870 outstation (c104 on mbedtls) that validates our
/// certificate against the test CA.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_against_a_lib60870_tls_outstation() {
    use std::io::BufRead;
    let Some(python) = python::python("lib60870 TLS interoperability") else {
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut peer = std::process::Command::new(python)
        .arg(dir.join("tests/peers/c104_tls.py"))
        .arg(port.to_string())
        .arg(dir.join("tests/certs"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start the c104 TLS outstation");
    let mut ready = String::new();
    std::io::BufReader::new(peer.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert_eq!(ready.trim(), "READY");
    let tls = ClientTls::new(
        identity("scada"),
        trust_anchors(&cert("ca.pem")).unwrap(),
        "outstation.test",
    )
    .unwrap();
    let mut client =
        Client::connect(([127, 0, 0, 1], port).into(), client_config(Some(tls))).unwrap();
    let started = client.wait_started(Duration::from_secs(10)).await;
    let data = match started {
        Ok(()) => client.interrogate(1, 20, WAIT).await,
        Err(e) => Err(e),
    };
    drop(peer.stdin.take());
    let _ = peer.wait();
    let data = data.unwrap();
    let Objects::Known(objects) = &data[0].objects else {
        panic!("raw objects")
    };
    assert_eq!(objects[0].ioa, 1001);
    assert_eq!(objects[0].elements[0], Element::R32(50.0f32.to_bits()));
}
