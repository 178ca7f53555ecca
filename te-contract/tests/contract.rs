//! Smart contracts: signed by both parties' avatars, recorded once, moved through the lifecycle.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use common::{World, later, t0, transaction};
use idea_proto::{TransactionId, TransactionState};
use te_contract::contract::{Contract, ContractBook};
use te_contract::{Codec, Error, Signed};

fn contract(w: &World, n: u8) -> Signed<Contract> {
    let mut c = Signed::new(
        w.deployment.clone(),
        Contract {
            transaction: transaction(n),
            seller: w.ids[0],
            buyer: w.ids[1],
            agreed_at: t0(),
        },
    );
    c.sign(w.ids[0], 0, &w.keys[0]).unwrap();
    c.sign(w.ids[1], 0, &w.keys[1]).unwrap();
    c
}

#[test]
fn a_contract_is_recorded_once_with_both_signatures() {
    let w = World::new("idea-test", 3);
    let mut book = ContractBook::new(w.deployment.clone());
    let c = contract(&w, 1);
    let recorded = book.record(c.clone(), &w.registry, later(1)).unwrap();
    assert_eq!(recorded.state, TransactionState::Recorded);
    assert_eq!(recorded.recorded_at, later(1));
    // The same id again — the same contract or one with other terms — is refused.
    assert!(matches!(
        book.record(c.clone(), &w.registry, later(2)),
        Err(Error::Duplicate {
            what: "contract",
            ..
        })
    ));
    let mut other = Signed::new(
        w.deployment.clone(),
        Contract {
            agreed_at: later(1),
            ..c.body().clone()
        },
    );
    other.sign(w.ids[0], 0, &w.keys[0]).unwrap();
    other.sign(w.ids[1], 0, &w.keys[1]).unwrap();
    assert!(
        book.record(other, &w.registry, later(2))
            .is_err_and(|e| matches!(
                e,
                te_contract::Error::Duplicate {
                    what: "contract",
                    ..
                }
            ))
    );
    assert_eq!(book.len(), 1);
}

#[test]
fn a_contract_signed_by_anyone_else_is_refused() {
    let w = World::new("idea-test", 3);
    let mut book = ContractBook::new(w.deployment.clone());
    let c = contract(&w, 1);
    // The buyer's signature made by the third avatar's key.
    let mut forged = Signed::new(w.deployment.clone(), c.body().clone());
    forged.sign(w.ids[0], 0, &w.keys[0]).unwrap();
    forged.sign(w.ids[1], 0, &w.keys[2]).unwrap();
    assert!(matches!(
        book.record(forged, &w.registry, later(1)),
        Err(Error::BadSignature { .. })
    ));
    let mut half = Signed::new(w.deployment.clone(), c.body().clone());
    half.sign(w.ids[0], 0, &w.keys[0]).unwrap();
    assert!(matches!(
        book.record(half, &w.registry, later(1)),
        Err(Error::WrongSigners { .. })
    ));
    assert!(book.is_empty());
    // Nor may a third avatar sign in the buyer's place.
    let mut wrong = Signed::new(w.deployment.clone(), c.body().clone());
    wrong.sign(w.ids[0], 0, &w.keys[0]).unwrap();
    assert!(
        wrong
            .sign(w.ids[2], 0, &w.keys[2])
            .is_err_and(|e| matches!(e, te_contract::Error::WrongSigners { .. }))
    );
}

#[test]
fn a_recorded_contract_follows_the_transaction_lifecycle() {
    let w = World::new("idea-test", 2);
    let mut book = ContractBook::new(w.deployment.clone());
    let id = TransactionId::from_bytes([1; 16]);
    book.record(contract(&w, 1), &w.registry, later(1)).unwrap();
    for (to, at) in [
        (TransactionState::Commanded, 2),
        (TransactionState::Executing, 3),
        (TransactionState::Measured, 20),
        (TransactionState::Completed, 61),
    ] {
        book.advance(&id, to, later(at)).unwrap();
    }
    assert!(
        book.advance(&id, TransactionState::Executing, later(62))
            .is_err_and(|e| matches!(e, te_contract::Error::Invalid { field: "state", .. })),
        "no way back"
    );
    assert!(
        book.advance(&id, TransactionState::Settled, later(10))
            .is_err_and(|e| matches!(e, te_contract::Error::Invalid { field: "at", .. })),
        "time runs forward"
    );
    book.advance(&id, TransactionState::Settled, later(62))
        .unwrap();
    let recorded = book.get(&id).unwrap();
    assert_eq!(recorded.state, TransactionState::Settled);
    assert_eq!(recorded.history.len(), 5);
}

#[test]
fn contract_bytes_round_trip_and_stay_canonical() {
    let w = World::new("idea-test", 2);
    let c = contract(&w, 1);
    let bytes = c.to_bytes();
    let (back, used) = Signed::<Contract>::decode(&bytes).unwrap();
    assert_eq!(used, bytes.len());
    assert_eq!(back, c);
    back.verify(&w.registry, &w.deployment, later(1)).unwrap();
    for cut in 0..bytes.len() {
        assert!(
            Signed::<Contract>::decode(&bytes[..cut]).is_err_and(
                |e| matches!(e, te_contract::Error::Decode { offset, .. } if offset <= cut)
            ),
            "cut at {cut}: a decode error at or before the cut"
        );
    }
}
