//! A Modbus client over tokio: TCP (MBAP) or RTU framing over any byte stream (a serial port, or RTU over
//! TCP). One request at a time, each with its timeout — or, over Modbus TCP, several in flight at once
//! ([`Client::pipeline`], each matched to its answer by transaction id); a late answer carrying a stale
//! transaction id is discarded, never matched to a later request; RTU answers from other units, or naming
//! another function than the request's, are ignored. Over RTU the client keeps the line silent for the
//! inter-frame gap before each request ([`Client::set_frame_gap`]).

use crate::Error;
use crate::frame::{ExceptionCode, MbapHeader, Request, Response, RtuFrame, TcpFrame};
use crate::sunspec::{Catalog, Device, Model, ReadFailure, Scanner};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout_at};

/// How requests are framed on the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Modbus TCP: MBAP header with transaction ids.
    Tcp,
    /// Modbus RTU: unit id and CRC-16 (serial lines, or RTU carried over TCP).
    Rtu,
}

/// The most requests [`Client::pipeline`] sends at once: few enough that no transaction id of a group can be
/// mistaken for one of the group before it.
pub const MAX_PIPELINE: usize = 1024;

/// The answer to a request: the response, or the exception the device answered with.
pub type Answer<T> = Result<T, ExceptionCode>;

/// A Modbus client.
#[derive(Debug)]
pub struct Client<S> {
    stream: S,
    framing: Framing,
    unit: u8,
    timeout: Duration,
    transaction: u16,
    /// RTU: the function code of the request waiting for its answer (RTU frames carry no transaction id).
    function: u8,
    /// RTU: the silence kept before sending, since the last bytes heard.
    frame_gap: Duration,
    /// RTU: when bytes last arrived.
    heard: Option<Instant>,
    buffer: Vec<u8>,
    out: Vec<u8>,
    discarded: u64,
}

impl Client<TcpStream> {
    /// Connects to a Modbus TCP server.
    ///
    /// # Errors
    /// [`Error::Transport`] when the connection fails.
    pub async fn connect(address: &str, unit: u8) -> Result<Self, Error> {
        let stream = TcpStream::connect(address)
            .await
            .map_err(|e| Error::Transport(format!("{address}: {e}")))?;
        let _ = stream.set_nodelay(true);
        Ok(Self::new(stream, Framing::Tcp, unit))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    /// A client over an open stream.
    pub fn new(stream: S, framing: Framing, unit: u8) -> Self {
        Self {
            stream,
            framing,
            unit,
            timeout: Duration::from_secs(1),
            transaction: 0,
            function: 0,
            frame_gap: Duration::ZERO,
            heard: None,
            buffer: Vec::with_capacity(512),
            out: Vec::with_capacity(260),
            discarded: 0,
        }
    }

    /// Sets the per-request timeout (1 s by default).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// Sets the silence kept on an RTU line between the last bytes heard and the next request: 3.5
    /// character times ([`frame_gap`](crate::frame::frame_gap) of the baud rate; Modbus over Serial Line
    /// 2.5.1.1). None by default (a byte stream that is not a serial line needs none); serial clients
    /// opened with `Client::open_serial` (feature `serial`) set it from the line's baud rate.
    pub fn set_frame_gap(&mut self, gap: Duration) {
        self.frame_gap = gap;
    }

    /// Answers discarded so far: stale transaction ids, other units, broken frames.
    pub fn discarded(&self) -> u64 {
        self.discarded
    }

    /// Sends one request and waits for its answer; a Modbus exception is a [`Response::Exception`].
    ///
    /// # Errors
    /// [`Error::Timeout`] when no answer comes in time, [`Error::Transport`] when the stream fails.
    pub async fn request(&mut self, request: &Request) -> Result<Response, Error> {
        self.out.clear();
        match self.framing {
            Framing::Tcp => self.push_tcp(request)?,
            Framing::Rtu => {
                self.transaction = self.transaction.wrapping_add(1);
                self.function = request.function();
                RtuFrame {
                    unit: self.unit,
                    pdu: request.clone(),
                }
                .encode(&mut self.out)?;
            }
        }
        let deadline = self.send().await?;
        loop {
            if let Some(response) = self.take_answer() {
                return Ok(response);
            }
            self.receive(deadline).await?;
        }
    }

    /// Appends `request` to `out` as a Modbus TCP frame with the next transaction id.
    fn push_tcp(&mut self, request: &Request) -> Result<(), Error> {
        self.transaction = self.transaction.wrapping_add(1);
        TcpFrame {
            header: MbapHeader {
                transaction: self.transaction,
                unit: self.unit,
            },
            pdu: request.clone(),
        }
        .encode(&mut self.out)
    }

    /// Sends what is encoded in `out`, after dropping whatever arrived before (it answers older requests);
    /// returns the deadline for the answers.
    async fn send(&mut self) -> Result<Instant, Error> {
        self.drain_stale();
        if self.framing == Framing::Rtu {
            self.wait_for_silence().await?;
        }
        self.stream
            .write_all(&self.out)
            .await
            .map_err(|e| Error::Transport(e.to_string()))?;
        let now = Instant::now();
        Ok(now.checked_add(self.timeout).unwrap_or(now))
    }

    /// RTU: waits until the line has been silent for the frame gap since the last bytes heard, dropping
    /// what comes meanwhile (the late answer to a request that timed out would otherwise be taken for the
    /// answer to the next one: RTU frames carry no transaction id).
    async fn wait_for_silence(&mut self) -> Result<(), Error> {
        let mut chunk = [0u8; 256];
        while let Some(quiet) = self.heard.and_then(|t| t.checked_add(self.frame_gap)) {
            match timeout_at(quiet, self.stream.read(&mut chunk)).await {
                Err(_) => break,
                Ok(Ok(0)) => return Err(Error::Transport("connection closed".into())),
                Ok(Ok(_)) => {
                    self.discarded = self.discarded.saturating_add(1);
                    self.heard = Some(Instant::now());
                }
                Ok(Err(e)) => return Err(Error::Transport(e.to_string())),
            }
        }
        Ok(())
    }

    /// Reads what arrives into the buffer, by `deadline`.
    async fn receive(&mut self, deadline: Instant) -> Result<(), Error> {
        let mut chunk = [0u8; 4096];
        match timeout_at(deadline, self.stream.read(&mut chunk)).await {
            Err(_) => {
                // The answer may still come: drop what is buffered so it is not taken for the next one,
                // and (RTU) keep a frame gap of silence from now before the next request.
                self.buffer.clear();
                self.heard = Some(Instant::now());
                Err(Error::Timeout(self.timeout))
            }
            Ok(Err(e)) => Err(Error::Transport(e.to_string())),
            Ok(Ok(0)) => Err(Error::Transport("connection closed".into())),
            Ok(Ok(n)) => {
                self.buffer
                    .extend_from_slice(chunk.get(..n).unwrap_or_default());
                self.heard = Some(Instant::now());
                Ok(())
            }
        }
    }

    /// Broadcasts a write to every device on an RTU line (unit 0; Modbus over Serial Line 2.1: devices apply
    /// it and do not answer), then keeps the line quiet for `turnaround` so the devices can process it
    /// before the next request (typically 100–200 ms).
    ///
    /// # Errors
    /// [`Error::Invalid`] over Modbus TCP or for a request that does not write (functions 5, 6, 15 and 16
    /// are broadcast); [`Error::Transport`] when the stream fails.
    #[doc(alias = "broadcast address 0")]
    pub async fn broadcast(
        &mut self,
        request: &Request,
        turnaround: Duration,
    ) -> Result<(), Error> {
        if self.framing != Framing::Rtu {
            return Err(Error::Invalid {
                field: "framing",
                reason: "broadcasts are sent on RTU lines".into(),
            });
        }
        if !matches!(request.function(), 0x05 | 0x06 | 0x0f | 0x10) {
            return Err(Error::Invalid {
                field: "request",
                reason: format!(
                    "function {} is not a write: only writes are broadcast",
                    request.function()
                ),
            });
        }
        self.out.clear();
        RtuFrame {
            unit: 0,
            pdu: request.clone(),
        }
        .encode(&mut self.out)?;
        self.send().await?;
        tokio::time::sleep(turnaround).await;
        // The next request waits a frame gap more, dropping whatever a device said meanwhile.
        self.heard = Some(Instant::now());
        Ok(())
    }

    /// Sends `requests` back to back over Modbus TCP, each with its own transaction id, and returns their
    /// answers in request order (Modbus Messaging on TCP/IP, 4.2: a client may have several transactions
    /// outstanding; the server answers each). Answers are matched by transaction id, so the server may
    /// answer in any order; one timeout covers the whole group. At most [`MAX_PIPELINE`] requests.
    ///
    /// # Errors
    /// [`Error::Invalid`] over RTU framing (a serial line has one transaction at a time) or for more than
    /// [`MAX_PIPELINE`] requests; [`Error::Timeout`] when not every answer comes in time (the ones that
    /// come later are discarded); [`Error::Transport`] when the stream fails.
    pub async fn pipeline(&mut self, requests: &[Request]) -> Result<Vec<Response>, Error> {
        if self.framing != Framing::Tcp {
            return Err(Error::Invalid {
                field: "framing",
                reason: "only Modbus TCP carries several transactions at once".into(),
            });
        }
        if requests.len() > MAX_PIPELINE {
            return Err(Error::Invalid {
                field: "requests",
                reason: format!("{} in one group; at most {MAX_PIPELINE}", requests.len()),
            });
        }
        self.out.clear();
        let first = self.transaction.wrapping_add(1);
        for request in requests {
            self.push_tcp(request)?;
        }
        let deadline = self.send().await?;
        let mut answers: Vec<Option<Response>> = vec![None; requests.len()];
        let mut missing = requests.len();
        loop {
            missing = missing.saturating_sub(self.take_answers(first, &mut answers));
            if missing == 0 {
                break;
            }
            self.receive(deadline).await?;
        }
        Ok(answers.into_iter().flatten().collect())
    }

    /// Takes every complete frame from the buffer into its slot of `answers` (the slot of transaction id
    /// `first + i` is `i`); frames for no empty slot are discarded. Returns how many slots it filled.
    fn take_answers(&mut self, first: u16, answers: &mut [Option<Response>]) -> usize {
        let mut filled = 0usize;
        loop {
            match TcpFrame::<Response>::decode(&self.buffer) {
                Ok((frame, used)) => {
                    self.buffer.drain(..used.min(self.buffer.len()));
                    let slot = usize::from(frame.header.transaction.wrapping_sub(first));
                    match answers.get_mut(slot) {
                        Some(answer @ None) if frame.header.unit == self.unit => {
                            *answer = Some(frame.pdu);
                            filled = filled.saturating_add(1);
                        }
                        _ => self.discarded = self.discarded.saturating_add(1),
                    }
                }
                Err(Error::Incomplete { .. }) => return filled,
                Err(_) => {
                    // Not a frame we can follow: resynchronise on the next bytes.
                    self.discarded = self.discarded.saturating_add(1);
                    self.buffer.clear();
                    return filled;
                }
            }
        }
    }

    fn drain_stale(&mut self) {
        if !self.buffer.is_empty() {
            self.discarded = self.discarded.saturating_add(1);
            self.buffer.clear();
        }
    }

    /// The answer to the current request if the buffer holds it; frames answering others are dropped.
    fn take_answer(&mut self) -> Option<Response> {
        loop {
            // The frame, whether it answers the current request, and its length.
            let decoded = match self.framing {
                Framing::Tcp => TcpFrame::<Response>::decode(&self.buffer).map(|(frame, used)| {
                    let ours = frame.header.transaction == self.transaction
                        && frame.header.unit == self.unit;
                    (frame.pdu, ours, used)
                }),
                Framing::Rtu => RtuFrame::<Response>::decode(&self.buffer).map(|(frame, used)| {
                    // An exception carries the request's function with the 0x80 bit.
                    let ours =
                        frame.unit == self.unit && frame.pdu.function() & 0x7f == self.function;
                    (frame.pdu, ours, used)
                }),
            };
            match decoded {
                Ok((pdu, ours, used)) => {
                    self.buffer.drain(..used.min(self.buffer.len()));
                    if ours {
                        return Some(pdu);
                    }
                    self.discarded = self.discarded.saturating_add(1);
                }
                Err(Error::Incomplete { .. }) => return None,
                Err(_) => {
                    // Not a frame we can follow: resynchronise on the next bytes.
                    self.discarded = self.discarded.saturating_add(1);
                    self.buffer.clear();
                    return None;
                }
            }
        }
    }

    /// Reads holding registers (function 3).
    ///
    /// # Errors
    /// As [`request`](Self::request), and [`Error::Unexpected`] for an answer of the wrong kind or size.
    pub async fn read_holding_registers(
        &mut self,
        address: u16,
        count: u16,
    ) -> Result<Answer<Vec<u16>>, Error> {
        match self
            .request(&Request::ReadHoldingRegisters { address, count })
            .await?
        {
            Response::ReadHoldingRegisters(values) if values.len() == usize::from(count) => {
                Ok(Ok(values))
            }
            Response::Exception { code, .. } => Ok(Err(code)),
            other => Err(Error::Unexpected(format!(
                "{other:?} to a read of {count} at {address}"
            ))),
        }
    }

    /// Writes holding registers (function 16).
    ///
    /// # Errors
    /// As [`request`](Self::request), and [`Error::Unexpected`] for an answer of the wrong kind.
    pub async fn write_multiple_registers(
        &mut self,
        address: u16,
        values: &[u16],
    ) -> Result<Answer<()>, Error> {
        let request = Request::WriteMultipleRegisters {
            address,
            values: values.to_vec(),
        };
        match self.request(&request).await? {
            Response::WriteMultipleRegisters { address: a, count }
                if a == address && usize::from(count) == values.len() =>
            {
                Ok(Ok(()))
            }
            Response::Exception { code, .. } => Ok(Err(code)),
            other => Err(Error::Unexpected(format!(
                "{other:?} to a write of {} at {address}",
                values.len()
            ))),
        }
    }

    /// Scans the device's SunSpec map with `catalog`.
    ///
    /// # Errors
    /// [`Error::Invalid`] when no SunSpec map is found; transport errors other than timeouts.
    pub async fn scan(&mut self, catalog: Catalog) -> Result<Device, Error> {
        let mut scanner = Scanner::new(catalog);
        while let Some(read) = scanner.poll_read() {
            match self.read_holding_registers(read.address, read.count).await {
                Ok(Ok(values)) => scanner.handle_registers(&values)?,
                Ok(Err(code)) => scanner.handle_failure(&ReadFailure::Exception(code)),
                Err(Error::Timeout(t)) => {
                    scanner.handle_failure(&ReadFailure::NoAnswer(format!("no answer in {t:?}")))
                }
                Err(e) => return Err(e),
            }
        }
        scanner.finish()
    }

    /// Sends the writes `model` has pending ([`Model::set`]) — a `sync` group in one request — then reads
    /// each range back and checks the device holds what was written.
    ///
    /// # Errors
    /// [`Error::ReadBack`] when the device holds other values; [`Error::Unexpected`] carrying the exception
    /// when the device refuses a write.
    pub async fn write_verified(&mut self, model: &mut Model) -> Result<(), Error> {
        for write in model.take_writes() {
            if let Err(code) = self
                .write_multiple_registers(write.address, &write.registers)
                .await?
            {
                return Err(Error::Unexpected(format!(
                    "exception {code:?} writing {} at {}",
                    write.registers.len(),
                    write.address
                )));
            }
            let count = u16::try_from(write.registers.len()).unwrap_or(u16::MAX);
            match self.read_holding_registers(write.address, count).await? {
                Ok(read) if read == write.registers => {}
                Ok(read) => {
                    return Err(Error::ReadBack {
                        address: write.address,
                        written: write.registers,
                        read,
                    });
                }
                Err(code) => {
                    return Err(Error::Unexpected(format!(
                        "exception {code:?} reading back {}",
                        write.address
                    )));
                }
            }
        }
        Ok(())
    }
}
