//! Readable views of an APDU: the JSON form of `idea decode iec104 --json` and a field-by-field text form.

use crate::apci::Apdu;
use crate::asdu::{Asdu, Objects};
use crate::element::Element;
use serde_json::{Value, json};
use std::fmt::Write as _;

fn quality(bits: u8, with_overflow: bool) -> Value {
    let mut q = Vec::new();
    if with_overflow && bits & 0x01 != 0 {
        q.push("OV");
    }
    for (mask, name) in [(0x10, "BL"), (0x20, "SB"), (0x40, "NT"), (0x80, "IV")] {
        if bits & mask != 0 {
            q.push(name);
        }
    }
    json!(q)
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
                quality_value = quality(b, false);
            }
            Element::Diq(b) => {
                value = json!(match b & 3 {
                    0 => "intermediate",
                    1 => "off",
                    2 => "on",
                    _ => "indeterminate",
                });
                quality_value = quality(b, false);
            }
            Element::Vti(b) => {
                let v = i8::from_le_bytes([(b << 1)]) >> 1;
                value = json!({"position": v, "transient": b & 0x80 != 0});
            }
            Element::Qds(b) | Element::Qdp(b) => quality_value = quality(b, true),
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
            }
            Element::Sep(b) | Element::Spe(b) | Element::Oci(b) => value = json!(b),
            Element::Sco(b) => {
                value =
                    json!({"on": b & 1 == 1, "qualifier": (b >> 2) & 0x1f, "select": b & 0x80 != 0})
            }
            Element::Dco(b) | Element::Rco(b) => {
                value =
                    json!({"state": b & 3, "qualifier": (b >> 2) & 0x1f, "select": b & 0x80 != 0});
            }
            Element::Qos(b) => {
                extra.insert(
                    "qos".into(),
                    json!({"ql": b & 0x7f, "select": b & 0x80 != 0}),
                );
            }
            Element::Coi(b)
            | Element::Qoi(b)
            | Element::Qcc(b)
            | Element::Qrp(b)
            | Element::Qpm(b)
            | Element::Qpa(b) => {
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
                time = match t.to_timestamp() {
                    Some(ts) => json!(ts.to_string()),
                    None => json!(format!("invalid CP56Time2a {:02x?}", t.0)),
                };
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
                "  COT      cause={} P/N={} T={} originator={}",
                asdu.cot.cause,
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
                    let _ = writeln!(out, " cause={}{negative}", asdu.cot.cause);
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
