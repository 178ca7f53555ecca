//! The IEC 60870-5-104 link layer (clause 5) as a sans-IO state machine driven by explicit time: STARTDT,
//! STOPDT and TESTFR, the k and w windows, and the timers t1 (send or test APDU unconfirmed), t2 (acknowledge
//! received I frames) and t3 (test an idle connection). Feed it decoded APDUs with [`Link::handle_apdu`] and
//! the time with [`Link::handle_timeout`]; take what to send from [`Link::poll_transmit`], when to wake from
//! [`Link::poll_timeout`], and what happened from [`Link::poll_event`]. It never reads a clock or a socket.
//!
//! ```
//! use iec104::link::{Event, Link, LinkParams, Role};
//! use iec104::{Apdu, UFunction};
//! use std::time::{Duration, Instant};
//! let t0 = Instant::now();
//! let mut client = Link::new(Role::Controlling, LinkParams::default(), t0)?;
//! let mut server = Link::new(Role::Controlled, LinkParams::default(), t0)?;
//! client.start();
//! let act = client.poll_transmit(t0).unwrap();
//! assert_eq!(act, Apdu::U(UFunction::StartDtAct));
//! server.handle_apdu(act, t0);
//! client.handle_apdu(server.poll_transmit(t0).unwrap(), t0);
//! assert_eq!(client.poll_event(), Some(Event::Started));
//! // Nothing heard for t3 (20 s): the client tests the connection.
//! let later = t0 + Duration::from_secs(20);
//! assert_eq!(client.poll_timeout(), Some(later));
//! client.handle_timeout(later);
//! assert_eq!(client.poll_transmit(later), Some(Apdu::U(UFunction::TestFrAct)));
//! # Ok::<(), iec104::Error>(())
//! ```

use crate::apci::{Apdu, SEQUENCE_MODULUS, UFunction};
use crate::asdu::Asdu;
use crate::error::Error;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Which end of the connection this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The controlling station (client): starts and stops data transfer.
    Controlling,
    /// The controlled station (server, outstation).
    Controlled,
}

/// The link parameters, with the standard's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkParams {
    /// Most unacknowledged I frames sent (default 12).
    pub k: u16,
    /// Acknowledge at the latest after this many received I frames (default 8).
    pub w: u16,
    /// Connection establishment timeout (default 30 s); enforced by the transport that opens the socket.
    pub t0: Duration,
    /// Timeout of sent or test APDUs (default 15 s).
    pub t1: Duration,
    /// Timeout for acknowledging received I frames (default 10 s); below t1.
    pub t2: Duration,
    /// Idle time before a test frame (default 20 s).
    pub t3: Duration,
}

impl Default for LinkParams {
    fn default() -> LinkParams {
        LinkParams {
            k: 12,
            w: 8,
            t0: Duration::from_secs(30),
            t1: Duration::from_secs(15),
            t2: Duration::from_secs(10),
            t3: Duration::from_secs(20),
        }
    }
}

impl LinkParams {
    /// Checks the rules: 1 ≤ k, w ≤ 32767; w ≤ 2k/3; t0, t1, t2 within 1–255 s; t2 < t1; t3 within 1 s–48 h.
    pub fn validate(&self) -> Result<(), Error> {
        let fail = |reason: String| Err(Error::Parameters(reason));
        if !(1..SEQUENCE_MODULUS).contains(&self.k) || !(1..SEQUENCE_MODULUS).contains(&self.w) {
            return fail(format!(
                "k = {} and w = {} must lie within 1..=32767",
                self.k, self.w
            ));
        }
        if u32::from(self.w).saturating_mul(3) > u32::from(self.k).saturating_mul(2) {
            return fail(format!(
                "w = {} exceeds two thirds of k = {}",
                self.w, self.k
            ));
        }
        let second = Duration::from_secs(1);
        for (name, t) in [("t0", self.t0), ("t1", self.t1), ("t2", self.t2)] {
            if t < second || t > Duration::from_secs(255) {
                return fail(format!("{name} = {t:?} is outside 1–255 s"));
            }
        }
        if self.t2 >= self.t1 {
            return fail(format!(
                "t2 = {:?} must be below t1 = {:?}",
                self.t2, self.t1
            ));
        }
        if self.t3 < second || self.t3 > Duration::from_secs(48 * 3600) {
            return fail(format!("t3 = {:?} is outside 1 s–48 h", self.t3));
        }
        Ok(())
    }
}

/// Why the link closed the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// An I frame arrived before data transfer was started.
    IFrameBeforeStart,
    /// An I frame carried an unexpected send sequence number.
    WrongSendSequence {
        /// N(S) expected.
        expected: u16,
        /// N(S) received.
        received: u16,
    },
    /// An acknowledgement outside the frames sent and not yet acknowledged.
    AcknowledgementOutOfRange {
        /// N(R) received.
        received: u16,
        /// Oldest unacknowledged N(S).
        oldest: u16,
        /// Next N(S) to send.
        next: u16,
    },
    /// A sent I frame or test/start/stop activation was not confirmed within t1.
    T1Expired,
    /// The peer sent a confirmation nobody asked for, or an activation this role does not accept.
    UnexpectedFrame(UFunction),
}

/// Something the caller should know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Data transfer started (STARTDT confirmed, or accepted as controlled station).
    Started,
    /// Data transfer stopped.
    Stopped,
    /// An ASDU arrived.
    Asdu(Asdu),
    /// The connection must be closed.
    Closed(CloseReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Stopped,
    StartPending,
    Started,
    StopPending,
    Closed,
}

fn seq_add(a: u16, b: u16) -> u16 {
    (a.wrapping_add(b)) % SEQUENCE_MODULUS
}

/// `a − b` modulo 32768.
fn seq_diff(a: u16, b: u16) -> u16 {
    a.wrapping_sub(b).wrapping_add(SEQUENCE_MODULUS) % SEQUENCE_MODULUS
}

/// The link state of one connection.
#[derive(Debug)]
pub struct Link {
    role: Role,
    params: LinkParams,
    state: State,
    /// Next N(S) to send.
    vs: u16,
    /// Next N(S) expected.
    vr: u16,
    /// Sent I frames not yet acknowledged: their N(S) and send time.
    unacked: VecDeque<(u16, Instant)>,
    /// I frames received and not yet acknowledged, and when the first of them arrived.
    received_unacked: u16,
    first_unacked_at: Option<Instant>,
    /// Time the last frame arrived.
    last_received: Instant,
    /// An activation (STARTDT, STOPDT, TESTFR) sent and awaiting confirmation, and when.
    awaiting: Option<(UFunction, Instant)>,
    /// A received STOPDT act waiting for our I frames to be acknowledged.
    stop_confirm_due: bool,
    control: VecDeque<Apdu>,
    outgoing: VecDeque<Asdu>,
    events: VecDeque<Event>,
}

impl Link {
    /// A new link on a freshly opened connection.
    pub fn new(role: Role, params: LinkParams, now: Instant) -> Result<Link, Error> {
        params.validate()?;
        Ok(Link {
            role,
            params,
            state: State::Stopped,
            vs: 0,
            vr: 0,
            unacked: VecDeque::new(),
            received_unacked: 0,
            first_unacked_at: None,
            last_received: now,
            awaiting: None,
            stop_confirm_due: false,
            control: VecDeque::new(),
            outgoing: VecDeque::new(),
            events: VecDeque::new(),
        })
    }

    /// Whether data transfer is started.
    pub fn is_started(&self) -> bool {
        self.state == State::Started
    }

    /// Whether the connection must be closed.
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Sent I frames not yet acknowledged.
    pub fn unacknowledged(&self) -> usize {
        self.unacked.len()
    }

    /// Controlling station: asks to start data transfer (STARTDT act).
    pub fn start(&mut self) {
        if self.role == Role::Controlling && matches!(self.state, State::Stopped) {
            self.control.push_back(Apdu::U(UFunction::StartDtAct));
            self.state = State::StartPending;
        }
    }

    /// Controlling station: asks to stop data transfer (STOPDT act).
    pub fn stop(&mut self) {
        if self.role == Role::Controlling && self.state == State::Started {
            self.control.push_back(Apdu::U(UFunction::StopDtAct));
            self.state = State::StopPending;
        }
    }

    /// Queues an ASDU; it is sent while data transfer is started and fewer than k frames are unacknowledged.
    /// ASDUs waiting behind the k window (not yet sent).
    pub fn queued(&self) -> usize {
        self.outgoing.len()
    }

    /// Queues an ASDU to send once data transfer is started and the k window allows.
    pub fn send_asdu(&mut self, asdu: Asdu) {
        self.outgoing.push_back(asdu);
    }

    fn close(&mut self, reason: CloseReason) {
        if self.state != State::Closed {
            self.state = State::Closed;
            self.control.clear();
            self.outgoing.clear();
            self.events.push_back(Event::Closed(reason));
        }
    }

    /// Handles one received APDU at `now`.
    pub fn handle_apdu(&mut self, apdu: Apdu, now: Instant) {
        if self.state == State::Closed {
            return;
        }
        self.last_received = now;
        // Any frame answers a pending test: the peer is alive (TESTFR con is handled below too).
        match apdu {
            Apdu::I { ns, nr, asdu } => {
                if !matches!(self.state, State::Started | State::StopPending) {
                    return self.close(CloseReason::IFrameBeforeStart);
                }
                if ns != self.vr {
                    return self.close(CloseReason::WrongSendSequence {
                        expected: self.vr,
                        received: ns,
                    });
                }
                if !self.acknowledge(nr) {
                    return;
                }
                self.vr = seq_add(self.vr, 1);
                self.received_unacked = self.received_unacked.saturating_add(1);
                self.first_unacked_at.get_or_insert(now);
                if self.received_unacked >= self.params.w {
                    self.control.push_back(Apdu::S { nr: self.vr });
                    self.received_unacked = 0;
                    self.first_unacked_at = None;
                }
                self.events.push_back(Event::Asdu(asdu));
            }
            Apdu::S { nr } => {
                self.acknowledge(nr);
            }
            Apdu::U(f) => self.handle_u(f),
        }
        self.confirm_stop_when_clear();
    }

    fn handle_u(&mut self, f: UFunction) {
        use UFunction::*;
        match (f, self.role) {
            (TestFrAct, _) => self.control.push_back(Apdu::U(TestFrCon)),
            (TestFrCon, _) => {
                if matches!(self.awaiting, Some((TestFrAct, _))) {
                    self.awaiting = None;
                }
            }
            (StartDtAct, Role::Controlled) => {
                self.control.push_back(Apdu::U(StartDtCon));
                if self.state != State::Started {
                    self.state = State::Started;
                    self.events.push_back(Event::Started);
                }
            }
            (StartDtCon, Role::Controlling) if self.state == State::StartPending => {
                self.awaiting = None;
                self.state = State::Started;
                self.events.push_back(Event::Started);
            }
            (StopDtAct, Role::Controlled) => {
                // Acknowledge what we received before confirming (clause 5.3).
                if self.received_unacked > 0 {
                    self.control.push_back(Apdu::S { nr: self.vr });
                    self.received_unacked = 0;
                    self.first_unacked_at = None;
                }
                self.state = State::StopPending;
                self.stop_confirm_due = true;
            }
            (StopDtCon, Role::Controlling) if self.state == State::StopPending => {
                self.awaiting = None;
                self.state = State::Stopped;
                self.events.push_back(Event::Stopped);
            }
            (other, _) => self.close(CloseReason::UnexpectedFrame(other)),
        }
    }

    /// Controlled station: confirms a STOPDT once every I frame it sent is acknowledged.
    fn confirm_stop_when_clear(&mut self) {
        if self.stop_confirm_due && self.unacked.is_empty() && self.state == State::StopPending {
            self.stop_confirm_due = false;
            self.control.push_back(Apdu::U(UFunction::StopDtCon));
            self.state = State::Stopped;
            self.events.push_back(Event::Stopped);
        }
    }

    /// Releases sent frames up to `nr`; closes when `nr` is outside the unacknowledged range.
    fn acknowledge(&mut self, nr: u16) -> bool {
        let oldest = self.unacked.front().map_or(self.vs, |(s, _)| *s);
        if seq_diff(nr, oldest) > seq_diff(self.vs, oldest) {
            self.close(CloseReason::AcknowledgementOutOfRange {
                received: nr,
                oldest,
                next: self.vs,
            });
            return false;
        }
        while let Some((s, _)) = self.unacked.front() {
            if seq_diff(nr, *s) == 0 || seq_diff(nr, *s) > seq_diff(self.vs, *s) {
                break;
            }
            self.unacked.pop_front();
        }
        true
    }

    /// The next APDU to send at `now`, if any: control frames first, then queued ASDUs within the k window.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Apdu> {
        if self.state == State::Closed {
            return None;
        }
        if let Some(apdu) = self.control.pop_front() {
            if let Apdu::U(
                f @ (UFunction::StartDtAct | UFunction::StopDtAct | UFunction::TestFrAct),
            ) = apdu
            {
                self.awaiting = Some((f, now));
            }
            if matches!(apdu, Apdu::S { .. }) {
                self.received_unacked = 0;
                self.first_unacked_at = None;
            }
            return Some(apdu);
        }
        if self.state == State::Started && self.unacked.len() < usize::from(self.params.k) {
            let asdu = self.outgoing.pop_front()?;
            let ns = self.vs;
            self.vs = seq_add(self.vs, 1);
            self.unacked.push_back((ns, now));
            // An I frame acknowledges everything received so far.
            self.received_unacked = 0;
            self.first_unacked_at = None;
            return Some(Apdu::I {
                ns,
                nr: self.vr,
                asdu,
            });
        }
        None
    }

    /// When [`Link::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.state == State::Closed {
            return None;
        }
        let p = &self.params;
        let t1 = self
            .unacked
            .front()
            .and_then(|(_, at)| at.checked_add(p.t1));
        let t1_control = self.awaiting.and_then(|(_, at)| at.checked_add(p.t1));
        let t2 = self.first_unacked_at.and_then(|at| at.checked_add(p.t2));
        let t3 = if self.awaiting.is_none() {
            self.last_received.checked_add(p.t3)
        } else {
            None
        };
        [t1, t1_control, t2, t3].into_iter().flatten().min()
    }

    /// Applies the timers at `now`: closes on t1, acknowledges at t2, tests at t3.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.state == State::Closed {
            return;
        }
        let p = self.params;
        let passed =
            |at: Instant, d: Duration| at.checked_add(d).is_some_and(|deadline| now >= deadline);
        let expired = self
            .unacked
            .front()
            .is_some_and(|(_, at)| passed(*at, p.t1))
            || self.awaiting.is_some_and(|(_, at)| passed(at, p.t1));
        if expired {
            return self.close(CloseReason::T1Expired);
        }
        if self.first_unacked_at.is_some_and(|at| passed(at, p.t2)) {
            self.control.push_back(Apdu::S { nr: self.vr });
            self.received_unacked = 0;
            self.first_unacked_at = None;
        }
        if self.awaiting.is_none() && passed(self.last_received, p.t3) {
            self.control.push_back(Apdu::U(UFunction::TestFrAct));
            // Counted from now: the test frame's own t1 runs from when it is sent.
            self.last_received = now;
        }
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }
}
