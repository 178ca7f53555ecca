//! The server core behind hyper (HTTP/1.1) and rustls: each connection's client is identified by the LFDI of
//! its certificate; each request goes to [`Server::handle`] with the adapter's clock.

use super::{BODY_LIMIT, Clock};
use crate::Error;
use crate::primitives::HexBinary160;
use crate::server::{MEDIA_TYPE, Method, Request, Server};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use idea_proto::admission::{AcceptBackoff, Admission, AdmissionLimits};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::idle::IdleTimeout;

/// A server core shared between connections.
pub type SharedServer = Arc<Mutex<Server>>;

/// What the server holds and how long it waits for a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeLimits {
    /// Connections at once, and from one client address.
    pub admission: AdmissionLimits,
    /// A TLS handshake must complete within this.
    pub handshake_timeout: Duration,
    /// A request's headers must arrive within this once it begins (trickled headers: slowloris).
    pub header_timeout: Duration,
    /// A request's body must arrive within this.
    pub body_timeout: Duration,
    /// A connection that sends nothing for this long is closed.
    pub idle_timeout: Duration,
}

impl Default for ServeLimits {
    /// 256 connections, 16 from one address; 10 s for a handshake and for headers, 30 s for a body, 120 s
    /// of silence.
    fn default() -> ServeLimits {
        ServeLimits {
            admission: AdmissionLimits {
                total: 256,
                per_address: 16,
            },
            handshake_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(120),
        }
    }
}

/// Accepts connections on `listener` forever, with the default [`ServeLimits`]: TLS with `tls` (client
/// certificates required; the client is the LFDI of its certificate), or plain HTTP without (every client is
/// the operator — for local testing only). Each connection runs in its own task.
///
/// # Errors
/// None in practice: a failed accept (out of file descriptors, a reset) is logged and retried after a
/// pause; the listener never stops on its own.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    server: SharedServer,
    clock: Clock,
) -> Result<(), Error> {
    serve_with(listener, tls, server, clock, ServeLimits::default()).await
}

/// As [`serve`], with `limits`: a connection over the admission limits is closed at accept, a handshake,
/// headers or a body that do not arrive in time and a silent connection are closed.
///
/// # Errors
/// None in practice (see [`serve`]).
pub async fn serve_with(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    server: SharedServer,
    clock: Clock,
    limits: ServeLimits,
) -> Result<(), Error> {
    let acceptor = tls.map(TlsAcceptor::from);
    let admission = Admission::new(limits.admission);
    let mut backoff = AcceptBackoff::default();
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => {
                backoff.reset();
                accepted
            }
            Err(e) => {
                let pause = backoff.next_pause();
                log::error!("2030.5 server: accept failed: {e}; retrying in {pause:?}");
                tokio::time::sleep(pause).await;
                continue;
            }
        };
        let permit = match admission.admit(peer.ip()) {
            Ok(permit) => permit,
            Err(why) => {
                log::warn!("{peer}: refused: {why}");
                continue;
            }
        };
        let server = server.clone();
        let clock = clock.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let tcp = IdleTimeout::new(tcp, limits.idle_timeout);
            let served = match acceptor {
                Some(acceptor) => {
                    let stream =
                        match tokio::time::timeout(limits.handshake_timeout, acceptor.accept(tcp))
                            .await
                        {
                            Ok(Ok(stream)) => stream,
                            Ok(Err(e)) => {
                                log::warn!("{peer}: TLS handshake refused: {e}");
                                return;
                            }
                            Err(_) => {
                                log::warn!("{peer}: TLS handshake not completed in time");
                                return;
                            }
                        };
                    let client = super::tls::peer_lfdi(stream.get_ref().1);
                    if client.is_none() {
                        log::warn!("{peer}: refused: no LFDI from the client certificate");
                        return;
                    }
                    serve_limited(stream, client, server, clock, limits).await
                }
                None => serve_limited(tcp, None, server, clock, limits).await,
            };
            if let Err(e) = served {
                log::info!("{peer}: closed: {e}");
            }
        });
    }
}

/// Serves one connection whose client is `client` (the LFDI its TLS layer established; `None`: operator).
/// Any TLS library can sit below: pass its stream and the LFDI of the peer's certificate.
///
/// # Errors
/// [`Error::Transport`] if the connection fails.
pub async fn serve_connection<S>(
    stream: S,
    client: Option<HexBinary160>,
    server: SharedServer,
    clock: Clock,
) -> Result<(), Error>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let limits = ServeLimits::default();
    serve_limited(
        IdleTimeout::new(stream, limits.idle_timeout),
        client,
        server,
        clock,
        limits,
    )
    .await
}

/// One connection under `limits`' header and body timeouts.
async fn serve_limited<S>(
    stream: S,
    client: Option<HexBinary160>,
    server: SharedServer,
    clock: Clock,
    limits: ServeLimits,
) -> Result<(), Error>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |request: hyper::Request<Incoming>| {
        let server = server.clone();
        let clock = clock.clone();
        async move {
            Ok::<_, std::convert::Infallible>(
                answer(request, client, &server, &clock, limits.body_timeout).await,
            )
        }
    });
    http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .serve_connection(TokioIo::new(stream), service)
        .await
        .map_err(|e| Error::Transport(format!("HTTP: {e}")))
}

async fn answer(
    request: hyper::Request<Incoming>,
    client: Option<HexBinary160>,
    server: &SharedServer,
    clock: &Clock,
    body_timeout: Duration,
) -> hyper::Response<Full<Bytes>> {
    let method = match *request.method() {
        hyper::Method::GET | hyper::Method::HEAD => Method::Get,
        hyper::Method::POST => Method::Post,
        hyper::Method::PUT => Method::Put,
        hyper::Method::DELETE => Method::Delete,
        _ => return plain(405),
    };
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or("").to_owned();
    let collected = tokio::time::timeout(
        body_timeout,
        Limited::new(request.into_body(), BODY_LIMIT).collect(),
    )
    .await;
    let body = match collected {
        Ok(Ok(body)) => body,
        Ok(Err(_)) => return plain(413),
        Err(_) => return plain(408),
    };
    let request = Request {
        method,
        path,
        query,
        body: body.to_bytes().to_vec(),
        client,
    };
    let now = clock();
    let reply = match server.lock() {
        Ok(mut server) => server.handle(&request, now),
        Err(_) => return plain(500),
    };
    let mut response = hyper::Response::builder().status(reply.status);
    if let Some(location) = &reply.location {
        response = response.header(hyper::header::LOCATION, location);
    }
    if !reply.body.is_empty() {
        response = response.header(hyper::header::CONTENT_TYPE, MEDIA_TYPE);
    }
    response
        .body(Full::new(Bytes::from(reply.body)))
        .unwrap_or_else(|_| plain(500))
}

/// Delivers the notifications the server core queues: every `period`, each is `POST`ed to its
/// subscription's `notificationURI` — `https://` through rustls with `tls` (the server's client identity),
/// `http://` in plain (testing only). Connections are kept per host. A notification the subscriber does
/// not take (no connection, or a status other than 200, 201 or 204) is tried again after a back-off that
/// doubles from `period` to [`RETRY_AT_MOST`], for [`RETRY_FOR`] (CSIP-AUS: a client that lost its link
/// still learns of what changed meanwhile); at most [`RETRY_QUEUE`] wait, the oldest dropped first.
/// Returns how many were delivered when the core is gone (its last reference dropped).
pub async fn deliver_notifications(
    server: std::sync::Weak<Mutex<Server>>,
    tls: Option<Arc<rustls::ClientConfig>>,
    period: std::time::Duration,
) -> usize {
    use std::time::Instant;
    let mut connections: std::collections::BTreeMap<String, super::Connection> =
        std::collections::BTreeMap::new();
    let mut retrying: std::collections::VecDeque<Retry> = std::collections::VecDeque::new();
    let mut delivered = 0usize;
    loop {
        tokio::time::sleep(period).await;
        let Some(server) = server.upgrade() else {
            return delivered;
        };
        let queued: Vec<_> = match server.lock() {
            Ok(mut core) => std::iter::from_fn(|| core.poll_notification()).collect(),
            Err(_) => return delivered,
        };
        drop(server);
        let now = Instant::now();
        let (due, waiting): (Vec<Retry>, Vec<Retry>) =
            retrying.drain(..).partition(|r| r.next <= now);
        retrying.extend(waiting);
        let attempts = due.into_iter().chain(queued.into_iter().map(|note| Retry {
            note,
            first: now,
            next: now,
            wait: period,
        }));
        for mut attempt in attempts {
            if post_notification(&mut connections, &attempt.note, tls.as_ref()).await {
                delivered = delivered.saturating_add(1);
                continue;
            }
            if now.saturating_duration_since(attempt.first) >= RETRY_FOR {
                continue;
            }
            attempt.next = now.checked_add(attempt.wait).unwrap_or(now);
            attempt.wait = attempt.wait.saturating_mul(2).min(RETRY_AT_MOST);
            retrying.push_back(attempt);
            while retrying.len() > RETRY_QUEUE {
                retrying.pop_front();
            }
        }
    }
}

/// The longest wait between two tries of a notification.
pub const RETRY_AT_MOST: std::time::Duration = std::time::Duration::from_secs(60);
/// How long a notification is tried before it is dropped (the subscriber still polls).
pub const RETRY_FOR: std::time::Duration = std::time::Duration::from_secs(3600);
/// The most notifications waiting to be tried again.
pub const RETRY_QUEUE: usize = 1000;

/// A notification waiting to be tried again.
struct Retry {
    note: crate::server::OutgoingNotification,
    first: std::time::Instant,
    next: std::time::Instant,
    wait: std::time::Duration,
}

/// Posts one notification; whether the subscriber took it.
async fn post_notification(
    connections: &mut std::collections::BTreeMap<String, super::Connection>,
    note: &crate::server::OutgoingNotification,
    tls: Option<&Arc<rustls::ClientConfig>>,
) -> bool {
    let Ok(uri) = note.uri.parse::<http::Uri>() else {
        return false;
    };
    let Some((key, host, port)) = endpoint(&uri) else {
        return false;
    };
    if !connections.contains_key(&key) {
        let Some(opened) = open(uri.scheme_str(), host, port, tls) else {
            return false;
        };
        connections.insert(key.clone(), opened);
    }
    let Some(connection) = connections.get_mut(&key) else {
        return false;
    };
    let mut body = Vec::new();
    note.notification.encode(&mut body);
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    if connection.post(path, body).await.is_ok() {
        return true;
    }
    // A fresh connection for the next try.
    connections.remove(&key);
    false
}

/// A notification URI's connection key (`scheme://host:port`), host and port (443 or 80 by default).
fn endpoint(uri: &http::Uri) -> Option<(String, &str, u16)> {
    let (authority, scheme) = (uri.authority()?, uri.scheme_str()?);
    let port = authority
        .port_u16()
        .unwrap_or(if scheme == "https" { 443 } else { 80 });
    Some((
        format!("{scheme}://{}:{port}", authority.host()),
        authority.host(),
        port,
    ))
}

/// A connection to a notification endpoint: rustls for `https` (when a client identity is configured),
/// plain TCP for `http`.
fn open(
    scheme: Option<&str>,
    host: &str,
    port: u16,
    tls: Option<&Arc<rustls::ClientConfig>>,
) -> Option<super::Connection> {
    let address = format!("{host}:{port}");
    match (scheme?, tls) {
        ("https", Some(config)) => {
            let server_name = rustls::pki_types::ServerName::try_from(host.to_owned()).ok()?;
            let connector = super::RustlsConnector {
                address,
                server_name,
                config: config.clone(),
            };
            Some(super::Connection::new(connector, host))
        }
        ("http", _) => Some(super::Connection::new(
            super::TcpConnector { address },
            host,
        )),
        _ => None,
    }
}

fn plain(status: u16) -> hyper::Response<Full<Bytes>> {
    let mut response = hyper::Response::new(Full::new(Bytes::new()));
    *response.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    response
}
