//! The controlled station survives running out of file descriptors: while the process is at its limit
//! accepts fail (EMFILE); once descriptors are free again a master connects and starts data transfer. (Its
//! own test binary: the limit is the whole process's.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../test-support/fd_limit.rs"]
mod fd_limit;

use iec104::net::{Server, ServerConfig};
use iec104::station::{CommandHandler, CommandResult, Outstation, OutstationConfig, PointDatabase};
use iec104::*;
use std::io::{Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct NoCommands;

impl CommandHandler for NoCommands {
    fn command(&mut self, _: u8, _: &InformationObject, _: Instant) -> CommandResult {
        CommandResult::Reject
    }
}

#[test]
fn the_listener_keeps_serving_after_running_out_of_file_descriptors() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let address = runtime.block_on(async {
        let station = Outstation::new(
            OutstationConfig::new(1),
            PointDatabase::new(),
            NoCommands,
            Instant::now(),
        );
        let config = ServerConfig {
            max_connections: 1_000,
            max_connections_per_address: 1_000,
            ..ServerConfig::default()
        };
        let server = Server::new(station, config).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(Arc::clone(&server).run(listener));
        address
    });
    {
        let _lowered = fd_limit::LoweredNofile::to(fd_limit::open_now() + 24);
        // Connect until the process has no descriptor left, on either side.
        let mut held = Vec::new();
        while let Ok(stream) = std::net::TcpStream::connect(address) {
            held.push(stream);
            assert!(held.len() < 100, "the limit did not take");
        }
        // Let the station try to accept while at the limit.
        std::thread::sleep(Duration::from_millis(300));
        drop(held);
    }
    // Descriptors are free again: a master connects and starts (within the accept back-off of at most 1 s).
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let started = std::net::TcpStream::connect(address)
            .ok()
            .and_then(|mut s| {
                s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
                s.write_all(&[0x68, 0x04, 0x07, 0x00, 0x00, 0x00]).ok()?;
                let mut answer = [0u8; 6];
                s.read_exact(&mut answer).ok()?;
                Some(answer)
            });
        if started == Some([0x68, 0x04, 0x0b, 0x00, 0x00, 0x00]) {
            break;
        }
        assert!(Instant::now() < deadline, "the station no longer serves");
        std::thread::sleep(Duration::from_millis(100));
    }
}
