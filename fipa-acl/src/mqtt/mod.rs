//! The MQTT transport (feature `mqtt`): each agent has an inbox topic on an MQTT 3.1.1 broker, and a message
//! is published to the inbox of every receiver, in the string representation (any representation is read).
//! [`EmbeddedBroker`] runs rumqttd inside the process, bound to 127.0.0.1, for tests and demonstrations;
//! [`MqttTransport::connect`] works the same against any external broker by address.
//!
//! Inbox topics are `{prefix}/{agent name}/inbox` with the prefix `idea/acl` by default; in the name, the
//! characters MQTT gives a meaning to (`/`, `+`, `#`), `%` and control characters are percent-encoded, so
//! `buyer@cell-7:1099/JADE` has the inbox `idea/acl/buyer@cell-7:1099%2FJADE/inbox`. Publishing is at QoS 1
//! (at least once); the inbox subscription is acknowledged before [`MqttTransport::connect`] returns, so no
//! message sent after it is lost.

mod broker;
mod transport;

pub use broker::EmbeddedBroker;
pub use transport::{MqttTransport, TransportOptions, inbox_topic};

/// An MQTT client for `options` with at most `capacity` requests queued, its socket with `TCP_NODELAY`:
/// every client in the workspace is made here. MQTT packets are small and a conversation waits on each
/// answer, so Nagle's algorithm (RFC 896) holding a packet back until the previous one is acknowledged —
/// rumqttc's default — costs a delayed acknowledgement, tens of milliseconds, per exchange.
pub fn client(
    options: rumqttc::MqttOptions,
    capacity: usize,
) -> (rumqttc::AsyncClient, rumqttc::EventLoop) {
    let (client, mut events) = rumqttc::AsyncClient::new(options, capacity);
    let mut network = events.network_options();
    network.set_tcp_nodelay(true);
    events.set_network_options(network);
    (client, events)
}

/// The current time, from the system clock: the one place this crate reads it, for adapters that drive the
/// sans-IO protocol machines.
pub fn system_now() -> idea_proto::Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default();
    idea_proto::Timestamp::from_unix_ms(ms).unwrap_or(idea_proto::Timestamp::UNIX_EPOCH)
}
