//! The SunSpec model engine: definitions from the official JSON files, values, layout, scans.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]
#![allow(missing_docs)]

use modbus_profiles::Error;
use modbus_profiles::frame::ExceptionCode;
use modbus_profiles::sunspec::{
    Catalog, Device, MAX_READ, Model, ModelDef, PointType, ReadFailure, Scanner, Value, decode,
    encode,
};
use proptest::prelude::*;
use std::path::PathBuf;

fn shared_models() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/sunspec-models")
}

fn catalog() -> Catalog {
    Catalog::builtin().unwrap()
}

fn model(id: u16, counts: &[(&str, u16)]) -> Model {
    Model::new(catalog().get(id).unwrap().clone(), 0, counts).unwrap()
}

#[test]
fn shipped_models_load_and_every_official_model_does() {
    let builtin = catalog();
    for id in [
        1, 101, 103, 124, 201, 202, 203, 204, 701, 702, 703, 704, 705, 706, 711, 712, 713, 714,
        715, 64900, 64904,
    ] {
        assert!(builtin.get(id).is_some(), "model {id} shipped");
    }
    let dir = shared_models();
    if !dir.is_dir() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{} missing under CI",
            dir.display()
        );
        eprintln!("SKIPPED: {} not present", dir.display());
        return;
    }
    let mut all = Catalog::new();
    let n = all.load_dir(&dir).unwrap();
    assert_eq!(n, 112, "every model of the SunSpec repository");
    // Each one can be instantiated, laid out and read back.
    for id in all.ids().collect::<Vec<_>>() {
        let def = all.get(id).unwrap().clone();
        let counts: Vec<(&str, u16)> = [
            "NCrv", "NPt", "NCtl", "NPrt", "NCrvSet", "NProf", "IVLen", "NStr", "NMod",
        ]
        .into_iter()
        .map(|c| (c, 2))
        .collect();
        let m = Model::new(def, 40002, &counts).unwrap_or_else(|e| panic!("model {id}: {e}"));
        assert_eq!(m.problem(), None, "model {id}");
        assert_eq!(m.id(), id);
        assert_eq!(usize::from(m.len()) + 2, m.registers().len());
        assert!(!m.points().is_empty());
    }
}

#[test]
fn malformed_definitions_name_file_and_point() {
    let base = std::fs::read_to_string(shared_models().join("model_705.json"))
        .unwrap_or_else(|_| include_str!("../models/sunspec/model_705.json").to_owned());
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "\"sf\": \"V_SF\"",
            "\"sf\": \"V_SFX\"",
            "DERVoltVar.Crv.Pt.V",
            "V_SFX",
        ),
        (
            "\"count\": \"NPt\"",
            "\"count\": \"NoSuch\"",
            "DERVoltVar.Crv.Pt",
            "NoSuch",
        ),
        (
            "\"type\": \"int16\"",
            "\"type\": \"int17\"",
            "DERVoltVar.Crv.Pt.Var",
            "int17",
        ),
        // A name a path could not reach, and a name used twice in one group.
        (
            "\"name\": \"Ena\"",
            "\"name\": \"En.a\"",
            "DERVoltVar.En.a",
            "'.'",
        ),
        (
            "\"name\": \"AdptCrvReq\"",
            "\"name\": \"Ena\"",
            "DERVoltVar.Ena",
            "repeated",
        ),
    ];
    for (from, to, point, word) in cases {
        assert!(base.contains(from), "{from}");
        let broken = base.replacen(from, to, 1);
        match ModelDef::from_json("model_705.json", &broken) {
            Err(Error::Model {
                file,
                point: p,
                reason,
            }) => {
                assert_eq!(file, "model_705.json");
                assert_eq!(&p, point, "{reason}");
                assert!(reason.contains(word), "{reason}");
            }
            other => panic!("{from} → {to}: {other:?}"),
        }
    }
    let common = include_str!("../models/sunspec/model_1.json");
    let pad = "\"name\": \"Pad\",\n                \"size\": 1,";
    assert!(common.contains(pad));
    let wrong_size = common.replacen(pad, "\"name\": \"Pad\",\n                \"size\": 2,", 1);
    let err = ModelDef::from_json("model_1.json", &wrong_size).unwrap_err();
    assert!(
        matches!(&err, Error::Model { point, .. } if point == "common.Pad"),
        "{err}"
    );
    assert!(
        ModelDef::from_json("x.json", "{")
            .unwrap_err()
            .to_string()
            .starts_with("x.json: ")
    );
    assert!(
        ModelDef::from_json("x.json", r#"{"id": 70000, "group": {}}"#).is_err_and(
            |e| matches!(e, modbus_profiles::Error::Model { point, .. } if point == "id")
        )
    );
}

fn kind_strategy() -> impl Strategy<Value = (PointType, u16)> {
    prop_oneof![
        Just((PointType::Int16, 1)),
        Just((PointType::Uint16, 1)),
        Just((PointType::Acc16, 1)),
        Just((PointType::Enum16, 1)),
        Just((PointType::Bitfield16, 1)),
        Just((PointType::Int32, 2)),
        Just((PointType::Uint32, 2)),
        Just((PointType::Acc32, 2)),
        Just((PointType::Enum32, 2)),
        Just((PointType::Bitfield32, 2)),
        Just((PointType::Int64, 4)),
        Just((PointType::Uint64, 4)),
        Just((PointType::Acc64, 4)),
        Just((PointType::Float32, 2)),
        Just((PointType::Float64, 4)),
        Just((PointType::Sunssf, 1)),
        Just((PointType::Ipaddr, 2)),
        Just((PointType::Ipv6addr, 8)),
        Just((PointType::Eui48, 4)),
        Just((PointType::String, 8)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]
    /// Any registers decode to a value that encodes back to the same registers (except padding bytes a type
    /// ignores), and never panic.
    #[test]
    fn registers_round_trip((kind, size) in kind_strategy(), regs in proptest::collection::vec(any::<u16>(), 8)) {
        let regs = &regs[..usize::from(size)];
        let value = decode(kind, regs);
        let back = encode(kind, size, &value);
        match (&value, kind) {
            (Value::Absent, _) => prop_assert_eq!(decode(kind, &back.unwrap()), Value::Absent),
            // A sunssf outside -10..=10 is not a scale factor.
            (Value::Int(v), PointType::Sunssf) if !(-10..=10).contains(v) => {
                let refused = back.is_err_and(|e| matches!(e, modbus_profiles::Error::Invalid { field: "sunssf", .. }));
                prop_assert!(refused, "a sunssf outside -10..=10 is refused as one");
            },
            (_, PointType::String | PointType::Eui48) => prop_assert_eq!(decode(kind, &back.unwrap()), value),
            _ => prop_assert_eq!(back.unwrap(), regs.to_vec()),
        }
    }
}

#[test]
fn not_implemented_values_read_as_absent() {
    let cases: &[(PointType, &[u16])] = &[
        (PointType::Int16, &[0x8000]),
        (PointType::Uint16, &[0xFFFF]),
        (PointType::Acc16, &[0]),
        (PointType::Enum16, &[0xFFFF]),
        (PointType::Bitfield16, &[0xFFFF]),
        (PointType::Sunssf, &[0x8000]),
        (PointType::Int32, &[0x8000, 0]),
        (PointType::Uint32, &[0xFFFF, 0xFFFF]),
        (PointType::Acc32, &[0, 0]),
        (PointType::Enum32, &[0xFFFF, 0xFFFF]),
        (PointType::Bitfield32, &[0xFFFF, 0xFFFF]),
        (PointType::Int64, &[0x8000, 0, 0, 0]),
        (PointType::Uint64, &[0xFFFF; 4]),
        (PointType::Acc64, &[0; 4]),
        (PointType::Float32, &[0x7FC0, 0]),
        (PointType::Ipaddr, &[0, 0]),
        (PointType::Ipv6addr, &[0; 8]),
        (PointType::Eui48, &[0, 0xFFFF, 0xFFFF, 0xFFFF]),
        (PointType::String, &[0, 0x4142]),
    ];
    for (kind, regs) in cases {
        assert_eq!(decode(*kind, regs), Value::Absent, "{kind:?}");
        if let Ok(back) = encode(*kind, regs.len() as u16, &Value::Absent) {
            assert_eq!(decode(*kind, &back), Value::Absent, "{kind:?}");
        }
    }
    // Big-endian, high word first.
    assert_eq!(decode(PointType::Int32, &[0xFFFF, 0xFFFE]), Value::Int(-2));
    assert_eq!(
        decode(PointType::Uint32, &[0x0001, 0x0002]),
        Value::Uint(0x0001_0002)
    );
    assert_eq!(decode(PointType::Float32, &[0x4148, 0]), Value::Float(12.5));
    assert_eq!(
        decode(PointType::String, &[0x4944, 0x4541, 0, 0]),
        Value::Text("IDEA".into())
    );
    assert!(
        encode(PointType::Uint16, 1, &Value::Uint(0xFFFF))
            .unwrap_err()
            .to_string()
            .contains("not-implemented")
    );
    assert!(
        encode(PointType::Acc32, 2, &Value::Uint(0))
            .is_err_and(|e| matches!(e, modbus_profiles::Error::Invalid { field: "acc32", .. }))
    );
    assert!(
        encode(PointType::Int16, 1, &Value::Int(-32768))
            .is_err_and(|e| matches!(e, modbus_profiles::Error::Invalid { field: "int16", .. }))
    );
    assert!(
        encode(PointType::Sunssf, 1, &Value::Int(11)).is_err_and(|e| matches!(
            e,
            modbus_profiles::Error::Invalid {
                field: "sunssf",
                ..
            }
        ))
    );
    assert!(
        encode(PointType::String, 2, &Value::Text("five!".into())).is_err_and(|e| matches!(
            e,
            modbus_profiles::Error::Invalid {
                field: "string",
                ..
            }
        ))
    );
}

#[test]
fn scale_factors_and_repeating_groups() {
    let mut vv = model(705, &[("NCrv", 3), ("NPt", 4)]);
    // 10 top-level points (13 registers... ) + 3 curves × (10 registers + 4 × 2) — length follows from the counts.
    let crv_len = 10 + 4 * 2;
    let top: usize = catalog()
        .get(705)
        .unwrap()
        .root
        .points
        .iter()
        .map(|p| usize::from(p.size))
        .sum();
    assert_eq!(vv.registers().len(), top + 3 * crv_len);
    vv.put("V_SF", &Value::Int(-2)).unwrap();
    vv.put("DeptRef_SF", &Value::Int(0)).unwrap();
    vv.put_scaled("Crv[2].Pt[3].V", 106.25).unwrap();
    vv.put_scaled("Crv[2].Pt[3].Var", -44.0).unwrap();
    assert_eq!(vv.get("Crv[2].Pt[3].V").unwrap(), Value::Uint(10625));
    assert_eq!(
        vv.get_scaled("DERVoltVar.Crv[2].Pt[3].V").unwrap(),
        Some(106.25)
    );
    assert_eq!(vv.get_scaled("Crv[2].Pt[3].Var").unwrap(), Some(-44.0));
    // Not implemented reads as absent; so does a value whose scale factor is absent.
    assert_eq!(vv.get_scaled("Crv[0].Pt[0].V").unwrap(), None);
    assert_eq!(vv.get_scaled("Crv[0].RspTms").unwrap(), None);
    // Paths that do not exist are errors naming the part.
    for (path, word) in [
        ("Crv[3].Pt[0].V", "3 instances"),
        ("Crv.Pt[0].V", "index"),
        ("Nope", "Nope"),
        ("Crv[0].Pt[9].V", "4 instances"),
    ] {
        let err = vv.get(path).unwrap_err().to_string();
        assert!(err.contains(word), "{path}: {err}");
    }
    // Every point listed with its path, in register order.
    let points = vv.points();
    assert_eq!(points.len(), 13 + 3 * (9 + 4 * 2));
    assert!(points.windows(2).all(|w| w[0].1.address < w[1].1.address));
    assert_eq!(points.last().unwrap().0, "Crv[2].Pt[3].Var");
    let json = vv.to_json();
    assert_eq!(json["points"]["Crv"][2]["Pt"][3]["V"], 106.25);
    assert_eq!(
        json["points"]["Crv"][0]["Pt"][0]["V"],
        serde_json::Value::Null
    );
}

#[test]
fn a_point_found_once_is_put_as_by_its_path_and_reads_its_scale_factor_each_time() {
    let mut vv = model(705, &[("NCrv", 3), ("NPt", 4)]);
    vv.put("V_SF", &Value::Int(-2)).unwrap();
    let slot = vv.slot("Crv[2].Pt[3].V").unwrap();
    vv.put_scaled_slot(&slot, 106.25).unwrap();
    assert_eq!(vv.get("Crv[2].Pt[3].V").unwrap(), Value::Uint(10625));
    // The scale factor in force is read at each put, not when the point was found.
    vv.put("V_SF", &Value::Int(-1)).unwrap();
    vv.put_scaled_slot(&slot, 106.25).unwrap();
    assert_eq!(vv.get("Crv[2].Pt[3].V").unwrap(), Value::Uint(1063));
    // A scale factor not implemented refuses the value, as a put by path does.
    vv.put("DeptRef_SF", &Value::Absent).unwrap();
    let var = vv.slot("Crv[0].Pt[0].Var").unwrap();
    let by_slot = vv.put_scaled_slot(&var, 1.0).unwrap_err().to_string();
    let by_path = vv
        .put_scaled("Crv[0].Pt[0].Var", 1.0)
        .unwrap_err()
        .to_string();
    assert!(
        by_slot.contains("scale factor is not implemented"),
        "{by_slot}"
    );
    assert!(
        by_path.contains("scale factor is not implemented"),
        "{by_path}"
    );
    // Another model refuses the slot and keeps its registers.
    let mut other = model(705, &[("NCrv", 1), ("NPt", 4)]);
    let before = other.registers().to_vec();
    let err = other.put_scaled_slot(&slot, 1.0).unwrap_err().to_string();
    assert!(err.contains("not of this model"), "{err}");
    assert_eq!(other.registers(), before.as_slice());
    // A path that does not exist is refused when it is looked for.
    assert!(
        vv.slot("Crv[3].Pt[0].V")
            .unwrap_err()
            .to_string()
            .contains("3 instances")
    );
}

#[test]
fn writes_mark_points_and_sync_groups_go_together() {
    let mut ctl = Model::new(catalog().get(704).unwrap().clone(), 40100, &[]).unwrap();
    ctl.put("PF_SF", &Value::Int(-3)).unwrap();
    ctl.set_scaled("PFWInj.PF", 0.95).unwrap();
    assert!(
        ctl.set("PFWInj.PF", &Value::Uint(0xFFFF))
            .is_err_and(|e| matches!(
                e,
                modbus_profiles::Error::Invalid {
                    field: "uint16",
                    ..
                }
            )),
        "the not-implemented value is not writable"
    );
    let writes = ctl.take_writes();
    assert_eq!(writes.len(), 1);
    let pf = ctl.point("PFWInj.PF").unwrap();
    let ext = ctl.point("PFWInj.Ext").unwrap();
    assert_eq!(writes[0].address, pf.address, "the whole sync group");
    assert_eq!(writes[0].registers.len(), 2);
    assert_eq!(writes[0].registers[0], 950);
    assert_eq!(ext.address, pf.address + 1);
    assert!(ctl.take_writes().is_empty());
    // Read-only points refuse writes.
    let mut meas = model(701, &[]);
    assert!(
        meas.set("W", &Value::Int(5))
            .unwrap_err()
            .to_string()
            .contains("read-only")
    );
    // Adjacent writes merge; long ones split at 123 registers.
    let mut vv = model(705, &[("NCrv", 4), ("NPt", 10)]);
    for c in 0..4 {
        for p in 0..10u16 {
            vv.set(
                &format!("Crv[{c}].Pt[{p}].V"),
                &Value::Uint(1000 + u64::from(p)),
            )
            .unwrap();
            vv.set(&format!("Crv[{c}].Pt[{p}].Var"), &Value::Int(-i64::from(p)))
                .unwrap();
        }
    }
    let writes = vv.take_writes();
    assert_eq!(writes.len(), 4, "one per curve's point block");
    assert!(writes.iter().all(|w| w.registers.len() == 20));
}

/// Registers of a device map served from memory, with a failure at some addresses.
fn run_scan(
    map: &[u16],
    base: u16,
    fail_at: &[u16],
    catalog: Catalog,
) -> (Device, Vec<(u16, u16)>) {
    let mut scanner = Scanner::new(catalog);
    let mut reads = Vec::new();
    while let Some(read) = scanner.poll_read() {
        reads.push((read.address, read.count));
        assert!(read.count >= 1 && read.count <= MAX_READ);
        let start = usize::from(read.address).wrapping_sub(usize::from(base));
        match map.get(start..start + usize::from(read.count)) {
            Some(values) if read.address >= base && !fail_at.contains(&read.address) => {
                scanner.handle_registers(values).unwrap();
            }
            _ => scanner.handle_failure(&ReadFailure::Exception(ExceptionCode::IllegalDataAddress)),
        }
    }
    (scanner.finish().unwrap(), reads)
}

fn der_device(base: u16, common_len_65: bool) -> Device {
    let c = catalog();
    let mut common = Model::new(c.get(1).unwrap().clone(), 0, &[]).unwrap();
    common.put("Mn", &Value::Text("IDEA".into())).unwrap();
    common.put("Md", &Value::Text("der-sim".into())).unwrap();
    common.put("SN", &Value::Text("0001".into())).unwrap();
    if common_len_65 {
        let mut regs = common.registers().to_vec();
        regs.pop();
        regs[1] = 65;
        common = Model::from_registers(c.get(1).cloned(), 0, regs);
        assert_eq!(common.problem(), None);
    }
    let mut meas = Model::new(c.get(701).unwrap().clone(), 0, &[]).unwrap();
    meas.put("W_SF", &Value::Int(1)).unwrap();
    meas.put_scaled("W", 4560.0).unwrap();
    meas.put("Hz_SF", &Value::Int(-3)).unwrap();
    meas.put_scaled("Hz", 50.012).unwrap();
    let mut vv = Model::new(c.get(705).unwrap().clone(), 0, &[("NCrv", 2), ("NPt", 4)]).unwrap();
    vv.put("V_SF", &Value::Int(-1)).unwrap();
    vv.put_scaled("Crv[1].Pt[2].V", 241.5).unwrap();
    let mut droop = Model::new(c.get(711).unwrap().clone(), 0, &[("NCtl", 3)]).unwrap();
    droop.put("Db_SF", &Value::Int(-3)).unwrap();
    droop.put_scaled("Ctl[2].DbOf", 0.036).unwrap();
    let wv = Model::new(c.get(712).unwrap().clone(), 0, &[("NCrv", 3), ("NPt", 6)]).unwrap();
    // A model this catalog does not know, long enough to need several reads.
    let mut unknown = vec![63001, 300];
    unknown.extend((0..300).map(|i| i as u16));
    let unknown = Model::from_registers(None, 0, unknown);
    Device::new(base, vec![common, meas, vv, droop, wv, unknown]).unwrap()
}

#[test]
fn scan_finds_every_model_reading_on_point_boundaries() {
    let device = der_device(40000, false);
    let map = device.registers();
    let (found, reads) = run_scan(&map, 40000, &[], catalog());
    assert_eq!(found.base(), 40000);
    let ids: Vec<u16> = found.models().iter().map(Model::id).collect();
    assert_eq!(ids, [1, 701, 705, 711, 712, 63001]);
    for (a, b) in device.models().iter().zip(found.models()) {
        assert_eq!(a.registers(), b.registers(), "model {}", a.id());
        assert_eq!(a.address(), b.address());
    }
    assert_eq!(
        found.model(1).unwrap().get("Mn").unwrap(),
        Value::Text("IDEA".into())
    );
    assert_eq!(
        found.model(701).unwrap().get_scaled("W").unwrap(),
        Some(4560.0)
    );
    assert_eq!(
        found.model(701).unwrap().get_scaled("Hz").unwrap(),
        Some(50.012)
    );
    assert_eq!(
        found
            .model(705)
            .unwrap()
            .get_scaled("Crv[1].Pt[2].V")
            .unwrap(),
        Some(241.5)
    );
    assert_eq!(
        found.model(711).unwrap().get_scaled("Ctl[2].DbOf").unwrap(),
        Some(0.036)
    );
    assert!(found.model(63001).unwrap().def().is_none());
    // Every read of a known model starts and ends on its point boundaries.
    for m in found.models().iter().filter(|m| m.def().is_some()) {
        let mut bounds: Vec<u16> = m.points().iter().map(|(_, p)| p.address).collect();
        bounds.push(m.address() + m.registers().len() as u16);
        for (address, count) in reads
            .iter()
            .filter(|(a, _)| *a > m.address() + 1 && *a < m.address() + m.registers().len() as u16)
        {
            assert!(
                bounds.contains(address),
                "read at {address} splits a point of model {}",
                m.id()
            );
            assert!(
                bounds.contains(&(address + count)),
                "read {address}+{count} splits a point of model {}",
                m.id()
            );
        }
    }
    let json = found.to_json();
    assert_eq!(json["models"][1]["points"]["W"], 4560.0);
}

#[test]
fn scan_tries_40000_then_0_then_50000_and_accepts_common_of_65() {
    for base in [0u16, 50000] {
        let device = der_device(base, true);
        let map = device.registers();
        let (found, reads) = run_scan(&map, base, &[], catalog());
        assert_eq!(found.base(), base);
        assert_eq!(found.model(1).unwrap().len(), 65);
        assert_eq!(found.models().len(), 6);
        let probes: Vec<u16> = reads
            .iter()
            .take_while(|(a, _)| *a != base + 4)
            .map(|(a, _)| *a)
            .collect();
        let expected: &[u16] = if base == 0 {
            &[40000, 0]
        } else {
            &[40000, 0, 50000]
        };
        assert_eq!(probes, expected);
    }
}

#[test]
fn scan_survives_failures_and_reports_no_map() {
    let device = der_device(40000, false);
    let map = device.registers();
    // A failed body read leaves that model with a problem; the chain goes on.
    let vv_body = device.model(705).unwrap().address() + 2;
    let (found, _) = run_scan(&map, 40000, &[vv_body], catalog());
    assert_eq!(found.models().len(), 6);
    assert!(
        found.models()[2]
            .problem()
            .unwrap()
            .contains("IllegalDataAddress")
    );
    // No marker anywhere.
    let mut scanner = Scanner::new(catalog());
    while scanner.poll_read().is_some() {
        scanner.handle_failure(&ReadFailure::NoAnswer("timeout".into()));
    }
    let err = scanner.finish().unwrap_err().to_string();
    assert!(err.contains("40000") && err.contains("50000"), "{err}");
    // A count larger than the model: a problem, not a panic.
    let mut regs = device.model(705).unwrap().registers().to_vec();
    regs[6] = 60000; // NCrv
    let m = Model::from_registers(catalog().get(705).cloned(), 0, regs);
    assert!(m.problem().unwrap().contains("Crv"), "{:?}", m.problem());
    assert!(
        m.get("Ena")
            .is_err_and(|e| matches!(e, modbus_profiles::Error::Invalid { field: "point", .. }))
    );
    // Wrong register counts stop the scan with an error.
    let mut scanner = Scanner::new(catalog());
    assert!(scanner.handle_registers(&[1, 2]).is_err_and(|e| matches!(
        e,
        modbus_profiles::Error::Invalid {
            field: "registers",
            ..
        }
    )));
    assert!(scanner.poll_read().is_none());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    /// Arbitrary registers at any point of a scan: the scanner never panics and never asks for more than
    /// 125 registers.
    #[test]
    fn scanning_garbage_never_panics(words in proptest::collection::vec(any::<u16>(), 0..600), marker in any::<bool>()) {
        let mut map = if marker { vec![0x5375, 0x6e53, 1, 66] } else { Vec::new() };
        map.extend(words);
        let mut scanner = Scanner::new(catalog());
        let mut steps = 0;
        while let Some(read) = scanner.poll_read() {
            steps += 1;
            prop_assert!(steps < 2000);
            prop_assert!(read.count >= 1 && read.count <= MAX_READ);
            let start = usize::from(read.address).wrapping_sub(40000);
            match map.get(start..start.saturating_add(usize::from(read.count))) {
                Some(values) if read.address >= 40000 => { let _ = scanner.handle_registers(values); }
                _ => scanner.handle_failure(&ReadFailure::Exception(ExceptionCode::IllegalDataAddress)),
            }
        }
        if let Ok(device) = scanner.finish() {
            for m in device.models() {
                let _ = m.to_json();
            }
        }
    }
}
