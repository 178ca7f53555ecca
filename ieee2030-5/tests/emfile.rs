//! The 2030.5 server survives running out of file descriptors: while the process is at its limit accepts fail
//! (EMFILE); once descriptors are free again a client is served. (Its own test binary: the limit is the whole
//! process's.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../test-support/fd_limit.rs"]
mod fd_limit;

use ieee2030_5::net::{Clock, serve};
use ieee2030_5::server::Server;
use std::sync::{Arc, Mutex};

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
    fd_limit::run_out_while_serving(address);
    // Descriptors are free again: a request is answered.
    fd_limit::answers_again(
        address,
        b"GET /dcap HTTP/1.1\r\nHost: test\r\n\r\n",
        b"HTTP/1.1 200",
    );
}
