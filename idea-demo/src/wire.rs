//! The complex's message wire in lockstep: every party has its own MQTT connection to the broker on
//! 127.0.0.1, and every message crosses it for real — FIPA-ACL between agents and services, TE submissions and
//! notices between the parties and the TE node. What makes a run reproducible although the bytes cross
//! sockets: a round publishes everything the parties put out, then waits until each recipient has received
//! exactly what was sent to it, and hands each its inbox ordered by sender (a sender's own messages keep the
//! order MQTT gives them: one connection, one topic, in order). So the order in which the runtime woke the
//! tasks never decides anything; simulated time and names do.

use crate::error::{Result, no_answer};
use fipa_acl::AclMessage;
use fipa_acl::mqtt::{MqttTransport, TransportOptions, inbox_topic};
use idea_agent::te_link::{MAX_TE_PAYLOAD, TE_PREFIX, split_payload, subscribe};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::sync::mpsc;

/// How long a round waits for what was sent to arrive before the recipient counts as not answering.
pub(crate) const DELIVERY_TIMEOUT: Duration = Duration::from_secs(20);

/// How many parties connect to the broker at once when many join together: enough to keep both cores busy
/// while each waits on its acknowledgements, few enough to stay well inside the listener's backlog.
const JOINING_AT_ONCE: usize = 32;

/// A TE party's connection: its client and what arrives in its TE inbox.
struct TeConnection {
    client: rumqttc::AsyncClient,
    inbox: mpsc::Receiver<Vec<u8>>,
}

/// A subscription to a topic filter: what arrives, with its topic.
pub(crate) struct Subscription {
    client: rumqttc::AsyncClient,
    inbox: mpsc::Receiver<(String, Vec<u8>)>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription").finish_non_exhaustive()
    }
}

impl Subscription {
    /// Subscribes `client_id` to `filter` on the broker at 127.0.0.1:`port`; returns once acknowledged.
    pub(crate) async fn open(port: u16, client_id: &str, filter: &str) -> Result<Subscription> {
        let mut options = rumqttc::MqttOptions::new(client_id, "127.0.0.1", port);
        options.set_keep_alive(Duration::from_secs(30));
        options.set_max_packet_size(64 * 1024, 64 * 1024);
        let (client, mut events) = fipa_acl::mqtt::client(options, 64);
        let (tx, inbox) = mpsc::channel(1024);
        let (acked_tx, acked) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let mut acked_tx = Some(acked_tx);
            loop {
                match events.poll().await {
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p))) => {
                        if tx
                            .send((p.topic.clone(), p.payload.to_vec()))
                            .await
                            .is_err()
                        {
                            return;
                        }
                    }
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::SubAck(_))) => {
                        if let Some(a) = acked_tx.take() {
                            let _ = a.send(());
                        }
                    }
                    Ok(_) => {}
                    Err(_) if tx.is_closed() => return,
                    Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                }
            }
        });
        client
            .subscribe(filter, rumqttc::QoS::AtLeastOnce)
            .await
            .map_err(|e| no_answer(format!("the broker, subscribing {filter}: {e}")))?;
        tokio::time::timeout(DELIVERY_TIMEOUT, acked)
            .await
            .map_err(|_| no_answer(format!("the broker did not acknowledge {filter}")))?
            .map_err(|_| no_answer("the subscription's connection ended"))?;
        Ok(Subscription { client, inbox })
    }

    /// Publishes `payload` to `topic` from this subscription's client (QoS 1, not retained).
    pub(crate) async fn publish(&self, topic: String, payload: Vec<u8>) -> Result<()> {
        self.client
            .publish(topic, rumqttc::QoS::AtLeastOnce, false, payload)
            .await
            .map_err(|e| no_answer(format!("the broker: {e}")))
    }

    /// Waits for `n` messages; returns them with their topics, ordered by topic (each topic's own in order).
    pub(crate) async fn take(&mut self, n: usize) -> Result<Vec<(String, Vec<u8>)>> {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            match tokio::time::timeout(DELIVERY_TIMEOUT, self.inbox.recv()).await {
                Ok(Some(m)) => out.push(m),
                Ok(None) => return Err(no_answer("a subscription's connection ended")),
                Err(_) => return Err(no_answer("published states did not arrive in time")),
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// Leaves the broker.
    pub(crate) async fn close(self) {
        let _ = self.client.disconnect().await;
    }
}

/// What one round sent to each recipient: how many messages to wait for.
#[derive(Debug, Default)]
pub(crate) struct Sent {
    acl: BTreeMap<String, usize>,
    te: BTreeMap<String, usize>,
    /// Messages lost because a party was not on the wire, by that party: sent to it, or put out by it.
    pub(crate) lost: BTreeMap<String, usize>,
    /// Messages the wire refused to carry, said why.
    pub(crate) refused: Vec<String>,
}

impl Sent {
    fn lose(&mut self, party: &str) {
        let n = self.lost.entry(party.to_owned()).or_default();
        *n = n.saturating_add(1);
    }

    /// Nothing was sent.
    pub(crate) fn is_empty(&self) -> bool {
        self.acl.is_empty() && self.te.is_empty()
    }
}

/// One delivered inbox of FIPA-ACL: the messages in order, and the payloads that did not decode.
#[derive(Debug, Default)]
pub(crate) struct AclInbox {
    pub(crate) messages: Vec<AclMessage>,
    pub(crate) undecodable: Vec<String>,
}

/// The broker connections of every party.
pub(crate) struct Wire {
    host: String,
    port: u16,
    acl: BTreeMap<String, MqttTransport>,
    te: BTreeMap<String, TeConnection>,
    /// The TE node's name: the one TE inbox with many senders.
    te_node: String,
    /// Messages carried so far, ACL and TE.
    pub(crate) carried: u64,
}

impl std::fmt::Debug for Wire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wire")
            .field("port", &self.port)
            .field("acl", &self.acl.keys().collect::<Vec<_>>())
            .field("te", &self.te.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Wire {
    /// The wire of the broker at 127.0.0.1:`port`, with nobody on it yet; `te_node` is the TE node's name.
    pub(crate) fn new(port: u16, te_node: &str) -> Wire {
        Wire {
            host: "127.0.0.1".into(),
            port,
            acl: BTreeMap::new(),
            te: BTreeMap::new(),
            te_node: te_node.to_owned(),
            carried: 0,
        }
    }

    /// Connects `name` to its FIPA-ACL inbox.
    pub(crate) async fn join_acl(&mut self, name: &str) -> Result<()> {
        self.join_many(&[name.to_owned()], &[]).await
    }

    /// Connects `name` to its TE inbox (a client of its own).
    pub(crate) async fn join_te(&mut self, name: &str) -> Result<()> {
        self.join_many(&[], &[name.to_owned()]).await
    }

    /// Connects each of `acl` to its FIPA-ACL inbox and each of `te` to its TE inbox, [`JOINING_AT_ONCE`] of
    /// them at a time: a connection waits on the broker's acknowledgements, not on this machine's cores.
    pub(crate) async fn join_many(&mut self, acl: &[String], te: &[String]) -> Result<()> {
        use futures_util::StreamExt;
        let (host, port) = (self.host.as_str(), self.port);
        let transports: Vec<Result<MqttTransport>> = futures_util::stream::iter(acl)
            .map(|name| async move {
                MqttTransport::connect(
                    host,
                    port,
                    fipa_acl::AgentIdentifier::new(name),
                    TransportOptions::default(),
                )
                .await
                .map_err(|e| no_answer(format!("the broker, for {name}: {e}")))
            })
            .buffered(JOINING_AT_ONCE)
            .collect()
            .await;
        let connections: Vec<Result<TeConnection>> = futures_util::stream::iter(te)
            .map(|name| async move {
                let client_id = format!(
                    "te-{}",
                    name.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
                );
                let (client, inbox) =
                    subscribe(&client_id, host, port, &inbox_topic(TE_PREFIX, name))
                        .await
                        .map_err(|e| {
                            no_answer(format!("the broker, for {name}'s TE inbox: {e}"))
                        })?;
                Ok(TeConnection { client, inbox })
            })
            .buffered(JOINING_AT_ONCE)
            .collect()
            .await;
        for (name, transport) in acl.iter().zip(transports) {
            self.acl.insert(name.clone(), transport?);
        }
        for (name, connection) in te.iter().zip(connections) {
            self.te.insert(name.clone(), connection?);
        }
        Ok(())
    }

    /// Cuts `name`'s connections without a goodbye (a lost connection: the sockets close, the broker
    /// forgets its subscriptions); [`Wire::join_acl`] and [`Wire::join_te`] connect it again.
    pub(crate) fn cut(&mut self, name: &str) {
        drop(self.acl.remove(name));
        drop(self.te.remove(name));
    }

    /// Leaves the broker: `name`'s connections close.
    pub(crate) async fn leave(&mut self, name: &str) {
        if let Some(t) = self.acl.remove(name) {
            let _ = t.disconnect().await;
        }
        if let Some(t) = self.te.remove(name) {
            let _ = t.client.disconnect().await;
        }
    }

    /// Publishes `m` from `from`'s connection to the inbox of each of its receivers.
    pub(crate) async fn send_acl(&self, from: &str, m: &AclMessage, sent: &mut Sent) -> Result<()> {
        let Some(transport) = self.acl.get(from) else {
            sent.lose(from);
            return Ok(());
        };
        transport
            .send(m)
            .await
            .map_err(|e| no_answer(format!("the broker, sending for {from}: {e}")))?;
        for r in &m.receivers {
            if self.acl.contains_key(&r.name) {
                let n = sent.acl.entry(r.name.clone()).or_default();
                *n = n.saturating_add(1);
            } else {
                sent.lose(&r.name);
            }
        }
        Ok(())
    }

    /// Publishes `payload` from `from`'s TE connection to `to`'s TE inbox.
    pub(crate) async fn send_te(
        &self,
        from: &str,
        to: &str,
        payload: Vec<u8>,
        sent: &mut Sent,
    ) -> Result<()> {
        let Some(connection) = self.te.get(from) else {
            sent.lose(from);
            return Ok(());
        };
        if !self.te.contains_key(to) {
            sent.lose(to);
            return Ok(());
        }
        if payload.len() > MAX_TE_PAYLOAD {
            sent.refused.push(format!(
                "{from}'s TE message to {to} is {} bytes, over the wire's {MAX_TE_PAYLOAD}",
                payload.len()
            ));
            return Ok(());
        }
        connection
            .client
            .publish(
                inbox_topic(TE_PREFIX, to),
                rumqttc::QoS::AtLeastOnce,
                false,
                payload,
            )
            .await
            .map_err(|e| no_answer(format!("the broker, sending for {from}: {e}")))?;
        let n = sent.te.entry(to.to_owned()).or_default();
        *n = n.saturating_add(1);
        Ok(())
    }

    /// Waits until every recipient of `sent` has received what was sent to it; returns the ACL inboxes
    /// ordered by sender, and the TE inboxes (the node's ordered by submitter).
    pub(crate) async fn deliver(
        &mut self,
        sent: &Sent,
    ) -> Result<(BTreeMap<String, AclInbox>, BTreeMap<String, Vec<Vec<u8>>>)> {
        let mut acl = BTreeMap::new();
        for (to, n) in &sent.acl {
            let Some(transport) = self.acl.get_mut(to) else {
                continue;
            };
            let mut inbox = AclInbox::default();
            for _ in 0..*n {
                match tokio::time::timeout(DELIVERY_TIMEOUT, transport.recv()).await {
                    Ok(Ok(m)) => inbox.messages.push(m),
                    Ok(Err(fipa_acl::Error::Transport { reason })) => {
                        return Err(no_answer(format!("{to}'s connection: {reason}")));
                    }
                    Ok(Err(e)) => inbox.undecodable.push(e.to_string()),
                    Err(_) => {
                        return Err(no_answer(format!(
                            "{to} did not receive its messages within {} s",
                            DELIVERY_TIMEOUT.as_secs()
                        )));
                    }
                }
            }
            // Stable: a sender's own messages keep their order.
            inbox.messages.sort_by(|a, b| sender(a).cmp(sender(b)));
            self.carried = self.carried.saturating_add(*n as u64);
            acl.insert(to.clone(), inbox);
        }
        let mut te = BTreeMap::new();
        for (to, n) in &sent.te {
            let Some(connection) = self.te.get_mut(to) else {
                continue;
            };
            let mut payloads = Vec::with_capacity(*n);
            for _ in 0..*n {
                match tokio::time::timeout(DELIVERY_TIMEOUT, connection.inbox.recv()).await {
                    Ok(Some(p)) => payloads.push(p),
                    Ok(None) => return Err(no_answer(format!("{to}'s TE connection ended"))),
                    Err(_) => {
                        return Err(no_answer(format!(
                            "{to} did not receive its TE messages within {} s",
                            DELIVERY_TIMEOUT.as_secs()
                        )));
                    }
                }
            }
            // Many submit to the node: ordered by submitter. Everyone else hears only from the node.
            if *to == self.te_node {
                payloads.sort_by_cached_key(|p| submitter(p));
            }
            self.carried = self.carried.saturating_add(*n as u64);
            te.insert(to.clone(), payloads);
        }
        Ok((acl, te))
    }
}

/// The sender's name of a message (empty when it names none).
fn sender(m: &AclMessage) -> &str {
    m.sender.as_ref().map_or("", |s| s.name.as_str())
}

/// The submitter's name of a payload to the TE node (empty for a notice, which only the node sends).
fn submitter(payload: &[u8]) -> String {
    split_payload(payload)
        .map(|(name, _)| name)
        .unwrap_or_default()
}
