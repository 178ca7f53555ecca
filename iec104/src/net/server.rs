//! The controlled station (server): one [`Outstation`] shared by every connection, each with its own link.

use super::framing::{ReceiveBuffer, earliest, flush};
use crate::asdu::{Asdu, AsduParams};
use crate::element::Element;
use crate::error::Error;
use crate::link::{Event, Link, LinkParams, Role};
use crate::station::{CommandHandler, Outstation};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;

/// Server settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerConfig {
    /// Link parameters of every connection.
    pub link: LinkParams,
    /// ASDU field sizes.
    pub asdu: AsduParams,
    /// Most connections served at once (further ones are closed at accept).
    pub max_connections: usize,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            link: LinkParams::default(),
            asdu: AsduParams::IEC104,
            max_connections: 8,
        }
    }
}

/// A controlled station serving clients over TCP.
pub struct Server<H: CommandHandler + Send + 'static> {
    station: Mutex<Outstation<H>>,
    reports: broadcast::Sender<Vec<Asdu>>,
    config: ServerConfig,
    connections: std::sync::atomic::AtomicUsize,
}

impl<H: CommandHandler + Send + 'static> Server<H> {
    /// A server around a station.
    pub fn new(station: Outstation<H>, config: ServerConfig) -> Result<Arc<Server<H>>, Error> {
        config.link.validate()?;
        config.asdu.validate()?;
        let (reports, _) = broadcast::channel(1024);
        Ok(Arc::new(Server {
            station: Mutex::new(station),
            reports,
            config,
            connections: Default::default(),
        }))
    }

    fn lock(&self) -> MutexGuard<'_, Outstation<H>> {
        // A panic while holding the lock leaves the station as it was; keep serving.
        self.station
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
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
            station.poll_spontaneous()
        };
        let _ = self.reports.send(reports);
        Some(())
    }

    /// Accepts connections on `listener` until the task is dropped; cyclic reports run alongside.
    pub async fn run(self: Arc<Self>, listener: TcpListener) -> Result<(), Error> {
        let ticker = tokio::spawn(Arc::clone(&self).cyclic());
        let result = loop {
            let (stream, _) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => break Err(Error::Transport(e.to_string())),
            };
            let active = self
                .connections
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if active >= self.config.max_connections {
                self.connections
                    .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                drop(stream);
                continue;
            }
            let server = Arc::clone(&self);
            tokio::spawn(async move {
                let _ = server.connection(stream).await;
                server
                    .connections
                    .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            });
        };
        ticker.abort();
        result
    }

    async fn cyclic(self: Arc<Self>) {
        loop {
            let due = self.lock().poll_timeout();
            match due {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => tokio::time::sleep(std::time::Duration::from_secs(1)).await,
            }
            let reports = self.lock().handle_timeout(Instant::now());
            if !reports.is_empty() {
                let _ = self.reports.send(reports);
            }
        }
    }

    async fn connection(&self, stream: TcpStream) -> Result<(), Error> {
        let _ = stream.set_nodelay(true);
        let (mut reader, mut writer) = stream.into_split();
        let mut link = Link::new(Role::Controlled, self.config.link, Instant::now())?;
        let mut reports = self.reports.subscribe();
        let mut buffer = ReceiveBuffer::default();
        let mut chunk = vec![0u8; 8192];
        loop {
            flush(&mut link, &self.config.asdu, &mut writer).await?;
            if link.is_closed() {
                return Ok(());
            }
            let wake = earliest(link.poll_timeout(), None);
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
                                Event::Asdu(asdu) => {
                                    let answers = self.lock().handle_asdu(&asdu, now);
                                    answers.into_iter().for_each(|a| link.send_asdu(a));
                                }
                                Event::Closed(_) => return Ok(()),
                                Event::Started | Event::Stopped => {}
                            }
                        }
                    }
                }
                () = sleep => link.handle_timeout(Instant::now()),
                report = reports.recv() => {
                    if let Ok(asdus) = report
                        && link.is_started()
                    {
                        asdus.into_iter().for_each(|a| link.send_asdu(a));
                    }
                }
            }
        }
    }
}
