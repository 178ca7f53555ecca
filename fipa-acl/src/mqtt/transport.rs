//! The agent side: a rumqttc client subscribed to the agent's inbox.

use crate::error::Error;
use crate::message::{AclMessage, AgentIdentifier};
use crate::representation::Representation;
use crate::string::Limits;
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, QoS};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// How an agent connects.
#[derive(Debug, Clone)]
pub struct TransportOptions {
    /// The topic prefix (default `idea/acl`).
    pub prefix: String,
    /// The representation messages are sent in (default the string representation).
    pub representation: Representation,
    /// The decoders' limits for incoming messages.
    pub limits: Limits,
    /// MQTT keep-alive.
    pub keep_alive: Duration,
}

impl Default for TransportOptions {
    fn default() -> TransportOptions {
        TransportOptions {
            prefix: "idea/acl".into(),
            representation: Representation::String,
            limits: Limits::default(),
            keep_alive: Duration::from_secs(30),
        }
    }
}

/// Percent-encodes what MQTT topic levels cannot hold verbatim.
fn topic_level(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '/' | '+' | '#' | '%') || c.is_control() {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The inbox topic of agent `name` under `prefix`.
pub fn inbox_topic(prefix: &str, name: &str) -> String {
    format!("{prefix}/{}/inbox", topic_level(name))
}

fn transport(reason: impl Into<String>) -> Error {
    Error::Transport {
        reason: reason.into(),
    }
}

/// An agent's connection: send to any agent, receive from the own inbox.
#[derive(Debug)]
pub struct MqttTransport {
    me: AgentIdentifier,
    client: AsyncClient,
    inbox: mpsc::Receiver<Result<AclMessage, Error>>,
    options: TransportOptions,
}

/// Drives the client's event loop: decodes what arrives on the inbox, reports the subscription's
/// acknowledgement once, and retries after connection errors (rumqttc reconnects on the next poll).
async fn drive(
    mut events: EventLoop,
    inbox: mpsc::Sender<Result<AclMessage, Error>>,
    mut subscribed: Option<oneshot::Sender<Result<(), Error>>>,
    limits: Limits,
) {
    loop {
        match events.poll().await {
            Ok(Event::Incoming(Packet::Publish(p))) => {
                // The content stays in the received payload: no copy for the string and bit-efficient forms.
                let message = AclMessage::decode_shared(&p.payload, &limits).map(|(m, _, _)| m);
                if inbox.send(message).await.is_err() {
                    return;
                }
            }
            Ok(Event::Incoming(Packet::SubAck(_))) => {
                if let Some(tx) = subscribed.take() {
                    let _ = tx.send(Ok(()));
                }
            }
            Ok(_) => {}
            Err(e) => {
                if let Some(tx) = subscribed.take() {
                    let _ = tx.send(Err(transport(format!("broker: {e}"))));
                    return;
                }
                if inbox.is_closed() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

impl MqttTransport {
    /// Connects agent `me` to the broker at `host:port` and subscribes to its inbox; returns once the
    /// broker has acknowledged the subscription. Must be called within a tokio runtime.
    pub async fn connect(
        host: &str,
        port: u16,
        me: AgentIdentifier,
        options: TransportOptions,
    ) -> Result<MqttTransport, Error> {
        // The client identifier is the agent name, encoded as in topics: unique per agent, as MQTT needs.
        let mut mqtt = MqttOptions::new(topic_level(&me.name), host, port);
        mqtt.set_keep_alive(options.keep_alive);
        mqtt.set_clean_session(true);
        let max = options.limits.max_size.saturating_add(1024);
        mqtt.set_max_packet_size(max, max);
        let (client, events) = super::client(mqtt, 64);
        let (tx, inbox) = mpsc::channel(256);
        let (subscribed_tx, subscribed) = oneshot::channel();
        tokio::spawn(drive(events, tx, Some(subscribed_tx), options.limits));
        client
            .subscribe(inbox_topic(&options.prefix, &me.name), QoS::AtLeastOnce)
            .await
            .map_err(|e| transport(format!("subscribe: {e}")))?;
        tokio::time::timeout(Duration::from_secs(10), subscribed)
            .await
            .map_err(|_| transport("the broker did not acknowledge the subscription in 10 s"))?
            .map_err(|_| transport("the connection task ended"))??;
        Ok(MqttTransport {
            me,
            client,
            inbox,
            options,
        })
    }

    /// The agent this transport receives for.
    pub fn identifier(&self) -> &AgentIdentifier {
        &self.me
    }

    /// Publishes `m` to the inbox of each of its receivers.
    pub async fn send(&self, m: &AclMessage) -> Result<(), Error> {
        let mut payload = Vec::new();
        m.encode_as(self.options.representation, &mut payload)?;
        for receiver in &m.receivers {
            self.client
                .publish(
                    inbox_topic(&self.options.prefix, &receiver.name),
                    QoS::AtLeastOnce,
                    false,
                    payload.clone(),
                )
                .await
                .map_err(|e| transport(format!("publish to {}: {e}", receiver.name)))?;
        }
        Ok(())
    }

    /// The next message for this agent. A payload that does not decode is returned as its decoding error
    /// (the next call goes on with the following message); `Error::Transport` means the connection task
    /// has ended.
    pub async fn recv(&mut self) -> Result<AclMessage, Error> {
        self.inbox
            .recv()
            .await
            .unwrap_or_else(|| Err(transport("the connection task ended")))
    }

    /// The next message already received, without waiting: `None` when the inbox is empty (or the
    /// connection task has ended — [`MqttTransport::recv`] says which). How a runtime drains what queued
    /// up while it was busy, to take it as one batch.
    pub fn try_recv(&mut self) -> Option<Result<AclMessage, Error>> {
        self.inbox.try_recv().ok()
    }

    /// As [`MqttTransport::recv`], giving up after `timeout` with `None`.
    pub async fn recv_timeout(&mut self, timeout: Duration) -> Option<Result<AclMessage, Error>> {
        tokio::time::timeout(timeout, self.recv()).await.ok()
    }

    /// Disconnects from the broker.
    pub async fn disconnect(self) -> Result<(), Error> {
        self.client
            .disconnect()
            .await
            .map_err(|e| transport(format!("disconnect: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::inbox_topic;

    #[test]
    fn inbox_topics_escape_what_mqtt_gives_a_meaning_to() {
        assert_eq!(
            inbox_topic("idea/acl", "buyer@cell-7:1099/JADE"),
            "idea/acl/buyer@cell-7:1099%2FJADE/inbox"
        );
        assert_eq!(inbox_topic("p", "a+b#c%d\ne"), "p/a%2Bb%23c%25d%0Ae/inbox");
        assert_ne!(inbox_topic("p", "a/b"), inbox_topic("p", "a%2Fb"));
    }
}
