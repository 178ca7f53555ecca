//! Serving a [`Server`] core over tokio: Modbus TCP connections, and RTU over any byte stream with frames
//! delimited by their length and by the inter-frame silence.

use crate::Error;
use crate::frame::{Request, RtuFrame};
use crate::server::{Handled, Registers, Server, be16};
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

/// Serves Modbus TCP on `listener` until the task is dropped: one task per connection, and one that lets
/// time pass for the registers.
///
/// # Errors
/// [`Error::Transport`] when accepting fails.
pub async fn serve_tcp<R: Registers + Send + 'static>(
    listener: TcpListener,
    server: Shared<R>,
) -> Result<(), Error> {
    let ticker = tokio::spawn(tick(Arc::clone(&server)));
    let result = loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => break Err(Error::Transport(e.to_string())),
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(stream, Arc::clone(&server)));
    };
    ticker.abort();
    result
}

async fn tick<R: Registers>(server: Shared<R>) {
    let mut interval = tokio::time::interval(TICK_EVERY);
    loop {
        interval.tick().await;
        server
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .registers_mut()
            .tick(Instant::now());
    }
}

async fn connection<R: Registers>(mut stream: TcpStream, server: Shared<R>) {
    let mut buffer = Vec::with_capacity(1024);
    let mut out = Vec::with_capacity(MAX_TCP_ADU);
    let mut replies = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        let n = match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        buffer.extend_from_slice(chunk.get(..n).unwrap_or_default());
        replies.clear();
        {
            let mut core = server.lock().unwrap_or_else(PoisonError::into_inner);
            core.registers_mut().tick(Instant::now());
            // Every complete ADU in the buffer, in order (clients may pipeline).
            loop {
                if buffer.len() < 6 {
                    break;
                }
                let declared = usize::from(be16(&buffer, 4));
                let total = declared.saturating_add(6);
                if declared < 2 || total > MAX_TCP_ADU {
                    // Not Modbus TCP: close.
                    return;
                }
                let Some(adu) = buffer.get(..total) else {
                    break;
                };
                if core.handle_tcp(adu, &mut out) == Handled::Reply {
                    replies.extend_from_slice(&out);
                }
                buffer.drain(..total);
            }
        }
        if !replies.is_empty() && stream.write_all(&replies).await.is_err() {
            return;
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
