//! The runner's end of a Modbus TCP connection (the client, Modbus Messaging on TCP/IP v1.0b): requests with
//! their transaction ids, answers within the PICS' timeout, every frame in the case's trace.

use crate::pics::Pics;
use crate::trace::{Direction, Trace};
use modbus_profiles::frame::{Pdu, Request, Response, TcpFrame};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// What a request came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The device's response (an exception is a response).
    Response(Response),
    /// Nothing within the timeout.
    Timeout,
    /// The device closed the connection.
    Closed,
    /// Bytes that are not a Modbus TCP frame, or one for another transaction (the reason).
    Malformed(String),
}

/// One connection to the Modbus device under test.
pub struct Session {
    stream: TcpStream,
    trace: Trace,
    unit: u8,
    transaction: u16,
    rx: Vec<u8>,
    /// How long to wait for an answer.
    pub timeout: Duration,
}

fn summary_request(r: &Request) -> String {
    match r {
        Request::ReadHoldingRegisters { address, count } => {
            format!("read holding {address} ×{count}")
        }
        Request::ReadInputRegisters { address, count } => format!("read input {address} ×{count}"),
        Request::WriteMultipleRegisters { address, values } => {
            format!("write {address} ×{}", values.len())
        }
        other => format!("function {:#04x}", other.function()),
    }
}

fn summary_response(r: &Response) -> String {
    match r {
        Response::ReadHoldingRegisters(v) | Response::ReadInputRegisters(v) => {
            format!("{} registers", v.len())
        }
        Response::WriteMultipleRegisters { address, count } => format!("wrote {address} ×{count}"),
        Response::Exception { function, code } => {
            format!(
                "exception {} ({}) to function {function:#04x}",
                code.code(),
                code.name()
            )
        }
        other => format!("function {:#04x}", other.function()),
    }
}

impl Session {
    /// Connects to `target` as the PICS' unit.
    pub fn connect(target: &str, pics: &Pics) -> Result<Session, String> {
        let m = pics.modbus.clone().unwrap_or_default();
        let stream = super::super::connect(target)?;
        let mut trace = Trace::new();
        if let (Ok(local), Ok(peer)) = (stream.local_addr(), stream.peer_addr()) {
            trace.set_endpoints(local, peer);
        }
        trace.record(Direction::Note, &[], format!("connected to {target}"));
        Ok(Session {
            stream,
            trace,
            unit: m.unit.unwrap_or(1),
            transaction: 0,
            rx: Vec::new(),
            timeout: Duration::try_from_secs_f64(m.timeout_s.unwrap_or(2.0))
                .unwrap_or(Duration::from_secs(2)),
        })
    }

    /// Sends `request` and waits for its answer.
    pub fn request(&mut self, request: Request) -> Answer {
        let mut pdu = Vec::new();
        if let Err(e) = request.encode_pdu(&mut pdu) {
            return Answer::Malformed(format!("the runner could not encode its request: {e}"));
        }
        self.exchange(&pdu, &summary_request(&request))
    }

    /// Sends a PDU as given — one the codec would refuse to make, such as a read of 126 registers — in a
    /// Modbus TCP frame, and waits for its answer.
    pub fn request_raw(&mut self, pdu: &[u8], what: &str) -> Answer {
        self.exchange(pdu, what)
    }

    fn exchange(&mut self, pdu: &[u8], what: &str) -> Answer {
        self.transaction = self.transaction.wrapping_add(1);
        let length = u16::try_from(pdu.len().saturating_add(1)).unwrap_or(u16::MAX);
        let mut wire = Vec::with_capacity(pdu.len().saturating_add(7));
        wire.extend_from_slice(&self.transaction.to_be_bytes());
        wire.extend_from_slice(&[0, 0]);
        wire.extend_from_slice(&length.to_be_bytes());
        wire.push(self.unit);
        wire.extend_from_slice(pdu);
        self.trace.record(Direction::Sent, &wire, what);
        if self.stream.write_all(&wire).is_err() {
            return Answer::Closed;
        }
        let started = Instant::now();
        loop {
            match TcpFrame::<Response>::decode(&self.rx) {
                Ok((answer, used)) => {
                    let bytes: Vec<u8> = self.rx.drain(..used).collect();
                    self.trace
                        .record(Direction::Received, &bytes, summary_response(&answer.pdu));
                    if answer.header.transaction != self.transaction {
                        return Answer::Malformed(format!(
                            "an answer to transaction {} where {} was asked",
                            answer.header.transaction, self.transaction
                        ));
                    }
                    // Modbus TCP: the server echoes the request's unit identifier.
                    if answer.header.unit != self.unit {
                        return Answer::Malformed(format!(
                            "an answer from unit {} where unit {} was asked",
                            answer.header.unit, self.unit
                        ));
                    }
                    return Answer::Response(answer.pdu);
                }
                Err(modbus_profiles::Error::Incomplete { .. }) => {}
                Err(e) => {
                    let bytes = std::mem::take(&mut self.rx);
                    self.trace
                        .record(Direction::Received, &bytes, format!("malformed: {e}"));
                    return Answer::Malformed(e.to_string());
                }
            }
            let left = self.timeout.saturating_sub(started.elapsed());
            if left.is_zero() {
                self.trace
                    .record(Direction::Note, &[], "no answer within the timeout");
                return Answer::Timeout;
            }
            let _ = self.stream.set_read_timeout(Some(left));
            let mut buf = [0u8; 512];
            match self.stream.read(&mut buf) {
                Ok(0) => return Answer::Closed,
                Ok(n) => self.rx.extend_from_slice(buf.get(..n).unwrap_or_default()),
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                    ) => {}
                Err(_) => return Answer::Closed,
            }
        }
    }

    /// Notes something in the trace.
    pub fn note(&mut self, text: impl Into<String>) {
        self.trace.record(Direction::Note, &[], text);
    }

    /// Closes the connection and gives the trace.
    pub fn finish(self) -> Trace {
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
        self.trace
    }
}
