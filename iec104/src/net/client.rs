//! The controlling station (client): connects within t0, starts data transfer, serves one request at a time
//! (interrogations collect their data until the termination; commands await their confirmation and
//! termination), passes every other ASDU to an event stream, and reconnects by its policy. The connection state
//! is visible through a watch channel.

use super::framing::{ReceiveBuffer, flush};
use crate::asdu::{Asdu, AsduParams, Cot, InformationObject, Objects};
use crate::element::Element;
use crate::error::Error;
use crate::link::{Event, Link, LinkParams, Role};
use crate::station::cause;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};

/// When and how often to reconnect after the connection is lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconnectPolicy {
    /// Wait between attempts.
    pub delay: Duration,
    /// Give up after this many failed attempts in a row (`None`: never). An attempt fails unless data transfer
    /// starts on it.
    pub max_attempts: Option<u32>,
}

/// Client settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// Link parameters; t0 bounds each connection attempt.
    pub link: LinkParams,
    /// ASDU field sizes.
    pub asdu: AsduParams,
    /// Reconnection.
    pub reconnect: ReconnectPolicy,
    /// How long a command waits for its termination after a positive confirmation.
    pub termination_wait: Duration,
    /// The most reports (spontaneous, cyclic, …) waiting to be taken with [`Client::next_event`] (at least
    /// one); beyond, the newest are dropped and counted ([`Client::dropped_events`]), so a client nobody
    /// drains never grows.
    pub max_pending_events: usize,
    /// TLS (IEC 62351-3 profile) over the TCP connection; `None` for plain TCP.
    #[cfg(feature = "tls")]
    pub tls: Option<super::tls::ClientTls>,
}

impl Default for ClientConfig {
    fn default() -> ClientConfig {
        ClientConfig {
            link: LinkParams::default(),
            asdu: AsduParams::IEC104,
            reconnect: ReconnectPolicy {
                delay: Duration::from_secs(5),
                max_attempts: None,
            },
            termination_wait: Duration::from_secs(1),
            max_pending_events: MAX_PENDING_EVENTS,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

/// The connection as the caller sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    /// Connecting or waiting to reconnect.
    Connecting,
    /// Connected, data transfer not started.
    Connected,
    /// Data transfer started.
    Started,
    /// Given up (reconnection policy exhausted) or the client was dropped.
    Closed,
}

/// Changes of a client's connection state ([`Client::state_changes`]).
pub struct StateChanges(watch::Receiver<ConnectionState>);

impl StateChanges {
    /// Waits until the state changes and gives the new one (`Closed` once the client has given up).
    pub async fn next(&mut self) -> ConnectionState {
        if self.0.changed().await.is_err() {
            return ConnectionState::Closed;
        }
        *self.0.borrow_and_update()
    }
}

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutcome {
    /// The confirmation was positive.
    pub confirmed: bool,
    /// An activation termination followed.
    pub terminated: bool,
    /// Every ASDU the command brought back.
    pub answers: Vec<Asdu>,
}

enum Kind {
    Interrogation,
    CounterInterrogation,
    Command,
}

struct Request {
    asdu: Asdu,
    kind: Kind,
    reply: oneshot::Sender<Result<Vec<Asdu>, Error>>,
}

/// The default of [`ClientConfig::max_pending_events`].
pub const MAX_PENDING_EVENTS: usize = 4096;

/// A controlling station.
pub struct Client {
    requests: mpsc::Sender<Request>,
    events: mpsc::Receiver<Asdu>,
    /// Reports dropped because [`MAX_PENDING_EVENTS`] waited.
    dropped: std::sync::Arc<std::sync::atomic::AtomicU64>,
    state: watch::Receiver<ConnectionState>,
    /// How many times data transfer started (a watch keeps only the latest state: a quick reconnection would
    /// hide between two looks).
    starts: std::sync::Arc<std::sync::atomic::AtomicU64>,
    termination_wait: Duration,
    /// Why the last connection attempt failed or the last connection ended.
    last_error: std::sync::Arc<std::sync::Mutex<Option<Error>>>,
}

impl Client {
    /// Starts a client for the station at `address`; it connects in the background.
    pub fn connect(address: SocketAddr, config: ClientConfig) -> Result<Client, Error> {
        config.link.validate()?;
        config.asdu.validate()?;
        let (requests, rx) = mpsc::channel(16);
        let (events_tx, events) = mpsc::channel(config.max_pending_events.max(1));
        let dropped = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (state_tx, state) = watch::channel(ConnectionState::Connecting);
        let termination_wait = config.termination_wait;
        let last_error = std::sync::Arc::default();
        let starts = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        tokio::spawn(run(
            address,
            config,
            rx,
            Events {
                tx: events_tx,
                dropped: std::sync::Arc::clone(&dropped),
            },
            Status {
                state: state_tx,
                starts: std::sync::Arc::clone(&starts),
            },
            std::sync::Arc::clone(&last_error),
        ));
        Ok(Client {
            requests,
            events,
            dropped,
            state,
            starts,
            termination_wait,
            last_error,
        })
    }

    /// The connection state now.
    pub fn state(&self) -> ConnectionState {
        *self.state.borrow()
    }

    /// Waits until data transfer is started, at most `within`. When the client gives up (its reconnection
    /// policy is exhausted), the error says why the last attempt failed (refused, TLS handshake, …).
    pub async fn wait_started(&mut self, within: Duration) -> Result<(), Error> {
        let wait = self
            .state
            .wait_for(|s| matches!(s, ConnectionState::Started | ConnectionState::Closed));
        let outcome = tokio::time::timeout(within, wait)
            .await
            .map(|s| s.map(|s| *s == ConnectionState::Started));
        match outcome {
            Ok(Ok(true)) => Ok(()),
            Ok(_) => Err(match self.last_error() {
                Some(Error::Transport(why)) => {
                    Error::Transport(format!("the client gave up connecting: {why}"))
                }
                Some(other) => other,
                None => Error::Transport("the client gave up connecting".into()),
            }),
            Err(_) => Err(Error::Timeout(within)),
        }
    }

    /// A watcher of the connection state, to wait on beside [`Client::next_event`]. Together with
    /// [`Client::starts`] a caller sees every start of data transfer, however quick.
    pub fn state_changes(&self) -> StateChanges {
        StateChanges(self.state.clone())
    }

    /// How many times data transfer has started since the client was made (once per connection at most).
    pub fn starts(&self) -> u64 {
        self.starts.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Why the last connection attempt failed or the last connection ended, if one did.
    pub fn last_error(&self) -> Option<Error> {
        self.last_error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The next ASDU that is not the answer to a request (spontaneous, cyclic, …).
    pub async fn next_event(&mut self) -> Option<Asdu> {
        self.events.recv().await
    }

    /// How many reports were dropped because [`ClientConfig::max_pending_events`] waited untaken.
    pub fn dropped_events(&self) -> u64 {
        self.dropped.load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn request(&self, asdu: Asdu, kind: Kind, within: Duration) -> Result<Vec<Asdu>, Error> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(Request { asdu, kind, reply })
            .await
            .map_err(|_| Error::Transport("client stopped".into()))?;
        match tokio::time::timeout(within, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(Error::Transport("client stopped".into())),
            Err(_) => Err(Error::Timeout(within)),
        }
    }

    /// A general (QOI 20) or group (21–36) interrogation of `common_address`: the data ASDUs, in order.
    pub async fn interrogate(
        &self,
        common_address: u16,
        qoi: u8,
        within: Duration,
    ) -> Result<Vec<Asdu>, Error> {
        self.interrogation(
            common_address,
            Element::Qoi(qoi),
            Kind::Interrogation,
            within,
        )
        .await
    }

    /// A counter interrogation (C_CI_NA_1, IEC 60870-5-101 clause 7.4.8) of `common_address` with qualifier
    /// `qcc` (5: read all counters, general request): the integrated totals (cause 37), in order.
    pub async fn interrogate_counters(
        &self,
        common_address: u16,
        qcc: u8,
        within: Duration,
    ) -> Result<Vec<Asdu>, Error> {
        self.interrogation(
            common_address,
            Element::Qcc(qcc),
            Kind::CounterInterrogation,
            within,
        )
        .await
    }

    /// A station or counter interrogation with its qualifier: the answers other than its own mirrors.
    async fn interrogation(
        &self,
        common_address: u16,
        qualifier: Element,
        kind: Kind,
        within: Duration,
    ) -> Result<Vec<Asdu>, Error> {
        let type_id = if matches!(kind, Kind::CounterInterrogation) {
            101
        } else {
            100
        };
        let asdu = Asdu {
            type_id,
            sq: false,
            count: 1,
            cot: Cot::new(cause::ACTIVATION),
            common_address,
            objects: Objects::Known(vec![InformationObject {
                ioa: 0,
                elements: vec![qualifier],
            }]),
        };
        let answers = self.request(asdu, kind, within).await?;
        if answers
            .iter()
            .any(|a| a.type_id == type_id && a.cot.negative)
        {
            return Err(Error::Transport("the interrogation was refused".into()));
        }
        Ok(answers
            .into_iter()
            .filter(|a| a.type_id != type_id)
            .collect())
    }

    /// Sends a command (types 45–64, activation) and waits for its confirmation and termination.
    pub async fn command(&self, asdu: Asdu, within: Duration) -> Result<CommandOutcome, Error> {
        let answers = self
            .request(
                asdu,
                Kind::Command,
                within.saturating_add(self.termination_wait),
            )
            .await?;
        let confirmed = answers
            .iter()
            .any(|a| a.cot.cause == cause::ACTIVATION_CON && !a.cot.negative);
        let terminated = answers
            .iter()
            .any(|a| a.cot.cause == cause::ACTIVATION_TERM);
        Ok(CommandOutcome {
            confirmed,
            terminated,
            answers,
        })
    }
}

struct Pending {
    request: Request,
    answers: Vec<Asdu>,
    confirmed_at: Option<Instant>,
}

impl Pending {
    fn belongs(&self, a: &Asdu) -> bool {
        let same = a.common_address == self.request.asdu.common_address
            || self.request.asdu.common_address == 0xffff;
        match self.request.kind {
            Kind::Interrogation => same && (a.type_id == 100 || (20..=36).contains(&a.cot.cause)),
            Kind::CounterInterrogation => {
                same && (a.type_id == 101 || a.cot.cause == cause::COUNTER_INTERROGATION)
            }
            Kind::Command => same && a.type_id == self.request.asdu.type_id,
        }
    }

    /// Whether the request is answered.
    fn done(&self, now: Instant, termination_wait: Duration) -> bool {
        let own = |a: &&Asdu| a.type_id == self.request.asdu.type_id;
        // Any negative answer ends the request: a negative confirmation (cause 7) or the mirrored ASDU with an
        // unknown type, cause, common address or object address (causes 44–47), both with P/N = 1.
        let negative = self.answers.iter().filter(own).any(|a| a.cot.negative);
        let terminated = self
            .answers
            .iter()
            .filter(own)
            .any(|a| a.cot.cause == cause::ACTIVATION_TERM);
        let waited = self
            .confirmed_at
            .is_some_and(|at| now.duration_since(at) >= termination_wait);
        // Clock synchronisation, test, reset and delay acquisition (types 103–107) end at their confirmation:
        // no termination follows them (IEC 60870-5-101 clause 7.4.6 to 7.4.10).
        let confirmed_only =
            (103..=107).contains(&self.request.asdu.type_id) && self.confirmed_at.is_some();
        negative
            || terminated
            || (matches!(self.request.kind, Kind::Command) && (waited || confirmed_only))
    }
}

/// What the connection task tells about the connection: its state, and how many times data transfer started.
struct Status {
    state: watch::Sender<ConnectionState>,
    starts: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Status {
    fn send(&self, state: ConnectionState) {
        if state == ConnectionState::Started {
            self.starts
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        let _ = self.state.send(state);
    }
}

/// Where the connection task puts reports: a bounded queue, and the count of those it had to drop.
struct Events {
    tx: mpsc::Sender<Asdu>,
    dropped: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Events {
    fn push(&self, asdu: Asdu) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.tx.try_send(asdu) {
            self.dropped
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

async fn run(
    address: SocketAddr,
    config: ClientConfig,
    mut requests: mpsc::Receiver<Request>,
    events: Events,
    state: Status,
    last_error: std::sync::Arc<std::sync::Mutex<Option<Error>>>,
) {
    let record = |e: Error| {
        *last_error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(e);
    };
    let mut failures = 0u32;
    loop {
        state.send(ConnectionState::Connecting);
        match open(address, &config).await {
            Ok(stream) => {
                state.send(ConnectionState::Connected);
                let mut started = false;
                if let Err(e) = session(
                    stream,
                    &config,
                    &mut requests,
                    &events,
                    &state,
                    &mut started,
                )
                .await
                {
                    record(e);
                }
                // An attempt counts as failed until data transfer started: a station that accepts and then
                // closes (a TLS refusal after the client's handshake, a full server) is not retried forever.
                if started {
                    failures = 0;
                } else {
                    failures = failures.saturating_add(1);
                }
                if requests.is_closed() && events.is_closed() {
                    break;
                }
            }
            Err(e) => {
                record(e);
                failures = failures.saturating_add(1);
            }
        }
        if config.reconnect.max_attempts.is_some_and(|m| failures >= m) || events.is_closed() {
            break;
        }
        tokio::time::sleep(config.reconnect.delay).await;
    }
    state.send(ConnectionState::Closed);
}

/// A byte stream to a controlled station: TCP, or TLS over TCP.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// Opens the connection within t0: TCP, then the TLS handshake when configured.
async fn open(address: SocketAddr, config: &ClientConfig) -> Result<Box<dyn Stream>, Error> {
    let t0 = config.link.t0;
    let stream = tokio::time::timeout(t0, TcpStream::connect(address))
        .await
        .map_err(|_| Error::Timeout(t0))?
        .map_err(|e| Error::Transport(e.to_string()))?;
    let _ = stream.set_nodelay(true);
    #[cfg(feature = "tls")]
    if let Some(tls) = &config.tls {
        let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::clone(&tls.config));
        let secured = tokio::time::timeout(t0, connector.connect(tls.server_name.clone(), stream))
            .await
            .map_err(|_| Error::Timeout(t0))?
            .map_err(|e| Error::Transport(format!("TLS handshake: {e}")))?;
        return Ok(Box::new(secured));
    }
    Ok(Box::new(stream))
}

async fn session(
    stream: Box<dyn Stream>,
    config: &ClientConfig,
    requests: &mut mpsc::Receiver<Request>,
    events: &Events,
    state: &Status,
    started: &mut bool,
) -> Result<(), Error> {
    let (mut reader, mut writer) = tokio::io::split(stream);
    let mut link = Link::new(Role::Controlling, config.link, Instant::now())?;
    link.start();
    let mut buffer = ReceiveBuffer::default();
    let mut chunk = vec![0u8; 8192];
    let mut pending: Option<Pending> = None;
    let result = loop {
        if let Err(e) = flush(&mut link, &config.asdu, &mut writer).await {
            break Err(e);
        }
        if link.is_closed() {
            // Why: a timer (t1) closes the link outside the receive path, which reports its own reasons.
            let reason = std::iter::from_fn(|| link.poll_event()).find_map(|e| match e {
                Event::Closed(reason) => Some(format!("{reason:?}")),
                _ => None,
            });
            break Err(Error::Transport(
                reason.unwrap_or_else(|| "link closed".into()),
            ));
        }
        let now = Instant::now();
        if pending
            .as_ref()
            .is_some_and(|p| p.done(now, config.termination_wait))
            && let Some(p) = pending.take()
        {
            let _ = p.request.reply.send(Ok(p.answers));
        }
        let termination_deadline = pending
            .as_ref()
            .and_then(|p| p.confirmed_at)
            .and_then(|at| at.checked_add(config.termination_wait));
        let wake = super::framing::earliest(link.poll_timeout(), termination_deadline);
        let sleep = async {
            match wake {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        let can_request = pending.is_none() && link.is_started();
        tokio::select! {
            read = reader.read(&mut chunk) => {
                let n = match read {
                    Ok(0) => break Err(Error::Transport("connection closed".into())),
                    // With TLS 1.3 the server judges the client's certificate after the client's handshake
                    // ends: its refusal arrives here as an alert (unknown CA, certificate required, …).
                    Err(e) => break Err(Error::Transport(format!("connection closed: {e}"))),
                    Ok(n) => n,
                };
                buffer.extend(chunk.get(..n).unwrap_or_default());
                loop {
                    let apdu = match buffer.next(&config.asdu) {
                        Ok(Some(apdu)) => apdu,
                        Ok(None) => break,
                        Err(e) => return Err(e),
                    };
                    let now = Instant::now();
                    link.handle_apdu(apdu, now);
                    while let Some(event) = link.poll_event() {
                        match event {
                            Event::Started => {
                                *started = true;
                                state.send(ConnectionState::Started);
                            }
                            Event::Stopped => {
                                state.send(ConnectionState::Connected);
                            }
                            Event::Closed(reason) => return Err(Error::Transport(format!("{reason:?}"))),
                            Event::Asdu(asdu) => match pending.as_mut() {
                                Some(p) if p.belongs(&asdu) => {
                                    if asdu.cot.cause == cause::ACTIVATION_CON && !asdu.cot.negative {
                                        p.confirmed_at = Some(now);
                                    }
                                    p.answers.push(asdu);
                                }
                                _ => events.push(asdu),
                            },
                        }
                    }
                }
            }
            () = sleep => link.handle_timeout(Instant::now()),
            request = requests.recv(), if can_request => {
                let Some(request) = request else { break Ok(()) };
                // A request whose caller stopped waiting (its time ran out while no connection was up) is
                // not sent late on a new connection.
                if request.reply.is_closed() {
                    continue;
                }
                link.send_asdu(request.asdu.clone());
                pending = Some(Pending { request, answers: Vec::new(), confirmed_at: None });
            }
        }
    };
    if let Some(p) = pending.take() {
        let _ = p
            .request
            .reply
            .send(Err(Error::Transport("connection lost".into())));
    }
    state.send(ConnectionState::Connecting);
    result
}
