//! The meter gateway as a process part (feature `devices`): reads the connection meter's energy registers
//! over Modbus/SunSpec, submits signed readings to the TE node over MQTT (`crate::te_link`), and signs back
//! the delivery tokens the node makes of them.

use super::MeterGateway;
use super::sunspec::SunSpecDevice;
use crate::runtime::Clock;
use crate::te_link::{TeLink, read_notice, submission_payload, subscribe};
use crate::te_node::TeNotice;
use fipa_acl::mqtt::inbox_topic;
use idea_proto::{Duration, Timestamp};

/// Where the gateway reads and whom it tells.
#[derive(Debug, Clone)]
pub struct GatewayLinkConfig {
    /// The meter, HOST:PORT (Modbus TCP, SunSpec 203).
    pub meter: String,
    /// Its Modbus unit.
    pub unit: u8,
    /// The gateway's name at the TE node (where the node's notices go).
    pub name: String,
    /// The TE node.
    pub te: TeLink,
    /// How often the registers are read and submitted, simulated or calendar time.
    pub every: Duration,
}

/// Registers the meter at its TE node — a registrar that enrolled its key, id and cell — with `submission`
/// ([`crate::te_node::meter_registration_submission`]) over MQTT, and waits at most `within` for the answer.
/// Returns the avatar registered (as 32 hex digits).
///
/// # Errors
/// [`crate::Error::Link`] when the broker cannot be reached, the node refuses (with its reason) or does not
/// answer in time.
pub async fn register_meter(
    config: &GatewayLinkConfig,
    submission: crate::TeSubmission,
    within: std::time::Duration,
) -> crate::Result<String> {
    let client_id = format!("{}-registration", config.name);
    let (client, mut notices) = subscribe(
        &client_id,
        &config.te.host,
        config.te.port,
        &inbox_topic(&config.te.prefix, &config.name),
    )
    .await?;
    client
        .publish(
            inbox_topic(&config.te.prefix, &config.te.node),
            rumqttc::QoS::AtLeastOnce,
            false,
            submission_payload(&config.name, &submission),
        )
        .await
        .map_err(|e| crate::Error::Link(format!("the registration: {e}")))?;
    let answer = async {
        while let Some(payload) = notices.recv().await {
            match read_notice(&payload, &config.te.node_key) {
                Some(TeNotice::Registered { avatar, .. }) => return Ok(avatar),
                Some(TeNotice::Refused { reason, .. }) => {
                    return Err(crate::Error::Link(format!(
                        "the TE node refused the meter: {reason}"
                    )));
                }
                _ => {}
            }
        }
        Err(crate::Error::Link("the TE node's notices ended".into()))
    };
    let outcome = tokio::time::timeout(within, answer)
        .await
        .map_err(|_| crate::Error::Link("the TE node did not answer the registration".into()))?;
    let _ = client.disconnect().await;
    outcome
}

/// The energy registers of a SunSpec meter (model 203) over Modbus TCP, as a meter gateway reads them: what
/// a caller that drives the gateway itself (in simulated time, in lockstep) opens once and reads when it
/// chooses.
pub struct MeterRegisters {
    meter: SunSpecDevice,
}

impl std::fmt::Debug for MeterRegisters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MeterRegisters").finish_non_exhaustive()
    }
}

impl MeterRegisters {
    /// Connects to the meter at `address` (HOST:PORT, unit `unit`) and scans its SunSpec map.
    ///
    /// # Errors
    /// [`crate::Error::Link`] when the meter cannot be reached or has no model 203.
    pub async fn open(address: &str, unit: u8) -> crate::Result<MeterRegisters> {
        Ok(MeterRegisters {
            meter: SunSpecDevice::open(address, unit).await?,
        })
    }

    /// The energy imported and exported so far, whole Wh (rounded down, as the gateway signs them).
    ///
    /// # Errors
    /// [`crate::Error::Link`] when the meter does not answer or lacks its energy registers.
    pub async fn read_wh(&mut self) -> crate::Result<(i64, i64)> {
        let s = self.meter.sample().await?;
        // Counted watt-hours of one meter: far inside i64.
        #[allow(clippy::cast_possible_truncation)]
        Ok((s.import_wh.floor() as i64, s.export_wh.floor() as i64))
    }
}

/// Runs the gateway until the meter or the broker cannot be reached.
///
/// # Errors
/// [`crate::Error::Link`] when the meter or the broker cannot be reached.
pub async fn run_meter_gateway(
    config: GatewayLinkConfig,
    mut gateway: MeterGateway,
    clock: Clock,
) -> crate::Result<()> {
    let mut meter = SunSpecDevice::open(&config.meter, config.unit).await?;
    let client_id = format!("meter-gateway-{}", gateway.meter());
    let (client, mut notices) = subscribe(
        &client_id,
        &config.te.host,
        config.te.port,
        &inbox_topic(&config.te.prefix, &config.name),
    )
    .await?;
    let node_inbox = inbox_topic(&config.te.prefix, &config.te.node);
    let publish = |submission: crate::TeSubmission| {
        let client = client.clone();
        let topic = node_inbox.clone();
        let payload = submission_payload(&config.name, &submission);
        async move {
            client
                .publish(topic, rumqttc::QoS::AtLeastOnce, false, payload)
                .await
                .map_err(|e| crate::Error::Link(format!("TE submission: {e}")))
        }
    };
    let mut next: Option<Timestamp> = None;
    loop {
        let wait = next.map_or(std::time::Duration::ZERO, |n| clock.until(n));
        tokio::select! {
            () = tokio::time::sleep(wait) => {
                let now = clock.now();
                next = Some(now.checked_add(config.every)?);
                let (import_wh, export_wh) = match meter.sample().await {
                    Ok(s) => (s.import_wh, s.export_wh),
                    Err(e) => {
                        log::warn!("meter gateway {}: {e}", config.name);
                        continue;
                    }
                };
                // Counted watt-hours of one meter: far inside i64.
                #[allow(clippy::cast_possible_truncation)]
                let reading = gateway.reading(now, import_wh.floor() as i64, export_wh.floor() as i64)?;
                publish(reading).await?;
            }
            payload = notices.recv() => {
                let Some(payload) = payload else {
                    return Err(crate::Error::Link("the TE node's notices ended".into()));
                };
                match read_notice(&payload, &config.te.node_key) {
                    Some(TeNotice::TokensToSign { tokens, .. }) => {
                        for token in &tokens {
                            match gateway.sign_token(token) {
                                Ok(signed) => publish(signed).await?,
                                Err(e) => log::warn!("meter gateway {}: token refused: {e}", config.name),
                            }
                        }
                    }
                    Some(TeNotice::Refused { reason, .. }) => {
                        log::warn!("meter gateway {}: the TE node refused: {reason}", config.name);
                    }
                    Some(_) => {}
                    None => log::warn!("meter gateway {}: a notice that is not the node's", config.name),
                }
            }
        }
    }
}
