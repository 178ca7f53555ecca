//! FIPA interaction protocols as sans-IO state machines driven by explicit time (quinn-proto style): give a
//! machine each incoming message with the current time ([`Initiator::handle`]), take the messages it wants
//! sent ([`Initiator::poll_transmit`]), ask for its next deadline ([`Initiator::poll_timeout`]) and tell it
//! when that passes ([`Initiator::handle_timeout`]); it reports [`Event`]s as they happen and an outcome at
//! the end. No socket, clock or RNG inside.
//!
//! - [`Initiator`] and [`Responder`]: FIPA Request (SC00026), Query (SC00027), Propose (SC00036) and
//!   Subscribe (SC00035), with `cancel`.
//! - [`ContractNetInitiator`] and [`ContractNetParticipant`]: Contract Net (SC00029) with the `reply-by`
//!   deadline — late proposals are rejected — and Iterated Contract Net (SC00030).
//!
//! Replies are matched by `:conversation-id` and by `:in-reply-to` quoting a `:reply-with` the machine sent,
//! and must come from an agent the conversation involves. Anything else — a stranger, a reply to nothing, an
//! act the protocol does not allow in the current state — is answered with `not-understood` (never to a
//! `not-understood`, so two machines cannot loop) and reported as [`Event::Unexpected`]; nothing panics.

mod contract_net;
mod conversation;
mod initiator;
mod responder;

pub use contract_net::{ContractNetInitiator, ContractNetOutcome, ContractNetParticipant};
pub use initiator::Initiator;
pub use responder::Responder;

use crate::message::{AclMessage, AgentIdentifier};
pub use idea_proto::{Duration, Timestamp};

/// A FIPA interaction protocol, named as `:protocol` carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Protocol {
    /// `fipa-request` (SC00026).
    Request,
    /// `fipa-query` (SC00027).
    Query,
    /// `fipa-contract-net` (SC00029).
    ContractNet,
    /// `fipa-iterated-contract-net` (SC00030).
    IteratedContractNet,
    /// `fipa-subscribe` (SC00035).
    Subscribe,
    /// `fipa-propose` (SC00036).
    Propose,
}

impl Protocol {
    /// Every protocol.
    pub const ALL: [Protocol; 6] = [
        Protocol::Request,
        Protocol::Query,
        Protocol::ContractNet,
        Protocol::IteratedContractNet,
        Protocol::Subscribe,
        Protocol::Propose,
    ];

    /// The name `:protocol` carries.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Request => "fipa-request",
            Protocol::Query => "fipa-query",
            Protocol::ContractNet => "fipa-contract-net",
            Protocol::IteratedContractNet => "fipa-iterated-contract-net",
            Protocol::Subscribe => "fipa-subscribe",
            Protocol::Propose => "fipa-propose",
        }
    }

    /// The protocol named `name`, ignoring case.
    pub fn from_name(name: &str) -> Option<Protocol> {
        Protocol::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(name))
    }
}

/// How a conversation ended, for the initiator of a one-to-one protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The act was done: the `inform` (request, query, the confirmation of a cancelled subscription) or the
    /// `accept-proposal` (propose).
    Done(AclMessage),
    /// The responder refused (`refuse`, or `reject-proposal` for a proposal).
    Refused(AclMessage),
    /// The responder agreed but failed (`failure`).
    Failed(AclMessage),
    /// The responder did not understand the request.
    NotUnderstood(AclMessage),
    /// The initiator cancelled, and the responder confirmed (or nothing was pending).
    Cancelled,
    /// No reply came before the `reply-by` deadline.
    TimedOut,
}

/// Something a protocol machine reports as it happens.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The responder agreed (`agree`); the result follows.
    Agreed(AclMessage),
    /// A subscription's notification (`inform`).
    Notification(AclMessage),
    /// A contract-net proposal that arrived in time.
    Proposal(AclMessage),
    /// A contract-net participant refused or did not understand the call.
    Refusal(AclMessage),
    /// Every participant answered, or the `reply-by` deadline passed: choose with
    /// [`ContractNetInitiator::accept`] (or [`ContractNetInitiator::iterate`]).
    ProposalsComplete,
    /// An accepted participant reported its result: `Ok(inform)` or `Err(failure)`.
    Result(Result<AclMessage, AclMessage>),
    /// For a participant or responder: the initiator accepted the proposal.
    Accepted(AclMessage),
    /// For a participant or responder: the initiator rejected the proposal.
    Rejected(AclMessage),
    /// For a participant: a new call for proposals in an iterated contract net.
    NewRound(AclMessage),
    /// For a responder: the initiator cancelled.
    Cancelled(AclMessage),
    /// A reply that came after its deadline (a late proposal is also rejected).
    Late(AclMessage),
    /// A message outside the protocol; it was answered with `not-understood`.
    Unexpected(AclMessage),
    /// The conversation is over; the outcome is available.
    Finished,
}

/// The `not-understood` answer to `m` from `me`, with the SL0 content `((action sender (act)) (reason))`
/// (SC00037: the action not understood and why).
pub fn not_understood(m: &AclMessage, me: &AgentIdentifier, reason: &str) -> AclMessage {
    use crate::sl0::{Action, Content, ContentElement, Formula, Term};
    let actor = m
        .sender
        .as_ref()
        .map_or_else(|| Term::word("unknown"), Term::agent_identifier);
    let content = Content(vec![
        ContentElement::Action(Action {
            actor,
            act: Term::Function {
                symbol: m.performative.to_string(),
                args: vec![],
            },
        }),
        ContentElement::Formula(Formula::Predicate {
            symbol: "error-message".into(),
            args: vec![Term::String(reason.as_bytes().to_vec())],
        }),
    ]);
    let mut reply = m.reply(crate::Performative::NotUnderstood, me.clone());
    reply.language = Some("fipa-sl0".into());
    reply.content = Some(content.to_bytes().into());
    reply
}
