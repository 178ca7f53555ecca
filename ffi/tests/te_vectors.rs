//! The TE objects the C tests read (`tests/vectors/*.bin`), made here by the Rust crates so that C decodes and
//! verifies what a Rust agent or TE node signs: a contract signed by seller and buyer, a channel state signed by
//! proposer and acceptor. Signatures are deterministic (ed25519), so the files are compared byte for byte; run
//! with `IDEA_WRITE_VECTORS=1` to write them again after a deliberate change of the wire form.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use idea_proto::{
    CellId, CellRef, Currency, DeliveryWindow, Energy, EnergyPrice, EnergyTransaction, Parties,
    PowerCellType, ServiceId, SigningKey, Subject, Terms, TermsSpec, Timestamp, ToleranceBand,
    TransactionId, TransactionSpec,
};
use std::path::PathBuf;
use te_contract::channel::{ChannelState, Debt, Party};
use te_contract::contract::Contract;
use te_contract::{AvatarId, ChannelId, Codec, DebtId, DeploymentId, Signed};

/// Avatar `[n; 16]` holds the key from seed `[n; 32]`: the C test derives the same public keys.
fn party(n: u8) -> (AvatarId, SigningKey) {
    (
        AvatarId::from_bytes([n; 16]),
        SigningKey::from_bytes(&[n; 32]),
    )
}

fn t0() -> Timestamp {
    "2026-12-03T10:00:00Z".parse().unwrap()
}

fn eur() -> Currency {
    Currency::new("EUR", 2).unwrap()
}

/// Four quarter hours of 500 Wh at 0.12 EUR/kWh from a PV farm to a house.
fn transaction() -> EnergyTransaction {
    let terms = Terms::new(TermsSpec {
        window: DeliveryWindow::new(t0(), 900, 4).unwrap(),
        profile: idea_proto::Profile::Energy(vec![Energy::from_wh(500); 4]),
        price: EnergyPrice::new(12, eur()),
        tolerance: ToleranceBand {
            relative_bp: 500,
            absolute: Energy::from_wh(10),
        },
        penalty: EnergyPrice::new(30, eur()),
    })
    .unwrap();
    EnergyTransaction::new(TransactionSpec {
        id: TransactionId::from_bytes([7; 16]),
        service: ServiceId::new("p2p-market").unwrap(),
        subject: Subject::Energy,
        parties: Parties::PeerToPeer {
            seller: CellRef::new(
                CellId::new("pv-farm").unwrap(),
                PowerCellType::StochasticGenerator,
            ),
            buyer: CellRef::new(
                CellId::new("house-7").unwrap(),
                PowerCellType::PassiveConsumer,
            ),
        },
        terms,
    })
    .unwrap()
}

fn contract() -> Vec<u8> {
    let deployment = DeploymentId::new("idea-test").unwrap();
    let ((seller, seller_key), (buyer, buyer_key)) = (party(10), party(11));
    let mut c = Signed::new(
        deployment,
        Contract {
            transaction: transaction(),
            seller,
            buyer,
            agreed_at: t0(),
        },
    );
    c.sign(seller, 0, &seller_key).unwrap();
    c.sign(buyer, 0, &buyer_key).unwrap();
    c.to_bytes()
}

fn channel_state() -> Vec<u8> {
    let deployment = DeploymentId::new("idea-test").unwrap();
    let ((a, a_key), (b, b_key)) = (party(10), party(11));
    let mut state = Signed::new(
        deployment,
        ChannelState {
            channel: ChannelId::from_bytes([9; 16]),
            counter: 1,
            proposer: Party::A,
            proposer_avatar: a,
            acceptor_avatar: b,
            owed_by_a: 0,
            owed_by_b: 120,
            paid_by_a: 0,
            paid_by_b: 0,
            debts: vec![Debt {
                id: DebtId::from_bytes([5; 16]),
                debtor: Party::B,
                amount: 120,
                contract: TransactionId::from_bytes([7; 16]),
                interval: 0,
                token: None,
            }],
            payments: Vec::new(),
        },
    );
    state.sign(a, 0, &a_key).unwrap();
    state.sign(b, 0, &b_key).unwrap();
    state.to_bytes()
}

#[test]
fn the_c_tests_vectors_are_what_the_rust_crates_sign() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    for (file, bytes) in [
        ("contract.bin", contract()),
        ("channel-state.bin", channel_state()),
    ] {
        let path = dir.join(file);
        if std::env::var_os("IDEA_WRITE_VECTORS").is_some() {
            std::fs::write(&path, &bytes).unwrap();
        }
        let committed = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            committed, bytes,
            "{file} differs from what te-contract signs"
        );
    }
}
