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
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// A server core shared between connections.
pub type SharedServer = Arc<Mutex<Server>>;

/// Accepts connections on `listener` forever: TLS with `tls` (client certificates required; the client is
/// the LFDI of its certificate), or plain HTTP without (every client is the operator — for local testing
/// only). Each connection runs in its own task.
///
/// # Errors
/// [`Error::Transport`] if accepting fails.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    server: SharedServer,
    clock: Clock,
) -> Result<(), Error> {
    let acceptor = tls.map(TlsAcceptor::from);
    loop {
        let (tcp, _) = listener
            .accept()
            .await
            .map_err(|e| Error::Transport(format!("accept: {e}")))?;
        let server = server.clone();
        let clock = clock.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            match acceptor {
                Some(acceptor) => {
                    let Ok(stream) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let client = super::tls::peer_lfdi(stream.get_ref().1);
                    if client.is_some() {
                        let _ = serve_connection(stream, client, server, clock).await;
                    }
                }
                None => {
                    let _ = serve_connection(tcp, None, server, clock).await;
                }
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
    let service = service_fn(move |request: hyper::Request<Incoming>| {
        let server = server.clone();
        let clock = clock.clone();
        async move { Ok::<_, std::convert::Infallible>(answer(request, client, &server, &clock).await) }
    });
    http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await
        .map_err(|e| Error::Transport(format!("HTTP: {e}")))
}

async fn answer(
    request: hyper::Request<Incoming>,
    client: Option<HexBinary160>,
    server: &SharedServer,
    clock: &Clock,
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
    let Ok(body) = Limited::new(request.into_body(), BODY_LIMIT)
        .collect()
        .await
    else {
        return plain(413);
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
/// `http://` in plain (testing only). Connections are kept per host. Returns how many were delivered when
/// the core is gone (its last reference dropped); a notification whose delivery fails is dropped (the
/// subscriber still polls).
pub async fn deliver_notifications(
    server: std::sync::Weak<Mutex<Server>>,
    tls: Option<Arc<rustls::ClientConfig>>,
    period: std::time::Duration,
) -> usize {
    let mut connections: std::collections::BTreeMap<String, super::Connection> =
        std::collections::BTreeMap::new();
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
        for note in queued {
            let Ok(uri) = note.uri.parse::<http::Uri>() else {
                continue;
            };
            let Some((key, host, port)) = endpoint(&uri) else {
                continue;
            };
            if !connections.contains_key(&key) {
                let Some(opened) = open(uri.scheme_str(), host, port, tls.as_ref()) else {
                    continue;
                };
                connections.insert(key.clone(), opened);
            }
            let Some(connection) = connections.get_mut(&key) else {
                continue;
            };
            let mut body = Vec::new();
            note.notification.encode(&mut body);
            let path = uri.path_and_query().map_or("/", |p| p.as_str());
            if connection.post(path, body).await.is_ok() {
                delivered = delivered.saturating_add(1);
            }
        }
    }
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
