//! The runner's end of an IEC 104 connection (the controlling station, clause 5): frames sent and received
//! with blocking sockets and deadlines, every one in the case's trace; I frames numbered and acknowledged as a
//! well-behaved master does, unless a case asks for a fault.

use crate::pics::Pics;
use crate::trace::{Direction, Trace};
use iec104::{Apdu, Asdu, AsduParams, SEQUENCE_MODULUS, UFunction};
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a wait for a frame came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// A frame.
    Frame(Apdu),
    /// The device closed the connection.
    Closed,
    /// Nothing within the time allowed.
    Timeout,
    /// Bytes that are not an APDU (the reason).
    Malformed(String),
}

/// One connection to the controlled station under test.
pub struct Session {
    stream: TcpStream,
    params: AsduParams,
    rx: Vec<u8>,
    trace: Trace,
    /// Next N(S) we send.
    vs: u16,
    /// Next N(S) we expect.
    vr: u16,
    /// I frames received and not yet acknowledged.
    unacknowledged: u16,
    /// Acknowledge after this many I frames (the PICS' w, 8 by default).
    w: u16,
    /// The device's t1: how long to wait for a confirmation.
    pub t1: Duration,
    /// Whether received I frames are acknowledged automatically.
    pub auto_acknowledge: bool,
    /// I frames the device numbered out of sequence.
    pub numbering_errors: usize,
    /// The last N(R) the device sent: our I frames up to it are acknowledged.
    acknowledged: u16,
    /// Where the device connects, when the runner is the controlled station and listens.
    listener: Option<Arc<TcpListener>>,
    closed: bool,
}

/// Accepts one connection on `listener` within `within` (the listener is polled: std has no accept timeout).
fn accept_within(
    listener: &TcpListener,
    within: Duration,
) -> Result<(TcpStream, std::net::SocketAddr), String> {
    let started = Instant::now();
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("the listener: {e}"))?;
    loop {
        match listener.accept() {
            Ok((stream, peer)) => {
                stream
                    .set_nonblocking(false)
                    .map_err(|e| format!("the connection from {peer}: {e}"))?;
                return Ok((stream, peer));
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            // A connection that failed before it was accepted is the device's problem, not the listener's.
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::ConnectionAborted | ErrorKind::Interrupted
                ) => {}
            Err(e) => return Err(format!("accepting the device's connection: {e}")),
        }
        if started.elapsed() >= within {
            let address = listener
                .local_addr()
                .map_or_else(|_| "the listener".to_owned(), |a| a.to_string());
            return Err(format!(
                "the device did not connect to {address} within {within:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// One-line description of an APDU for traces.
pub fn summary(apdu: &Apdu) -> String {
    match apdu {
        Apdu::I { ns, nr, asdu } => {
            let name = asdu.type_info().map_or("unknown type", |t| t.name);
            let negative = if asdu.cot.negative { " negative" } else { "" };
            format!(
                "I({ns},{nr}) {name} ({}) COT {}{negative} CA {} objects {}",
                asdu.type_id, asdu.cot.cause, asdu.common_address, asdu.count
            )
        }
        Apdu::S { nr } => format!("S({nr})"),
        Apdu::U(f) => f.name().to_owned(),
    }
}

pub(super) fn secs(s: Option<f64>, default: f64) -> Duration {
    Duration::try_from_secs_f64(s.unwrap_or(default)).unwrap_or(Duration::from_secs(15))
}

impl Session {
    /// Connects to `target` with the PICS' field sizes and timers.
    pub fn connect(target: &str, pics: &Pics) -> Result<Session, String> {
        let stream = super::super::connect(target)?;
        let mut session = Session::on_stream(stream, pics)?;
        session.note(format!("connected to {target}"));
        Ok(session)
    }

    /// Waits up to `within` for the device to connect to `listener` (the runner as controlled station, the
    /// device as controlling station).
    pub fn accept(
        listener: Arc<TcpListener>,
        within: Duration,
        pics: &Pics,
    ) -> Result<Session, String> {
        let (stream, peer) = accept_within(&listener, within)?;
        let mut session = Session::on_stream(stream, pics)?;
        session.note(format!("the device connected from {peer}"));
        session.listener = Some(listener);
        Ok(session)
    }

    /// Drops the connection and waits up to `within` for the device to connect again: a session made by
    /// [`Session::accept`] only. The trace goes on; the sequence numbers start again from 0.
    pub fn reconnect(&mut self, within: Duration) -> Result<(), String> {
        let listener = self
            .listener
            .clone()
            .ok_or("the runner connected to the device: it cannot wait for the device")?;
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
        self.note("connection closed by the runner; waiting for the device to connect again");
        let (stream, peer) = accept_within(&listener, within)?;
        let _ = stream.set_nodelay(true);
        if let (Ok(local), Ok(peer)) = (stream.local_addr(), stream.peer_addr()) {
            self.trace.set_endpoints(local, peer);
        }
        self.stream = stream;
        self.rx.clear();
        (self.vs, self.vr, self.acknowledged, self.unacknowledged) = (0, 0, 0, 0);
        self.closed = false;
        self.note(format!("the device connected again from {peer}"));
        Ok(())
    }

    fn on_stream(stream: TcpStream, pics: &Pics) -> Result<Session, String> {
        let p = pics.iec104.clone().unwrap_or_default();
        let params = AsduParams {
            cot_size: p.cot_size.unwrap_or(2),
            ca_size: p.ca_size.unwrap_or(2),
            ioa_size: p.ioa_size.unwrap_or(3),
        };
        params
            .validate()
            .map_err(|e| format!("the PICS' field sizes: {e}"))?;
        let _ = stream.set_nodelay(true);
        let mut trace = Trace::new();
        if let (Ok(local), Ok(peer)) = (stream.local_addr(), stream.peer_addr()) {
            trace.set_endpoints(local, peer);
        }
        Ok(Session {
            stream,
            params,
            rx: Vec::new(),
            trace,
            vs: 0,
            vr: 0,
            unacknowledged: 0,
            w: p.w.unwrap_or(8).max(1),
            t1: secs(p.t1_s, 15.0),
            auto_acknowledge: true,
            numbering_errors: 0,
            acknowledged: 0,
            listener: None,
            closed: false,
        })
    }

    /// The next N(S) we send.
    pub fn next_send(&self) -> u16 {
        self.vs
    }

    /// The next N(S) we expect from the device.
    pub fn next_receive(&self) -> u16 {
        self.vr
    }

    /// Our I frames the device has not acknowledged yet.
    pub fn outstanding(&self) -> u16 {
        self.vs
            .wrapping_add(SEQUENCE_MODULUS)
            .wrapping_sub(self.acknowledged)
            % SEQUENCE_MODULUS
    }

    /// The ASDU field sizes in use.
    pub fn params(&self) -> AsduParams {
        self.params
    }

    /// Notes something in the trace.
    pub fn note(&mut self, text: impl Into<String>) {
        self.trace.record(Direction::Note, &[], text);
    }

    /// Sends raw bytes (a malformed or out-of-order frame a negative case needs).
    pub fn send_raw(&mut self, bytes: &[u8], what: &str) -> Result<(), String> {
        self.trace.record(Direction::Sent, bytes, what);
        self.stream
            .write_all(bytes)
            .map_err(|e| format!("sending {what}: {e}"))
    }

    /// Sends an APDU as it is.
    pub fn send(&mut self, apdu: &Apdu) -> Result<(), String> {
        let mut wire = Vec::new();
        apdu.encode(&self.params, &mut wire)
            .map_err(|e| format!("encoding {}: {e}", summary(apdu)))?;
        if let Apdu::I { .. } | Apdu::S { .. } = apdu {
            self.unacknowledged = 0;
        }
        self.send_raw(&wire, &summary(apdu))
    }

    /// Sends an ASDU in the next I frame.
    pub fn send_asdu(&mut self, asdu: Asdu) -> Result<(), String> {
        let apdu = Apdu::I {
            ns: self.vs,
            nr: self.vr,
            asdu,
        };
        self.vs = (self.vs.wrapping_add(1)) % SEQUENCE_MODULUS;
        self.send(&apdu)
    }

    /// Sends an ASDU in the next I frame, its encoded bytes changed by `tamper` first (a malformed ASDU a
    /// negative case needs, numbered as the next I frame so that only the ASDU is wrong).
    pub fn send_asdu_tampered(
        &mut self,
        asdu: Asdu,
        tamper: impl FnOnce(&mut Vec<u8>),
        what: &str,
    ) -> Result<(), String> {
        let apdu = Apdu::I {
            ns: self.vs,
            nr: self.vr,
            asdu,
        };
        let mut wire = Vec::new();
        apdu.encode(&self.params, &mut wire)
            .map_err(|e| format!("encoding {}: {e}", summary(&apdu)))?;
        tamper(&mut wire);
        self.vs = (self.vs.wrapping_add(1)) % SEQUENCE_MODULUS;
        self.unacknowledged = 0;
        self.send_raw(&wire, what)
    }

    /// Sends a U frame.
    pub fn send_u(&mut self, function: UFunction) -> Result<(), String> {
        self.send(&Apdu::U(function))
    }

    /// The next frame within `within`; received I frames are numbered (a wrong N(S) is noted) and, with
    /// `auto_acknowledge`, acknowledged after w of them.
    pub fn receive(&mut self, within: Duration) -> Received {
        let started = Instant::now();
        loop {
            if let Some(done) = self.take_frame() {
                return done;
            }
            if self.closed {
                return Received::Closed;
            }
            let left = within.saturating_sub(started.elapsed());
            if left.is_zero() {
                return Received::Timeout;
            }
            let _ = self
                .stream
                .set_read_timeout(Some(left.max(Duration::from_millis(1))));
            let mut buf = [0u8; 4096];
            match self.stream.read(&mut buf) {
                Ok(0) => {
                    self.closed = true;
                    self.note("the device closed the connection");
                    return Received::Closed;
                }
                Ok(n) => self.rx.extend_from_slice(buf.get(..n).unwrap_or_default()),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    self.closed = true;
                    self.note(format!("the connection failed: {e}"));
                    return Received::Closed;
                }
            }
        }
    }

    /// A whole frame from the bytes received so far, if there is one.
    fn take_frame(&mut self) -> Option<Received> {
        if self.rx.len() < 2 {
            return None;
        }
        let len = usize::from(*self.rx.get(1)?).saturating_add(2);
        if self.rx.first() == Some(&iec104::START) && self.rx.len() < len {
            return None;
        }
        match Apdu::decode(&self.rx, &self.params) {
            Ok((apdu, used)) => {
                let bytes: Vec<u8> = self.rx.drain(..used).collect();
                self.trace
                    .record(Direction::Received, &bytes, summary(&apdu));
                if let Apdu::I { nr, .. } | Apdu::S { nr } = &apdu {
                    self.acknowledged = *nr;
                }
                if let Apdu::I { ns, .. } = &apdu {
                    if *ns != self.vr {
                        self.numbering_errors = self.numbering_errors.saturating_add(1);
                        self.note(format!("N(S) {ns} where {} was due", self.vr));
                    }
                    self.vr = (ns.wrapping_add(1)) % SEQUENCE_MODULUS;
                    self.unacknowledged = self.unacknowledged.saturating_add(1);
                    if self.auto_acknowledge && self.unacknowledged >= self.w {
                        let s = Apdu::S { nr: self.vr };
                        if let Err(e) = self.send(&s) {
                            self.note(e);
                        }
                    }
                }
                Some(Received::Frame(apdu))
            }
            Err(e) => {
                let bytes = std::mem::take(&mut self.rx);
                self.trace
                    .record(Direction::Received, &bytes, format!("malformed: {e}"));
                Some(Received::Malformed(e.to_string()))
            }
        }
    }

    /// Acknowledges every I frame received so far with an S frame.
    pub fn acknowledge(&mut self) -> Result<(), String> {
        let s = Apdu::S { nr: self.vr };
        self.send(&s)
    }

    /// Waits up to `within` for a frame `wanted` accepts, gathering the ASDUs received on the way; anything
    /// else that arrives is kept in the trace. Gives the frame, or what ended the wait.
    pub fn wait_for(
        &mut self,
        within: Duration,
        mut wanted: impl FnMut(&Apdu) -> bool,
        seen: &mut Vec<Asdu>,
    ) -> Received {
        let started = Instant::now();
        loop {
            let left = within.saturating_sub(started.elapsed());
            match self.receive(left) {
                Received::Frame(apdu) => {
                    if wanted(&apdu) {
                        return Received::Frame(apdu);
                    }
                    if let Apdu::I { asdu, .. } = apdu {
                        seen.push(asdu);
                    }
                }
                other => return other,
            }
        }
    }

    /// STARTDT act, then its confirmation within t1.
    pub fn start(&mut self) -> Result<(), crate::Verdict> {
        self.send_u(UFunction::StartDtAct)
            .map_err(crate::Verdict::Error)?;
        let t1 = self.t1;
        match self.wait_for(
            t1,
            |a| *a == Apdu::U(UFunction::StartDtCon),
            &mut Vec::new(),
        ) {
            Received::Frame(_) => Ok(()),
            Received::Timeout => Err(crate::Verdict::Inconclusive(format!(
                "no STARTDT con within t1 ({t1:?}): data transfer could not be started"
            ))),
            other => Err(crate::Verdict::Fail(format!(
                "STARTDT act was answered with {other:?}, not STARTDT con"
            ))),
        }
    }

    /// Whether the device closed the connection.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Closes the connection and gives the trace.
    pub fn finish(mut self) -> Trace {
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
        self.note("connection closed by the runner");
        self.trace
    }
}
