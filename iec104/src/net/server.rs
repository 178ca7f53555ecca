//! The controlled station (server): one [`Outstation`] shared by every connection, each with its own link.

use super::framing::{ReceiveBuffer, earliest, flush};
use crate::asdu::{Asdu, AsduParams};
use crate::element::Element;
use crate::error::Error;
use crate::link::{Event, Link, LinkParams, Role};
use crate::station::{CommandHandler, GroupStatus, Outstation, RedundancyGroup, RedundancyGroups};
use idea_proto::admission::{AcceptBackoff, Admission, AdmissionLimits};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::broadcast;

/// Server settings.
///
/// Admission policy: at most `max_connections` clients at once and `max_connections_per_address` from one
/// address; further ones are closed at accept (and logged). A client that has not started data transfer
/// (STARTDT) within `start_timeout` is closed, so connections that connect and wait cannot hold the slots.
/// With redundancy groups, the controlling stations a group names by address are admitted outside the
/// general limit (up to `max_connections_per_address` each) and never closed for not starting — a standby
/// connection stays stopped by design — so unknown clients can never lock out a configured master.
/// Each connection queues at most `max_queued` ASDUs behind its k window: a request that arrives while its
/// queue is full is refused with a negative confirmation, and a connection whose queue passes twice that
/// (its master stopped acknowledging while reports flow) is closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Link parameters of every connection.
    pub link: LinkParams,
    /// ASDU field sizes.
    pub asdu: AsduParams,
    /// Most connections served at once (further ones are closed at accept).
    pub max_connections: usize,
    /// Most connections from one client address.
    pub max_connections_per_address: usize,
    /// How long a client of no named redundancy group may stay connected without starting data transfer.
    pub start_timeout: std::time::Duration,
    /// Most ASDUs one connection queues behind its k window.
    pub max_queued: usize,
    /// Redundancy groups (IEC 60870-5-104 edition 2). Empty: every connection is independent and every started
    /// connection gets every report. Otherwise a client joins the group that names its address (or a
    /// catch-all group), only the group's last started connection gets its reports, reports made while none
    /// is started wait for the next one, and clients of no group are refused.
    pub redundancy_groups: Vec<RedundancyGroup>,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            link: LinkParams::default(),
            asdu: AsduParams::IEC104,
            max_connections: 8,
            max_connections_per_address: 4,
            start_timeout: std::time::Duration::from_secs(30),
            max_queued: 8_192,
            redundancy_groups: Vec::new(),
        }
    }
}

/// A controlled station serving clients over TCP.
pub struct Server<H: CommandHandler + Send + 'static> {
    station: Mutex<Outstation<H>>,
    /// Reports with their publication number, so a connection that took over a group's backlog skips what
    /// the backlog already held.
    reports: broadcast::Sender<(u64, Vec<Asdu>)>,
    published: AtomicU64,
    config: ServerConfig,
    /// Clients of no named redundancy group.
    general: Admission,
    /// Controlling stations a redundancy group names by address.
    named: Admission,
    next_connection: AtomicU64,
    groups: Option<Mutex<RedundancyGroups>>,
}

impl<H: CommandHandler + Send + 'static> Server<H> {
    /// A server around a station.
    pub fn new(station: Outstation<H>, config: ServerConfig) -> Result<Arc<Server<H>>, Error> {
        config.link.validate()?;
        config.asdu.validate()?;
        let (reports, _) = broadcast::channel(1024);
        let groups = (!config.redundancy_groups.is_empty())
            .then(|| Mutex::new(RedundancyGroups::new(config.redundancy_groups.clone())));
        Ok(Arc::new(Server {
            station: Mutex::new(station),
            reports,
            published: AtomicU64::new(0),
            general: Admission::new(AdmissionLimits {
                total: config.max_connections,
                per_address: config.max_connections_per_address,
            }),
            named: Admission::new(AdmissionLimits {
                total: usize::MAX,
                per_address: config.max_connections_per_address,
            }),
            config,
            next_connection: AtomicU64::new(0),
            groups,
        }))
    }

    fn lock(&self) -> MutexGuard<'_, Outstation<H>> {
        // A panic while holding the lock leaves the station as it was; keep serving.
        self.station
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn groups(&self) -> Option<MutexGuard<'_, RedundancyGroups>> {
        self.groups
            .as_ref()
            .map(|g| g.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// How each redundancy group stands (empty without groups).
    pub fn redundancy_status(&self) -> Vec<GroupStatus> {
        self.groups().map(|g| g.status()).unwrap_or_default()
    }

    /// Sends reports to the started connections and keeps them for groups with none started.
    fn publish(&self, reports: Vec<Asdu>) {
        if reports.is_empty() {
            return;
        }
        // Under the groups lock, so a connection that starts sees either the backlog or the broadcast of a
        // publication, never both.
        let groups = self.groups();
        let number = self
            .published
            .fetch_add(1, Ordering::SeqCst)
            .saturating_add(1);
        if let Some(mut groups) = groups {
            groups.report(&reports);
        }
        let _ = self.reports.send((number, reports));
    }

    /// Runs `f` on the station (to read points or reach the application).
    pub fn with_station<R>(&self, f: impl FnOnce(&mut Outstation<H>) -> R) -> R {
        f(&mut self.lock())
    }

    /// Updates a point and reports it spontaneously to every started connection; `None` for an unknown point
    /// or a layout that does not match.
    pub fn update(&self, ioa: u32, elements: Vec<Element>) -> Option<()> {
        let reports = {
            let mut station = self.lock();
            station.database_mut().update(ioa, elements)?;
            std::iter::from_fn(|| station.poll_report()).collect()
        };
        self.publish(reports);
        Some(())
    }

    /// Accepts connections on `listener` until the task is dropped; cyclic reports run alongside.
    pub async fn run(self: Arc<Self>, listener: TcpListener) -> Result<(), Error> {
        self.serve(listener, None).await
    }

    /// As [`Server::run`], with TLS on every connection (feature `tls`; see [`super::tls::server_config`]): a
    /// client that does not complete the handshake with a certificate from the configured trust anchors is
    /// closed before any IEC 104 frame is exchanged.
    #[cfg(feature = "tls")]
    pub async fn run_tls(
        self: Arc<Self>,
        listener: TcpListener,
        tls: Arc<rustls::ServerConfig>,
    ) -> Result<(), Error> {
        self.serve(listener, Some(tokio_rustls::TlsAcceptor::from(tls)))
            .await
    }

    async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        tls: Option<Acceptor>,
    ) -> Result<(), Error> {
        let ticker = tokio::spawn(Arc::clone(&self).cyclic());
        let _ticker = AbortOnDrop(ticker);
        let mut backoff = AcceptBackoff::default();
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => {
                    backoff.reset();
                    accepted
                }
                Err(e) => {
                    // Out of file descriptors (EMFILE), a connection reset before accept, …: the listener
                    // stays; pause so a persistent error does not spin, and keep serving.
                    let pause = backoff.next_pause();
                    log::error!("iec104 server: accept failed: {e}; retrying in {pause:?}");
                    tokio::time::sleep(pause).await;
                    continue;
                }
            };
            let (group, named) = match self.groups() {
                Some(groups) => match groups.group_of(peer.ip()) {
                    Some(g) => (Some(g), groups.names(g, peer.ip())),
                    None => {
                        log::info!("{peer}: refused: not a member of any redundancy group");
                        continue;
                    }
                },
                None => (None, false),
            };
            let admission = if named { &self.named } else { &self.general };
            let permit = match admission.admit(peer.ip()) {
                Ok(permit) => permit,
                Err(why) => {
                    log::warn!("{peer}: refused: {why}");
                    continue;
                }
            };
            let server = Arc::clone(&self);
            let id = self.next_connection.fetch_add(1, Ordering::SeqCst);
            let _ = stream.set_nodelay(true);
            let tls = tls.clone();
            tokio::spawn(async move {
                let _permit = permit;
                let member = Member { id, group, named };
                log::info!("{peer}: connected");
                let ended = match tls {
                    None => server.connection(stream, member).await,
                    #[cfg(feature = "tls")]
                    Some(acceptor) => {
                        let t0 = server.config.link.t0;
                        let refusal = match tokio::time::timeout(t0, acceptor.accept(stream)).await
                        {
                            Ok(Ok(secured)) => {
                                log::info!("{peer}: TLS handshake completed");
                                Ok(server.connection(secured, member).await)
                            }
                            Ok(Err(e)) => Err(super::tls::HandshakeRefusal::classify(&e)),
                            Err(_) => Err(super::tls::HandshakeRefusal::Timeout),
                        };
                        refusal.unwrap_or_else(|why| {
                            log::warn!("{peer}: TLS handshake refused: {why}");
                            Ok(())
                        })
                    }
                    #[cfg(not(feature = "tls"))]
                    Some(never) => match never {},
                };
                if let Err(e) = ended {
                    log::info!("{peer}: closed: {e}");
                }
                server.step_down(member);
            });
        }
    }

    async fn cyclic(self: Arc<Self>) {
        loop {
            let due = self.lock().poll_timeout();
            match due {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => tokio::time::sleep(std::time::Duration::from_secs(1)).await,
            }
            let reports = {
                let mut station = self.lock();
                station.handle_timeout(Instant::now());
                std::iter::from_fn(|| station.poll_report()).collect()
            };
            self.publish(reports);
        }
    }

    /// Whether `member` sends reports now: started, and the active connection of its group if it has one.
    fn reports_to(&self, member: Member, link: &Link) -> bool {
        link.is_started()
            && match (member.group, self.groups()) {
                (Some(group), Some(groups)) => groups.is_active(group, member.id),
                _ => true,
            }
    }

    /// `member` started data transfer: it becomes its group's active connection and sends the backlog. Returns
    /// the last publication the backlog covers.
    fn take_over(&self, member: Member, link: &mut Link) -> Option<u64> {
        let group = member.group?;
        let mut groups = self.groups()?;
        groups
            .started(group, member.id)
            .into_iter()
            .for_each(|a| link.send_asdu(a));
        Some(self.published.load(Ordering::SeqCst))
    }

    /// `member` stopped data transfer: its group has no active connection until another starts.
    fn step_down(&self, member: Member) {
        if let (Some(group), Some(mut groups)) = (member.group, self.groups()) {
            groups.stopped(group, member.id);
        }
    }

    async fn connection(
        &self,
        stream: impl AsyncRead + AsyncWrite + Unpin,
        member: Member,
    ) -> Result<(), Error> {
        let (mut reader, mut writer) = tokio::io::split(stream);
        let mut link = Link::new(Role::Controlled, self.config.link, Instant::now())?;
        let mut reports = self.reports.subscribe();
        let mut buffer = ReceiveBuffer::default();
        let mut chunk = vec![0u8; 8192];
        let mut skip_through = 0u64;
        // A client of no named group must start data transfer in time (once started, the link's timers
        // keep it honest).
        let start_by = (!member.named)
            .then(|| Instant::now().checked_add(self.config.start_timeout))
            .flatten();
        let mut ever_started = false;
        let limit = self.config.max_queued;
        loop {
            flush(&mut link, &self.config.asdu, &mut writer).await?;
            if link.is_closed() {
                return Ok(());
            }
            if link.queued() > limit.saturating_mul(2) {
                return Err(Error::Transport(format!(
                    "{} ASDUs queued behind the k window: the master does not acknowledge",
                    link.queued()
                )));
            }
            let start_deadline = start_by.filter(|_| !ever_started);
            if start_deadline.is_some_and(|at| Instant::now() >= at) {
                return Err(Error::Transport(format!(
                    "data transfer not started within {:?}",
                    self.config.start_timeout
                )));
            }
            let wake = earliest(link.poll_timeout(), start_deadline);
            let sleep = async {
                match wake {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                read = reader.read(&mut chunk) => {
                    let n = read.map_err(|e| Error::Transport(e.to_string()))?;
                    if n == 0 {
                        return Ok(());
                    }
                    buffer.extend(chunk.get(..n).unwrap_or_default());
                    while let Some(apdu) = buffer.next(&self.config.asdu)? {
                        let now = Instant::now();
                        link.handle_apdu(apdu, now);
                        while let Some(event) = link.poll_event() {
                            match event {
                                Event::Asdu(asdu) if link.queued() >= limit => {
                                    // Busy: the answers would pile up behind the k window.
                                    link.send_asdu(crate::station::negative_confirmation(&asdu));
                                }
                                Event::Asdu(asdu) => {
                                    let answers = self.lock().handle_asdu(&asdu, now);
                                    answers.into_iter().for_each(|a| link.send_asdu(a));
                                }
                                Event::Closed(_) => return Ok(()),
                                Event::Started => {
                                    ever_started = true;
                                    if let Some(through) = self.take_over(member, &mut link) {
                                        skip_through = through;
                                    }
                                }
                                Event::Stopped => self.step_down(member),
                            }
                        }
                    }
                }
                () = sleep => link.handle_timeout(Instant::now()),
                report = reports.recv() => {
                    if let Ok((number, asdus)) = report
                        && number > skip_through
                        && self.reports_to(member, &link)
                    {
                        asdus.into_iter().for_each(|a| link.send_asdu(a));
                    }
                }
            }
        }
    }
}

/// Aborts the task when dropped: the cyclic reports end with the accept loop.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A connection's identity and redundancy group.
#[derive(Debug, Clone, Copy)]
struct Member {
    id: u64,
    group: Option<usize>,
    /// Whether its group names its address (a configured master).
    named: bool,
}

/// The TLS acceptor when the feature is on; an uninhabited type otherwise.
#[cfg(feature = "tls")]
type Acceptor = tokio_rustls::TlsAcceptor;
#[cfg(not(feature = "tls"))]
#[derive(Clone)]
enum Acceptor {}
