//! Readable views of an APDU: the JSON form of `idea decode iec104 --json` and a field-by-field text form.

use crate::apci::Apdu;
use crate::asdu::{Asdu, Objects};
use crate::element::Element;
use serde_json::{Value, json};
use std::fmt::Write as _;

/// The quality descriptor flags set in `bits` (IEC 60870-5-101 clause 7.2.6.3/4): bits 4–7 BL SB NT IV, and
/// the low flag `low` (OV in a QDS, EI in a QDP or SEP) at its bit.
fn quality(bits: u8, low: Option<(u8, &'static str)>) -> Value {
    let mut q = Vec::new();
    if let Some((mask, name)) = low
        && bits & mask != 0
    {
        q.push(name);
    }
    for (mask, name) in [(0x10, "BL"), (0x20, "SB"), (0x40, "NT"), (0x80, "IV")] {
        if bits & mask != 0 {
            q.push(name);
        }
    }
    json!(q)
}

const OVERFLOW: Option<(u8, &str)> = Some((0x01, "OV"));
const ELAPSED_INVALID: Option<(u8, &str)> = Some((0x08, "EI"));

/// The name of a cause of transmission (IEC 60870-5-101 clause 7.2.3).
pub fn cause_name(cause: u8) -> String {
    let name = match cause {
        1 => "periodic",
        2 => "background scan",
        3 => "spontaneous",
        4 => "initialized",
        5 => "request",
        6 => "activation",
        7 => "activation confirmation",
        8 => "deactivation",
        9 => "deactivation confirmation",
        10 => "activation termination",
        11 => "return information, remote command",
        12 => "return information, local command",
        13 => "file transfer",
        20 => "interrogated by station interrogation",
        21..=36 => {
            return format!(
                "interrogated by group {} interrogation",
                cause.saturating_sub(20)
            );
        }
        37 => "requested by general counter request",
        38..=41 => {
            return format!(
                "requested by group {} counter request",
                cause.saturating_sub(37)
            );
        }
        44 => "unknown type identification",
        45 => "unknown cause of transmission",
        46 => "unknown common address of ASDU",
        47 => "unknown information object address",
        _ => "reserved",
    };
    name.to_owned()
}

/// The qualifier QU of a single, double or regulating step command (clause 7.2.6.26).
fn command_qualifier(qu: u8) -> &'static str {
    match qu {
        0 => "no additional definition",
        1 => "short pulse",
        2 => "long pulse",
        3 => "persistent output",
        _ => "reserved",
    }
}

/// A command's QU and S/E fields as JSON.
fn command_fields(b: u8) -> serde_json::Map<String, Value> {
    let qu = (b >> 2) & 0x1f;
    let mut fields = serde_json::Map::new();
    fields.insert("qualifier".into(), json!(qu));
    fields.insert("qualifier_name".into(), json!(command_qualifier(qu)));
    fields.insert("select".into(), json!(b & 0x80 != 0));
    fields
}

/// The name of a qualifier of interrogation (clause 7.2.6.22).
fn interrogation_name(qoi: u8) -> String {
    match qoi {
        20 => "station interrogation".into(),
        21..=36 => format!("group {} interrogation", qoi.saturating_sub(20)),
        _ => "reserved".into(),
    }
}

/// A qualifier of counter interrogation (clause 7.2.6.23): RQT and FRZ.
fn counter_request(qcc: u8) -> Value {
    let request = match qcc & 0x3f {
        1..=4 => format!("group {} counters", qcc & 0x3f),
        5 => "general counter request".into(),
        _ => "reserved".into(),
    };
    let freeze = match qcc >> 6 {
        0 => "read",
        1 => "counter freeze without reset",
        2 => "counter freeze with reset",
        _ => "counter reset",
    };
    json!({"qcc": qcc, "request": request, "freeze": freeze})
}

/// The value, quality and time of one object's elements.
fn object_fields(elements: &[Element]) -> (Value, Value, Value) {
    let mut value = Value::Null;
    let mut quality_value = Value::Null;
    let mut time = Value::Null;
    let mut extra = serde_json::Map::new();
    for e in elements {
        match *e {
            Element::Siq(b) => {
                value = json!(b & 1 == 1);
                quality_value = quality(b, None);
            }
            Element::Diq(b) => {
                value = json!(match b & 3 {
                    0 => "intermediate",
                    1 => "off",
                    2 => "on",
                    _ => "indeterminate",
                });
                quality_value = quality(b, None);
            }
            Element::Vti(b) => {
                let v = i8::from_le_bytes([(b << 1)]) >> 1;
                value = json!({"position": v, "transient": b & 0x80 != 0});
            }
            Element::Qds(b) => quality_value = quality(b, OVERFLOW),
            Element::Qdp(b) => quality_value = quality(b, ELAPSED_INVALID),
            Element::Bsi(v) | Element::Scd(v) => value = json!(v),
            Element::Nva(v) => value = json!(f64::from(v) / 32768.0),
            Element::Sva(v) => value = json!(v),
            Element::R32(bits) => {
                let f = f32::from_bits(bits);
                value = if f.is_finite() {
                    json!(f)
                } else {
                    json!(f.to_string())
                };
            }
            Element::Bcr(count, flags) => {
                value = json!({
                    "counter": count, "sequence": flags & 0x1f, "carry": flags & 0x20 != 0,
                    "adjusted": flags & 0x40 != 0, "invalid": flags & 0x80 != 0
                });
                let mut q = Vec::new();
                for (mask, name) in [(0x20, "CY"), (0x40, "CA"), (0x80, "IV")] {
                    if flags & mask != 0 {
                        q.push(name);
                    }
                }
                quality_value = json!(q);
            }
            Element::Sep(b) => {
                value = json!(match b & 3 {
                    0 => "indeterminate",
                    1 => "off",
                    2 => "on",
                    _ => "indeterminate",
                });
                quality_value = quality(b, ELAPSED_INVALID);
            }
            Element::Spe(b) | Element::Oci(b) => value = json!(b),
            Element::Sco(b) => {
                let mut fields = command_fields(b);
                fields.insert("on".into(), json!(b & 1 == 1));
                value = Value::Object(fields);
            }
            Element::Dco(b) => {
                let mut fields = command_fields(b);
                fields.insert("state".into(), json!(b & 3));
                let name = match b & 3 {
                    1 => "off",
                    2 => "on",
                    _ => "not permitted",
                };
                fields.insert("state_name".into(), json!(name));
                value = Value::Object(fields);
            }
            Element::Rco(b) => {
                let mut fields = command_fields(b);
                fields.insert("state".into(), json!(b & 3));
                let name = match b & 3 {
                    1 => "next step lower",
                    2 => "next step higher",
                    _ => "not permitted",
                };
                fields.insert("state_name".into(), json!(name));
                value = Value::Object(fields);
            }
            Element::Qos(b) => {
                let ql = b & 0x7f;
                extra.insert(
                    "qos".into(),
                    json!({"ql": ql, "ql_name": if ql == 0 { "default" } else { "reserved or private" }, "select": b & 0x80 != 0}),
                );
            }
            Element::Qoi(b) => value = json!({"qoi": b, "name": interrogation_name(b)}),
            Element::Qcc(b) => value = counter_request(b),
            Element::Coi(b) => {
                let cause = match b & 0x7f {
                    0 => "local power switch on",
                    1 => "local manual reset",
                    2 => "remote reset",
                    _ => "reserved or private",
                };
                value = json!({"coi": b, "cause": cause, "after_parameter_change": b & 0x80 != 0});
            }
            Element::Qrp(b) => {
                let name = match b {
                    1 => "general reset of process",
                    2 => "reset of pending information with time tag of the event buffer",
                    _ => "reserved or private",
                };
                value = json!({"qrp": b, "name": name});
            }
            Element::Qpm(b) | Element::Qpa(b) => {
                if value.is_null() {
                    value = json!(b);
                } else {
                    extra.insert("qualifier".into(), json!(b));
                }
            }
            Element::Fbp(v) | Element::Tsc(v) => value = json!(v),
            Element::Cp16(ms) => {
                extra.insert("elapsed_ms".into(), json!(ms));
            }
            Element::Cp24(t) => {
                time = json!({"minute": t.minute(), "millis": t.millis(), "invalid": t.invalid()})
            }
            Element::Cp56(t) => {
                let text = match t.to_timestamp() {
                    Some(ts) => ts.to_string(),
                    None => format!("invalid CP56Time2a {:02x?}", t.0),
                };
                let mut flags = Vec::new();
                if t.invalid() {
                    flags.push("IV");
                }
                if t.summer_time() {
                    flags.push("SU");
                }
                if !flags.is_empty() {
                    extra.insert("time_flags".into(), json!(flags));
                }
                time = json!(text);
            }
        }
    }
    if !extra.is_empty() {
        value = json!({"value": value, "extra": Value::Object(extra)});
    }
    (value, quality_value, time)
}

/// The JSON form of one ASDU: `{"type_id", "type", "sq", "count", "cot", "negative", "test", "originator",
/// "common_address", "objects": [{"ioa", "value", "quality", "time"}]}`.
pub fn asdu_json(a: &Asdu) -> Value {
    let objects = match &a.objects {
        Objects::Known(objects) => json!(
            objects
                .iter()
                .map(|o| {
                    let (value, quality, time) = object_fields(&o.elements);
                    json!({"ioa": o.ioa, "value": value, "quality": quality, "time": time})
                })
                .collect::<Vec<_>>()
        ),
        Objects::Raw(bytes) => {
            json!({"raw_hex": bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()})
        }
    };
    json!({
        "type_id": a.type_id,
        "type": a.type_info().map_or(Value::Null, |t| json!(t.name)),
        "sq": a.sq,
        "count": a.count,
        "cot": a.cot.cause,
        "cot_name": cause_name(a.cot.cause),
        "negative": a.cot.negative,
        "test": a.cot.test,
        "originator": a.cot.originator,
        "common_address": a.common_address,
        "objects": objects,
    })
}

/// The JSON form: `{"format", "ns", "nr", "u", "asdu"}` with absent parts null.
pub fn to_json(apdu: &Apdu) -> Value {
    match apdu {
        Apdu::I { ns, nr, asdu } => {
            json!({"format": "I", "ns": ns, "nr": nr, "u": null, "asdu": asdu_json(asdu)})
        }
        Apdu::S { nr } => json!({"format": "S", "ns": null, "nr": nr, "u": null, "asdu": null}),
        Apdu::U(f) => json!({"format": "U", "ns": null, "nr": null, "u": f.name(), "asdu": null}),
    }
}

/// A field-by-field text form for terminals.
pub fn to_text(apdu: &Apdu) -> String {
    let mut out = String::new();
    match apdu {
        Apdu::I { ns, nr, asdu } => {
            let _ = writeln!(out, "I frame  N(S)={ns}  N(R)={nr}");
            let name = asdu.type_info().map_or("unknown", |t| t.name);
            let _ = writeln!(out, "  type     {} ({name})", asdu.type_id);
            let _ = writeln!(
                out,
                "  VSQ      SQ={} count={}",
                u8::from(asdu.sq),
                asdu.count
            );
            let _ = writeln!(
                out,
                "  COT      cause={} ({}) P/N={} T={} originator={}",
                asdu.cot.cause,
                cause_name(asdu.cot.cause),
                u8::from(asdu.cot.negative),
                u8::from(asdu.cot.test),
                asdu.cot.originator
            );
            let _ = writeln!(out, "  CA       {}", asdu.common_address);
            match &asdu.objects {
                Objects::Known(objects) => {
                    for o in objects {
                        let (value, quality, time) = object_fields(&o.elements);
                        let _ = write!(out, "  IOA {:<8} value={value}", o.ioa);
                        if !quality.is_null() {
                            let _ = write!(out, " quality={quality}");
                        }
                        if !time.is_null() {
                            let _ = write!(out, " time={time}");
                        }
                        out.push('\n');
                    }
                }
                Objects::Raw(bytes) => {
                    let _ = writeln!(out, "  raw      {} octets", bytes.len());
                }
            }
        }
        Apdu::S { nr } => {
            let _ = writeln!(out, "S frame  N(R)={nr}");
        }
        Apdu::U(f) => {
            let _ = writeln!(out, "U frame  {}", f.name());
        }
    }
    out
}

/// One line per information object of `asdus`, for terminals: common address, IOA, type, value, quality and
/// time, and the cause of transmission.
pub fn points_text(asdus: &[Asdu]) -> String {
    let mut out = String::new();
    for asdu in asdus {
        let name = asdu.type_info().map_or("unknown", |t| t.name);
        let negative = if asdu.cot.negative { " negative" } else { "" };
        match &asdu.objects {
            Objects::Known(objects) => {
                for o in objects {
                    let (value, quality, time) = object_fields(&o.elements);
                    let _ = write!(
                        out,
                        "CA {:<5} IOA {:<8} {name:<10} value={value}",
                        asdu.common_address, o.ioa
                    );
                    if quality.as_array().is_some_and(|q| !q.is_empty()) {
                        let _ = write!(out, " quality={quality}");
                    }
                    if !time.is_null() {
                        let _ = write!(out, " time={time}");
                    }
                    let _ = writeln!(
                        out,
                        " cause={} ({}){negative}",
                        asdu.cot.cause,
                        cause_name(asdu.cot.cause)
                    );
                }
            }
            Objects::Raw(bytes) => {
                let _ = writeln!(
                    out,
                    "CA {:<5} type {} ({} raw octets) cause={}{negative}",
                    asdu.common_address,
                    asdu.type_id,
                    bytes.len(),
                    asdu.cot.cause
                );
            }
        }
    }
    out
}
