//! The agent's event log: every step of a transaction (UC-01..UC-10), every auxiliary operation
//! (AUX-01..AUX-09), every dispatching decision (AG-04) and every fault, as one JSON object per line, so a
//! test or a lab can read the sequence.

use idea_proto::{Timestamp, TransactionId};
use serde::Serialize;
use std::collections::VecDeque;

/// The most events waiting to be taken; beyond it the oldest are dropped and counted.
pub const MAX_PENDING_EVENTS: usize = 1 << 16;

/// One event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// When.
    pub at: Timestamp,
    /// The agent.
    pub agent: String,
    /// The requirement or use-case step, e.g. `UC-03`, `AUX-04`, `AG-04`.
    pub step: &'static str,
    /// What happened, kebab-case, e.g. `agreed`, `commitment-refused`, `not-understood`.
    pub what: &'static str,
    /// The transaction, when the event belongs to one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction: Option<TransactionId>,
    /// The other agent, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counterparty: Option<String>,
    /// A sentence for a person.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

impl Event {
    /// The event as one JSON line (no newline).
    pub fn to_json_line(&self) -> String {
        // A struct of strings and numbers always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Events waiting to be taken, bounded.
#[derive(Debug, Default)]
pub(crate) struct EventQueue {
    pending: VecDeque<Event>,
    dropped: u64,
}

impl EventQueue {
    pub(crate) fn push(&mut self, event: Event) {
        if self.pending.len() >= MAX_PENDING_EVENTS {
            self.pending.pop_front();
            self.dropped = self.dropped.saturating_add(1);
        }
        self.pending.push_back(event);
    }

    pub(crate) fn pop(&mut self) -> Option<Event> {
        self.pending.pop_front()
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.dropped
    }
}
