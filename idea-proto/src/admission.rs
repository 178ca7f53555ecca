//! Admission of connections to a listener, as policy without I/O: how many connections a server keeps at once
//! and from one address ([`Admission`]), and how long it pauses after a failed accept ([`AcceptBackoff`]).
//! Every server of the SDK (IEC 104, Modbus, IEEE 2030.5) uses these, so a listener never dies on an accept
//! error (out of file descriptors, a reset before accept) and no single client address takes every slot.
//!
//! ```
//! use idea_proto::admission::{Admission, AdmissionLimits};
//! let admission = Admission::new(AdmissionLimits { total: 2, per_address: 1 });
//! let a: std::net::IpAddr = "192.0.2.1".parse().unwrap();
//! let first = admission.admit(a).unwrap();
//! assert!(admission.admit(a).is_err(), "one per address");
//! drop(first);
//! assert!(admission.admit(a).is_ok(), "the slot is free again");
//! ```

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// How many connections a server keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdmissionLimits {
    /// At once, from everyone.
    pub total: usize,
    /// At once, from one client address.
    pub per_address: usize,
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// The server holds its most connections.
    Full {
        /// The limit.
        total: usize,
    },
    /// This address holds its most connections.
    AddressFull {
        /// The limit.
        per_address: usize,
    },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Full { total } => write!(f, "{total} connections already served"),
            Refusal::AddressFull { per_address } => {
                write!(f, "{per_address} connections from this address already")
            }
        }
    }
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

/// Counts the connections a server holds; cheap to clone (one shared count).
#[derive(Debug, Clone)]
pub struct Admission {
    limits: AdmissionLimits,
    counts: Arc<Mutex<Counts>>,
}

/// An admitted connection: its slot is freed when this is dropped.
#[derive(Debug)]
pub struct Permit {
    address: IpAddr,
    counts: Arc<Mutex<Counts>>,
}

impl Admission {
    /// No connection held yet.
    pub fn new(limits: AdmissionLimits) -> Admission {
        Admission {
            limits,
            counts: Arc::default(),
        }
    }

    /// The limits.
    pub fn limits(&self) -> AdmissionLimits {
        self.limits
    }

    /// Admits a connection from `address`, or says why not.
    pub fn admit(&self, address: IpAddr) -> Result<Permit, Refusal> {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        if counts.total >= self.limits.total {
            return Err(Refusal::Full {
                total: self.limits.total,
            });
        }
        let held = counts.by_address.get(&address).copied().unwrap_or(0);
        if held >= self.limits.per_address {
            return Err(Refusal::AddressFull {
                per_address: self.limits.per_address,
            });
        }
        counts.total = counts.total.saturating_add(1);
        counts.by_address.insert(address, held.saturating_add(1));
        Ok(Permit {
            address,
            counts: Arc::clone(&self.counts),
        })
    }

    /// Connections held now.
    pub fn held(&self) -> usize {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .total
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        counts.total = counts.total.saturating_sub(1);
        if let Some(n) = counts.by_address.get_mut(&self.address) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.by_address.remove(&self.address);
            }
        }
    }
}

/// The pause after a failed accept: 10 ms, doubling while failures repeat, at most 1 s; reset by a success.
#[derive(Debug, Default, Clone)]
pub struct AcceptBackoff {
    failures: u32,
}

impl AcceptBackoff {
    const FIRST: Duration = Duration::from_millis(10);
    const MOST: Duration = Duration::from_secs(1);

    /// The pause before the next accept, after a failure.
    pub fn next_pause(&mut self) -> Duration {
        let pause = Self::FIRST
            .saturating_mul(1u32 << self.failures.min(7))
            .min(Self::MOST);
        self.failures = self.failures.saturating_add(1);
        pause
    }

    /// An accept succeeded.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn limits_hold_and_slots_come_back() {
        let admission = Admission::new(AdmissionLimits {
            total: 3,
            per_address: 2,
        });
        let (a, b, c): (IpAddr, IpAddr, IpAddr) = (
            "192.0.2.1".parse().unwrap(),
            "192.0.2.2".parse().unwrap(),
            "192.0.2.3".parse().unwrap(),
        );
        let a1 = admission.admit(a).unwrap();
        let _a2 = admission.admit(a).unwrap();
        assert_eq!(
            admission.admit(a).unwrap_err(),
            Refusal::AddressFull { per_address: 2 }
        );
        let _b1 = admission.admit(b).unwrap();
        assert_eq!(admission.admit(c).unwrap_err(), Refusal::Full { total: 3 });
        drop(a1);
        assert_eq!(admission.held(), 2);
        assert!(admission.admit(c).is_ok());
    }

    #[test]
    fn the_backoff_doubles_to_a_second_and_resets() {
        let mut backoff = AcceptBackoff::default();
        let pauses: Vec<u128> = (0..9).map(|_| backoff.next_pause().as_millis()).collect();
        assert_eq!(pauses, [10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        backoff.reset();
        assert_eq!(backoff.next_pause(), Duration::from_millis(10));
    }
}
