//! Replays the fuzz corpus `fuzz/corpus/te_signed/` through the fuzz target body; its seeds are one valid
//! object of every kind, as `seeds()` makes them (`IDEA_WRITE_SEEDS=1` writes them again).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    missing_docs
)]

#[path = "../../fuzz/bodies/te_contract.rs"]
mod bodies;

mod common;

#[path = "../../fuzz/bodies/corpus.rs"]
mod corpus_files;

use common::{World, eur, t0};
use idea_proto::{Duration, PublicKey, TransactionId};
use te_contract::channel::{
    ChannelClose, ChannelOpen, ChannelState, CloseRequest, Debt, Party, Payment,
};
use te_contract::registry::{KeyRotation, Revocation};
use te_contract::{ChannelId, Codec, DebtId, Signed};

fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let w = World::new("idea-fuzz", 2);
    let (a, b) = (w.ids[0], w.ids[1]);
    let mut out = Vec::new();
    out.push(("registration", w.registration(a, &w.keys[0]).to_bytes()));
    let mut rotation = Signed::new(
        w.deployment.clone(),
        KeyRotation {
            avatar: a,
            version: 1,
            key: PublicKey::from(&common::key(60)),
            at: t0(),
        },
    );
    rotation.sign(a, 0, &w.keys[0]).unwrap();
    rotation.sign(a, 1, &common::key(60)).unwrap();
    out.push(("key_rotation", rotation.to_bytes()));
    let mut revocation = Signed::new(
        w.deployment.clone(),
        Revocation {
            by: w.registrar,
            avatar: a,
            version: 0,
            at: t0(),
        },
    );
    revocation.sign(w.registrar, 0, &w.registrar_key).unwrap();
    out.push(("revocation", revocation.to_bytes()));
    let mut open = Signed::new(
        w.deployment.clone(),
        ChannelOpen {
            channel: ChannelId::from_bytes([9; 16]),
            a,
            b,
            currency: eur(),
            credit_limit: 5_000,
            challenge_period: Duration::from_mins(60),
            opened_at: t0(),
        },
    );
    open.sign(a, 0, &w.keys[0]).unwrap();
    open.sign(b, 0, &w.keys[1]).unwrap();
    out.push(("channel_open", open.to_bytes()));
    let mut state = Signed::new(
        w.deployment.clone(),
        ChannelState {
            channel: ChannelId::from_bytes([9; 16]),
            counter: 3,
            proposer: Party::B,
            proposer_avatar: b,
            acceptor_avatar: a,
            owed_by_a: 700,
            owed_by_b: 1_200,
            paid_by_a: 100,
            paid_by_b: 0,
            debts: vec![Debt {
                id: DebtId::from_bytes([4; 16]),
                debtor: Party::A,
                amount: 200,
                contract: TransactionId::from_bytes([5; 16]),
                interval: 7,
                token: Some([6; 16]),
            }],
            payments: vec![Payment {
                id: DebtId::from_bytes([8; 16]),
                payer: Party::A,
                amount: 100,
            }],
        },
    );
    state.sign(b, 0, &w.keys[1]).unwrap();
    state.sign(a, 0, &w.keys[0]).unwrap();
    out.push(("channel_state", state.to_bytes()));
    let mut close = Signed::new(
        w.deployment.clone(),
        ChannelClose {
            channel: ChannelId::from_bytes([9; 16]),
            closer: a,
            other: b,
            counter: 3,
            net_owed_by_a: -500,
        },
    );
    close.sign(a, 0, &w.keys[0]).unwrap();
    close.sign(b, 0, &w.keys[1]).unwrap();
    out.push(("channel_close", close.to_bytes()));
    let mut contract = Signed::new(
        w.deployment.clone(),
        te_contract::contract::Contract {
            transaction: common::transaction(5),
            seller: a,
            buyer: b,
            agreed_at: t0(),
        },
    );
    contract.sign(a, 0, &w.keys[0]).unwrap();
    contract.sign(b, 0, &w.keys[1]).unwrap();
    out.push(("contract", contract.to_bytes()));
    let mut reading = Signed::new(
        w.deployment.clone(),
        te_contract::meter::MeterReading {
            meter: a,
            sequence: 42,
            at: t0(),
            import_wh: 123_456,
            export_wh: 7_890,
        },
    );
    reading.sign(a, 0, &w.keys[0]).unwrap();
    out.push(("meter_reading", reading.to_bytes()));
    let mut dispute = Signed::new(
        w.deployment.clone(),
        te_contract::settlement::Dispute {
            discrepancy: DebtId::from_bytes([3; 16]),
            by: b,
            reason: "meter replaced".into(),
            filed_at: t0(),
        },
    );
    dispute.sign(b, 0, &w.keys[1]).unwrap();
    out.push(("dispute", dispute.to_bytes()));
    let token = common::signed_token(
        &w.deployment,
        te_contract::meter::DeliveryToken::new(a, t0(), 900, 0, 480, true).unwrap(),
        &w.keys[0],
    );
    let cell = contract.body().delivery_point().cell.clone();
    let record = te_contract::settlement::verify_delivery(
        contract.body(),
        0,
        &token,
        &common::OneMeter(a, cell, idea_proto::PublicKey::from(&w.keys[0])),
        &w.deployment,
        t0(),
    )
    .unwrap();
    let mut bytes = te_contract::ledger::RecordKind::Settlement
        .code()
        .to_be_bytes()
        .to_vec();
    record.encode(&mut bytes);
    out.push(("settlement_record", bytes));
    let mut request = Signed::new(
        w.deployment.clone(),
        CloseRequest {
            channel: ChannelId::from_bytes([9; 16]),
            by: a,
            counter: 3,
            at: t0(),
        },
    );
    request.sign(a, 0, &w.keys[0]).unwrap();
    out.push(("channel_close_request", request.to_bytes()));
    let mut checkpoint = Signed::new(
        w.deployment.clone(),
        te_contract::ledger::Checkpoint {
            operator: w.registrar,
            seq: 42,
            hash: [0x42; 32],
            at: t0(),
        },
    );
    checkpoint.sign(w.registrar, 0, &w.registrar_key).unwrap();
    out.push(("ledger_checkpoint", checkpoint.to_bytes()));
    out.push(("delivery_token", token.to_bytes()));
    let mut wallets = te_contract::wallet::Wallets::new();
    wallets
        .deposit(a, idea_proto::Money::new(500, eur()))
        .unwrap();
    let owes = |n: u8, from, to, amount| te_contract::clearing::Obligation {
        source: te_contract::clearing::Source::Transfer(DebtId::from_bytes([n; 16])),
        from,
        to,
        amount: idea_proto::Money::new(amount, eur()),
    };
    let report = te_contract::clearing::clear(
        vec![
            owes(1, a, b, 300),
            owes(2, b, a, 100),
            owes(3, b, w.registrar, 900),
        ],
        &mut wallets,
        t0().checked_add(Duration::from_mins(15)).unwrap(),
    );
    let mut bytes = te_contract::ledger::RecordKind::Clearing
        .code()
        .to_be_bytes()
        .to_vec();
    report.encode(&mut bytes);
    out.push(("clearing_record", bytes));
    let mut bytes = te_contract::ledger::RecordKind::Deposit
        .code()
        .to_be_bytes()
        .to_vec();
    te_contract::wallet::Deposit {
        avatar: a,
        amount: idea_proto::Money::new(10_000, eur()),
        sequence: 1,
    }
    .encode(&mut bytes);
    out.push(("deposit_record", bytes));
    let mut bytes = te_contract::ledger::RecordKind::Binding
        .code()
        .to_be_bytes()
        .to_vec();
    te_contract::registry::Binding {
        avatar: a,
        name: "cell-1@idea".into(),
        sequence: 1,
    }
    .encode(&mut bytes);
    out.push(("binding_record", bytes));
    out
}

#[test]
fn te_signed_corpus() {
    let inputs = corpus_files::corpus("te_signed", 16);
    let decoded = inputs.iter().filter(|c| bodies::signed(c)).count();
    assert!(decoded >= 16, "{decoded} inputs decoded");
}

#[test]
fn seeds_are_one_object_of_every_kind() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/te_signed");
    for (i, (name, bytes)) in seeds().into_iter().enumerate() {
        let file = dir.join(format!("{i:02}_{name}.bin"));
        if std::env::var_os("IDEA_WRITE_SEEDS").is_some_and(|v| v == "1") {
            std::fs::write(&file, &bytes).unwrap();
        }
        let stored = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(stored, bytes, "{}", file.display());
    }
}
