//! Interoperability: a lib60870 client (through the pinned `c104` package) against our controlled station over
//! TCP (feature `tokio`): connection with STARTDT, interrogation and clock synchronisation, interrogation on
//! request, read, a direct command, select-and-execute, a set-point.
//!
//! Deviations of c104 2.2.1 written down:
//! - On the first connection it sends C_IC_NA_1 to its station *before* STARTDT (with `Init.ALL`, and with
//!   `Init.NONE` too). Our outstation closes the connection for an I frame before STARTDT, as the standard
//!   requires; c104 reconnects and starts data transfer properly, but keeps that interrogation pending, so the next
//!   `interrogation()` to the same station returns its stale timeout (False). The script asks once more.
//! - `Connection.is_connected` is already true while the connection is muted (before STARTDT), and `is_muted` can
//!   stay true after its reconnect although data transfer runs; the script waits for the connection and judges by
//!   the operations. An interrogation attempted while c104 reconnects fails at once; the script retries it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stderr
)]

use iec104::net::{Server, ServerConfig};
use iec104::station::{
    CommandHandler, CommandMode, CommandResult, Outstation, OutstationConfig, Point, PointDatabase,
};
use iec104::*;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

#[path = "../../interop/python.rs"]
mod python;

#[derive(Default)]
struct App {
    commands: Vec<(u8, u32, Vec<Element>)>,
    clock: Option<Cp56Time2a>,
}

impl CommandHandler for App {
    fn command(&mut self, type_id: u8, object: &InformationObject, _now: Instant) -> CommandResult {
        self.commands
            .push((type_id, object.ioa, object.elements.clone()));
        CommandResult::Accept
    }
    fn clock_sync(&mut self, time: Cp56Time2a) {
        self.clock = Some(time);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lib60870_client_against_our_outstation() {
    let Some(python) = python::python("lib60870 client interoperability") else {
        return;
    };
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
    config.commands.insert(3001, (50, CommandMode::Direct));
    config.commands.insert(4001, (45, CommandMode::Direct));
    config
        .commands
        .insert(5001, (45, CommandMode::SelectBeforeOperate));
    let server = Server::new(
        Outstation::new(config, db, App::default(), Instant::now()),
        ServerConfig::default(),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(Arc::clone(&server).run(listener));

    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/c104_client.py");
    let out = tokio::process::Command::new(python)
        .arg(script)
        .arg(port.to_string())
        .args(std::env::var("C104_DEBUG").ok().map(|_| "--debug"))
        .output()
        .await
        .unwrap();
    // C104_DEBUG=1 turns on c104's own trace and prints it.
    if std::env::var_os("C104_DEBUG").is_some() {
        eprintln!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
    }
    assert!(
        out.status.success(),
        "c104 client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(seen["connected"], true, "{seen}");
    assert_eq!(seen["interrogation"], true, "{seen}");
    assert_eq!(seen["counter_interrogation"], true, "{seen}");
    assert_eq!(seen["clock_sync"], true, "{seen}");
    assert_eq!(seen["measured"], 50.0, "{seen}");
    assert_eq!(seen["single"], true, "{seen}");
    assert_eq!(seen["read"], true, "{seen}");
    assert_eq!(seen["direct"], true, "{seen}");
    assert_eq!(seen["select_execute"], true, "{seen}");
    assert_eq!(seen["setpoint"], true, "{seen}");
    server.with_station(|s| {
        let app = s.handler_mut();
        assert!(app.clock.is_some(), "c104 synchronised our clock");
        // A command c104 wrongly reported as failed was sent again: the outstation may have executed it once
        // per attempt, never more, and always in order.
        let mut executed: Vec<(u8, u32)> =
            app.commands.iter().map(|(t, ioa, _)| (*t, *ioa)).collect();
        for (ioa, name) in [
            (4001, "direct"),
            (5001, "select_execute"),
            (3001, "setpoint"),
        ] {
            let runs = executed.iter().filter(|(_, i)| *i == ioa).count();
            let attempts = seen[format!("{name}_attempts")].as_u64().unwrap_or(1);
            assert!(
                (1..=attempts).contains(&(runs as u64)),
                "{name}: {runs} executions, {attempts} attempts"
            );
        }
        executed.dedup();
        assert_eq!(executed, [(45, 4001), (45, 5001), (50, 3001)]);
        let setpoint = app
            .commands
            .iter()
            .rev()
            .find(|(t, _, _)| *t == 50)
            .unwrap();
        assert_eq!(setpoint.2[0], Element::R32(12.5f32.to_bits()));
    });
}
