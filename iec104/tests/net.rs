//! Our controlling station against our controlled station over TCP on loopback (feature `tokio`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use iec104::net::{Client, ClientConfig, ConnectionState, ReconnectPolicy, Server, ServerConfig};
use iec104::station::{
    CommandHandler, CommandMode, CommandResult, Outstation, OutstationConfig, Point, PointDatabase,
    RedundancyGroup,
};
use iec104::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

struct App(Vec<(u8, u32)>);

impl CommandHandler for App {
    fn command(&mut self, type_id: u8, object: &InformationObject, _now: Instant) -> CommandResult {
        self.0.push((type_id, object.ioa));
        CommandResult::Accept
    }
}

async fn server() -> (Arc<Server<App>>, std::net::SocketAddr) {
    let mut db = PointDatabase::new();
    db.insert(
        1001,
        Point {
            type_id: 13,
            elements: vec![Element::R32(50.0f32.to_bits()), Element::Qds(0)],
            groups: vec![],
            counter: false,
        },
    )
    .unwrap();
    db.insert(
        2001,
        Point {
            type_id: 1,
            elements: vec![Element::Siq(1)],
            groups: vec![],
            counter: false,
        },
    )
    .unwrap();
    let mut config = OutstationConfig::new(1);
    config.commands.insert(4001, (45, CommandMode::Direct));
    config
        .commands
        .insert(5001, (45, CommandMode::SelectBeforeOperate));
    let station = Outstation::new(config, db, App(Vec::new()), Instant::now());
    let server = Server::new(station, ServerConfig::default()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(Arc::clone(&server).run(listener));
    (server, address)
}

fn single_command(ioa: u32, sco: u8) -> Asdu {
    Asdu {
        type_id: 45,
        sq: false,
        count: 1,
        cot: Cot::new(6),
        common_address: 1,
        objects: Objects::Known(vec![InformationObject {
            ioa,
            elements: vec![Element::Sco(sco)],
        }]),
    }
}

const WAIT: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrogation_commands_and_spontaneous_reports() {
    let (server, address) = server().await;
    let mut client = Client::connect(address, ClientConfig::default()).unwrap();
    client.wait_started(WAIT).await.unwrap();
    assert_eq!(client.state(), ConnectionState::Started);

    let data = client.interrogate(1, 20, WAIT).await.unwrap();
    let types: Vec<u8> = data.iter().map(|a| a.type_id).collect();
    assert_eq!(types, [1, 13]);
    assert!(data.iter().all(|a| a.cot.cause == 20));

    let outcome = client.command(single_command(4001, 1), WAIT).await.unwrap();
    assert!(outcome.confirmed && outcome.terminated, "{outcome:?}");
    let refused = client.command(single_command(9999, 1), WAIT).await.unwrap();
    assert!(!refused.confirmed, "unknown address: {refused:?}");
    // Select before operate.
    assert!(
        client
            .command(single_command(5001, 0x81), WAIT)
            .await
            .unwrap()
            .confirmed
    );
    assert!(
        client
            .command(single_command(5001, 0x01), WAIT)
            .await
            .unwrap()
            .terminated
    );
    server.with_station(|s| assert_eq!(s.handler_mut().0, [(45, 4001), (45, 5001)]));

    // A second client; both receive a spontaneous change.
    let mut second = Client::connect(address, ClientConfig::default()).unwrap();
    second.wait_started(WAIT).await.unwrap();
    server
        .update(1001, vec![Element::R32(51.5f32.to_bits()), Element::Qds(0)])
        .unwrap();
    for c in [&mut client, &mut second] {
        let event = tokio::time::timeout(WAIT, c.next_event())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(event.cot.cause, 3);
        let Objects::Known(o) = &event.objects else {
            panic!()
        };
        assert_eq!(o[0].elements[0], Element::R32(51.5f32.to_bits()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_reconnects_and_reports_its_state() {
    // Nobody listens on this port: the client keeps trying, then gives up after two attempts.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let config = ClientConfig {
        reconnect: ReconnectPolicy {
            delay: Duration::from_millis(50),
            max_attempts: Some(2),
        },
        ..ClientConfig::default()
    };
    let mut client = Client::connect(address, config).unwrap();
    assert!(client.wait_started(WAIT).await.is_err());
    assert_eq!(client.state(), ConnectionState::Closed);

    // A server that appears later is found by a client that keeps trying.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let late = listener.local_addr().unwrap();
    drop(listener);
    let config = ClientConfig {
        reconnect: ReconnectPolicy {
            delay: Duration::from_millis(100),
            max_attempts: None,
        },
        ..ClientConfig::default()
    };
    let mut patient = Client::connect(late, config).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(patient.state(), ConnectionState::Connecting);
    let mut db = PointDatabase::new();
    db.insert(
        1,
        Point {
            type_id: 1,
            elements: vec![Element::Siq(0)],
            groups: vec![],
            counter: false,
        },
    )
    .unwrap();
    let server = Server::new(
        Outstation::new(
            OutstationConfig::new(1),
            db,
            App(Vec::new()),
            Instant::now(),
        ),
        ServerConfig::default(),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind(late).await.unwrap();
    tokio::spawn(server.run(listener));
    patient.wait_started(WAIT).await.unwrap();
    assert_eq!(patient.interrogate(1, 20, WAIT).await.unwrap().len(), 1);
}

/// A server whose only redundancy group admits the given addresses.
async fn grouped_server(
    clients: Vec<std::net::IpAddr>,
) -> (Arc<Server<App>>, std::net::SocketAddr) {
    let mut db = PointDatabase::new();
    db.insert(
        2001,
        Point {
            type_id: 1,
            elements: vec![Element::Siq(0)],
            groups: vec![],
            counter: false,
        },
    )
    .unwrap();
    let config = ServerConfig {
        redundancy_groups: vec![RedundancyGroup::new("scada", clients)],
        ..ServerConfig::default()
    };
    let station = Outstation::new(
        OutstationConfig::new(1),
        db,
        App(Vec::new()),
        Instant::now(),
    );
    let server = Server::new(station, config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(Arc::clone(&server).run(listener));
    (server, address)
}

fn single_value(event: &Asdu) -> Element {
    let Objects::Known(o) = &event.objects else {
        panic!("raw objects")
    };
    o[0].elements[0]
}

async fn until(what: impl Fn() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !what() {
        assert!(
            Instant::now() < deadline,
            "condition not reached within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redundancy_group_reports_through_its_last_started_connection_and_keeps_a_backlog() {
    let (server, address) = grouped_server(vec!["127.0.0.1".parse().unwrap()]).await;
    let mut first = Client::connect(address, ClientConfig::default()).unwrap();
    first.wait_started(WAIT).await.unwrap();
    server.update(2001, vec![Element::Siq(1)]).unwrap();
    let event = tokio::time::timeout(WAIT, first.next_event())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(single_value(&event), Element::Siq(1));

    // A second connection of the group starts: it takes the reports over; the first gets nothing more.
    let mut second = Client::connect(address, ClientConfig::default()).unwrap();
    second.wait_started(WAIT).await.unwrap();
    until(|| server.redundancy_status()[0].active == Some(1)).await;
    server.update(2001, vec![Element::Siq(0)]).unwrap();
    let event = tokio::time::timeout(WAIT, second.next_event())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(single_value(&event), Element::Siq(0));
    let silent = tokio::time::timeout(Duration::from_millis(300), first.next_event()).await;
    assert!(silent.is_err(), "the stand-by connection got {silent:?}");

    // Nobody started: changes wait in the backlog and reach the next connection that starts, in order.
    drop(first);
    drop(second);
    until(|| server.redundancy_status()[0].active.is_none()).await;
    server.update(2001, vec![Element::Siq(1)]).unwrap();
    server.update(2001, vec![Element::Siq(0)]).unwrap();
    assert_eq!(server.redundancy_status()[0].backlog, 2);
    let mut third = Client::connect(address, ClientConfig::default()).unwrap();
    third.wait_started(WAIT).await.unwrap();
    for expected in [Element::Siq(1), Element::Siq(0)] {
        let event = tokio::time::timeout(WAIT, third.next_event())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(single_value(&event), expected);
    }
    // Delivered once: nothing else follows.
    let extra = tokio::time::timeout(Duration::from_millis(300), third.next_event()).await;
    assert!(extra.is_err(), "duplicate report {extra:?}");
    assert_eq!(server.redundancy_status()[0].backlog, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_of_no_redundancy_group_is_refused() {
    let (_server, address) = grouped_server(vec!["192.0.2.1".parse().unwrap()]).await;
    let config = ClientConfig {
        reconnect: ReconnectPolicy {
            delay: Duration::from_millis(50),
            max_attempts: Some(1),
        },
        ..ClientConfig::default()
    };
    let mut outsider = Client::connect(address, config).unwrap();
    assert!(outsider.wait_started(Duration::from_secs(1)).await.is_err());
}

/// Strict as a server: a frame whose APDU length disagrees with its VSQ count (an octet after the last object,
/// which c104 accepts) closes the connection and executes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_with_a_trailing_octet_closes_the_connection() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (server, address) = server().await;
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream
        .write_all(&parse_hex("68 04 07 00 00 00").unwrap())
        .await
        .unwrap();
    let mut con = [0u8; 6];
    tokio::time::timeout(WAIT, stream.read_exact(&mut con))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(con, [0x68, 0x04, 0x0b, 0, 0, 0]);
    let frame = parse_hex("68 0f 00 00 00 00  2d 01 06 00 01 00  a1 0f 00  01  00").unwrap();
    stream.write_all(&frame).await.unwrap();
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(WAIT, stream.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "the server kept the connection open");
    assert!(rest.is_empty(), "answered {rest:02x?}");
    server.with_station(|s| assert!(s.handler_mut().0.is_empty()));
}

/// A client nobody drains keeps at most `max_pending_events` reports and counts those it drops; the
/// connection goes on, and the reports kept are the oldest, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_nobody_drains_keeps_a_bounded_backlog_and_counts_what_it_drops() {
    let (server, address) = server().await;
    let config = ClientConfig {
        max_pending_events: 8,
        ..ClientConfig::default()
    };
    let mut client = Client::connect(address, config).unwrap();
    client.wait_started(WAIT).await.unwrap();
    // Each change reported before the next (a station coalesces changes not yet reported).
    for i in 0..12u8 {
        server
            .update(
                1001,
                vec![Element::R32(f32::from(i).to_bits()), Element::Qds(0)],
            )
            .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    until(|| client.dropped_events() == 4).await;
    for i in 0..8u8 {
        let event = tokio::time::timeout(WAIT, client.next_event())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(single_value(&event), Element::R32(f32::from(i).to_bits()));
    }
    assert_eq!(client.dropped_events(), 4);
    assert_eq!(client.state(), ConnectionState::Started);
    // Still answering requests.
    assert_eq!(client.interrogate(1, 20, WAIT).await.unwrap().len(), 2);
}
