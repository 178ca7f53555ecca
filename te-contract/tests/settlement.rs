//! Delivery verified against the contract: full settlement within the band, penalty and discrepancy outside
//! it, disputes by the deadline, each token and interval settled once.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use common::{OneMeter, World, eur, key, later, signed_token, t0, transaction};
use idea_proto::{
    CellId, CellRef, Duration, EnergyTransaction, Money, Parties, PowerCellType, PublicKey, Side,
    Timestamp, UserId,
};
use te_contract::channel::Party;
use te_contract::contract::Contract;
use te_contract::meter::DeliveryToken;
use te_contract::settlement::{Dispute, SettlementBook, discrepancy_id, verify_delivery};
use te_contract::wallet::Wallets;
use te_contract::{AvatarId, Codec, DeploymentId, Error, Signed};

/// Contract 1: 4 × 500 Wh at 12 c/kWh, tolerance max(5 %, 10 Wh) = 25 Wh, penalty 30 c/kWh.
fn contract(w: &World) -> Contract {
    Contract {
        transaction: transaction(1),
        seller: w.ids[0],
        buyer: w.ids[1],
        agreed_at: t0(),
    }
}

/// The seller's delivery-point meter (the id the tokens carry, key seed 99), bound to its cell.
fn pv_meter() -> OneMeter {
    OneMeter(
        AvatarId::from_bytes([99; 16]),
        CellId::new("pv-farm").unwrap(),
        PublicKey::from(&key(99)),
    )
}

fn deployment() -> DeploymentId {
    DeploymentId::new("idea-test").unwrap()
}

/// The pv meter's token for `interval`, signed by the meter.
fn token(interval: u32, export_wh: i64) -> Signed<DeliveryToken> {
    sign(body(interval, export_wh))
}

/// The pv meter's token for `interval`, not signed.
fn body(interval: u32, export_wh: i64) -> DeliveryToken {
    body_of(AvatarId::from_bytes([99; 16]), interval, 0, export_wh)
}

/// Signed with the pv meter's key, whoever's it claims to be.
fn sign(token: DeliveryToken) -> Signed<DeliveryToken> {
    signed_token(&deployment(), token, &key(99))
}

fn body_of(meter: AvatarId, interval: u32, import_wh: i64, export_wh: i64) -> DeliveryToken {
    DeliveryToken::new(
        meter,
        later(15 * u64::from(interval)),
        900,
        import_wh,
        export_wh,
        false,
    )
    .unwrap()
}

/// `verify_delivery` in the tests' deployment, a minute after the first interval.
fn verify(
    c: &Contract,
    interval: u32,
    token: &Signed<DeliveryToken>,
    meters: &impl te_contract::settlement::MeterBindings,
) -> te_contract::Result<te_contract::settlement::DeliveryCheck> {
    verify_delivery(c, interval, token, meters, &deployment(), later(16))
}

fn wallets(w: &World) -> Wallets {
    let mut wallets = Wallets::new();
    for id in &w.ids {
        wallets.deposit(*id, Money::new(10_000, eur())).unwrap();
    }
    wallets
}

#[test]
fn within_the_band_the_contracted_quantity_is_paid_in_full() {
    let w = World::new("idea-test", 2);
    let c = contract(&w);
    for delivered in [475, 500, 525] {
        let check = verify(&c, 0, &token(0, delivered), &pv_meter()).unwrap();
        assert_eq!(
            check.amount,
            Money::new(6, eur()),
            "500 Wh at 12 c/kWh, delivered {delivered}"
        );
        assert!(!check.is_discrepancy());
    }
}

#[test]
fn outside_the_band_the_penalty_applies_and_a_discrepancy_is_recorded() {
    let w = World::new("idea-test", 2);
    let c = contract(&w);
    // 300 Wh delivered: 200 short, 175 beyond the band: pay 3.6 c for 300 Wh, owe 5.25 c penalty.
    let check = verify(&c, 1, &token(1, 300), &pv_meter()).unwrap();
    assert_eq!(
        check.penalty,
        Money::new(5, eur()),
        "5.25 c rounded half to even"
    );
    assert_eq!(
        check.amount,
        Money::new(4 - 5, eur()),
        "3.6 → 4 c, less the penalty"
    );
    let mut book = SettlementBook::new(w.deployment.clone(), Duration::from_mins(48 * 60));
    let mut wallets = wallets(&w);
    book.settle_to_wallets(&c, 1, &token(1, 300), &pv_meter(), &mut wallets, later(30))
        .unwrap();
    assert_eq!(
        wallets.balance(&w.ids[0], eur()).minor_units,
        9_999,
        "the seller paid"
    );
    let d = book.discrepancy(&discrepancy_id(&c.id(), 1)).unwrap();
    assert_eq!(
        (
            d.check.contracted_wh,
            d.check.delivered_wh,
            d.check.allowance_wh
        ),
        (500, 300, 25)
    );
    assert_eq!(d.check.token, token(1, 300), "the evidence is kept");
    assert_eq!(d.dispute_by, later(30 + 48 * 60));
    // Over-delivery beyond the band is paid at the contracted quantity, less the penalty.
    let over = verify(&c, 2, &token(2, 800), &pv_meter()).unwrap();
    assert_eq!(
        over.amount,
        Money::new(6 - 8, eur()),
        "6 c, less 275 Wh × 30 c/kWh = 8.25 c"
    );
}

#[test]
fn a_token_or_an_interval_settles_once() {
    let w = World::new("idea-test", 2);
    let c = contract(&w);
    let mut book = SettlementBook::new(w.deployment.clone(), Duration::from_mins(60));
    let mut wallets = wallets(&w);
    book.settle_to_wallets(&c, 0, &token(0, 500), &pv_meter(), &mut wallets, later(15))
        .unwrap();
    let again = book
        .settle_to_wallets(&c, 0, &token(0, 500), &pv_meter(), &mut wallets, later(16))
        .unwrap_err();
    assert!(
        matches!(
            again,
            Error::Duplicate {
                what: "meter token",
                ..
            }
        ),
        "{again}"
    );
    let mut fresh = body(0, 500);
    fresh.id = [77; 16];
    let fresh_token = sign(fresh);
    let again = book
        .settle_to_wallets(&c, 0, &fresh_token, &pv_meter(), &mut wallets, later(16))
        .unwrap_err();
    assert!(
        matches!(
            again,
            Error::Duplicate {
                what: "settled interval",
                ..
            }
        ),
        "{again}"
    );
    // A token of the wrong interval is refused.
    assert!(
        book.settle_to_wallets(&c, 1, &token(2, 500), &pv_meter(), &mut wallets, later(16))
            .is_err()
    );
    assert_eq!(wallets.balance(&w.ids[0], eur()).minor_units, 10_006);
}

#[test]
fn a_short_wallet_settles_nothing_until_funded() {
    let w = World::new("idea-test", 2);
    let c = contract(&w);
    let mut book = SettlementBook::new(w.deployment.clone(), Duration::from_mins(60));
    let mut wallets = Wallets::new();
    assert!(matches!(
        book.settle_to_wallets(&c, 0, &token(0, 500), &pv_meter(), &mut wallets, later(15)),
        Err(Error::InsufficientFunds { .. })
    ));
    wallets.deposit(w.ids[1], Money::new(6, eur())).unwrap();
    book.settle_to_wallets(&c, 0, &token(0, 500), &pv_meter(), &mut wallets, later(16))
        .unwrap();
}

#[test]
fn only_the_delivery_points_meter_settles_a_contract() {
    let mut w = World::new("idea-test", 2);
    let c = contract(&w);
    let pv = AvatarId::from_bytes([99; 16]);
    let house = AvatarId::from_bytes([98; 16]);
    w.register_meter(pv, "pv-farm", &common::key(99));
    w.register_meter(house, "house-7", &common::key(98));
    let mut book = SettlementBook::new(w.deployment.clone(), Duration::from_mins(60));
    let mut wallets = wallets(&w);
    let before = wallets.clone();
    // The buyer's meter, an agent's avatar and an unknown id are refused, and nothing moves.
    for (meter, k) in [
        (house, key(98)),
        (w.ids[0], w.keys[0].clone()),
        (AvatarId::from_bytes([97; 16]), key(97)),
    ] {
        let foreign = signed_token(&deployment(), body_of(meter, 0, 0, 500), &k);
        let refused = book
            .settle_to_wallets(&c, 0, &foreign, &w.registry, &mut wallets, later(15))
            .unwrap_err();
        assert!(
            matches!(refused, Error::Invalid { field: "token", .. }),
            "{meter}: {refused}"
        );
        assert!(verify(&c, 0, &foreign, &w.registry).is_err());
    }
    assert_eq!(wallets, before);
    // The seller's meter, bound to the seller's cell in the registry, settles it.
    let check = book
        .settle_to_wallets(&c, 0, &token(0, 500), &w.registry, &mut wallets, later(15))
        .unwrap();
    assert_eq!(check.amount, Money::new(6, eur()));
}

#[test]
fn when_the_cell_buys_from_an_operator_its_import_is_the_delivery() {
    let w = World::new("idea-test", 2);
    let mut spec = (*transaction(4)).clone();
    spec.parties = Parties::PeerToOperator {
        cell: CellRef::new(
            CellId::new("pv-farm").unwrap(),
            PowerCellType::PassiveConsumer,
        ),
        cell_side: Side::Buyer,
        operator: UserId::new("dso-operator").unwrap(),
    };
    let c = Contract {
        transaction: EnergyTransaction::new(spec).unwrap(),
        seller: w.ids[1],
        buyer: w.ids[0],
        agreed_at: t0(),
    };
    let imported = sign(body_of(AvatarId::from_bytes([99; 16]), 0, 500, 0));
    let check = verify(&c, 0, &imported, &pv_meter()).unwrap();
    assert_eq!((check.delivered_wh, check.is_discrepancy()), (500, false));
    // Export is not what the operator delivered into the cell.
    let exported = verify(&c, 0, &token(0, 500), &pv_meter()).unwrap();
    assert_eq!(
        (exported.delivered_wh, exported.is_discrepancy()),
        (0, true)
    );
}

#[test]
fn settling_into_a_channel_makes_a_debt_on_the_meter_token() {
    let w = World::new("idea-test", 2);
    let c = contract(&w);
    let (open, _, _) = w.channel(3, 1, 0, 10_000);
    let mut book = SettlementBook::new(w.deployment.clone(), Duration::from_mins(60));
    let (check, debt) = book
        .settle_to_channel(&c, 0, &token(0, 510), &pv_meter(), open.body(), later(15))
        .unwrap();
    let debt = debt.unwrap();
    assert_eq!(
        (debt.debtor, debt.amount),
        (Party::A, 6),
        "the buyer is side A of this channel"
    );
    assert_eq!(debt.token, Some(check.token.body().id));
    let (_, penalty_debt) = book
        .settle_to_channel(&c, 1, &token(1, 0), &pv_meter(), open.body(), later(30))
        .unwrap();
    assert_eq!(
        penalty_debt.unwrap().debtor,
        Party::B,
        "the seller owes the penalty"
    );
}

fn dispute(
    w: &World,
    by: usize,
    discrepancy: te_contract::DebtId,
    minutes: u64,
) -> Signed<Dispute> {
    let mut d = Signed::new(
        w.deployment.clone(),
        Dispute {
            discrepancy,
            by: w.ids[by],
            reason: "the meter was replaced at 10:20; its register restarted".into(),
            filed_at: later(minutes),
        },
    );
    d.sign(w.ids[by], 0, &w.keys[by]).unwrap();
    d
}

#[test]
fn a_discrepancy_is_disputed_by_a_party_before_the_deadline_and_resolved_on_the_record() {
    let w = World::new("idea-test", 3);
    let c = contract(&w);
    let mut book = SettlementBook::new(w.deployment.clone(), Duration::from_mins(60));
    let mut wallets = wallets(&w);
    book.settle_to_wallets(&c, 1, &token(1, 300), &pv_meter(), &mut wallets, later(30))
        .unwrap();
    let id = discrepancy_id(&c.id(), 1);
    // Not a party; too late; then the seller in time, once.
    assert!(
        book.file_dispute(dispute(&w, 2, id, 40), &c, &w.registry, later(40))
            .is_err()
    );
    assert!(
        book.file_dispute(dispute(&w, 0, id, 91), &c, &w.registry, later(91))
            .is_err()
    );
    book.file_dispute(dispute(&w, 0, id, 45), &c, &w.registry, later(45))
        .unwrap();
    assert!(matches!(
        book.file_dispute(dispute(&w, 1, id, 46), &c, &w.registry, later(46)),
        Err(Error::Duplicate {
            what: "dispute",
            ..
        })
    ));
    // Upheld: 500 Wh were delivered after all; the seller gets 6 c, and back the 1 c it paid.
    let resolution = book
        .resolve(
            &id,
            &c,
            500,
            "register restart confirmed by the DSO",
            &mut wallets,
            later(120),
        )
        .unwrap();
    assert_eq!(resolution.adjustment, Money::new(7, eur()));
    assert_eq!(wallets.balance(&w.ids[0], eur()).minor_units, 10_006);
    let record = book.discrepancy(&id).unwrap();
    assert_eq!(
        record.check.delivered_wh, 300,
        "the original evidence stays"
    );
    assert_eq!(
        record
            .dispute
            .as_ref()
            .unwrap()
            .outcome
            .as_ref()
            .unwrap()
            .delivered_wh,
        500
    );
    assert!(
        book.resolve(&id, &c, 500, "again", &mut wallets, later(121))
            .is_err()
    );
}

/// The unbound tokens: the same meter and interval under a fresh id, and a token with negative
/// energy, are refused before anything settles; the same interval cannot settle a second contract.
#[test]
fn a_token_must_be_bound_to_its_meter_and_interval_and_carry_no_negative_energy() {
    let w = World::new("idea-test", 2);
    let c = contract(&w);
    let mut book = SettlementBook::new(w.deployment.clone(), Duration::from_mins(60));
    let mut wallets = wallets(&w);
    let before = wallets.clone();
    let fresh_id = sign(DeliveryToken {
        id: [0x55; 16],
        ..body(0, 500)
    });
    let refused = book
        .settle_to_wallets(&c, 0, &fresh_id, &pv_meter(), &mut wallets, later(15))
        .unwrap_err();
    assert!(
        matches!(&refused, Error::Invalid { field: "token", reason } if reason.contains("not derived")),
        "{refused}"
    );
    let negative = sign(DeliveryToken {
        export_wh: -500,
        ..body(0, 0)
    });
    let refused = verify(&c, 0, &negative, &pv_meter()).unwrap_err();
    assert!(
        matches!(&refused, Error::Invalid { field: "token", reason } if reason.contains("negative")),
        "{refused}"
    );
    assert!(
        DeliveryToken::new(AvatarId::from_bytes([99; 16]), later(0), 900, 0, -1, false).is_err()
    );
    assert_eq!(wallets, before);
    // Decoding refuses a token whose id was changed.
    let mut bytes = body(0, 500).to_bytes();
    bytes[0] ^= 1;
    assert!(matches!(
        DeliveryToken::decode(&bytes),
        Err(Error::Decode {
            field: "token.id",
            ..
        })
    ));
    // The real token settles once; the same interval under any id does not settle again.
    book.settle_to_wallets(&c, 0, &token(0, 500), &pv_meter(), &mut wallets, later(15))
        .unwrap();
    assert!(
        book.settle_to_wallets(&c, 0, &fresh_id, &pv_meter(), &mut wallets, later(16))
            .is_err()
    );
}

/// The unsigned tokens: only a token the delivery point's meter signed, for this deployment, settles —
/// not one nobody signed, one signed by a party with the meter's id on it, one whose figure was changed after
/// the meter signed, or one signed for another deployment. Nothing moves on any of them.
#[test]
fn only_a_token_the_meter_signed_settles() {
    let w = World::new("idea-test", 2);
    let c = contract(&w);
    let mut book = SettlementBook::new(w.deployment.clone(), Duration::from_mins(60));
    let mut wallets = wallets(&w);
    let before = wallets.clone();
    let meter = AvatarId::from_bytes([99; 16]);

    let unsigned = Signed::new(deployment(), body(0, 500));
    let refused = book
        .settle_to_wallets(&c, 0, &unsigned, &pv_meter(), &mut wallets, later(15))
        .unwrap_err();
    assert!(
        matches!(&refused, Error::WrongSigners { kind: te_contract::MessageKind::DeliveryToken, found, .. } if found.is_empty()),
        "{refused}"
    );

    // The seller's agent signs a token in the meter's name with its own key.
    let forged = signed_token(&deployment(), body(0, 500), &w.keys[0]);
    let refused = book
        .settle_to_wallets(&c, 0, &forged, &pv_meter(), &mut wallets, later(15))
        .unwrap_err();
    assert!(
        matches!(&refused, Error::BadSignature { signer, .. } if *signer == meter),
        "{refused}"
    );

    // The meter signed 300 Wh; the bytes are changed to say 500.
    let mut bytes = token(0, 300).to_bytes();
    let body_300 = body(0, 300).to_bytes();
    let at = bytes
        .windows(body_300.len())
        .position(|window| window == body_300.as_slice())
        .unwrap();
    let mut body_500 = body(0, 500).to_bytes();
    assert_eq!(body_500.len(), body_300.len());
    bytes[at..at + body_500.len()].swap_with_slice(&mut body_500);
    let inflated = Signed::<DeliveryToken>::decode_exact(&bytes).unwrap();
    assert_eq!(inflated.body().export_wh, 500);
    let refused = book
        .settle_to_wallets(&c, 0, &inflated, &pv_meter(), &mut wallets, later(15))
        .unwrap_err();
    assert!(
        matches!(&refused, Error::BadSignature { signer, .. } if *signer == meter),
        "{refused}"
    );

    let elsewhere = signed_token(
        &DeploymentId::new("other-grid").unwrap(),
        body(0, 500),
        &key(99),
    );
    let refused = book
        .settle_to_wallets(&c, 0, &elsewhere, &pv_meter(), &mut wallets, later(15))
        .unwrap_err();
    assert!(
        matches!(
            &refused,
            Error::WrongDomain {
                field: "deployment",
                ..
            }
        ),
        "{refused}"
    );
    assert_eq!(wallets, before, "nothing moved");
    assert!(book.discrepancies().next().is_none());

    // The meter's own signature settles it, once.
    let check = book
        .settle_to_wallets(&c, 0, &token(0, 500), &pv_meter(), &mut wallets, later(15))
        .unwrap();
    assert_eq!(check.token.signatures()[0].signer, meter);
}

/// Against the registry: the token's signature must be under a key of the meter's that exists and is valid
/// when the interval is settled.
#[test]
fn a_token_settles_under_a_registered_key_valid_at_settlement() {
    let mut w = World::new("idea-test", 2);
    let c = contract(&w);
    let pv = AvatarId::from_bytes([99; 16]);
    w.register_meter(pv, "pv-farm", &key(99));
    let check = verify_delivery(&c, 0, &token(0, 500), &w.registry, &deployment(), later(16));
    assert!(check.is_ok(), "{check:?}");
    let mut claimed = Signed::new(deployment(), body(0, 500));
    claimed.sign(pv, 1, &key(99)).unwrap();
    let refused =
        verify_delivery(&c, 0, &claimed, &w.registry, &deployment(), later(16)).unwrap_err();
    assert!(
        matches!(&refused, Error::KeyNotValid { avatar, version: 1, reason: "no such key" } if *avatar == pv),
        "{refused}"
    );
    let before_registration: Timestamp = t0().checked_sub(Duration::from_mins(1)).unwrap();
    let refused = verify_delivery(
        &c,
        0,
        &token(0, 500),
        &w.registry,
        &deployment(),
        before_registration,
    )
    .unwrap_err();
    assert!(
        matches!(
            &refused,
            Error::KeyNotValid {
                reason: "not yet added",
                ..
            }
        ),
        "{refused}"
    );
}

/// TE-08: an interval settled into the clearing pool is an obligation of the payer, due at the period end
/// and paid there; a penalty that outweighs the payment makes the seller the payer; nothing moves before the
/// run, and the interval still settles once.
#[test]
fn settling_into_the_pool_makes_an_obligation_paid_at_the_next_clearing() {
    use te_contract::clearing::{Pool, Source};
    use te_contract::settlement::settlement_debt_id;
    let w = World::new("idea-test", 2);
    let c = contract(&w);
    let (seller, buyer) = (w.ids[0], w.ids[1]);
    let mut book = SettlementBook::new(w.deployment.clone(), Duration::from_mins(60));
    let mut pool = Pool::new(Duration::from_mins(15), later(15)).unwrap();
    let mut wallets = wallets(&w);
    let before = wallets.clone();
    let (check, owed) = book
        .settle_to_pool(&c, 0, &token(0, 500), &pv_meter(), &mut pool, later(16))
        .unwrap();
    let owed = owed.unwrap();
    assert_eq!(
        (owed.from, owed.to, owed.amount),
        (buyer, seller, check.amount)
    );
    assert_eq!(
        owed.source,
        Source::Transfer(settlement_debt_id(&c.id(), 0))
    );
    let (_, penalty) = book
        .settle_to_pool(&c, 1, &token(1, 0), &pv_meter(), &mut pool, later(17))
        .unwrap();
    let penalty = penalty.unwrap();
    assert_eq!(
        (penalty.from, penalty.to),
        (seller, buyer),
        "the seller owes the penalty"
    );
    assert!(matches!(
        book.settle_to_pool(&c, 0, &token(0, 500), &pv_meter(), &mut pool, later(18)),
        Err(Error::Duplicate {
            what: "meter token",
            ..
        })
    ));
    assert_eq!(pool.len(), 2);
    assert_eq!(
        wallets.balance(&seller, eur()),
        before.balance(&seller, eur())
    );
    assert!(
        pool.handle_timeout(&mut wallets, later(29))
            .unwrap()
            .is_none()
    );
    let report = pool
        .handle_timeout(&mut wallets, later(30))
        .unwrap()
        .unwrap();
    assert_eq!(report.settled.len(), 2);
    let net = check.amount.minor_units - penalty.amount.minor_units;
    assert_eq!(
        wallets.balance(&seller, eur()).minor_units,
        before.balance(&seller, eur()).minor_units + net
    );
    assert!(pool.is_empty());
}

/// TE-04: the counted energy is shared in proportion to what each contract at the point contracted, rounded
/// by largest remainder so the shares add up to exactly what was counted; with nothing contracted, evenly.
#[test]
fn a_counted_interval_is_allocated_in_proportion_and_adds_up() {
    use te_contract::settlement::allocate;
    assert_eq!(allocate(750, &[500, 300]), [469, 281]);
    assert_eq!(allocate(800, &[500, 300]), [500, 300]);
    assert_eq!(allocate(10, &[1, 1, 1]), [4, 3, 3], "ties to the earlier");
    assert_eq!(allocate(7, &[0, 0]), [4, 3], "nothing contracted: evenly");
    assert_eq!(
        allocate(-5, &[100, 100]),
        [0, 0],
        "a negative count allocates nothing"
    );
    assert!(allocate(100, &[]).is_empty());
    for (counted, contracted) in [
        (1_234, vec![7, 13, 17]),
        (1, vec![5, 5]),
        (999_999, vec![3; 7]),
    ] {
        let shares = allocate(counted, &contracted);
        assert_eq!(shares.iter().sum::<i64>(), counted, "{contracted:?}");
    }
}

/// Two contracts deliver at the pv meter in the same interval: one token settles both, each on its share;
/// a third share beyond what the token counted is refused, and each (contract, interval) still settles once.
#[test]
fn one_token_settles_every_contract_at_its_point_on_its_share() {
    use te_contract::clearing::Pool;
    let w = World::new("idea-test", 2);
    let first = contract(&w);
    let second = Contract {
        transaction: transaction(2),
        ..contract(&w)
    };
    let mut book = SettlementBook::new(w.deployment.clone(), Duration::from_mins(60));
    let mut pool = Pool::new(Duration::from_mins(15), later(15)).unwrap();
    // 500 Wh contracted twice, 800 counted: 400 each, 20 % short, beyond the 25 Wh band.
    let counted = token(0, 800);
    let shares = te_contract::settlement::allocate(800, &[500, 500]);
    let mut checks = Vec::new();
    for (c, share) in [(&first, shares[0]), (&second, shares[1])] {
        let (check, _) = book
            .settle_share_to_pool(c, 0, &counted, share, &pv_meter(), &mut pool, later(16))
            .unwrap();
        checks.push(check);
    }
    assert_eq!(checks[0].delivered_wh + checks[1].delivered_wh, 800);
    assert!(
        checks.iter().all(|c| c.is_discrepancy()),
        "each 100 Wh short"
    );
    let third = Contract {
        transaction: transaction(3),
        ..contract(&w)
    };
    match book.settle_share_to_pool(&third, 0, &counted, 1, &pv_meter(), &mut pool, later(16)) {
        Err(Error::Invalid { field, .. }) => assert_eq!(field, "share"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        book.settle_share_to_pool(&first, 0, &counted, 0, &pv_meter(), &mut pool, later(17)),
        Err(Error::Duplicate {
            what: "settled interval",
            ..
        })
    ));
    // A ledger replaying both takes them back; a third record on the same token beyond it is refused.
    let mut rebuilt = SettlementBook::new(w.deployment.clone(), Duration::from_mins(60));
    for c in &checks {
        rebuilt.restore(c.clone(), later(16)).unwrap();
    }
    let mut beyond = checks[0].clone();
    beyond.contract = third.id();
    assert!(matches!(
        rebuilt.restore(beyond, later(16)),
        Err(Error::Duplicate {
            what: "meter token",
            ..
        })
    ));
}
