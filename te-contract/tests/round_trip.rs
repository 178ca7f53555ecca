//! Every signed object round-trips through its canonical bytes, and any bytes that decode re-encode to
//! themselves (one encoding per value: nothing a signer did not produce is accepted).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use common::{World, key};
use idea_proto::{Duration, Money, PublicKey, TransactionId, strategies};
use proptest::prelude::*;
use te_contract::channel::{ChannelClose, ChannelOpen, ChannelState, Debt, Party, Payment};
use te_contract::contract::Contract;
use te_contract::meter::DeliveryToken;
use te_contract::registry::{KeyRotation, Registration, Revocation};
use te_contract::settlement::DeliveryCheck;
use te_contract::signed::Body;
use te_contract::{AvatarId, ChannelId, Codec, DebtId, Signed};

fn avatar() -> impl Strategy<Value = AvatarId> {
    any::<[u8; 16]>().prop_map(AvatarId::from_bytes)
}

fn party() -> impl Strategy<Value = Party> {
    prop_oneof![Just(Party::A), Just(Party::B)]
}

fn debt() -> impl Strategy<Value = Debt> {
    (
        any::<[u8; 16]>(),
        party(),
        1..i64::MAX,
        any::<[u8; 16]>(),
        any::<u32>(),
        any::<Option<[u8; 16]>>(),
    )
        .prop_map(|(id, debtor, amount, contract, interval, token)| Debt {
            id: DebtId::from_bytes(id),
            debtor,
            amount,
            contract: TransactionId::from_bytes(contract),
            interval,
            token,
        })
}

fn state() -> impl Strategy<Value = ChannelState> {
    (
        (any::<[u8; 16]>(), any::<u64>(), party(), avatar(), avatar()),
        proptest::array::uniform4(0..i64::MAX),
        proptest::collection::vec(debt(), 0..5),
        proptest::collection::vec((any::<[u8; 16]>(), party(), 1..i64::MAX), 0..3),
    )
        .prop_filter("two signers", |((_, _, _, p, a), ..)| p != a)
        .prop_map(
            |((channel, counter, proposer, pa, aa), t, debts, payments)| ChannelState {
                channel: ChannelId::from_bytes(channel),
                counter,
                proposer,
                proposer_avatar: pa,
                acceptor_avatar: aa,
                owed_by_a: t[0],
                owed_by_b: t[1],
                paid_by_a: t[2],
                paid_by_b: t[3],
                debts,
                payments: payments
                    .into_iter()
                    .map(|(id, payer, amount)| Payment {
                        id: DebtId::from_bytes(id),
                        payer,
                        amount,
                    })
                    .collect(),
            },
        )
}

/// Signs `body` with throwaway keys (the signature bytes are opaque to the codec) and checks the round trip
/// and the canonical property on a mutated copy.
fn check<T: Body + PartialEq + std::fmt::Debug>(body: T, flip: (usize, u8)) {
    let w = World::new("idea-test", 0);
    let mut signed = Signed::new(w.deployment.clone(), body);
    for (i, signer) in signed.body().signers().into_iter().enumerate() {
        signed
            .sign(signer, u32::try_from(i).unwrap(), &key(7))
            .unwrap();
    }
    let bytes = signed.to_bytes();
    let (back, used) = Signed::<T>::decode(&bytes).unwrap();
    assert_eq!(used, bytes.len());
    assert_eq!(back, signed);
    let mut mutated = bytes.clone();
    let i = flip.0 % mutated.len();
    mutated[i] ^= flip.1.max(1);
    if let Ok((value, used)) = Signed::<T>::decode(&mutated) {
        assert_eq!(value.to_bytes(), mutated[..used]);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn channel_states_round_trip(body in state(), flip in any::<(usize, u8)>()) {
        check(body, flip);
    }

    #[test]
    fn channel_opens_and_closes_round_trip(
        (channel, a, b) in (any::<[u8; 16]>(), avatar(), avatar()).prop_filter("two sides", |(_, a, b)| a != b),
        limit in 0..i64::MAX,
        period in any::<u32>(),
        opened in strategies::timestamp(),
        currency in strategies::currency(),
        counter in any::<u64>(),
        net in any::<i64>(),
        flip in any::<(usize, u8)>(),
    ) {
        check(ChannelOpen {
            channel: ChannelId::from_bytes(channel),
            a,
            b,
            currency,
            credit_limit: limit,
            challenge_period: Duration::from_ms(u64::from(period)),
            opened_at: opened,
        }, flip);
        check(ChannelClose {
            channel: ChannelId::from_bytes(channel),
            closer: b,
            other: a,
            counter,
            net_owed_by_a: net,
        }, flip);
    }

    #[test]
    fn contracts_round_trip(
        transaction in strategies::transaction(),
        (seller, buyer) in (avatar(), avatar()).prop_filter("two sides", |(a, b)| a != b),
        agreed in strategies::timestamp(),
        flip in any::<(usize, u8)>(),
    ) {
        check(Contract { transaction, seller, buyer, agreed_at: agreed }, flip);
    }

    #[test]
    fn registry_changes_round_trip(
        (registrar, avatar_id, by) in (avatar(), avatar(), avatar()),
        seed in any::<[u8; 32]>(),
        version in 1..u32::MAX,
        at in strategies::timestamp(),
        flip in any::<(usize, u8)>(),
        (which, n) in (0..4u8, any::<u16>()),
    ) {
        use te_contract::registry::AvatarKind;
        let key = PublicKey::from(&idea_proto::SigningKey::from_bytes(&seed));
        let kind = match which {
            0 => AvatarKind::Registrar,
            1 => AvatarKind::Agent(idea_proto::AgentId::new(format!("agent-{n}")).unwrap()),
            2 => AvatarKind::User(idea_proto::UserId::new(format!("user-{n}")).unwrap()),
            _ => AvatarKind::Meter {
                meter: idea_proto::MeterId::new(format!("meter-{n}")).unwrap(),
                cell: idea_proto::CellId::new(format!("cell-{n}")).unwrap(),
            },
        };
        check(Registration { registrar, avatar: avatar_id, kind, key, at }, flip);
        check(KeyRotation { avatar: avatar_id, version, key, at }, flip);
        check(Revocation { by, avatar: avatar_id, version, at }, flip);
    }

    /// The settlement record a ledger entry carries (the record is covered by the ledger's hash chain; the
    /// token in it is the meter's signed token), and the signed token on its own.
    #[test]
    fn settlement_records_round_trip(
        (contract, meter) in (any::<[u8; 16]>(), avatar()),
        (interval, period_s) in (any::<u32>(), 1..u32::MAX),
        (contracted, delivered, allowance) in (any::<i64>(), any::<i64>(), any::<i64>()),
        (import_wh, export_wh) in (0..i64::MAX, 0..i64::MAX),
        (estimated, start) in (any::<bool>(), strategies::timestamp()),
        (currency, amount, penalty) in (strategies::currency(), any::<i64>(), any::<i64>()),
        bytes in proptest::collection::vec(any::<u8>(), 0..200),
        flip in any::<(usize, u8)>(),
    ) {
        let body = DeliveryToken { id: DeliveryToken::id_for(&meter, start), meter, start, period_s, import_wh, export_wh, estimated };
        prop_assert_eq!(DeliveryToken::decode_exact(&body.to_bytes()).unwrap(), body);
        check(body, flip);
        let mut token = Signed::new(World::new("idea-test", 0).deployment, body);
        token.sign(meter, 0, &key(7)).unwrap();
        let record = DeliveryCheck {
            contract: TransactionId::from_bytes(contract),
            interval,
            contracted_wh: contracted,
            delivered_wh: delivered,
            allowance_wh: allowance,
            estimated,
            token,
            amount: Money::new(amount, currency),
            penalty: Money::new(penalty, currency),
        };
        let encoded = record.to_bytes();
        prop_assert_eq!(DeliveryCheck::decode_exact(&encoded).unwrap(), record);
        if let Ok((value, used)) = DeliveryCheck::decode(&bytes) {
            prop_assert_eq!(value.to_bytes(), &bytes[..used]);
        }
    }

    /// A deposit record (TE-02) and a binding record read back as they were written; arbitrary bytes decode canonically or not at all.
    #[test]
    fn deposit_records_round_trip(
        (avatar, sequence) in (avatar(), any::<u64>()),
        (currency, amount) in (strategies::currency(), 1..i64::MAX),
        bytes in proptest::collection::vec(any::<u8>(), 0..80),
    ) {
        use te_contract::wallet::Deposit;
        use te_contract::registry::Binding;
        let deposit = Deposit { avatar, amount: Money::new(amount, currency), sequence };
        prop_assert_eq!(Deposit::decode_exact(&deposit.to_bytes()).unwrap(), deposit);
        if let Ok((value, used)) = Deposit::decode(&bytes) {
            prop_assert_eq!(value.to_bytes(), &bytes[..used]);
        }
        let binding = Binding { avatar, name: format!("cell-{sequence}@idea"), sequence };
        prop_assert_eq!(Binding::decode_exact(&binding.to_bytes()).unwrap(), binding);
        if let Ok((value, used)) = Binding::decode(&bytes) {
            prop_assert_eq!(value.to_bytes(), &bytes[..used]);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_decode_canonically(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        macro_rules! each {
            ($($t:ty),+) => {$(
                if let Ok((value, used)) = Signed::<$t>::decode(&bytes) {
                    prop_assert_eq!(value.to_bytes(), &bytes[..used]);
                }
            )+};
        }
        each!(ChannelState, ChannelOpen, ChannelClose, Contract, Registration, KeyRotation, Revocation, te_contract::meter::MeterReading, DeliveryToken, te_contract::settlement::Dispute);
    }
}
