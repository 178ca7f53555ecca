//! `modbus-device/6/1`: every function code the PICS declares (`functions`) is implemented — the device
//! answers it, or refuses it for its address or value (exceptions 2, 3), but never as an illegal function
//! (exception 1, Modbus Application Protocol v1.1b3 clause 7). The PICS' claim is checked against what the
//! device says about itself.
//!
//! Every probe leaves the device as it was: reads at the first declared address of their table, writes of the
//! value just read back to a coil or register the PICS declares. A write function with nothing declared to
//! write back, and a function this runner has no request for, are not probed and said so as remarks.

use super::sunspec::session::{Answer, Session};
use crate::case::{Applicability, Maturity, TestCase};
use crate::pics::{ModbusPics, Pics};
use crate::verdict::Verdict;
use modbus_profiles::frame::{ExceptionCode, Request, Response};

fn m(pics: &Pics) -> ModbusPics {
    pics.modbus.clone().unwrap_or_default()
}

/// The first address of a declared range, or 0 (a read there may be refused for its address: that still
/// shows the function is implemented).
fn first(range: Option<[u16; 2]>) -> u16 {
    range.map_or(0, |[a, _]| a)
}

/// What a probe found.
enum Probe {
    /// The function is implemented.
    Implemented,
    /// Refused as an illegal function.
    Illegal,
    /// Not probed, and why.
    NotProbed(String),
    /// The device did not answer, or answered something else (the verdict).
    Failed(Verdict),
}

fn judge(s: &Session, function: u8, answer: Answer) -> Probe {
    match answer {
        Answer::Response(Response::Exception {
            code: ExceptionCode::IllegalFunction,
            ..
        }) => Probe::Illegal,
        Answer::Response(r) if r.function() & 0x7F == function => Probe::Implemented,
        Answer::Response(r) => Probe::Failed(Verdict::Fail(format!(
            "function {function} was answered with function {:#04x}",
            r.function()
        ))),
        Answer::Timeout => Probe::Failed(Verdict::Inconclusive(format!(
            "function {function}: no answer within {:?}",
            s.timeout
        ))),
        Answer::Closed => Probe::Failed(Verdict::Fail(format!(
            "function {function}: the device closed the connection"
        ))),
        Answer::Malformed(e) => Probe::Failed(Verdict::Fail(format!(
            "function {function}: malformed answer: {e}"
        ))),
    }
}

/// The value of coil `address`, read with function 1.
fn coil(s: &mut Session, address: u16) -> Result<bool, Probe> {
    match s.request(Request::ReadCoils { address, count: 1 }) {
        Answer::Response(Response::ReadCoils(bytes)) if !bytes.is_empty() => {
            Ok(bytes.first().is_some_and(|b| b & 1 == 1))
        }
        other => Err(Probe::NotProbed(format!(
            "coil {address} could not be read to be written back ({other:?})"
        ))),
    }
}

/// The value of holding register `address`, read with function 3.
fn register(s: &mut Session, address: u16) -> Result<u16, Probe> {
    match s.request(Request::ReadHoldingRegisters { address, count: 1 }) {
        Answer::Response(Response::ReadHoldingRegisters(v)) if v.len() == 1 => {
            Ok(v.first().copied().unwrap_or_default())
        }
        other => Err(Probe::NotProbed(format!(
            "register {address} could not be read to be written back ({other:?})"
        ))),
    }
}

fn probe(s: &mut Session, modbus: &ModbusPics, function: u8) -> Probe {
    let coil_back = modbus.coils.map(|[a, _]| a);
    let register_back = modbus.write_register.as_ref().map(|w| w.address);
    let no_coil = || {
        Probe::NotProbed(format!(
            "function {function}: no coil declared to write back"
        ))
    };
    let no_register = || {
        Probe::NotProbed(format!(
            "function {function}: no write_register declared to write back"
        ))
    };
    let request = match function {
        1 => Request::ReadCoils {
            address: first(modbus.coils),
            count: 1,
        },
        2 => Request::ReadDiscreteInputs {
            address: first(modbus.discrete_inputs),
            count: 1,
        },
        3 => Request::ReadHoldingRegisters {
            address: first(modbus.holding_registers),
            count: 1,
        },
        4 => Request::ReadInputRegisters {
            address: first(modbus.input_registers),
            count: 1,
        },
        5 | 15 => {
            let Some(address) = coil_back else {
                return no_coil();
            };
            let value = match coil(s, address) {
                Ok(v) => v,
                Err(p) => return p,
            };
            if function == 5 {
                Request::WriteSingleCoil { address, value }
            } else {
                Request::WriteMultipleCoils {
                    address,
                    values: vec![value],
                }
            }
        }
        6 | 16 | 23 => {
            let Some(address) = register_back else {
                return no_register();
            };
            let value = match register(s, address) {
                Ok(v) => v,
                Err(p) => return p,
            };
            match function {
                6 => Request::WriteSingleRegister { address, value },
                16 => Request::WriteMultipleRegisters {
                    address,
                    values: vec![value],
                },
                _ => Request::ReadWriteMultipleRegisters {
                    read_address: address,
                    read_count: 1,
                    write_address: address,
                    values: vec![value],
                },
            }
        }
        43 => Request::ReadDeviceIdentification {
            code: 1,
            object_id: 0,
        },
        other => {
            return Probe::NotProbed(format!(
                "function {other}: this runner has no request for it"
            ));
        }
    };
    let answer = s.request(request);
    judge(s, function, answer)
}

fn declared_functions_implemented(s: &mut Session, pics: &Pics) -> Verdict {
    let modbus = m(pics);
    let Some(functions) = modbus.functions.clone() else {
        return Verdict::NotApplicable("the PICS declares no function codes".into());
    };
    let mut illegal = Vec::new();
    let mut remarks = Vec::new();
    for function in functions {
        match probe(s, &modbus, function) {
            Probe::Implemented => {}
            Probe::Illegal => illegal.push(function),
            Probe::NotProbed(why) => remarks.push(why),
            Probe::Failed(verdict) => return verdict,
        }
    }
    if !illegal.is_empty() {
        Verdict::Fail(format!(
            "the PICS declares functions {illegal:?}, which the device refuses as illegal functions (exception 1)"
        ))
    } else if remarks.is_empty() {
        Verdict::Pass
    } else {
        Verdict::PassWithRemarks(remarks)
    }
}

/// The case.
pub(super) fn case() -> TestCase<Session> {
    TestCase {
        id: "modbus-device/6/1",
        title: "Every function code the PICS declares is implemented: none is refused as an illegal function",
        requirements: &["IOT-05", "IOT-02"],
        clause: "Modbus Application Protocol v1.1b3 clauses 6, 7",
        maturity: Maturity::Stable,
        applies: |pics| match m(pics).functions {
            Some(_) => Applicability::Applies,
            None => Applicability::NotApplicable("the PICS declares no function codes".into()),
        },
        run: declared_functions_implemented,
    }
}
