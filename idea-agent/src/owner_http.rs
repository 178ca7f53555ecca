//! The owner's interface over HTTP/JSON (feature `http`, AG-08): one listener per process
//! ([`crate::json_http`], bounded), each cell's agent under `/cells/{cell}` ([`crate::owner`] lists the
//! resources), `GET /cells` the cells served. With a token, every request must carry `Authorization: Bearer
//! TOKEN` or gets 401.

use crate::json_http::{JsonAnswer, JsonRequest, JsonRoutes, serve_json};
use crate::owner::{EventRing, OwnerRequest, answer};
use crate::runtime::RunningAgent;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::net::TcpListener;

pub use crate::json_http::{
    BODY_TIMEOUT, HEADER_TIMEOUT, MAX_CONNECTIONS, MAX_CONNECTIONS_PER_ADDRESS,
};

/// One cell's agent as the interface reaches it.
#[derive(Debug, Clone)]
pub struct OwnerCell {
    /// The running agent.
    pub agent: Arc<RunningAgent>,
    /// Its recent events (fed by whoever takes the agent's event sink).
    pub events: Arc<Mutex<EventRing>>,
}

/// The cells served, by cell id.
pub type OwnerCells = Arc<BTreeMap<String, OwnerCell>>;

async fn route(request: JsonRequest, cells: OwnerCells) -> JsonAnswer {
    let JsonRequest { method, path, body } = request;
    if path == "/cells" || path == "/cells/" {
        if method != "GET" {
            return (405, serde_json::json!({ "error": "GET only" }));
        }
        return (
            200,
            serde_json::json!({ "cells": cells.keys().collect::<Vec<_>>() }),
        );
    }
    let Some(rest) = path.strip_prefix("/cells/") else {
        return (
            404,
            serde_json::json!({ "error": "the interface is under /cells" }),
        );
    };
    let (cell, below) = rest
        .find(['/', '?'])
        .map_or((rest, ""), |i| rest.split_at(i));
    let Some(owner) = cells.get(cell).cloned() else {
        return (
            404,
            serde_json::json!({ "error": format!("no cell {cell:?} here") }),
        );
    };
    let below = if below.starts_with('?') {
        format!("/{below}")
    } else {
        below.to_owned()
    };
    let events = Arc::clone(&owner.events);
    let answered = owner
        .agent
        .call(move |agent, now| {
            let ring = events.lock().unwrap_or_else(PoisonError::into_inner);
            answer(
                agent,
                &ring,
                &OwnerRequest {
                    method: &method,
                    path: &below,
                    body: &body,
                },
                now,
            )
        })
        .await;
    match answered {
        Ok(r) => (r.status, r.body),
        Err(e) => (
            503,
            serde_json::json!({ "error": format!("the agent: {e}") }),
        ),
    }
}

/// Serves the owner's interface of `cells` on `listener` until the task is dropped.
pub async fn serve_owner_api(listener: TcpListener, cells: OwnerCells, token: Option<String>) {
    let routes: JsonRoutes = Arc::new(move |request| {
        let cells = Arc::clone(&cells);
        Box::pin(route(request, cells))
    });
    serve_json(listener, routes, token, "owner API").await;
}
