//! Each simulated device driven over its real socket, checked against the physics behind it: the model is
//! stepped here, in simulated time, while the device answers on loopback.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::float_cmp)]

use idea_proto::Timestamp;
use idea_sim::Tasks;
use idea_sim::devices::{ModbusAt, modbus_model_device};
use idea_sim::fault::{Fault, FaultPlan, Faults};
use idea_sim::grid::{Microgrid, SharedGrid, Topology, lock};
use idea_sim::physical::Binding;
use modbus_profiles::net::Client;
use modbus_profiles::sunspec::{Catalog, Device};
use std::sync::{Arc, Mutex};
use tokio::net::TcpStream;

fn model(text: &str, start_unix_s: i64) -> SharedGrid {
    let topology = Topology::from_toml(text).unwrap();
    let start = Timestamp::from_unix_secs(start_unix_s).unwrap();
    Arc::new(Mutex::new(Microgrid::new(&topology, 11, start).unwrap()))
}

/// 2026-06-21 00:00 UTC: night, the PV gives nothing.
const MIDNIGHT: i64 = 1_781_995_200;

async fn serve(grid: &SharedGrid, binding: Binding, faults: &Faults) -> (Client<TcpStream>, Tasks) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let (_, tasks) = modbus_model_device(
        listener,
        binding,
        Arc::clone(grid),
        ModbusAt::default(),
        faults,
    )
    .await
    .unwrap();
    let client = Client::connect(&address, 1).await.unwrap();
    (client, tasks)
}

async fn scan(client: &mut Client<TcpStream>) -> Device {
    client.scan(Catalog::builtin().unwrap()).await.unwrap()
}

fn value(device: &Device, model: u16, path: &str) -> f64 {
    device
        .model(model)
        .unwrap()
        .get_scaled(path)
        .unwrap()
        .unwrap()
}

async fn write(client: &mut Client<TcpStream>, model: u16, values: &[(&str, f64)]) {
    let mut device = scan(client).await;
    let m = device.model_mut(model).unwrap();
    for (path, v) in values {
        m.set_scaled(path, *v).unwrap();
    }
    client.write_verified(m).await.unwrap();
}

fn steps(grid: &SharedGrid, n: usize) {
    let mut g = lock(grid);
    for _ in 0..n {
        g.step().unwrap();
    }
}

const ROUTER: &str = include_str!("topologies/two-microgrids.toml");

/// NG-R4 over Modbus: the microgrids are asked to give 10 kW to the network, the export limit is 3 kW; the
/// router never exports beyond it, the microgrid ports are curtailed in proportion, losses come off the
/// export, and the state says it is limiting.
#[tokio::test]
async fn a_router_in_ng_r4_never_exports_beyond_its_limit() {
    let grid = model(ROUTER, MIDNIGHT);
    let (mut client, _tasks) =
        serve(&grid, Binding::Router("router".into()), &Faults::default()).await;
    write(
        &mut client,
        64900,
        &[
            ("Mode", 4.0),
            ("WMaxGrid", 3000.0),
            ("Prt[1].WSet", -6000.0),
            ("Prt[2].WSet", -4000.0),
        ],
    )
    .await;
    let mut exports = Vec::new();
    for _ in 0..20 {
        steps(&grid, 5);
        let d = scan(&mut client).await;
        exports.push(value(&d, 64900, "Prt[0].W"));
        assert_eq!(value(&d, 64900, "St"), 2.0, "limiting");
        let (p1, p2) = (value(&d, 64900, "Prt[1].W"), value(&d, 64900, "Prt[2].W"));
        assert!(
            (p1 + 1800.0).abs() <= 1.0 && (p2 + 1200.0).abs() <= 1.0,
            "{p1} {p2}"
        );
    }
    assert!(exports.iter().all(|w| *w <= 3000.0), "{exports:?}");
    // 3 kW taken from the microgrids, two conversions at 98 %: 2881 W reach the network.
    assert!(
        exports.iter().all(|w| (w - 2881.0).abs() <= 1.0),
        "{exports:?}"
    );
    // The hubs supply what the router takes (and the load), seen in the model.
    let g = lock(&grid);
    assert!(
        (g.hubs[0].storage.p_w - 3800.0).abs() < 1.0,
        "{}",
        g.hubs[0].storage.p_w
    );
    assert!((g.hubs[1].storage.p_w - 1200.0).abs() < 1.0);
    assert!(
        (g.grid.as_ref().unwrap().p_w + 2881.0 * 1.0).abs() < 2.0,
        "the network absorbs the export"
    );
}

const METERED: &str = include_str!("topologies/house-on-a-cable.toml");

/// The SunSpec 203 meter's energy registers advance by the integral of the simulated flow through its cable
/// within 0.1 %, over a day of changing load and sun (import at night, export at noon), from the counts it
/// was installed with (never 0, which an `acc32` reads as "not accumulated").
#[tokio::test]
async fn the_meter_integrates_the_simulated_flow() {
    let grid = model(METERED, MIDNIGHT);
    let (mut client, _tasks) = serve(
        &grid,
        Binding::Meter("house.meter".into()),
        &Faults::default(),
    )
    .await;
    let installed = scan(&mut client).await;
    let (imp0, exp0) = (
        value(&installed, 203, "TotWhImp"),
        value(&installed, 203, "TotWhExp"),
    );
    assert!(imp0 > 0.0 && exp0 > 0.0, "installed counts {imp0} {exp0}");
    let (mut import, mut export) = (0.0, 0.0);
    {
        let mut g = lock(&grid);
        let dt = g.step_s();
        for _ in 0..(24 * 360) {
            g.step().unwrap();
            let w = g.branches[0].p_from_w;
            if w >= 0.0 {
                import += w * dt / 3600.0;
            } else {
                export -= w * dt / 3600.0;
            }
        }
    }
    let d = scan(&mut client).await;
    let (imp, exp) = (
        value(&d, 203, "TotWhImp") - imp0,
        value(&d, 203, "TotWhExp") - exp0,
    );
    assert!(import > 10_000.0 && export > 1_000.0, "{import} {export}");
    assert!(
        (imp - import).abs() <= import * 0.001,
        "import {imp} vs {import}"
    );
    assert!(
        (exp - export).abs() <= export * 0.001,
        "export {exp} vs {export}"
    );
    // Its power reads the cable's flow now.
    let flow = lock(&grid).branches[0].p_from_w;
    assert!((value(&d, 203, "W") - flow).abs() <= 1.0);
}

/// A device finds its model element where it was last, and again by name when the model's lists change (they
/// are public): a meter moved along the list still reads its own flow, and one taken out of the model keeps
/// its last reading.
#[tokio::test]
async fn a_device_follows_its_element_when_the_models_lists_change() {
    let grid = model(METERED, MIDNIGHT);
    let (mut client, _tasks) = serve(
        &grid,
        Binding::Meter("house.meter".into()),
        &Faults::default(),
    )
    .await;
    steps(&grid, 10);
    let own = lock(&grid).meter("house.meter").unwrap().p_w;
    assert!((value(&scan(&mut client).await, 203, "W") - own).abs() <= 1.0);
    {
        let mut g = lock(&grid);
        let mut other = g.meter("house.meter").unwrap().clone();
        other.name = "other.meter".into();
        other.p_w = own + 5000.0;
        g.meters.insert(0, other);
    }
    assert!((value(&scan(&mut client).await, 203, "W") - own).abs() <= 1.0);
    lock(&grid).meters.retain(|m| m.name != "house.meter");
    assert!((value(&scan(&mut client).await, 203, "W") - own).abs() <= 1.0);
}

const RELAYED: &str = include_str!("topologies/shop-behind-a-relay.toml");

/// An overload trips the relay within its curve's operate time ±5 %; the relay reports the trip over Modbus
/// and recloses on command once the overload is gone.
#[tokio::test]
async fn a_relay_trips_on_its_curve_and_recloses_on_command() {
    let grid = model(RELAYED, MIDNIGHT);
    let (mut client, _tasks) = serve(
        &grid,
        Binding::Relay("shop.relay".into()),
        &Faults::default(),
    )
    .await;
    steps(&grid, 100);
    let d = scan(&mut client).await;
    assert_eq!(value(&d, 64904, "Pos"), 1.0);
    let before = value(&d, 64904, "A");
    assert!(
        (before - 5000.0 / (3f64.sqrt() * 400.0)).abs() < 0.1,
        "{before}"
    );
    let (stepped_at, current, operate) = {
        let mut g = lock(&grid);
        g.step_load("shop", 15_000.0).unwrap();
        let at = g.elapsed_s();
        g.step().unwrap();
        let current = g.relay("shop.relay").unwrap().current_a;
        let operate = g
            .relay("shop.relay")
            .unwrap()
            .overcurrent
            .operate_time_s(current)
            .unwrap();
        for _ in 0..1000 {
            if !g.relay("shop.relay").unwrap().closed {
                break;
            }
            g.step().unwrap();
        }
        (at, current, operate)
    };
    let tripped = lock(&grid)
        .events()
        .find(|e| e.what.contains("tripped"))
        .map(|e| e.at_s)
        .expect("the relay tripped");
    let took = tripped - stepped_at;
    assert!(
        (took - operate).abs() <= operate * 0.05,
        "tripped after {took} s, curve says {operate} s at {current} A"
    );
    assert!(
        operate > 2.0 && operate < 5.0,
        "a meaningful test point: {operate}"
    );
    steps(&grid, 2);
    let d = scan(&mut client).await;
    assert_eq!(value(&d, 64904, "Pos"), 0.0);
    assert_eq!(value(&d, 64904, "Trip"), 1.0, "overcurrent");
    assert_eq!(
        value(&d, 64904, "A"),
        0.0,
        "nothing flows through an open relay"
    );
    // Overload removed, reclose by command.
    lock(&grid).step_load("shop", -15_000.0).unwrap();
    write(&mut client, 64904, &[("Cmd", 1.0)]).await;
    steps(&grid, 10);
    let d = scan(&mut client).await;
    assert_eq!(value(&d, 64904, "Pos"), 1.0);
    assert_eq!(value(&d, 64904, "Trip"), 0.0);
    assert_eq!(value(&d, 64904, "Ops"), 2.0, "one trip, one close");
}

const DER: &str = include_str!("topologies/der-on-a-cable.toml");

/// A voltage step at the network moves the DER's bus voltage; the DER answers with the volt-var curve's
/// reactive power at the voltage it measures (its SunSpec 705 curve, the IEEE 1547 Category B default),
/// reaching 90 % of the change within the curve's response time.
#[tokio::test]
async fn a_der_answers_a_voltage_step_with_the_curves_reactive_power() {
    let grid = model(DER, MIDNIGHT);
    let (mut client, _tasks) = serve(&grid, Binding::Der("der".into()), &Faults::default()).await;
    steps(&grid, 50);
    let d = scan(&mut client).await;
    assert!(
        value(&d, 701, "Var").abs() <= 1.0,
        "no reactive power at 1.0 p.u."
    );
    lock(&grid).set_grid_voltage(1.06).unwrap();
    // The 705 curve's response time is 5 s: 90 % of the change by then.
    steps(&grid, 50);
    let at_response = value(&scan(&mut client).await, 701, "Var");
    steps(&grid, 300);
    let d = scan(&mut client).await;
    let (var, llv) = (value(&d, 701, "Var"), value(&d, 701, "LLV"));
    let v_pu = llv / 400.0;
    assert!(v_pu > 1.04 && v_pu < 1.06, "{v_pu}");
    // Category B: 0 at 1.02 p.u., −44 % at 1.08 p.u., linear between.
    let expected = -0.44 * (v_pu - 1.02) / 0.06 * 10_000.0;
    assert!(
        (var - expected).abs() <= 30.0,
        "{var} var at {v_pu} p.u., curve says {expected}"
    );
    assert!(
        at_response <= 0.88 * var,
        "90 % by the response time: {at_response} of {var}"
    );
}

const ISLAND: &str = include_str!("topologies/island.toml");

/// A 10 % load step on an island: the hub's frequency (read over Modbus) falls by what droop, inertia and
/// restoration give (`ng_control::hub::simulate` as the reference), then returns into the restored band
/// within one averaging window of the norms, and the trace passes the norms.
#[tokio::test]
async fn a_hub_droops_after_a_load_step_and_restores_within_the_norms() {
    use ng_control::hub::{Cell, Event, EventKind, FrequencyNorms, HubSettings, simulate};
    let grid = model(ISLAND, MIDNIGHT);
    let (mut client, _tasks) = serve(&grid, Binding::Hub("hub".into()), &Faults::default()).await;
    steps(&grid, 100);
    let d = scan(&mut client).await;
    assert_eq!(value(&d, 64901, "Hz"), 50.0);
    assert!((value(&d, 64901, "W") - 5000.0).abs() <= 1.0);
    lock(&grid).step_load("load", 1000.0).unwrap();
    let mut trace = vec![(0.0, 50.0)];
    for k in 1..=600 {
        steps(&grid, 1);
        let d = scan(&mut client).await;
        trace.push((f64::from(k) * 0.1, value(&d, 64901, "Hz")));
    }
    let nadir = trace.iter().map(|(_, f)| *f).fold(f64::INFINITY, f64::min);
    let norms = FrequencyNorms::defaults();
    let reference = simulate(
        &ng_control::hub::Microgrid {
            nominal_hz: 50.0,
            cells: vec![Cell {
                name: "hub".into(),
                hub_rating_w: 10_000.0,
                hub: HubSettings::defaults(),
                load_w: 5000.0,
                pv_w: 0.0,
            }],
            machine_inertia_s: 0.0,
            load_damping: 0.0,
        },
        &[Event {
            at_s: 0.0,
            kind: EventKind::LoadStep {
                cell: 0,
                delta_w: 1000.0,
            },
        }],
        60.0,
        0.01,
        0.1,
        &norms,
    )
    .unwrap();
    assert!(nadir < 49.9, "the droop shows: {nadir}");
    assert!(
        (nadir - reference.nadir_hz).abs() <= 0.02,
        "{nadir} vs {}",
        reference.nadir_hz
    );
    let verdict = norms.judge(&trace);
    let restored = verdict.restored_at_s.expect("restored");
    assert!(
        restored <= norms.averaging_window_s,
        "restored after {restored} s"
    );
    assert!(verdict.passes, "{:?}", verdict.failures);
    assert!((value(&scan(&mut client).await, 64901, "W") - 6000.0).abs() <= 2.0);
}

/// `stale`: the measurements freeze while the model moves on; `silent`: the device stops answering.
#[tokio::test]
async fn faults_freeze_measurements_or_silence_the_device() {
    let grid = model(ISLAND, MIDNIGHT);
    let faults = Faults::default();
    let (mut client, _tasks) = serve(&grid, Binding::Hub("hub".into()), &faults).await;
    steps(&grid, 10);
    let d = scan(&mut client).await;
    assert!((value(&d, 64901, "W") - 5000.0).abs() <= 1.0);
    faults.set(Fault::Stale, true);
    lock(&grid).step_load("load", 2000.0).unwrap();
    steps(&grid, 100);
    let d = scan(&mut client).await;
    assert!(
        (value(&d, 64901, "W") - 5000.0).abs() <= 1.0,
        "frozen at the old value"
    );
    faults.set(Fault::Stale, false);
    let d = scan(&mut client).await;
    assert!((value(&d, 64901, "W") - 7000.0).abs() <= 1.0, "live again");

    let mut tasks = Tasks::default();
    let plan: FaultPlan = "silent".parse().unwrap();
    let silent = Faults::planned(&[plan], &mut tasks);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let (mut quiet, _served) = serve(&grid, Binding::Hub("hub".into()), &silent).await;
    quiet.set_timeout(std::time::Duration::from_millis(300));
    let e = quiet.read_holding_registers(40000, 2).await.unwrap_err();
    assert!(matches!(e, modbus_profiles::Error::Timeout(_)), "{e}");
}

/// A DER driven by a 2030.5 server: its 2030.5 client registers over mutual TLS, receives the program's
/// default control (60 % of maximum active power) and the model's DER delivers no more than that, seen over
/// its Modbus socket too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_der_follows_the_2030_5_servers_control() {
    use ieee2030_5::net::{ClientConfig, Connection, DerClient, RustlsConnector, tls};
    use ieee2030_5::resources::{DERControlBase, DERProgram, DefaultDERControl};
    let certs = concat!(env!("CARGO_MANIFEST_DIR"), "/../ieee2030-5/tests/certs/");
    let pem = |name: &str| std::fs::read(format!("{certs}{name}")).unwrap();
    let identity = |who: &str| {
        tls::Identity::from_pem(&pem(&format!("{who}.pem")), &pem(&format!("{who}.key"))).unwrap()
    };
    let now = ieee2030_5::net::system_clock();
    let mut core = ieee2030_5::server::Server::new(1);
    let fsa = core.add_fsa("feeder");
    let program = core.add_program(
        fsa,
        DERProgram {
            primacy: 1,
            ..Default::default()
        },
    );
    let limit = DERControlBase {
        op_mod_max_lim_w: Some(6000),
        ..Default::default()
    };
    core.set_default(
        program,
        DefaultDERControl {
            der_control_base: limit,
            ..Default::default()
        },
    );
    let device = identity("device");
    core.enrol(device.lfdi(), 111_115, &[fsa], now());
    let server_tls = tls::server_config(
        identity("server"),
        tls::trust_anchors(&pem("ca.pem")).unwrap(),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(ieee2030_5::net::serve(
        listener,
        Some(Arc::new(server_tls)),
        Arc::new(Mutex::new(core)),
        now.clone(),
    ));

    // Noon with a large array: the DER would deliver its full 10 kVA.
    let grid = model(
        &DER.replace("kwp = 0.0", "kwp = 14.0"),
        MIDNIGHT + 12 * 3600,
    );
    steps(&grid, 20);
    assert!(
        lock(&grid).ders[0].p_w > 9000.0,
        "{}",
        lock(&grid).ders[0].p_w
    );
    let lfdi = device.lfdi();
    let connector = RustlsConnector {
        address,
        server_name: "localhost".try_into().unwrap(),
        config: Arc::new(
            tls::client_config(device, tls::trust_anchors(&pem("ca.pem")).unwrap()).unwrap(),
        ),
    };
    let client = DerClient::new(
        Connection::new(connector, "localhost"),
        ClientConfig {
            lfdi,
            pin: Some(111_115),
            dcap: "/dcap".into(),
            server: "utility".into(),
            device_category: None,
            supported: ieee2030_5::scheduler::ModeSet::all(),
            seed: 1,
        },
    );
    let driving = tokio::spawn(idea_sim::der_client::run(
        Arc::clone(&grid),
        "der".into(),
        client,
        now,
        1.0,
    ));
    let mut applied = false;
    for _ in 0..100 {
        if (lock(&grid).ders[0].max_share - 0.6).abs() < 1e-9 {
            applied = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(applied, "the default control reached the DER");
    steps(&grid, 20);
    let (mut modbus, _tasks) = serve(&grid, Binding::Der("der".into()), &Faults::default()).await;
    let w = value(&scan(&mut modbus).await, 701, "W");
    assert!(
        (w - 6000.0).abs() <= 1.0,
        "{w} W under a 60 % limit of 10 kW"
    );
    driving.abort();
}

/// A hub on a grid-connected bus follows its setpoint (SunSpec 64901 WSet) at its ramp rate, within its
/// discharge rate limit.
#[tokio::test]
async fn a_following_hub_ramps_to_its_setpoint_within_its_limits() {
    let text = include_str!("topologies/hub-beside-the-network.toml");
    let grid = model(text, MIDNIGHT);
    let (mut client, _tasks) = serve(&grid, Binding::Hub("hub".into()), &Faults::default()).await;
    write(&mut client, 64901, &[("WSet", 4000.0)]).await;
    steps(&grid, 10);
    assert!(
        (value(&scan(&mut client).await, 64901, "W") - 1000.0).abs() <= 1.0,
        "1 kW/s for 1 s"
    );
    steps(&grid, 10);
    assert!((value(&scan(&mut client).await, 64901, "W") - 2000.0).abs() <= 1.0);
    steps(&grid, 50);
    assert!(
        (value(&scan(&mut client).await, 64901, "W") - 4000.0).abs() <= 1.0,
        "there, and no further"
    );
    // A discharge rate below the setpoint caps it.
    write(&mut client, 64901, &[("WMaxDisChaRte", 2500.0)]).await;
    steps(&grid, 30);
    assert!((value(&scan(&mut client).await, 64901, "W") - 2500.0).abs() <= 1.0);
    // The network takes what the hub gives.
    assert!((lock(&grid).grid.as_ref().unwrap().p_w + 2500.0).abs() <= 1.0);
}

/// The meter over IEC 104: a counter interrogation returns its energy registers as integrated totals
/// (M_IT_NA_1, cause 37) equal to the model's within the counters' 10 Wh step, and a station interrogation its
/// measured power.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_meter_answers_counter_interrogation_with_its_integrated_totals() {
    use iec104::net::{Client as Master, ClientConfig};
    let grid = model(METERED, MIDNIGHT);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let _tasks = idea_sim::devices::iec104_meter(
        listener,
        &idea_sim::devices::Iec104Station::default(),
        Arc::clone(&grid),
        "house.meter",
        &Faults::default(),
    )
    .await
    .unwrap();
    steps(&grid, 24 * 360);
    let (import, export) = {
        let g = lock(&grid);
        let m = g.meter("house.meter").unwrap();
        (m.import_wh, m.export_wh)
    };
    // The device samples the model every 100 ms.
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let wait = std::time::Duration::from_secs(5);
    let mut master = Master::connect(address, ClientConfig::default()).unwrap();
    master.wait_started(wait).await.unwrap();
    let totals = master.interrogate_counters(1, 5, wait).await.unwrap();
    let counter =
        |ioa: u32| {
            totals
                .iter()
                .filter(|a| a.type_id == 15 && a.cot.cause == 37)
                .find_map(|a| match &a.objects {
                    iec104::Objects::Known(objects) => objects
                        .iter()
                        .find(|o| o.ioa == ioa)
                        .and_then(|o| match o.elements.first() {
                            Some(iec104::Element::Bcr(v, _)) => Some(f64::from(*v)),
                            _ => None,
                        }),
                    iec104::Objects::Raw(_) => None,
                })
                .unwrap()
        };
    assert!(import > 10_000.0, "{import}");
    assert!(
        (counter(2000) - import).abs() <= 10.0,
        "{} vs {import}",
        counter(2000)
    );
    assert!(
        (counter(2001) - export).abs() <= 10.0,
        "{} vs {export}",
        counter(2001)
    );
    let data = master.interrogate(1, 20, wait).await.unwrap();
    assert!(
        data.iter().all(|a| a.type_id != 15),
        "counters answer counter interrogation only"
    );
    assert!(data.iter().any(|a| a.type_id == 13));
}

/// IOT-05 over MQTT: the meter's and the relay's states are published from the model, the relay obeys a
/// command on its `set` topic and ignores one that does not parse.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_meter_and_a_relay_over_mqtt() {
    use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
    let broker = fipa_acl::mqtt::EmbeddedBroker::start().unwrap();
    let text = format!("{RELAYED}\n[[meter]]\nname = \"shop.meter\"\nelement = \"shop\"\n");
    let grid = model(&text, MIDNIGHT);
    steps(&grid, 100);
    let devices = idea_sim::mqtt::MqttDevices {
        broker: ("127.0.0.1".into(), broker.addr().port()),
        prefix: "idea/devices".into(),
        meters: vec!["shop.meter".into()],
        relays: vec!["shop.relay".into()],
        period: std::time::Duration::from_millis(100),
    };
    let serving = tokio::spawn(idea_sim::mqtt::run(
        Arc::clone(&grid),
        devices,
        Faults::default(),
    ));
    let (client, mut events) = AsyncClient::new(
        MqttOptions::new("observer", "127.0.0.1", broker.addr().port()),
        16,
    );
    client
        .subscribe("idea/devices/#", QoS::AtLeastOnce)
        .await
        .unwrap();
    let mut next_state = async |name: &str| loop {
        if let Ok(Event::Incoming(Packet::Publish(p))) = events.poll().await
            && p.topic == format!("idea/devices/{name}/state")
        {
            break serde_json::from_slice::<serde_json::Value>(&p.payload).unwrap();
        }
    };
    let meter = tokio::time::timeout(std::time::Duration::from_secs(10), next_state("shop.meter"))
        .await
        .unwrap();
    assert_eq!(meter["kind"], "meter");
    assert!(
        (meter["p_w"].as_f64().unwrap() - 5000.0).abs() < 1.0,
        "{meter}"
    );
    let import = lock(&grid).meter("shop.meter").unwrap().import_wh;
    assert!((meter["import_wh"].as_f64().unwrap() - import).abs() < 1e-6);
    // A command that does not parse changes nothing; one that does opens the relay.
    client
        .publish(
            "idea/devices/shop.relay/set",
            QoS::AtLeastOnce,
            false,
            "{\"close\": \"maybe\"}",
        )
        .await
        .unwrap();
    client
        .publish(
            "idea/devices/shop.relay/set",
            QoS::AtLeastOnce,
            false,
            "{\"close\": false}",
        )
        .await
        .unwrap();
    let opened = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            let relay = next_state("shop.relay").await;
            if relay["closed"] == false {
                break relay;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(opened["cause"], "command");
    assert_eq!(
        opened["operations"], 1,
        "one operation: the malformed command did nothing"
    );
    serving.abort();
}

/// A model hub whose client goes quiet past its reversion timeout (SunSpec 64901 `RvrtTms`) returns its
/// setpoint to the default on its own: the server's tick, with no request arriving, applies the change to the
/// model — and a tick that changes nothing leaves the model alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_hub_left_alone_past_its_reversion_timeout_returns_to_zero() {
    let text = include_str!("topologies/hub-beside-the-network.toml");
    let grid = model(text, MIDNIGHT);
    let (mut client, _tasks) = serve(&grid, Binding::Hub("hub".into()), &Faults::default()).await;
    write(&mut client, 64901, &[("RvrtTms", 1.0), ("WSet", 3000.0)]).await;
    assert_eq!(
        lock(&grid).hub_mut("hub").unwrap().storage.setpoint_w,
        3000.0
    );
    // Quiet ticks before the timeout change nothing the model sees.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        lock(&grid).hub_mut("hub").unwrap().storage.setpoint_w,
        3000.0
    );
    let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        if lock(&grid).hub_mut("hub").unwrap().storage.setpoint_w == 0.0 {
            break;
        }
        assert!(
            std::time::Instant::now() < until,
            "the hub did not revert within 5 s of a 1 s timeout"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let device = scan(&mut client).await;
    assert_eq!(value(&device, 64901, "WSet"), 0.0);
}

const HOLDING: &str = include_str!("topologies/cell-holding-its-connection.toml");

/// NG-P1 over Modbus: a hub with a connection sensor, told to hold its cell's connection at an export
/// (SunSpec 64901 `ConnCtl` HOLD, `ConnWSet`), sets its battery power itself from what the sensor measures —
/// no client in the loop — and holds the export as the load steps; its `ConnW` reads what the meter measures;
/// within its discharge limit it gives what it can; OFF returns the battery to `WSet`.
#[tokio::test]
async fn a_hub_holds_its_connection_at_the_export_asked_as_the_load_changes() {
    let grid = model(HOLDING, MIDNIGHT);
    let (mut client, _tasks) = serve(&grid, Binding::Hub("hub".into()), &Faults::default()).await;
    steps(&grid, 5);
    let before = scan(&mut client).await;
    assert!(
        (value(&before, 64901, "ConnW") + 3000.0).abs() <= 20.0,
        "a 3 kW load imports 3 kW: {}",
        value(&before, 64901, "ConnW")
    );
    write(
        &mut client,
        64901,
        &[("ConnWSet", 1000.0), ("ConnCtl", 1.0)],
    )
    .await;
    steps(&grid, 10);
    let meter_export = |g: &SharedGrid| -lock(g).meter("cell.meter").unwrap().p_w;
    assert!(
        (meter_export(&grid) - 1000.0).abs() <= 5.0,
        "1 kW exported: {} W",
        meter_export(&grid)
    );
    let held = scan(&mut client).await;
    assert!((value(&held, 64901, "ConnW") - meter_export(&grid)).abs() <= 1.0);
    assert!(
        (value(&held, 64901, "W") - 4000.0).abs() <= 20.0,
        "the battery gives the 3 kW load and the 1 kW export: {}",
        value(&held, 64901, "W")
    );
    // The load grows by 500 W: the hub follows without being told.
    lock(&grid).step_load("cell.load", 500.0).unwrap();
    steps(&grid, 10);
    assert!(
        (meter_export(&grid) - 1000.0).abs() <= 5.0,
        "still 1 kW: {} W",
        meter_export(&grid)
    );
    // A discharge limit below what holding needs caps the battery: the export falls short.
    write(&mut client, 64901, &[("WMaxDisChaRte", 4000.0)]).await;
    steps(&grid, 10);
    let w = value(&scan(&mut client).await, 64901, "W");
    assert!((w - 4000.0).abs() <= 1.0, "{w} W at a 4 kW limit");
    assert!(meter_export(&grid) < 600.0, "{}", meter_export(&grid));
    // OFF: the battery follows WSet (0) again.
    write(&mut client, 64901, &[("ConnCtl", 0.0)]).await;
    steps(&grid, 5);
    assert!(value(&scan(&mut client).await, 64901, "W").abs() <= 1.0);
    assert!((meter_export(&grid) + 3500.0).abs() <= 20.0);
}

/// A hub without a connection sensor refuses to hold a connection: the write of `ConnCtl` HOLD is an
/// illegal data value (Modbus exception 3), and its `ConnW` is not implemented.
#[tokio::test]
async fn a_hub_without_a_connection_sensor_refuses_to_hold_one() {
    let text = include_str!("topologies/hub-beside-the-network.toml");
    let grid = model(text, MIDNIGHT);
    let (mut client, _tasks) = serve(&grid, Binding::Hub("hub".into()), &Faults::default()).await;
    let mut device = scan(&mut client).await;
    let m = device.model_mut(64901).unwrap();
    assert_eq!(m.get_scaled("ConnW").unwrap(), None, "not implemented");
    let address = m.address();
    m.set_scaled("ConnCtl", 1.0).unwrap();
    let writes = m.take_writes();
    let w = &writes[0];
    let answer = client
        .write_multiple_registers(w.address, &w.registers)
        .await
        .unwrap();
    assert_eq!(
        answer,
        Err(modbus_profiles::frame::ExceptionCode::IllegalDataValue),
        "written at {} (model at {address})",
        w.address
    );
    assert_eq!(lock(&grid).hub_mut("hub").unwrap().hold_export_w, None);
}

/// The topology checks a hub's connection sensor: it must be a meter of a line or transformer that ends at
/// the hub's bus.
#[test]
fn a_connection_sensor_must_measure_a_branch_at_the_hubs_bus() {
    let start = Timestamp::from_unix_secs(MIDNIGHT).unwrap();
    let build = |text: &str| {
        let topology = Topology::from_toml(text)?;
        Microgrid::new(&topology, 11, start).map(|_| ())
    };
    build(HOLDING).unwrap();
    let missing = HOLDING.replace(
        "connection_meter = \"cell.meter\"",
        "connection_meter = \"nowhere.meter\"",
    );
    assert!(
        build(&missing)
            .unwrap_err()
            .to_string()
            .contains("connection_meter"),
        "{:?}",
        build(&missing)
    );
    let of_the_load = HOLDING.replace("branch = \"service\"", "element = \"cell.load\"");
    let e = build(&of_the_load).unwrap_err().to_string();
    assert!(e.contains("a meter of a line or transformer"), "{e}");
    // A second bus beyond the cell, the hub on it: the service line does not end there.
    let beyond = format!(
        "{}\n[[bus]]\nname = \"shed\"\nkv = 0.4\n[[line]]\nname = \"yard\"\nfrom = \"cell\"\nto = \"shed\"\nr_ohm = 0.01\nx_ohm = 0.002\n",
        HOLDING.replace("bus = \"cell\"\nkw = 5.0", "bus = \"shed\"\nkw = 5.0")
    );
    let e = build(&beyond).unwrap_err().to_string();
    assert!(e.contains("ends at the hub's bus"), "{e}");
}

/// A hub holding its connection whose client goes quiet past the reversion timeout stops holding it
/// (`ConnCtl` returns to OFF, SunSpec 64901 `RvrtTms`): a lost agent never leaves a battery chasing an old
/// contract.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_left_alone_past_its_reversion_timeout_stops_holding_its_connection() {
    let grid = model(HOLDING, MIDNIGHT);
    let (mut client, _tasks) = serve(&grid, Binding::Hub("hub".into()), &Faults::default()).await;
    write(
        &mut client,
        64901,
        &[("RvrtTms", 1.0), ("ConnWSet", 500.0), ("ConnCtl", 1.0)],
    )
    .await;
    assert_eq!(
        lock(&grid).hub_mut("hub").unwrap().hold_export_w,
        Some(500.0)
    );
    let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while lock(&grid).hub_mut("hub").unwrap().hold_export_w.is_some() {
        assert!(
            std::time::Instant::now() < until,
            "the hub still held its connection 5 s after a 1 s timeout"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(value(&scan(&mut client).await, 64901, "ConnCtl"), 0.0);
}

/// In an island two hubs form, a hub holding its connection shifts its dispatch on the droop until its cell
/// exports what was asked — the other cell's hub, forming with it, takes the difference — and the island's
/// frequency stays within the hub's norms.
#[tokio::test]
async fn a_hub_forming_an_island_holds_its_connection_through_its_dispatch() {
    let grid = model(
        include_str!("topologies/two-cells-in-an-island.toml"),
        MIDNIGHT,
    );
    let (mut client, _tasks) = serve(&grid, Binding::Hub("a.hub".into()), &Faults::default()).await;
    steps(&grid, 20);
    let export = |g: &SharedGrid| -lock(g).meter("a.meter").unwrap().p_w;
    assert!(
        export(&grid).abs() <= 100.0,
        "each cell about balanced by its own hub: {}",
        export(&grid)
    );
    write(
        &mut client,
        64901,
        &[("ConnWSet", 1500.0), ("ConnCtl", 1.0)],
    )
    .await;
    steps(&grid, 300);
    assert!(
        (export(&grid) - 1500.0).abs() <= 30.0,
        "cell a exports 1.5 kW: {} W",
        export(&grid)
    );
    let g = lock(&grid);
    let f = g.bus_frequency_hz(0);
    assert!((f - 50.0).abs() <= 0.5, "{f} Hz");
    let b = g.hubs.iter().find(|h| h.storage.name == "b.hub").unwrap();
    assert!(
        b.storage.p_w < 1000.0,
        "b's hub gives less than its load: {}",
        b.storage.p_w
    );
}
