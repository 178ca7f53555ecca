//! The demand-response operator's interface (P2O), sans-IO: requests in, JSON answers out; served over HTTP
//! by `idea serve demand-response --operator-api` ([`crate::json_http`], behind a bearer token).
//!
//! | Request | What |
//! |---|---|
//! | `GET /` | the service, the cells it would call, its price cap |
//! | `POST /calls` `{"start": TIME, "intervals": N, "need_w": W}` | calls every cell for `need_w` W of flexibility over `N` settlement periods of 15 minutes from `start` (a period boundary); answers the call's number |
//! | `GET /calls` | the latest outcomes — what was bought from whom, at what price, and the shortfall — and what the TE node said of each contract |
//!
//! An error is `{"error": sentence}` with 400 (bad input), 404, 405 or 409 (refused by the service).

use super::DemandResponseService;
use idea_proto::{DeliveryWindow, Timestamp};
use serde_json::{Value, json};

/// The settlement period of a call, s.
pub const PERIOD_S: u32 = 900;
/// The most periods one call spans (a day).
pub const MAX_INTERVALS: u32 = 96;

/// One request (a query is ignored).
pub type OperatorRequest<'a> = crate::api::ApiRequest<'a>;

use crate::api::api_error as error;

/// Answers `request` at `now`: the status and the JSON body.
pub fn answer(
    service: &mut DemandResponseService,
    request: &OperatorRequest<'_>,
    now: Timestamp,
) -> (u16, Value) {
    match (request.method, request.resource()) {
        ("GET", "") => (
            200,
            json!({
                "service": service.config().service.to_string(),
                "operator": service.config().operator.to_string(),
                "cells": service.cells(),
                "price_cap_per_kwh": service.config().price_cap_per_kwh,
                "currency": service.config().currency.code(),
            }),
        ),
        ("POST", "/calls") => call(service, request.body, now),
        ("GET", "/calls") => (200, calls(service)),
        (_, "" | "/calls") => error(405, format!("{} is not taken here", request.method)),
        (_, other) => error(404, format!("no resource {other:?}")),
    }
}

fn call(service: &mut DemandResponseService, body: &[u8], now: Timestamp) -> (u16, Value) {
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return error(400, "the body is not JSON");
    };
    let start = request
        .get("start")
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<Timestamp>().ok());
    let Some(start) = start else {
        return error(400, "\"start\": a time such as 2026-12-03T12:00:00Z");
    };
    let intervals = request
        .get("intervals")
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| (1..=MAX_INTERVALS).contains(n));
    let Some(intervals) = intervals else {
        return error(400, format!("\"intervals\": 1 to {MAX_INTERVALS}"));
    };
    let Some(need_w) = request.get("need_w").and_then(Value::as_i64) else {
        return error(400, "\"need_w\": the flexibility needed, W");
    };
    let window = match DeliveryWindow::new(start, PERIOD_S, intervals) {
        Ok(w) => w,
        Err(e) => return error(400, e.to_string()),
    };
    if start <= now {
        return error(400, "\"start\" has passed");
    }
    match service.call_for_flexibility(window, need_w, now) {
        Ok(call) => (202, json!({ "call": call, "cells": service.cells() })),
        Err(e) => error(409, e.to_string()),
    }
}

fn calls(service: &DemandResponseService) -> Value {
    let recorded: std::collections::BTreeMap<String, Value> = service
        .recordings()
        .map(|(id, r)| {
            (
                id.to_string(),
                match r {
                    Ok(()) => json!("recorded"),
                    Err(reason) => json!({ "refused": reason }),
                },
            )
        })
        .collect();
    let outcomes: Vec<Value> = service
        .outcomes()
        .map(|o| {
            let bought: Vec<Value> = o
                .bought
                .iter()
                .map(|(agent, id, w, price)| {
                    json!({
                        "agent": agent,
                        "transaction": id.to_string(),
                        "w": w,
                        "price_per_kwh": price,
                        "te": recorded.get(&id.to_string()).cloned().unwrap_or(Value::Null),
                    })
                })
                .collect();
            json!({
                "call": o.call,
                "need_w": o.need_w,
                "bought": bought,
                "shortfall_w": o.shortfall_w,
            })
        })
        .collect();
    json!({ "calls": outcomes })
}

/// Serves the operator's interface of the running service on `listener` until the task is dropped (feature
/// `http`); with `token`, every request needs it as a bearer token.
#[cfg(feature = "http")]
pub async fn serve_operator_api(
    running: std::sync::Arc<crate::runtime::RunningService<DemandResponseService>>,
    listener: tokio::net::TcpListener,
    token: Option<String>,
) {
    let routes: crate::json_http::JsonRoutes = std::sync::Arc::new(move |request| {
        let running = std::sync::Arc::clone(&running);
        Box::pin(async move {
            running
                .call(move |service, now| {
                    answer(
                        service,
                        &OperatorRequest {
                            method: &request.method,
                            path: &request.path,
                            body: &request.body,
                        },
                        now,
                    )
                })
                .await
                .unwrap_or_else(|e| {
                    (
                        503,
                        json!({ "error": format!("the demand-response service: {e}") }),
                    )
                })
        })
    });
    crate::json_http::serve_json(listener, routes, token, "demand-response operator API").await;
}
