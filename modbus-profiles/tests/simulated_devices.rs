//! Simulated devices behind the sans-IO server core: every profile scans, behaviour acts on writes and time,
//! invalid writes get the right exception, RTU stays silent for other units.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(clippy::arithmetic_side_effects, clippy::cast_possible_truncation)]
#![allow(missing_docs)]

use modbus_profiles::frame::{ExceptionCode, MbapHeader, Request, Response, RtuFrame, TcpFrame};
use modbus_profiles::server::{Handled, Registers, Server};
use modbus_profiles::simulator::{Profile, SHIPPED, SimulatedDevice};
use modbus_profiles::sunspec::{Catalog, Device, ReadFailure, Scanner};
use std::time::{Duration, Instant};

fn device(name: &str) -> Server<SimulatedDevice> {
    let catalog = Catalog::builtin().unwrap();
    Server::new(
        1,
        SimulatedDevice::new(Profile::builtin(name).unwrap(), &catalog, 40000).unwrap(),
    )
}

/// One request through the TCP path of the server core.
fn ask(server: &mut Server<SimulatedDevice>, pdu: Request) -> Response {
    let mut adu = Vec::new();
    TcpFrame {
        header: MbapHeader {
            transaction: 9,
            unit: 1,
        },
        pdu,
    }
    .encode(&mut adu)
    .unwrap();
    let mut out = Vec::new();
    assert_eq!(server.handle_tcp(&adu, &mut out), Handled::Reply);
    let (frame, used) = TcpFrame::<Response>::decode(&out).unwrap();
    assert_eq!(used, out.len());
    assert_eq!(frame.header.transaction, 9);
    frame.pdu
}

fn scan(server: &mut Server<SimulatedDevice>) -> Device {
    let mut scanner = Scanner::new(Catalog::builtin().unwrap());
    while let Some(read) = scanner.poll_read() {
        match ask(
            server,
            Request::ReadHoldingRegisters {
                address: read.address,
                count: read.count,
            },
        ) {
            Response::ReadHoldingRegisters(values) => scanner.handle_registers(&values).unwrap(),
            Response::Exception { code, .. } => {
                scanner.handle_failure(&ReadFailure::Exception(code))
            }
            other => panic!("{other:?}"),
        }
    }
    scanner.finish().unwrap()
}

fn point(server: &mut Server<SimulatedDevice>, name: &str) -> f64 {
    server.registers().scaled(name).unwrap().unwrap()
}

fn write_scaled(server: &mut Server<SimulatedDevice>, name: &str, value: f64) -> Response {
    let (model_id, path) = name.split_once('.').unwrap();
    let mut model = scan(server)
        .model(model_id.parse().unwrap())
        .unwrap()
        .clone();
    model.set_scaled(path, value).unwrap();
    let writes = model.take_writes();
    assert_eq!(writes.len(), 1);
    let w = &writes[0];
    ask(
        server,
        Request::WriteMultipleRegisters {
            address: w.address,
            values: w.registers.clone(),
        },
    )
}

#[test]
fn every_profile_scans_with_its_models_and_values() {
    for (name, _) in SHIPPED {
        let mut server = device(name);
        let found = scan(&mut server);
        let served = server.registers().device();
        let ids: Vec<u16> = found.models().iter().map(|m| m.id()).collect();
        let expected: Vec<u16> = served.models().iter().map(|m| m.id()).collect();
        assert_eq!(ids, expected, "{name}");
        for (a, b) in served.models().iter().zip(found.models()) {
            assert_eq!(a.registers(), b.registers(), "{name} model {}", a.id());
            assert_eq!(b.problem(), None);
        }
        assert_eq!(
            found.model(1).unwrap().get("Mn").unwrap(),
            modbus_profiles::sunspec::Value::Text("IDEA SDK".into())
        );
    }
    let der = scan(&mut device("modbus-der"));
    let ids: Vec<u16> = der.models().iter().map(|m| m.id()).collect();
    assert_eq!(ids, [1, 701, 702, 704, 705, 711, 712, 713]);
    assert_eq!(
        der.model(705)
            .unwrap()
            .get_scaled("Crv[0].Pt[3].Var")
            .unwrap(),
        Some(-44.0)
    );
    assert_eq!(
        der.model(711).unwrap().get_scaled("Ctl[0].DbOf").unwrap(),
        Some(0.036)
    );
}

/// SunSpec 7xx adoption on the DER: a control written into the second slot of 711 and requested becomes the
/// active one (result 1); a control the DER does not have fails (result 2) and changes nothing; the active
/// curve or control is never written directly (exception 2).
#[test]
fn the_der_adopts_controls_and_keeps_its_active_ones_read_only() {
    let mut der = device("modbus-der");
    assert!(matches!(
        write_scaled(&mut der, "711.Ctl[1].DbOf", 0.2),
        Response::WriteMultipleRegisters { .. }
    ));
    assert!(matches!(
        write_scaled(&mut der, "711.Ctl[1].KOf", 0.04),
        Response::WriteMultipleRegisters { .. }
    ));
    assert_eq!(point(&mut der, "711.Ctl[0].DbOf"), 0.036);
    assert!(matches!(
        write_scaled(&mut der, "711.AdptCtlReq", 2.0),
        Response::WriteMultipleRegisters { .. }
    ));
    assert_eq!(point(&mut der, "711.AdptCtlRslt"), 1.0);
    assert_eq!(point(&mut der, "711.AdptCtlReq"), 0.0);
    assert_eq!(point(&mut der, "711.Ctl[0].DbOf"), 0.2);
    assert_eq!(point(&mut der, "711.Ctl[0].KOf"), 0.04);
    // NCtl is 2: control 3 does not exist.
    assert!(matches!(
        write_scaled(&mut der, "711.AdptCtlReq", 3.0),
        Response::WriteMultipleRegisters { .. }
    ));
    assert_eq!(point(&mut der, "711.AdptCtlRslt"), 2.0);
    assert_eq!(point(&mut der, "711.Ctl[0].DbOf"), 0.2);
    for active in ["711.Ctl[0].DbOf", "705.Crv[0].Pt[0].V"] {
        match write_scaled(&mut der, active, 100.0) {
            Response::Exception {
                function: 16,
                code: ExceptionCode::IllegalDataAddress,
            } => {}
            other => panic!("{active}: {other:?}"),
        }
    }
    assert_eq!(point(&mut der, "711.Ctl[0].DbOf"), 0.2);
}

#[test]
fn setpoints_move_measurements_within_limits() {
    let mut port = device("modbus-port");
    assert_eq!(
        write_scaled(&mut port, "64902.WSet", 2500.0),
        Response::WriteMultipleRegisters {
            address: port_addr(&mut port, "WSet"),
            count: 1
        }
    );
    let t0 = Instant::now();
    for i in 1..=50 {
        port.registers_mut()
            .tick(t0 + Duration::from_millis(40 * i));
    }
    let w = point(&mut port, "64902.W");
    assert!((w - 2500.0).abs() < 1.0, "W follows WSet: {w}");
    assert!(point(&mut port, "64902.ADC") < 0.0, "the DC side follows");
    // Lowering the limit below the setpoint clamps the measurement.
    write_scaled(&mut port, "64902.WMax", 1000.0);
    port.registers_mut().tick(t0 + Duration::from_secs(10));
    port.registers_mut().tick(t0 + Duration::from_secs(20));
    assert!((point(&mut port, "64902.W") - 1000.0).abs() < 1.0);
    // Outside the limit: exception 3, nothing changes.
    match write_scaled(&mut port, "64902.WSet", 5000.0) {
        Response::Exception {
            function: 16,
            code: ExceptionCode::IllegalDataValue,
        } => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(point(&mut port, "64902.WSet"), 2500.0);
    // An enumeration value outside its symbols: exception 3.
    let ena = port_addr(&mut port, "Ena");
    assert_eq!(
        ask(
            &mut port,
            Request::WriteSingleRegister {
                address: ena,
                value: 7
            }
        ),
        Response::Exception {
            function: 6,
            code: ExceptionCode::IllegalDataValue
        }
    );
    // A read-only point, the model header, "SunS", beyond the map: exception 2.
    let w_addr = port_addr(&mut port, "W");
    for address in [w_addr, 40000, 40002, 40003, 60000] {
        assert_eq!(
            ask(
                &mut port,
                Request::WriteSingleRegister { address, value: 1 }
            ),
            Response::Exception {
                function: 6,
                code: ExceptionCode::IllegalDataAddress
            },
            "{address}"
        );
    }
    assert_eq!(
        ask(
            &mut port,
            Request::ReadHoldingRegisters {
                address: 39990,
                count: 4
            }
        ),
        Response::Exception {
            function: 3,
            code: ExceptionCode::IllegalDataAddress
        }
    );
}

fn port_addr(server: &mut Server<SimulatedDevice>, path: &str) -> u16 {
    server
        .registers()
        .device()
        .model(64902)
        .unwrap()
        .point(path)
        .unwrap()
        .address
}

#[test]
fn reversion_timeout_returns_setpoints_to_defaults() {
    let mut hub = device("modbus-hub");
    let t0 = Instant::now();
    hub.registers_mut().tick(t0);
    write_scaled(&mut hub, "64901.RvrtTms", 30.0);
    write_scaled(&mut hub, "64901.WSet", -3000.0);
    hub.registers_mut().tick(t0 + Duration::from_millis(100));
    assert_eq!(point(&mut hub, "64901.RvrtRem"), 30.0);
    let soc0 = point(&mut hub, "64901.SoC");
    for s in 1..=29 {
        hub.registers_mut().tick(t0 + Duration::from_secs(s));
    }
    assert_eq!(point(&mut hub, "64901.WSet"), -3000.0);
    assert!((point(&mut hub, "64901.W") + 3000.0).abs() < 1.0);
    assert!(
        point(&mut hub, "64901.SoC") > soc0,
        "charging raises the state of charge"
    );
    hub.registers_mut().tick(t0 + Duration::from_secs(31));
    assert_eq!(point(&mut hub, "64901.WSet"), 0.0, "reverted");
    assert_eq!(point(&mut hub, "64901.RvrtRem"), 0.0);
    assert_eq!(point(&mut hub, "64901.St"), 3.0, "state says reverted");
}

/// A client that writes the setpoint first and the timeout in a request of its own still arms the timer.
#[test]
fn a_timeout_written_after_the_setpoint_arms_the_reversion() {
    let mut hub = device("modbus-hub");
    let t0 = Instant::now();
    hub.registers_mut().tick(t0);
    write_scaled(&mut hub, "64901.WSet", 2000.0);
    hub.registers_mut().tick(t0 + Duration::from_millis(30));
    write_scaled(&mut hub, "64901.RvrtTms", 5.0);
    hub.registers_mut().tick(t0 + Duration::from_millis(60));
    assert_eq!(point(&mut hub, "64901.RvrtRem"), 5.0);
    hub.registers_mut().tick(t0 + Duration::from_secs(6));
    assert_eq!(point(&mut hub, "64901.WSet"), 0.0, "reverted");
}

/// The device side sets many measurements at once (a model's pull): each is set, the map is refreshed, and
/// a point it does not have is named while the others still take their values.
#[test]
fn measurements_put_together_land_in_the_map_and_a_bad_one_is_named() {
    let mut meter = device("modbus-meter");
    let put = meter.registers_mut().put_scaled_all([
        ("203.W", 1234.0),
        ("203.Hz", 50.02),
        ("203.NoSuchPoint", 1.0),
        ("203.TotWhImp", 5678.0),
    ]);
    let err = put.unwrap_err().to_string();
    assert!(err.contains("NoSuchPoint"), "{err}");
    let read = scan(&mut meter);
    let m = read.model(203).unwrap();
    assert_eq!(m.get_scaled("W").unwrap(), Some(1234.0));
    assert!((m.get_scaled("Hz").unwrap().unwrap() - 50.02).abs() < 1e-9);
    assert_eq!(m.get_scaled("TotWhImp").unwrap(), Some(5678.0));
}

#[test]
fn read_write_multiple_and_device_identification() {
    let mut relay = device("modbus-relay");
    let cmd = relay
        .registers()
        .device()
        .model(64904)
        .unwrap()
        .point("Cmd")
        .unwrap()
        .address;
    let pos = relay
        .registers()
        .device()
        .model(64904)
        .unwrap()
        .point("Pos")
        .unwrap()
        .address;
    // 0x17: open the relay and read command and position back in one request.
    match ask(
        &mut relay,
        Request::ReadWriteMultipleRegisters {
            read_address: cmd,
            read_count: 2,
            write_address: cmd,
            values: vec![0],
        },
    ) {
        Response::ReadWriteMultipleRegisters(values) => assert_eq!(values, [0, 0]),
        other => panic!("{other:?}"),
    }
    assert_eq!(relay.registers().scaled("64904.Pos").unwrap(), Some(0.0));
    assert_eq!(pos, cmd + 1);
    match ask(
        &mut relay,
        Request::ReadDeviceIdentification {
            code: 1,
            object_id: 0,
        },
    ) {
        Response::ReadDeviceIdentification { objects, .. } => {
            let texts: Vec<String> = objects
                .iter()
                .map(|o| String::from_utf8(o.value.clone()).unwrap())
                .collect();
            assert_eq!(texts, ["IDEA SDK", "Relay simulator", "0.1.0"]);
        }
        other => panic!("{other:?}"),
    }
    // Unknown function: exception 1.
    assert_eq!(
        ask(
            &mut relay,
            Request::Unsupported {
                function: 0x41,
                data: vec![1, 2]
            }
        ),
        Response::Exception {
            function: 0x41,
            code: ExceptionCode::IllegalFunction
        }
    );
    // A quantity over 125: exception 3 (rmodbus path).
    assert_eq!(
        ask(
            &mut relay,
            Request::Unsupported {
                function: 3,
                data: vec![0x9c, 0x40, 0, 200]
            }
        ),
        Response::Exception {
            function: 3,
            code: ExceptionCode::IllegalDataValue
        }
    );
}

/// An RTU request for the "SunS" marker, to `unit`.
fn read_marker(unit: u8) -> Vec<u8> {
    let mut adu = Vec::new();
    let pdu = Request::ReadHoldingRegisters {
        address: 40000,
        count: 2,
    };
    RtuFrame { unit, pdu }.encode(&mut adu).unwrap();
    adu
}

#[test]
fn rtu_answers_its_unit_only_and_never_a_broken_frame() {
    let mut meter = device("modbus-meter");
    let mut out = Vec::new();
    let adu = read_marker(1);
    assert_eq!(meter.handle_rtu(&adu, &mut out), Handled::Reply);
    let (frame, _) = RtuFrame::<Response>::decode(&out).unwrap();
    assert_eq!(
        frame.pdu,
        Response::ReadHoldingRegisters(vec![0x5375, 0x6e53])
    );
    // Another unit: silence.
    let adu = read_marker(7);
    assert_eq!(meter.handle_rtu(&adu, &mut out), Handled::Silent);
    // A bad CRC: silence.
    let mut adu = read_marker(1);
    *adu.last_mut().unwrap() ^= 0xFF;
    assert_eq!(meter.handle_rtu(&adu, &mut out), Handled::Silent);
    // TCP for another unit: silence too; arbitrary bytes never panic.
    let mut tcp = Vec::new();
    TcpFrame {
        header: MbapHeader {
            transaction: 1,
            unit: 9,
        },
        pdu: Request::ReadHoldingRegisters {
            address: 40000,
            count: 2,
        },
    }
    .encode(&mut tcp)
    .unwrap();
    assert_eq!(meter.handle_tcp(&tcp, &mut out), Handled::Silent);
    let mut seed = 0x1234_5678u32;
    for len in 0..400 {
        let bytes: Vec<u8> = (0..len % 40)
            .map(|_| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (seed >> 24) as u8
            })
            .collect();
        let mut framed = vec![0, 1, 0, 0, 0, (bytes.len() + 1) as u8, 1];
        framed.extend(&bytes);
        let _ = meter.handle_tcp(&framed, &mut out);
        let _ = meter.handle_rtu(&bytes, &mut out);
    }
}
