//! Interoperability with software no one here wrote: pysunspec2 (the SunSpec Alliance's client) scans our
//! simulated devices; our client scans a pymodbus server serving a SunSpec map laid out by Python from the
//! same JSON models. Both run in CI (`cargo xtask test` installs the pinned peers) and never skip silently.
#![cfg(feature = "tokio")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss
)]
#![allow(missing_docs)]

mod common;
use common::scaled;
use modbus_profiles::net::{Client, serve_tcp};
use modbus_profiles::server::Server;
use modbus_profiles::simulator::{Profile, SHIPPED, SimulatedDevice};
use modbus_profiles::sunspec::{Catalog, Model, Value};
use serde_json::Value as Json;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

#[path = "../../interop/python.rs"]
mod python;

fn peer(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/peers")
        .join(name)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(1.0)
}

/// Every point of our model against what pysunspec2 read: same set of points, same "implemented" verdict,
/// same raw and computed values.
fn compare(ours: &Model, theirs: &Json, profile: &str) {
    let points = theirs["points"].as_object().unwrap();
    let mine = ours.points();
    assert_eq!(
        mine.len(),
        points.len(),
        "{profile} model {}: number of points",
        ours.id()
    );
    for (path, point) in mine {
        let what = format!("{profile} model {} {path}", ours.id());
        let t = points
            .get(&path)
            .unwrap_or_else(|| panic!("{what}: pysunspec2 has no such point"));
        let value = point.value();
        if point.def.kind == modbus_profiles::sunspec::PointType::Pad {
            continue;
        }
        assert_eq!(
            value != Value::Absent,
            t["impl"].as_bool().unwrap(),
            "{what}: implemented? ours {value:?}, theirs {t}"
        );
        if value == Value::Absent {
            continue;
        }
        match &value {
            Value::Int(v) => assert_eq!(t["raw"].as_i64(), Some(*v), "{what}"),
            Value::Uint(v) => assert_eq!(t["raw"].as_u64(), Some(*v), "{what}"),
            Value::Float(v) => assert!(close(t["raw"].as_f64().unwrap(), *v), "{what}"),
            Value::Text(s) => assert_eq!(t["raw"].as_str(), Some(s.as_str()), "{what}"),
            other => panic!("{what}: {other:?} not compared"),
        }
        if let (Some(scaled), Some(computed)) = (point.scaled(), t["computed"].as_f64()) {
            assert!(
                close(scaled, computed),
                "{what}: scaled {scaled}, pysunspec2 computed {computed}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pysunspec2_scans_every_simulated_device() {
    let Some(python) = python::python("pysunspec2 scans of our simulated devices") else {
        return;
    };
    let catalog = Catalog::builtin().unwrap();
    for (name, _) in SHIPPED {
        let device =
            SimulatedDevice::new(Profile::builtin(name).unwrap(), &catalog, 40000).unwrap();
        let server = Arc::new(Mutex::new(Server::new(1, device)));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(serve_tcp(listener, Arc::clone(&server)));
        let before = server.lock().unwrap().registers().device().clone();
        let script = peer("pysunspec2_scan.py");
        let python = python.clone();
        // pysunspec2 reads the IDEA vendor models (649xx) from our JSON files too.
        let vendor = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/idea");
        let output = tokio::task::spawn_blocking(move || {
            Command::new(python)
                .arg(script)
                .arg("127.0.0.1")
                .arg(port.to_string())
                .arg("1")
                .arg(vendor)
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        task.abort();
        assert!(
            output.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let found: Json = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(found["base"], 40000, "{name}");
        let models = found["models"].as_array().unwrap();
        assert_eq!(models.len(), before.models().len(), "{name}");
        for (ours, theirs) in before.models().iter().zip(models) {
            assert_eq!(theirs["id"], ours.id(), "{name}");
            assert_eq!(theirs["address"], ours.address(), "{name}");
            assert_eq!(theirs["length"], ours.len(), "{name}");
            compare(ours, theirs, name);
        }
        if *name == "modbus-der" {
            // pysunspec2 wrote WSet through our server and read it back.
            assert_eq!(found["written"]["704.WSet"], 1234);
            assert_eq!(scaled(&server, "704.WSet"), Some(1234.0));
        }
    }
}

/// Kills the peer when the test ends, whatever happens.
struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_scans_a_pymodbus_sunspec_server() {
    let Some(python) = python::python("our scan of a pymodbus SunSpec server") else {
        return;
    };
    let models_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/sunspec");
    let mut child = Command::new(python)
        .arg(peer("pymodbus_sunspec_server.py"))
        .arg(&models_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let peer = Peer(child);
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    })
    .await
    .unwrap();
    let served: Json = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    let address = format!("127.0.0.1:{}", served["port"]);
    // The server binds after printing: retry the connection for a while.
    let mut client = None;
    for _ in 0..100 {
        if let Ok(c) = Client::connect(&address, 1).await {
            client = Some(c);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let mut client = client.expect("pymodbus server did not start");
    let device = client.scan(Catalog::builtin().unwrap()).await.unwrap();
    let expected = served["models"].as_array().unwrap();
    let ids: Vec<u16> = device.models().iter().map(Model::id).collect();
    assert_eq!(ids, [1, 701, 705, 711, 713]);
    for (model, theirs) in device.models().iter().zip(expected) {
        assert_eq!(theirs["id"], model.id());
        assert_eq!(theirs["address"], model.address());
        let regs: Vec<u16> = theirs["registers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u16)
            .collect();
        assert_eq!(model.registers(), regs.as_slice(), "model {}", model.id());
        assert_eq!(model.problem(), None, "model {}", model.id());
    }
    // Variable-length models laid out as Python laid them out: 2 curves of 3 points, 2 controls.
    let vv = device.model(705).unwrap();
    assert!(vv.point("Crv[1].Pt[2].Var").is_ok());
    assert!(vv.point("Crv[2].Pt[0].V").is_err());
    assert!(device.model(711).unwrap().point("Ctl[1].DbOf").is_ok());
    // Scale factor -1 applied, text decoded.
    let common = device.model(1).unwrap();
    assert!(matches!(common.get("Mn").unwrap(), Value::Text(ref s) if s.starts_with('P')));
    let w = device.model(701).unwrap().point("W").unwrap();
    assert!(close(
        w.scaled().unwrap(),
        w.value().as_f64().unwrap() / 10.0
    ));
    drop(peer);
}
