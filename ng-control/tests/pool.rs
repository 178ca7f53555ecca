//! The transaction pool on the IEEE 33-bus feeder: flows, branch and cell-connection limits, nested cells and
//! deterministic, explained curtailment (NG-06, ARCH-08).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use idea_proto::{CellId, TransactionId};
use ng_control::Case;
use ng_control::pool::{CellSite, Limits, PoolTransaction, arbitrate};
use std::path::PathBuf;

fn feeder() -> Case {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/cases/case33bw.m");
    Case::from_matpower(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn cell(name: &str) -> CellId {
    CellId::new(name).unwrap()
}

fn site(name: &str, bus: u32, connection: Option<(usize, u32)>, max_import_w: f64) -> CellSite {
    CellSite {
        cell: cell(name),
        bus,
        connection,
        max_import_w,
        max_export_w: 1e9,
    }
}

fn sites() -> Vec<CellSite> {
    vec![
        site("pv-plant", 2, None, 1e9),
        site("shop", 3, None, 1e9),
        site("farm", 18, None, 1e9),
        // The district hangs from branch 6–26 (index 24 in the case) and holds buses 26–33.
        site("district", 26, Some((24, 26)), 1_000_000.0),
        // The house is nested in the district, behind branch 29–30 (index 28), which feeds buses 30–33.
        site("house", 30, Some((28, 30)), 700_000.0),
    ]
}

fn tx(n: u8, seller: Option<&str>, buyer: Option<&str>, power_w: f64) -> PoolTransaction {
    PoolTransaction {
        id: TransactionId::from_bytes([n; 16]),
        seller: seller.map(cell),
        buyer: buyer.map(cell),
        power_w,
    }
}

#[test]
fn the_case_indexes_match_the_sites() {
    let c = feeder();
    assert_eq!((c.branches[24].from, c.branches[24].to), (6, 26));
    assert_eq!((c.branches[28].from, c.branches[28].to), (29, 30));
    assert_eq!((c.branches[16].from, c.branches[16].to), (17, 18));
}

#[test]
fn a_feasible_pool_is_granted_in_full() {
    let pool = [
        tx(1, Some("pv-plant"), Some("shop"), 100_000.0),
        tx(2, Some("pv-plant"), Some("house"), 40_000.0),
    ];
    let r = arbitrate(&feeder(), &sites(), &pool, &Limits::default()).unwrap();
    assert!(
        r.allocations
            .iter()
            .all(|a| a.granted_w == a.requested_w && a.binding.is_none()),
        "{:?}",
        r.allocations
    );
}

#[test]
fn an_inner_cells_purchase_is_limited_by_its_enclosing_cells_connection() {
    let base = arbitrate(&feeder(), &sites(), &[], &Limits::default()).unwrap();
    let district_base = base
        .cell_flows
        .iter()
        .find(|f| f.cell == cell("district"))
        .unwrap()
        .import_w;
    assert!(
        district_base > 900_000.0 && district_base < 1_000_000.0,
        "{district_base}"
    );
    let pool = [tx(1, Some("pv-plant"), Some("house"), 150_000.0)];
    let r = arbitrate(&feeder(), &sites(), &pool, &Limits::default()).unwrap();
    let a = &r.allocations[0];
    assert!(a.granted_w < 150_000.0 && a.granted_w > 0.0, "{a:?}");
    assert!(
        a.binding
            .as_deref()
            .unwrap()
            .starts_with("cell district import"),
        "{a:?}"
    );
    let district = r
        .cell_flows
        .iter()
        .find(|f| f.cell == cell("district"))
        .unwrap()
        .import_w;
    assert!(
        district <= 1_000_000.0 && district > 999_000.0,
        "the district ends at its limit: {district}"
    );
    // The house itself stays within its own 700 kW.
    let house = r
        .cell_flows
        .iter()
        .find(|f| f.cell == cell("house"))
        .unwrap()
        .import_w;
    assert!(house < 700_000.0, "{house}");
}

#[test]
fn branch_ratings_bind_and_priority_decides() {
    let mut case = feeder();
    case.branches[16].rate_a_mva = 0.15; // 17–18 carries about 0.1 MVA before any transaction
    let pool = [
        tx(1, Some("pv-plant"), Some("farm"), 100_000.0),
        tx(2, Some("pv-plant"), Some("farm"), 100_000.0),
    ];
    let r = arbitrate(&case, &sites(), &pool, &Limits::default()).unwrap();
    let (first, second) = (&r.allocations[0], &r.allocations[1]);
    assert!(
        first.granted_w > 0.0 && first.granted_w < 100_000.0,
        "{first:?}"
    );
    assert!(
        first
            .binding
            .as_deref()
            .unwrap()
            .starts_with("branch 17–18 loading"),
        "{first:?}"
    );
    assert!(
        second.granted_w < 1.0,
        "the lower priority gets what is left: {second:?}"
    );
    let loading = r.flows.branches[16].loading.unwrap();
    assert!(loading <= 100.0 + 1e-6 && loading > 99.0, "{loading}");
    // Deterministic.
    assert_eq!(
        arbitrate(&case, &sites(), &pool, &Limits::default())
            .unwrap()
            .allocations,
        r.allocations
    );
}

#[test]
fn a_transaction_that_relieves_an_existing_violation_is_admitted() {
    let mut case = feeder();
    case.branches[16].rate_a_mva = 0.05; // already overloaded before any transaction
    // The farm sells 60 kW to the network (P2O): less flow on 17–18.
    let pool = [
        tx(1, Some("farm"), None, 60_000.0),
        tx(2, Some("pv-plant"), Some("farm"), 10_000.0),
    ];
    let r = arbitrate(&case, &sites(), &pool, &Limits::default()).unwrap();
    assert_eq!(r.base_violations.len(), 1, "{:?}", r.base_violations);
    assert_eq!(r.allocations[0].granted_w, 60_000.0);
    // Once relieved, the second is curtailed to the margin the first created and no further.
    assert!(r.allocations[1].granted_w <= 10_000.0);
}

#[test]
fn energy_transactions_convert_to_pool_power() {
    use idea_proto::*;
    let eur = Currency::new("EUR", 2).unwrap();
    let t = EnergyTransaction::new(TransactionSpec {
        id: TransactionId::from_bytes([7; 16]),
        service: ServiceId::new("p2p").unwrap(),
        subject: Subject::Energy,
        parties: Parties::PeerToPeer {
            seller: CellRef::new(cell("pv-plant"), PowerCellType::StochasticGenerator),
            buyer: CellRef::new(cell("house"), PowerCellType::ConsumerWithOwnGeneration),
        },
        terms: Terms::new(TermsSpec {
            window: DeliveryWindow::new("2026-11-24T10:00:00Z".parse().unwrap(), 900, 1).unwrap(),
            profile: Profile::Energy(vec![Energy::from_wh(25_000)]),
            price: EnergyPrice::new(10, eur),
            tolerance: ToleranceBand::default(),
            penalty: EnergyPrice::new(0, eur),
        })
        .unwrap(),
    })
    .unwrap();
    let p = PoolTransaction::from_transaction(&t, 0).unwrap();
    assert_eq!(p.power_w, 100_000.0, "25 kWh in 15 minutes");
    assert_eq!(
        (p.seller, p.buyer),
        (Some(cell("pv-plant")), Some(cell("house")))
    );
    assert!(PoolTransaction::from_transaction(&t, 1).is_err());
}

#[test]
fn unknown_cells_and_branches_are_errors() {
    let pool = [tx(1, Some("nobody"), None, 1.0)];
    assert!(arbitrate(&feeder(), &sites(), &pool, &Limits::default()).is_err());
    let bad = [site("x", 5, Some((999, 5)), 1.0)];
    assert!(arbitrate(&feeder(), &bad, &[], &Limits::default()).is_err());
}
