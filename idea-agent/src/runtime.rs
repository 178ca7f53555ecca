//! The tokio runtime adapter (feature `mqtt`): runs an [`Agent`] (or a service application, [`RunningService`]) in a task, wired to FIPA-ACL over MQTT
//! (`fipa_acl::mqtt`, AG-09), with its setpoints and its event log going to channels the caller chooses. One
//! process runs as many agents as it spawns.
//!
//! The task owns the agent: it takes each message from the agent's inbox, each owner request
//! ([`RunningAgent::call`]) and each deadline, and after every step publishes what the agent sent and hands on
//! its setpoints and events. Time comes from a [`Clock`], so a simulation may run faster than the wall.

use crate::agent::Agent;
use crate::behaviour::Output;
use crate::error::{Error, Result};
use crate::event::Event;
use fipa_acl::mqtt::MqttTransport;
use idea_proto::{SetpointCommand, Timestamp};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// Where the time comes from: the system clock ([`fipa_acl::mqtt::system_now`]) or a simulation's, with how
/// many times faster than real time it runs (so a deadline ten simulated seconds away is slept as a tenth of
/// a second at 100×).
#[derive(Clone)]
pub struct Clock {
    now: Arc<dyn Fn() -> Timestamp + Send + Sync>,
    speed: f64,
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clock")
            .field("speed", &self.speed)
            .finish_non_exhaustive()
    }
}

impl Clock {
    /// The wall clock.
    pub fn system() -> Clock {
        Clock {
            now: Arc::new(fipa_acl::mqtt::system_now),
            speed: 1.0,
        }
    }

    /// A simulation's clock: `now` reads it, and it runs `speed` times faster than real time (a speed that is
    /// not a positive number counts as 1).
    pub fn simulated(now: impl Fn() -> Timestamp + Send + Sync + 'static, speed: f64) -> Clock {
        Clock {
            now: Arc::new(now),
            speed: if speed.is_finite() && speed > 0.0 {
                speed
            } else {
                1.0
            },
        }
    }

    /// The time now.
    pub fn now(&self) -> Timestamp {
        (self.now)()
    }

    /// How long to sleep, real time, until `deadline` (zero when it has passed).
    pub fn until(&self, deadline: Timestamp) -> std::time::Duration {
        deadline
            .duration_since(self.now())
            .map_or(std::time::Duration::ZERO, |left| {
                std::time::Duration::from_millis(left.as_ms()).div_f64(self.speed)
            })
    }

    /// A simulated span as real time.
    pub fn real(&self, span: idea_proto::Duration) -> std::time::Duration {
        std::time::Duration::from_millis(span.as_ms()).div_f64(self.speed)
    }
}

/// The wall clock.
pub fn system_clock() -> Clock {
    Clock::system()
}

/// What the cell's equipment tells its agent (from the device link, feature `devices`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum DeviceReport {
    /// The interface device took (`Ok`) or refused a setpoint of transaction `id`.
    CommandResult {
        /// The transaction commanded.
        id: idea_proto::TransactionId,
        /// Taken, or why not.
        result: std::result::Result<(), String>,
    },
    /// An interval measured at the connection (UC-08).
    Measurement(idea_proto::MeasurementReport),
    /// The energy the cell's storage holds, Wh (it bounds what the agent may sell).
    StoredEnergy(i64),
}

/// What a running agent is linked to besides the ACL network.
#[derive(Debug, Default)]
pub struct Links {
    /// Its TE node over MQTT.
    pub te: Option<crate::te_link::TeLink>,
    /// Its cell's equipment.
    pub devices: Option<mpsc::Receiver<DeviceReport>>,
}

type Job = TaskJob<Agent>;

/// Work run on what a task owns (an agent, a service, the TE node) inside the task, at the task's time.
pub(crate) type TaskJob<T> = Box<dyn FnOnce(&mut T, Timestamp) + Send>;

/// Runs `f` inside the task that takes `jobs` and returns its result.
pub(crate) async fn call_in<T: 'static, R: Send + 'static>(
    jobs: &mpsc::Sender<TaskJob<T>>,
    f: impl FnOnce(&mut T, Timestamp) -> R + Send + 'static,
) -> Result<R> {
    let (tx, rx) = oneshot::channel();
    let job: TaskJob<T> = Box::new(move |owned, now| {
        let _ = tx.send(f(owned, now));
    });
    jobs.send(job).await.map_err(|_| Error::Stopped)?;
    rx.await.map_err(|_| Error::Stopped)
}

/// The most messages taken from an inbox as one batch.
pub const MAX_INBOX_BATCH: usize = 256;

/// `first` and what else already waits in the inbox (at most [`MAX_INBOX_BATCH`] in all), to be taken as one
/// batch (its signatures checked together); the decoding errors met on the way, as text.
fn drain_inbox(
    first: fipa_acl::AclMessage,
    transport: &mut MqttTransport,
) -> (Vec<fipa_acl::AclMessage>, Vec<String>) {
    let mut batch = vec![first];
    let mut undecodable = Vec::new();
    while batch.len().saturating_add(undecodable.len()) < MAX_INBOX_BATCH {
        match transport.try_recv() {
            Some(Ok(m)) => batch.push(m),
            Some(Err(e)) => undecodable.push(e.to_string()),
            None => break,
        }
    }
    (batch, undecodable)
}

/// The longest the task sleeps without a deadline, so a clock that jumps is noticed.
const IDLE_WAKE: std::time::Duration = std::time::Duration::from_secs(1);

/// Where an agent's outputs go besides the network.
#[derive(Debug, Clone, Default)]
pub struct Sinks {
    /// Setpoints for the cell's interface device (the device client takes them).
    pub commands: Option<mpsc::Sender<SetpointCommand>>,
    /// The event log.
    pub events: Option<mpsc::Sender<Event>>,
    /// Submissions for the TE node.
    pub te: Option<mpsc::Sender<crate::TeSubmission>>,
}

/// An agent running in its own task.
#[derive(Debug)]
pub struct RunningAgent {
    jobs: mpsc::Sender<Job>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Agent>,
}

/// The agent's side of its TE link: a client subscribed to its TE inbox.
struct TeClient {
    client: rumqttc::AsyncClient,
    notices: mpsc::Receiver<Vec<u8>>,
    link: crate::te_link::TeLink,
}

impl TeClient {
    /// Connects `name`'s link to its TE node `link`: its own MQTT client (another client id than the ACL
    /// transport's, without MQTT's topic characters), subscribed to `name`'s inbox under the TE prefix.
    async fn connect(name: &str, link: crate::te_link::TeLink) -> Result<TeClient> {
        let client_id = format!(
            "te-link-{}",
            name.replace(
                |c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '@',
                "_"
            )
        );
        let topic = fipa_acl::mqtt::inbox_topic(&link.prefix, name);
        let (client, notices) =
            crate::te_link::subscribe(&client_id, &link.host, link.port, &topic).await?;
        Ok(TeClient {
            client,
            notices,
            link,
        })
    }

    /// The next payload from the node; never, without a link; `None` once the link ended.
    async fn next(te: &mut Option<TeClient>) -> Option<Vec<u8>> {
        match te.as_mut() {
            Some(te) => te.notices.recv().await,
            None => std::future::pending().await,
        }
    }

    /// The notice in `payload`, if the node signed it.
    fn read(&self, payload: &[u8]) -> Option<crate::TeNotice> {
        crate::te_link::read_notice(payload, &self.link.node_key)
    }

    /// Publishes `from`'s submission to the node's inbox.
    async fn submit(&self, from: &str, submission: &crate::TeSubmission) {
        let payload = crate::te_link::submission_payload(from, submission);
        let topic = fipa_acl::mqtt::inbox_topic(&self.link.prefix, &self.link.node);
        if let Err(e) = self
            .client
            .publish(topic, rumqttc::QoS::AtLeastOnce, false, payload)
            .await
        {
            log::warn!("{from}: a TE submission failed: {e}");
        }
    }
}

async fn flush(agent: &mut Agent, transport: &MqttTransport, sinks: &Sinks, te: Option<&TeClient>) {
    while let Some(out) = agent.poll_transmit() {
        match out {
            Output::Acl(m) => {
                if let Err(e) = transport.send(&m).await {
                    log::warn!(
                        "{}: sending {} failed: {e}",
                        agent.me().name,
                        m.performative
                    );
                }
            }
            Output::Command(c) => {
                if let Some(tx) = &sinks.commands {
                    let _ = tx.send(c).await;
                }
            }
            Output::Te(submission) => {
                if let Some(te) = te {
                    te.submit(&agent.me().name, &submission).await;
                } else if let Some(tx) = &sinks.te {
                    let _ = tx.send(submission).await;
                }
            }
        }
    }
    while let Some(event) = agent.poll_event() {
        if let Some(tx) = &sinks.events {
            let _ = tx.send(event).await;
        }
    }
}

/// Hands a device report to the agent; what it cannot place is logged in its event log.
fn handle_report(agent: &mut Agent, report: DeviceReport, now: Timestamp) {
    let outcome = match report {
        DeviceReport::CommandResult { id, result } => agent.handle_command_result(&id, result, now),
        DeviceReport::Measurement(m) => agent.handle_measurement(&m, now),
        DeviceReport::StoredEnergy(wh) => {
            agent.handle_stored_energy(wh, now);
            Ok(())
        }
    };
    if let Err(e) = outcome {
        agent.handle_undecodable(&format!("device report: {e}"), now);
    }
}

impl RunningAgent {
    /// Starts `agent` on `transport` (connected to its inbox), with time from `clock`; TE submissions go to
    /// `sinks.te`.
    pub fn spawn(
        agent: Agent,
        transport: MqttTransport,
        clock: Clock,
        sinks: Sinks,
    ) -> RunningAgent {
        RunningAgent::start(agent, transport, clock, sinks, None, None)
    }

    /// As [`RunningAgent::spawn`], with the agent linked to its TE node over MQTT (`crate::te_link`): its
    /// submissions are published to the node, and the node's signed notices move its transactions.
    pub async fn spawn_with_te(
        agent: Agent,
        transport: MqttTransport,
        clock: Clock,
        sinks: Sinks,
        link: crate::te_link::TeLink,
    ) -> Result<RunningAgent> {
        RunningAgent::spawn_linked(
            agent,
            transport,
            clock,
            sinks,
            Links {
                te: Some(link),
                devices: None,
            },
        )
        .await
    }

    /// As [`RunningAgent::spawn`], linked to its TE node and to its cell's equipment: setpoints go to
    /// `sinks.commands` (the device link takes them there), and the link's reports come back through
    /// `links.devices`.
    pub async fn spawn_linked(
        agent: Agent,
        transport: MqttTransport,
        clock: Clock,
        sinks: Sinks,
        links: Links,
    ) -> Result<RunningAgent> {
        let Some(link) = links.te else {
            return Ok(RunningAgent::start(
                agent,
                transport,
                clock,
                sinks,
                None,
                links.devices,
            ));
        };
        let te = TeClient::connect(&agent.me().name, link).await?;
        Ok(RunningAgent::start(
            agent,
            transport,
            clock,
            sinks,
            Some(te),
            links.devices,
        ))
    }

    fn start(
        mut agent: Agent,
        mut transport: MqttTransport,
        clock: Clock,
        sinks: Sinks,
        mut te: Option<TeClient>,
        mut devices: Option<mpsc::Receiver<DeviceReport>>,
    ) -> RunningAgent {
        let (jobs, mut job_rx) = mpsc::channel::<Job>(64);
        let (stop, mut stop_rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            loop {
                flush(&mut agent, &transport, &sinks, te.as_ref()).await;
                let sleep = agent
                    .poll_timeout()
                    .map_or(IDLE_WAKE, |d| clock.until(d))
                    .min(IDLE_WAKE);
                tokio::select! {
                    received = transport.recv() => match received {
                        Ok(m) => {
                            let (batch, undecodable) = drain_inbox(m, &mut transport);
                            let now = clock.now();
                            agent.handle_acl_batch(batch, now);
                            for e in undecodable {
                                agent.handle_undecodable(&e, now);
                            }
                        }
                        Err(fipa_acl::Error::Transport { reason }) => {
                            log::warn!("{}: the transport ended: {reason}", agent.me().name);
                            break;
                        }
                        Err(e) => agent.handle_undecodable(&e.to_string(), clock.now()),
                    },
                    job = job_rx.recv() => match job {
                        Some(job) => job(&mut agent, clock.now()),
                        None => break,
                    },
                    () = tokio::time::sleep(sleep) => {
                        let now = clock.now();
                        if agent.poll_timeout().is_some_and(|d| d <= now) {
                            agent.handle_timeout(now);
                        }
                    }
                    report = async {
                        match devices.as_mut() {
                            Some(d) => d.recv().await,
                            None => std::future::pending().await,
                        }
                    } => match report {
                        Some(report) => handle_report(&mut agent, report, clock.now()),
                        None => devices = None,
                    },
                    notice = TeClient::next(&mut te) => match (notice, te.as_ref()) {
                        (Some(payload), Some(link)) => {
                            match link.read(&payload) {
                                Some(n) => {
                                    if let Err(e) = agent.handle_te_notice(&n, clock.now()) {
                                        agent.handle_undecodable(&format!("TE notice: {e}"), clock.now());
                                    }
                                }
                                None => agent.handle_undecodable("a TE notice that is not the node's", clock.now()),
                            }
                        }
                        _ => break,
                    },
                    _ = &mut stop_rx => break,
                }
            }
            flush(&mut agent, &transport, &sinks, te.as_ref()).await;
            if let Some(te) = &te {
                let _ = te.client.disconnect().await;
            }
            let _ = transport.disconnect().await;
            agent
        });
        RunningAgent {
            jobs,
            stop: Some(stop),
            task,
        }
    }

    /// Runs `f` on the agent inside its task, at the clock's time, and returns its result — how an owner's
    /// request (buy, subscribe, read the book) reaches a running agent.
    pub async fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Agent, Timestamp) -> R + Send + 'static,
    ) -> Result<R> {
        call_in(&self.jobs, f).await
    }

    /// Stops the task and gives the agent back.
    pub async fn stop(mut self) -> Result<Agent> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.await.map_err(|_| Error::Stopped)
    }
}

/// Sends what a service put out: its messages on its transport, its submissions to its TE node.
async fn flush_service<S: crate::AclService>(
    service: &mut S,
    transport: &MqttTransport,
    te: Option<&TeClient>,
) {
    while let Some(m) = service.poll_transmit() {
        if let Err(e) = transport.send(&m).await {
            log::warn!(
                "{}: sending {} failed: {e}",
                service.me().name,
                m.performative
            );
        }
    }
    while let Some(submission) = service.poll_submission() {
        match te {
            Some(te) => te.submit(&service.me().name, &submission).await,
            None => log::warn!("{}: a TE submission but no TE node", service.me().name),
        }
    }
}

/// A service application (the market, the directory) running in its own task on FIPA-ACL over MQTT.
pub struct RunningService<S> {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<S>,
    jobs: mpsc::Sender<TaskJob<S>>,
}

impl<S> std::fmt::Debug for RunningService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningService").finish_non_exhaustive()
    }
}

impl<S: crate::AclService + 'static> RunningService<S> {
    /// Starts `service` on `transport` (connected to its inbox), with time from `clock`.
    pub fn spawn(service: S, transport: MqttTransport, clock: Clock) -> RunningService<S> {
        RunningService::start(service, transport, clock, None)
    }

    /// As [`RunningService::spawn`], linked to the TE node `link` names: the service's submissions
    /// ([`crate::AclService::poll_submission`]) are published to the node, and the node's notices that
    /// verify against its key reach [`crate::AclService::handle_te_notice`].
    pub async fn spawn_with_te(
        service: S,
        transport: MqttTransport,
        clock: Clock,
        link: crate::te_link::TeLink,
    ) -> Result<RunningService<S>> {
        let te = TeClient::connect(&service.me().name, link).await?;
        Ok(RunningService::start(service, transport, clock, Some(te)))
    }

    fn start(
        mut service: S,
        mut transport: MqttTransport,
        clock: Clock,
        mut te: Option<TeClient>,
    ) -> RunningService<S> {
        let (stop, mut stop_rx) = oneshot::channel::<()>();
        let (jobs, mut job_rx) = mpsc::channel::<TaskJob<S>>(64);
        let task = tokio::spawn(async move {
            loop {
                flush_service(&mut service, &transport, te.as_ref()).await;
                let sleep = service
                    .poll_timeout()
                    .map_or(IDLE_WAKE, |d| clock.until(d))
                    .min(IDLE_WAKE);
                tokio::select! {
                    received = transport.recv() => match received {
                        Ok(m) => {
                            let (batch, undecodable) = drain_inbox(m, &mut transport);
                            service.handle_acl_batch(batch, clock.now());
                            for e in undecodable {
                                log::info!("{}: an undecodable message: {e}", service.me().name);
                            }
                        }
                        Err(fipa_acl::Error::Transport { reason }) => {
                            log::warn!("{}: the transport ended: {reason}", service.me().name);
                            break;
                        }
                        Err(e) => log::info!("{}: an undecodable message: {e}", service.me().name),
                    },
                    Some(job) = job_rx.recv() => job(&mut service, clock.now()),
                    () = tokio::time::sleep(sleep) => {
                        let now = clock.now();
                        if service.poll_timeout().is_some_and(|d| d <= now) {
                            service.handle_timeout(now);
                        }
                    }
                    notice = TeClient::next(&mut te) => match (notice, te.as_ref()) {
                        (Some(payload), Some(link)) => {
                            match link.read(&payload) {
                                Some(n) => service.handle_te_notice(&n, clock.now()),
                                None => log::info!("{}: a TE notice that is not the node's", service.me().name),
                            }
                        }
                        _ => break,
                    },
                    _ = &mut stop_rx => break,
                }
            }
            flush_service(&mut service, &transport, te.as_ref()).await;
            if let Some(te) = &te {
                let _ = te.client.disconnect().await;
            }
            let _ = transport.disconnect().await;
            service
        });
        RunningService {
            stop: Some(stop),
            task,
            jobs,
        }
    }

    /// Runs `f` on the service inside its task, at the clock's time, and returns its result — how an
    /// operator's request reaches a running service.
    pub async fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut S, Timestamp) -> R + Send + 'static,
    ) -> Result<R> {
        call_in(&self.jobs, f).await
    }

    /// Whether the task ended on its own (its transport failed).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Stops the task and gives the service back.
    pub async fn stop(mut self) -> Result<S> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.await.map_err(|_| Error::Stopped)
    }
}
