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
    // The AC cells form one island with the common bus. At a June noon their PV exports, which NG-R1 does
    // not let the router carry: it says so and the hubs hold the island.
    let cell1 = grid.buses.iter().position(|b| b.name == "cell1").unwrap();
    assert!(grid.bus_live(cell1));
    assert!(matches!(
        grid.islands[grid.buses[cell1].island].former,
        Former::Hub(_)
    ));
    assert!(grid.events().any(|e| e.what.contains("cannot hold island")));
    assert!((grid.bus_frequency_hz(cell1) - 50.0).abs() < 0.5);
    // The DC mesh is formed by its hub at about 48 V.
    let dc3 = grid.buses.iter().position(|b| b.name == "dc3").unwrap();
    assert!(
        (grid.bus_volts(dc3) - 48.0).abs() < 2.0,
        "{}",
        grid.bus_volts(dc3)
    );
}

/// The router bench: each microgrid held by its own hub, the router's microgrid ports following their
/// setpoints, so the modes decide where a microgrid's surplus goes (NG-R3 exports it, NG-R2 keeps it out of the
/// network, NG-R4 holds the export to the network port's limit).
#[test]
fn the_router_bench_follows_setpoints_and_its_modes_direct_the_surplus() {
    let mut grid = Microgrid::new(&Topology::builtin("router-bench").unwrap(), 1, noon()).unwrap();
    let flows = |grid: &mut Microgrid, mode: u8, network_limit_w: f64| {
        let r = grid.router_mut("router").unwrap();
        r.mode = mode;
        r.setpoint_w = vec![0.0, -4_000.0, 2_000.0];
        r.limit_out_w[0] = network_limit_w;
        r.limit_in_w[0] = network_limit_w;
        r.grid_export_limit_w = network_limit_w;
        for _ in 0..5 {
            grid.step().unwrap();
        }
        grid.router_mut("router").unwrap().p_w.clone()
    };
    for bus in ["mg1", "mg2"] {
        let k = grid.buses.iter().position(|b| b.name == bus).unwrap();
        assert!(grid.bus_live(k), "{bus}");
        assert!(
            matches!(grid.islands[grid.buses[k].island].former, Former::Hub(_)),
            "{bus}"
        );
    }
    // NG-R3: 4 kW in, 2 kW out, the rest (less two conversions) into the network.
    let p = flows(&mut grid, 3, 25_000.0);
    assert_eq!((p[1], p[2]), (-4_000.0, 2_000.0));
    assert!(
        (p[0] - (0.98f64.powi(2) * 4_000.0 - 2_000.0)).abs() < 1.0,
        "{p:?}"
    );
    // NG-R2: the source gives only what the sink takes; the network supplies the losses.
    let p = flows(&mut grid, 2, 25_000.0);
    assert!(p[0] <= 0.0 && p[1] < -1_000.0 && p[2] == 2_000.0, "{p:?}");
    // NG-R4 with 900 W: the export stays within it.
    let p = flows(&mut grid, 4, 900.0);
    assert!(p[0] > 0.0 && p[0] <= 900.0 && p[1] < -2_000.0, "{p:?}");
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
    // Tripped on the way down, just past the 2.5 Hz stage.
    let hz: f64 = trip
        .what
        .split("tripped at ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(hz < 47.5 && hz > 47.0, "{}", trip.what);
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

/// The demonstration router holds the common bus from the network in NG-R1: the network carries the cells'
/// load plus the conversion losses, the hubs stay at their setpoints; when its limit is below what the cells
/// need, it says so and the hubs take the island over.
#[test]
fn the_router_forms_the_common_bus_from_the_network_until_its_limit() {
    // 2026-06-21 00:00 UTC: night, no PV.
    let midnight = Timestamp::from_unix_secs(1_781_995_200).unwrap();
    let mut grid =
        Microgrid::new(&Topology::builtin("demo-microgrid").unwrap(), 1, midnight).unwrap();
    for _ in 0..20 {
        grid.step().unwrap();
    }
    let common = grid.buses.iter().position(|b| b.name == "common").unwrap();
    let island = grid.buses[common].island;
    assert_eq!(
        grid.islands[island].former,
        Former::Router { router: 0, port: 1 }
    );
    assert_eq!(grid.bus_frequency_hz(common), 50.0);
    let load: f64 = -grid.loads.iter().map(|l| l.p_w).sum::<f64>();
    let cells = grid.routers[0].p_w[1];
    assert!(
        cells > load,
        "the port carries the load and the cables' losses: {cells} vs {load}"
    );
    let network = grid.grid.as_ref().unwrap().p_w;
    assert!(
        (network - cells / (0.98 * 0.98)).abs() < 1.0,
        "{network} vs {cells}"
    );
    assert!(
        grid.hubs.iter().take(4).all(|h| h.storage.p_w == 0.0),
        "the cells' hubs follow at zero"
    );
    // A limit below the cells' need: the router gives what it may, the hubs form the island.
    grid.router_mut("router").unwrap().limit_out_w[1] = 1000.0;
    grid.step().unwrap();
    assert!(matches!(grid.islands[island].former, Former::Hub(_)));
    assert!((grid.routers[0].p_w[1] - 1000.0).abs() < 1e-6);
    assert!(grid.events().any(|e| e.what.contains("cannot hold island")));
    // The hubs hold it (their frequency dynamics run on) until the router tries again, ten seconds on.
    for _ in 0..95 {
        grid.step().unwrap();
        assert!(matches!(grid.islands[island].former, Former::Hub(_)));
    }
    assert!((grid.bus_frequency_hz(common) - 50.0).abs() < 0.5);
    let tries = grid
        .events()
        .filter(|e| e.what.contains("cannot hold island"))
        .count();
    assert_eq!(tries, 1);
    for _ in 0..10 {
        grid.step().unwrap();
    }
    assert_eq!(
        grid.events()
            .filter(|e| e.what.contains("cannot hold island"))
            .count(),
        2
    );
}
