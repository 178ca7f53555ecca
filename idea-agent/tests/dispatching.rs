//! AG-04 as properties: over random sequences of commitments, bindings and releases, the book never holds
//! commitments beyond a limit in any interval; a refused commitment changes nothing and would not fit even
//! with every lower-priority tentative commitment gone; what gives way is only tentative and of lower
//! priority. And the bands a transaction makes, and Table 2.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use idea_agent::commitment::{Band, Commitment, CommitmentBook, Strength};
use idea_agent::{Error, OwnerSettings};
use idea_proto::*;
use proptest::prelude::*;

fn t0() -> Timestamp {
    "2026-12-02T00:00:00Z".parse().unwrap()
}

fn cell() -> PowerCell {
    common::settings("cell-1", |s| s).cell
}

#[derive(Debug, Clone)]
enum Op {
    Commit {
        priority: usize,
        side: Side,
        subject: Subject,
        first: u32,
        bands: Vec<(i64, i64, i64)>,
    },
    Bind(usize),
    Release(usize),
    Store(i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (
            0usize..4,
            prop_oneof![Just(Side::Seller), Just(Side::Buyer)],
            prop_oneof![Just(Subject::Energy), Just(Subject::Flexibility), Just(Subject::Power)],
            0u32..6,
            prop::collection::vec((0i64..9_000, 0i64..3_000, -3_000i64..3_000), 1..4),
        )
            .prop_map(|(priority, side, subject, first, bands)| Op::Commit {
                priority,
                side,
                subject,
                first,
                bands
            }),
        2 => (0usize..64).prop_map(Op::Bind),
        2 => (0usize..64).prop_map(Op::Release),
        1 => (0i64..12_000).prop_map(Op::Store),
    ]
}

fn commitment(
    n: u64,
    priority: usize,
    side: Side,
    subject: Subject,
    first: u32,
    bands: &[(i64, i64, i64)],
) -> Commitment {
    let sign = if side == Side::Seller { 1 } else { -1 };
    let start = t0()
        .checked_add(Duration::from_secs(900 * u64::from(first)))
        .unwrap();
    let bands: Vec<Band> = bands
        .iter()
        .map(|&(p, spread, q)| {
            let (lo, hi) = if subject == Subject::Flexibility {
                (0, p)
            } else {
                (p, p + spread * i64::from(subject == Subject::Power))
            };
            let (p_min, p_max) = if sign > 0 { (lo, hi) } else { (-hi, -lo) };
            Band {
                p_min,
                p_max,
                q_min: q.min(0),
                q_max: q.max(0),
            }
        })
        .collect();
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&n.to_be_bytes());
    Commitment {
        transaction: TransactionId::from_bytes(id),
        service: ServiceId::new(format!("service-{priority}")).unwrap(),
        subject,
        side,
        strength: Strength::Tentative,
        priority,
        window: DeliveryWindow::new(start, 900, u32::try_from(bands.len()).unwrap()).unwrap(),
        bands,
    }
}

/// The limits hold at every instant any commitment changes.
fn within_limits(book: &CommitmentBook) -> Result<(), String> {
    let limits = book.cell().limits;
    for c in book.commitments() {
        for (start, _) in c.intervals() {
            let t = book.totals(start);
            if t.p_max > limits.max_export.w()
                || -t.p_min > limits.max_import.w()
                || t.q_max > limits.max_export_q.var()
                || -t.q_min > limits.max_import_q.var()
            {
                return Err(format!("{start}: {t:?} beyond {limits:?}"));
            }
        }
    }
    if book.violations().is_empty() {
        Ok(())
    } else {
        Err(format!("{:?}", book.violations()))
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn commitments_never_exceed_a_limit_and_priorities_decide(ops in prop::collection::vec(op(), 1..40)) {
        let mut book = CommitmentBook::new(cell());
        book.set_stored_energy(5_000);
        let mut made: Vec<TransactionId> = Vec::new();
        for (n, op) in ops.into_iter().enumerate() {
            match op {
                Op::Commit { priority, side, subject, first, bands } => {
                    let c = commitment(n as u64, priority, side, subject, first, &bands);
                    let before = book.commitments().to_vec();
                    // The dry run answers as the commit does, and changes nothing.
                    let dry = book.would_commit(&c);
                    prop_assert_eq!(book.commitments(), &before[..]);
                    let committed = book.commit(c.clone());
                    prop_assert_eq!(dry.is_ok(), committed.is_ok(), "{:?} vs {:?}", dry, committed);
                    match committed {
                        Ok(done) => {
                            made.push(c.transaction);
                            for d in &done.displaced {
                                prop_assert_eq!(d.strength, Strength::Tentative);
                                prop_assert!(d.priority > priority, "{} gave way to {}", d.priority, priority);
                            }
                        }
                        Err(Error::BeyondLimit { .. }) => {
                            prop_assert_eq!(book.commitments(), &before[..], "a refusal changed the book");
                            // Without every lower-priority tentative commitment it still would not fit.
                            let mut rest: Vec<Commitment> = before
                                .iter()
                                .filter(|k| !(k.strength == Strength::Tentative && k.priority > priority))
                                .cloned()
                                .collect();
                            rest.push(c);
                            prop_assert!(book.check_set(&rest).is_err(), "room could have been made");
                        }
                        Err(Error::RoleNotAllowed { .. }) => {
                            prop_assert!(!PowerCellType::Prosumer.may_take(subject, side));
                            prop_assert_eq!(book.commitments(), &before[..]);
                        }
                        Err(e) => prop_assert!(false, "unexpected {e}"),
                    }
                }
                Op::Bind(i) => {
                    if let Some(id) = made.get(i % made.len().max(1)) {
                        let _ = book.bind(id);
                    }
                }
                Op::Release(i) => {
                    if !made.is_empty() {
                        let id = made.remove(i % made.len());
                        book.release(&id);
                    }
                }
                Op::Store(wh) => {
                    // A measurement may leave existing commitments short of storage: the book reports it
                    // rather than holding them silently, and new ones are checked against it.
                    book.set_stored_energy(wh);
                    continue;
                }
            }
            if book.violations().is_empty() {
                within_limits(&book).map_err(TestCaseError::fail)?;
            }
        }
    }
}

fn transaction(subject: Subject, profile: Profile, seller: &str, buyer: &str) -> EnergyTransaction {
    let eur = Currency::new("EUR", 2).unwrap();
    EnergyTransaction::new(TransactionSpec {
        id: TransactionId::from_bytes([3; 16]),
        service: ServiceId::new("p2p-market").unwrap(),
        subject,
        parties: Parties::PeerToPeer {
            seller: CellRef::new(CellId::new(seller).unwrap(), PowerCellType::Prosumer),
            // A passive consumer buys energy, power and flexibility (Table 2).
            buyer: CellRef::new(CellId::new(buyer).unwrap(), PowerCellType::PassiveConsumer),
        },
        terms: Terms::new(TermsSpec {
            window: DeliveryWindow::new(t0(), 900, 1).unwrap(),
            profile,
            price: EnergyPrice::new(10, eur),
            tolerance: ToleranceBand::default(),
            penalty: EnergyPrice::new(10, eur),
        })
        .unwrap(),
    })
    .unwrap()
}

#[test]
fn a_transaction_becomes_the_band_its_side_may_demand() {
    let energy = transaction(
        Subject::Energy,
        Profile::Energy(vec![Energy::from_wh(500)]),
        "cell-1",
        "cell-2",
    );
    let c = Commitment::of(&energy, &cell(), 0, Strength::Tentative).unwrap();
    assert_eq!(
        (c.side, c.bands[0].p_min, c.bands[0].p_max),
        (Side::Seller, 2_000, 2_000)
    );
    let level = PowerLevel::new(ActivePower::from_w(3_000), ReactivePower::from_var(1_000));
    let flexibility = transaction(
        Subject::Flexibility,
        Profile::Power(vec![level]),
        "cell-1",
        "cell-2",
    );
    let c = Commitment::of(&flexibility, &cell(), 0, Strength::Tentative).unwrap();
    // Flexibility sold: the cell may be called to export anything up to the level.
    assert_eq!(c.side, Side::Seller);
    assert_eq!(
        c.bands[0],
        Band {
            p_min: 0,
            p_max: 3_000,
            q_min: 0,
            q_max: 1_000
        }
    );
    let stranger = transaction(
        Subject::Energy,
        Profile::Energy(vec![Energy::from_wh(1)]),
        "cell-7",
        "cell-8",
    );
    assert!(Commitment::of(&stranger, &cell(), 0, Strength::Tentative).is_err());
}

#[test]
fn a_binding_commitment_never_gives_way_and_a_tentative_one_does() {
    let mut book = CommitmentBook::new(cell());
    book.set_stored_energy(10_000);
    let low = commitment(1, 3, Side::Seller, Subject::Energy, 0, &[(6_000, 0, 0)]);
    let high = commitment(2, 0, Side::Seller, Subject::Energy, 0, &[(5_000, 0, 0)]);
    book.commit(low.clone()).unwrap();
    let done = book.commit(high.clone()).unwrap();
    assert_eq!(done.displaced, std::slice::from_ref(&low));
    assert_eq!(book.commitments(), std::slice::from_ref(&high));

    let mut book = CommitmentBook::new(cell());
    book.set_stored_energy(10_000);
    book.commit(low.clone()).unwrap();
    book.bind(&low.transaction).unwrap();
    let err = book.commit(high).unwrap_err();
    assert_eq!(
        err.to_string(),
        "interval 2026-12-02T00:00:00Z: export (W) would be 11000 but the cell's limit is 8000"
    );
}

#[test]
fn selling_beyond_what_storage_and_forecast_hold_is_refused() {
    let mut book = CommitmentBook::new(cell());
    book.set_stored_energy(1_000);
    // 6 kW for two quarter hours is 3 kWh: the PV forecast gives 2 kW, so 2 kWh comes from storage.
    let c = commitment(
        1,
        0,
        Side::Seller,
        Subject::Energy,
        0,
        &[(6_000, 0, 0), (6_000, 0, 0)],
    );
    let err = book.commit(c.clone()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "interval 2026-12-02T00:00:00Z: energy drawn from storage (Wh) would be 1500 but the cell's limit is 1000"
    );
    book.set_supply_forecast(t0(), 2_000);
    book.set_supply_forecast(t0().checked_add(Duration::from_secs(900)).unwrap(), 2_000);
    book.set_stored_energy(2_000);
    book.commit(c).unwrap();
}

#[test]
fn table_2_is_kept_whatever_the_limits() {
    let consumer = OwnerSettings::from_toml(
        &common::PROSUMER
            .replace("cell_type = \"prosumer\"", "cell_type = \"passive-consumer\"")
            .replace("max_export_w = 8000", "max_export_w = 0")
            .replace(
                "[[cell.units]]\nid = \"pv\"\nkind = \"pv\"\npeak_w = 6000\ninverter_va = 6000\n\n[[cell.units]]\nid = \"battery\"\nkind = \"storage\"\ncapacity_wh = 10000\nmax_charge_w = 5000\nmax_discharge_w = 5000\n",
                "",
            )
            .replace("controllable = true", "controllable = false")
            .replace("[[comfort]]\nunit = \"heat-pump\"\nmin_w = 500\nmax_w = 3000\n", "")
            .replace("sell = [\"energy\", \"flexibility\"]", "sell = []"),
    )
    .unwrap();
    let mut book = CommitmentBook::new(consumer.cell);
    let c = commitment(1, 0, Side::Seller, Subject::Energy, 0, &[(0, 0, 0)]);
    assert!(matches!(
        book.commit(c),
        Err(Error::RoleNotAllowed {
            subject: Subject::Energy,
            side: Side::Seller,
            ..
        })
    ));
}
