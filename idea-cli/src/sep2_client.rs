//! `idea sep2 get`: one resource of an IEEE 2030.5 server fetched by hand, over HTTPS with mutual TLS (clause
//! 6.11) or, for testing, plain HTTP.

use crate::client_tls::{ClientTlsFiles, host_of};
use ieee2030_5::net::tls::{Identity, client_config, trust_anchors};
use ieee2030_5::net::{Answer, Connection, RustlsConnector, TcpConnector};
use std::path::PathBuf;
use std::sync::Arc;

/// A server: `HOST:PORT` and, for HTTPS, the client's TLS files.
#[derive(Debug, Clone)]
pub struct Server {
    /// `HOST:PORT`.
    pub address: String,
    /// Mutual TLS; `None` for plain HTTP.
    pub tls: Option<ClientTlsFiles>,
}

impl Server {
    /// A connection to the server (nothing is sent yet); its TLS files are read here.
    ///
    /// # Errors
    /// [`ieee2030_5::Error::Transport`] when a TLS file cannot be read or does not parse, or the server name
    /// is not a name.
    pub fn connection(&self) -> Result<Connection, ieee2030_5::Error> {
        let host = host_of(&self.address).to_owned();
        Ok(match &self.tls {
            None => Connection::new(
                TcpConnector {
                    address: self.address.clone(),
                },
                &host,
            ),
            Some(files) => {
                let read =
                    |p: &PathBuf| idea_proto::pem::read(p).map_err(ieee2030_5::Error::Transport);
                let config = client_config(
                    Identity::from_pem(&read(&files.cert)?, &read(&files.key)?)?,
                    trust_anchors(&read(&files.server_ca)?)?,
                )?;
                let name = files.server_name.as_deref().unwrap_or(&host);
                Connection::new(
                    RustlsConnector::new(&self.address, name, Arc::new(config))?,
                    &host,
                )
            }
        })
    }
}

/// `GET path` once on `connection`: the server's status and body, whatever the status.
///
/// # Errors
/// [`ieee2030_5::Error::Transport`] when the server cannot be reached or the handshake fails.
pub async fn get(connection: &mut Connection, path: &str) -> Result<Answer, ieee2030_5::Error> {
    connection.request("GET", path, None).await
}
