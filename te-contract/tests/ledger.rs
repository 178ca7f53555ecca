//! The ledger: hash chain, one record per kind and key, group commit, verification of every link and
//! signature, on memory and SQLite stores; and a writer process killed mid-write that loses nothing it
//! acknowledged.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::print_stdout
)]

mod common;

use common::{World, eur, later, signed_token, t0, transaction};
use idea_proto::{Money, PublicKey};
use std::io::{BufRead, BufReader, Write};
use te_contract::audit::verify;
use te_contract::contract::Contract;
use te_contract::ledger::{
    Anchor, Entry, Ledger, LedgerStore, MemoryStore, RecordKind, SqliteStore, entry_hash,
};
use te_contract::meter::DeliveryToken;
use te_contract::settlement::DeliveryCheck;
use te_contract::{Codec, Error, LedgerFault, Signed};

/// The settlement of `c`'s first interval on a token signed by the seller's avatar (standing in for a meter:
/// the ledger checks the token's signature, settlement its meter's binding).
fn settlement(w: &World, c: &Signed<Contract>) -> DeliveryCheck {
    let token = signed_token(
        &w.deployment,
        DeliveryToken::new(w.ids[0], t0(), 900, 0, 500, false).unwrap(),
        &w.keys[0],
    );
    DeliveryCheck {
        contract: c.body().id(),
        interval: 0,
        contracted_wh: 500,
        delivered_wh: 500,
        allowance_wh: 25,
        estimated: false,
        token,
        amount: Money::new(6, eur()),
        penalty: Money::new(0, eur()),
    }
}

/// The registrations of `w`'s avatars and a contract between the first two, as entries.
fn history(w: &World) -> Vec<Entry> {
    let mut entries: Vec<Entry> = w
        .ids
        .iter()
        .zip(&w.keys)
        .map(|(id, k)| Entry::signed(&w.registration(*id, k), w.now))
        .collect();
    let mut c = Signed::new(
        w.deployment.clone(),
        Contract {
            transaction: transaction(1),
            seller: w.ids[0],
            buyer: w.ids[1],
            agreed_at: t0(),
        },
    );
    c.sign(w.ids[0], 0, &w.keys[0]).unwrap();
    c.sign(w.ids[1], 0, &w.keys[1]).unwrap();
    entries.push(Entry::signed(&c, later(1)));
    entries.push(settlement(w, &c).ledger_entry(later(16)));
    entries
}

fn check_store(store: impl LedgerStore) {
    let w = World::new("idea-test", 2);
    let mut ledger = Ledger::open(store).unwrap();
    let entries = history(&w);
    for e in &entries[..2] {
        ledger.submit(e.clone()).unwrap();
    }
    assert_eq!(ledger.pending(), 2);
    assert_eq!(ledger.commit().unwrap().unwrap().seq, 2);
    for e in &entries[2..] {
        ledger.submit(e.clone()).unwrap();
    }
    // The same contract again, in the group or after the commit, is refused.
    assert!(matches!(
        ledger.submit(entries[2].clone()),
        Err(Error::Duplicate { .. })
    ));
    ledger.commit().unwrap();
    assert!(matches!(
        ledger.submit(entries[2].clone()),
        Err(Error::Duplicate { .. })
    ));
    assert!(matches!(
        ledger.submit(entries[0].clone()),
        Err(Error::Duplicate { .. })
    ));
    let report = verify(
        ledger.store(),
        &w.deployment,
        w.registrar,
        PublicKey::from(&w.registrar_key),
        t0(),
        &Anchor::None,
    )
    .unwrap();
    assert_eq!(
        (report.entries, report.signatures),
        (4, 7),
        "two registrations, the contract and the settlement's token"
    );
    assert_eq!(report.head, ledger.head());
}

#[test]
fn entries_chain_once_and_verify_on_every_store() {
    check_store(MemoryStore::new());
    check_store(SqliteStore::in_memory().unwrap());
}

#[test]
fn tampering_anywhere_is_found() {
    let w = World::new("idea-test", 2);
    let mut ledger = Ledger::open(MemoryStore::new()).unwrap();
    for e in history(&w) {
        ledger.submit(e).unwrap();
    }
    ledger.commit().unwrap();
    let clean = ledger.store().clone();
    let run = |store: &MemoryStore| {
        verify(
            store,
            &w.deployment,
            w.registrar,
            PublicKey::from(&w.registrar_key),
            t0(),
            &Anchor::None,
        )
    };
    run(&clean).unwrap();
    let at = |seq: u64, fault: LedgerFault| Err::<(), _>(Error::Ledger { seq, fault });
    // A changed record body.
    let mut store = clean.clone();
    store.entries_mut()[3].entry.body = b"interval 0: 600 c".to_vec();
    assert_eq!(run(&store).map(drop), at(4, LedgerFault::HashMismatch));
    // A record changed with its hash recomputed: the next link breaks.
    let mut store = clean.clone();
    store.entries_mut()[1].entry.at =
        idea_proto::Timestamp::from_unix_ms(w.now.unix_ms() + 1).unwrap();
    let e = &store.entries_mut()[1].clone();
    store.entries_mut()[1].hash = entry_hash(&e.prev, e.seq, &e.entry);
    assert_eq!(run(&store).map(drop), at(3, LedgerFault::NotLinked));
    // A signed entry whose content and hashes were rewritten consistently (as the last entry): its
    // signatures fail.
    let mut store = clean.clone();
    store.entries_mut().truncate(3);
    store.entries_mut()[2].entry.body[60] ^= 1;
    let e = store.entries_mut()[2].clone();
    store.entries_mut()[2].hash = entry_hash(&e.prev, e.seq, &e.entry);
    let err = run(&store).unwrap_err();
    assert!(
        matches!(err, Error::BadSignature { .. } | Error::Decode { .. }),
        "{err:?}"
    );
    // The same in the middle of the chain, so the next link breaks too: the bad signature, met first, is
    // what is reported (the walk verifies signatures in batches, and the batch is settled first).
    let mut store = clean.clone();
    assert!(
        store.entries_mut().len() > 3,
        "an entry follows the one changed"
    );
    // A byte of the last signature (the last thing in a signed entry's body).
    let last = store.entries_mut()[2].entry.body.len() - 10;
    store.entries_mut()[2].entry.body[last] ^= 1;
    let e = store.entries_mut()[2].clone();
    store.entries_mut()[2].hash = entry_hash(&e.prev, e.seq, &e.entry);
    let err = run(&store).unwrap_err();
    assert!(matches!(err, Error::BadSignature { .. }), "{err:?}");
    // Entries swapped.
    let mut store = clean.clone();
    store.entries_mut().swap(0, 1);
    assert_eq!(run(&store).map(drop), at(1, LedgerFault::NotLinked));
    // Under another registrar key nothing verifies.
    let other = PublicKey::from(&common::key(99));
    assert!(matches!(
        verify(
            &clean,
            &w.deployment,
            w.registrar,
            other,
            t0(),
            &Anchor::None
        ),
        Err(Error::BadSignature { .. })
    ));
}

#[test]
fn an_uncommitted_group_is_not_recorded() {
    let dir = std::env::temp_dir().join(format!("idea-ledger-group-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ledger.db");
    let _ = std::fs::remove_file(&path);
    let w = World::new("idea-test", 2);
    let entries = history(&w);
    {
        let mut ledger = Ledger::open(SqliteStore::open(&path).unwrap()).unwrap();
        ledger.submit(entries[0].clone()).unwrap();
        ledger.commit().unwrap();
        ledger.submit(entries[1].clone()).unwrap();
    }
    let mut ledger = Ledger::open(SqliteStore::open(&path).unwrap()).unwrap();
    assert_eq!(ledger.head().unwrap().seq, 1);
    ledger.submit(entries[1].clone()).unwrap();
    ledger.commit().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

const CHILD: &str = "IDEA_LEDGER_CHILD";

/// Run as a child process by the crash test: commits groups of records forever, printing each head it
/// acknowledges. Does nothing in an ordinary test run.
#[test]
fn crash_child_writer() {
    let Some(path) = std::env::var_os(CHILD) else {
        return;
    };
    let mut ledger = Ledger::open(SqliteStore::open(std::path::Path::new(&path)).unwrap()).unwrap();
    let mut stdout = std::io::stdout();
    // Keys continue from where an earlier (killed) writer stopped.
    let mut n = ledger.head().map_or(0, |h| h.seq);
    loop {
        for _ in 0..200 {
            n += 1;
            let body = vec![(n % 251) as u8; 512];
            ledger
                .submit(Entry::record(
                    RecordKind::ChannelPayout,
                    [7; 16],
                    n,
                    later(1),
                    body,
                ))
                .unwrap();
        }
        let head = ledger.commit().unwrap().unwrap();
        writeln!(stdout, "acked {}", head.seq).unwrap();
        stdout.flush().unwrap();
    }
}

#[test]
fn a_writer_killed_mid_write_loses_nothing_it_acknowledged() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("idea-ledger-crash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ledger.db");
    let _ = std::fs::remove_file(&path);
    let w = World::new("idea-test", 0);
    let mut acked_total = 0;
    for round in 0..3 {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "crash_child_writer",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, &path)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut acked = 0u64;
        // Each round appends to what earlier rounds left; kill once this one has acknowledged some groups.
        for line in lines.by_ref() {
            if let Some(seq) = line.unwrap().strip_prefix("acked ") {
                acked = seq.parse().unwrap();
                if acked >= acked_total + 1_000 + 200 * round {
                    break;
                }
            }
        }
        // Let it get into its next group (or its commit) before the kill.
        std::thread::sleep(std::time::Duration::from_micros(1_500 * round));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(
            acked > acked_total,
            "round {round}: the writer made no progress"
        );
        let store = SqliteStore::open(&path).unwrap();
        let report = verify(
            &store,
            &w.deployment,
            w.registrar,
            PublicKey::from(&w.registrar_key),
            t0(),
            &Anchor::None,
        )
        .unwrap();
        let head = report.head.unwrap().seq;
        eprintln!("round {round}: acknowledged {acked}, recorded {head}");
        assert!(
            head >= acked,
            "round {round}: acknowledged {acked}, found {head}"
        );
        assert_eq!(head % 200, 0, "round {round}: a group was recorded in part");
        acked_total = head;
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `n` platform records (opaque to the verifier) with keys `first..first + n`.
fn records(first: u64, n: u64) -> Vec<Entry> {
    (first..first + n)
        .map(|i| Entry::record(RecordKind::ChannelPayout, [3; 16], i, t0(), vec![1, 2, 3]))
        .collect()
}

fn check_submit_all(store: impl LedgerStore) {
    let mut ledger = Ledger::open(store).unwrap();
    // More keys than one lookup query takes, so the store is asked in several.
    assert_eq!(
        ledger.submit_all(records(0, 1200)).unwrap().last(),
        Some(&1200)
    );
    ledger.commit().unwrap();
    // One key among 1,200 already stored (the last one of the earlier group): nothing is added.
    let err = ledger.submit_all(records(1199, 1200)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Duplicate {
                what: "ledger entry",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(ledger.pending(), 0);
    // Twice in one call, or once in the group and again: refused likewise.
    let mut twice = records(5000, 3);
    twice.push(twice[1].clone());
    assert!(ledger.submit_all(twice).is_err());
    assert_eq!(
        ledger.submit_all(records(6000, 2)).unwrap(),
        vec![1201, 1202]
    );
    assert!(ledger.submit(records(6001, 1).remove(0)).is_err());
    assert_eq!(ledger.commit().unwrap().unwrap().seq, 1202);
}

#[test]
fn a_group_submitted_at_once_is_checked_against_the_store_all_or_nothing() {
    check_submit_all(MemoryStore::new());
    check_submit_all(SqliteStore::in_memory().unwrap());
}

/// A ledger with the history of `w`, a checkpoint by the registrar over it, and two records after it;
/// returns the store and the checkpoint.
fn checkpointed(w: &World) -> (MemoryStore, Signed<te_contract::ledger::Checkpoint>) {
    let mut ledger = Ledger::open(MemoryStore::new()).unwrap();
    for e in history(w) {
        ledger.submit(e).unwrap();
    }
    let checkpoint = ledger
        .checkpoint(w.registrar, 0, &w.registrar_key, &w.deployment, later(20))
        .unwrap();
    for e in records(100, 2) {
        ledger.submit(Entry { at: later(21), ..e }).unwrap();
    }
    ledger.commit().unwrap();
    (ledger.store().clone(), checkpoint)
}

fn verify_with(w: &World, store: &MemoryStore, anchor: &Anchor) -> te_contract::Result<u64> {
    verify(
        store,
        &w.deployment,
        w.registrar,
        PublicKey::from(&w.registrar_key),
        t0(),
        anchor,
    )
    .map(|r| r.entries)
}

/// The history rewrite: the chain is unkeyed, so a writer of the file can change a settled amount and
/// recompute every hash, or delete the last entries. Signed checkpoints and an anchor kept outside catch it.
#[test]
fn a_rewritten_or_cut_history_is_found_by_the_checkpoints_and_the_anchor() {
    let w = World::new("idea-test", 2);
    let (clean, checkpoint) = checkpointed(&w);
    let report = verify(
        &clean,
        &w.deployment,
        w.registrar,
        PublicKey::from(&w.registrar_key),
        t0(),
        &Anchor::Checkpoint(checkpoint.clone()),
    )
    .unwrap();
    assert_eq!((report.entries, report.checkpoints), (7, 1));
    assert_eq!(report.last_checkpoint.unwrap().seq, 4);
    assert_eq!(
        report.unanchored, 3,
        "the checkpoint entry and the two records after it"
    );
    let head = report.head.unwrap();

    // The settled amount (entry 4) changed and every hash after it recomputed: the in-chain checkpoint no
    // longer covers the entry before it.
    let mut store = clean.clone();
    let mut record = DeliveryCheck::decode_exact(&store.entries_mut()[3].entry.body).unwrap();
    record.amount = Money::new(600, eur());
    store.entries_mut()[3].entry.body = record.to_bytes();
    rechain(&mut store, 3);
    assert!(matches!(
        verify_with(&w, &store, &Anchor::None),
        Err(Error::Ledger {
            seq: 5,
            fault: LedgerFault::Checkpoint(_)
        })
    ));

    // The meter's figure in the settlement changed too: its token's signature no longer holds, checkpoint
    // or not.
    let mut store = clean.clone();
    let mut record = DeliveryCheck::decode_exact(&store.entries_mut()[3].entry.body).unwrap();
    let mut token = *record.token.body();
    token.export_wh = 5_000;
    let mut forged = Signed::new(w.deployment.clone(), token);
    forged.sign(w.ids[0], 0, &w.keys[1]).unwrap();
    record.token = forged;
    store.entries_mut()[3].entry.body = record.to_bytes();
    rechain(&mut store, 3);
    let found = verify_with(&w, &store, &Anchor::None).unwrap_err();
    assert!(
        matches!(&found, Error::BadSignature { kind: te_contract::MessageKind::DeliveryToken, signer } if *signer == w.ids[0]),
        "{found}"
    );

    // The last two entries deleted: invisible without an anchor, found with the head or the checkpoint.
    let mut store = clean.clone();
    store.entries_mut().truncate(5);
    assert_eq!(verify_with(&w, &store, &Anchor::None).unwrap(), 5);
    assert_eq!(
        verify_with(&w, &store, &Anchor::Head(head)),
        Err(Error::Ledger {
            seq: 7,
            fault: LedgerFault::Truncated { head: 5 }
        })
    );
    // Cut before the checkpoint: the external copy of the checkpoint finds it.
    let mut store = clean.clone();
    store.entries_mut().truncate(3);
    assert_eq!(
        verify_with(&w, &store, &Anchor::Checkpoint(checkpoint.clone())),
        Err(Error::Ledger {
            seq: 4,
            fault: LedgerFault::Truncated { head: 3 }
        })
    );

    // A record after the checkpoint rewritten with hashes recomputed: the head anchor finds it.
    let mut store = clean.clone();
    store.entries_mut()[6].entry.body = vec![9, 9, 9];
    rechain(&mut store, 6);
    assert_eq!(verify_with(&w, &store, &Anchor::None).unwrap(), 7);
    assert_eq!(
        verify_with(&w, &store, &Anchor::Head(head)),
        Err(Error::Ledger {
            seq: 7,
            fault: LedgerFault::AnchorMismatch
        })
    );

    // A checkpoint by anyone but the registrar is refused, in the chain and as the anchor.
    let mut ledger = Ledger::open(MemoryStore::new()).unwrap();
    for e in history(&w) {
        ledger.submit(e).unwrap();
    }
    let forged = ledger
        .checkpoint(w.ids[0], 0, &w.keys[0], &w.deployment, later(20))
        .unwrap();
    ledger.commit().unwrap();
    assert!(matches!(
        verify_with(&w, ledger.store(), &Anchor::None),
        Err(Error::Ledger {
            seq: 5,
            fault: LedgerFault::Checkpoint(_)
        })
    ));
    assert!(matches!(
        verify_with(&w, &clean, &Anchor::Checkpoint(forged)),
        Err(Error::Ledger {
            fault: LedgerFault::Checkpoint(_),
            ..
        })
    ));
}

/// Recomputes the links and hashes from entry index `from` on, as a writer of the file could.
fn rechain(store: &mut MemoryStore, from: usize) {
    let entries = store.entries_mut();
    for i in from..entries.len() {
        let prev = if i == 0 { [0; 32] } else { entries[i - 1].hash };
        entries[i].prev = prev;
        entries[i].hash = entry_hash(&prev, entries[i].seq, &entries[i].entry);
    }
}

#[test]
fn an_entry_of_an_unknown_kind_is_refused() {
    let w = World::new("idea-test", 2);
    let mut ledger = Ledger::open(MemoryStore::new()).unwrap();
    for e in history(&w) {
        ledger.submit(e).unwrap();
    }
    ledger
        .submit(Entry {
            kind: 0x1fff,
            key: [0; 24],
            at: later(30),
            body: b"an invented record".to_vec(),
        })
        .unwrap();
    ledger.commit().unwrap();
    assert_eq!(
        verify_with(&w, ledger.store(), &Anchor::None),
        Err(Error::Ledger {
            seq: 5,
            fault: LedgerFault::UnknownKind(0x1fff)
        })
    );
}

/// An application's own record kind is a new `EntryKind` given to the verifier, not an edit of the ledger:
/// the same chain verifies once the kind is known, and its check is the kind's own.
#[test]
fn a_new_kind_is_checked_by_its_own_entry_kind() {
    struct Note;
    impl te_contract::ledger::EntryKind for Note {
        fn code(&self) -> u16 {
            0x1fff
        }
        fn check(
            &self,
            entry: &Entry,
            _: &mut te_contract::registry::Registry,
            _: &te_contract::DeploymentId,
        ) -> te_contract::Result<u64> {
            if entry.body.starts_with(b"an ") {
                Ok(0)
            } else {
                Err(Error::Invalid {
                    field: "note",
                    reason: "not a note".into(),
                })
            }
        }
    }
    let w = World::new("idea-test", 2);
    let mut ledger = Ledger::open(MemoryStore::new()).unwrap();
    for e in history(&w) {
        ledger.submit(e).unwrap();
    }
    ledger
        .submit(Entry {
            kind: 0x1fff,
            key: [0; 24],
            at: later(30),
            body: b"an application's note".to_vec(),
        })
        .unwrap();
    ledger.commit().unwrap();
    let kinds = te_contract::audit::standard_kinds().with(Note);
    let report = te_contract::ledger::verify(
        ledger.store(),
        &w.deployment,
        w.registrar,
        PublicKey::from(&w.registrar_key),
        t0(),
        &Anchor::None,
        &kinds,
    )
    .unwrap();
    assert_eq!(report.entries, 5);
}

#[test]
fn verification_opens_read_only_and_refuses_what_is_not_a_ledger() {
    let dir = std::env::temp_dir().join(format!("idea-ledger-ro-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let w = World::new("idea-test", 2);
    let path = dir.join("ledger.db");
    let _ = std::fs::remove_file(&path);
    {
        let mut ledger = Ledger::open(SqliteStore::open(&path).unwrap()).unwrap();
        for e in history(&w) {
            ledger.submit(e).unwrap();
        }
        ledger.commit().unwrap();
    }
    let listing = || {
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let (before, files) = (std::fs::read(&path).unwrap(), listing());
    let store = SqliteStore::open_read_only(&path).unwrap();
    let report = verify(
        &store,
        &w.deployment,
        w.registrar,
        PublicKey::from(&w.registrar_key),
        t0(),
        &Anchor::None,
    )
    .unwrap();
    assert_eq!(report.entries, 4);
    drop(store);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the file is unchanged"
    );
    assert_eq!(listing(), files, "nothing was created beside it");
    // An SQLite database of something else, and a file that is no database at all.
    let other = dir.join("other.db");
    let _ = std::fs::remove_file(&other);
    unrelated_database(&other);
    let before = std::fs::read(&other).unwrap();
    assert!(matches!(
        SqliteStore::open_read_only(&other),
        Err(Error::Ledger {
            fault: LedgerFault::NotALedger(_),
            ..
        })
    ));
    assert_eq!(std::fs::read(&other).unwrap(), before);
    let text = dir.join("notes.txt");
    std::fs::write(&text, "not a database at all, just some words in a file").unwrap();
    assert!(matches!(
        SqliteStore::open_read_only(&text),
        Err(Error::Ledger {
            fault: LedgerFault::NotALedger(_),
            ..
        })
    ));
    assert!(SqliteStore::open_read_only(&dir.join("missing.db")).is_err());
    assert!(!dir.join("missing.db").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Writes an SQLite database with a table of its own and no ledger in it.
fn unrelated_database(path: &std::path::Path) {
    let db = rusqlite::Connection::open(path).unwrap();
    db.execute_batch("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT); INSERT INTO notes (text) VALUES ('hello');")
        .unwrap();
}
