//! The 2030.5 server survives running out of file descriptors: while the process is at its limit accepts fail
//! (EMFILE); once descriptors are free again a client is served. (Its own test binary: the limit is the whole
//! process's.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../test-support/fd_limit.rs"]
mod fd_limit;

use ieee2030_5::net::{Clock, serve};
use ieee2030_5::server::Server;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[test]
fn the_listener_keeps_serving_after_running_out_of_file_descriptors() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let address = runtime.block_on(async {
        let server = Arc::new(Mutex::new(Server::new(5)));
        let clock: Clock = Arc::new(|| 1_800_000_000);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(serve(listener, None, server, clock));
        address
    });
    {
        let _lowered = fd_limit::LoweredNofile::to(fd_limit::open_now() + 24);
        let mut held = Vec::new();
        while let Ok(stream) = std::net::TcpStream::connect(address) {
            held.push(stream);
            assert!(held.len() < 100, "the limit did not take");
        }
        std::thread::sleep(Duration::from_millis(300));
        drop(held);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let answer = std::net::TcpStream::connect(address)
            .ok()
            .and_then(|mut s| {
                s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
                s.write_all(b"GET /dcap HTTP/1.1\r\nHost: test\r\n\r\n")
                    .ok()?;
                let mut answer = [0u8; 12];
                s.read_exact(&mut answer).ok()?;
                Some(answer)
            });
        if answer.is_some_and(|a| &a == b"HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "the server no longer serves");
        std::thread::sleep(Duration::from_millis(100));
    }
}
