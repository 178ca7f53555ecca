//! Debt payment channels between two avatars (TE-09): each delivered quantity becomes a debt (an IOU)
//! signed by both; the totals only grow; opposite debts net; a state counts once both signed it and each
//! side saved it; closes are cooperative or go through a challenge window.

mod close;
mod objects;
mod peer;

pub use close::{
    Adjudicator, ChallengeOutcome, ChannelStatus, Equivocation, PayoutFailure, Payouts, Settlement,
};
pub use objects::{
    ChannelClose, ChannelOpen, ChannelState, CloseRequest, Debt, MAX_ENTRIES_PER_UPDATE, Party,
    Payment,
};
pub use peer::{Accepted, Channel, ChannelStore, MAX_PROPOSALS_PER_COUNTER, MemoryChannelStore};
