//! Settlement throughput against the bare cost of the ed25519 verifications it needs, in the same run.
//!
//! One round of [`N`] transactions (see `scenario/mod.rs`: per transaction a contract, a meter reading and a
//! countersigned channel state — five signatures — recorded, tokenised, verified against the contract,
//! adopted and appended to the ledger in one group commit). Measured: the round with its signatures checked
//! as one batch (memory ledger and SQLite ledger on disk, WAL, full sync), the round checking each object's
//! signatures on its own, and, on the same signatures, ed25519-dalek's `verify_batch` (the named peer: the
//! bare batched cost), our `verify_batch`, and ed25519-dalek's `verify_strict` one by one. Ratios of medians
//! over interleaved rounds are printed at the end (the machines are shared and noisy). Then the time to
//! clear one 15-minute pool of 1,000,000 transactions between 10,000 avatars.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    missing_docs
)]

mod scenario;

use criterion::{BatchSize, Criterion, Throughput};
use ed25519_dalek::{Signature, VerifyingKey};
use idea_proto::{Currency, Money};
use scenario::Scenario;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use te_contract::clearing::{Obligation, Source, clear};
use te_contract::ledger::{Ledger, MemoryStore, SqliteStore};
use te_contract::signed::SignatureCheck;
use te_contract::verify;
use te_contract::wallet::Wallets;
use te_contract::{AvatarId, DebtId};

/// Transactions per round.
const N: usize = 1000;
/// Interleaved rounds for the ratios.
const ROUNDS: usize = 7;
/// Transactions in the clearing pool, and the avatars between them.
const POOL: usize = 1_000_000;
const POOL_AVATARS: usize = 10_000;

/// The same signatures in ed25519-dalek's types.
struct Peer {
    messages: Vec<[u8; 32]>,
    signatures: Vec<Signature>,
    keys: Vec<VerifyingKey>,
}

impl Peer {
    fn new(checks: &[SignatureCheck]) -> Peer {
        Peer {
            messages: checks.iter().map(|c| c.digest).collect(),
            signatures: checks
                .iter()
                .map(|c| Signature::from_bytes(&c.signature))
                .collect(),
            keys: checks.iter().map(|c| *c.key.verifying_key()).collect(),
        }
    }

    fn verify_batch(&self) {
        let messages: Vec<&[u8]> = self.messages.iter().map(|m| m.as_slice()).collect();
        ed25519_dalek::verify_batch(&messages, &self.signatures, &self.keys).unwrap();
    }

    fn verify_strict(&self) {
        for ((m, s), k) in self.messages.iter().zip(&self.signatures).zip(&self.keys) {
            k.verify_strict(m, s).unwrap();
        }
    }
}

/// A fresh SQLite ledger file; removed with its WAL when dropped.
struct SqliteFile(PathBuf);

impl SqliteFile {
    fn new(n: usize) -> (SqliteFile, Ledger<SqliteStore>) {
        let path = std::env::temp_dir().join(format!(
            "idea-settlement-bench-{}-{n}.sqlite",
            std::process::id()
        ));
        let file = SqliteFile(path);
        file.remove();
        let ledger = Ledger::open(SqliteStore::open(&file.0).unwrap()).unwrap();
        (file, ledger)
    }

    fn remove(&self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.0.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

impl Drop for SqliteFile {
    fn drop(&mut self) {
        self.remove();
    }
}

/// The variants measured, by name; each runs one round and returns the time it took (setup excluded).
fn variants(s: &Scenario, peer: &Peer, checks: &[SignatureCheck]) -> Vec<(&'static str, Duration)> {
    let mut out = Vec::new();
    let time = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        f();
        start.elapsed()
    };
    out.push((
        "ed25519-dalek verify_batch (bare)",
        time(&mut || peer.verify_batch()),
    ));
    out.push((
        "our verify_batch (bare)",
        time(&mut || assert!(verify::verify_batch(checks))),
    ));
    out.push((
        "ed25519-dalek verify_strict, one by one (bare)",
        time(&mut || peer.verify_strict()),
    ));
    let (mut books, mut ledger) = (s.books.clone(), Ledger::open(MemoryStore::new()).unwrap());
    out.push((
        "settlement, batched, memory ledger",
        time(&mut || {
            s.settle_batched(&mut books, &mut ledger).unwrap();
        }),
    ));
    let (mut books, mut ledger) = (s.books.clone(), Ledger::open(MemoryStore::new()).unwrap());
    out.push((
        "settlement, one by one, memory ledger",
        time(&mut || {
            s.settle(&mut books, &mut ledger, &s.registry).unwrap();
        }),
    ));
    let mut books = s.books.clone();
    let (file, mut ledger) = SqliteFile::new(0);
    out.push((
        "settlement, batched, SQLite ledger",
        time(&mut || {
            s.settle_batched(&mut books, &mut ledger).unwrap();
        }),
    ));
    drop(ledger);
    drop(file);
    out
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn settlement(criterion: &mut Criterion, s: &Scenario) {
    let checks = s.checks();
    let peer = Peer::new(&checks);
    let mut group = criterion.benchmark_group(format!(
        "settlement round of {N} transactions ({} signatures)",
        checks.len()
    ));
    group.throughput(Throughput::Elements(N as u64));
    group.bench_function("ed25519-dalek verify_batch (bare)", |b| {
        b.iter(|| peer.verify_batch());
    });
    group.bench_function("our verify_batch (bare)", |b| {
        b.iter(|| assert!(verify::verify_batch(black_box(&checks))));
    });
    group.bench_function("settlement, batched, memory ledger", |b| {
        b.iter_batched(
            || (s.books.clone(), Ledger::open(MemoryStore::new()).unwrap()),
            |(mut books, mut ledger)| s.settle_batched(&mut books, &mut ledger).unwrap(),
            BatchSize::LargeInput,
        );
    });
    let mut files = 0;
    group.bench_function("settlement, batched, SQLite ledger", |b| {
        b.iter_batched(
            || {
                files += 1;
                (s.books.clone(), SqliteFile::new(files))
            },
            |(mut books, (file, mut ledger))| {
                s.settle_batched(&mut books, &mut ledger).unwrap();
                (file, ledger)
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();

    let mut times: Vec<(&'static str, Vec<f64>)> = Vec::new();
    for _ in 0..ROUNDS {
        for (i, (name, took)) in variants(s, &peer, &checks).into_iter().enumerate() {
            if times.len() <= i {
                times.push((name, Vec::new()));
            }
            times[i].1.push(took.as_secs_f64());
        }
    }
    let medians: Vec<(&str, f64)> = times
        .iter_mut()
        .map(|(name, values)| (*name, median(values)))
        .collect();
    let (dalek, ours) = (medians[0].1, medians[1].1);
    println!(
        "\nsettlement round of {N} transactions, {} signatures; medians of {ROUNDS} interleaved rounds:",
        checks.len()
    );
    println!(
        "  {:<48} {:>10} {:>12} {:>16} {:>16}",
        "", "ms", "tx/s", "× dalek batch", "× our batch"
    );
    for (name, seconds) in &medians {
        println!(
            "  {name:<48} {:>10.2} {:>12.0} {:>16.2} {:>16.2}",
            seconds * 1e3,
            N as f64 / seconds,
            seconds / dalek,
            seconds / ours
        );
    }
}

fn avatar(i: usize) -> AvatarId {
    let mut id = [7; 16];
    id[..8].copy_from_slice(&(i as u64).to_be_bytes());
    AvatarId::from_bytes(id)
}

/// A pool of `POOL` wallet transfers between `POOL_AVATARS` funded avatars.
fn pool() -> (Vec<Obligation>, Wallets) {
    let eur = Currency::new("EUR", 2).unwrap();
    let mut wallets = Wallets::new();
    for i in 0..POOL_AVATARS {
        wallets
            .deposit(avatar(i), Money::new(1_000_000_000, eur))
            .unwrap();
    }
    let obligations = (0..POOL)
        .map(|j| {
            let from = j % POOL_AVATARS;
            let to = (from + 1 + (j * 7919) % (POOL_AVATARS - 1)) % POOL_AVATARS;
            let mut id = [9; 16];
            id[..8].copy_from_slice(&(j as u64).to_be_bytes());
            Obligation {
                source: Source::Transfer(DebtId::from_bytes(id)),
                from: avatar(from),
                to: avatar(to),
                amount: Money::new(1 + (j % 500) as i64, eur),
            }
        })
        .collect();
    (obligations, wallets)
}

fn clearing() {
    let (obligations, wallets) = pool();
    let end = scenario::t0();
    let mut runs = Vec::new();
    for _ in 0..3 {
        let (o, mut w) = (obligations.clone(), wallets.clone());
        let start = Instant::now();
        let report = clear(o, &mut w, end);
        runs.push(start.elapsed().as_secs_f64());
        assert!(report.carried.is_empty());
    }
    println!(
        "\nclearing one pool of {POOL} transactions between {POOL_AVATARS} avatars: {:.2} s (median of 3)",
        median(&mut runs)
    );
}

fn main() {
    let mut criterion = Criterion::default()
        .sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();
    let s = scenario::build(N);
    settlement(&mut criterion, &s);
    clearing();
}
