//! Where a run's real time goes, by phase of the conductor's loop: what the scale run reports (wall-clock
//! figures, outside the reproducible part of the report).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Real time spent per phase.
#[derive(Debug, Clone, Default)]
pub(crate) struct Phases {
    spent: BTreeMap<&'static str, Duration>,
}

impl Phases {
    /// Adds the time since `since` to `phase`; returns now, to time the next phase from.
    pub(crate) fn add(&mut self, phase: &'static str, since: Instant) -> Instant {
        let now = Instant::now();
        let spent = self.spent.entry(phase).or_default();
        *spent = spent.saturating_add(now.saturating_duration_since(since));
        now
    }

    /// Adds to `phase` the time since `since` that no other phase accounted for (`since`: when these phases
    /// were empty).
    pub(crate) fn add_rest(&mut self, phase: &'static str, since: Instant) {
        let accounted = self
            .spent
            .values()
            .fold(Duration::ZERO, |a, d| a.saturating_add(*d));
        let rest = since.elapsed().saturating_sub(accounted);
        let spent = self.spent.entry(phase).or_default();
        *spent = spent.saturating_add(rest);
    }

    /// Each phase with its seconds, the longest first.
    pub(crate) fn seconds(&self) -> Vec<(String, f64)> {
        let mut v: Vec<(String, f64)> = self
            .spent
            .iter()
            .map(|(p, d)| ((*p).to_owned(), d.as_secs_f64()))
            .collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v
    }
}

/// The phases' names, as reported.
pub(crate) mod phase {
    /// Building the complex: devices served, parties connected, cells joined.
    pub(crate) const BUILD: &str = "build";
    /// Stepping the model (power flows, dynamics) and accounting each step.
    pub(crate) const MODEL: &str = "model";
    /// The cells' device links over Modbus: reading meters and hubs, commanding setpoints.
    pub(crate) const DEVICES: &str = "devices (Modbus)";
    /// The meter gateways reading their meters over Modbus and signing readings.
    pub(crate) const READINGS: &str = "meter readings";
    /// Deadlines: the market's clearing, the agents' and services' timers.
    pub(crate) const TIMERS: &str = "timers (market clearing…)";
    /// Parties' messages out: encoding, signing, publishing.
    pub(crate) const SENDING: &str = "sending";
    /// Waiting for what was sent to arrive over the broker.
    pub(crate) const DELIVERY: &str = "delivery (MQTT)";
    /// The cells' agents taking their messages.
    pub(crate) const AGENTS: &str = "agents";
    /// The directory taking its messages (registrations, searches, subscriptions).
    pub(crate) const DIRECTORY: &str = "directory";
    /// The market taking its messages (orders).
    pub(crate) const MARKET: &str = "market";
    /// The load-shedding service taking its messages and switching relays over MQTT.
    pub(crate) const SHEDDING: &str = "load-shedding service";
    /// The TE node verifying submissions, its notices heard, the ledger committed.
    pub(crate) const TE: &str = "TE node and ledger";
    /// The loads' states over MQTT and the operator's IEC 104 reading, per interval.
    pub(crate) const FIELD: &str = "load states and router (MQTT, IEC 104)";
    /// The owners' order policies and placing orders.
    pub(crate) const ORDERS: &str = "orders";
    /// The report and its checks.
    pub(crate) const CHECKS: &str = "checks";
}
