//! The reference scenarios run end to end over loopback sockets: each checks itself, and the tests read the
//! report for what the scenario is meant to show.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::float_cmp
)]

use idea_demo::{Options, Progress, RunReport, Scenario};

fn short(scenario: Scenario) -> Options {
    Options {
        scenarios: vec![scenario],
        hours: 2.0,
        ..Options::default()
    }
}

fn failed(report: &RunReport) -> Vec<String> {
    report
        .scenarios
        .iter()
        .flat_map(|s| s.checks.iter().filter(|c| !c.passed))
        .map(|c| format!("{}: {}", c.name, c.detail))
        .collect()
}

/// DEMO-S1: two hours grid-connected — the first without transactions, the second with the cells trading
/// on the market — and every check passes: the energy balance, the settled amounts against the terms and the
/// meters, the ledger read-only, the wallets, the limits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s1_trades_only_in_its_second_half_and_every_check_passes() {
    let mut seen = Vec::new();
    let report = idea_demo::run(&short(Scenario::S1), &mut |p| {
        if let Progress::Interval { record, .. } = p {
            seen.push(record.phase.clone());
        }
    })
    .await
    .unwrap();
    assert!(report.passed, "{:#?}", failed(&report));
    let s1 = &report.scenarios[0];
    assert_eq!(s1.scenario, "s1");
    assert_eq!(s1.intervals.len(), 8, "two hours of 15-minute intervals");
    assert_eq!(seen.len(), 8, "progress told every interval");
    assert_eq!(
        s1.intervals
            .iter()
            .filter(|i| i.phase == "without-transactions")
            .count(),
        4
    );
    assert_eq!(s1.cells, ["cell-1", "cell-2", "cell-3", "cell-4"]);
    let names: Vec<&str> = s1.checks.iter().map(|c| c.name.as_str()).collect();
    for check in [
        "energy-balance",
        "ledger-verifies",
        "settlement-amounts",
        "money-settled",
        "limits",
        "trades-settled",
    ] {
        assert!(names.contains(&check), "{check} missing from {names:?}");
    }
    // Trades happened, each settled, the seller's wallet up and the buyer's down by the amount.
    assert!(!s1.trades.is_empty());
    let trading_from = s1.intervals[4].start;
    for t in &s1.trades {
        assert!(t.start >= trading_from, "{t:?}");
        assert!(
            t.amount_minor.is_some() && t.delivered_wh.is_some(),
            "{t:?}"
        );
        assert_ne!(t.seller, t.buyer);
    }
    let moved: i64 = s1
        .money
        .iter()
        .map(|m| m.closing_minor - m.opening_minor)
        .sum();
    assert_eq!(moved, 0, "money only changed hands");
    // Without transactions no setpoint is commanded; with them, the traders' connections are held.
    for i in &s1.intervals[..4] {
        assert!(i.cells.iter().all(|c| c.setpoint_w.is_none()), "{i:?}");
    }
    assert!(
        s1.intervals[4..]
            .iter()
            .any(|i| i.cells.iter().any(|c| c.setpoint_w.is_some()))
    );
    assert!(
        s1.ledger.settlements >= 1 && s1.ledger.clearings >= 1,
        "{:?}",
        s1.ledger
    );
    assert!(
        s1.messages > 100,
        "messages crossed the broker: {}",
        s1.messages
    );
}

/// DEMO-S2: isolated from the network by the operator over IEC 104, the hubs form the frequency, the cells
/// trade, and when their storage runs low the load-shedding service opens loads over MQTT; the island holds
/// and its frequency meets the hub's norms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s2_holds_the_island_trades_and_sheds_when_the_balance_cannot_be_kept() {
    let options = Options {
        scenarios: vec![Scenario::S2],
        hours: 4.0,
        ..Options::default()
    };
    let report = idea_demo::run(&options, &mut |_| {}).await.unwrap();
    assert!(report.passed, "{:#?}", failed(&report));
    let s2 = &report.scenarios[0];
    let names: Vec<&str> = s2.checks.iter().map(|c| c.name.as_str()).collect();
    for check in ["island-held", "frequency-norms", "relays", "trades-settled"] {
        assert!(names.contains(&check), "{check} missing from {names:?}");
    }
    for i in &s2.intervals {
        assert!(
            !i.router.enabled,
            "the operator read the router open over IEC 104: {i:?}"
        );
        assert!(!i.system.grid_connected);
        assert_eq!(i.system.network_wh, 0.0);
        assert!(
            i.system.frequency_hz.0 > 49.0 && i.system.frequency_hz.1 < 51.0,
            "{i:?}"
        );
    }
    assert!(
        !s2.trades.is_empty(),
        "the cells balanced each other by trading"
    );
    let shed = s2.intervals.last().unwrap().shed.len();
    assert!(shed > 0, "load shedding acted as the storage ran low");
    assert!(s2.intervals[0].shed.is_empty(), "nothing shed at the start");
}

/// DEMO-S3: a fifth prosumer switches on a third of the way in; its agent registers at the directory and,
/// over the network, at the TE node (its meter too), is offered the market and load shedding, and trades —
/// every contract of it settled on its own meter's tokens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_a_fifth_prosumer_joins_plug_and_play_and_trades() {
    let options = Options {
        scenarios: vec![Scenario::S3],
        hours: 3.0,
        ..Options::default()
    };
    let report = idea_demo::run(&options, &mut |_| {}).await.unwrap();
    assert!(report.passed, "{:#?}", failed(&report));
    let s3 = &report.scenarios[0];
    let newcomer = s3
        .checks
        .iter()
        .find(|c| c.name == "newcomer-served")
        .expect("the newcomer's check");
    assert!(newcomer.passed, "{}", newcomer.detail);
    assert_eq!(s3.cells.len(), 5);
    let joined = s3
        .intervals
        .iter()
        .position(|i| i.cells.iter().any(|c| c.cell == "cell-5"))
        .expect("cell-5 appears in the intervals");
    assert_eq!(joined, 4, "it joins at 10:00, a third of the way in");
    assert!(s3.intervals[..joined].iter().all(|i| i.cells.len() == 4));
    assert!(
        s3.trades
            .iter()
            .any(|t| (t.seller == "cell-5" || t.buyer == "cell-5") && t.amount_minor.is_some())
    );
    let money = s3.money.iter().find(|m| m.cell == "cell-5").unwrap();
    assert_eq!(
        money.closing_minor - money.opening_minor,
        money.settled_minor
    );
}

/// The same seed gives the same report byte for byte (wall-clock timing aside), run after run and at another
/// speed, although every message crosses the broker and every device answers over a socket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_seed_gives_the_same_report_at_any_speed() {
    let as_json = |mut r: RunReport| {
        r.timing = idea_demo::Timing::default();
        serde_json::to_string_pretty(&r).unwrap()
    };
    let options = Options {
        seed: 7,
        hours: 1.5,
        scenarios: vec![Scenario::S1, Scenario::S3],
        ..Options::default()
    };
    let first = as_json(idea_demo::run(&options, &mut |_| {}).await.unwrap());
    let paced = Options {
        speed: 1500.0,
        ..options.clone()
    };
    let second = as_json(idea_demo::run(&paced, &mut |_| {}).await.unwrap());
    assert!(first == second, "the two runs differ");
    let other_seed = Options {
        seed: 8,
        scenarios: vec![Scenario::S1],
        ..options
    };
    let third = as_json(idea_demo::run(&other_seed, &mut |_| {}).await.unwrap());
    let s1_of = |text: &str| {
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        v["scenarios"][0].clone()
    };
    assert_ne!(
        s1_of(&first),
        s1_of(&third),
        "another seed, other keys and clouds"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_out_of_range_are_refused_naming_the_option() {
    for (options, option) in [
        (
            Options {
                hours: 1.0,
                ..Options::default()
            },
            "--hours",
        ),
        (
            Options {
                speed: -1.0,
                ..Options::default()
            },
            "--speed",
        ),
        (
            Options {
                scenarios: Vec::new(),
                ..Options::default()
            },
            "--scenario",
        ),
    ] {
        match idea_demo::run(&options, &mut |_| {}).await {
            Err(idea_demo::Error::Usage { option: o, .. }) => assert_eq!(o, option),
            other => panic!("{option}: {other:?}"),
        }
    }
    assert!(matches!(
        Scenario::from_name("s9"),
        Err(idea_demo::Error::Usage { .. })
    ));
}

/// Runs `fault` in its scenario (four hours) and returns the report.
async fn with_fault(fault: idea_demo::Fault) -> RunReport {
    let options = Options {
        scenarios: vec![fault.scenario()],
        fault: Some(fault),
        ..Options::default()
    };
    idea_demo::run(&options, &mut |_| {}).await.unwrap()
}

/// The fault's own check passed, and so did every other check of its scenario.
fn fault_and_the_rest_pass(report: &RunReport, fault: idea_demo::Fault) -> String {
    let s = &report.scenarios[0];
    let own = s
        .checks
        .iter()
        .find(|c| c.name == format!("fault-{}", fault.name()))
        .unwrap_or_else(|| panic!("no check of {}", fault.name()));
    assert!(own.passed, "{}", own.detail);
    assert!(report.passed, "{:#?}", failed(report));
    own.detail.clone()
}

/// A counterparty that stops countersigning: nothing with it is recorded afterwards, the sellers'
/// transactions with it expire and release their commitments, the others trade on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_counterparty_that_stops_countersigning_leaves_nothing_recorded_or_owed() {
    let fault = idea_demo::Fault::CounterpartySilent;
    let report = with_fault(fault).await;
    let detail = fault_and_the_rest_pass(&report, fault);
    assert!(detail.contains("0 recorded with cell-4"), "{detail}");
}

/// A meter gateway that misses half an hour of readings: the intervals across the gap settle on estimated
/// tokens, every contract still settles.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_meter_readings_settle_on_estimated_tokens() {
    let fault = idea_demo::Fault::MeterMissing;
    let report = with_fault(fault).await;
    let detail = fault_and_the_rest_pass(&report, fault);
    assert!(detail.contains("30 readings missed"), "{detail}");
}

/// A PV inverter that trips in the island: the island holds, its frequency meets the norms, loads are shed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pv_drop_in_the_island_is_met_by_load_shedding() {
    let fault = idea_demo::Fault::PvDrop;
    let report = with_fault(fault).await;
    fault_and_the_rest_pass(&report, fault);
    let last = report.scenarios[0].intervals.last().unwrap();
    assert!(!last.shed.is_empty());
}

#[test]
fn a_fault_must_strike_in_a_scenario_of_the_run() {
    let options = Options {
        scenarios: vec![Scenario::S1],
        fault: Some(idea_demo::Fault::PvDrop),
        ..Options::default()
    };
    match options.check() {
        Err(idea_demo::Error::Usage { option, .. }) => assert_eq!(option, "--fault"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        idea_demo::Fault::from_name("meter-missing").unwrap(),
        idea_demo::Fault::MeterMissing
    );
    assert!(idea_demo::Fault::from_name("gremlins").is_err());
}

/// A hub that stops answering over Modbus: the agent's setpoint is not taken, its transaction fails and its
/// commitment is released; the contract still settles on the meter's tokens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_hub_fails_its_delivery_safely_and_the_contract_still_settles() {
    let fault = idea_demo::Fault::DeviceSilent;
    let report = with_fault(fault).await;
    let detail = fault_and_the_rest_pass(&report, fault);
    assert!(!detail.contains("failed on its silent hub: 0"), "{detail}");
}

/// An agent that loses its broker connections for half an hour: what goes to it or from it is lost, nothing
/// is agreed with it meanwhile, the others' conversations with it expire, and once reconnected it trades.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_cut_off_the_broker_trades_again_once_reconnected() {
    let fault = idea_demo::Fault::MqttLost;
    let report = with_fault(fault).await;
    let detail = fault_and_the_rest_pass(&report, fault);
    assert!(
        detail.contains(" 0 contracts with it agreed then"),
        "{detail}"
    );
    assert!(!detail.starts_with("0 messages lost"), "{detail}");
    assert!(
        !detail.contains(" 0 contracts with it after it reconnected"),
        "{detail}"
    );
}

/// The scale run is reproducible too, with enough cells that the conductor spreads the agents' work over the
/// cores (sealing what they send, handling what they received, reading the node's notices).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scale_run_over_many_cores_gives_the_same_report_twice() {
    let as_json = |mut r: RunReport| {
        r.timing = idea_demo::Timing::default();
        serde_json::to_string_pretty(&r).unwrap()
    };
    let options = Options {
        scenarios: vec![Scenario::Scale],
        cells: Some(96),
        hours: 1.5,
        ..Options::default()
    };
    let first = idea_demo::run(&options, &mut |_| {}).await.unwrap();
    assert!(first.passed, "{:#?}", failed(&first));
    assert!(!first.scenarios[0].trades.is_empty(), "the cells trade");
    let second = idea_demo::run(&options, &mut |_| {}).await.unwrap();
    assert!(as_json(first) == as_json(second), "the two runs differ");
}

/// TE-07, the scale run: 30 generated cells (more than 64 relays on the load-shedding service's MQTT side)
/// on a generated feeder trade from the first period, with every check passing, and the run says where its
/// time went.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_generated_cells_trade_on_a_generated_feeder_and_every_check_passes() {
    let options = Options {
        scenarios: vec![Scenario::Scale],
        cells: Some(30),
        hours: 1.5,
        ..Options::default()
    };
    let report = idea_demo::run(&options, &mut |_| {}).await.unwrap();
    assert!(report.passed, "{:#?}", failed(&report));
    let s = &report.scenarios[0];
    assert_eq!(s.scenario, "scale");
    assert_eq!(s.requirement, "TE-07");
    assert_eq!(s.cells.len(), 30);
    assert_eq!(s.cells[29], "cell-30");
    assert_eq!(s.intervals.len(), 6);
    assert!(s.intervals.iter().all(|i| i.phase == "with-transactions"));
    assert!(s.intervals.iter().all(|i| i.cells.len() == 30));
    // Generated cells copy the complex's four in turn: cell-5 generates as cell-1 does (its CHP).
    let generation = |k: usize| -> f64 {
        s.intervals
            .iter()
            .map(|i| i.cells[k].physics.generation_wh)
            .sum()
    };
    assert!((generation(0) - generation(4)).abs() < 1e-6);
    assert!(!s.trades.is_empty(), "generated cells trade");
    assert!(
        s.trades.iter().any(|t| t.seller != "cell-1"
            && t.seller != "cell-2"
            && t.seller != "cell-3"
            && t.seller != "cell-4"),
        "beyond the first four"
    );
    let names: Vec<&str> = s.checks.iter().map(|c| c.name.as_str()).collect();
    for check in [
        "energy-balance",
        "ledger-verifies",
        "settlement-amounts",
        "money-settled",
        "limits",
    ] {
        assert!(names.contains(&check), "{check} in {names:?}");
    }
    let (scenario, phases) = &report.timing.phases_s[0];
    assert_eq!(scenario, "scale");
    for phase in [
        "build",
        "model",
        "devices (Modbus)",
        "directory",
        "agents",
        "checks",
    ] {
        assert!(
            phases.iter().any(|(p, s)| p == phase && *s > 0.0),
            "{phase} in {phases:?}"
        );
    }
}

#[test]
fn a_scale_run_needs_one_to_ten_thousand_cells() {
    for cells in [0, idea_demo::MAX_CELLS + 1] {
        let options = Options {
            scenarios: vec![Scenario::Scale],
            cells: Some(cells),
            ..Options::default()
        };
        match options.check() {
            Err(idea_demo::Error::Usage { option, .. }) => assert_eq!(option, "--cells"),
            other => panic!("{other:?}"),
        }
    }
}
