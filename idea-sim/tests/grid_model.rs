//! The microgrid model on its own: the built-in topology runs, islands form, energy balances.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::float_cmp)]

use idea_proto::Timestamp;
use idea_sim::grid::{Former, Microgrid, Topology};

fn noon() -> Timestamp {
    // 2026-06-21 12:00 UTC.
    Timestamp::from_unix_secs(1_782_043_200).unwrap()
}

#[test]
fn the_demo_topology_runs_and_the_network_balances_it() {
    let mut grid =
        Microgrid::new(&Topology::builtin("demo-microgrid").unwrap(), 1, noon()).unwrap();
    // The router supplies the common bus in NG-R1: ask it for what the cells draw.
    for _ in 0..50 {
        grid.step().unwrap();
    }
    let islands: Vec<Former> = grid.islands.iter().map(|i| i.former).collect();
    assert!(islands.contains(&Former::Grid), "{islands:?}");
    // The AC cells form one island with the common bus, formed by a hub (the router is a converter).
    let cell1 = grid.buses.iter().position(|b| b.name == "cell1").unwrap();
    assert!(grid.bus_live(cell1));
    assert!((grid.bus_frequency_hz(cell1) - 50.0).abs() < 0.5);
    // The DC mesh is formed by its hub at about 48 V.
    let dc3 = grid.buses.iter().position(|b| b.name == "dc3").unwrap();
    assert!(
        (grid.bus_volts(dc3) - 48.0).abs() < 2.0,
        "{}",
        grid.bus_volts(dc3)
    );
}

#[test]
fn the_same_seed_gives_the_same_run() {
    let topology = Topology::builtin("demo-microgrid").unwrap();
    let run = |seed| {
        let mut grid = Microgrid::new(&topology, seed, noon()).unwrap();
        for _ in 0..30 {
            grid.step().unwrap();
        }
        grid.meters.iter().map(|m| m.import_wh).collect::<Vec<_>>()
    };
    assert_eq!(run(3), run(3));
    assert_ne!(run(3), run(4), "clouds differ by seed");
}

#[test]
fn a_topology_naming_an_unknown_bus_is_refused_with_the_key() {
    let text = r#"
name = "bad"
[[bus]]
name = "a"
kv = 0.4
[[load]]
name = "l"
bus = "b"
kw = 1.0
"#;
    let e = Topology::from_toml(text).unwrap_err();
    assert!(
        matches!(&e, idea_sim::Error::Topology { field, reason } if field == "load \"l\".bus" && reason.contains("\"b\"")),
        "{e}"
    );
}

/// A load beyond what the island's hub can give: the frequency falls until the island's frequency protection
/// trips it; it stays dark (the load unserved) until restarted, and a smaller load then holds.
#[test]
fn an_island_its_hubs_cannot_hold_trips_on_frequency_and_stays_dark() {
    let text = r#"
name = "overloaded island"
step_ms = 100
[[bus]]
name = "mg"
kv = 0.4
[[hub]]
name = "hub"
bus = "mg"
kw = 5.0
kwh = 20.0
[[load]]
name = "load"
bus = "mg"
kw = 4.0
"#;
    let mut grid = Microgrid::new(&Topology::from_toml(text).unwrap(), 1, noon()).unwrap();
    for _ in 0..100 {
        grid.step().unwrap();
    }
    assert!((grid.bus_frequency_hz(0) - 50.0).abs() < 0.01);
    grid.step_load("load", 3000.0).unwrap();
    for _ in 0..300 {
        grid.step().unwrap();
    }
    assert!(grid.islands[0].tripped);
    assert_eq!(grid.islands[0].former, Former::None);
    assert_eq!(grid.bus_frequency_hz(0), 0.0);
    assert_eq!(grid.loads[0].p_w, 0.0, "the load is not served");
    let trip = grid
        .events()
        .find(|e| e.what.contains("frequency protection"))
        .unwrap();
    assert!(
        trip.what.contains("47.") || trip.what.contains("-"),
        "{}",
        trip.what
    );
    assert!(
        trip.at_s > 10.0 && trip.at_s < 12.0,
        "the hub held for inertia's sake only: {}",
        trip.at_s
    );
    // Restarted with the load back within the hub's rating, the island holds at 50 Hz.
    grid.step_load("load", -3000.0).unwrap();
    grid.restart_island(0);
    for _ in 0..600 {
        grid.step().unwrap();
    }
    assert!(!grid.islands[0].tripped);
    assert!((grid.bus_frequency_hz(0) - 50.0).abs() < 0.01);
}
