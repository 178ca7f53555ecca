//! Fuzz body for the signed objects and ledger settlement, clearing, deposit and binding records of `te-contract`; shared by `fuzz_targets/te_signed.rs` and the corpus
//! replay test `te-contract/tests/fuzz_corpus.rs`.
#![allow(
    unreachable_pub,
    dead_code,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use te_contract::channel::{ChannelClose, ChannelOpen, ChannelState, CloseRequest};
use te_contract::clearing::ClearingReport;
use te_contract::contract::Contract;
use te_contract::ledger::{Checkpoint, RecordKind};
use te_contract::meter::{DeliveryToken, MeterReading};
use te_contract::registry::{KeyRotation, Registration, Registry, Revocation};
use te_contract::settlement::{DeliveryCheck, Dispute};
use te_contract::signed::Body;
use te_contract::{AvatarId, Codec, DeploymentId, MessageKind, Signed};

/// Decodes `data` as the signed object its kind code names. Whatever decodes must re-encode to exactly the
/// bytes it was read from (one encoding per value), and checking its signatures must end in a verdict,
/// never a panic. Returns whether it decoded.
pub fn signed(data: &[u8]) -> bool {
    let Some(code) = data.get(..2).map(|b| u16::from_be_bytes([b[0], b[1]])) else {
        return false;
    };
    match MessageKind::from_code(code) {
        Some(MessageKind::Registration) => check::<Registration>(data),
        Some(MessageKind::KeyRotation) => check::<KeyRotation>(data),
        Some(MessageKind::Revocation) => check::<Revocation>(data),
        Some(MessageKind::Contract) => check::<Contract>(data),
        Some(MessageKind::ChannelOpen) => check::<ChannelOpen>(data),
        Some(MessageKind::ChannelState) => check::<ChannelState>(data),
        Some(MessageKind::ChannelClose) => check::<ChannelClose>(data),
        Some(MessageKind::ChannelCloseRequest) => check::<CloseRequest>(data),
        Some(MessageKind::MeterReading) => check::<MeterReading>(data),
        Some(MessageKind::DeliveryToken) => check::<DeliveryToken>(data),
        Some(MessageKind::Dispute) => check::<Dispute>(data),
        Some(MessageKind::LedgerCheckpoint) => check::<Checkpoint>(data),
        None if code == RecordKind::Settlement.code() => settlement_record(&data[2..]),
        None if code == RecordKind::Clearing.code() => clearing_record(&data[2..]),
        None if code == RecordKind::Deposit.code() => deposit_record(&data[2..]),
        None if code == RecordKind::Binding.code() => binding_record(&data[2..]),
        _ => false,
    }
}

/// A ledger's settlement record (what follows the code): canonical when it decodes.
fn settlement_record(data: &[u8]) -> bool {
    let Ok((value, used)) = DeliveryCheck::decode(data) else {
        return false;
    };
    assert_eq!(value.to_bytes(), &data[..used], "not canonical");
    true
}

/// A ledger's clearing record (what follows the code): canonical when it decodes, and its consistency check
/// ends in a verdict.
fn clearing_record(data: &[u8]) -> bool {
    let Ok((value, used)) = ClearingReport::decode(data) else {
        return false;
    };
    assert_eq!(value.to_bytes(), &data[..used], "not canonical");
    let _ = value.check();
    true
}

/// A ledger's deposit record (what follows the code): canonical when it decodes.
fn deposit_record(data: &[u8]) -> bool {
    let Ok((value, used)) = te_contract::wallet::Deposit::decode(data) else {
        return false;
    };
    assert_eq!(value.to_bytes(), &data[..used], "not canonical");
    true
}

/// A ledger's binding record (what follows the code): canonical when it decodes.
fn binding_record(data: &[u8]) -> bool {
    let Ok((value, used)) = te_contract::registry::Binding::decode(data) else {
        return false;
    };
    assert_eq!(value.to_bytes(), &data[..used], "not canonical");
    true
}

fn check<T: Body>(data: &[u8]) -> bool {
    let Ok((value, used)) = Signed::<T>::decode(data) else {
        return false;
    };
    assert_eq!(value.to_bytes(), &data[..used], "not canonical");
    let deployment = DeploymentId::new("idea-fuzz").unwrap();
    let key = idea_proto::PublicKey::from(&idea_proto::SigningKey::from_bytes(&[1; 32]));
    let registry = Registry::new(
        deployment.clone(),
        AvatarId::from_bytes([1; 16]),
        key,
        idea_proto::Timestamp::UNIX_EPOCH,
    );
    let _ = value.verify(&registry, &deployment, idea_proto::Timestamp::UNIX_EPOCH);
    let _ = value.verify_partial(&registry, &deployment, idea_proto::Timestamp::UNIX_EPOCH);
    true
}
