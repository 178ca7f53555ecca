//! Serving a [`Server`] core over tokio: Modbus TCP connections, and RTU over any byte stream with frames
//! delimited by their length and by the inter-frame silence.

use crate::Error;
use crate::frame::{Request, RtuFrame};
use crate::server::{Handled, Registers, Server, be16};
use idea_proto::admission::{AcceptBackoff, Admission, AdmissionLimits};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A server core shared by every connection.
pub type Shared<R> = Arc<Mutex<Server<R>>>;

/// How often the registers' behaviour runs between requests.
const TICK_EVERY: Duration = Duration::from_millis(50);

/// Largest MBAP ADU: 7-byte header and a 253-byte PDU.
const MAX_TCP_ADU: usize = 260;

/// What a Modbus TCP server holds and how long it waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpLimits {
    /// Connections at once, and from one client address (Modbus Messaging on TCP/IP 4.2.1 leaves the
    /// number to the server).
    pub admission: AdmissionLimits,
    /// A connection that sends no request for this long is closed.
    pub idle_timeout: Duration,
    /// A request that has begun must be complete within this (a trickling client is closed).
    pub frame_timeout: Duration,
}

impl Default for TcpLimits {
    /// 64 connections, 16 from one address, closed after 5 minutes without a request or 5 seconds into an
    /// incomplete one.
    fn default() -> TcpLimits {
        TcpLimits {
            admission: AdmissionLimits {
                total: 64,
                per_address: 16,
            },
            idle_timeout: Duration::from_secs(300),
            frame_timeout: Duration::from_secs(5),
        }
    }
}

/// Serves Modbus TCP on `listener` until the task is dropped, with the default [`TcpLimits`]: one task per
/// connection, and one that lets time pass for the registers.
///
/// # Errors
/// None in practice: a failed accept (out of file descriptors, a reset) is logged and retried after a
/// pause; the listener never stops on its own.
pub async fn serve_tcp<R: Registers + Send + 'static>(
    listener: TcpListener,
    server: Shared<R>,
) -> Result<(), Error> {
    serve_tcp_with(listener, server, TcpLimits::default()).await
}

/// As [`serve_tcp`], with `limits`. A connection over the limits is closed at accept; one that sends
/// something other than Modbus TCP (a protocol id other than 0, a length out of range) is closed.
///
/// # Errors
/// None in practice (see [`serve_tcp`]).
pub async fn serve_tcp_with<R: Registers + Send + 'static>(
    listener: TcpListener,
    server: Shared<R>,
    limits: TcpLimits,
) -> Result<(), Error> {
    let wake = Arc::new(TickerWake::default());
    let ticker = tokio::spawn(tick(Arc::clone(&server), Arc::clone(&wake)));
    let _ticker = AbortOnDrop(ticker);
    let admission = Admission::new(limits.admission);
    let mut backoff = AcceptBackoff::default();
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => {
                backoff.reset();
                accepted
            }
            Err(e) => {
                let pause = backoff.next_pause();
                log::error!("modbus server: accept failed: {e}; retrying in {pause:?}");
                tokio::time::sleep(pause).await;
                continue;
            }
        };
        let permit = match admission.admit(peer.ip()) {
            Ok(permit) => permit,
            Err(why) => {
                log::warn!("{peer}: refused: {why}");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let server = Arc::clone(&server);
        let wake = Arc::clone(&wake);
        tokio::spawn(async move {
            let _permit = permit;
            if let Err(why) = connection(stream, server, limits, &wake).await {
                log::info!("{peer}: closed: {why}");
            }
        });
    }
}

/// Aborts the task when dropped: the registers' clock stops with the listener.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How a connection wakes the ticker that went quiet.
#[derive(Debug, Default)]
struct TickerWake {
    /// Set (under the server's lock) while the registers asked for no tick.
    quiet: AtomicBool,
    notify: tokio::sync::Notify,
}

impl TickerWake {
    /// After a request, under the server's lock: wakes the ticker if it is quiet and the registers now want
    /// ticks (a write armed a reversion timer).
    fn after_request<R: Registers>(&self, registers: &R) {
        if self.quiet.load(Ordering::Relaxed) && registers.poll_timeout(Instant::now()).is_some() {
            self.quiet.store(false, Ordering::Relaxed);
            self.notify.notify_one();
        }
    }
}

/// Ticks the registers every [`TICK_EVERY`] while they have behaviour over time
/// ([`Registers::poll_timeout`]), and sleeps while they have none until a request gives them some.
async fn tick<R: Registers>(server: Shared<R>, wake: Arc<TickerWake>) {
    let mut interval = tokio::time::interval(TICK_EVERY);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let quiet = {
            let mut core = server.lock().unwrap_or_else(PoisonError::into_inner);
            let now = Instant::now();
            core.registers_mut().tick(now);
            let quiet = core.registers().poll_timeout(now).is_none();
            // Under the lock, so a request handled after this sees it and wakes the ticker.
            wake.quiet.store(quiet, Ordering::Relaxed);
            quiet
        };
        if quiet {
            wake.notify.notified().await;
            interval.reset();
        }
    }
}

/// Serves one connection until the client closes it, breaks the protocol or times out; returns why it ended
/// early.
async fn connection<R: Registers>(
    mut stream: TcpStream,
    server: Shared<R>,
    limits: TcpLimits,
    wake: &TickerWake,
) -> Result<(), String> {
    let mut buffer = Vec::with_capacity(1024);
    let mut out = Vec::with_capacity(MAX_TCP_ADU);
    let mut replies = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    let mut frame_started: Option<tokio::time::Instant> = None;
    loop {
        let wait = match frame_started {
            Some(at) => limits.frame_timeout.saturating_sub(at.elapsed()),
            None => limits.idle_timeout,
        };
        let n = match tokio::time::timeout(wait, stream.read(&mut chunk)).await {
            Ok(Ok(0)) => return Ok(()),
            Ok(Ok(n)) => n,
            Ok(Err(e)) => return Err(e.to_string()),
            Err(_) if frame_started.is_some() => {
                return Err(format!(
                    "a request not completed within {:?}",
                    limits.frame_timeout
                ));
            }
            Err(_) => return Err(format!("no request for {:?}", limits.idle_timeout)),
        };
        buffer.extend_from_slice(chunk.get(..n).unwrap_or_default());
        replies.clear();
        let mut completed = 0usize;
        {
            let mut core = server.lock().unwrap_or_else(PoisonError::into_inner);
            core.registers_mut().tick(Instant::now());
            // Every complete ADU in the buffer, in order (clients may pipeline).
            loop {
                if buffer.len() >= 4 && be16(&buffer, 2) != 0 {
                    return Err(format!("protocol id {}, not 0 (Modbus)", be16(&buffer, 2)));
                }
                if buffer.len() < 6 {
                    break;
                }
                let declared = usize::from(be16(&buffer, 4));
                let total = declared.saturating_add(6);
                if declared < 2 || total > MAX_TCP_ADU {
                    return Err(format!("an MBAP length of {declared}: not Modbus TCP"));
                }
                let Some(adu) = buffer.get(..total) else {
                    break;
                };
                if core.handle_tcp(adu, &mut out) == Handled::Reply {
                    replies.extend_from_slice(&out);
                }
                buffer.drain(..total);
                completed = completed.saturating_add(1);
            }
            if completed > 0 {
                wake.after_request(core.registers());
            }
        }
        // The clock of an incomplete request starts with its first byte.
        frame_started = match (buffer.is_empty(), frame_started) {
            (true, _) => None,
            (false, Some(at)) if completed == 0 => Some(at),
            (false, _) => Some(tokio::time::Instant::now()),
        };
        if !replies.is_empty() {
            stream
                .write_all(&replies)
                .await
                .map_err(|e| e.to_string())?;
        }
    }
}

/// Serves Modbus RTU on a byte stream (a serial port, or RTU over TCP): a frame ends when its length
/// (from the function code) is reached, or at `gap` of silence (3.5 character times on a serial line,
/// [`frame_gap`](crate::frame::frame_gap)); frames for other units and broken frames get no answer.
///
/// # Errors
/// [`Error::Transport`] when the stream fails.
pub async fn serve_rtu<S, R>(mut stream: S, server: Shared<R>, gap: Duration) -> Result<(), Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    R: Registers,
{
    let mut buffer: Vec<u8> = Vec::with_capacity(512);
    let mut out = Vec::with_capacity(256);
    let mut chunk = [0u8; 512];
    loop {
        let read = if buffer.is_empty() {
            Ok(stream.read(&mut chunk).await)
        } else {
            tokio::time::timeout(gap, stream.read(&mut chunk)).await
        };
        let silence = match read {
            Ok(Ok(0)) => return Ok(()),
            Ok(Ok(n)) => {
                buffer.extend_from_slice(chunk.get(..n).unwrap_or_default());
                false
            }
            Ok(Err(e)) => return Err(Error::Transport(e.to_string())),
            Err(_) => true,
        };
        loop {
            let frame_len = match RtuFrame::<Request>::decode(&buffer) {
                Ok((_, used)) => Some(used),
                Err(Error::Incomplete { .. }) if !silence => None,
                // Broken, unknown or cut short by silence: the whole buffer is one frame.
                _ if silence || buffer.len() >= 256 => Some(buffer.len()),
                _ => None,
            };
            let Some(len) = frame_len.filter(|l| *l > 0) else {
                break;
            };
            let reply = {
                let mut core = server.lock().unwrap_or_else(PoisonError::into_inner);
                core.registers_mut().tick(Instant::now());
                core.handle_rtu(buffer.get(..len).unwrap_or_default(), &mut out)
            };
            buffer.drain(..len.min(buffer.len()));
            if reply == Handled::Reply {
                stream
                    .write_all(&out)
                    .await
                    .map_err(|e| Error::Transport(e.to_string()))?;
            }
            if buffer.is_empty() {
                break;
            }
        }
    }
}
