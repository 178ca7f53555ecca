//! The controlled station survives running out of file descriptors: while the process is at its limit
//! accepts fail (EMFILE); once descriptors are free again a master connects and starts data transfer. (Its
//! own test binary: the limit is the whole process's.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../test-support/fd_limit.rs"]
mod fd_limit;

use iec104::net::{Server, ServerConfig};
use iec104::station::{CommandHandler, CommandResult, Outstation, OutstationConfig, PointDatabase};
use iec104::*;
use std::sync::Arc;
use std::time::Instant;

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
    fd_limit::run_out_while_serving(address);
    // Descriptors are free again: a master connects and starts data transfer.
    fd_limit::answers_again(
        address,
        &[0x68, 0x04, 0x07, 0x00, 0x00, 0x00],
        &[0x68, 0x04, 0x0b, 0x00, 0x00, 0x00],
    );
}
