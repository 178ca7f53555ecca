//! `idea serve iec104-router`: the energy router's IEC 104 profile with a simulated router behind it, driven by
//! our controlling station: mode, setpoints, limits and enable move the measured flows (NG-R1, NG-R3, NG-R6).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use iec104::net::{Client, ClientConfig};
use iec104::profile::Profile;
use iec104::{Asdu, Cot, Element, InformationObject, Objects};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(5);

fn command(type_id: u8, ioa: u32, elements: Vec<Element>) -> Asdu {
    Asdu {
        type_id,
        sq: false,
        count: 1,
        cot: Cot::new(6),
        common_address: 1,
        objects: Objects::Known(vec![InformationObject { ioa, elements }]),
    }
}

fn setpoint(ioa: u32, value: f32) -> Asdu {
    command(
        50,
        ioa,
        vec![Element::R32(value.to_bits()), Element::Qos(0)],
    )
}

/// The measured active power per port from a group 1 interrogation, kW.
async fn flows(client: &Client, profile: &Profile) -> Vec<f32> {
    let data = client.interrogate(1, 21, WAIT).await.unwrap();
    (0..3)
        .map(|port| {
            let ioa = profile.entry(&format!("p_kw[{port}]")).unwrap().ioa;
            data.iter()
                .flat_map(|a| match &a.objects {
                    Objects::Known(o) => o.clone(),
                    Objects::Raw(_) => vec![],
                })
                .find(|o| o.ioa == ioa)
                .and_then(|o| {
                    if let Element::R32(bits) = o.elements[0] {
                        Some(f32::from_bits(bits))
                    } else {
                        None
                    }
                })
                .unwrap()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setpoints_move_flows_and_limits_clamp_them() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    // A lossless router between the network and two microgrids, each formed by its hub.
    // The router between two hub-formed microgrids of idea-sim's physics tests, made lossless here so the
    // flows read as the setpoints.
    let text = include_str!("../../idea-sim/tests/topologies/two-microgrids.toml")
        .replace("efficiency = 0.98", "efficiency = 1.0");
    let topology = idea_sim::grid::Topology::from_toml(&text).unwrap();
    let start = idea_proto::Timestamp::from_unix_secs(1_781_995_200).unwrap();
    // Kept: dropping the tasks stops the clock and the device.
    let (grid, _clock) = idea_sim::clock::plant(&topology, 1, start, 10.0).unwrap();
    let _tasks = idea_sim::devices::iec104_router(
        listener,
        &idea_sim::devices::Iec104Station::default(),
        grid,
        "router",
        &idea_sim::fault::Faults::default(),
    )
    .await
    .unwrap();
    let profile = Profile::energy_router().unwrap();
    let ioa = |name: &str| profile.entry(name).unwrap().ioa;
    let mut client = Client::connect(address, ClientConfig::default()).unwrap();
    client.wait_started(WAIT).await.unwrap();

    assert_eq!(
        flows(&client, &profile).await,
        [0.0, 0.0, 0.0],
        "no setpoints at start"
    );
    // NG-R1: the network supplies both microgrids.
    for c in [
        command(49, ioa("set_mode"), vec![Element::Sva(1), Element::Qos(0)]),
        setpoint(ioa("p_setpoint_kw[1]"), 8.0),
        setpoint(ioa("p_setpoint_kw[2]"), 4.0),
        // Switching the router on is select-before-operate: selected (S/E = 1), then executed.
        command(45, ioa("set_enable"), vec![Element::Sco(0x81)]),
        command(45, ioa("set_enable"), vec![Element::Sco(1)]),
    ] {
        assert!(client.command(c, WAIT).await.unwrap().confirmed);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(flows(&client, &profile).await, [-12.0, 8.0, 4.0]);

    // NG-R3 with a 5 kW limit toward microgrid 1: its flow is clamped, the network supplies less.
    assert!(
        client
            .command(setpoint(ioa("p_limit_kw[1]"), 5.0), WAIT)
            .await
            .unwrap()
            .confirmed
    );
    assert!(
        client
            .command(
                command(49, ioa("set_mode"), vec![Element::Sva(3), Element::Qos(0)]),
                WAIT
            )
            .await
            .unwrap()
            .confirmed
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(flows(&client, &profile).await, [-9.0, 5.0, 4.0]);

    // A mode outside NG-R1..R5 is refused.
    let refused = client
        .command(
            command(49, ioa("set_mode"), vec![Element::Sva(9), Element::Qos(0)]),
            WAIT,
        )
        .await
        .unwrap();
    assert!(!refused.confirmed);
    // A spontaneous report follows a change.
    assert!(
        client
            .command(setpoint(ioa("p_setpoint_kw[2]"), 2.0), WAIT)
            .await
            .unwrap()
            .confirmed
    );
    let event = tokio::time::timeout(WAIT, async {
        loop {
            let a = client.next_event().await.unwrap();
            if a.cot.cause == 3 && a.type_id == 13 {
                break a;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(event.cot.cause, 3);
}

#[test]
fn the_serve_command_is_documented() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_idea"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("iec104-router") && help.contains("--listen"),
        "{help}"
    );
}
