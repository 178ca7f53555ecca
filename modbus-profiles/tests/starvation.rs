//! The Modbus TCP server cannot be starved (issue 19's cases, bounded, on 127.0.0.1): a request with a protocol
//! id other than 0 closes the connection; one address cannot take every slot; a client that trickles a request
//! or sends nothing is closed after its timeout while others are served.
#![cfg(feature = "tokio")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(clippy::arithmetic_side_effects, missing_docs)]

mod common;
use common::shared;
use idea_proto::admission::AdmissionLimits;
use modbus_profiles::net::{TcpLimits, serve_tcp_with};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// Read holding registers 40000..40002 of unit 1, transaction `id`, with protocol id `protocol`.
fn read_request(id: u16, protocol: u16) -> Vec<u8> {
    let [t0, t1] = id.to_be_bytes();
    let [p0, p1] = protocol.to_be_bytes();
    vec![
        t0, t1, p0, p1, 0x00, 0x06, 0x01, 0x03, 0x9c, 0x40, 0x00, 0x02,
    ]
}

async fn serve(limits: TcpLimits) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(serve_tcp_with(listener, shared("modbus-meter"), limits));
    address
}

/// Whether a read on `stream` gets its answer (transaction `id`) within a second.
async fn answered(stream: &mut TcpStream, id: u16) -> bool {
    if stream.write_all(&read_request(id, 0)).await.is_err() {
        return false;
    }
    let mut answer = [0u8; 13];
    matches!(
        tokio::time::timeout(Duration::from_secs(1), stream.read_exact(&mut answer)).await,
        Ok(Ok(_)) if answer[..2] == id.to_be_bytes()
    )
}

/// Whether the server closed `stream` within `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut sink = [0u8; 64];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut sink)).await {
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
            Err(_) => return false,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_protocol_id_other_than_zero_closes_the_connection() {
    let address = serve(TcpLimits::default()).await;
    let mut stream = TcpStream::connect(address).await.unwrap();
    assert!(answered(&mut stream, 1).await);
    stream.write_all(&read_request(2, 7)).await.unwrap();
    assert!(closed_within(&mut stream, Duration::from_secs(2)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_take_every_slot() {
    let address = serve(TcpLimits {
        admission: AdmissionLimits {
            total: 8,
            per_address: 2,
        },
        ..TcpLimits::default()
    })
    .await;
    let from = |last: u8| async move {
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind(([127, 0, 0, last], 0).into()).unwrap();
        socket.connect(address).await.unwrap()
    };
    let (mut a, mut b, mut c) = (from(5).await, from(5).await, from(5).await);
    assert!(answered(&mut a, 1).await && answered(&mut b, 2).await);
    assert!(
        !answered(&mut c, 3).await,
        "a third from one address is closed"
    );
    let mut other = from(6).await;
    assert!(answered(&mut other, 4).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trickling_and_silent_clients_are_closed_after_their_timeouts() {
    let address = serve(TcpLimits {
        idle_timeout: Duration::from_millis(600),
        frame_timeout: Duration::from_millis(300),
        ..TcpLimits::default()
    })
    .await;
    // Half a request, then nothing: closed after the frame timeout, before the idle one.
    let mut trickle = TcpStream::connect(address).await.unwrap();
    trickle.write_all(&read_request(1, 0)[..5]).await.unwrap();
    let started = std::time::Instant::now();
    assert!(closed_within(&mut trickle, Duration::from_secs(2)).await);
    assert!(
        started.elapsed() < Duration::from_millis(550),
        "{:?}",
        started.elapsed()
    );
    // Nothing at all: closed after the idle timeout.
    let mut silent = TcpStream::connect(address).await.unwrap();
    assert!(closed_within(&mut silent, Duration::from_secs(2)).await);
    // A client that keeps asking is served throughout.
    let mut busy = TcpStream::connect(address).await.unwrap();
    for id in 0..8 {
        assert!(answered(&mut busy, id).await);
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}
