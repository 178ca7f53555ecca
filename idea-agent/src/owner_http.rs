//! The owner's interface over HTTP/JSON (feature `http`, AG-08): one listener per process, each cell's agent
//! under `/cells/{cell}` ([`crate::owner`] lists the resources), `GET /cells` the cells served. With a token,
//! every request must carry `Authorization: Bearer TOKEN` (compared in constant time) or gets 401.
//!
//! Bounded like every listener of the SDK: at most [`MAX_CONNECTIONS`] at once and
//! [`MAX_CONNECTIONS_PER_ADDRESS`] from one address, headers within [`HEADER_TIMEOUT`], a body within
//! [`BODY_TIMEOUT`] and [`crate::owner::MAX_BODY`]; one request per connection; an accept error is logged
//! and the listener goes on.

use crate::owner::{EventRing, MAX_BODY, OwnerRequest, answer};
use crate::runtime::RunningAgent;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use idea_proto::admission::{AcceptBackoff, Admission, AdmissionLimits};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::net::TcpListener;

/// The most connections served at once.
pub const MAX_CONNECTIONS: usize = 64;
/// The most from one client address.
pub const MAX_CONNECTIONS_PER_ADDRESS: usize = 16;
/// How long a client may take to send its headers.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to send its body.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

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

fn respond(status: u16, body: &serde_json::Value) -> hyper::Response<Full<Bytes>> {
    let text = serde_json::to_vec(body).unwrap_or_default();
    hyper::Response::builder()
        .status(status)
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(text)))
        .unwrap_or_else(|_| hyper::Response::new(Full::new(Bytes::new())))
}

/// Whether `given` is `expected`, in time independent of where they differ.
fn same_token(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

async fn handle(
    request: hyper::Request<Incoming>,
    cells: OwnerCells,
    token: Option<Arc<str>>,
) -> hyper::Response<Full<Bytes>> {
    if let Some(token) = &token {
        let given = request
            .headers()
            .get(hyper::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !same_token(given.as_bytes(), token.as_bytes()) {
            return respond(
                401,
                &serde_json::json!({ "error": "a bearer token is needed" }),
            );
        }
    }
    let method = request.method().as_str().to_owned();
    let path = request.uri().path_and_query().map_or_else(
        || request.uri().path().to_owned(),
        |p| p.as_str().to_owned(),
    );
    let collected = tokio::time::timeout(
        BODY_TIMEOUT,
        Limited::new(request.into_body(), MAX_BODY).collect(),
    )
    .await;
    let body = match collected {
        Ok(Ok(body)) => body.to_bytes(),
        Ok(Err(_)) => {
            return respond(
                413,
                &serde_json::json!({ "error": format!("a body is at most {MAX_BODY} bytes") }),
            );
        }
        Err(_) => {
            return respond(
                408,
                &serde_json::json!({ "error": "the body did not arrive in time" }),
            );
        }
    };
    if path == "/cells" || path == "/cells/" {
        if method != "GET" {
            return respond(405, &serde_json::json!({ "error": "GET only" }));
        }
        return respond(
            200,
            &serde_json::json!({ "cells": cells.keys().collect::<Vec<_>>() }),
        );
    }
    let Some(rest) = path.strip_prefix("/cells/") else {
        return respond(
            404,
            &serde_json::json!({ "error": "the interface is under /cells" }),
        );
    };
    let (cell, below) = rest
        .find(['/', '?'])
        .map_or((rest, ""), |i| rest.split_at(i));
    let Some(owner) = cells.get(cell).cloned() else {
        return respond(
            404,
            &serde_json::json!({ "error": format!("no cell {cell:?} here") }),
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
        Ok(r) => respond(r.status, &r.body),
        Err(e) => respond(
            503,
            &serde_json::json!({ "error": format!("the agent: {e}") }),
        ),
    }
}

/// Serves the owner's interface of `cells` on `listener` until the task is dropped.
pub async fn serve_owner_api(listener: TcpListener, cells: OwnerCells, token: Option<String>) {
    let admission = Admission::new(AdmissionLimits {
        total: MAX_CONNECTIONS,
        per_address: MAX_CONNECTIONS_PER_ADDRESS,
    });
    let mut backoff = AcceptBackoff::default();
    let token: Option<Arc<str>> = token.map(Arc::from);
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => {
                backoff.reset();
                accepted
            }
            Err(e) => {
                let pause = backoff.next_pause();
                log::warn!("owner API: accept failed: {e}; pausing {pause:?}");
                tokio::time::sleep(pause).await;
                continue;
            }
        };
        let permit = match admission.admit(peer.ip()) {
            Ok(p) => p,
            Err(why) => {
                log::warn!("owner API: {peer} refused: {why}");
                continue;
            }
        };
        let cells = Arc::clone(&cells);
        let token = token.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let service = service_fn(move |request| {
                let cells = Arc::clone(&cells);
                let token = token.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(request, cells, token).await) }
            });
            if let Err(e) = http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .keep_alive(false)
                .serve_connection(TokioIo::new(tcp), service)
                .await
            {
                log::info!("owner API: {peer}: {e}");
            }
        });
    }
}
