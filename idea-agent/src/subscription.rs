//! The agent's subscriptions to services (AUX-04 subscribe to a service, AUX-08 end a subscription).
//!
//! The participation profile in force (AUX-03) says which services the cell may take part in; each of them
//! is subscribed until the owner ends it. Ending a subscription refuses every new transaction in that
//! service at once — calls for offers, orders, flexibility calls — while the transactions already under way
//! go on to their end: an agreed trade is still recorded, delivered and settled. When the last one is over
//! the subscription has ended (event `subscription-ended`); a subscription ended or ending is taken up again
//! by subscribing.

use idea_proto::ServiceId;
use std::collections::BTreeSet;

/// Where a subscription stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubscriptionState {
    /// The cell takes part (if the profile in force lists the service).
    Active,
    /// Ended by the owner; transactions under way still run to their end.
    Ending,
    /// Ended, nothing of it left open.
    Ended,
}

impl SubscriptionState {
    /// The kebab-case name.
    pub fn name(self) -> &'static str {
        match self {
            SubscriptionState::Active => "active",
            SubscriptionState::Ending => "ending",
            SubscriptionState::Ended => "ended",
        }
    }
}

/// The subscriptions the owner ended, and those still ending (every other service is active).
#[derive(Debug, Clone, Default)]
pub struct Subscriptions {
    ending: BTreeSet<ServiceId>,
    ended: BTreeSet<ServiceId>,
}

impl Subscriptions {
    /// Where the subscription to `service` stands.
    pub fn state(&self, service: &ServiceId) -> SubscriptionState {
        if self.ending.contains(service) {
            SubscriptionState::Ending
        } else if self.ended.contains(service) {
            SubscriptionState::Ended
        } else {
            SubscriptionState::Active
        }
    }

    /// Takes `service` up again; whether it was ending or ended.
    pub(crate) fn subscribe(&mut self, service: &ServiceId) -> bool {
        let ending = self.ending.remove(service);
        let ended = self.ended.remove(service);
        ending || ended
    }

    /// Starts ending `service`; whether it was active.
    pub(crate) fn end(&mut self, service: &ServiceId) -> bool {
        if self.state(service) != SubscriptionState::Active {
            return false;
        }
        self.ending.insert(service.clone());
        true
    }

    /// Moves every ending subscription with nothing `open` to ended; returns those.
    pub(crate) fn close(&mut self, open: impl Fn(&ServiceId) -> bool) -> Vec<ServiceId> {
        let done: Vec<ServiceId> = self.ending.iter().filter(|s| !open(s)).cloned().collect();
        for s in &done {
            self.ending.remove(s);
            self.ended.insert(s.clone());
        }
        done
    }

    /// Whether any subscription is ending.
    pub(crate) fn any_ending(&self) -> bool {
        !self.ending.is_empty()
    }
}
