//! Requests per second on loopback: our Modbus TCP server (the sans-IO core on rmodbus, `net::serve_tcp`)
//! against a `tokio-modbus` server and a `pymodbus` server, all driven by the same client (ours) in the same
//! run: one connection and eight, reading 10 and 125 holding registers from 40000, one request at a time per
//! connection (bound by the loopback round trip) and 16 in flight per connection (bound by the servers).
//! Ratios are printed at the end (medians of rounds, servers interleaved in rotating order so a noisy
//! neighbour hits them alike). Then the time of a full SunSpec scan of the DER simulator (models 1, 701,
//! 702, 704, 705, 711, 712, 713).
//! The pymodbus part needs `$IDEA_PYTHON` (the interop virtual environment).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    missing_docs
)]

use criterion::{Criterion, Throughput};
use modbus_profiles::frame::{ExceptionCode, Request, Response};
use modbus_profiles::net::{Client, serve_tcp};
use modbus_profiles::server::{Registers, Server, Table};
use modbus_profiles::simulator::{Profile, SimulatedDevice};
use modbus_profiles::sunspec::Catalog;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;

const BASE: u16 = 40000;
const MAP: usize = 2000;
/// Requests per measured batch, split across the connections.
const BATCH: usize = 2000;
/// Requests each connection keeps in flight in the pipelined cases (Modbus TCP allows several outstanding
/// transactions; every server here answers them in order).
const DEPTH: usize = 16;
/// Interleaved rounds for the ratios.
const ROUNDS: usize = 9;
/// The pause before each measured batch.
const SETTLE: Duration = Duration::from_millis(100);

/// A flat register map, the same data for our server and tokio-modbus.
struct Flat(Vec<u16>);

impl Registers for Flat {
    fn read(&mut self, _: Table, address: u16, out: &mut [u16]) -> Result<(), ExceptionCode> {
        let start = usize::from(address)
            .checked_sub(usize::from(BASE))
            .ok_or(ExceptionCode::IllegalDataAddress)?;
        out.copy_from_slice(
            self.0
                .get(start..start + out.len())
                .ok_or(ExceptionCode::IllegalDataAddress)?,
        );
        Ok(())
    }
    fn write(&mut self, _: u16, _: &[u16]) -> Result<(), ExceptionCode> {
        Err(ExceptionCode::IllegalDataAddress)
    }
}

fn map() -> Vec<u16> {
    (0..MAP).map(|i| i as u16).collect()
}

async fn ours() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(serve_tcp(
        listener,
        Arc::new(Mutex::new(Server::new(1, Flat(map())))),
    ));
    address
}

#[derive(Clone)]
struct TokioModbusService(Arc<Mutex<Vec<u16>>>);

impl tokio_modbus::server::Service for TokioModbusService {
    type Request = tokio_modbus::Request<'static>;
    type Response = tokio_modbus::Response;
    type Exception = tokio_modbus::ExceptionCode;
    type Future = std::future::Ready<Result<Self::Response, Self::Exception>>;

    fn call(&self, req: Self::Request) -> Self::Future {
        let answer = match req {
            tokio_modbus::Request::ReadHoldingRegisters(address, count) => {
                let regs = self.0.lock().unwrap();
                let start = usize::from(address).wrapping_sub(usize::from(BASE));
                match regs.get(start..start + usize::from(count)) {
                    Some(values) => Ok(tokio_modbus::Response::ReadHoldingRegisters(
                        values.to_vec(),
                    )),
                    None => Err(tokio_modbus::ExceptionCode::IllegalDataAddress),
                }
            }
            _ => Err(tokio_modbus::ExceptionCode::IllegalFunction),
        };
        std::future::ready(answer)
    }
}

async fn tokio_modbus_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let service = TokioModbusService(Arc::new(Mutex::new(map())));
    tokio::spawn(async move {
        let server = tokio_modbus::server::tcp::Server::new(listener);
        let on_connected = |stream: tokio::net::TcpStream, addr| {
            let service = service.clone();
            // As our server does: answers go out at once, not held back by Nagle's algorithm (which costs
            // a delayed acknowledgement, ~40 ms, whenever a client keeps several requests in flight).
            let _ = stream.set_nodelay(true);
            async move {
                tokio_modbus::server::tcp::accept_tcp_connection(stream, addr, move |_| {
                    Ok(Some(service.clone()))
                })
            }
        };
        let _ = server.serve(&on_connected, |_| {}).await;
    });
    address
}

/// The pymodbus SunSpec server of the interop tests (its map at 40000 is longer than 125 registers).
struct Pymodbus(Child, String);

impl Drop for Pymodbus {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn pymodbus() -> Option<Pymodbus> {
    let python = std::env::var_os("IDEA_PYTHON")?;
    let root = env!("CARGO_MANIFEST_DIR");
    let mut child = Command::new(python)
        .arg(format!("{root}/tests/peers/pymodbus_sunspec_server.py"))
        .arg(format!("{root}/models/sunspec"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take()?)
        .read_line(&mut line)
        .ok()?;
    let json: serde_json::Value = serde_json::from_str(&line).ok()?;
    let address = format!("127.0.0.1:{}", json["port"]);
    std::thread::sleep(Duration::from_millis(500));
    Some(Pymodbus(child, address))
}

/// `requests` reads of `count` registers spread over `connections` clients, each keeping `depth` requests in
/// flight (1: one at a time; more: [`Client::pipeline`] groups of `depth`); returns the elapsed time.
async fn drive(
    address: &str,
    connections: usize,
    depth: usize,
    count: u16,
    requests: usize,
) -> Duration {
    let mut clients = Vec::new();
    for _ in 0..connections {
        let mut client = Client::connect(address, 1).await.unwrap();
        client.set_timeout(Duration::from_secs(5));
        clients.push(client);
    }
    let group = vec![
        Request::ReadHoldingRegisters {
            address: BASE,
            count,
        };
        depth
    ];
    let start = Instant::now();
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|mut client| {
            let n = requests / connections / depth;
            let group = group.clone();
            tokio::spawn(async move {
                for _ in 0..n {
                    if depth == 1 {
                        let values = client
                            .read_holding_registers(BASE, count)
                            .await
                            .unwrap()
                            .unwrap();
                        assert_eq!(values.len(), usize::from(count));
                    } else {
                        for answer in client.pipeline(&group).await.unwrap() {
                            let Response::ReadHoldingRegisters(values) = answer else {
                                panic!("{answer:?}");
                            };
                            assert_eq!(values.len(), usize::from(count));
                        }
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    start.elapsed()
}

/// Whether the server at `address` answers two requests sent in one segment.
async fn answers_pipelined(address: &str) -> bool {
    let mut client = Client::connect(address, 1).await.unwrap();
    client.set_timeout(Duration::from_millis(500));
    let read = Request::ReadHoldingRegisters {
        address: BASE,
        count: 1,
    };
    client.pipeline(&[read.clone(), read]).await.is_ok()
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let our_address = runtime.block_on(ours());
    let peer_address = runtime.block_on(tokio_modbus_server());
    let python = pymodbus();
    if python.is_none() {
        println!(
            "pymodbus comparison not run: set IDEA_PYTHON to the interop virtual environment's python"
        );
    }
    let mut criterion = Criterion::default()
        .sample_size(10)
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let mut rows = Vec::new();
    for (connections, depth) in [(1usize, 1usize), (8, 1), (1, DEPTH), (8, DEPTH)] {
        for count in [10u16, 125] {
            let mut group = criterion.benchmark_group(format!(
                "read {count} registers, {connections} connection(s), {depth} in flight each"
            ));
            group.throughput(Throughput::Elements(BATCH as u64));
            let mut servers = vec![
                ("ours", our_address.clone()),
                ("tokio-modbus", peer_address.clone()),
            ];
            if let Some(p) = &python {
                if depth == 1 || runtime.block_on(answers_pipelined(&p.1)) {
                    servers.push(("pymodbus", p.1.clone()));
                } else {
                    println!(
                        "pymodbus not compared with {depth} in flight: it answered only the first of two \
                         requests sent together"
                    );
                }
            }
            for (name, address) in &servers {
                group.bench_function(*name, |b| {
                    b.iter_custom(|iters| {
                        (0..iters)
                            .map(|_| {
                                runtime.block_on(drive(address, connections, depth, count, BATCH))
                            })
                            .sum()
                    });
                });
            }
            group.finish();
            rows.push((
                connections,
                depth,
                count,
                compare(&runtime, &servers, connections, depth, count),
            ));
        }
    }
    println!(
        "\nrequests per second (median of {ROUNDS} interleaved rounds of {BATCH} requests), ratios ours / peer:"
    );
    for (connections, depth, count, rates) in &rows {
        let ours = rates[0].1;
        let line: Vec<String> = rates
            .iter()
            .map(|(name, rate)| {
                format!(
                    "{name} {rate:.0}/s{}",
                    if *name == "ours" {
                        String::new()
                    } else {
                        format!(" ({:.2}×)", ours / rate)
                    }
                )
            })
            .collect();
        println!(
            "  {connections} conn × {depth:>2} in flight, {count:>3} registers: {}",
            line.join(", ")
        );
    }
    scan_time(&runtime, &mut criterion);
}

/// Requests per second of each server, median of interleaved rounds in rotating order.
fn compare(
    runtime: &Runtime,
    servers: &[(&'static str, String)],
    connections: usize,
    depth: usize,
    count: u16,
) -> Vec<(&'static str, f64)> {
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); servers.len()];
    for round in 0..ROUNDS {
        // Each round starts with another server, and each server runs after a pause, so that no server always
        // follows the one whose connections are still being torn down (pymodbus' take a while).
        for k in 0..servers.len() {
            let i = (round + k) % servers.len();
            std::thread::sleep(SETTLE);
            let elapsed = runtime.block_on(drive(&servers[i].1, connections, depth, count, BATCH));
            rates[i].push(BATCH as f64 / elapsed.as_secs_f64());
        }
    }
    servers
        .iter()
        .zip(rates)
        .map(|((name, _), mut r)| {
            r.sort_by(f64::total_cmp);
            (*name, r[r.len() / 2])
        })
        .collect()
}

fn scan_time(runtime: &Runtime, criterion: &mut Criterion) {
    let catalog = Catalog::builtin().unwrap();
    let address = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let device =
            SimulatedDevice::new(Profile::builtin("modbus-der").unwrap(), &catalog, BASE).unwrap();
        tokio::spawn(serve_tcp(
            listener,
            Arc::new(Mutex::new(Server::new(1, device))),
        ));
        address
    });
    let mut client = runtime.block_on(Client::connect(&address, 1)).unwrap();
    criterion.bench_function(
        "full SunSpec scan: models 1, 701, 702, 704, 705, 711, 712, 713",
        |b| {
            b.iter(|| {
                let device = runtime.block_on(client.scan(catalog.clone())).unwrap();
                assert_eq!(device.models().len(), 8);
            });
        },
    );
}
