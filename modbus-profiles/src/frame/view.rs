//! Frames as JSON and as text, for `idea decode modbus` and logs.

use super::{MbapHeader, Pdu, Request, Response, RtuFrame, TcpFrame};
use crate::error::Error;
use serde_json::{Value, json};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// A request as JSON: `{"function", "name", …fields}`.
pub fn request_json(r: &Request) -> Value {
    let mut v = match r {
        Request::ReadCoils { address, count } => {
            json!({"name": "read coils", "address": address, "count": count})
        }
        Request::ReadDiscreteInputs { address, count } => {
            json!({"name": "read discrete inputs", "address": address, "count": count})
        }
        Request::ReadHoldingRegisters { address, count } => {
            json!({"name": "read holding registers", "address": address, "count": count})
        }
        Request::ReadInputRegisters { address, count } => {
            json!({"name": "read input registers", "address": address, "count": count})
        }
        Request::WriteSingleCoil { address, value } => {
            json!({"name": "write single coil", "address": address, "value": value})
        }
        Request::WriteSingleRegister { address, value } => {
            json!({"name": "write single register", "address": address, "value": value})
        }
        Request::WriteMultipleCoils { address, values } => {
            json!({"name": "write multiple coils", "address": address, "values": values})
        }
        Request::WriteMultipleRegisters { address, values } => {
            json!({"name": "write multiple registers", "address": address, "values": values})
        }
        Request::ReadWriteMultipleRegisters {
            read_address,
            read_count,
            write_address,
            values,
        } => json!({"name": "read/write multiple registers", "read_address": read_address,
            "read_count": read_count, "write_address": write_address, "values": values}),
        Request::ReadDeviceIdentification { code, object_id } => {
            json!({"name": "read device identification", "code": code, "object_id": object_id})
        }
        Request::Unsupported { data, .. } => json!({"name": "unsupported", "data_hex": hex(data)}),
    };
    if let Some(map) = v.as_object_mut() {
        map.insert("function".into(), json!(r.function()));
    }
    v
}

/// A response as JSON: `{"function", "name", …fields}`; an exception has `"exception"` and its code.
pub fn response_json(r: &Response) -> Value {
    let mut v = match r {
        Response::ReadCoils(b) => json!({"name": "read coils", "bits_hex": hex(b)}),
        Response::ReadDiscreteInputs(b) => {
            json!({"name": "read discrete inputs", "bits_hex": hex(b)})
        }
        Response::ReadHoldingRegisters(w) => json!({"name": "read holding registers", "values": w}),
        Response::ReadInputRegisters(w) => json!({"name": "read input registers", "values": w}),
        Response::WriteSingleCoil { address, value } => {
            json!({"name": "write single coil", "address": address, "value": value})
        }
        Response::WriteSingleRegister { address, value } => {
            json!({"name": "write single register", "address": address, "value": value})
        }
        Response::WriteMultipleCoils { address, count } => {
            json!({"name": "write multiple coils", "address": address, "count": count})
        }
        Response::WriteMultipleRegisters { address, count } => {
            json!({"name": "write multiple registers", "address": address, "count": count})
        }
        Response::ReadWriteMultipleRegisters(w) => {
            json!({"name": "read/write multiple registers", "values": w})
        }
        Response::ReadDeviceIdentification {
            code,
            conformity,
            more_follows,
            next_object_id,
            objects,
        } => json!({"name": "read device identification", "code": code, "conformity": conformity,
            "more_follows": more_follows, "next_object_id": next_object_id,
            "objects": objects.iter().map(|o| json!({"id": o.id,
                "value": String::from_utf8_lossy(&o.value), "value_hex": hex(&o.value)})).collect::<Vec<_>>()}),
        Response::Exception { function, code } => {
            json!({"name": "exception", "exception": code.code(), "exception_name": code.name(),
                "for_function": function})
        }
    };
    if let Some(map) = v.as_object_mut() {
        map.insert("function".into(), json!(r.function()));
    }
    v
}

/// The fields of an ADU around a PDU's JSON: `{"adu": "tcp"|"rtu", "direction", "transaction"?, "unit",
/// "pdu"}`.
pub fn adu_json(adu: &str, direction: &str, header: MbapHeader, pdu: Value) -> Value {
    let mut v = json!({"adu": adu, "direction": direction, "unit": header.unit, "pdu": pdu});
    if adu == "tcp"
        && let Some(map) = v.as_object_mut()
    {
        map.insert("transaction".into(), json!(header.transaction));
    }
    v
}

/// Decodes `bytes` as exactly one ADU (RTU when `rtu`, else TCP) carrying a `P`, into the JSON of
/// [`adu_json`] with the PDU's JSON from `pdu_json`; bytes after the frame are an error.
fn whole_adu<P: Pdu>(
    bytes: &[u8],
    rtu: bool,
    direction: &str,
    pdu_json: fn(&P) -> Value,
) -> Result<Value, Error> {
    let (header, pdu, used) = if rtu {
        let (f, used) = RtuFrame::<P>::decode(bytes)?;
        let header = MbapHeader {
            transaction: 0,
            unit: f.unit,
        };
        (header, f.pdu, used)
    } else {
        let (f, used) = TcpFrame::<P>::decode(bytes)?;
        (f.header, f.pdu, used)
    };
    if used != bytes.len() {
        return Err(Error::Decode {
            offset: used,
            field: "frame",
            reason: format!("{} bytes after the frame", bytes.len().saturating_sub(used)),
        });
    }
    let adu = if rtu { "rtu" } else { "tcp" };
    Ok(adu_json(adu, direction, header, pdu_json(&pdu)))
}

/// A whole request ADU as JSON (see [`adu_json`]).
pub fn request_adu_json(bytes: &[u8], rtu: bool) -> Result<Value, Error> {
    whole_adu::<Request>(bytes, rtu, "request", request_json)
}

/// A whole response ADU as JSON (see [`adu_json`]).
pub fn response_adu_json(bytes: &[u8], rtu: bool) -> Result<Value, Error> {
    whole_adu::<Response>(bytes, rtu, "response", response_json)
}

/// The JSON as indented `key: value` lines.
pub fn to_text(v: &Value) -> String {
    fn walk(v: &Value, indent: usize, out: &mut String) {
        if let Value::Object(map) = v {
            for (k, value) in map {
                match value {
                    Value::Object(_) => {
                        out.push_str(&format!("{:indent$}{k}:\n", ""));
                        walk(value, indent.saturating_add(2), out);
                    }
                    other => out.push_str(&format!("{:indent$}{k}: {other}\n", "")),
                }
            }
        }
    }
    let mut out = String::new();
    walk(v, 0, &mut out);
    out
}
