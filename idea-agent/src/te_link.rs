//! The TE node as an MQTT service (TE-09, feature `mqtt`), and the agents' link to it.
//!
//! Every party has an inbox under the TE prefix (`idea/te` by default), named as ACL inboxes are
//! (`fipa_acl::mqtt::inbox_topic`): the node's is `idea/te/{node}/inbox`, an agent's `idea/te/{agent}/inbox`.
//! - A submission is published to the node's inbox: the submitter's name as 2 big-endian length bytes and
//!   UTF-8, then the submission's wire form ([`TeSubmission::encode`]). Its contents are signed
//!   `te-contract` objects, so the name only says where refusals go.
//! - A notice is published to each agent's inbox as an `idea-proto` signed envelope of type
//!   [`NOTICE_TYPE`] whose payload is the notice as JSON, signed by the node's key; an agent acts only on
//!   notices that verify against the node key it was given.

use crate::behaviour::TeSubmission;
use crate::te_node::{TeNode, TeNotice};
use fipa_acl::mqtt::inbox_topic;
use idea_proto::{PublicKey, SignedEnvelope, SigningKey, WireMessage};
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, QoS};
use te_contract::ledger::{Ledger, SqliteStore};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The default topic prefix of the TE service.
pub const TE_PREFIX: &str = "idea/te";
/// The envelope type of a notice.
pub const NOTICE_TYPE: &str = "idea.te.v1.Notice";
/// The largest submission or notice carried.
pub const MAX_TE_PAYLOAD: usize = 1 << 20;

/// Where an agent reaches its TE node.
#[derive(Debug, Clone)]
pub struct TeLink {
    /// The broker's host.
    pub host: String,
    /// The broker's port.
    pub port: u16,
    /// The node's name (its inbox).
    pub node: String,
    /// The key the node signs notices with.
    pub node_key: PublicKey,
    /// The topic prefix.
    pub prefix: String,
}

/// A submission from `from` in its MQTT payload form.
pub fn submission_payload(from: &str, submission: &TeSubmission) -> Vec<u8> {
    let name = from.as_bytes();
    let len = u16::try_from(name.len()).unwrap_or(u16::MAX);
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(name.get(..usize::from(len)).unwrap_or(name));
    submission.encode(&mut out);
    out
}

/// Splits a submission payload into the submitter's name and the submission bytes.
pub fn split_payload(payload: &[u8]) -> Option<(String, &[u8])> {
    let len = usize::from(u16::from_be_bytes([*payload.first()?, *payload.get(1)?]));
    let name = payload.get(2..2usize.checked_add(len)?)?;
    let rest = payload.get(2usize.checked_add(len)?..)?;
    Some((String::from_utf8(name.to_vec()).ok()?, rest))
}

/// A notice as the node publishes it: signed JSON.
pub fn notice_payload(notice: &TeNotice, key: &SigningKey) -> Vec<u8> {
    let json = serde_json::to_vec(notice).unwrap_or_default();
    let envelope = SignedEnvelope::seal_payload(NOTICE_TYPE, json, key);
    let mut out = Vec::new();
    envelope.encode(&mut out);
    out
}

/// Reads a notice payload; `None` unless it is a notice signed by `node_key`.
pub fn read_notice(payload: &[u8], node_key: &PublicKey) -> Option<TeNotice> {
    let (envelope, _) = SignedEnvelope::decode(payload).ok()?;
    if envelope.message_type() != NOTICE_TYPE || envelope.signer() != node_key {
        return None;
    }
    envelope.verify().ok()?;
    serde_json::from_slice(envelope.payload()).ok()
}

fn options(client_id: &str, host: &str, port: u16) -> MqttOptions {
    let mut mqtt = MqttOptions::new(client_id, host, port);
    mqtt.set_keep_alive(std::time::Duration::from_secs(30));
    mqtt.set_clean_session(true);
    let max = MAX_TE_PAYLOAD.saturating_add(1024);
    mqtt.set_max_packet_size(max, max);
    mqtt
}

/// Polls `events` and forwards each publish's payload; ends when the receiver is gone.
async fn forward(
    mut events: EventLoop,
    tx: mpsc::Sender<Vec<u8>>,
    subscribed: tokio::sync::oneshot::Sender<()>,
) {
    let mut subscribed = Some(subscribed);
    loop {
        match events.poll().await {
            Ok(Event::Incoming(Packet::Publish(p))) => {
                if p.payload.len() <= MAX_TE_PAYLOAD && tx.send(p.payload.to_vec()).await.is_err() {
                    return;
                }
            }
            Ok(Event::Incoming(Packet::SubAck(_))) => {
                if let Some(s) = subscribed.take() {
                    let _ = s.send(());
                }
            }
            // This side said goodbye: the broker closing the connection next is no trouble to report.
            Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) => return,
            Ok(_) => {}
            Err(e) => {
                if tx.is_closed() {
                    return;
                }
                log::warn!("TE link: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
    }
}

/// A client subscribed to `topic`: the client and the payloads received (at most [`MAX_TE_PAYLOAD`] each).
///
/// # Errors
/// [`crate::Error::Link`] when the broker cannot be reached or does not acknowledge the subscription.
pub async fn subscribe(
    client_id: &str,
    host: &str,
    port: u16,
    topic: &str,
) -> crate::Result<(AsyncClient, mpsc::Receiver<Vec<u8>>)> {
    let (client, events) = fipa_acl::mqtt::client(options(client_id, host, port), 64);
    let (tx, rx) = mpsc::channel(256);
    let (sub_tx, sub_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(forward(events, tx, sub_tx));
    client
        .subscribe(topic, QoS::AtLeastOnce)
        .await
        .map_err(|e| crate::Error::Link(format!("subscribe {topic}: {e}")))?;
    tokio::time::timeout(std::time::Duration::from_secs(10), sub_rx)
        .await
        .map_err(|_| {
            crate::Error::Link(format!("{topic}: no subscription acknowledgement in 10 s"))
        })?
        .map_err(|_| crate::Error::Link("the connection task ended".into()))?;
    Ok((client, rx))
}

/// Commits what the node accepted to `ledger`, then sends the notices it caused; `false` when the ledger
/// refused a commit (the service stops: nothing unrecorded is ever acknowledged).
async fn flush(
    node: &mut TeNode,
    ledger: Option<&mut Ledger<SqliteStore>>,
    client: &AsyncClient,
    prefix: &str,
    key: &SigningKey,
) -> bool {
    if let Some(ledger) = ledger {
        let entries: Vec<_> = std::iter::from_fn(|| node.poll_entry()).collect();
        let committed = if entries.is_empty() {
            Ok(())
        } else {
            ledger
                .submit_all(entries)
                .and_then(|_| ledger.commit().map(|_| ()))
        };
        if let Err(e) = committed {
            log::error!("TE node: the ledger refused a commit, stopping: {e}");
            return false;
        }
    }
    while let Some(notice) = node.poll_notice() {
        let to = notice.to().to_owned();
        let body = notice_payload(&notice, key);
        if let Err(e) = client
            .publish(inbox_topic(prefix, &to), QoS::AtLeastOnce, false, body)
            .await
        {
            log::warn!("TE node: notice to {to}: {e}");
        }
    }
    true
}

/// Work run on the node inside its task (an operator's request).
type Job = crate::runtime::TaskJob<TeNode>;

/// The TE node running as an MQTT service.
pub struct TeService {
    task: JoinHandle<TeNode>,
    stop: tokio::sync::oneshot::Sender<()>,
    jobs: mpsc::Sender<Job>,
}

impl std::fmt::Debug for TeService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TeService").finish_non_exhaustive()
    }
}

impl TeService {
    /// Serves `node` as `name` on the broker at `host:port`, signing notices with `key`, time from `clock`.
    pub async fn spawn(
        node: TeNode,
        name: &str,
        key: SigningKey,
        host: &str,
        port: u16,
        prefix: &str,
        clock: crate::runtime::Clock,
    ) -> crate::Result<TeService> {
        TeService::spawn_with_ledger(node, name, key, host, port, prefix, clock, None).await
    }

    /// As [`TeService::spawn`], recording what the node accepts in `ledger` (TE-07): each submission's
    /// entries are committed before the notices it caused are sent; a commit that fails stops the service
    /// (nothing unrecorded is ever acknowledged).
    #[allow(clippy::too_many_arguments)]
    pub async fn spawn_with_ledger(
        node: TeNode,
        name: &str,
        key: SigningKey,
        host: &str,
        port: u16,
        prefix: &str,
        clock: crate::runtime::Clock,
        mut ledger: Option<Ledger<SqliteStore>>,
    ) -> crate::Result<TeService> {
        let mut node = if ledger.is_some() {
            node.with_ledger_entries()
        } else {
            node
        };
        let (client, mut rx) = subscribe(name, host, port, &inbox_topic(prefix, name)).await?;
        let (stop, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (jobs, mut jobs_rx) = mpsc::channel::<Job>(64);
        let prefix = prefix.to_owned();
        let task = tokio::spawn(async move {
            loop {
                // The next clearing run (TE-08), while an interval waits for one.
                let deadline = node.poll_timeout();
                let sleep = deadline.map(|d| clock.until(d));
                tokio::select! {
                    payload = rx.recv() => {
                        let Some(payload) = payload else { break };
                        // What queued up meanwhile is taken with it, its signatures checked as one batch.
                        let mut batch = Vec::new();
                        let mut next = Some(payload);
                        while let Some(payload) = next.take() {
                            match split_payload(&payload) {
                                Some((from, bytes)) => batch.push((from, bytes.to_vec())),
                                None => log::warn!("TE node: a payload without a submitter name"),
                            }
                            if batch.len() < crate::runtime::MAX_INBOX_BATCH {
                                next = rx.try_recv().ok();
                            }
                        }
                        node.handle_bytes_batch(batch, clock.now());
                    }
                    () = async {
                        match sleep {
                            Some(d) => tokio::time::sleep(d).await,
                            None => std::future::pending().await,
                        }
                    } => node.handle_timeout(clock.now()),
                    Some(job) = jobs_rx.recv() => job(&mut node, clock.now()),
                    _ = &mut stop_rx => break,
                }
                if !flush(&mut node, ledger.as_mut(), &client, &prefix, &key).await {
                    break;
                }
            }
            let _ = client.disconnect().await;
            node
        });
        Ok(TeService { task, stop, jobs })
    }

    /// Runs `f` on the node inside its task, at the clock's time, and returns its result; what it records
    /// is committed to the ledger, and the notices it causes sent, before the next message is taken — how an
    /// operator's request (a deposit, a look at the wallets) reaches the running node.
    pub async fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut TeNode, idea_proto::Timestamp) -> R + Send + 'static,
    ) -> crate::Result<R> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |node, now| {
            let _ = tx.send(f(node, now));
        });
        self.jobs
            .send(job)
            .await
            .map_err(|_| crate::Error::Stopped)?;
        rx.await.map_err(|_| crate::Error::Stopped)
    }

    /// Serves the operator's interface ([`crate::te_node::operator`]) on `listener` until the task is dropped
    /// (feature `http`); with `token`, every request needs it as a bearer token.
    #[cfg(feature = "http")]
    pub async fn serve_operator_api(
        self: std::sync::Arc<Self>,
        listener: tokio::net::TcpListener,
        token: Option<String>,
    ) {
        let routes: crate::json_http::JsonRoutes = std::sync::Arc::new(move |request| {
            let service = std::sync::Arc::clone(&self);
            Box::pin(async move {
                let answered = service
                    .call(move |node, now| {
                        crate::te_node::operator::answer(
                            node,
                            &crate::te_node::operator::OperatorRequest {
                                method: &request.method,
                                path: &request.path,
                                body: &request.body,
                            },
                            now,
                        )
                    })
                    .await;
                answered.unwrap_or_else(|e| {
                    (
                        503,
                        serde_json::json!({ "error": format!("the TE node: {e}") }),
                    )
                })
            })
        });
        crate::json_http::serve_json(listener, routes, token, "TE operator API").await;
    }

    /// Stops the service and gives the node back.
    pub async fn stop(self) -> crate::Result<TeNode> {
        let _ = self.stop.send(());
        self.task.await.map_err(|_| crate::Error::Stopped)
    }
}
