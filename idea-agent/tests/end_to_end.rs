//! A P2P trade end to end over real sockets on 127.0.0.1 (issue: "P2P end to end"): two prosumer agents on
//! the embedded MQTT broker, the TE node as an MQTT service, and the cells' energy hubs and connection meters
//! served over Modbus/SunSpec by `idea-sim` on the simulated demonstration complex, in simulated time 100×
//! faster than real. The trade is negotiated, recorded, commanded (the seller's local automation holds its
//! connection at the contracted export with its hub), delivered, metered by the seller's meter gateway and
//! settled: the money moved is the contract price times the energy the meter verified, less the penalty
//! outside the tolerance band.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss
)]

mod common;

use common::*;
use fipa_acl::mqtt::EmbeddedBroker;
use idea_agent::device::MeterGateway;
use idea_agent::device::gateway_link::{GatewayLinkConfig, run_meter_gateway};
use idea_agent::device::link::{CellLinkConfig, ConnectionMeter, InterfaceDevice, run_cell_link};
use idea_agent::runtime::{Clock, Links, RunningAgent, Sinks};
use idea_agent::te_link::{TE_PREFIX, TeLink, TeService};
use idea_agent::{BuyOrder, Event, P2pBuyer, TeNode};
use idea_proto::*;
use idea_sim::devices::{ModbusAt, modbus_model_device};
use idea_sim::fault::Faults;
use idea_sim::grid::{SharedGrid, Topology, lock};
use idea_sim::physical::Binding;
use std::time::Duration as StdDuration;
use tokio::sync::mpsc;

/// Thirty times faster than real time: fast enough for a quarter-hour trade in under a minute, slow enough that a
/// busy machine (a CI runner building and testing beside it) does not stall the links for minutes of simulated time.
const SPEED: f64 = 30.0;

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// Serves `binding` of `grid` over Modbus TCP on a free loopback port; returns its address.
async fn device(
    grid: &SharedGrid,
    binding: Binding,
    faults: &Faults,
    keep: &mut Vec<idea_sim::Tasks>,
) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let (_, tasks) =
        modbus_model_device(listener, binding, grid.clone(), ModbusAt::default(), faults)
            .await
            .unwrap();
    keep.push(tasks);
    address
}

async fn wait_for(events: &mut mpsc::Receiver<Event>, what: &str, log: &mut Vec<Event>) -> Event {
    let deadline = tokio::time::Instant::now() + StdDuration::from_secs(90);
    loop {
        let e = tokio::time::timeout_at(deadline, events.recv())
            .await
            .unwrap_or_else(|_| {
                let seen: Vec<String> = log
                    .iter()
                    .map(|e| format!("{} {} {}", e.at, e.what, e.detail))
                    .collect();
                panic!("no {what} event in 90 s: {seen:#?}")
            })
            .expect("the agent stopped");
        log.push(e.clone());
        if e.what == what {
            return e;
        }
    }
}

/// The deployment of these tests, running: the seller (cell-1) and the buyer (cell-2) with their cell links,
/// the TE node with the seller's meter gateway, the plant and the broker.
static LEDGERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

struct Complex {
    /// The TE node's ledger (SQLite).
    ledger: std::path::PathBuf,
    agents: Vec<RunningAgent>,
    events: Vec<mpsc::Receiver<Event>>,
    /// The seller's hub's fault switches.
    seller_hub: Faults,
    te: TeService,
    tasks: Vec<tokio::task::JoinHandle<idea_agent::Result<()>>>,
    _plant: (Vec<idea_sim::Tasks>, EmbeddedBroker),
}

impl Complex {
    /// Stops everything; the TE node comes back.
    async fn stop(self) -> TeNode {
        for a in self.agents {
            a.stop().await.unwrap();
        }
        for t in self.tasks {
            t.abort();
        }
        self.te.stop().await.unwrap()
    }
}

/// Starts the complex at 11:52 simulated time, thirty times faster than real time.
async fn complex() -> Complex {
    // The plant: the demonstration complex from 11:52, thirty times faster than real time.
    let start = t("2026-12-02T11:52:00Z");
    let topology = Topology::builtin("demo-microgrid").unwrap();
    let (grid, clock_task) = idea_sim::clock::plant(&topology, 1, start, SPEED).unwrap();
    let clock = {
        let grid = grid.clone();
        Clock::simulated(move || lock(&grid).now(), SPEED)
    };
    let mut keep = vec![clock_task];
    // The seller's hub sits behind the silent-fault gate (planned for a day later; a test turns it on).
    let mut gate = idea_sim::Tasks::default();
    let seller_hub = Faults::planned(
        &[idea_sim::fault::FaultPlan {
            fault: idea_sim::fault::Fault::Silent,
            after: StdDuration::from_secs(86_400),
        }],
        &mut gate,
    );
    keep.push(gate);
    let fine = Faults::default();
    let hub1 = device(
        &grid,
        Binding::Hub("cell1.hub".into()),
        &seller_hub,
        &mut keep,
    )
    .await;
    let meter1 = device(
        &grid,
        Binding::Meter("cell1.meter".into()),
        &fine,
        &mut keep,
    )
    .await;
    let hub2 = device(&grid, Binding::Hub("cell2.hub".into()), &fine, &mut keep).await;
    let meter2 = device(
        &grid,
        Binding::Meter("cell2.meter".into()),
        &fine,
        &mut keep,
    )
    .await;

    // The broker and the TE node, the buyer's wallet funded.
    let broker = EmbeddedBroker::start().unwrap();
    let port = broker.addr().port();
    let node_key = SigningKey::from_bytes(&[60; 32]);
    // The node registers the avatars itself, so its ledger holds them before what they sign.
    // Clearing every simulated minute (TE-08 allows up to 15), so the run comes soon after the settlement.
    let mut node = TeNode::new(empty_registry())
        .with_ledger_entries()
        .with_clearing_period(Duration::from_mins(1))
        .unwrap();
    let (_, _, genesis) = registrar();
    for r in registrations(&[1, 2])
        .iter()
        .chain([&meter_registration("cell1.meter")])
    {
        node.register(r, genesis).unwrap();
    }
    node.add_meter(
        meter_avatar(),
        te_contract::meter::MeterConfig {
            max_power_w: 25_000,
            reading_interval: Duration::from_secs(10),
            period_s: 900,
        },
    )
    .unwrap();
    node.bind_agent(avatar(1), "cell-1@idea");
    node.bind_agent(avatar(2), "cell-2@idea");
    let eur = Currency::new("EUR", 2).unwrap();
    node.wallets_mut()
        .deposit(avatar(2), Money::new(10_000, eur))
        .unwrap();
    let ledger_file = std::env::temp_dir().join(format!(
        "idea-e2e-ledger-{}-{}.db",
        std::process::id(),
        LEDGERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let _ = std::fs::remove_file(&ledger_file);
    let ledger = te_contract::ledger::Ledger::open(
        te_contract::ledger::SqliteStore::open(&ledger_file).unwrap(),
    )
    .unwrap();
    let te = TeService::spawn_with_ledger(
        node,
        "te@idea",
        node_key.clone(),
        "127.0.0.1",
        port,
        TE_PREFIX,
        clock.clone(),
        Some(ledger),
    )
    .await
    .unwrap();
    let link = TeLink {
        host: "127.0.0.1".into(),
        port,
        node: "te@idea".into(),
        node_key: PublicKey::from(&node_key),
        prefix: TE_PREFIX.into(),
    };

    // The seller's meter gateway reads cell1.meter every 10 simulated seconds.
    let gateway = tokio::spawn(run_meter_gateway(
        GatewayLinkConfig {
            meter: meter1.clone(),
            unit: 1,
            name: "meter-gateway-cell-1".into(),
            te: link.clone(),
            every: Duration::from_secs(10),
        },
        MeterGateway::new(deployment(), meter_avatar(), meter_key(), 0),
        clock.clone(),
    ));

    // Both agents, each with its cell link (hub + connection meter), peers of each other.
    let mut agents = Vec::new();
    let mut event_rx = Vec::new();
    let mut links = Vec::new();
    let mut a1 = te_agent(1);
    let mut a2 = te_agent(2);
    a1.add_peer(te_peer(&a2, 2)).unwrap();
    a2.add_peer(te_peer(&a1, 1)).unwrap();
    // Both keep debt channels (TE-09): the seller opens one beside the recorded contract.
    for a in [&mut a1, &mut a2] {
        a.add_behaviour(Box::new(idea_agent::ChannelKeeper::new(5_000)))
            .unwrap();
    }
    for (a, hub, meter, cell, meter_name) in [
        (a1, &hub1, &meter1, "cell-1", "cell1.meter"),
        (a2, &hub2, &meter2, "cell-2", "cell2.meter"),
    ] {
        let (commands_tx, commands_rx) = mpsc::channel(64);
        let (reports_tx, reports_rx) = mpsc::channel(256);
        links.push(tokio::spawn(run_cell_link(
            CellLinkConfig {
                interface: InterfaceDevice::Hub {
                    address: hub.clone(),
                    unit: 1,
                },
                meter: ConnectionMeter::SunSpec {
                    address: meter.clone(),
                    unit: 1,
                },
                period: StdDuration::from_millis(20),
                cell: CellId::new(cell).unwrap(),
                meter_id: MeterId::new(meter_name).unwrap(),
            },
            commands_rx,
            reports_tx,
            clock.clone(),
        )));
        let (events_tx, events) = mpsc::channel(4096);
        let acl = transport(port, a.me()).await;
        let running = RunningAgent::spawn_linked(
            a,
            acl,
            clock.clone(),
            Sinks {
                commands: Some(commands_tx),
                events: Some(events_tx),
                te: None,
            },
            Links {
                te: Some(link.clone()),
                devices: Some(reports_rx),
            },
        )
        .await
        .unwrap();
        agents.push(running);
        event_rx.push(events);
    }
    // Let the links report the stored energy.
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    Complex {
        ledger: ledger_file,
        agents,
        events: event_rx,
        seller_hub,
        te,
        tasks: links.into_iter().chain([gateway]).collect(),
        _plant: (keep, broker),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trade_is_negotiated_recorded_commanded_delivered_metered_and_settled_over_sockets() {
    let mut c = complex().await;
    let mut seller_log = Vec::new();
    let mut buyer_log = Vec::new();

    // The buyer buys 200 Wh for 12:00–12:15 (800 W: what cell 1's hub can export over its own load).
    let order = BuyOrder {
        reply_within: Duration::from_secs(120),
        tolerance: ToleranceBand {
            relative_bp: 1000,
            absolute: Energy::from_wh(0),
        },
        ..buy_order(t("2026-12-02T12:00:00Z"), &[200])
    };
    c.agents[1]
        .call(move |a, now| a.with_behaviour::<P2pBuyer, _>(now, |b, cx| b.buy(cx, order)))
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let recorded = wait_for(&mut c.events[0], "recorded", &mut seller_log).await;
    let id = recorded.transaction.unwrap();
    // The channel beside it, countersigned by the buyer and recorded at the node (TE-09).
    wait_for(&mut c.events[0], "channel-open", &mut seller_log).await;
    wait_for(&mut c.events[1], "channel-open", &mut buyer_log).await;
    let commanded = wait_for(&mut c.events[0], "commanded", &mut seller_log).await;
    assert_eq!(commanded.detail, "setpoint 800 W at the connection point");
    wait_for(&mut c.events[0], "completed", &mut seller_log).await;
    // Verified against the meter's token (TE-04), then paid at the next clearing run (TE-08, UC-10).
    let verified = wait_for(&mut c.events[0], "interval-settled", &mut seller_log).await;
    let settled = wait_for(&mut c.events[0], "settled", &mut seller_log).await;
    assert!(
        settled.detail.contains("paid in full"),
        "{}",
        settled.detail
    );
    assert_eq!(settled.transaction, Some(id));
    wait_for(&mut c.events[1], "settled", &mut buyer_log).await;
    // The interval went into the channel — or, when its verification came within a moment of the clearing
    // run, was paid wallet to wallet: the money below is the same either way.
    let through_channel = seller_log.iter().any(|e| e.what == "channel-state");
    eprintln!("paid through the channel: {through_channel}");

    // The UC sequence on the seller's side, in order.
    let steps: Vec<&str> = seller_log
        .iter()
        .filter(|e| e.transaction == Some(id))
        .map(|e| e.what)
        .collect();
    let expected = [
        "requested",
        "agreed",
        "recorded",
        "commanded",
        "executing",
        "measured",
        "completed",
        "settled",
    ];
    let mut at = 0;
    for step in &expected {
        at += steps[at..]
            .iter()
            .position(|s| s == step)
            .unwrap_or_else(|| panic!("{step} missing or out of order in {steps:?}"));
    }

    // The owner's interface shows the same money on both sides (AG-08).
    let money = |i: usize| {
        c.agents[i].call(|a, now| {
            let request = idea_agent::owner::OwnerRequest {
                method: "GET",
                path: "/money",
                body: b"",
            };
            idea_agent::owner::answer(a, &idea_agent::owner::EventRing::default(), &request, now)
                .body
        })
    };
    let (seller_money, buyer_money) = (money(0).await.unwrap(), money(1).await.unwrap());

    // Money: price × verified energy, less the penalty beyond the band — and the wallets moved by it.
    let ledger_file = c.ledger.clone();
    let node = c.stop().await;
    // The evidence (TE-07): the node's ledger, opened read-only, verifies under the registrar — the three
    // registrations, the contract, the meter's readings, the settlement and the clearing run, every signature
    // checked and the run's transfers the net of what it settled.
    let (registrar_avatar, registrar_key, genesis) = registrar();
    let store = te_contract::ledger::SqliteStore::open_read_only(&ledger_file).unwrap();
    let report = te_contract::audit::verify(
        &store,
        &deployment(),
        registrar_avatar,
        PublicKey::from(&registrar_key),
        genesis,
        &te_contract::ledger::Anchor::None,
    )
    .unwrap();
    eprintln!("ledger: {report:?}");
    assert!(report.entries >= 7, "{report:?}");
    drop(store);
    let _ = std::fs::remove_file(&ledger_file);
    let contract = node.contracts().get(&id).unwrap().signed.body().clone();
    let price = contract.transaction.terms.price.minor_units_per_kwh;
    assert_eq!(price, 18, "the seller's floor");
    let eur = Currency::new("EUR", 2).unwrap();
    let paid =
        Money::new(10_000, eur).minor_units - node.wallets().balance(&avatar(2), eur).minor_units;
    let received = node.wallets().balance(&avatar(1), eur).minor_units;
    assert_eq!(paid, received, "what the buyer paid the seller got");
    let [_, delivered, amount, penalty] = numbers(&verified.detail);
    eprintln!("settled: {} / {}", verified.detail, settled.detail);
    assert_eq!(
        paid, amount,
        "the settlement notice says what moved: {}",
        verified.detail
    );
    assert_eq!(seller_money["due_at_clearing_minor"], 0, "{seller_money}");
    assert_eq!(seller_money["settlements"][0]["cleared_minor"], received);
    assert_eq!(seller_money["settlements"][0]["paid_in_full"], true);
    assert_eq!(seller_money["received_minor"], received, "{seller_money}");
    assert_eq!(buyer_money["paid_minor"], paid, "{buyer_money}");
    assert_eq!(seller_money["settlements"][0]["delivered_wh"], delivered);
    assert!(
        (150..=250).contains(&delivered),
        "the local automation held the export near 800 W: {delivered} Wh of 200 ({})",
        settled.detail
    );
    // Within the ±10 % band (20 Wh of 200) no penalty; beyond it 40 minor units per kWh of the excess.
    let beyond = ((delivered - 200).abs() - 20).max(0);
    assert!(
        (penalty - (beyond * 40 + 500) / 1000).abs() <= 1,
        "{}",
        settled.detail
    );
    let value = (delivered.min(200) * price + 500) / 1000;
    assert!(
        (amount - (value - penalty)).abs() <= 1,
        "paid {amount}: price × verified energy {value} less penalty {penalty} ({})",
        settled.detail
    );
}

/// The numbers in a settled event's detail: interval, delivered Wh, amount paid, penalty.
fn numbers(detail: &str) -> [i64; 4] {
    let found: Vec<i64> = detail
        .split(|c: char| !c.is_ascii_digit() && c != '-')
        .filter(|s| !s.is_empty() && *s != "-")
        .map(|s| s.parse::<i64>().unwrap())
        .collect();
    found
        .try_into()
        .unwrap_or_else(|f| panic!("not four numbers in {detail:?}: {f:?}"))
}

/// A device that stops answering: the seller's hub goes silent after the contract is recorded. At the
/// interval start the seller's command cannot be applied; the agent fails the transaction with the device's
/// reason, releases its commitment, and commands nothing more for it — its event log says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_that_stops_answering_fails_the_delivery_and_releases_the_commitment() {
    let mut c = complex().await;
    let order = BuyOrder {
        reply_within: Duration::from_secs(120),
        ..buy_order(t("2026-12-02T12:00:00Z"), &[200])
    };
    c.agents[1]
        .call(move |a, now| a.with_behaviour::<P2pBuyer, _>(now, |b, cx| b.buy(cx, order)))
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let mut log = Vec::new();
    let recorded = wait_for(&mut c.events[0], "recorded", &mut log).await;
    let id = recorded.transaction.unwrap();
    c.seller_hub.set(idea_sim::fault::Fault::Silent, true);
    let failed = wait_for(&mut c.events[0], "failed", &mut log).await;
    assert_eq!(failed.transaction, Some(id));
    assert!(
        failed.detail.contains("no answer") || failed.detail.contains("timed out"),
        "the device's reason: {}",
        failed.detail
    );
    let released = wait_for(&mut c.events[0], "commitment-released", &mut log).await;
    assert_eq!(released.transaction, Some(id));
    let seller_book_empty = c.agents[0]
        .call(|a, _| a.book().commitments().is_empty())
        .await
        .unwrap();
    assert!(seller_book_empty, "nothing left committed");
    let node = c.stop().await;
    assert!(
        node.contracts().get(&id).is_some(),
        "the contract stays on record"
    );
}
