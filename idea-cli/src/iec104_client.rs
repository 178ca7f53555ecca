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

/// How `idea iec104 monitor` runs: a controlling station that stays connected.
#[derive(Debug, Clone)]
pub struct Monitor {
    /// The common address it addresses.
    pub common_address: u16,
    /// Interrogate the station (QOI 20) every time data transfer starts.
    pub interrogate: bool,
    /// Synchronise the station's clock every time data transfer starts.
    pub clock_sync: bool,
    /// k, w, t1, t2, t3 (t0 comes from the target's timeout).
    pub link: iec104::link::LinkParams,
    /// Wait between connection attempts.
    pub reconnect_delay: Duration,
    /// Stop after this long (`None`: until the caller drops the future).
    pub run_for: Option<Duration>,
}

/// What the monitor saw.
#[derive(Debug, Clone)]
pub enum MonitorEvent {
    /// Data transfer started (the n-th time).
    Started(u64),
    /// The connection was lost or an attempt failed (why); the monitor tries again.
    Lost(String),
    /// A station interrogation's data, or a report (spontaneous, cyclic, …).
    Data(Vec<Asdu>),
    /// The clock synchronisation was confirmed (true) or refused (false).
    ClockSynchronised(bool),
    /// A request made at the start failed (what and why); the monitor goes on.
    RequestFailed(String),
}

/// Runs a controlling station that stays connected to `target`: it starts data transfer, interrogates and
/// synchronises the clock at every start if asked, reports everything the station sends, and connects again
/// whenever the connection ends. `on` hears each event as it happens.
pub async fn monitor(
    target: &Target,
    monitor: &Monitor,
    mut on: impl FnMut(MonitorEvent),
) -> Result<(), ClientFailure> {
    let mut config = target.config()?;
    config.reconnect = ReconnectPolicy {
        delay: monitor.reconnect_delay,
        max_attempts: None,
    };
    config.link = iec104::link::LinkParams {
        t0: target.timeout,
        ..monitor.link
    };
    config
        .link
        .validate()
        .map_err(|e| ClientFailure::Input(e.to_string()))?;
    let address = tokio::net::lookup_host(&target.address)
        .await
        .map_err(|e| ClientFailure::Input(format!("{}: {e}", target.address)))?
        .next()
        .ok_or_else(|| ClientFailure::Input(format!("{}: no address", target.address)))?;
    let mut client =
        Client::connect(address, config).map_err(|e| ClientFailure::Input(e.to_string()))?;
    let stop = async {
        match monitor.run_for {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(stop);
    let mut changes = client.state_changes();
    let mut starts_seen = 0u64;
    let mut was_started = false;
    loop {
        tokio::select! {
            () = &mut stop => return Ok(()),
            event = client.next_event() => match event {
                Some(asdu) => on(MonitorEvent::Data(vec![asdu])),
                None => return Ok(()),
            },
            state = changes.next() => {
                use iec104::net::ConnectionState;
                if state != ConnectionState::Started && was_started {
                    let why = client.last_error().map_or_else(|| "connection ended".to_owned(), |e| e.to_string());
                    on(MonitorEvent::Lost(why));
                }
                was_started = state == ConnectionState::Started;
                let starts = client.starts();
                if starts > starts_seen {
                    starts_seen = starts;
                    on(MonitorEvent::Started(starts));
                    at_start(&client, target, monitor, &mut on).await;
                }
                if state == ConnectionState::Closed {
                    return Ok(());
                }
            }
        }
    }
}

/// What the monitor asks at every start: the interrogation, then the clock synchronisation.
async fn at_start(
    client: &Client,
    target: &Target,
    monitor: &Monitor,
    on: &mut impl FnMut(MonitorEvent),
) {
    let within = monitor.link.t1;
    if monitor.interrogate {
        match client.interrogate(monitor.common_address, 20, within).await {
            Ok(data) => on(MonitorEvent::Data(data)),
            Err(e) => on(MonitorEvent::RequestFailed(format!(
                "{}: station interrogation: {e}",
                target.address
            ))),
        }
    }
    if monitor.clock_sync {
        let now = crate::wall_clock()
            .ok()
            .and_then(iec104::Cp56Time2a::from_timestamp);
        let Some(time) = now else {
            on(MonitorEvent::RequestFailed(
                "the clock is outside CP56Time2a".into(),
            ));
            return;
        };
        let asdu = Asdu {
            type_id: 103,
            sq: false,
            count: 1,
            cot: iec104::Cot::new(6),
            common_address: monitor.common_address,
            objects: iec104::Objects::Known(vec![iec104::InformationObject {
                ioa: 0,
                elements: vec![iec104::Element::Cp56(time)],
            }]),
        };
        match client.command(asdu, within).await {
            Ok(outcome) => on(MonitorEvent::ClockSynchronised(outcome.confirmed)),
            Err(e) => on(MonitorEvent::RequestFailed(format!(
                "{}: clock synchronisation: {e}",
                target.address
            ))),
        }
    }
}
