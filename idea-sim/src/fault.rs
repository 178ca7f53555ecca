//! Fault hooks: what a served device can be told to get wrong, so that clients, agents and conformance suites
//! can be tested against misbehaving equipment. Every device has at least:
//! - `silent`: it stops answering — connections stay open, bytes are read and dropped, nothing is sent;
//! - `stale`: its measurements freeze at their last values while it keeps answering and obeying.
//!
//! IEC 104 devices (over plain TCP) also break the protocol on request, each fault a rewrite of the frames
//! between the client and the device (module `fault_iec104`): `wrong-cot`, `wrong-common-address`,
//! `sequence-error`, `no-acknowledge`, `testfr-unanswered`, `negative-confirmation-missing`,
//! `answers-before-startdt`, `sequence-error-tolerated` and `stopdt-ignored`.
//!
//! A fault is scheduled as `NAME` (from the start) or `NAME@SECONDS` (after that many seconds of real time).

use crate::error::{Error, Result};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Connections the silent gate relays at once; more are refused until one closes.
pub const MAX_GATE_CONNECTIONS: usize = 64;

/// A fault a device can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Stops answering: connections stay open, requests are read and dropped.
    Silent,
    /// Measurements freeze; the device still answers and obeys commands.
    Stale,
    /// IEC 104: interrogated objects come with COT 3 (spontaneous) instead of 20–36.
    WrongCot,
    /// IEC 104: every ASDU it sends carries the next common address.
    WrongCommonAddress,
    /// IEC 104: its I frames skip a send sequence number after the first.
    SequenceError,
    /// IEC 104: it never acknowledges: no S frame, N(R) 0 in its I frames.
    NoAcknowledge,
    /// IEC 104: TESTFR act is never confirmed.
    TestfrUnanswered,
    /// IEC 104: negative confirmations (P/N = 1) are never sent.
    NegativeConfirmationMissing,
    /// IEC 104: an I frame before STARTDT is taken as if data transfer had started, and answered.
    AnswersBeforeStartdt,
    /// IEC 104: an I frame with a wrong send sequence number is taken as if it were the next.
    SequenceErrorTolerated,
    /// IEC 104: STOPDT act is confirmed but data transfer goes on.
    StopdtIgnored,
    /// IEC 104: its I frames and test frames left unconfirmed never close the connection (t1 ignored).
    T1Ignored,
    /// IEC 104: a select-before-operate command is executed without a selection, or after the selection
    /// timed out.
    SelectNotRequired,
    /// Energy router: a port limit is confirmed but never applied (the flows ignore it).
    PortLimitIgnored,
    /// Energy router: the export into the network is never held back — NG-R2 and NG-R4 are confirmed and
    /// reported but applied as NG-R3, and the network port's limit is confirmed but never applied.
    NetworkExportUnchecked,
    /// Modbus: every register or coil address a request names is taken one higher.
    RegisterOffByOne,
    /// Modbus: a write (05, 06, 15, 16) is acknowledged but never reaches the device.
    WriteNotApplied,
    /// Modbus: every answer carries a byte after its PDU (the MBAP length counts it).
    TrailingByte,
    /// Modbus: a request the device refuses is answered as if taken (zeros for a read).
    ExceptionMissing,
    /// Modbus: answers carry the next transaction identifier, not the request's.
    TransactionIdMismatch,
    /// Modbus: answers carry another unit identifier.
    UnitIdMismatch,
    /// Modbus: answers carry protocol identifier 1 (Modbus is 0).
    ProtocolIdNonzero,
    /// Modbus: Read Device Identification (43/14) is refused as an illegal function.
    IdentificationMissing,
    /// SunSpec: the `SunS` marker reads as zeros, so no map is found.
    SunsMarkerMissing,
    /// SunSpec: every implemented scale factor reads one higher (values read ten times too large).
    WrongScaleFactor,
    /// SunSpec: the first model's length reads one more than it is, so the chain runs off its models.
    BrokenModelChain,
}

impl Fault {
    /// Every fault, in the order `--list-faults` prints them.
    pub const ALL: [Fault; 26] = [
        Fault::Silent,
        Fault::Stale,
        Fault::WrongCot,
        Fault::WrongCommonAddress,
        Fault::SequenceError,
        Fault::NoAcknowledge,
        Fault::TestfrUnanswered,
        Fault::NegativeConfirmationMissing,
        Fault::AnswersBeforeStartdt,
        Fault::SequenceErrorTolerated,
        Fault::StopdtIgnored,
        Fault::T1Ignored,
        Fault::SelectNotRequired,
        Fault::PortLimitIgnored,
        Fault::NetworkExportUnchecked,
        Fault::RegisterOffByOne,
        Fault::WriteNotApplied,
        Fault::TrailingByte,
        Fault::ExceptionMissing,
        Fault::TransactionIdMismatch,
        Fault::UnitIdMismatch,
        Fault::ProtocolIdNonzero,
        Fault::IdentificationMissing,
        Fault::SunsMarkerMissing,
        Fault::WrongScaleFactor,
        Fault::BrokenModelChain,
    ];

    /// The IEC 104 protocol faults (a rewrite of frames on plain TCP).
    pub const IEC104: [Fault; 11] = [
        Fault::WrongCot,
        Fault::WrongCommonAddress,
        Fault::SequenceError,
        Fault::NoAcknowledge,
        Fault::TestfrUnanswered,
        Fault::NegativeConfirmationMissing,
        Fault::AnswersBeforeStartdt,
        Fault::SequenceErrorTolerated,
        Fault::StopdtIgnored,
        Fault::T1Ignored,
        Fault::SelectNotRequired,
    ];

    /// The Modbus/SunSpec device faults: rewrites of Modbus TCP frames, and the last two, of the map.
    pub const MODBUS: [Fault; 11] = [
        Fault::RegisterOffByOne,
        Fault::WriteNotApplied,
        Fault::TrailingByte,
        Fault::ExceptionMissing,
        Fault::TransactionIdMismatch,
        Fault::UnitIdMismatch,
        Fault::ProtocolIdNonzero,
        Fault::IdentificationMissing,
        Fault::SunsMarkerMissing,
        Fault::WrongScaleFactor,
        Fault::BrokenModelChain,
    ];

    /// The energy router's own faults (of the device, not of its frames).
    pub const ROUTER: [Fault; 2] = [Fault::PortLimitIgnored, Fault::NetworkExportUnchecked];

    /// The faults every device can show.
    pub const COMMON: [Fault; 2] = [Fault::Silent, Fault::Stale];

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Fault::Silent => "silent",
            Fault::Stale => "stale",
            Fault::WrongCot => "wrong-cot",
            Fault::WrongCommonAddress => "wrong-common-address",
            Fault::SequenceError => "sequence-error",
            Fault::NoAcknowledge => "no-acknowledge",
            Fault::TestfrUnanswered => "testfr-unanswered",
            Fault::NegativeConfirmationMissing => "negative-confirmation-missing",
            Fault::AnswersBeforeStartdt => "answers-before-startdt",
            Fault::SequenceErrorTolerated => "sequence-error-tolerated",
            Fault::StopdtIgnored => "stopdt-ignored",
            Fault::T1Ignored => "t1-ignored",
            Fault::SelectNotRequired => "select-not-required",
            Fault::PortLimitIgnored => "port-limit-ignored",
            Fault::NetworkExportUnchecked => "network-export-unchecked",
            Fault::RegisterOffByOne => "register-off-by-one",
            Fault::WriteNotApplied => "write-not-applied",
            Fault::TrailingByte => "trailing-byte",
            Fault::ExceptionMissing => "exception-missing",
            Fault::TransactionIdMismatch => "transaction-id-mismatch",
            Fault::UnitIdMismatch => "unit-id-mismatch",
            Fault::ProtocolIdNonzero => "protocol-id-nonzero",
            Fault::IdentificationMissing => "identification-missing",
            Fault::SunsMarkerMissing => "suns-marker-missing",
            Fault::WrongScaleFactor => "wrong-scale-factor",
            Fault::BrokenModelChain => "broken-model-chain",
        }
    }

    /// What it does, in a line.
    pub fn describe(self) -> &'static str {
        match self {
            Fault::Silent => {
                "stops answering: connections stay open, requests are read and dropped, nothing is sent"
            }
            Fault::Stale => "measurements freeze at their last values; requests are still answered",
            Fault::WrongCot => "IEC 104: interrogated objects come with COT 3 instead of 20-36",
            Fault::WrongCommonAddress => "IEC 104: every ASDU sent carries the next common address",
            Fault::SequenceError => {
                "IEC 104: its I frames skip a send sequence number after the first"
            }
            Fault::NoAcknowledge => {
                "IEC 104: never acknowledges (no S frame, N(R) 0 in its I frames)"
            }
            Fault::TestfrUnanswered => "IEC 104: TESTFR act is never confirmed",
            Fault::NegativeConfirmationMissing => {
                "IEC 104: negative confirmations (P/N = 1) are never sent"
            }
            Fault::AnswersBeforeStartdt => {
                "IEC 104: an I frame before STARTDT is answered as if data transfer had started"
            }
            Fault::SequenceErrorTolerated => {
                "IEC 104: an I frame with a wrong send sequence number is taken as the next"
            }
            Fault::StopdtIgnored => "IEC 104: STOPDT act is confirmed but data transfer goes on",
            Fault::T1Ignored => {
                "IEC 104: frames left unconfirmed for t1 never close the connection (t1 ignored)"
            }
            Fault::SelectNotRequired => {
                "IEC 104: a select-before-operate command is executed without a (timely) selection"
            }
            Fault::PortLimitIgnored => "energy router: a port limit is confirmed but never applied",
            Fault::NetworkExportUnchecked => {
                "energy router: the export into the network is never held back (NG-R2/R4 applied as NG-R3, the network port's limit ignored)"
            }
            Fault::RegisterOffByOne => {
                "Modbus: every register or coil address a request names is taken one higher"
            }
            Fault::WriteNotApplied => {
                "Modbus: a write is acknowledged but never reaches the device"
            }
            Fault::TrailingByte => {
                "Modbus: every answer carries a byte after its PDU (the MBAP length counts it)"
            }
            Fault::ExceptionMissing => {
                "Modbus: a request the device refuses is answered as if taken (zeros for a read)"
            }
            Fault::TransactionIdMismatch => {
                "Modbus: answers carry the next transaction identifier, not the request's"
            }
            Fault::UnitIdMismatch => "Modbus: answers carry another unit identifier",
            Fault::ProtocolIdNonzero => "Modbus: answers carry protocol identifier 1 (not 0)",
            Fault::IdentificationMissing => {
                "Modbus: Read Device Identification (43/14) is refused as an illegal function"
            }
            Fault::SunsMarkerMissing => "SunSpec: the SunS marker reads as zeros",
            Fault::WrongScaleFactor => {
                "SunSpec: every scale factor reads one higher (values ten times too large)"
            }
            Fault::BrokenModelChain => {
                "SunSpec: the first model's length reads one more than it is (the chain breaks)"
            }
        }
    }

    /// Whether it is one of the IEC 104 protocol faults (a rewrite of frames on plain TCP).
    pub fn is_iec104(self) -> bool {
        Fault::IEC104.contains(&self)
    }

    /// Whether it is one of the Modbus/SunSpec device faults.
    pub fn is_modbus(self) -> bool {
        Fault::MODBUS.contains(&self)
    }

    /// Whether it rewrites frames on the wire (and so needs plain TCP), rather than the device's map.
    pub fn rewrites_frames(self) -> bool {
        self.is_iec104()
            || (self.is_modbus()
                && !matches!(self, Fault::WrongScaleFactor | Fault::BrokenModelChain))
    }

    fn bit(self) -> u32 {
        Fault::ALL
            .iter()
            .position(|f| *f == self)
            .and_then(|i| u32::try_from(i).ok())
            .map_or(0, |i| 1u32 << i)
    }
}

/// A fault and when it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultPlan {
    /// The fault.
    pub fault: Fault,
    /// How long after the device starts, real time.
    pub after: Duration,
}

impl std::str::FromStr for FaultPlan {
    type Err = Error;

    /// `silent`, `stale@30` (after 30 s), `silent@2.5`.
    fn from_str(text: &str) -> Result<FaultPlan> {
        let (name, after) = match text.split_once('@') {
            Some((name, secs)) => {
                let secs: f64 =
                    secs.trim_end_matches('s')
                        .parse()
                        .map_err(|_| Error::UnknownFault {
                            name: text.to_owned(),
                            known: "NAME or NAME@SECONDS".into(),
                        })?;
                let after = Duration::try_from_secs_f64(secs).map_err(|_| Error::UnknownFault {
                    name: text.to_owned(),
                    known: "a delay of zero or more seconds".into(),
                })?;
                (name, after)
            }
            None => (text, Duration::ZERO),
        };
        let fault = Fault::ALL
            .into_iter()
            .find(|f| f.name() == name)
            .ok_or_else(|| Error::UnknownFault {
                name: name.to_owned(),
                known: Fault::ALL.map(Fault::name).join(", "),
            })?;
        Ok(FaultPlan { fault, after })
    }
}

#[derive(Debug, Default)]
struct Flags {
    /// One bit per fault of [`Fault::ALL`] that is on.
    on: AtomicU32,
    /// Whether a silent or IEC 104 fault may come: the device's listener then sits behind a gate.
    gated: AtomicBool,
    /// Whether an IEC 104 fault may come: the gate then reads frames.
    iec104: AtomicBool,
    /// Whether a Modbus fault may come: the gate then reads Modbus TCP frames.
    modbus: AtomicBool,
}

/// The faults a device shows now; cloned into every part of the device that honours them.
#[derive(Debug, Clone, Default)]
pub struct Faults(Arc<Flags>);

impl Faults {
    /// Whether `fault` is on now.
    pub fn is_on(&self, fault: Fault) -> bool {
        self.0.on.load(Ordering::Relaxed) & fault.bit() != 0
    }

    /// Whether the device is silent.
    pub fn silent(&self) -> bool {
        self.is_on(Fault::Silent)
    }

    /// Whether its measurements are frozen.
    pub fn stale(&self) -> bool {
        self.is_on(Fault::Stale)
    }

    /// Whether an IEC 104 protocol fault is planned: the gate then reads and rewrites frames.
    pub fn iec104_planned(&self) -> bool {
        self.0.iec104.load(Ordering::Relaxed)
    }

    /// Faults for the plans given: those planned without a delay are on at once, the others spawned into
    /// `tasks` to turn on at their time.
    pub fn planned(plans: &[FaultPlan], tasks: &mut crate::Tasks) -> Faults {
        let faults = Faults::default();
        for plan in plans {
            if plan.fault == Fault::Silent || plan.fault.rewrites_frames() {
                faults.0.gated.store(true, Ordering::Relaxed);
            }
            if plan.fault.is_iec104() {
                faults.0.iec104.store(true, Ordering::Relaxed);
            }
            if plan.fault.is_modbus() && plan.fault.rewrites_frames() {
                faults.0.modbus.store(true, Ordering::Relaxed);
            }
            if plan.after.is_zero() {
                // On from the start: set now, before the device answers anyone — a task spawned to set it
                // may first run after the first requests were answered without it.
                faults.set(plan.fault, true);
            } else {
                tasks.spawn("a fault's schedule", faults.clone().apply(*plan));
            }
        }
        faults
    }

    /// Faults the caller turns on and off itself ([`Faults::set`]) — a caller that owns simulated time
    /// switches them at the simulated instants it chooses — with whatever the device needs in front of it
    /// for `faults` (the gate of a silent device, the frame rewriting).
    pub fn switchable(faults: &[Fault]) -> Faults {
        let f = Faults::default();
        for fault in faults {
            if *fault == Fault::Silent || fault.rewrites_frames() {
                f.0.gated.store(true, Ordering::Relaxed);
            }
            if fault.is_iec104() {
                f.0.iec104.store(true, Ordering::Relaxed);
            }
            if fault.is_modbus() && fault.rewrites_frames() {
                f.0.modbus.store(true, Ordering::Relaxed);
            }
        }
        f
    }

    /// Whether the device's listener must sit behind a gate (a silent fault is planned).
    pub fn gated(&self) -> bool {
        self.0.gated.load(Ordering::Relaxed)
    }

    /// Turns a fault on or off.
    pub fn set(&self, fault: Fault, on: bool) {
        if on {
            self.0.on.fetch_or(fault.bit(), Ordering::Relaxed);
        } else {
            self.0.on.fetch_and(!fault.bit(), Ordering::Relaxed);
        }
    }

    /// Turns the planned fault on at its time.
    pub async fn apply(self, plan: FaultPlan) -> std::result::Result<(), std::convert::Infallible> {
        tokio::time::sleep(plan.after).await;
        self.set(plan.fault, true);
        log::warn!("fault {} is now on", plan.fault.name());
        // The fault stays on; the task waits for ever so that it never reads as the device ending.
        std::future::pending::<()>().await;
        Ok(())
    }
}

/// What a device's server should listen on: `listener` itself, or — when the device may fall silent — an
/// inner loopback listener behind a [`gate`] on `listener`, spawned into `tasks`.
///
/// # Errors
/// [`Error::Device`] when the inner listener cannot be bound.
pub async fn front(
    listener: TcpListener,
    faults: &Faults,
    tasks: &mut crate::Tasks,
) -> Result<TcpListener> {
    if !faults.gated() {
        return Ok(listener);
    }
    let inner = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| Error::Device(format!("the silent-fault gate: {e}")))?;
    let address = inner
        .local_addr()
        .map_err(|e| Error::Device(format!("the silent-fault gate: {e}")))?;
    tasks.spawn("the fault gate", gate(listener, address, faults.clone()));
    Ok(inner)
}

/// Relays connections from `listener` to the device at `inner`, dropping every byte both ways while the
/// device is [`Faults::silent`], and rewriting IEC 104 frames while an IEC 104 fault is on. Accept errors (such as running out of descriptors) are logged and retried
/// after a pause; at most [`MAX_GATE_CONNECTIONS`] are relayed at once.
pub async fn gate(listener: TcpListener, inner: SocketAddr, faults: Faults) -> std::io::Result<()> {
    let open = Arc::new(AtomicUsize::new(0));
    loop {
        let (client, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                log::warn!("fault gate: accept failed: {e}; retrying");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if open.load(Ordering::Relaxed) >= MAX_GATE_CONNECTIONS {
            log::warn!("fault gate: refusing {peer}: {MAX_GATE_CONNECTIONS} connections open");
            continue;
        }
        open.fetch_add(1, Ordering::Relaxed);
        let (faults, open) = (faults.clone(), Arc::clone(&open));
        tokio::spawn(async move {
            if let Ok(device) = TcpStream::connect(inner).await {
                if faults.iec104_planned() {
                    let rewrite = crate::fault_iec104::Rewriter::default();
                    relay_rewriting(client, device, &faults, rewrite).await;
                } else if faults.0.modbus.load(Ordering::Relaxed) {
                    let rewrite = crate::fault_modbus::Rewriter::default();
                    relay_rewriting(client, device, &faults, rewrite).await;
                } else {
                    relay(client, device, &faults).await;
                }
            }
            open.fetch_sub(1, Ordering::Relaxed);
        });
    }
}

/// What a protocol-fault relay makes of the bytes one side has sent: bytes for the other side, and an answer
/// the relay gives the sender itself.
#[derive(Debug, Default)]
pub(crate) struct Relayed {
    pub(crate) forward: Vec<u8>,
    pub(crate) reply: Vec<u8>,
    /// Close both sides once these bytes are passed on.
    pub(crate) close: bool,
}

/// A protocol's frame rewriting for [`relay_rewriting`]: each takes the bytes pending from its side,
/// consumes the whole frames among them and says what goes where.
pub(crate) trait Rewrite {
    /// Bytes from the client.
    fn client_sent(&mut self, pending: &mut Vec<u8>, faults: &Faults) -> Relayed;
    /// Bytes from the device.
    fn device_sent(&mut self, pending: &mut Vec<u8>, faults: &Faults) -> Relayed;
    /// Whether the device's side stays open when the client closes (a client that ignores its own closing).
    fn holds_device_open(&self) -> bool {
        false
    }
}

/// Relays one connection through `rewrite`; silence drops everything both ways.
pub(crate) async fn relay_rewriting(
    mut client: TcpStream,
    mut device: TcpStream,
    faults: &Faults,
    mut rewrite: impl Rewrite,
) {
    let (mut up, mut down) = ([0u8; 4096], [0u8; 4096]);
    let (mut from_client, mut from_device) = (Vec::new(), Vec::new());
    loop {
        let (to_device, to_client, close) = tokio::select! {
            read = client.read(&mut up) => match read {
                Ok(0) | Err(_) => {
                    if rewrite.holds_device_open() {
                        // Read the device's side until it gives up; nothing reaches it any more.
                        while matches!(device.read(&mut down).await, Ok(n) if n > 0) {}
                    }
                    return;
                }
                Ok(n) => {
                    if faults.silent() {
                        continue;
                    }
                    from_client.extend_from_slice(up.get(..n).unwrap_or_default());
                    let r = rewrite.client_sent(&mut from_client, faults);
                    (r.forward, r.reply, r.close)
                }
            },
            read = device.read(&mut down) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if faults.silent() {
                        continue;
                    }
                    from_device.extend_from_slice(down.get(..n).unwrap_or_default());
                    let r = rewrite.device_sent(&mut from_device, faults);
                    (r.reply, r.forward, r.close)
                }
            },
        };
        if !to_device.is_empty() && device.write_all(&to_device).await.is_err() {
            return;
        }
        if !to_client.is_empty() && client.write_all(&to_client).await.is_err() {
            return;
        }
        if close {
            return;
        }
    }
}

async fn relay(mut client: TcpStream, mut device: TcpStream, faults: &Faults) {
    let (mut up, mut down) = ([0u8; 4096], [0u8; 4096]);
    loop {
        tokio::select! {
            read = client.read(&mut up) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if !faults.silent()
                        && let Some(bytes) = up.get(..n)
                        && device.write_all(bytes).await.is_err()
                    {
                        return;
                    }
                }
            },
            read = device.read(&mut down) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if !faults.silent()
                        && let Some(bytes) = down.get(..n)
                        && client.write_all(bytes).await.is_err()
                    {
                        return;
                    }
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A fault planned without a delay is on before the device answers anything — not when a spawned task
    /// first runs (a conformance run once read three clean answers from a `trailing-byte` device); one with a
    /// delay is off until its time.
    #[tokio::test]
    async fn a_fault_without_a_delay_is_on_at_once_and_one_with_a_delay_at_its_time() {
        let mut tasks = crate::Tasks::default();
        let plans = [
            "trailing-byte".parse::<FaultPlan>().unwrap(),
            "stale@0.2".parse::<FaultPlan>().unwrap(),
        ];
        let faults = Faults::planned(&plans, &mut tasks);
        assert!(faults.is_on(Fault::TrailingByte));
        assert!(!faults.is_on(Fault::Stale));
        assert_eq!(tasks.len(), 1, "only the delayed fault waits on a task");
        let waited = std::time::Instant::now();
        while !faults.is_on(Fault::Stale) {
            assert!(
                waited.elapsed() < Duration::from_secs(10),
                "stale never came on"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(
            waited.elapsed() >= Duration::from_millis(150),
            "stale came on early"
        );
    }

    #[test]
    fn plans_parse_with_and_without_a_delay() {
        let p: FaultPlan = "stale@2.5".parse().unwrap();
        assert_eq!(p.fault, Fault::Stale);
        assert_eq!(p.after, Duration::from_millis(2500));
        assert_eq!("silent".parse::<FaultPlan>().unwrap().after, Duration::ZERO);
        let e = "loud".parse::<FaultPlan>().unwrap_err();
        assert!(
            matches!(e, Error::UnknownFault { ref known, .. } if known.starts_with("silent, stale, wrong-cot"))
        );
        assert_eq!(
            "wrong-cot@1".parse::<FaultPlan>().unwrap().fault,
            Fault::WrongCot
        );
        assert!(matches!(
            "silent@-1".parse::<FaultPlan>(),
            Err(Error::UnknownFault { .. })
        ));
    }
}
