//! The owner's interface (AG-08) as requests and answers without I/O: an HTTP/JSON resource tree per cell that
//! a server (feature `http`, [`crate::owner_http`]) or a test drives. Paths are relative to the cell
//! (`/cells/{cell}` on the server):
//!
//! | method and path | what |
//! | --- | --- |
//! | `GET /` | the cell: agent, type, limits, the participation profile in force and the ones defined |
//! | `GET /commitments` | the commitment book (AG-04) |
//! | `GET /transactions` | every trade with its counterparty, side, state, price, energy and window |
//! | `GET /events?since=N` | the event log from sequence number `N` (the last [`MAX_KEPT_EVENTS`]) |
//! | `GET /money` | what the TE node settled per transaction and what clearing paid of it, and the totals |
//! | `PUT /participation` `{"profile": NAME}` | AUX-03: another participation profile |
//! | `POST /orders` `{"start": RFC 3339, "wh": [..], "reply_within_s": 30, "tolerance_bp": 500, "penalty_per_kwh": 0}` | buy energy bilaterally from the cells known (UC-01) |
//! | `POST /market-orders` `{"side": "buy"\|"sell", "start": RFC 3339, "wh": N, "service": "p2p-market", "operator": "market-operator"}` | an order for one period on the P2P market the directory offers, at the owner's limit price |
//! | `GET /subscriptions` | each service of the profile in force and its subscription: active, ending or ended |
//! | `PUT /subscriptions/{service}` / `DELETE /subscriptions/{service}` | AUX-04 subscribe / AUX-08 end the subscription (what is under way runs to its end first) |
//! | `POST /registration` / `DELETE /registration` | AUX-01 connect to / AUX-09 leave the directory |
//! | `POST /shedding` `{"power_w": N}` / `DELETE /shedding` | ask the load-shedding service to shed at least N W of the cell's load / to restore it |
//!
//! Answers are JSON; an error is `{"error": sentence}` with 400 (bad input), 404 (no such resource), 405 (not
//! that method), 409 (refused by the agent: a limit, a profile) or 413 (body too large).

use crate::agent::Agent;
use crate::event::Event;
use idea_proto::{Timestamp, TransactionState};
use serde_json::{Value, json};
use std::collections::VecDeque;

/// The most events kept for `GET /events`.
pub const MAX_KEPT_EVENTS: usize = 4096;
/// The largest request body taken.
pub const MAX_BODY: usize = 64 * 1024;

/// The recent events of one agent, numbered from 0 in arrival order.
#[derive(Debug, Default, Clone)]
pub struct EventRing {
    events: VecDeque<Event>,
    next: u64,
}

impl EventRing {
    /// Keeps `e`, dropping the oldest beyond [`MAX_KEPT_EVENTS`].
    pub fn push(&mut self, e: Event) {
        if self.events.len() >= MAX_KEPT_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(e);
        self.next = self.next.saturating_add(1);
    }

    /// The events numbered `since` and later, with their numbers.
    pub fn since(&self, since: u64) -> impl Iterator<Item = (u64, &Event)> {
        let first = self.next.saturating_sub(self.events.len() as u64);
        self.events
            .iter()
            .enumerate()
            .map(move |(i, e)| (first.saturating_add(i as u64), e))
            .filter(move |(n, _)| *n >= since)
    }

    /// The number the next event will get.
    pub fn next(&self) -> u64 {
        self.next
    }
}

/// One request to the owner's interface (its path is below the cell: `/events?since=3`).
pub type OwnerRequest<'a> = crate::api::ApiRequest<'a>;

/// The answer: an HTTP status and a JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnerResponse {
    /// The status code.
    pub status: u16,
    /// The body.
    pub body: Value,
}

fn error(status: u16, message: impl Into<String>) -> OwnerResponse {
    let (status, body) = crate::api::api_error(status, message);
    OwnerResponse { status, body }
}

fn ok(body: Value) -> OwnerResponse {
    OwnerResponse { status: 200, body }
}

fn query<'a>(path: &'a str, name: &str) -> Option<&'a str> {
    path.split_once('?')?
        .1
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn body_json(body: &[u8]) -> Result<Value, OwnerResponse> {
    if body.len() > MAX_BODY {
        return Err(error(413, format!("a body is at most {MAX_BODY} bytes")));
    }
    serde_json::from_slice(body).map_err(|e| error(400, format!("the body is not JSON: {e}")))
}

/// Answers `request` for `agent` at `now`, with its recent `events`.
pub fn answer(
    agent: &mut Agent,
    events: &EventRing,
    request: &OwnerRequest<'_>,
    now: Timestamp,
) -> OwnerResponse {
    let resource = request.path.split('?').next().unwrap_or("");
    let resource = resource.trim_end_matches('/');
    if let Some(service) = resource.strip_prefix("/subscriptions/") {
        return subscription(agent, request.method, service, now);
    }
    match (request.method, resource) {
        ("GET", "") => ok(cell(agent)),
        ("GET", "/commitments") => ok(json!({ "commitments": agent.book().commitments() })),
        ("GET", "/transactions") => ok(transactions(agent)),
        ("GET", "/events") => {
            let since = match query(request.path, "since").map(str::parse::<u64>) {
                None => 0,
                Some(Ok(n)) => n,
                Some(Err(e)) => return error(400, format!("since: {e}")),
            };
            let listed: Vec<Value> = events
                .since(since)
                .map(|(n, e)| {
                    let mut v = serde_json::to_value(e).unwrap_or(Value::Null);
                    if let Some(o) = v.as_object_mut() {
                        o.insert("seq".into(), json!(n));
                    }
                    v
                })
                .collect();
            ok(json!({ "events": listed, "next": events.next() }))
        }
        ("GET", "/money") => ok(money(agent)),
        ("GET", "/subscriptions") => ok(subscriptions(agent)),
        ("PUT", "/participation") => {
            let body = match body_json(request.body) {
                Ok(b) => b,
                Err(e) => return e,
            };
            let Some(profile) = body.get("profile").and_then(Value::as_str) else {
                return error(400, "expected {\"profile\": NAME}");
            };
            match agent.set_participation(profile, now) {
                Ok(()) => ok(json!({ "participation": profile })),
                Err(e) => error(409, e.to_string()),
            }
        }
        ("POST", "/orders") => order(agent, request.body, now),
        ("POST", "/market-orders") => market_order(agent, request.body, now),
        ("POST", "/registration") => {
            match agent.with_behaviour::<crate::PlugAndPlay, _>(now, |p, cx| p.join(cx)) {
                None => error(409, "the agent has no plug-and-play behaviour"),
                Some(Err(e)) => error(409, e.to_string()),
                Some(Ok(())) => OwnerResponse {
                    status: 202,
                    body: json!({ "registration": "sent" }),
                },
            }
        }
        ("DELETE", "/registration") => {
            match agent.with_behaviour::<crate::PlugAndPlay, _>(now, |p, cx| p.leave(cx)) {
                None => error(409, "the agent has no plug-and-play behaviour"),
                Some(Err(e)) => error(409, e.to_string()),
                Some(Ok(())) => OwnerResponse {
                    status: 202,
                    body: json!({ "deregistration": "sent" }),
                },
            }
        }
        ("POST", "/shedding") => {
            let body = match body_json(request.body) {
                Ok(b) => b,
                Err(e) => return e,
            };
            let Some(watts) = body
                .get("power_w")
                .and_then(Value::as_i64)
                .filter(|w| *w > 0)
            else {
                return error(400, "expected {\"power_w\": W}, W above 0");
            };
            shedding(agent, now, Some(watts))
        }
        ("DELETE", "/shedding") => shedding(agent, now, None),
        (
            _,
            "" | "/commitments" | "/transactions" | "/events" | "/money" | "/participation"
            | "/subscriptions" | "/orders" | "/market-orders" | "/registration" | "/shedding",
        ) => error(
            405,
            format!("{} is not allowed on {resource:?}", request.method),
        ),
        _ => error(404, format!("no resource {resource:?}")),
    }
}

fn shedding(agent: &mut Agent, now: Timestamp, watts: Option<i64>) -> OwnerResponse {
    use crate::load_shedding::LoadSheddingClient;
    let asked = agent.with_behaviour::<LoadSheddingClient, _>(now, |c, cx| match watts {
        Some(w) => c.shed(cx, w),
        None => c.restore(cx),
    });
    match asked {
        None => error(409, "the agent has no load-shedding client"),
        Some(Err(e)) => error(409, e.to_string()),
        Some(Ok(())) => OwnerResponse {
            status: 202,
            body: json!({ "shedding": if watts.is_some() { "requested" } else { "restore requested" } }),
        },
    }
}

fn cell(agent: &Agent) -> Value {
    let s = agent.settings();
    let limits = s.cell.limits;
    json!({
        "agent": agent.me().name,
        "cell": s.cell.id.as_str(),
        "cell_type": s.cell.cell_type.name(),
        "limits": {
            "max_import_w": limits.max_import.w(),
            "max_export_w": limits.max_export.w(),
        },
        "participation": s.participation,
        "profiles": s.profiles.keys().collect::<Vec<_>>(),
        "behaviours": agent.behaviour_names(),
        "peers": agent.peers().iter().count(),
        "stored_wh": agent.book().stored_energy(),
    })
}

fn transactions(agent: &Agent) -> Value {
    let listed: Vec<Value> = agent
        .transactions()
        .iter()
        .map(|(id, t)| {
            let terms = &t.transaction.terms;
            json!({
                "id": id.to_string(),
                "counterparty": t.counterparty,
                "side": t.side.to_string(),
                "state": state_name(t.lifecycle.state()),
                "subject": t.transaction.subject.to_string(),
                "price_minor_per_kwh": terms.price.minor_units_per_kwh,
                "currency": terms.price.currency.to_string(),
                "energy_wh": terms.total_energy().map(|e| e.wh()).ok(),
                "start": terms.window.start().to_string(),
                "intervals": terms.window.intervals(),
                "period_s": terms.window.period_s(),
            })
        })
        .collect();
    json!({ "transactions": listed })
}

fn state_name(s: TransactionState) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{s:?}"))
}

fn money(agent: &Agent) -> Value {
    let (mut received, mut paid, mut penalties, mut due) = (0i64, 0i64, 0i64, 0i64);
    let listed: Vec<Value> = agent
        .settlements()
        .iter()
        .map(|(id, s)| {
            if s.amount_minor >= 0 {
                received = received.saturating_add(s.amount_minor);
            } else {
                paid = paid.saturating_add(s.amount_minor.saturating_neg());
            }
            penalties = penalties.saturating_add(s.penalty_minor);
            due = due.saturating_add(s.amount_minor.saturating_sub(s.paid_minor));
            json!({
                "transaction": id.to_string(),
                "intervals": s.intervals,
                "delivered_wh": s.delivered_wh,
                "amount_minor": s.amount_minor,
                "penalty_minor": s.penalty_minor,
                "paid_intervals": s.paid_intervals,
                "cleared_minor": s.paid_minor,
                "paid_in_full": s.paid_in_full,
            })
        })
        .collect();
    json!({
        "currency": agent.settings().currency.to_string(),
        "received_minor": received,
        "paid_minor": paid,
        "penalties_minor": penalties,
        "due_at_clearing_minor": due,
        "settlements": listed,
    })
}

/// `GET /subscriptions`.
fn subscriptions(agent: &Agent) -> Value {
    let listed: Vec<Value> = agent
        .settings()
        .profile()
        .services
        .iter()
        .map(|s| {
            json!({
                "service": s.as_str(),
                "state": agent.subscriptions().state(s).name(),
                "open_transactions": agent.transactions().open_in(s),
            })
        })
        .collect();
    json!({ "subscriptions": listed })
}

/// `PUT` or `DELETE /subscriptions/{service}`.
fn subscription(agent: &mut Agent, method: &str, service: &str, now: Timestamp) -> OwnerResponse {
    let service = match idea_proto::ServiceId::new(service) {
        Ok(s) => s,
        Err(e) => return error(404, format!("no service {service:?}: {e}")),
    };
    match method {
        "PUT" => match agent.subscribe(&service, now) {
            Ok(()) => ok(json!({ "service": service.as_str(), "state": "active" })),
            Err(e) => error(409, e.to_string()),
        },
        "DELETE" => {
            let state = agent.unsubscribe(&service, now);
            OwnerResponse {
                status: 202,
                body: json!({
                    "service": service.as_str(),
                    "state": state.name(),
                    "open_transactions": agent.transactions().open_in(&service),
                }),
            }
        }
        other => error(
            405,
            format!("{other} is not allowed on a subscription (PUT or DELETE)"),
        ),
    }
}

/// The `"start"` of an order's body.
fn start_of(body: &Value) -> Result<Timestamp, OwnerResponse> {
    match body
        .get("start")
        .and_then(Value::as_str)
        .map(str::parse::<Timestamp>)
    {
        Some(Ok(t)) => Ok(t),
        Some(Err(e)) => Err(error(400, format!("start: {e}"))),
        None => Err(error(400, "start: an RFC 3339 time is needed")),
    }
}

/// `POST /market-orders`: one period's order on the P2P market.
fn market_order(agent: &mut Agent, body: &[u8], now: Timestamp) -> OwnerResponse {
    let body = match body_json(body) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let side = match body.get("side").and_then(Value::as_str) {
        Some("buy") => idea_proto::Side::Buyer,
        Some("sell") => idea_proto::Side::Seller,
        _ => return error(400, "side: \"buy\" or \"sell\""),
    };
    let start = match start_of(&body) {
        Ok(t) => t,
        Err(e) => return e,
    };
    let Some(wh) = body.get("wh").and_then(Value::as_i64).filter(|w| *w > 0) else {
        return error(400, "wh: a positive whole number of watt-hours");
    };
    let text = |key: &str, default: &str| {
        body.get(key)
            .and_then(Value::as_str)
            .unwrap_or(default)
            .to_owned()
    };
    let service = match idea_proto::ServiceId::new(text("service", "p2p-market")) {
        Ok(s) => s,
        Err(e) => return error(400, format!("service: {e}")),
    };
    let operator = match idea_proto::UserId::new(text("operator", "market-operator")) {
        Ok(o) => o,
        Err(e) => return error(400, format!("operator: {e}")),
    };
    match agent.with_behaviour::<crate::MarketParticipant, _>(now, |p, cx| {
        p.place(cx, service, operator, side, start, wh)
    }) {
        None => error(409, "the agent has no market participant behaviour"),
        Some(Err(e)) => error(409, e.to_string()),
        Some(Ok(id)) => OwnerResponse {
            status: 202,
            body: json!({ "transaction": id.to_string() }),
        },
    }
}

fn order(agent: &mut Agent, body: &[u8], now: Timestamp) -> OwnerResponse {
    use idea_proto::{DeliveryWindow, Duration, Energy, Profile, Subject};
    let body = match body_json(body) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let start = match start_of(&body) {
        Ok(t) => t,
        Err(e) => return e,
    };
    let Some(wh) = body.get("wh").and_then(Value::as_array) else {
        return error(400, "wh: the energy per interval is needed, [Wh, …]");
    };
    let wh: Option<Vec<i64>> = wh.iter().map(Value::as_i64).collect();
    let Some(wh) = wh.filter(|w| !w.is_empty() && w.len() <= 96 && w.iter().all(|x| *x > 0)) else {
        return error(400, "wh: 1 to 96 positive whole watt-hours");
    };
    let period = agent.settings().settlement_period_s;
    let intervals = u32::try_from(wh.len()).unwrap_or(u32::MAX);
    let window = match DeliveryWindow::new(start, period, intervals) {
        Ok(w) => w,
        Err(e) => return error(400, format!("start: {e}")),
    };
    let within = body
        .get("reply_within_s")
        .and_then(Value::as_u64)
        .unwrap_or(30);
    let tolerance_bp = body
        .get("tolerance_bp")
        .and_then(Value::as_u64)
        .unwrap_or(500);
    let Some(tolerance_bp) = u32::try_from(tolerance_bp).ok().filter(|bp| *bp <= 10_000) else {
        return error(400, "tolerance_bp: 0 to 10000 basis points");
    };
    let penalty = body
        .get("penalty_per_kwh")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if penalty < 0 {
        return error(400, "penalty_per_kwh: not negative");
    }
    let Some(service) = agent.settings().profile().services.first().cloned() else {
        return error(
            409,
            "the participation profile in force takes part in no service",
        );
    };
    let order = crate::BuyOrder {
        service,
        subject: Subject::Energy,
        window,
        profile: Profile::Energy(wh.into_iter().map(Energy::from_wh).collect()),
        sellers: Vec::new(),
        reply_within: Duration::from_secs(within.clamp(1, 3600)),
        tolerance: idea_proto::ToleranceBand {
            relative_bp: tolerance_bp,
            absolute: Energy::from_wh(0),
        },
        penalty_per_kwh: penalty,
    };
    match agent.with_behaviour::<crate::P2pBuyer, _>(now, |b, cx| b.buy(cx, order)) {
        None => error(409, "the agent has no P2P buyer behaviour"),
        Some(Err(e)) => error(409, e.to_string()),
        Some(Ok(ids)) => OwnerResponse {
            status: 202,
            body: json!({ "transactions": ids.iter().map(ToString::to_string).collect::<Vec<_>>() }),
        },
    }
}
