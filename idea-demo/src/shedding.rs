//! The load-shedding service application of the complex (`idea-agent`'s sans-IO service) with its MQTT side
//! in lockstep: the loads' meters and relays publish their state over the broker when the conductor says so
//! (`idea_sim::mqtt`), the service reads them from its subscription, and the relay commands it decides go
//! out over MQTT to the simulated relays — the conductor waits until the model has switched them before
//! time moves on.

use crate::error::{Result, no_answer};
use crate::wire::Subscription;
use fipa_acl::AgentIdentifier;
use idea_agent::load_shedding::{LoadSheddingService, SheddableLoad};
use idea_proto::SigningKey;
use idea_sim::fault::Faults;
use idea_sim::grid::{SharedGrid, lock};
use idea_sim::mqtt::{MqttDevices, StatePublisher};
use std::time::Duration;

/// The service's ACL name.
pub(crate) const SHEDDING: &str = "load-shedding@idea";
/// The devices' topic prefix.
const PREFIX: &str = "idea/devices";
/// How long a relay may take to switch after its command was published (real time).
const SWITCH_TIMEOUT: Duration = Duration::from_secs(10);

/// The service and its devices' MQTT side.
pub(crate) struct Shedding {
    pub(crate) service: LoadSheddingService,
    publisher: StatePublisher,
    subscription: Subscription,
    grid: SharedGrid,
    commands: tokio::task::JoinHandle<()>,
    /// Relays the service switched: (relay, closed).
    pub(crate) switched: Vec<(String, bool)>,
}

impl std::fmt::Debug for Shedding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shedding").finish_non_exhaustive()
    }
}

impl Shedding {
    /// The service over `loads` of the cells `cells` (cell ids), its devices on the broker at
    /// 127.0.0.1:`port` bound to `grid`.
    pub(crate) async fn open(
        grid: &SharedGrid,
        port: u16,
        key: SigningKey,
        (loads, cells): (&[SheddableLoad], &[String]),
        faults: &Faults,
    ) -> Result<Shedding> {
        let loads: Vec<SheddableLoad> = loads
            .iter()
            .filter(|l| cells.iter().any(|c| c == l.cell.as_str()))
            .cloned()
            .collect();
        let service = LoadSheddingService::new(AgentIdentifier::new(SHEDDING), key, loads);
        let names = service.devices();
        let devices = MqttDevices {
            broker: ("127.0.0.1".into(), port),
            prefix: PREFIX.into(),
            meters: names
                .iter()
                .filter(|n| n.ends_with(".meter"))
                .cloned()
                .collect(),
            relays: names
                .iter()
                .filter(|n| n.ends_with(".relay"))
                .cloned()
                .collect(),
            period: Duration::from_secs(3600),
        };
        let subscription =
            Subscription::open(port, "load-shedding-devices", &format!("{PREFIX}/+/state")).await?;
        let (publisher, commands) =
            idea_sim::mqtt::connect(grid.clone(), devices, faults.clone()).await?;
        let commands = tokio::spawn(async move {
            if let Err(e) = commands.await {
                log::warn!("the relays' MQTT side ended: {e}");
            }
        });
        Ok(Shedding {
            service,
            publisher,
            subscription,
            grid: grid.clone(),
            commands,
            switched: Vec::new(),
        })
    }

    /// The meters and relays publish their state; the service reads what arrived over its subscription.
    pub(crate) async fn publish_states(&mut self) -> Result<()> {
        let n = self.publisher.publish().await?;
        let prefix = format!("{PREFIX}/");
        for (topic, payload) in self.subscription.take(n).await? {
            let Some(device) = topic
                .strip_prefix(&prefix)
                .and_then(|t| t.strip_suffix("/state"))
            else {
                continue;
            };
            if let Ok(state) = serde_json::from_slice::<serde_json::Value>(&payload) {
                self.service.handle_device_state(device, &state);
            }
        }
        Ok(())
    }

    /// Publishes the relay commands the service decided and waits until the model switched each; whether
    /// there were any.
    pub(crate) async fn send_commands(&mut self) -> Result<bool> {
        let mut any = false;
        while let Some(c) = self.service.poll_command() {
            any = true;
            let payload = serde_json::json!({ "close": c.close }).to_string();
            self.subscription
                .publish(format!("{PREFIX}/{}/set", c.relay), payload.into_bytes())
                .await?;
            let started = std::time::Instant::now();
            loop {
                let closed = lock(&self.grid).relay(&c.relay).map(|r| r.closed)?;
                if closed == c.close {
                    break;
                }
                if started.elapsed() > SWITCH_TIMEOUT {
                    return Err(no_answer(format!(
                        "relay {} did not switch within {} s",
                        c.relay,
                        SWITCH_TIMEOUT.as_secs()
                    )));
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            self.switched.push((c.relay, c.close));
        }
        Ok(any)
    }

    /// Leaves the broker.
    pub(crate) async fn close(self) {
        self.commands.abort();
        self.subscription.close().await;
    }
}
