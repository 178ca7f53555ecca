//! The suite `modbus-device`: the device under test is a Modbus TCP server, SunSpec or not (a power-flow
//! regulator, a DC current sensor, a relay board); the runner is the client. It checks the public function
//! codes the PICS declares — reads at the first and last address of each declared range and with the largest
//! quantity, writes read back and put back, device identification — and the exceptions (Modbus Application
//! Protocol v1.1b3 clauses 6 and 7): a read past a range (2), a quantity of 0 (3), a write past the holding
//! registers (2), a function no device has (1).

use super::CaseSuite;
use super::sunspec::cases::{judge_refusal, refused_with, unsupported_function};
use super::sunspec::session::{Answer, Session};
use crate::case::{Applicability, Maturity, TestCase};
use crate::pics::{ModbusPics, Pics};
use crate::verdict::Verdict;
use modbus_profiles::frame::{Request, Response};

const IOT_05: &str = "IOT-05";
const IOT_02: &str = "IOT-02";
/// The most registers one read may ask for (clause 6.3).
const MAX_REGISTERS: u16 = 125;
/// The most bits one read may ask for (clause 6.1).
const MAX_BITS: u16 = 2000;

/// `modbus-device`: function codes, boundary reads, writes read back, identification and exceptions.
pub type ModbusDevice = CaseSuite<Session>;

/// The suite.
pub fn modbus_device() -> ModbusDevice {
    CaseSuite::from_parts(
        "modbus-device",
        "0.1",
        include_str!("../../data/pics/modbus-device.toml"),
        ("modbus", |pics| pics.modbus.is_some()),
        cases(),
    )
}

fn m(pics: &Pics) -> ModbusPics {
    pics.modbus.clone().unwrap_or_default()
}

fn always(_: &Pics) -> Applicability {
    Applicability::Applies
}

fn range_declared(range: Option<[u16; 2]>, what: &str) -> Applicability {
    match range {
        Some(_) => Applicability::Applies,
        None => Applicability::NotApplicable(format!("the PICS declares no {what}")),
    }
}

/// Which table a read goes to.
#[derive(Clone, Copy)]
enum Table {
    Holding,
    Input,
    Coils,
    Discrete,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Holding => "holding registers (function 3)",
            Table::Input => "input registers (function 4)",
            Table::Coils => "coils (function 1)",
            Table::Discrete => "discrete inputs (function 2)",
        }
    }

    fn most(self) -> u16 {
        match self {
            Table::Holding | Table::Input => MAX_REGISTERS,
            Table::Coils | Table::Discrete => MAX_BITS,
        }
    }

    fn request(self, address: u16, count: u16) -> Request {
        match self {
            Table::Holding => Request::ReadHoldingRegisters { address, count },
            Table::Input => Request::ReadInputRegisters { address, count },
            Table::Coils => Request::ReadCoils { address, count },
            Table::Discrete => Request::ReadDiscreteInputs { address, count },
        }
    }

    fn range(self, pics: &Pics) -> Option<[u16; 2]> {
        let m = m(pics);
        match self {
            Table::Holding => m.holding_registers,
            Table::Input => m.input_registers,
            Table::Coils => m.coils,
            Table::Discrete => m.discrete_inputs,
        }
    }
}

/// How many values a read answer carries (bits are rounded up to whole bytes, so a bit read is checked for
/// the bytes it needs).
fn answered_count(table: Table, response: &Response, asked: u16) -> Option<bool> {
    match (table, response) {
        (Table::Holding, Response::ReadHoldingRegisters(v))
        | (Table::Input, Response::ReadInputRegisters(v)) => Some(v.len() == usize::from(asked)),
        (Table::Coils, Response::ReadCoils(bytes))
        | (Table::Discrete, Response::ReadDiscreteInputs(bytes)) => {
            Some(bytes.len() == usize::from(asked).div_ceil(8))
        }
        _ => None,
    }
}

/// Reads `count` from `address` and judges the answer; `None` when it is what was asked.
fn read_ok(s: &mut Session, table: Table, address: u16, count: u16) -> Option<Verdict> {
    let what = format!("a read of {} at {address} ×{count}", table.name());
    match s.request(table.request(address, count)) {
        Answer::Response(Response::Exception { code, .. }) => Some(Verdict::Fail(format!(
            "{what}, within the declared range, was refused with exception {}",
            code.code()
        ))),
        Answer::Response(r) => match answered_count(table, &r, count) {
            Some(true) => None,
            Some(false) => Some(Verdict::Fail(format!(
                "{what} was answered with another count"
            ))),
            None => Some(Verdict::Fail(format!(
                "{what} was answered with function {:#04x}",
                r.function()
            ))),
        },
        Answer::Timeout => Some(Verdict::Inconclusive(format!(
            "no answer to {what} within {:?}",
            s.timeout
        ))),
        other => Some(Verdict::Fail(format!("{what}: {other:?}"))),
    }
}

/// The first and the last address of the table's declared range, and the largest read from its start.
fn reads_at_the_bounds(s: &mut Session, pics: &Pics, table: Table) -> Verdict {
    let Some([first, last]) = table.range(pics) else {
        return Verdict::NotApplicable(format!("no {} declared", table.name()));
    };
    if last < first {
        return Verdict::Error(format!("the PICS' range {first}..={last} is empty"));
    }
    let span = last.saturating_sub(first).saturating_add(1);
    let most = span.min(table.most());
    [(first, 1), (last, 1), (first, most)]
        .into_iter()
        .find_map(|(address, count)| read_ok(s, table, address, count))
        .unwrap_or(Verdict::Pass)
}

fn holding_bounds(s: &mut Session, pics: &Pics) -> Verdict {
    reads_at_the_bounds(s, pics, Table::Holding)
}

fn input_bounds(s: &mut Session, pics: &Pics) -> Verdict {
    reads_at_the_bounds(s, pics, Table::Input)
}

fn coil_bounds(s: &mut Session, pics: &Pics) -> Verdict {
    reads_at_the_bounds(s, pics, Table::Coils)
}

fn discrete_bounds(s: &mut Session, pics: &Pics) -> Verdict {
    reads_at_the_bounds(s, pics, Table::Discrete)
}

fn read_past_the_range(s: &mut Session, pics: &Pics) -> Verdict {
    let Some([_, last]) = m(pics).holding_registers else {
        return Verdict::NotApplicable("no holding registers declared".into());
    };
    let Some(address) = last.checked_add(1) else {
        return Verdict::NotApplicable("the range reaches the top of the address space".into());
    };
    refused_with(
        s,
        Request::ReadHoldingRegisters { address, count: 1 },
        2,
        &format!("a read of {address}, just past the declared holding registers"),
    )
}

fn quantity_zero(s: &mut Session, pics: &Pics) -> Verdict {
    let Some([first, _]) = m(pics).holding_registers else {
        return Verdict::NotApplicable("no holding registers declared".into());
    };
    let [hi, lo] = first.to_be_bytes();
    // Function 3 with a quantity of 0, built by hand: the codec refuses to make it.
    let what = "a read of 0 holding registers";
    let answer = s.request_raw(&[0x03, hi, lo, 0x00, 0x00], what);
    judge_refusal(s, answer, 3, what)
}

fn write_past_the_range(s: &mut Session, pics: &Pics) -> Verdict {
    let Some([_, last]) = m(pics).holding_registers else {
        return Verdict::NotApplicable("no holding registers declared".into());
    };
    let Some(address) = last.checked_add(1) else {
        return Verdict::NotApplicable("the range reaches the top of the address space".into());
    };
    refused_with(
        s,
        Request::WriteSingleRegister { address, value: 0 },
        2,
        &format!("a write to {address}, just past the declared holding registers"),
    )
}

/// Reads one holding register.
fn read_register(s: &mut Session, address: u16) -> Result<u16, Verdict> {
    match s.request(Request::ReadHoldingRegisters { address, count: 1 }) {
        Answer::Response(Response::ReadHoldingRegisters(v)) if v.len() == 1 => {
            Ok(v.first().copied().unwrap_or(0))
        }
        other => Err(Verdict::Fail(format!(
            "reading register {address}: {other:?}"
        ))),
    }
}

/// Writes the declared register with `write` (function 6 or 16), reads it back within a second, and puts the
/// old value back.
fn written_and_read_back(
    s: &mut Session,
    pics: &Pics,
    write: fn(u16, u16) -> Request,
    name: &str,
) -> Verdict {
    let Some(target) = m(pics).write_register else {
        return Verdict::NotApplicable("no writable holding register declared".into());
    };
    let before = match read_register(s, target.address) {
        Ok(v) => v,
        Err(v) => return v,
    };
    let started = std::time::Instant::now();
    let written = match s.request(write(target.address, target.value)) {
        Answer::Response(Response::WriteSingleRegister { .. })
        | Answer::Response(Response::WriteMultipleRegisters { .. }) => {
            match read_register(s, target.address) {
                Ok(v) if v == target.value => {
                    if started.elapsed() > std::time::Duration::from_secs(1) {
                        Verdict::PassWithRemarks(vec!["read back after more than 1 s".into()])
                    } else {
                        Verdict::Pass
                    }
                }
                Ok(v) => Verdict::Fail(format!(
                    "register {} written {} with {name} reads back {v}",
                    target.address, target.value
                )),
                Err(v) => v,
            }
        }
        other => Verdict::Fail(format!("the write with {name} was answered {other:?}")),
    };
    // Put back what it held.
    let _ = s.request(Request::WriteSingleRegister {
        address: target.address,
        value: before,
    });
    written
}

fn write_single_register(s: &mut Session, pics: &Pics) -> Verdict {
    written_and_read_back(
        s,
        pics,
        |address, value| Request::WriteSingleRegister { address, value },
        "function 6",
    )
}

fn write_multiple_registers(s: &mut Session, pics: &Pics) -> Verdict {
    written_and_read_back(
        s,
        pics,
        |address, value| Request::WriteMultipleRegisters {
            address,
            values: vec![value],
        },
        "function 16",
    )
}

fn identification(s: &mut Session, _: &Pics) -> Verdict {
    let objects = match identification_objects(s) {
        Ok(o) => o,
        Err(v) => return v,
    };
    let missing: Vec<u8> = (0..=2u8)
        .filter(|id| !objects.iter().any(|(i, v)| i == id && !v.is_empty()))
        .collect();
    if missing.is_empty() {
        Verdict::Pass
    } else {
        Verdict::Fail(format!(
            "the basic identification lacks objects {missing:?} (0 vendor, 1 product code, 2 revision)"
        ))
    }
}

/// The basic identification objects the device reports (0 vendor, 1 product code, 2 revision), by ID.
fn identification_objects(s: &mut Session) -> Result<Vec<(u8, String)>, Verdict> {
    match s.request(Request::ReadDeviceIdentification {
        code: 1,
        object_id: 0,
    }) {
        Answer::Response(Response::ReadDeviceIdentification { objects, .. }) => Ok(objects
            .iter()
            .map(|o| (o.id, String::from_utf8_lossy(&o.value).trim().to_owned()))
            .collect()),
        Answer::Timeout => Err(Verdict::Inconclusive(format!(
            "no answer within {:?}",
            s.timeout
        ))),
        other => Err(Verdict::Fail(format!(
            "Read Device Identification (43/14, basic) was answered {other:?}"
        ))),
    }
}

/// The PICS' claims against what the device reports about itself: its vendor (object 0) and its revision
/// (object 2) are the PICS' `vendor` and `version`.
fn identification_matches_the_pics(s: &mut Session, pics: &Pics) -> Verdict {
    let objects = match identification_objects(s) {
        Ok(o) => o,
        Err(v) => return v,
    };
    let reported = |id: u8| {
        objects
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, v)| v.as_str())
    };
    let mut wrong = Vec::new();
    for (id, what, claimed) in [
        (0u8, "vendor", pics.device.vendor.trim()),
        (2, "version", pics.device.version.trim()),
    ] {
        match reported(id) {
            Some(value) if value == claimed => {}
            Some(value) => wrong.push(format!(
                "the PICS declares {what} {claimed:?}, the device reports {value:?} (object {id})"
            )),
            None => wrong.push(format!(
                "the PICS declares {what} {claimed:?}, the device reports no object {id}"
            )),
        }
    }
    if wrong.is_empty() {
        Verdict::Pass
    } else {
        Verdict::Fail(wrong.join("; "))
    }
}

fn identification_declared(pics: &Pics) -> Applicability {
    match m(pics).device_identification {
        Some(true) => Applicability::Applies,
        Some(false) => {
            Applicability::NotApplicable("the PICS declares no device identification".into())
        }
        None => Applicability::Undeclared("device identification".into()),
    }
}

/// The cases, in the order they run.
fn cases() -> Vec<TestCase<Session>> {
    let stable = Maturity::Stable;
    vec![
        TestCase {
            id: "modbus-device/6.3/1",
            title: "Holding registers are read at the first and last declared address and 125 at a time",
            requirements: &[IOT_05, IOT_02],
            clause: "Modbus Application Protocol v1.1b3 clause 6.3",
            maturity: stable,
            applies: |pics| range_declared(m(pics).holding_registers, "holding registers"),
            run: holding_bounds,
        },
        TestCase {
            id: "modbus-device/6.3/2N",
            title: "A read just past the declared holding registers is refused with exception 2",
            requirements: &[IOT_05],
            clause: "Modbus Application Protocol v1.1b3 clause 6.3, 7",
            maturity: stable,
            applies: |pics| range_declared(m(pics).holding_registers, "holding registers"),
            run: read_past_the_range,
        },
        TestCase {
            id: "modbus-device/6.3/3N",
            title: "A read of 0 registers is refused with exception 3",
            requirements: &[IOT_05],
            clause: "Modbus Application Protocol v1.1b3 clause 6.3, 7",
            maturity: stable,
            applies: |pics| range_declared(m(pics).holding_registers, "holding registers"),
            run: quantity_zero,
        },
        TestCase {
            id: "modbus-device/6.4/1",
            title: "Input registers are read at the first and last declared address and 125 at a time",
            requirements: &[IOT_05],
            clause: "Modbus Application Protocol v1.1b3 clause 6.4",
            maturity: stable,
            applies: |pics| range_declared(m(pics).input_registers, "input registers"),
            run: input_bounds,
        },
        TestCase {
            id: "modbus-device/6.1/1",
            title: "Coils are read at the first and last declared address and 2000 at a time",
            requirements: &[IOT_05],
            clause: "Modbus Application Protocol v1.1b3 clause 6.1",
            maturity: stable,
            applies: |pics| range_declared(m(pics).coils, "coils"),
            run: coil_bounds,
        },
        TestCase {
            id: "modbus-device/6.2/1",
            title: "Discrete inputs are read at the first and last declared address and 2000 at a time",
            requirements: &[IOT_05],
            clause: "Modbus Application Protocol v1.1b3 clause 6.2",
            maturity: stable,
            applies: |pics| range_declared(m(pics).discrete_inputs, "discrete inputs"),
            run: discrete_bounds,
        },
        TestCase {
            id: "modbus-device/6.6/1",
            title: "A register written with function 6 reads back within 1 s",
            requirements: &[IOT_05, IOT_02],
            clause: "Modbus Application Protocol v1.1b3 clause 6.6",
            maturity: stable,
            applies: |pics| match m(pics).write_register {
                Some(_) => Applicability::Applies,
                None => {
                    Applicability::NotApplicable("no writable holding register declared".into())
                }
            },
            run: write_single_register,
        },
        TestCase {
            id: "modbus-device/6.12/1",
            title: "A register written with function 16 reads back within 1 s",
            requirements: &[IOT_05],
            clause: "Modbus Application Protocol v1.1b3 clause 6.12",
            maturity: stable,
            applies: |pics| match m(pics).write_register {
                Some(_) => Applicability::Applies,
                None => {
                    Applicability::NotApplicable("no writable holding register declared".into())
                }
            },
            run: write_multiple_registers,
        },
        TestCase {
            id: "modbus-device/6.6/2N",
            title: "A write just past the declared holding registers is refused with exception 2",
            requirements: &[IOT_05],
            clause: "Modbus Application Protocol v1.1b3 clause 6.6, 7",
            maturity: stable,
            applies: |pics| range_declared(m(pics).holding_registers, "holding registers"),
            run: write_past_the_range,
        },
        TestCase {
            id: "modbus-device/6.21/1",
            title: "Read Device Identification (43/14) gives the vendor, product code and revision",
            requirements: &[IOT_05],
            clause: "Modbus Application Protocol v1.1b3 clause 6.21",
            maturity: stable,
            applies: identification_declared,
            run: identification,
        },
        TestCase {
            id: "modbus-device/6.21/2",
            title: "The vendor and revision the device identifies itself with are those its PICS declares",
            requirements: &[IOT_05],
            clause: "Modbus Application Protocol v1.1b3 clause 6.21",
            maturity: stable,
            applies: identification_declared,
            run: identification_matches_the_pics,
        },
        super::modbus_functions::case(),
        TestCase {
            id: "modbus-device/7/1N",
            title: "A function no device has is refused with exception 1",
            requirements: &[IOT_05],
            clause: "Modbus Application Protocol v1.1b3 clause 7",
            maturity: stable,
            applies: always,
            run: unsupported_function,
        },
    ]
}
