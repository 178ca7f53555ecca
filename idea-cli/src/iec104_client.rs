//! `idea iec104 interrogate|command`: a controlling station for people and labs, over TCP or mutual TLS (IEC
//! 62351-3), that connects, starts data transfer, asks once and reports what came back.

use crate::client_tls::{ClientTlsFiles, host_of};
use iec104::net::tls::{ClientTls, Identity, trust_anchors_file};
use iec104::net::{Client, ClientConfig, CommandOutcome, ReconnectPolicy};
use iec104::{Asdu, Command};
use std::time::Duration;

/// Where and how to reach a controlled station.
#[derive(Debug, Clone)]
pub struct Target {
    /// `HOST:PORT`; a host name is resolved.
    pub address: String,
    /// Mutual TLS; `None` for plain TCP.
    pub tls: Option<ClientTlsFiles>,
    /// How long to wait for the connection (t0) and then for each answer.
    pub timeout: Duration,
}

/// Why a request to a controlled station did not complete.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientFailure {
    /// Bad input: an address that does not resolve, an unreadable certificate, a command that cannot be encoded.
    #[error("{0}")]
    Input(String),
    /// The station could not be reached, refused the connection or the handshake, or did not answer in time.
    #[error("{0}")]
    NoAnswer(String),
}

impl Target {
    fn config(&self) -> Result<ClientConfig, ClientFailure> {
        let input = |e: iec104::Error| ClientFailure::Input(e.to_string());
        let mut config = ClientConfig {
            // One attempt: a person asked once.
            reconnect: ReconnectPolicy {
                delay: Duration::from_millis(100),
                max_attempts: Some(1),
            },
            ..ClientConfig::default()
        };
        config.link.t0 = self.timeout;
        config.link.validate().map_err(input)?;
        if let Some(files) = &self.tls {
            let name = files
                .server_name
                .as_deref()
                .unwrap_or_else(|| host_of(&self.address));
            config.tls = Some(
                ClientTls::new(
                    Identity::from_pem_files(&files.cert, &files.key).map_err(input)?,
                    trust_anchors_file(&files.server_ca).map_err(input)?,
                    name,
                )
                .map_err(input)?,
            );
        }
        Ok(config)
    }

    /// Connects and waits for data transfer to start.
    async fn connect(&self) -> Result<Client, ClientFailure> {
        let config = self.config()?;
        let address = tokio::net::lookup_host(&self.address)
            .await
            .map_err(|e| ClientFailure::Input(format!("{}: {e}", self.address)))?
            .next()
            .ok_or_else(|| ClientFailure::Input(format!("{}: no address", self.address)))?;
        let mut client =
            Client::connect(address, config).map_err(|e| ClientFailure::Input(e.to_string()))?;
        // The attempt itself is bounded by t0 (TCP, then TLS); STARTDT confirmation by t1.
        let wait = self.timeout.saturating_mul(2);
        client
            .wait_started(wait)
            .await
            .map_err(|e| ClientFailure::NoAnswer(format!("{}: {e}", self.address)))?;
        Ok(client)
    }
}

/// A station (`qoi` 20) or group (21–36) interrogation of `common_address`: the data ASDUs in order.
pub async fn interrogate(
    target: &Target,
    common_address: u16,
    qoi: u8,
) -> Result<Vec<Asdu>, ClientFailure> {
    if !(20..=36).contains(&qoi) {
        return Err(ClientFailure::Input(format!(
            "QOI {qoi}: 20 (station) or 21–36 (groups 1–16)"
        )));
    }
    let client = target.connect().await?;
    client
        .interrogate(common_address, qoi, target.timeout)
        .await
        .map_err(|e| ClientFailure::NoAnswer(format!("{}: {e}", target.address)))
}

/// A counter interrogation (C_CI_NA_1, qualifier 5: every counter) of `common_address`: the integrated
/// totals in order.
pub async fn interrogate_counters(
    target: &Target,
    common_address: u16,
) -> Result<Vec<Asdu>, ClientFailure> {
    let client = target.connect().await?;
    client
        .interrogate_counters(common_address, 5, target.timeout)
        .await
        .map_err(|e| ClientFailure::NoAnswer(format!("{}: {e}", target.address)))
}

/// Sends `command` and waits for its confirmation (and termination, if the station sends one). A negative
/// confirmation is an outcome, not a failure.
pub async fn command(target: &Target, command: &Command) -> Result<CommandOutcome, ClientFailure> {
    let asdu = command
        .to_asdu()
        .map_err(|e| ClientFailure::Input(e.to_string()))?;
    let client = target.connect().await?;
    let outcome = client
        .command(asdu, target.timeout)
        .await
        .map_err(|e| ClientFailure::NoAnswer(format!("{}: {e}", target.address)))?;
    if outcome.answers.is_empty() {
        return Err(ClientFailure::NoAnswer(format!(
            "{}: no confirmation within {:?}",
            target.address, target.timeout
        )));
    }
    Ok(outcome)
}
