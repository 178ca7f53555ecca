//! The operator's interface to the server core, sans-IO: a request (method, path, JSON body) in, a status
//! and a JSON answer out — for a utility's or aggregator's back office to run the server without code.
//!
//! | Request | What |
//! |---|---|
//! | `GET /` | counts, the poll rate and the registration policy |
//! | `GET /devices` | every EndDevice: `{"lfdi", "sfdi", "href", "registered", "in_band", "aggregator", "access", "fsas", "connection_point"}` |
//! | `POST /devices` `{"lfdi", "pin", "fsas": [J…], "aggregator"?, "connection_point"?}` | enrols a device (201, its href) |
//! | `POST /devices/{LFDI}/access` `{"granted": bool}` | grants or revokes a certificate's access |
//! | `PUT /devices/{LFDI}/fsas` `{"fsas": [J…]}` | the FunctionSetAssignments of an EndDevice |
//! | `DELETE /devices/{LFDI}` | removes an EndDevice (its subscriptions, DER resources and mirrors go) |
//! | `POST /aggregators` `{"lfdi"}` | declares an aggregator's certificate |
//! | `PUT /registration` `{"in_band": bool, "fsas": [J…]}` | pre-enrolment, or in-band registration into these FSAs |
//! | `PUT /poll-rate` `{"seconds", "resource"?}` | the `pollRate` clients are told, everywhere or in one resource (`"EndDeviceList"`, `"DERProgramList"`, … — [`Polled`]) |
//! | `PUT /post-rate` `{"seconds"}` | the `postRate` asked of mirror usage points (`null`: each device's own) |
//! | `POST /controls/cancel` `{"all"?, "randomized"?}` | cancels every scheduled and active event, or the newest |
//! | `POST /fsas` `{"description"}` | a FunctionSetAssignments (201, `{"fsa", "href"}`) |
//! | `POST /programs` `{"fsa", "program": DERProgram}` | a DER program with its primacy (201, `{"program", "href"}`) |
//! | `POST /programs/{K}/controls` `DERControl` | publishes an event, any CSIP-AUS mode (201, `{"href", "mRID"}`) |
//! | `POST /programs/{K}/controls/{MRID}/cancel` `{"randomized"?}` | cancels an event |
//! | `PUT /programs/{K}/default` `DefaultDERControl` | the program's default control |
//! | `GET /responses` | the responses devices posted (the latest 1,000) |
//! | `GET /mirrors` | the mirror usage points and how many meter readings each holds |
//! | `POST /mirrors/clear` `{"lfdi"?}` | removes one device's mirror usage points, or all |
//!
//! Resources go in as the JSON of this crate's types — the schema's element names (`"DERControlBase":
//! {"opModExpLimW": {"multiplier": 0, "value": 5000}, "opModConnect": true}`, `"interval": {"start",
//! "duration"}`, `"randomizeStart"`, `"rampTms"` …) — and are checked as the XML decoder checks a
//! document (the schema's facets: lengths, ranges), so what the operator publishes is what a device can
//! read. An error is `{"error": sentence}` with 400 (bad input), 404 (no such thing), 405 or 409.
//!
//! Serving it over HTTP, behind a bearer token, is the caller's (`idea serve sep2-server --operator-api`).

use super::store::{FsaId, Polled, ProgramIndex, RegistrationPolicy, Server};
use crate::identity::sfdi;
use crate::primitives::{HexBinary160, Mrid};
use crate::resources::{DERControl, DERProgram, DefaultDERControl, FunctionSetAssignments};
use serde_json::{Value, json};

/// The most items one answer lists.
pub const MAX_LISTED: usize = 1000;

/// One operator request.
#[derive(Debug, Clone, Copy)]
pub struct OperatorRequest<'a> {
    /// `GET`, `POST` or `PUT`.
    pub method: &'a str,
    /// The path, without a query.
    pub path: &'a str,
    /// The JSON body (empty for `GET`).
    pub body: &'a [u8],
}

fn error(status: u16, sentence: impl Into<String>) -> (u16, Value) {
    (status, json!({ "error": sentence.into() }))
}

/// Answers `request` at server time `now`: the status and the JSON body.
pub fn answer(server: &mut Server, request: &OperatorRequest<'_>, now: i64) -> (u16, Value) {
    let path: Vec<&str> = request.path.trim_matches('/').split('/').collect();
    let body = || serde_json::from_slice::<Value>(request.body);
    match (request.method, path.as_slice()) {
        ("GET", [""]) => (200, summary(server)),
        ("GET", ["devices"]) => (200, devices(server)),
        ("POST", ["devices"]) => with_body(body(), |b| enrol(server, &b, now)),
        ("DELETE", ["devices", lfdi]) => match HexBinary160::parse(lfdi) {
            Ok(lfdi) if server.remove_device(&lfdi) => {
                (200, json!({ "removed": lfdi.to_string() }))
            }
            Ok(lfdi) => error(404, format!("no EndDevice {lfdi}")),
            Err(_) => error(400, "the path names no LFDI (40 hex digits)"),
        },
        ("POST", ["mirrors", "clear"]) => with_body(body(), |b| {
            let device = match b.get("lfdi") {
                None | Some(Value::Null) => None,
                Some(_) => match lfdi_of(&b, "lfdi") {
                    Ok(l) => Some(l),
                    Err(e) => return e,
                },
            };
            let removed = server.clear_mirrors(device.as_ref());
            (200, json!({ "removed": removed }))
        }),
        ("POST", ["devices", lfdi, "access"]) => with_body(body(), |b| access(server, lfdi, &b)),
        ("POST", ["aggregators"]) => with_body(body(), |b| match lfdi_of(&b, "lfdi") {
            Ok(lfdi) => {
                server.add_aggregator(lfdi);
                (201, json!({ "aggregator": lfdi.to_string() }))
            }
            Err(e) => e,
        }),
        ("PUT", ["registration"]) => with_body(body(), |b| registration(server, &b)),
        ("PUT", ["poll-rate"]) => with_body(body(), |b| poll_rate(server, &b)),
        ("PUT", ["devices", lfdi, "fsas"]) => with_body(body(), |b| {
            let Ok(lfdi) = HexBinary160::parse(lfdi) else {
                return error(400, "the path names no LFDI (40 hex digits)");
            };
            let fsas = match fsas_of(server, &b) {
                Ok(f) => f,
                Err(e) => return e,
            };
            if server.assign_fsas(&lfdi, &fsas, now) {
                (
                    200,
                    json!({ "lfdi": lfdi.to_string(), "fsas": fsas.iter().map(|f| f.0).collect::<Vec<_>>() }),
                )
            } else {
                error(404, format!("no EndDevice {lfdi}"))
            }
        }),
        ("PUT", ["post-rate"]) => with_body(body(), |b| match b.get("seconds") {
            Some(Value::Null) => {
                server.set_post_rate(None);
                (200, json!({ "post_rate": null }))
            }
            Some(v) => match v.as_u64().map(u32::try_from) {
                Some(Ok(seconds)) => {
                    server.set_post_rate(Some(seconds));
                    (200, json!({ "post_rate": seconds }))
                }
                _ => error(400, "\"seconds\": a whole number of seconds, or null"),
            },
            None => error(400, "\"seconds\": a whole number of seconds, or null"),
        }),
        ("POST", ["controls", "cancel"]) => with_body(body(), |b| {
            let all = b.get("all").and_then(Value::as_bool).unwrap_or(false);
            let randomized = b
                .get("randomized")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let cancelled: Vec<String> = server
                .cancel_controls(all, randomized, now)
                .iter()
                .map(ToString::to_string)
                .collect();
            (200, json!({ "cancelled": cancelled }))
        }),
        ("POST", ["fsas"]) => with_body(body(), |b| {
            // Checked as the FunctionSetAssignments it describes (the schema's String32).
            let description = b.get("description").and_then(Value::as_str).unwrap_or("");
            let as_fsa = json!({ "description": description }).to_string();
            if let Err(e) = checked::<FunctionSetAssignments>(
                as_fsa.as_bytes(),
                FunctionSetAssignments::encode,
                FunctionSetAssignments::decode,
            ) {
                return e;
            }
            let fsa = server.add_fsa(description);
            (
                201,
                json!({ "fsa": fsa.0, "href": format!("/fsa/{}", fsa.0) }),
            )
        }),
        ("POST", ["programs"]) => with_body(body(), |b| add_program(server, &b)),
        ("POST", ["programs", k, "controls"]) => match program(server, k) {
            Ok(k) => {
                match checked::<DERControl>(request.body, DERControl::encode, DERControl::decode) {
                    Ok(control) => match server.add_control(k, control, now) {
                        Some(href) => {
                            let mrid = control_mrid(server, k, &href);
                            (201, json!({ "href": href, "mRID": mrid }))
                        }
                        None => error(404, format!("no program {}", k.0)),
                    },
                    Err(e) => e,
                }
            }
            Err(e) => e,
        },
        ("POST", ["programs", k, "controls", mrid, "cancel"]) => match program(server, k) {
            Ok(k) => {
                let randomized = serde_json::from_slice::<Value>(request.body)
                    .ok()
                    .and_then(|b| b.get("randomized").and_then(Value::as_bool))
                    .unwrap_or(false);
                match Mrid::parse(mrid) {
                    Ok(mrid) if server.cancel_control(k, &mrid, randomized, now) => {
                        (200, json!({ "cancelled": mrid.to_string() }))
                    }
                    Ok(mrid) => error(404, format!("no event {mrid} in program {}", k.0)),
                    Err(e) => error(400, format!("mRID: {e}")),
                }
            }
            Err(e) => e,
        },
        ("PUT", ["programs", k, "default"]) => match program(server, k) {
            Ok(k) => match checked::<DefaultDERControl>(
                request.body,
                DefaultDERControl::encode,
                DefaultDERControl::decode,
            ) {
                Ok(default) => {
                    server.set_default(k, default);
                    (200, json!({ "href": format!("/derp/{}/dderc", k.0) }))
                }
                Err(e) => e,
            },
            Err(e) => e,
        },
        ("GET", ["responses"]) => (200, responses(server)),
        ("GET", ["mirrors"]) => (200, mirrors(server)),
        (
            _,
            [""]
            | [
                "devices" | "aggregators" | "registration" | "poll-rate" | "fsas" | "programs"
                | "responses" | "mirrors",
                ..,
            ],
        ) => error(
            405,
            format!("{} {} is not taken", request.method, request.path),
        ),
        _ => error(404, format!("no operation at {}", request.path)),
    }
}

fn with_body(
    body: serde_json::Result<Value>,
    then: impl FnOnce(Value) -> (u16, Value),
) -> (u16, Value) {
    match body {
        Ok(b) if b.is_object() => then(b),
        _ => error(400, "the body is not a JSON object"),
    }
}

/// A resource from its JSON, checked as a device would read it: written as XML and read back with the
/// schema's facets.
fn checked<T: serde::de::DeserializeOwned>(
    body: &[u8],
    encode: fn(&T, &mut Vec<u8>),
    decode: crate::resources::Decode<T>,
) -> Result<T, (u16, Value)> {
    let value: T = serde_json::from_slice(body).map_err(|e| error(400, e.to_string()))?;
    let mut xml = Vec::new();
    encode(&value, &mut xml);
    decode(&xml)
        .map(|(value, _)| value)
        .map_err(|e| error(400, format!("not a valid resource: {e}")))
}

fn lfdi_of(body: &Value, field: &str) -> Result<HexBinary160, (u16, Value)> {
    body.get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| error(400, format!("\"{field}\": an LFDI (40 hex digits)")))
        .and_then(|t| HexBinary160::parse(t).map_err(|e| error(400, format!("\"{field}\": {e}"))))
}

fn fsas_of(server: &Server, body: &Value) -> Result<Vec<FsaId>, (u16, Value)> {
    let Some(listed) = body.get("fsas") else {
        return Ok(Vec::new());
    };
    let Some(listed) = listed.as_array() else {
        return Err(error(400, "\"fsas\": a list of FSA numbers"));
    };
    listed
        .iter()
        .map(|j| {
            let j = j
                .as_u64()
                .and_then(|j| usize::try_from(j).ok())
                .ok_or_else(|| error(400, "\"fsas\": a list of FSA numbers"))?;
            if j < server.fsas.len() {
                Ok(FsaId(j))
            } else {
                Err(error(404, format!("no FSA {j}")))
            }
        })
        .collect()
}

fn program(server: &Server, k: &str) -> Result<ProgramIndex, (u16, Value)> {
    match k.parse::<usize>() {
        Ok(k) if k < server.programs.len() => Ok(ProgramIndex(k)),
        _ => Err(error(404, format!("no program {k}"))),
    }
}

fn control_mrid(server: &Server, k: ProgramIndex, href: &str) -> String {
    server
        .programs
        .get(k.0)
        .and_then(|p| p.controls.iter().find(|c| c.href.as_deref() == Some(href)))
        .map(|c| c.mrid.to_string())
        .unwrap_or_default()
}

fn summary(server: &Server) -> Value {
    json!({
        "devices": server.devices.iter().filter(|d| !d.removed).count(),
        "aggregators": server.aggregators.len(),
        "revoked": server.revoked.len(),
        "fsas": server.fsas.len(),
        "programs": server.programs.len(),
        "responses": server.responses.len(),
        "mirrors": server.mirrors.len(),
        "poll_rate": server.poll_rate,
        "poll_rates": Polled::ALL
            .iter()
            .map(|p| (p.name().to_owned(), json!(server.poll_rate_of(*p))))
            .collect::<serde_json::Map<_, _>>(),
        "post_rate": server.post_rate,
        "registration": match &server.registration {
            RegistrationPolicy::InBand { .. } => "in-band",
            _ => "pre-enrolled",
        },
    })
}

fn devices(server: &Server) -> Value {
    let listed: Vec<Value> = server
        .devices
        .iter()
        .enumerate()
        .filter(|(_, d)| !d.removed)
        .take(MAX_LISTED)
        .map(|(i, d)| {
            json!({
                "lfdi": d.lfdi.to_string(),
                "sfdi": sfdi(&d.lfdi),
                "href": format!("/edev/{i}"),
                "registered": d.pin.is_some(),
                "in_band": d.in_band,
                "aggregator": d.aggregator.map(|a| a.to_string()),
                "access": if server.revoked.contains(&d.lfdi) { "revoked" } else { "granted" },
                "fsas": d.fsas.iter().map(|f| f.0).collect::<Vec<_>>(),
                "connection_point": d.der.connection_point.as_ref().map(|c| c.value.connection_point_id.clone()),
            })
        })
        .collect();
    json!({ "devices": listed })
}

fn enrol(server: &mut Server, body: &Value, now: i64) -> (u16, Value) {
    let lfdi = match lfdi_of(body, "lfdi") {
        Ok(l) => l,
        Err(e) => return e,
    };
    let Some(pin) = body
        .get("pin")
        .and_then(Value::as_u64)
        .and_then(|p| u32::try_from(p).ok())
    else {
        return error(400, "\"pin\": the registration PIN, a whole number");
    };
    let fsas = match fsas_of(server, body) {
        Ok(f) => f,
        Err(e) => return e,
    };
    let aggregator = match body.get("aggregator") {
        None | Some(Value::Null) => None,
        Some(_) => match lfdi_of(body, "aggregator") {
            Ok(a) if server.aggregators.contains(&a) => Some(a),
            Ok(a) => return error(409, format!("{a} is not a declared aggregator")),
            Err(e) => return e,
        },
    };
    let connection_point = body.get("connection_point").and_then(Value::as_str);
    if connection_point.is_some_and(|c| c.len() > 32) {
        return error(400, "\"connection_point\": at most 32 octets (String32)");
    }
    let href = server.enrol(lfdi, pin, &fsas, now);
    server.assign_aggregator(&lfdi, aggregator);
    if let Some(id) = connection_point {
        server.set_connection_point(&lfdi, id);
    }
    (201, json!({ "href": href }))
}

fn poll_rate(server: &mut Server, body: &Value) -> (u16, Value) {
    let Some(Ok(seconds)) = body
        .get("seconds")
        .and_then(Value::as_u64)
        .map(u32::try_from)
    else {
        return error(400, "\"seconds\": a whole number of seconds");
    };
    match body.get("resource") {
        None | Some(Value::Null) => {
            server.set_poll_rate(seconds);
            (200, json!({ "poll_rate": seconds }))
        }
        Some(name) => match name.as_str().and_then(Polled::from_name) {
            Some(resource) => {
                server.set_poll_rate_of(resource, seconds);
                (
                    200,
                    json!({ "resource": resource.name(), "poll_rate": seconds }),
                )
            }
            None => error(
                400,
                format!(
                    "\"resource\": one of {}",
                    Polled::ALL.map(Polled::name).join(", ")
                ),
            ),
        },
    }
}

fn access(server: &mut Server, lfdi: &str, body: &Value) -> (u16, Value) {
    let Ok(lfdi) = HexBinary160::parse(lfdi) else {
        return error(400, "the path names no LFDI (40 hex digits)");
    };
    let Some(granted) = body.get("granted").and_then(Value::as_bool) else {
        return error(400, "\"granted\": true or false");
    };
    server.set_access(lfdi, granted);
    (200, json!({ "lfdi": lfdi.to_string(), "granted": granted }))
}

fn registration(server: &mut Server, body: &Value) -> (u16, Value) {
    let Some(in_band) = body.get("in_band").and_then(Value::as_bool) else {
        return error(400, "\"in_band\": true or false");
    };
    let fsas = match fsas_of(server, body) {
        Ok(f) => f,
        Err(e) => return e,
    };
    server.set_registration_policy(if in_band {
        RegistrationPolicy::InBand { fsas }
    } else {
        RegistrationPolicy::PreEnrolled
    });
    (200, json!({ "in_band": in_band }))
}

fn add_program(server: &mut Server, body: &Value) -> (u16, Value) {
    let fsa = match body.get("fsa").and_then(Value::as_u64).map(usize::try_from) {
        Some(Ok(j)) if j < server.fsas.len() => FsaId(j),
        Some(Ok(j)) => return error(404, format!("no FSA {j}")),
        _ => return error(400, "\"fsa\": the FSA number"),
    };
    let given = body.get("program").cloned().unwrap_or_else(|| json!({}));
    let Ok(bytes) = serde_json::to_vec(&given) else {
        return error(400, "\"program\": a DERProgram");
    };
    match checked::<DERProgram>(&bytes, DERProgram::encode, DERProgram::decode) {
        Ok(program) => {
            let k = server.add_program(fsa, program);
            (201, json!({ "program": k.0, "href": k.href() }))
        }
        Err(e) => e,
    }
}

fn responses(server: &Server) -> Value {
    let skip = server.responses.len().saturating_sub(MAX_LISTED);
    let listed: Vec<Value> = server
        .responses
        .iter()
        .skip(skip)
        .map(|r| {
            json!({
                "lfdi": r.end_device_lfdi.to_string(),
                "subject": r.subject.to_string(),
                "status": r.status,
                "created": r.created_date_time,
            })
        })
        .collect();
    json!({ "responses": listed })
}

fn mirrors(server: &Server) -> Value {
    let listed: Vec<Value> = server
        .mirrors
        .iter()
        .take(MAX_LISTED)
        .map(|m| {
            json!({
                "href": m.href,
                "mRID": m.mrid.to_string(),
                "lfdi": m.device_lfdi.to_string(),
                "meter_readings": m.mirror_meter_reading.len(),
            })
        })
        .collect();
    json!({ "mirrors": listed })
}
