//! AC meters and controlled relays over MQTT (IOT-05: "MQTT to AC meters and controlled relays"), on any MQTT
//! 3.1.1 broker.
//!
//! Topics, under a prefix (`idea/devices` by default), one level per device name:
//! - `PREFIX/NAME/state` — the device's state as JSON, published (retained, QoS 1) every `period`:
//!   a meter `{"kind": "meter", "at", "p_w", "q_var", "v", "a", "hz", "import_wh", "export_wh"}`, a relay
//!   `{"kind": "relay", "at", "closed", "cause", "operations", "a", "pickup_a"}` (`at` in Unix ms of the
//!   simulated calendar, `cause` `none`, `overcurrent` or `command`);
//! - `PREFIX/NAME/set` — commands to a relay: `{"close": true}` or `{"close": false}`. A message that does not
//!   parse, or is larger than 1 KiB, is dropped and logged; it never reaches the model.
//!
//! While the device is `stale` its state stops changing; while `silent` nothing is published and commands are
//! ignored.

use crate::fault::Faults;
use crate::grid::elements::{Meter, Relay};
use crate::grid::{Microgrid, SharedGrid, TripCause, lock, position_at};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The largest command payload taken, bytes.
pub const MAX_COMMAND_BYTES: usize = 1024;

/// What is published over MQTT, and where.
#[derive(Debug, Clone)]
pub struct MqttDevices {
    /// The broker, `host` and `port`.
    pub broker: (String, u16),
    /// The topic prefix.
    pub prefix: String,
    /// The meters published, by model name.
    pub meters: Vec<String>,
    /// The relays published and commanded, by model name.
    pub relays: Vec<String>,
    /// How often states are published.
    pub period: Duration,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RelayCommand {
    close: bool,
}

/// The JSON state of meter `name`, if the model has it.
pub fn meter_state(grid: &SharedGrid, name: &str) -> Option<serde_json::Value> {
    let model = lock(grid);
    serde_json::to_value(meter_fields(&model, model.meter(name).ok()?)).ok()
}

/// A meter's state as published: the fields in the order the module documentation lists them.
#[derive(Serialize)]
struct MeterState {
    kind: &'static str,
    at: i64,
    p_w: f64,
    q_var: f64,
    v: f64,
    a: f64,
    hz: f64,
    import_wh: f64,
    export_wh: f64,
}

fn meter_fields(model: &Microgrid, m: &Meter) -> MeterState {
    MeterState {
        kind: "meter",
        at: model.now().unix_ms(),
        p_w: m.p_w,
        q_var: m.q_var,
        v: model.bus_volts(m.bus),
        a: model.current_a(m.bus, m.p_w, m.q_var),
        hz: model.bus_frequency_hz(m.bus),
        import_wh: m.import_wh,
        export_wh: m.export_wh,
    }
}

/// The JSON state of relay `name`, if the model has it.
pub fn relay_state(grid: &SharedGrid, name: &str) -> Option<serde_json::Value> {
    let model = lock(grid);
    serde_json::to_value(relay_fields(&model, model.relay(name).ok()?)).ok()
}

/// A relay's state as published: the fields in the order the module documentation lists them.
#[derive(Serialize)]
struct RelayState {
    kind: &'static str,
    at: i64,
    closed: bool,
    cause: &'static str,
    operations: u32,
    a: f64,
    pickup_a: f64,
}

fn relay_fields(model: &Microgrid, r: &Relay) -> RelayState {
    RelayState {
        kind: "relay",
        at: model.now().unix_ms(),
        closed: r.closed,
        cause: match r.cause {
            TripCause::None => "none",
            TripCause::Overcurrent => "overcurrent",
            TripCause::Command => "command",
        },
        operations: r.operations,
        a: r.current_a,
        pickup_a: r.overcurrent.pickup_a,
    }
}

/// Publishes the devices' states when asked: what a caller that owns simulated time uses to publish at the
/// instants it chooses (a run reproducible at any speed), and what [`run`] calls every period.
pub struct StatePublisher {
    client: AsyncClient,
    grid: SharedGrid,
    devices: MqttDevices,
    faults: Faults,
    /// The state each device last published, as published (what a stale device repeats).
    last: std::collections::HashMap<String, String>,
    /// Where each device (meters, then relays) was last found in the model's lists.
    at: Vec<Option<usize>>,
}

impl std::fmt::Debug for StatePublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatePublisher")
            .field("devices", &self.devices)
            .finish_non_exhaustive()
    }
}

impl StatePublisher {
    /// The device names published, meters first, in the order they are published.
    pub fn names(&self) -> Vec<String> {
        self.devices
            .meters
            .iter()
            .chain(&self.devices.relays)
            .cloned()
            .collect()
    }

    /// Publishes every device's state once (retained, QoS 1) — frozen while `stale`, nothing while
    /// `silent`. Returns how many states were published.
    ///
    /// # Errors
    /// [`crate::Error::Device`] when the client can no longer publish.
    pub async fn publish(&mut self) -> crate::Result<usize> {
        if self.faults.silent() {
            return Ok(0);
        }
        // Every state read and serialised under one lock, each device found where it was last.
        let all: Vec<(String, String)> = {
            let model = lock(&self.grid);
            let (meters, relays) = (&self.devices.meters, &self.devices.relays);
            self.at
                .resize(meters.len().saturating_add(relays.len()), None);
            let (meters_at, relays_at) = self.at.split_at_mut(meters.len());
            let metered = meters.iter().zip(meters_at).filter_map(|(name, at)| {
                let i = position_at(&model.meters, name, at, |m| &m.name)?;
                let state = meter_fields(&model, model.meters.get(i)?);
                Some((name.clone(), serde_json::to_string(&state).ok()?))
            });
            let switched = relays.iter().zip(relays_at).filter_map(|(name, at)| {
                let i = position_at(&model.relays, name, at, |r| &r.name)?;
                let state = relay_fields(&model, model.relays.get(i)?);
                Some((name.clone(), serde_json::to_string(&state).ok()?))
            });
            metered.chain(switched).collect()
        };
        let mut published = 0usize;
        let stale = self.faults.stale();
        for (name, state) in all {
            let state = match self.last.get_mut(&name) {
                Some(frozen) if stale => frozen.clone(),
                Some(last) => {
                    last.clone_from(&state);
                    state
                }
                None => {
                    self.last.insert(name.clone(), state.clone());
                    state
                }
            };
            let topic = format!("{}/{name}/state", self.devices.prefix.trim_end_matches('/'));
            self.client
                .publish(topic, QoS::AtLeastOnce, true, state)
                .await
                .map_err(|e| crate::Error::Device(format!("MQTT publish: {e}")))?;
            published = published.saturating_add(1);
        }
        Ok(published)
    }
}

/// Connects the devices to their broker: the publisher of their states, and the task that takes relay
/// commands (it runs until dropped; commands reach the model as they arrive).
///
/// # Errors
/// [`crate::Error::UnknownElement`] at once for a meter or relay the model does not have;
/// [`crate::Error::Device`] when the subscription cannot be sent.
pub async fn connect(
    grid: SharedGrid,
    devices: MqttDevices,
    faults: Faults,
) -> crate::Result<(
    StatePublisher,
    impl std::future::Future<Output = crate::Result<()>>,
)> {
    {
        let model = lock(&grid);
        for m in &devices.meters {
            model.meter(m)?;
        }
        for r in &devices.relays {
            model.relay(r)?;
        }
    }
    let (host, port) = devices.broker.clone();
    static CLIENTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = CLIENTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut options = MqttOptions::new(format!("idea-sim-{}-{n}", std::process::id()), host, port);
    options.set_keep_alive(Duration::from_secs(30));
    options.set_max_packet_size(64 * 1024, 64 * 1024);
    let (client, mut events) = AsyncClient::new(options, 64);
    // TCP_NODELAY, as `fipa_acl::mqtt::client` sets it: a relay's command must not wait on Nagle's algorithm.
    let mut network = events.network_options();
    network.set_tcp_nodelay(true);
    events.set_network_options(network);
    let prefix = devices.prefix.trim_end_matches('/').to_owned();
    // One subscription for every relay's commands: the event loop is not polled before the caller runs the
    // returned future, so one request per relay would fill the client's queue and wait forever.
    if !devices.relays.is_empty() {
        client
            .subscribe(format!("{prefix}/+/set"), QoS::AtLeastOnce)
            .await
            .map_err(|e| crate::Error::Device(format!("MQTT subscribe: {e}")))?;
    }
    let relays: std::collections::BTreeSet<String> = devices.relays.iter().cloned().collect();
    let publisher = StatePublisher {
        client,
        grid: grid.clone(),
        devices: devices.clone(),
        faults: faults.clone(),
        last: std::collections::HashMap::new(),
        at: Vec::new(),
    };
    let commands = async move {
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    if faults.silent() {
                        continue;
                    }
                    let Some(relay) = p
                        .topic
                        .strip_prefix(prefix.as_str())
                        .and_then(|t| t.strip_prefix('/'))
                        .and_then(|t| t.strip_suffix("/set"))
                        .and_then(|r| relays.get(r))
                    else {
                        continue;
                    };
                    if p.payload.len() > MAX_COMMAND_BYTES {
                        log::warn!(
                            "relay {relay}: a command of {} bytes dropped",
                            p.payload.len()
                        );
                        continue;
                    }
                    match serde_json::from_slice::<RelayCommand>(&p.payload) {
                        Ok(c) => {
                            let _ = lock(&grid).command_relay(relay, c.close);
                        }
                        Err(e) => {
                            log::warn!("relay {relay}: a command that does not parse dropped: {e}")
                        }
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    // rumqttc reconnects on the next poll; pace the attempts.
                    log::warn!("MQTT devices: {e}; reconnecting");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    };
    Ok((publisher, commands))
}

/// Publishes the devices' states every `period` and takes relay commands until the task is dropped.
///
/// # Errors
/// [`crate::Error::UnknownElement`] at once for a meter or relay the model does not have;
/// [`crate::Error::Device`] when the subscription cannot be sent.
pub async fn run(grid: SharedGrid, devices: MqttDevices, faults: Faults) -> crate::Result<()> {
    let period = devices.period;
    let (mut publisher, commands) = connect(grid, devices, faults).await?;
    // A JoinSet aborts its tasks when dropped: publishing ends with this function.
    let mut publishing = tokio::task::JoinSet::new();
    publishing.spawn(async move {
        loop {
            tokio::time::sleep(period).await;
            if publisher.publish().await.is_err() {
                return;
            }
        }
    });
    commands.await
}
