//! `TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8`, the suite IEEE 2030.5 makes mandatory, against OpenSSL in both
//! directions: OpenSSL's `s_client` offering only `ECDHE-ECDSA-AES128-CCM8` reads `/dcap` from our server,
//! and our client reaches OpenSSL's `s_server` accepting only that suite. Both fail on rustls's stock suites.
#![cfg(feature = "net")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ieee2030_5::net::{Clock, serve, tls};
use ieee2030_5::server::Server;
use rustls::CipherSuite;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CCM8: &str = "ECDHE-ECDSA-AES128-CCM8";

fn cert(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/certs")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn identity(who: &str) -> tls::Identity {
    let read = |f: String| std::fs::read(&f).unwrap_or_else(|e| panic!("{f}: {e}"));
    tls::Identity::from_pem(
        &read(cert(&format!("{who}.pem"))),
        &read(cert(&format!("{who}.key"))),
    )
    .unwrap()
}

fn anchors() -> rustls::RootCertStore {
    tls::trust_anchors(&std::fs::read(cert("ca.pem")).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssl_offering_only_ccm8_reads_from_our_server() {
    let config = tls::server_config(identity("server"), anchors()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let core = Arc::new(Mutex::new(Server::new(60)));
    let time: Clock = Arc::new(|| 1_800_000_000);
    tokio::spawn(serve(listener, Some(Arc::new(config)), core, time));
    let output = tokio::task::spawn_blocking(move || {
        let mut child = Command::new("openssl")
            .args(["s_client", "-connect", &address, "-tls1_2", "-cipher", CCM8])
            .args(["-CAfile", &cert("ca.pem"), "-verify_return_error"])
            .args(["-servername", "localhost", "-brief", "-ign_eof"])
            .args(["-cert", &cert("device.pem"), "-key", &cert("device.key")])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("openssl s_client (install the openssl package)");
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(b"GET /dcap HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .unwrap();
        drop(stdin);
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(
        stderr.contains(&format!("Ciphersuite: {CCM8}")),
        "negotiated: {stderr}"
    );
    assert!(stdout.starts_with("HTTP/1.1 200"), "{stdout}\n{stderr}");
    assert!(stdout.contains("<DeviceCapability"), "{stdout}");
}

/// A port nobody listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_reaches_openssl_accepting_only_ccm8() {
    let port = free_port();
    let mut server = Command::new("openssl")
        .args([
            "s_server",
            "-accept",
            &port.to_string(),
            "-tls1_2",
            "-cipher",
            CCM8,
        ])
        .args(["-cert", &cert("server.pem"), "-key", &cert("server.key")])
        .args(["-CAfile", &cert("ca.pem"), "-Verify", "1", "-www"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl s_server (install the openssl package)");
    // Until s_server listens.
    let deadline = Instant::now() + Duration::from_secs(10);
    let tcp = loop {
        match tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
            Ok(tcp) => break tcp,
            Err(e) if Instant::now() > deadline => {
                let _ = server.kill();
                let mut log = String::new();
                let _ = server.stderr.take().unwrap().read_to_string(&mut log);
                panic!("s_server did not listen: {e}: {log}");
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    let config = tls::client_config(identity("device"), anchors()).unwrap();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let result = connector
        .connect("localhost".try_into().unwrap(), tcp)
        .await;
    let mut stream = match result {
        Ok(stream) => stream,
        Err(e) => {
            let _ = server.kill();
            panic!("handshake with s_server: {e}");
        }
    };
    assert_eq!(
        stream
            .get_ref()
            .1
            .negotiated_cipher_suite()
            .map(|s| s.suite()),
        Some(CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8)
    );
    stream.write_all(b"GET / HTTP/1.0\r\n\r\n").await.unwrap();
    let mut page = Vec::new();
    let _ = stream.read_to_end(&mut page).await;
    let _ = server.kill();
    let _ = server.wait();
    let page = String::from_utf8_lossy(&page);
    assert!(page.starts_with("HTTP/1.0 200"), "{page}");
    // s_server's status page names the suite it negotiated, from its side.
    assert!(page.contains(CCM8), "{page}");
}
