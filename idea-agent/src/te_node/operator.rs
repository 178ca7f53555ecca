//! The TE node operator's interface (TE-02, TE-06 "UI"), sans-IO: requests in, JSON answers out; served over
//! HTTP by `idea serve te-node --operator-api` ([`crate::json_http`], behind a bearer token).
//!
//! | Request | What |
//! |---|---|
//! | `GET /` | the deployment, the registrar, how many avatars, contracts and refusals, the clearing period and next run |
//! | `GET /wallets` | every balance: `{"avatar", "currency", "minor"}` |
//! | `POST /deposits` `{"avatar": HEX32, "minor": N, "currency": "EUR", "exponent"?: 2}` | pays money in (recorded in the ledger) |
//! | `GET /clearing` | the obligations waiting for the next run (the first 1,000) |
//! | `GET /refusals` | the latest refusals (up to 1,000), newest last |
//!
//! An error is `{"error": sentence}` with 400 (bad input), 404, 405 or 409 (refused by the node).

use super::TeNode;
use idea_proto::{Currency, Money, Timestamp};
use serde_json::{Value, json};

/// The most items one answer lists.
pub const MAX_LISTED: usize = 1000;

/// One request (a query is ignored).
pub type OperatorRequest<'a> = crate::api::ApiRequest<'a>;

use crate::api::api_error as error;

/// Answers `request` at `now`: the status and the JSON body.
pub fn answer(node: &mut TeNode, request: &OperatorRequest<'_>, now: Timestamp) -> (u16, Value) {
    let path = request.resource();
    match (request.method, path) {
        ("GET", "") => (200, summary(node)),
        ("GET", "/wallets") => (200, wallets(node)),
        ("POST", "/deposits") => deposit(node, request.body, now),
        ("GET", "/clearing") => (200, clearing(node)),
        ("GET", "/refusals") => (200, refusals(node)),
        (_, "" | "/wallets" | "/deposits" | "/clearing" | "/refusals") => {
            error(405, format!("{} is not taken here", request.method))
        }
        _ => error(404, format!("no resource {path:?}")),
    }
}

fn summary(node: &TeNode) -> Value {
    json!({
        "deployment": node.registry().deployment().to_string(),
        "registrar": node.registry().registrar().to_string(),
        "avatars": node.registry().len(),
        "contracts": node.contracts().len(),
        "meters": node.meters_read(),
        "channels": node.channels().count(),
        "refusals": node.refusals().count(),
        "clearing_period_s": node.clearing_period().as_secs(),
        "next_clearing": node.poll_timeout().map(|t| t.to_string()),
    })
}

fn wallets(node: &TeNode) -> Value {
    let listed: Vec<Value> = node
        .wallets()
        .iter()
        .take(MAX_LISTED)
        .map(|(avatar, money)| {
            json!({
                "avatar": avatar.to_string(),
                "currency": money.currency.code(),
                "minor": money.minor_units,
            })
        })
        .collect();
    json!({ "wallets": listed })
}

fn deposit(node: &mut TeNode, body: &[u8], now: Timestamp) -> (u16, Value) {
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return error(400, "the body is not JSON");
    };
    let avatar = request
        .get("avatar")
        .and_then(Value::as_str)
        .and_then(|a| a.parse::<te_contract::AvatarId>().ok());
    let Some(avatar) = avatar else {
        return error(400, "\"avatar\": 32 hex digits");
    };
    let Some(minor) = request.get("minor").and_then(Value::as_i64) else {
        return error(400, "\"minor\": an amount in minor units");
    };
    let Some(code) = request.get("currency").and_then(Value::as_str) else {
        return error(400, "\"currency\": a currency code such as \"EUR\"");
    };
    let exponent = request.get("exponent").and_then(Value::as_u64).unwrap_or(2);
    let currency = match u32::try_from(exponent)
        .ok()
        .and_then(|e| Currency::new(code, e).ok())
    {
        Some(c) => c,
        None => {
            return error(
                400,
                format!("{code} with exponent {exponent} is not a currency"),
            );
        }
    };
    match node.deposit(avatar, Money::new(minor, currency), now) {
        Ok(d) => (
            201,
            json!({
                "avatar": d.avatar.to_string(),
                "minor": d.amount.minor_units,
                "currency": d.amount.currency.code(),
                "sequence": d.sequence,
                "balance_minor": node.wallets().balance(&avatar, currency).minor_units,
            }),
        ),
        Err(e) => error(409, e.to_string()),
    }
}

fn clearing(node: &TeNode) -> Value {
    let pending: Vec<Value> = node
        .pending_obligations()
        .take(MAX_LISTED)
        .map(|o| {
            json!({
                "from": o.from.to_string(),
                "to": o.to.to_string(),
                "minor": o.amount.minor_units,
                "currency": o.amount.currency.code(),
            })
        })
        .collect();
    json!({
        "period_s": node.clearing_period().as_secs(),
        "next_run": node.poll_timeout().map(|t| t.to_string()),
        "pending": pending,
    })
}

fn refusals(node: &TeNode) -> Value {
    let all: Vec<&super::Refusal> = node.refusals().collect();
    let listed: Vec<Value> = all
        .iter()
        .skip(all.len().saturating_sub(MAX_LISTED))
        .map(|r| {
            json!({
                "at": r.at.to_string(),
                "from": r.from,
                "transaction": r.transaction.map(|t| t.to_string()),
                "reason": r.reason,
            })
        })
        .collect();
    json!({ "refusals": listed })
}
