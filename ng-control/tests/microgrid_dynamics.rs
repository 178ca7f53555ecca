//! The isolated microgrid of the demonstration complex (four prosumers, a battery hub each) through load steps,
//! generation loss and a cell joining, judged by the frequency norms (NG-H1, NG-H2, DEMO-S2, DEMO-S3).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use ng_control::hub::{Cell, Event, EventKind, FrequencyNorms, HubSettings, Microgrid, simulate};

fn prosumer(i: usize, hub: HubSettings) -> Cell {
    Cell {
        name: format!("prosumer-{i}"),
        hub_rating_w: 5000.0,
        hub,
        load_w: 3000.0,
        pv_w: 2000.0,
    }
}

fn demo(hub: HubSettings) -> Microgrid {
    Microgrid {
        nominal_hz: 50.0,
        cells: (1..=4).map(|i| prosumer(i, hub)).collect(),
        machine_inertia_s: 0.0,
        load_damping: 0.0,
    }
}

fn run(model: &Microgrid, events: &[Event], seconds: f64) -> ng_control::hub::SimulationReport {
    simulate(
        model,
        events,
        seconds,
        0.001,
        0.01,
        &FrequencyNorms::defaults(),
    )
    .unwrap()
}

fn load_step(at_s: f64, delta_w: f64) -> Vec<Event> {
    vec![Event {
        at_s,
        kind: EventKind::LoadStep { cell: 0, delta_w },
    }]
}

#[test]
fn droop_alone_leaves_a_standing_deviation_beyond_the_normal_band() {
    let mut hub = HubSettings::defaults();
    hub.restoration_gain = 0.0;
    // 10 % of the 20 kW of hub rating.
    let r = run(&demo(hub), &load_step(5.0, 2000.0), 120.0);
    let final_f = r.trace.last().unwrap().1;
    assert!(
        (final_f - (50.0 - 0.25)).abs() < 0.002,
        "standing frequency {final_f}"
    );
    assert!(!r.verdict.passes);
    assert_eq!(r.verdict.restored_at_s, None);
}

#[test]
fn restoration_returns_the_frequency_to_nominal() {
    let r = run(
        &demo(HubSettings::defaults()),
        &load_step(5.0, 2000.0),
        120.0,
    );
    let final_f = r.trace.last().unwrap().1;
    assert!((final_f - 50.0).abs() < 0.01, "final frequency {final_f}");
    assert!(r.verdict.passes, "{:?}", r.verdict.failures);
    let restored = r.verdict.restored_at_s.unwrap();
    assert!(
        restored > 5.0 && restored < 60.0,
        "restored at {restored} s"
    );
    assert!(
        r.nadir_hz < 49.8 && r.nadir_hz > 49.5,
        "nadir {}",
        r.nadir_hz
    );
    assert!(r.saturated_hubs.is_empty());
}

#[test]
fn less_inertia_means_a_faster_fall_and_a_deeper_nadir() {
    let mut light = HubSettings::defaults();
    light.virtual_inertia_s = 0.5;
    let mut heavy = HubSettings::defaults();
    heavy.virtual_inertia_s = 5.0;
    let a = run(&demo(light), &load_step(1.0, 3000.0), 30.0);
    let b = run(&demo(heavy), &load_step(1.0, 3000.0), 30.0);
    assert!(
        a.max_rocof_hz_per_s > 5.0 * b.max_rocof_hz_per_s,
        "{} vs {}",
        a.max_rocof_hz_per_s,
        b.max_rocof_hz_per_s
    );
    assert!(a.nadir_hz <= b.nadir_hz, "{} vs {}", a.nadir_hz, b.nadir_hz);
    // Initial RoCoF = f0 · ΔP / (2 · H · S) = 50 × 3000 / (2 × 0.5 × 20000) = 7.5 Hz/s.
    assert!(
        (a.max_rocof_hz_per_s - 7.5).abs() < 0.05,
        "{}",
        a.max_rocof_hz_per_s
    );
}

#[test]
fn losing_pv_and_a_cell_joining_stay_within_the_norms() {
    let hub = HubSettings::defaults();
    let events = vec![
        Event {
            at_s: 10.0,
            kind: EventKind::GenerationLoss {
                cell: 2,
                lost_w: 2000.0,
            },
        },
        Event {
            at_s: 70.0,
            kind: EventKind::CellJoins(prosumer(5, hub)),
        },
    ];
    let r = run(&demo(hub), &events, 180.0);
    assert!(r.verdict.passes, "{:?}", r.verdict.failures);
    assert!((r.trace.last().unwrap().1 - 50.0).abs() < 0.01);
}

#[test]
fn a_step_beyond_the_hubs_rating_cannot_be_balanced() {
    let r = run(
        &demo(HubSettings::defaults()),
        &load_step(2.0, 25_000.0),
        20.0,
    );
    assert_eq!(r.saturated_hubs.len(), 4);
    assert!(!r.verdict.passes);
    assert!(r.nadir_hz < 49.0);
}

#[test]
fn invalid_runs_are_errors() {
    let model = demo(HubSettings::defaults());
    let norms = FrequencyNorms::defaults();
    assert!(simulate(&model, &[], 10.0, 0.0, 0.01, &norms).is_err());
    let mut empty = model.clone();
    empty.cells.clear();
    assert!(simulate(&empty, &[], 10.0, 0.001, 0.01, &norms).is_err());
    let mut inert = model.clone();
    inert
        .cells
        .iter_mut()
        .for_each(|c| c.hub.virtual_inertia_s = 0.0);
    assert!(simulate(&inert, &load_step(1.0, 10.0), 10.0, 0.001, 0.01, &norms).is_err());
    assert!(
        simulate(
            &model,
            &[Event {
                at_s: 1.0,
                kind: EventKind::LoadStep {
                    cell: 9,
                    delta_w: 1.0
                }
            }],
            5.0,
            0.001,
            0.01,
            &norms
        )
        .is_err()
    );
}
