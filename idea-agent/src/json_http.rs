//! A bounded HTTP listener (feature `http`) behind the SDK's interfaces — the owner's (AG-08,
//! [`crate::owner_http`]) and the TE node operator's ([`crate::te_node::operator`]), every answer a JSON
//! body ([`serve_json`]); and pages with their data, as the demonstration's live page ([`serve_pages`]). One
//! request per connection; with a token, every request must carry `Authorization: Bearer TOKEN` (compared in
//! constant time) or gets 401.
//!
//! Bounded like every listener of the SDK: at most [`MAX_CONNECTIONS`] at once and
//! [`MAX_CONNECTIONS_PER_ADDRESS`] from one address, headers within [`HEADER_TIMEOUT`], a body within
//! [`BODY_TIMEOUT`] and [`MAX_BODY`]; an accept error is logged and the listener goes on.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use idea_proto::admission::{AcceptBackoff, Admission, AdmissionLimits};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

pub use crate::owner::MAX_BODY;

/// The most connections served at once.
pub const MAX_CONNECTIONS: usize = 64;
/// The most from one client address.
pub const MAX_CONNECTIONS_PER_ADDRESS: usize = 16;
/// How long a client may take to send its headers.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to send its body.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// One request as a route sees it.
#[derive(Debug, Clone)]
pub struct JsonRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path with its query.
    pub path: String,
    /// The body (at most [`MAX_BODY`] bytes).
    pub body: Bytes,
}

/// A route's answer: the status and the JSON body.
pub type JsonAnswer = (u16, serde_json::Value);

/// What answers the requests: given one, the future of its answer.
pub type JsonRoutes =
    Arc<dyn Fn(JsonRequest) -> Pin<Box<dyn Future<Output = JsonAnswer> + Send>> + Send + Sync>;

/// A route's answer of any kind: the status, the content type and the body.
pub type PageAnswer = (u16, &'static str, Bytes);

/// What answers the requests of [`serve_pages`].
pub type PageRoutes =
    Arc<dyn Fn(JsonRequest) -> Pin<Box<dyn Future<Output = PageAnswer> + Send>> + Send + Sync>;

/// A JSON answer as a page answer.
pub fn json_page(status: u16, body: &serde_json::Value) -> PageAnswer {
    (
        status,
        "application/json",
        Bytes::from(serde_json::to_vec(body).unwrap_or_default()),
    )
}

fn respond(status: u16, body: &serde_json::Value) -> hyper::Response<Full<Bytes>> {
    let (status, kind, body) = json_page(status, body);
    respond_page(status, kind, body)
}

fn respond_page(status: u16, kind: &'static str, body: Bytes) -> hyper::Response<Full<Bytes>> {
    hyper::Response::builder()
        .status(status)
        .header(hyper::header::CONTENT_TYPE, kind)
        .header(hyper::header::CACHE_CONTROL, "no-store")
        .body(Full::new(body))
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
    routes: PageRoutes,
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
    let (status, kind, body) = routes(JsonRequest { method, path, body }).await;
    respond_page(status, kind, body)
}

/// Serves `routes` on `listener` until the task is dropped, every answer JSON; `what` names the interface
/// in the log.
pub async fn serve_json(
    listener: TcpListener,
    routes: JsonRoutes,
    token: Option<String>,
    what: &'static str,
) {
    let pages: PageRoutes = Arc::new(move |request| {
        let answer = routes(request);
        Box::pin(async move {
            let (status, body) = answer.await;
            json_page(status, &body)
        })
    });
    serve_pages(listener, pages, token, what).await;
}

/// Serves `routes` on `listener` until the task is dropped, each answer of the content type its route
/// gives; `what` names the interface in the log.
pub async fn serve_pages(
    listener: TcpListener,
    routes: PageRoutes,
    token: Option<String>,
    what: &'static str,
) {
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
                log::warn!("{what}: accept failed: {e}; pausing {pause:?}");
                tokio::time::sleep(pause).await;
                continue;
            }
        };
        let permit = match admission.admit(peer.ip()) {
            Ok(p) => p,
            Err(why) => {
                log::warn!("{what}: {peer} refused: {why}");
                continue;
            }
        };
        let routes = Arc::clone(&routes);
        let token = token.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let service = service_fn(move |request| {
                let routes = Arc::clone(&routes);
                let token = token.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(request, routes, token).await) }
            });
            if let Err(e) = http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .keep_alive(false)
                .serve_connection(TokioIo::new(tcp), service)
                .await
            {
                log::info!("{what}: {peer}: {e}");
            }
        });
    }
}
