//! ARCH-08: the arbitrator of a section with nested cells (the IEEE 33-bus feeder; a house nested in a
//! district whose connection carries at most 1 MW) permits what fits, adjusts a transaction that collides with
//! one already permitted to what the district's connection still carries, and refuses one that no longer fits,
//! each time naming the binding limit.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation
)]

use idea_agent::{Arbitrator, Verdict};
use idea_proto::*;
use ng_control::Case;
use ng_control::pool::{CellSite, Limits, arbitrate};
use std::path::PathBuf;

fn feeder() -> Case {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ng-control/data/cases/case33bw.m");
    Case::from_matpower(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn sites() -> Vec<CellSite> {
    let site = |name: &str, bus, connection, max_import_w| CellSite {
        cell: CellId::new(name).unwrap(),
        bus,
        connection,
        max_import_w,
        max_export_w: 1e9,
    };
    vec![
        site("pv-plant", 2, None, 1e9),
        // The district hangs from branch 6–26 (index 24), the house is nested in it behind 29–30 (index 28).
        site("district", 26, Some((24, 26)), 1_000_000.0),
        site("house", 30, Some((28, 30)), 700_000.0),
    ]
}

fn purchase(n: u8, buyer: &str, power_w: i64) -> EnergyTransaction {
    let eur = Currency::new("EUR", 2).unwrap();
    EnergyTransaction::new(TransactionSpec {
        id: TransactionId::from_bytes([n; 16]),
        service: ServiceId::new("p2p-market").unwrap(),
        subject: Subject::Energy,
        parties: Parties::PeerToPeer {
            seller: CellRef::new(
                CellId::new("pv-plant").unwrap(),
                PowerCellType::StochasticGenerator,
            ),
            buyer: CellRef::new(CellId::new(buyer).unwrap(), PowerCellType::PassiveConsumer),
        },
        terms: Terms::new(TermsSpec {
            window: DeliveryWindow::new("2026-12-02T11:00:00Z".parse().unwrap(), 900, 2).unwrap(),
            profile: Profile::Energy(vec![Energy::from_wh(power_w / 4); 2]),
            price: EnergyPrice::new(20, eur),
            tolerance: ToleranceBand::default(),
            penalty: EnergyPrice::new(40, eur),
        })
        .unwrap(),
    })
    .unwrap()
}

#[test]
fn a_colliding_transaction_between_nested_cells_is_adjusted_then_refused() {
    // What the district's connection still carries with no transaction.
    let base = arbitrate(&feeder(), &sites(), &[], &Limits::default()).unwrap();
    let district = base
        .cell_flows
        .iter()
        .find(|f| f.cell.as_str() == "district")
        .unwrap()
        .import_w;
    let margin = 1_000_000.0 - district;
    assert!(margin > 10_000.0, "{margin}");
    let part = (margin * 0.6) as i64 / 4 * 4;

    let mut arbitrator = Arbitrator::new(feeder(), sites(), Limits::default());
    // The house buys 60 % of the margin: it fits.
    assert_eq!(
        arbitrator.ask(&purchase(1, "house", part)).unwrap(),
        Verdict::Permit
    );
    // The district buys another 60 %: its connection would pass 1 MW, so less is granted.
    match arbitrator.ask(&purchase(2, "district", part)).unwrap() {
        Verdict::Adjust {
            requested_w,
            granted_w,
            reason,
            ..
        } => {
            assert!((requested_w - part as f64).abs() < 1.0);
            assert!(
                granted_w > 0.0 && granted_w < requested_w * 0.8,
                "{granted_w}"
            );
            assert!(reason.starts_with("cell district import"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        arbitrator.permitted(),
        1,
        "an adjusted transaction is not kept"
    );
    // Taking what was granted fits; after it nothing more does.
    let rest = purchase(
        3,
        "district",
        ((margin - part as f64) * 0.95) as i64 / 4 * 4,
    );
    assert_eq!(arbitrator.ask(&rest).unwrap(), Verdict::Permit);
    match arbitrator.ask(&purchase(4, "house", part)).unwrap() {
        Verdict::Refuse { reason, .. } => {
            assert!(reason.contains("district"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    // Released, the room is back.
    assert!(arbitrator.release(&TransactionId::from_bytes([1; 16])));
    assert_eq!(
        arbitrator.ask(&purchase(5, "house", part / 2)).unwrap(),
        Verdict::Permit
    );
}
