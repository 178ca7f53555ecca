//! The 2030.5 server cannot be starved (issue 19's cases, bounded, on 127.0.0.1): trickled headers
//! (slowloris), a stalled TLS handshake and a silent connection are closed after their timeouts while another
//! client is served, and one address cannot take every slot.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use idea_proto::admission::AdmissionLimits;
use ieee2030_5::net::{Clock, ServeLimits, serve_with, tls};
use ieee2030_5::server::Server;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

fn cert(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/certs")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn limits() -> ServeLimits {
    ServeLimits {
        admission: AdmissionLimits {
            total: 16,
            per_address: 3,
        },
        handshake_timeout: Duration::from_millis(400),
        header_timeout: Duration::from_millis(400),
        body_timeout: Duration::from_millis(400),
        idle_timeout: Duration::from_millis(800),
    }
}

/// A plain-HTTP server (every client is the operator) or, with `tls`, mutual TLS.
async fn start(tls_on: bool) -> SocketAddr {
    let mut core = Server::new(5);
    core.add_fsa("feeder");
    let server = Arc::new(Mutex::new(core));
    let clock: Clock = Arc::new(|| 1_800_000_000);
    let config = tls_on.then(|| {
        let identity = tls::Identity::from_pem(&cert("server.pem"), &cert("server.key")).unwrap();
        Arc::new(
            tls::server_config(identity, tls::trust_anchors(&cert("ca.pem")).unwrap()).unwrap(),
        )
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(serve_with(listener, config, server, clock, limits()));
    address
}

/// Whether `GET /dcap` on `stream` is answered 200 within a second.
async fn answered(stream: &mut TcpStream) -> bool {
    let request = b"GET /dcap HTTP/1.1\r\nHost: test\r\n\r\n";
    if stream.write_all(request).await.is_err() {
        return false;
    }
    let mut answer = [0u8; 12];
    matches!(
        tokio::time::timeout(Duration::from_secs(1), stream.read_exact(&mut answer)).await,
        Ok(Ok(_)) if &answer == b"HTTP/1.1 200"
    )
}

/// How long until the server closes `stream` (at most `within`; `None` if it stays open).
async fn closes_after(stream: &mut TcpStream, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut sink = [0u8; 1024];
    loop {
        match tokio::time::timeout(
            within.saturating_sub(started.elapsed()),
            stream.read(&mut sink),
        )
        .await
        {
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {}
            Err(_) => return None,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trickled_headers_are_closed_while_others_are_served() {
    let address = start(false).await;
    let mut slow = TcpStream::connect(address).await.unwrap();
    let trickle = tokio::spawn(async move {
        // One header byte every 100 ms: never idle, never complete.
        for b in b"GET /dcap HTTP/1.1\r\nHost: slowloris.example\r\nX-Padding: aaaaaaaaaaaaaaaaaaaa"
        {
            if slow.write_all(&[*b]).await.is_err() {
                return Some(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    });
    let mut other = TcpStream::connect(address).await.unwrap();
    assert!(answered(&mut other).await);
    let cut = tokio::time::timeout(Duration::from_secs(5), trickle)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        cut,
        Some(()),
        "the trickling client was cut off before it finished"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_tls_handshake_and_a_silent_connection_are_closed() {
    let address = start(true).await;
    let mut stalled = TcpStream::connect(address).await.unwrap();
    stalled.write_all(&[0x16, 0x03, 0x01]).await.unwrap();
    let after = closes_after(&mut stalled, Duration::from_secs(3)).await;
    assert!(
        after.is_some_and(|d| d < Duration::from_millis(700)),
        "{after:?}"
    );
    let plain = start(false).await;
    let mut silent = TcpStream::connect(plain).await.unwrap();
    assert!(answered(&mut silent).await);
    let after = closes_after(&mut silent, Duration::from_secs(3)).await;
    assert!(after.is_some(), "a silent keep-alive connection is closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_take_every_slot() {
    let address = start(false).await;
    let from = |last: u8| async move {
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind(([127, 0, 0, last], 0).into()).unwrap();
        socket.connect(address).await.unwrap()
    };
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut s = from(7).await;
        assert!(answered(&mut s).await);
        held.push(s);
    }
    let mut fourth = from(7).await;
    assert!(!answered(&mut fourth).await);
    let mut other = from(8).await;
    assert!(answered(&mut other).await);
}
