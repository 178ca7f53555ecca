//! Requests per second on loopback: our Modbus TCP server (the sans-IO core on rmodbus, `net::serve_tcp`)
//! against a `tokio-modbus` server and a `pymodbus` server, all driven by the same client (ours) in the same
//! run: one connection and eight, reading 10 and 125 holding registers from 40000, one request at a time per
//! connection (bound by the loopback round trip) and 16 in flight per connection (bound by the servers).
//! Ratios are printed at the end (medians of rounds, servers interleaved in rotating order so a noisy
//! neighbour hits them alike), with each server's CPU time per request: every server runs on threads of its
//! own (a runtime with two named workers; pymodbus in its process), whose time on the CPU (user and kernel,
//! `/proc/…/task/*/schedstat`) is read before and after each batch. One request at a time, the round trip
//! through the shared client sets the pace of every server alike; CPU time per request is what each server
//! costs, and its inverse the requests per second a server could answer with a core of its own. Then the
//! time of a full SunSpec scan of the DER simulator (models 1, 701, 702, 704, 705, 711, 712, 713).
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

/// A runtime with `workers` workers named `name` (their CPU time is read by that name); for 1, a
/// current-thread runtime (driven by the thread that calls `block_on`).
fn named_runtime(name: &str, workers: usize) -> Runtime {
    if workers == 1 {
        return tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
    }
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name(name)
        .enable_all()
        .build()
        .unwrap()
}

/// Starts a server with `start` on threads of its own named `name`: a runtime with `workers` workers (a
/// current-thread runtime for 1), driven by a thread of that name. Returns the server's address.
fn serve_on<F: std::future::Future<Output = String> + 'static>(
    name: &'static str,
    workers: usize,
    start: fn() -> F,
) -> String {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            named_runtime(name, workers).block_on(async move {
                sender.send(start().await).unwrap();
                std::future::pending::<()>().await;
            });
        })
        .unwrap();
    receiver.recv().unwrap()
}

/// Whose CPU time a server's is.
#[derive(Clone, Copy)]
enum Threads {
    /// This process's threads with this name.
    Named(&'static str),
    /// Every thread of another process.
    Process(u32),
}

impl Threads {
    /// Nanoseconds on the CPU so far (the first field of each thread's `schedstat`).
    fn cpu_ns(self) -> u64 {
        let (dir, name) = match self {
            Threads::Named(name) => ("/proc/self/task".to_owned(), Some(name)),
            Threads::Process(pid) => (format!("/proc/{pid}/task"), None),
        };
        let mut total = 0;
        for task in std::fs::read_dir(dir).unwrap().flatten() {
            let path = task.path();
            let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
            if name.is_some_and(|name| comm.trim_end() != name) {
                continue;
            }
            let stat = std::fs::read_to_string(path.join("schedstat")).unwrap_or_default();
            total += stat
                .split_whitespace()
                .next()
                .and_then(|ns| ns.parse::<u64>().ok())
                .unwrap_or(0);
        }
        total
    }
}

/// A server under test.
struct Peer {
    name: &'static str,
    address: String,
    threads: Threads,
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

/// The floor: a "server" on the same runtime and sockets that does no Modbus work — for each MBAP header it
/// finds, it writes a canned answer of the right size with the transaction id copied. What it costs per
/// request is the kernel's and the runtime's part, which no server on these sockets avoids.
async fn floor_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buffer = Vec::new();
                let mut out = Vec::new();
                let mut chunk = [0u8; 2048];
                loop {
                    let n = match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    buffer.extend_from_slice(&chunk[..n]);
                    out.clear();
                    // Read holding registers, 12 bytes a request: transaction, protocol 0, length 6, unit,
                    // 3, address, count; the answer's values are zero.
                    let whole = buffer.len() / 12 * 12;
                    for request in buffer[..whole].chunks_exact(12) {
                        let count = u16::from_be_bytes([request[10], request[11]]);
                        let bytes = count * 2;
                        out.extend_from_slice(&request[..4]);
                        out.extend_from_slice(&(bytes + 3).to_be_bytes());
                        out.extend_from_slice(&[request[6], 3, bytes as u8]);
                        out.resize(out.len() + usize::from(bytes), 0);
                    }
                    buffer.drain(..whole);
                    if stream.write_all(&out).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    address
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
    let runtime = named_runtime("client", 2);
    let workers = std::env::var("IDEA_BENCH_SERVER_WORKERS")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or(2);
    let our_address = serve_on("srv-ours", workers, ours);
    let peer_address = serve_on("srv-tokio-modbus", workers, tokio_modbus_server);
    let floor_address = serve_on("srv-floor", workers, floor_server);
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
                Peer {
                    name: "ours",
                    address: our_address.clone(),
                    threads: Threads::Named("srv-ours"),
                },
                Peer {
                    name: "tokio-modbus",
                    address: peer_address.clone(),
                    // Thread names are cut to 15 bytes.
                    threads: Threads::Named("srv-tokio-modbu"),
                },
                Peer {
                    name: "floor",
                    address: floor_address.clone(),
                    threads: Threads::Named("srv-floor"),
                },
            ];
            if let Some(p) = &python {
                if depth == 1 || runtime.block_on(answers_pipelined(&p.1)) {
                    servers.push(Peer {
                        name: "pymodbus",
                        address: p.1.clone(),
                        threads: Threads::Process(p.0.id()),
                    });
                } else {
                    println!(
                        "pymodbus not compared with {depth} in flight: it answered only the first of two \
                         requests sent together"
                    );
                }
            }
            // The floor is a reference for the ratios, not a peer: no criterion samples for it.
            for Peer { name, address, .. } in servers.iter().filter(|p| p.name != "floor") {
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
        "\nrequests per second (median of {ROUNDS} interleaved rounds of {BATCH} requests) and the server's \
         CPU time per request (median), ratios ours / peer:"
    );
    for (connections, depth, count, results) in &rows {
        let ours = &results[0];
        let line: Vec<String> = results
            .iter()
            .map(|r| {
                let cpu = r.cpu_ns / 1000.0;
                if r.name == "ours" {
                    format!("ours {:.0}/s {cpu:.1} µs", r.rate)
                } else if r.name == "floor" {
                    format!(
                        "floor {:.0}/s {cpu:.1} µs (ours costs {:.2}× the floor)",
                        r.rate,
                        ours.cpu_ns / r.cpu_ns
                    )
                } else {
                    format!(
                        "{} {:.0}/s ({:.2}×) {cpu:.1} µs ({:.2}×)",
                        r.name,
                        r.rate,
                        ours.rate / r.rate,
                        r.cpu_ns / ours.cpu_ns
                    )
                }
            })
            .collect();
        println!(
            "  {connections} conn × {depth:>2} in flight, {count:>3} registers: {}",
            line.join(", ")
        );
    }
    scan_time(&runtime, &mut criterion);
}

/// One server's figures in [`compare`].
struct Measured {
    name: &'static str,
    /// Requests per second.
    rate: f64,
    /// The server's CPU time per request, in nanoseconds.
    cpu_ns: f64,
}

/// Requests per second of each server and its CPU time per request, medians of interleaved rounds in
/// rotating order.
fn compare(
    runtime: &Runtime,
    servers: &[Peer],
    connections: usize,
    depth: usize,
    count: u16,
) -> Vec<Measured> {
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); servers.len()];
    let mut cpu: Vec<Vec<f64>> = vec![Vec::new(); servers.len()];
    for round in 0..ROUNDS {
        // Each round starts with another server, and each server runs after a pause, so that no server always
        // follows the one whose connections are still being torn down (pymodbus' take a while).
        for k in 0..servers.len() {
            let i = (round + k) % servers.len();
            std::thread::sleep(SETTLE);
            let before = servers[i].threads.cpu_ns();
            let elapsed =
                runtime.block_on(drive(&servers[i].address, connections, depth, count, BATCH));
            // The server's share of closing the connections counts too.
            std::thread::sleep(SETTLE / 2);
            let spent = servers[i].threads.cpu_ns().saturating_sub(before);
            rates[i].push(BATCH as f64 / elapsed.as_secs_f64());
            cpu[i].push(spent as f64 / BATCH as f64);
        }
    }
    let median = |mut values: Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    servers
        .iter()
        .zip(rates.into_iter().zip(cpu))
        .map(|(peer, (rates, cpu))| Measured {
            name: peer.name,
            rate: median(rates),
            cpu_ns: median(cpu),
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
