//! The controlled station cannot be starved (issue 19's attack cases, bounded, on 127.0.0.1): connections that
//! never start data transfer are closed after the start timeout so a real master gets in; a master a redundancy
//! group names is admitted however many unknown clients squat; one address cannot take every slot; a master
//! that floods interrogations and never acknowledges is closed long before t1 instead of growing the server's
//! memory.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use iec104::net::{Client, ClientConfig, ReconnectPolicy, Server, ServerConfig};
use iec104::station::{
    CommandHandler, CommandResult, Outstation, OutstationConfig, Point, PointDatabase,
    RedundancyGroup,
};
use iec104::*;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

struct NoCommands;

impl CommandHandler for NoCommands {
    fn command(&mut self, _: u8, _: &InformationObject, _: Instant) -> CommandResult {
        CommandResult::Reject
    }
}

const STARTDT_ACT: [u8; 6] = [0x68, 0x04, 0x07, 0x00, 0x00, 0x00];
const STARTDT_CON: [u8; 6] = [0x68, 0x04, 0x0b, 0x00, 0x00, 0x00];

/// A station with `points` single points in group 1, served with `config`.
async fn station(points: u32, config: ServerConfig) -> SocketAddr {
    let mut db = PointDatabase::new();
    for i in 0..points {
        db.insert(
            1000 + i,
            Point {
                type_id: 1,
                elements: vec![Element::Siq(u8::from(i % 2 == 0))],
                groups: vec![1],
                counter: false,
            },
        )
        .unwrap();
    }
    let station = Outstation::new(OutstationConfig::new(1), db, NoCommands, Instant::now());
    let server = Server::new(station, config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(Arc::clone(&server).run(listener));
    address
}

/// A raw TCP connection from `from` (an address of 127.0.0.0/8) to `to`.
async fn connect_from(from: [u8; 4], to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind((from, 0).into()).unwrap();
    socket.connect(to).await.unwrap()
}

/// Whether the station completes STARTDT on `stream` within a second.
async fn starts(stream: &mut TcpStream) -> bool {
    if stream.write_all(&STARTDT_ACT).await.is_err() {
        return false;
    }
    let mut answer = [0u8; 6];
    matches!(
        tokio::time::timeout(Duration::from_secs(1), stream.read_exact(&mut answer)).await,
        Ok(Ok(_)) if answer == STARTDT_CON
    )
}

/// Whether the peer closed `stream` within `within` (reading and discarding what it sends).
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    let mut sink = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut sink)).await {
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
            Err(_) => return false,
        }
    }
}

fn quick_client() -> ClientConfig {
    ClientConfig {
        reconnect: ReconnectPolicy {
            delay: Duration::from_millis(100),
            max_attempts: Some(3),
        },
        ..ClientConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn squatters_that_never_start_are_closed_and_a_real_master_gets_in() {
    let address = station(
        10,
        ServerConfig {
            max_connections: 8,
            max_connections_per_address: 8,
            start_timeout: Duration::from_millis(400),
            ..ServerConfig::default()
        },
    )
    .await;
    // Eight connections that send nothing take every slot.
    let mut squatters = Vec::new();
    for _ in 0..8 {
        squatters.push(TcpStream::connect(address).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut ninth = TcpStream::connect(address).await.unwrap();
    assert!(
        !starts(&mut ninth).await,
        "the ninth is refused while all slots are held"
    );
    // After the start timeout the squatters are closed…
    for squatter in &mut squatters {
        assert!(closed_within(squatter, Duration::from_secs(2)).await);
    }
    // … and a real master connects and interrogates.
    let mut client = Client::connect(address, quick_client()).unwrap();
    client.wait_started(Duration::from_secs(3)).await.unwrap();
    let data = client
        .interrogate(1, 20, Duration::from_secs(3))
        .await
        .unwrap();
    assert!(!data.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_take_every_slot() {
    let address = station(
        10,
        ServerConfig {
            max_connections: 8,
            max_connections_per_address: 3,
            ..ServerConfig::default()
        },
    )
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut s = connect_from([127, 0, 0, 3], address).await;
        assert!(starts(&mut s).await);
        held.push(s);
    }
    let mut fourth = connect_from([127, 0, 0, 3], address).await;
    assert!(
        !starts(&mut fourth).await,
        "a fourth from one address is refused"
    );
    let mut other = connect_from([127, 0, 0, 4], address).await;
    assert!(starts(&mut other).await, "another address still gets in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_named_redundancy_master_is_never_locked_out_by_unknown_clients() {
    let master: std::net::IpAddr = [127, 0, 0, 2].into();
    let address = station(
        10,
        ServerConfig {
            max_connections: 4,
            max_connections_per_address: 8,
            redundancy_groups: vec![
                RedundancyGroup::new("scada", vec![master]),
                RedundancyGroup::new("anyone", vec![]),
            ],
            ..ServerConfig::default()
        },
    )
    .await;
    // Unknown clients (the catch-all group) started and holding every general slot.
    let mut squatters = Vec::new();
    for _ in 0..4 {
        let mut s = connect_from([127, 0, 0, 1], address).await;
        assert!(starts(&mut s).await);
        squatters.push(s);
    }
    let mut fifth = connect_from([127, 0, 0, 1], address).await;
    assert!(!starts(&mut fifth).await);
    // The named master gets in, twice (active and standby).
    let mut active = connect_from([127, 0, 0, 2], address).await;
    assert!(starts(&mut active).await);
    let mut standby = connect_from([127, 0, 0, 2], address).await;
    assert!(starts(&mut standby).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_that_floods_interrogations_without_acknowledging_is_closed_early() {
    let address = station(
        600,
        ServerConfig {
            max_queued: 64,
            ..ServerConfig::default()
        },
    )
    .await;
    let mut flood = TcpStream::connect(address).await.unwrap();
    assert!(starts(&mut flood).await);
    // Station interrogations with N(S) counting up and N(R) = 0: nothing the station sends is acknowledged.
    let mut frames = Vec::new();
    for ns in 0u16..200 {
        let ns = (ns << 1).to_le_bytes();
        frames.extend_from_slice(&[
            0x68, 0x0e, ns[0], ns[1], 0x00, 0x00, 0x64, 0x01, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00,
            0x00, 0x14,
        ]);
    }
    let _ = flood.write_all(&frames).await;
    let started = Instant::now();
    // t1 is 15 s; the queue bound closes the connection at once.
    assert!(closed_within(&mut flood, Duration::from_secs(5)).await);
    assert!(started.elapsed() < Duration::from_secs(5));
}
