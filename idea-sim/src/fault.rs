//! Fault hooks: what a served device can be told to get wrong, so that clients, agents and conformance suites
//! can be tested against misbehaving equipment. Every device has at least:
//! - `silent`: it stops answering — connections stay open, bytes are read and dropped, nothing is sent;
//! - `stale`: its measurements freeze at their last values while it keeps answering and obeying.
//!
//! A fault is scheduled as `NAME` (from the start) or `NAME@SECONDS` (after that many seconds of real time).

use crate::error::{Error, Result};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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
}

impl Fault {
    /// Every fault, in the order `--list-faults` prints them.
    pub const ALL: [Fault; 2] = [Fault::Silent, Fault::Stale];

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Fault::Silent => "silent",
            Fault::Stale => "stale",
        }
    }

    /// What it does, in a line.
    pub fn describe(self) -> &'static str {
        match self {
            Fault::Silent => {
                "stops answering: connections stay open, requests are read and dropped, nothing is sent"
            }
            Fault::Stale => "measurements freeze at their last values; requests are still answered",
        }
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
    silent: AtomicBool,
    stale: AtomicBool,
    /// Whether a silent fault may come: the device's listener then sits behind a gate.
    gated: AtomicBool,
}

/// The faults a device shows now; cloned into every part of the device that honours them.
#[derive(Debug, Clone, Default)]
pub struct Faults(Arc<Flags>);

impl Faults {
    /// Whether the device is silent.
    pub fn silent(&self) -> bool {
        self.0.silent.load(Ordering::Relaxed)
    }

    /// Whether its measurements are frozen.
    pub fn stale(&self) -> bool {
        self.0.stale.load(Ordering::Relaxed)
    }

    /// Faults for the plans given: each is spawned into `tasks` to turn on at its time.
    pub fn planned(plans: &[FaultPlan], tasks: &mut crate::Tasks) -> Faults {
        let faults = Faults::default();
        for plan in plans {
            if plan.fault == Fault::Silent {
                faults.0.gated.store(true, Ordering::Relaxed);
            }
            tasks.spawn("a fault's schedule", faults.clone().apply(*plan));
        }
        faults
    }

    /// Whether the device's listener must sit behind a gate (a silent fault is planned).
    pub fn gated(&self) -> bool {
        self.0.gated.load(Ordering::Relaxed)
    }

    /// Turns a fault on or off.
    pub fn set(&self, fault: Fault, on: bool) {
        let flag = match fault {
            Fault::Silent => &self.0.silent,
            Fault::Stale => &self.0.stale,
        };
        flag.store(on, Ordering::Relaxed);
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
/// device is [`Faults::silent`]. Accept errors (such as running out of descriptors) are logged and retried
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
                relay(client, device, &faults).await;
            }
            open.fetch_sub(1, Ordering::Relaxed);
        });
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

    #[test]
    fn plans_parse_with_and_without_a_delay() {
        let p: FaultPlan = "stale@2.5".parse().unwrap();
        assert_eq!(p.fault, Fault::Stale);
        assert_eq!(p.after, Duration::from_millis(2500));
        assert_eq!("silent".parse::<FaultPlan>().unwrap().after, Duration::ZERO);
        let e = "loud".parse::<FaultPlan>().unwrap_err();
        assert!(matches!(e, Error::UnknownFault { ref known, .. } if known == "silent, stale"));
        assert!(matches!(
            "silent@-1".parse::<FaultPlan>(),
            Err(Error::UnknownFault { .. })
        ));
    }
}
