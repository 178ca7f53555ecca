//! The lifecycle of an energy transaction as a state machine driven by explicit time.
//!
//! The ten steps of the main use case (UC-01..UC-10) move a transaction from `requested` to `settled`; it can
//! also end `rejected`, `expired`, `failed` or, after measurement, go through `disputed`. UC-07 (stability and
//! power quality kept during execution) is not a state of its own: a violation while executing ends the
//! transaction `failed`. Only the transitions in [`TRANSITIONS`] are legal.
//!
//! ```
//! use idea_proto::{Lifecycle, Timestamp, TransactionId, TransactionState as S, Duration};
//! let t0: Timestamp = "2026-11-24T10:00:00Z".parse()?;
//! let reply_by = t0.checked_add(Duration::from_secs(30))?;
//! let mut tx = Lifecycle::open(TransactionId::from_bytes([9; 16]), t0, Some(reply_by));
//! assert_eq!(tx.poll_timeout(), Some(reply_by));
//! tx.handle_timeout(reply_by);
//! assert_eq!(tx.state(), S::Expired);
//! assert!(tx.transition(S::Answered, reply_by).is_err());
//! # Ok::<(), idea_proto::Error>(())
//! ```

use crate::error::Result;
use crate::{Error, Timestamp, TransactionId};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The state of a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransactionState {
    /// UC-01: a request was sent.
    #[doc(alias = "UC-01")]
    Requested,
    /// UC-02: the other side answered.
    #[doc(alias = "UC-02")]
    Answered,
    /// UC-03: messages are being exchanged to form the contract.
    Negotiating,
    /// UC-03: the contract parameters are agreed.
    #[doc(alias = "UC-03")]
    Agreed,
    /// UC-04: the contract parameters are recorded.
    #[doc(alias = "UC-04")]
    Recorded,
    /// UC-05: commands were sent to the cells' control systems.
    #[doc(alias = "UC-05")]
    Commanded,
    /// UC-06: the flows are changing; UC-07 stability is being kept.
    #[doc(alias = "UC-06")]
    Executing,
    /// UC-08: the actual flow of an interval was measured.
    #[doc(alias = "UC-08")]
    Measured,
    /// UC-09: execution was completed by command.
    #[doc(alias = "UC-09")]
    Completed,
    /// UC-10: paid on the measured flow.
    #[doc(alias = "UC-10")]
    Settled,
    /// Refused by the other side.
    Rejected,
    /// A deadline passed before agreement or recording.
    Expired,
    /// Execution or recording failed.
    Failed,
    /// A party disputes the measurement or the settlement (TE-05).
    Disputed,
}

impl TransactionState {
    /// All states, in lifecycle order.
    pub const ALL: [TransactionState; 14] = [
        TransactionState::Requested,
        TransactionState::Answered,
        TransactionState::Negotiating,
        TransactionState::Agreed,
        TransactionState::Recorded,
        TransactionState::Commanded,
        TransactionState::Executing,
        TransactionState::Measured,
        TransactionState::Completed,
        TransactionState::Settled,
        TransactionState::Rejected,
        TransactionState::Expired,
        TransactionState::Failed,
        TransactionState::Disputed,
    ];

    /// Whether no transition leaves this state.
    pub fn is_terminal(self) -> bool {
        !TRANSITIONS.iter().any(|t| t.from == self)
    }

    /// The kebab-case name.
    pub fn name(self) -> &'static str {
        match self {
            TransactionState::Requested => "requested",
            TransactionState::Answered => "answered",
            TransactionState::Negotiating => "negotiating",
            TransactionState::Agreed => "agreed",
            TransactionState::Recorded => "recorded",
            TransactionState::Commanded => "commanded",
            TransactionState::Executing => "executing",
            TransactionState::Measured => "measured",
            TransactionState::Completed => "completed",
            TransactionState::Settled => "settled",
            TransactionState::Rejected => "rejected",
            TransactionState::Expired => "expired",
            TransactionState::Failed => "failed",
            TransactionState::Disputed => "disputed",
        }
    }

    /// The state a passed deadline leads to, if this state has one: before recording a transaction expires;
    /// once recorded, missing the delivery deadline fails it.
    pub fn on_deadline(self) -> Option<TransactionState> {
        use TransactionState as S;
        match self {
            S::Requested | S::Answered | S::Negotiating | S::Agreed => Some(S::Expired),
            S::Recorded | S::Commanded | S::Executing => Some(S::Failed),
            _ => None,
        }
    }
}

impl fmt::Display for TransactionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One legal transition and the use-case step that makes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// The state left.
    pub from: TransactionState,
    /// The state entered.
    pub to: TransactionState,
    /// The step of the use case, e.g. `UC-04`.
    pub step: &'static str,
}

const fn t(from: TransactionState, to: TransactionState, step: &'static str) -> Transition {
    Transition { from, to, step }
}

use TransactionState::{
    Agreed, Answered, Commanded, Completed, Disputed, Executing, Expired, Failed, Measured,
    Negotiating, Recorded, Rejected, Requested, Settled,
};

/// Every legal transition. A transition not listed here is refused with [`Error::IllegalTransition`].
pub const TRANSITIONS: &[Transition] = &[
    t(Requested, Answered, "UC-02"),
    t(Requested, Rejected, "UC-02"),
    t(Requested, Expired, "deadline"),
    t(Answered, Negotiating, "UC-03"),
    t(Answered, Agreed, "UC-03"),
    t(Answered, Rejected, "UC-03"),
    t(Answered, Expired, "deadline"),
    t(Negotiating, Negotiating, "UC-03"),
    t(Negotiating, Agreed, "UC-03"),
    t(Negotiating, Rejected, "UC-03"),
    t(Negotiating, Expired, "deadline"),
    t(Agreed, Recorded, "UC-04"),
    t(Agreed, Expired, "deadline"),
    t(Recorded, Commanded, "UC-05"),
    t(Recorded, Failed, "UC-05"),
    t(Commanded, Executing, "UC-06"),
    t(Commanded, Failed, "UC-06"),
    t(Executing, Measured, "UC-08"),
    t(Executing, Failed, "UC-07"),
    t(Measured, Executing, "UC-09"),
    t(Measured, Completed, "UC-09"),
    t(Measured, Failed, "UC-09"),
    t(Measured, Disputed, "TE-05"),
    t(Completed, Settled, "UC-10"),
    t(Completed, Disputed, "TE-05"),
    t(Disputed, Settled, "TE-05"),
    t(Disputed, Failed, "TE-05"),
];

/// The transition from `from` to `to`, if legal.
pub fn transition(from: TransactionState, to: TransactionState) -> Option<&'static Transition> {
    TRANSITIONS.iter().find(|t| t.from == from && t.to == to)
}

/// A recorded state change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StateChange {
    /// The state left.
    pub from: TransactionState,
    /// The state entered.
    pub to: TransactionState,
    /// When.
    pub at: Timestamp,
}

/// The most state changes one lifecycle keeps (a long multi-interval delivery alternates executing and
/// measured once per interval).
pub const MAX_HISTORY: usize = 4 * crate::transaction::MAX_INTERVALS as usize;

/// The lifecycle of one transaction: its state, the history of changes, and the deadline of the current state.
/// Sans-IO: every call takes the current time; nothing reads a clock.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "LifecycleFields", into = "LifecycleFields")]
pub struct Lifecycle {
    transaction_id: TransactionId,
    opened: Timestamp,
    state: TransactionState,
    history: Vec<StateChange>,
    deadline: Option<Timestamp>,
}

#[derive(Serialize, Deserialize)]
struct LifecycleFields {
    transaction_id: TransactionId,
    opened: Timestamp,
    history: Vec<StateChange>,
    deadline: Option<Timestamp>,
}

impl Lifecycle {
    /// UC-01: a transaction requested at `now`, to be answered by `reply_by`.
    pub fn open(
        transaction_id: TransactionId,
        now: Timestamp,
        reply_by: Option<Timestamp>,
    ) -> Lifecycle {
        Lifecycle {
            transaction_id,
            opened: now,
            state: Requested,
            history: Vec::new(),
            deadline: reply_by,
        }
    }

    /// Rebuilds a lifecycle from its history, checking that every change is legal, follows the previous one,
    /// and is not earlier than it.
    pub fn from_history(
        transaction_id: TransactionId,
        opened: Timestamp,
        history: Vec<StateChange>,
        deadline: Option<Timestamp>,
    ) -> Result<Lifecycle> {
        if history.len() > MAX_HISTORY {
            return Err(Error::invalid(
                "history",
                format!("at most {MAX_HISTORY} changes, not {}", history.len()),
            ));
        }
        let mut lifecycle = Lifecycle::open(transaction_id, opened, None);
        for (i, change) in history.iter().enumerate() {
            if change.from != lifecycle.state {
                return Err(Error::invalid(
                    format!("history[{i}].from"),
                    format!(
                        "is {} but the transaction was {}",
                        change.from, lifecycle.state
                    ),
                ));
            }
            lifecycle
                .transition(change.to, change.at)
                .map_err(|e| match e {
                    Error::InvalidField { reason, .. } => {
                        Error::invalid(format!("history[{i}].at_unix_ms"), reason)
                    }
                    other => other,
                })?;
        }
        lifecycle.deadline = deadline;
        Ok(lifecycle)
    }

    /// The transaction.
    pub fn transaction_id(&self) -> TransactionId {
        self.transaction_id
    }

    /// When it was requested.
    pub fn opened(&self) -> Timestamp {
        self.opened
    }

    /// The current state.
    pub fn state(&self) -> TransactionState {
        self.state
    }

    /// Every change so far, oldest first.
    pub fn history(&self) -> &[StateChange] {
        &self.history
    }

    /// The deadline of the current state, if any.
    pub fn deadline(&self) -> Option<Timestamp> {
        self.deadline
    }

    /// Sets or clears the deadline of the current state (reply-by, agreement, end of delivery plus grace).
    pub fn set_deadline(&mut self, deadline: Option<Timestamp>) {
        self.deadline = deadline;
    }

    /// Moves to `to` at `now`. An illegal transition is [`Error::IllegalTransition`] naming both states; a
    /// `now` earlier than the last change is refused. The deadline is cleared: each state sets its own.
    pub fn transition(&mut self, to: TransactionState, now: Timestamp) -> Result<()> {
        if transition(self.state, to).is_none() {
            return Err(Error::IllegalTransition {
                from: self.state,
                to,
            });
        }
        let last = self.history.last().map_or(self.opened, |c| c.at);
        if now < last {
            return Err(Error::invalid(
                "at",
                format!("{now} is before the previous change at {last}"),
            ));
        }
        if self.history.len() >= MAX_HISTORY {
            return Err(Error::invalid(
                "history",
                format!("at most {MAX_HISTORY} changes"),
            ));
        }
        self.history.push(StateChange {
            from: self.state,
            to,
            at: now,
        });
        self.state = to;
        self.deadline = None;
        Ok(())
    }

    /// When [`Lifecycle::handle_timeout`] should next be called, if the current state can time out.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.state.on_deadline().and(self.deadline)
    }

    /// Applies a passed deadline: before recording the transaction expires, once recorded it fails. What
    /// changed shows in [`Lifecycle::state`] and [`Lifecycle::history`].
    pub fn handle_timeout(&mut self, now: Timestamp) {
        if let (Some(deadline), Some(next)) = (self.poll_timeout(), self.state.on_deadline())
            && now >= deadline
        {
            // A deadline state's successor is a legal transition, and `now` is past the last change.
            let _ = self.transition(next, now);
        }
    }
}

impl TryFrom<LifecycleFields> for Lifecycle {
    type Error = Error;
    fn try_from(f: LifecycleFields) -> Result<Lifecycle> {
        Lifecycle::from_history(f.transaction_id, f.opened, f.history, f.deadline)
    }
}

impl From<Lifecycle> for LifecycleFields {
    fn from(l: Lifecycle) -> LifecycleFields {
        LifecycleFields {
            transaction_id: l.transaction_id,
            opened: l.opened,
            history: l.history,
            deadline: l.deadline,
        }
    }
}
