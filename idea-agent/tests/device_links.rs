//! The device link to each kind of interface device (Table 3), over real sockets to `idea-sim` devices in
//! simulated time: a prosumer behind an energy router over IEC 104 (NG-R6) with the IDEA smart meter over IEC
//! 104, and a generator cell whose DER is managed through an IEEE 2030.5 server over mutual TLS. In each, a
//! setpoint is taken, the device holds the connection at it for its interval, and the agent's own
//! measurement of the interval (UC-08) is the setpoint's energy.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss
)]

use idea_agent::device::DerControls;
use idea_agent::device::link::{CellLinkConfig, ConnectionMeter, InterfaceDevice, run_cell_link};
use idea_agent::runtime::{Clock, DeviceReport};
use idea_proto::*;
use idea_sim::fault::Faults;
use idea_sim::grid::{SharedGrid, Topology, lock};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;
use tokio::sync::mpsc;

/// 2026-06-21 12:00 UTC: the sun at its highest.
const NOON: &str = "2026-06-21T12:00:00Z";

/// A prosumer cell behind port 1 of an energy router: its hub forms the cell's island, a 2 kW load, the
/// connection meter on the cable between the router's port and the cell.
const BEHIND_A_ROUTER: &str = r#"
name = "a prosumer behind an energy router"
step_ms = 100
[grid]
bus = "network"
[[bus]]
name = "network"
kv = 0.4
[[bus]]
name = "gate"
kv = 0.4
[[bus]]
name = "cell"
kv = 0.4
[[line]]
name = "feeder"
from = "gate"
to = "cell"
r_ohm = 0.02
x_ohm = 0.005
[[router]]
name = "router"
ports = ["network", "gate"]
kva = 25.0
efficiency = 0.98
[[hub]]
name = "cell.hub"
bus = "cell"
kw = 10.0
kwh = 20.0
soc = 0.8
[[load]]
name = "cell.load"
bus = "cell"
kw = 2.0
[[meter]]
name = "cell.meter"
branch = "feeder"
"#;

/// A generator cell: a 10 kVA DER (14 kWp under a clear sky) at the end of a cable, metered on it.
const DER_CELL: &str = r#"
name = "a DER at the end of a cable"
step_ms = 100
[sun]
sunrise_h = 5.0
sunset_h = 19.0
peak_w_per_m2 = 1000.0
cloudiness = 0.0
[grid]
bus = "network"
[[bus]]
name = "network"
kv = 0.4
[[bus]]
name = "pv"
kv = 0.4
[[line]]
name = "cable"
from = "network"
to = "pv"
r_ohm = 0.02
x_ohm = 0.02
[[der]]
name = "der"
bus = "pv"
kva = 10.0
kwp = 14.0
[[meter]]
name = "der.meter"
branch = "cable"
"#;

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn plant(text: &str, speed: f64, keep: &mut Vec<idea_sim::Tasks>) -> (SharedGrid, Clock) {
    let topology = Topology::from_toml(text).unwrap();
    let (grid, task) = idea_sim::clock::plant(&topology, 1, t(NOON), speed).unwrap();
    keep.push(task);
    let clock = {
        let grid = grid.clone();
        Clock::simulated(move || lock(&grid).now(), speed)
    };
    (grid, clock)
}

fn setpoint(export_w: i64, from: Timestamp, until: Timestamp) -> SetpointCommand {
    SetpointCommand::new(SetpointCommandFields {
        transaction_id: TransactionId::from_bytes([7; 16]),
        cell: CellId::new("cell-1").unwrap(),
        kind: CommandKind::Start,
        setpoint: PowerLevel::new(ActivePower::from_w(export_w), ReactivePower::from_var(0)),
        from,
        until,
    })
    .unwrap()
}

async fn listener() -> (tokio::net::TcpListener, std::net::SocketAddr) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let a = l.local_addr().unwrap();
    (l, a)
}

/// Waits for the link's next report of `what` kind, at most a minute.
async fn next_report(
    reports: &mut mpsc::Receiver<DeviceReport>,
    wanted: impl Fn(&DeviceReport) -> bool,
) -> DeviceReport {
    tokio::time::timeout(StdDuration::from_secs(60), async {
        loop {
            let r = reports.recv().await.expect("the link stopped");
            if wanted(&r) {
                return r;
            }
        }
    })
    .await
    .expect("no such report in a minute")
}

/// The cell behind a router, running: the IEC 104 router (behind `router_faults`) and meter of the plant, and
/// the cell's link to them, setpoints in and reports out.
struct RouterCell {
    grid: SharedGrid,
    clock: Clock,
    commands: mpsc::Sender<SetpointCommand>,
    reports: mpsc::Receiver<DeviceReport>,
    link: tokio::task::JoinHandle<idea_agent::Result<()>>,
    _keep: Vec<idea_sim::Tasks>,
}

async fn router_cell(router_faults: &Faults, mut keep: Vec<idea_sim::Tasks>) -> RouterCell {
    let (grid, clock) = plant(BEHIND_A_ROUTER, 25.0, &mut keep);
    let (l, router) = listener().await;
    keep.push(
        idea_sim::devices::iec104_router(
            l,
            &Default::default(),
            grid.clone(),
            "router",
            router_faults,
        )
        .await
        .unwrap(),
    );
    let (l, meter) = listener().await;
    keep.push(
        idea_sim::devices::iec104_meter(
            l,
            &Default::default(),
            grid.clone(),
            "cell.meter",
            &Faults::default(),
        )
        .await
        .unwrap(),
    );
    let (commands, commands_rx) = mpsc::channel(8);
    let (reports_tx, reports) = mpsc::channel(256);
    let link = tokio::spawn(run_cell_link(
        CellLinkConfig {
            interface: InterfaceDevice::Router {
                address: router,
                port: 1,
                max_w: 10_000.0,
                config: iec104::net::ClientConfig::default(),
            },
            meter: ConnectionMeter::Iec104 {
                address: meter,
                config: iec104::net::ClientConfig::default(),
            },
            period: StdDuration::from_millis(50),
            cell: CellId::new("cell-1").unwrap(),
            meter_id: MeterId::new("cell.meter").unwrap(),
        },
        commands_rx,
        reports_tx,
        clock.clone(),
    ));
    RouterCell {
        grid,
        clock,
        commands,
        reports,
        link,
        _keep: keep,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prosumer_behind_an_energy_router_exports_its_setpoint_over_iec_104() {
    let RouterCell {
        grid,
        clock,
        commands,
        mut reports,
        link,
        _keep: _plant,
    } = router_cell(&Faults::default(), Vec::new()).await;
    assert_eq!(lock(&grid).routers[0].mode, 1, "the router starts in NG-R1");

    // 3 kW out of the cell for eight simulated minutes, starting 30 s from now (the meter's registers move in
    // steps of 10 Wh over IEC 104: a long interval keeps that small beside its energy).
    let from = clock.now().checked_add(Duration::from_secs(30)).unwrap();
    let until = from.checked_add(Duration::from_secs(480)).unwrap();
    commands.send(setpoint(3000, from, until)).await.unwrap();
    match next_report(&mut reports, |r| {
        matches!(r, DeviceReport::CommandResult { .. })
    })
    .await
    {
        DeviceReport::CommandResult { result, .. } => result.unwrap(),
        _ => unreachable!(),
    }
    {
        let model = lock(&grid);
        assert_eq!(model.routers[0].mode, 4, "NG-R4: flows either way");
        assert!(model.routers[0].enabled);
    }

    // Midway, the router takes 3 kW from the cell's side; the cell's hub covers its load and the export.
    tokio::time::sleep(clock.until(from.checked_add(Duration::from_secs(240)).unwrap())).await;
    {
        let model = lock(&grid);
        let port = model.routers[0].p_w[1];
        assert!((port + 3000.0).abs() < 1.0, "{port} W into the cell's side");
        let hub = model.hubs[0].storage.p_w;
        assert!(
            hub > 4900.0,
            "the hub gives {hub} W: 2 kW of load, 3 kW out"
        );
    }

    let DeviceReport::Measurement(m) =
        next_report(&mut reports, |r| matches!(r, DeviceReport::Measurement(_))).await
    else {
        unreachable!()
    };
    assert_eq!(m.interval_start, from);
    assert_eq!(m.interval, Duration::from_secs(480));
    let wh = m.energy.wh();
    // 3 kW for eight minutes is 400 Wh, within the registers' 10 Wh steps and the link's latency at each end
    // (a control step is 50 ms of real time, 1.25 s of simulated time).
    assert!((380..=410).contains(&wh), "{wh} Wh measured");

    // After the interval the port goes back to zero.
    tokio::time::sleep(StdDuration::from_millis(500)).await;
    let port = lock(&grid).routers[0].setpoint_w[1];
    assert!(port.abs() < 1e-6, "{port} W asked after the interval");
    link.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_der_is_capped_at_its_setpoint_through_a_2030_5_event() {
    use ieee2030_5::net::{ClientConfig, Connection, DerClient, RustlsConnector, tls};
    use ieee2030_5::resources::DERProgram;
    const SPEED: f64 = 10.0;
    let mut keep = Vec::new();
    let (grid, clock) = plant(DER_CELL, SPEED, &mut keep);
    let protocol_clock: ieee2030_5::net::Clock = {
        let clock = clock.clone();
        Arc::new(move || clock.now().unix_ms().div_euclid(1000))
    };

    // The cell's 2030.5 server: one program for its DER, the DER enrolled by its certificate.
    let certs = concat!(env!("CARGO_MANIFEST_DIR"), "/../ieee2030-5/tests/certs/");
    let pem = |name: &str| std::fs::read(format!("{certs}{name}")).unwrap();
    let identity = |who: &str| {
        tls::Identity::from_pem(&pem(&format!("{who}.pem")), &pem(&format!("{who}.key"))).unwrap()
    };
    let now_s = protocol_clock();
    let mut core = ieee2030_5::server::Server::new(1);
    let fsa = core.add_fsa("cell-1");
    let program = core.add_program(
        fsa,
        DERProgram {
            primacy: 1,
            ..Default::default()
        },
    );
    let device = identity("device");
    let lfdi = device.lfdi();
    core.enrol(lfdi, 111_115, &[fsa], now_s);
    let server = Arc::new(Mutex::new(core));
    let (l, address) = listener().await;
    let server_tls = tls::server_config(
        identity("server"),
        tls::trust_anchors(&pem("ca.pem")).unwrap(),
    )
    .unwrap();
    let serving = tokio::spawn(ieee2030_5::net::serve(
        l,
        Some(Arc::new(server_tls)),
        server.clone(),
        protocol_clock.clone(),
    ));
    // The simulated DER's 2030.5 client, in simulated time.
    let client = DerClient::new(
        Connection::new(
            RustlsConnector {
                address: address.to_string(),
                server_name: "localhost".try_into().unwrap(),
                config: Arc::new(
                    tls::client_config(device, tls::trust_anchors(&pem("ca.pem")).unwrap())
                        .unwrap(),
                ),
            },
            "localhost",
        ),
        ClientConfig {
            lfdi,
            pin: Some(111_115),
            dcap: "/dcap".into(),
            server: "cell-1".into(),
            device_category: None,
            supported: ieee2030_5::scheduler::ModeSet::all(),
            seed: 1,
        },
    );
    let driving = tokio::spawn(idea_sim::der_client::run(
        grid.clone(),
        "der".into(),
        client,
        protocol_clock.clone(),
        SPEED,
    ));
    let (l, meter) = listener().await;
    keep.push(
        idea_sim::devices::modbus_model_device(
            l,
            idea_sim::physical::Binding::Meter("der.meter".into()),
            grid.clone(),
            idea_sim::devices::ModbusAt::default(),
            &Faults::default(),
        )
        .await
        .unwrap()
        .1,
    );
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    let before = lock(&grid).ders[0].p_w;
    assert!(before > 9000.0, "uncapped at noon: {before} W");

    let (commands, commands_rx) = mpsc::channel(8);
    let (reports_tx, mut reports) = mpsc::channel(256);
    let link = tokio::spawn(run_cell_link(
        CellLinkConfig {
            interface: InterfaceDevice::Der(DerControls {
                server: server.clone(),
                program,
                rating_w: 10_000.0,
            }),
            meter: ConnectionMeter::SunSpec {
                address: meter.to_string(),
                unit: 1,
            },
            period: StdDuration::from_millis(50),
            cell: CellId::new("cell-1").unwrap(),
            meter_id: MeterId::new("der.meter").unwrap(),
        },
        commands_rx,
        reports_tx,
        clock.clone(),
    ));

    // An import cannot be held by capping an inverter: refused, with the reason.
    let soon = clock.now().checked_add(Duration::from_secs(30)).unwrap();
    commands
        .send(setpoint(
            -1000,
            soon,
            soon.checked_add(Duration::from_secs(60)).unwrap(),
        ))
        .await
        .unwrap();
    match next_report(&mut reports, |r| {
        matches!(r, DeviceReport::CommandResult { .. })
    })
    .await
    {
        DeviceReport::CommandResult { result, .. } => {
            let why = result.unwrap_err();
            assert!(why.contains("cannot hold an import"), "{why}");
        }
        _ => unreachable!(),
    }

    // 3 kW for two simulated minutes from 20 s on: an event at 30 % of the DER's rating.
    let from = clock.now().checked_add(Duration::from_secs(20)).unwrap();
    let until = from.checked_add(Duration::from_secs(120)).unwrap();
    commands.send(setpoint(3000, from, until)).await.unwrap();
    match next_report(&mut reports, |r| {
        matches!(r, DeviceReport::CommandResult { .. })
    })
    .await
    {
        DeviceReport::CommandResult { result, .. } => result.unwrap(),
        _ => unreachable!(),
    }
    tokio::time::sleep(clock.until(from.checked_add(Duration::from_secs(60)).unwrap())).await;
    {
        let model = lock(&grid);
        let der = &model.ders[0];
        assert!((der.max_share - 0.3).abs() < 1e-9, "{}", der.max_share);
        assert!(
            (der.p_w - 3000.0).abs() < 30.0,
            "{} W under the cap",
            der.p_w
        );
    }
    let DeviceReport::Measurement(m) =
        next_report(&mut reports, |r| matches!(r, DeviceReport::Measurement(_))).await
    else {
        unreachable!()
    };
    assert_eq!(m.interval_start, from);
    let wh = m.energy.wh();
    // 3 kW for two minutes is 100 Wh; the DER takes the event at its start within a poll (a simulated second,
    // a tenth of a real one), and until then gives its uncapped 10 kW: a second late is 2 Wh more.
    assert!((95..=112).contains(&wh), "{wh} Wh measured");
    // The DER told the server it received the event and when it started (responseRequired 0x03).
    let statuses: Vec<u8> = server
        .lock()
        .unwrap()
        .responses()
        .iter()
        .filter_map(|r| r.status)
        .collect();
    assert!(statuses.contains(&1), "received: {statuses:?}");
    assert!(statuses.contains(&2), "started: {statuses:?}");
    link.abort();
    driving.abort();
    serving.abort();
}

/// A router that stops answering: the setpoint it was given is reported failed (no command is assumed to have
/// reached it), and the link goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_router_that_stops_answering_fails_the_command() {
    let mut gate = idea_sim::Tasks::default();
    let router_faults = Faults::planned(
        &[idea_sim::fault::FaultPlan {
            fault: idea_sim::fault::Fault::Silent,
            after: StdDuration::from_secs(86_400),
        }],
        &mut gate,
    );
    let RouterCell {
        grid,
        clock,
        commands,
        mut reports,
        link,
        _keep: _plant,
    } = router_cell(&router_faults, vec![gate]).await;
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    router_faults.set(idea_sim::fault::Fault::Silent, true);
    let from = clock.now().checked_add(Duration::from_secs(60)).unwrap();
    let until = from.checked_add(Duration::from_secs(600)).unwrap();
    commands.send(setpoint(3000, from, until)).await.unwrap();
    match next_report(&mut reports, |r| {
        matches!(r, DeviceReport::CommandResult { .. })
    })
    .await
    {
        DeviceReport::CommandResult { result, .. } => {
            let why = result.unwrap_err();
            assert!(why.contains("set_mode"), "{why}");
        }
        _ => unreachable!(),
    }
    assert_eq!(lock(&grid).routers[0].mode, 1, "the router was not touched");
    assert!(!link.is_finished(), "the link goes on");
    link.abort();
}

/// A grid-connected cell whose hub has a connection sensor: a 3 kW load, the hub's sensor the connection
/// meter on the service cable.
const HUB_WITH_A_SENSOR: &str = r#"
name = "a cell whose hub holds its connection"
step_ms = 1000
[grid]
bus = "street"
[[bus]]
name = "street"
kv = 0.4
[[bus]]
name = "cell"
kv = 0.4
[[line]]
name = "service"
from = "street"
to = "cell"
r_ohm = 0.02
x_ohm = 0.005
[[load]]
name = "cell.load"
bus = "cell"
kw = 3.0
pf = 1.0
curve = "flat"
[[hub]]
name = "cell.hub"
bus = "cell"
kw = 5.0
kwh = 10.0
connection_meter = "cell.meter"
[[meter]]
name = "cell.meter"
branch = "service"
"#;

/// Serves `binding` of `grid` over Modbus TCP on a loopback port; returns its address.
async fn modbus_device(
    grid: &SharedGrid,
    binding: idea_sim::physical::Binding,
    keep: &mut Vec<idea_sim::Tasks>,
) -> String {
    let (listener, address) = listener().await;
    let (_, tasks) = idea_sim::devices::modbus_model_device(
        listener,
        binding,
        grid.clone(),
        idea_sim::devices::ModbusAt::default(),
        &Faults::default(),
    )
    .await
    .unwrap();
    keep.push(tasks);
    address.to_string()
}

/// NG-P1 in lockstep: a hub with a connection sensor is told the setpoint in force once, when it starts
/// (`ConnCtl` HOLD, `ConnWSet`), and holds the connection at it itself as the load changes — the link is due
/// again only when the setpoint lapses; then the hub is told to hold nothing.
#[tokio::test]
async fn a_hub_with_a_connection_sensor_is_told_the_setpoint_once_and_holds_it_itself() {
    let topology = Topology::from_toml(HUB_WITH_A_SENSOR).unwrap();
    let grid: SharedGrid = Arc::new(Mutex::new(
        idea_sim::grid::Microgrid::new(&topology, 1, t(NOON)).unwrap(),
    ));
    let mut keep = Vec::new();
    let hub = modbus_device(
        &grid,
        idea_sim::physical::Binding::Hub("cell.hub".into()),
        &mut keep,
    )
    .await;
    let meter = modbus_device(
        &grid,
        idea_sim::physical::Binding::Meter("cell.meter".into()),
        &mut keep,
    )
    .await;
    let mut link = idea_agent::device::link::CellLink::open(CellLinkConfig {
        interface: InterfaceDevice::Hub {
            address: hub,
            unit: 1,
        },
        meter: ConnectionMeter::SunSpec {
            address: meter,
            unit: 1,
        },
        period: StdDuration::from_secs(1),
        cell: CellId::new("cell-1").unwrap(),
        meter_id: MeterId::new("cell.meter").unwrap(),
    })
    .await
    .unwrap();
    let step_model = |n: usize| {
        let mut g = lock(&grid);
        for _ in 0..n {
            g.step().unwrap();
        }
        g.now()
    };
    let held = || lock(&grid).hub_mut("cell.hub").unwrap().hold_export_w;
    let export = || -lock(&grid).meter("cell.meter").unwrap().p_w;
    let now = step_model(5);
    assert!(link.due(now), "the hub has not been told anything yet");
    link.step_at(now).await;
    assert!(!link.due(now), "nothing in force, and the hub told so");
    assert_eq!(held(), None);
    let (from, until) = (
        now.checked_add(Duration::from_secs(10)).unwrap(),
        now.checked_add(Duration::from_secs(70)).unwrap(),
    );
    let report = link.command_at(&setpoint(1000, from, until), now).await;
    assert!(
        matches!(report, DeviceReport::CommandResult { result: Ok(()), .. }),
        "{report:?}"
    );
    assert!(!link.due(now), "the setpoint has not started");
    let now = step_model(10);
    assert!(link.due(now), "the setpoint started");
    link.step_at(now).await;
    assert_eq!(held(), Some(1000.0));
    assert!(!link.due(now));
    // The hub holds 1 kW of export on its own, through a load step, the link not stepped.
    step_model(10);
    assert!((export() - 1000.0).abs() <= 5.0, "{} W", export());
    lock(&grid).step_load("cell.load", 800.0).unwrap();
    let now = step_model(10);
    assert!((export() - 1000.0).abs() <= 5.0, "{} W", export());
    assert!(!link.due(now));
    assert_eq!(link.setpoint_at(now), Some(1000.0));
    // The setpoint lapses: the link is due, and the hub is told to hold nothing.
    let now = step_model(40);
    assert!(now >= until);
    assert!(link.due(now));
    link.step_at(now).await;
    assert_eq!(held(), None);
    assert!(!link.due(now));
}
