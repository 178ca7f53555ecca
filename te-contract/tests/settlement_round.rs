//! A whole settlement round — contracts recorded, meter readings turned into tokens, delivery verified,
//! channel states adopted, ledger appended — gives the same result with its signatures checked as one
//! batch as one by one, and a forged signature in the batch still stops its transaction.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

#[path = "../benches/scenario/mod.rs"]
mod scenario;

use te_contract::batch::Batch;
use te_contract::ledger::{Ledger, MemoryStore};
use te_contract::{Error, MessageKind};

#[test]
fn batched_and_one_by_one_rounds_write_the_same_ledger() {
    let s = scenario::build(12);
    let mut one_by_one = Ledger::open(MemoryStore::new()).unwrap();
    let mut books = s.books.clone();
    assert_eq!(
        s.settle(&mut books, &mut one_by_one, &s.registry).unwrap(),
        1
    );
    let mut batched = Ledger::open(MemoryStore::new()).unwrap();
    let mut batched_books = s.books.clone();
    assert_eq!(
        s.settle_batched(&mut batched_books, &mut batched).unwrap(),
        1
    );
    let head = one_by_one.head().unwrap();
    assert_eq!(
        head.seq,
        12 * 4,
        "contract, reading, state and settlement (with the meter's signed token) per transaction"
    );
    assert_eq!(batched.head(), Some(head));
    assert_eq!(books.store.saved.len(), 12);
    assert_eq!(batched_books.store.saved, books.store.saved);
    // A second round of the same transactions is refused: the contracts are recorded.
    let mut again = batched_books.clone();
    assert!(matches!(
        s.settle_batched(&mut again, &mut batched),
        Err(Error::Duplicate {
            what: "contract",
            ..
        })
    ));
}

#[test]
fn a_forged_signature_in_a_batch_stops_its_transaction_and_only_it() {
    let mut s = scenario::build(4);
    // Transaction 2's reading, signed in the meter's name with another key.
    let reading = s.readings[2].body().clone();
    let meter = reading.meter;
    s.readings[2] = te_contract::Signed::new(s.deployment.clone(), reading);
    s.readings[2]
        .sign(meter, 0, &idea_proto::SigningKey::from_bytes(&[9; 32]))
        .unwrap();
    let mut batch = Batch::new(&s.registry, s.deployment.clone());
    for i in 0..4 {
        batch.add(&s.contracts[i], s.now).unwrap();
        batch.add(&s.readings[i], s.now).unwrap();
        batch.add(&s.tokens[i], s.now).unwrap();
        batch.add(&s.states[i], s.now).unwrap();
    }
    assert_eq!(batch.pending(), 24);
    assert_eq!(batch.verify(), 1, "one invalid signature among 24");
    assert_eq!(batch.verified(), 23);
    let mut books = s.books.clone();
    let mut ledger = Ledger::open(MemoryStore::new()).unwrap();
    let err = s.settle(&mut books, &mut ledger, &batch).unwrap_err();
    assert!(
        matches!(
            err,
            Error::BadSignature {
                kind: MessageKind::MeterReading,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        books.store.saved.len(),
        2,
        "transactions 0 and 1 went through, 2 stopped"
    );
    assert_eq!(
        ledger.pending(),
        0,
        "the round appends nothing unless it completes"
    );
}
