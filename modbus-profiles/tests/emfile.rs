//! The Modbus TCP server survives running out of file descriptors: while the process is at its limit accepts
//! fail (EMFILE); once descriptors are free again a client is served. (Its own test binary: the limit is the
//! whole process's.)
#![cfg(feature = "tokio")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
#![allow(clippy::arithmetic_side_effects, clippy::indexing_slicing)]

mod common;
#[path = "../../test-support/fd_limit.rs"]
mod fd_limit;

#[test]
fn the_listener_keeps_serving_after_running_out_of_file_descriptors() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let address = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(modbus_profiles::net::serve_tcp(
            listener,
            common::shared("modbus-meter"),
        ));
        address
    });
    fd_limit::run_out_while_serving(address);
    // Descriptors are free again: a read of two registers is answered (transaction 1, function 3).
    fd_limit::answers_again(
        address,
        &[
            0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x01, 0x03, 0x9c, 0x40, 0x00, 0x02,
        ],
        &[0x00, 0x01, 0x00, 0x00, 0x00, 0x07, 0x01, 0x03],
    );
}
