//! An HTTP/1.1 connection from a client to an IEEE 2030.5 server, reconnecting when the server closes it,
//! over any stream a [`Connector`] makes (TCP, rustls, or another TLS library).

use super::BODY_LIMIT;
use crate::Error;
use crate::resources::Decode;
use crate::server::MEDIA_TYPE;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// A byte stream to the server.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// What a connector's future yields.
pub type Connecting<'a> = Pin<Box<dyn Future<Output = Result<Box<dyn Stream>, Error>> + Send + 'a>>;

/// Opens streams to the server. Implement it to put another TLS library underneath.
pub trait Connector: Send + Sync {
    /// Opens a new stream.
    fn connect(&self) -> Connecting<'_>;
}

/// A TCP connection with Nagle's algorithm off (requests are small and wait for their answer).
async fn tcp_connect(address: &str) -> Result<TcpStream, Error> {
    let tcp = TcpStream::connect(address)
        .await
        .map_err(|e| Error::Transport(format!("connect {address}: {e}")))?;
    let _ = tcp.set_nodelay(true);
    Ok(tcp)
}

/// Plain TCP (testing only: IEEE 2030.5 requires TLS).
#[derive(Debug, Clone)]
pub struct TcpConnector {
    /// `host:port`.
    pub address: String,
}

impl Connector for TcpConnector {
    fn connect(&self) -> Connecting<'_> {
        Box::pin(async move { Ok(Box::new(tcp_connect(&self.address).await?) as Box<dyn Stream>) })
    }
}

/// TLS with rustls (see [`super::tls`]): mutual authentication, the server checked against `server_name`.
#[derive(Debug, Clone)]
pub struct RustlsConnector {
    /// `host:port`.
    pub address: String,
    /// The name the server's certificate must carry.
    pub server_name: ServerName<'static>,
    /// The client configuration.
    pub config: Arc<rustls::ClientConfig>,
}

impl RustlsConnector {
    /// A connector to `address` (`host:port`) whose server must present a certificate for `server_name`
    /// (a DNS name or an IP address).
    ///
    /// # Errors
    /// [`Error::Transport`] when `server_name` is neither.
    pub fn new(
        address: &str,
        server_name: &str,
        config: Arc<rustls::ClientConfig>,
    ) -> Result<RustlsConnector, Error> {
        let server_name = ServerName::try_from(server_name.to_owned())
            .map_err(|e| Error::Transport(format!("server name {server_name:?}: {e}")))?;
        Ok(RustlsConnector {
            address: address.to_owned(),
            server_name,
            config,
        })
    }
}

impl Connector for RustlsConnector {
    fn connect(&self) -> Connecting<'_> {
        Box::pin(async move {
            let tcp = tcp_connect(&self.address).await?;
            let tls = TlsConnector::from(self.config.clone())
                .connect(self.server_name.clone(), tcp)
                .await
                .map_err(|e| Error::Transport(format!("TLS handshake: {e}")))?;
            Ok(Box::new(tls) as Box<dyn Stream>)
        })
    }
}

/// An answer: status, `Location`, body.
#[derive(Debug, Clone)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The `Location` header.
    pub location: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

/// The longest one request (connection, handshake, answer and body) may take before it is abandoned as a
/// transport failure: a server that accepts and then neither answers nor closes cannot hold a client.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// One HTTP/1.1 connection, reopened through the connector when it closes.
pub struct Connection {
    connector: Box<dyn Connector>,
    host: String,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("host", &self.host)
            .field("open", &self.sender.is_some())
            .finish()
    }
}

impl Connection {
    /// A connection that opens streams with `connector`, sending `host` as the `Host` header.
    pub fn new(connector: impl Connector + 'static, host: &str) -> Self {
        Connection {
            connector: Box::new(connector),
            host: host.to_owned(),
            sender: None,
        }
    }

    async fn sender(&mut self) -> Result<&mut SendRequest<Full<Bytes>>, Error> {
        if self.sender.as_ref().is_none_or(|s| s.is_closed()) {
            let stream = self.connector.connect().await?;
            let (sender, connection) = http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|e| Error::Transport(format!("HTTP: {e}")))?;
            tokio::spawn(async move {
                let _ = connection.await;
            });
            self.sender = Some(sender);
        }
        self.sender
            .as_mut()
            .ok_or_else(|| Error::Transport("no connection".into()))
    }

    /// Sends one request; a connection the server closed (or that gave no answer within
    /// [`REQUEST_TIMEOUT`]) is reopened once.
    ///
    /// # Errors
    /// [`Error::Transport`] if the connection fails twice.
    pub async fn request(
        &mut self,
        method: &'static str,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Answer, Error> {
        let mut last = None;
        for _ in 0..2 {
            let attempt = tokio::time::timeout(
                REQUEST_TIMEOUT,
                self.try_request(method, path, body.clone()),
            )
            .await
            .unwrap_or_else(|_| {
                Err(Error::Transport(format!(
                    "{method} {path}: no answer in {} s",
                    REQUEST_TIMEOUT.as_secs()
                )))
            });
            match attempt {
                Ok(answer) => return Ok(answer),
                Err(e) => {
                    self.sender = None;
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| Error::Transport("request failed".into())))
    }

    async fn try_request(
        &mut self,
        method: &'static str,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Answer, Error> {
        let host = self.host.clone();
        let mut builder = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, host)
            .header(hyper::header::ACCEPT, MEDIA_TYPE);
        if body.is_some() {
            builder = builder.header(hyper::header::CONTENT_TYPE, MEDIA_TYPE);
        }
        let request = builder
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| Error::Transport(format!("request {path}: {e}")))?;
        let sender = self.sender().await?;
        sender
            .ready()
            .await
            .map_err(|e| Error::Transport(format!("HTTP: {e}")))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| Error::Transport(format!("HTTP: {e}")))?;
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(hyper::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .map(str::to_owned);
        let body = Limited::new(response.into_body(), BODY_LIMIT)
            .collect()
            .await
            .map_err(|e| Error::Transport(format!("HTTP body: {e}")))?
            .to_bytes()
            .to_vec();
        Ok(Answer {
            status,
            location,
            body,
        })
    }

    /// `GET path`, read as a `T` with `decode`.
    ///
    /// # Errors
    /// [`Error::Http`] for a status other than 200; the decoder's error for a bad document.
    pub async fn get<T>(&mut self, path: &str, decode: Decode<T>) -> Result<T, Error> {
        let answer = self.request("GET", path, None).await?;
        if answer.status != 200 {
            return Err(Error::Http {
                method: "GET",
                path: path.to_owned(),
                status: answer.status,
            });
        }
        decode(&answer.body).map(|(value, _)| value)
    }

    /// `POST path` with an XML body; returns the `Location` of what was created, if any.
    ///
    /// # Errors
    /// [`Error::Http`] for a status other than 200, 201 or 204.
    pub async fn post(&mut self, path: &str, body: Vec<u8>) -> Result<Option<String>, Error> {
        let answer = self.request("POST", path, Some(body)).await?;
        if !matches!(answer.status, 200 | 201 | 204) {
            return Err(Error::Http {
                method: "POST",
                path: path.to_owned(),
                status: answer.status,
            });
        }
        Ok(answer.location)
    }
}
