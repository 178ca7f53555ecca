//! End to end on loopback: a general interrogation of 100,000 short floats (M_ME_NC_1) from our controlled
//! station to our controlling station, timed from C_IC_NA_1 to ACT_TERM; then the same interrogation between a
//! lib60870 outstation and a lib60870 client (the `c104` package) in the same run, reported as a ratio of
//! medians. The c104 part needs `$IDEA_PYTHON` (the interop virtual environment).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::cast_precision_loss,
    missing_docs
)]

use criterion::{Criterion, Throughput};
use iec104::net::{Client, ClientConfig, Server, ServerConfig};
use iec104::station::{
    CommandHandler, CommandResult, Outstation, OutstationConfig, Point, PointDatabase,
};
use iec104::{Element, InformationObject};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const POINTS: u32 = 100_000;
const WITHIN: Duration = Duration::from_secs(120);

struct NoCommands;

impl CommandHandler for NoCommands {
    fn command(&mut self, _: u8, _: &InformationObject, _: Instant) -> CommandResult {
        CommandResult::Reject
    }
}

/// Starts our outstation with [`POINTS`] floats and connects our client to it.
async fn pair() -> Client {
    let mut db = PointDatabase::new();
    for i in 0..POINTS {
        let point = Point {
            type_id: 13,
            elements: vec![Element::R32((i as f32).to_bits()), Element::Qds(0)],
            groups: vec![],
            counter: false,
        };
        db.insert(1000 + i, point).unwrap();
    }
    let station = Outstation::new(OutstationConfig::new(1), db, NoCommands, Instant::now());
    let server = Server::new(station, ServerConfig::default()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(server.run(listener));
    let mut client = Client::connect(address, ClientConfig::default()).unwrap();
    client.wait_started(Duration::from_secs(10)).await.unwrap();
    client
}

/// One interrogation; the number of information objects received.
async fn interrogate(client: &Client) -> usize {
    let answers = client.interrogate(1, 20, WITHIN).await.unwrap();
    answers.iter().map(|a| usize::from(a.count)).sum()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn compare_with_c104(runtime: &tokio::runtime::Runtime, client: &Client) {
    let Some(python) = std::env::var_os("IDEA_PYTHON") else {
        println!(
            "c104 comparison not run: set IDEA_PYTHON to the interop virtual environment's python"
        );
        return;
    };
    let trials = 5;
    let ours: Vec<f64> = (0..trials)
        .map(|_| {
            let start = Instant::now();
            assert_eq!(runtime.block_on(interrogate(client)), POINTS as usize);
            start.elapsed().as_secs_f64()
        })
        .collect();
    let ours = median(ours);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/c104_gi.py");
    let out = std::process::Command::new(&python)
        .arg(&script)
        .args([POINTS.to_string(), trials.to_string(), port.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<(f64, usize)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let (s, n) = l.split_once(' ').unwrap();
            (s.parse().unwrap(), n.parse().unwrap())
        })
        .collect();
    let theirs = median(lines.iter().map(|l| l.0).collect());
    let delivered = lines.iter().map(|l| l.1).min().unwrap_or(0);
    let per_object_ours = ours / f64::from(POINTS);
    let per_object_theirs = theirs / delivered.max(1) as f64;
    println!(
        "\ngeneral interrogation of {POINTS} M_ME_NC_1 points on loopback, median of {trials}"
    );
    println!(
        "{:<28} {:>12} {:>12} {:>16}",
        "", "seconds", "delivered", "ns per object"
    );
    println!(
        "{:<28} {:>12.4} {:>12} {:>16.0}",
        "ours → ours",
        ours,
        POINTS,
        per_object_ours * 1e9
    );
    println!(
        "{:<28} {:>12.4} {:>12} {:>16.0}",
        "c104 → c104 (lib60870)",
        theirs,
        delivered,
        per_object_theirs * 1e9
    );
    println!("ratio per interrogation: {:.1}×", theirs / ours);
    println!(
        "ratio per delivered object: {:.1}×",
        per_object_theirs / per_object_ours
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let client = runtime.block_on(pair());
    let mut c = Criterion::default()
        .sample_size(10)
        .measurement_time(Duration::from_secs(10))
        .configure_from_args();
    let mut group = c.benchmark_group("end_to_end");
    group.throughput(Throughput::Elements(u64::from(POINTS)));
    group.bench_function("general_interrogation_100k", |b| {
        b.iter(|| runtime.block_on(interrogate(&client)))
    });
    group.finish();
    c.final_summary();
    compare_with_c104(&runtime, &client);
}
