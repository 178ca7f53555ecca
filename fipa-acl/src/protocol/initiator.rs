//! The initiator of a one-to-one protocol: Request (SC00026), Query (SC00027), Propose (SC00036) and
//! Subscribe (SC00035).

use super::conversation::Conversation;
use super::{Event, Outcome, Protocol, Timestamp};
use crate::datetime::DateTime;
use crate::error::Error;
use crate::message::{AclMessage, AgentIdentifier, Expression};
use crate::performative::Performative;

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// The opening message is out; no answer yet.
    Sent,
    /// The responder agreed (request, query, subscribe).
    Agreed,
    /// A `cancel` is out, with this `:reply-with`.
    Cancelling(Expression),
    Done,
}

/// The initiator's side of Request, Query, Propose or Subscribe with one responder.
///
/// ```
/// use fipa_acl::protocol::{Event, Initiator, Outcome, Protocol, Timestamp};
/// use fipa_acl::{AclMessage, AgentIdentifier, Performative};
/// let now = Timestamp::from_unix_ms(1_790_000_000_000).unwrap();
/// let (me, hub) = (AgentIdentifier::new("ems@cell-1"), AgentIdentifier::new("hub@cell-1"));
/// let request = AclMessage::new(Performative::Request).content("((action hub (charge 5 kW)))");
/// let mut i = Initiator::new(Protocol::Request, me.clone(), hub.clone(), request, "c-1", None, now).unwrap();
/// let sent = i.poll_transmit().unwrap();
/// i.handle(sent.reply(Performative::Agree, hub.clone()), now);
/// i.handle(sent.reply(Performative::Inform, hub.clone()), now);
/// assert!(matches!(i.outcome(), Some(Outcome::Done(_))));
/// ```
#[derive(Debug, Clone)]
pub struct Initiator {
    conversation: Conversation,
    responder: AgentIdentifier,
    opening: Expression,
    deadline: Option<Timestamp>,
    state: State,
    outcome: Option<Outcome>,
}

impl Initiator {
    /// Starts `protocol` with `responder` by sending `first` — a `request` (Request), `query-if` or
    /// `query-ref` (Query), `propose` (Propose) or `subscribe` (Subscribe) with its content — in
    /// conversation `conversation_id`. With `deadline`, the message carries it as `:reply-by` and the
    /// conversation times out when no answer has come by then.
    pub fn new(
        protocol: Protocol,
        me: AgentIdentifier,
        responder: AgentIdentifier,
        first: AclMessage,
        conversation_id: impl Into<Expression>,
        deadline: Option<Timestamp>,
        _now: Timestamp,
    ) -> Result<Initiator, Error> {
        let allowed: &[Performative] = match protocol {
            Protocol::Request => &[Performative::Request],
            Protocol::Query => &[Performative::QueryIf, Performative::QueryRef],
            Protocol::Propose => &[Performative::Propose],
            Protocol::Subscribe => &[Performative::Subscribe],
            _ => {
                return Err(Error::Invalid {
                    field: "protocol",
                    reason: format!(
                        "{} has its own machine (ContractNetInitiator)",
                        protocol.name()
                    ),
                });
            }
        };
        if !allowed.iter().any(|p| first.performative == *p) {
            return Err(Error::Invalid {
                field: "performative",
                reason: format!("{} does not open {}", first.performative, protocol.name()),
            });
        }
        let mut conversation = Conversation::new(me, conversation_id.into(), protocol);
        let mut first = first;
        first.receivers = vec![responder.clone()];
        first.reply_by = deadline.map(DateTime::from_timestamp);
        let opening = conversation.send(first);
        Ok(Initiator {
            conversation,
            responder,
            opening,
            deadline,
            state: State::Sent,
            outcome: None,
        })
    }

    fn finish(&mut self, outcome: Outcome) {
        self.state = State::Done;
        self.outcome = Some(outcome);
        self.conversation.event(Event::Finished);
    }

    /// Takes one incoming message of this conversation at time `now`.
    pub fn handle(&mut self, m: AclMessage, _now: Timestamp) {
        use Performative as P;
        if !self.conversation.is_reply(&m) || m.sender.as_ref() != Some(&self.responder) {
            return self
                .conversation
                .unexpected(m, "not a reply to this conversation");
        }
        let Some(p) = m.performative.performative() else {
            return self.conversation.unexpected(m, "a user-defined act");
        };
        let protocol = self.conversation.protocol;
        match (&self.state, protocol, p) {
            (State::Done, _, _) => {
                self.conversation.event(Event::Late(m.clone()));
                self.conversation.unexpected(m, "the conversation is over");
            }
            (State::Cancelling(rw), _, P::Inform) if Conversation::answers(&m, rw) => {
                self.finish(Outcome::Cancelled)
            }
            (State::Cancelling(rw), _, P::Failure) if Conversation::answers(&m, rw) => {
                self.finish(Outcome::Failed(m))
            }
            // Notifications still in flight when the cancel went out.
            (State::Cancelling(_), Protocol::Subscribe, P::Inform) => {
                self.conversation.event(Event::Notification(m))
            }
            (State::Cancelling(_), _, _) => {}
            (_, Protocol::Propose, P::AcceptProposal) if self.state == State::Sent => {
                self.finish(Outcome::Done(m))
            }
            (_, Protocol::Propose, P::RejectProposal) if self.state == State::Sent => {
                self.finish(Outcome::Refused(m))
            }
            (State::Sent, Protocol::Request | Protocol::Query | Protocol::Subscribe, P::Agree) => {
                self.state = State::Agreed;
                self.conversation.event(Event::Agreed(m));
            }
            (State::Sent, _, P::Refuse) if protocol != Protocol::Propose => {
                self.finish(Outcome::Refused(m))
            }
            (State::Sent, _, P::NotUnderstood) => self.finish(Outcome::NotUnderstood(m)),
            (State::Sent | State::Agreed, Protocol::Subscribe, P::Inform) => {
                // An inform without a prior agree implies it (SC00035 lets agree be skipped).
                self.state = State::Agreed;
                self.conversation.event(Event::Notification(m));
            }
            (State::Sent | State::Agreed, Protocol::Request | Protocol::Query, P::Inform) => {
                self.finish(Outcome::Done(m))
            }
            (
                State::Sent | State::Agreed,
                Protocol::Request | Protocol::Query | Protocol::Subscribe,
                P::Failure,
            ) => self.finish(Outcome::Failed(m)),
            _ => self
                .conversation
                .unexpected(m, "this act is not allowed here by the protocol"),
        }
    }

    /// Cancels the conversation (SC00026 §2, "cancel meta-protocol"): sends `cancel` with the original
    /// content. The outcome becomes [`Outcome::Cancelled`] when the responder confirms with `inform`.
    /// Does nothing once the conversation is over.
    pub fn cancel(&mut self, _now: Timestamp) {
        if matches!(self.state, State::Done | State::Cancelling(_)) {
            return;
        }
        let cancel = AclMessage::new(Performative::Cancel).to(self.responder.clone());
        let rw = self.conversation.send(cancel);
        self.state = State::Cancelling(rw);
    }

    /// The next message to send.
    pub fn poll_transmit(&mut self) -> Option<AclMessage> {
        self.conversation.poll_transmit()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.conversation.poll_event()
    }

    /// When [`Initiator::handle_timeout`] should next be called: the `reply-by` deadline while no answer has
    /// come.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        match self.state {
            State::Sent => self.deadline,
            _ => None,
        }
    }

    /// Tells the machine the time is `now`; past the deadline with no answer, it ends as
    /// [`Outcome::TimedOut`].
    pub fn handle_timeout(&mut self, now: Timestamp) {
        if let (State::Sent, Some(deadline)) = (&self.state, self.deadline)
            && now >= deadline
        {
            self.finish(Outcome::TimedOut);
        }
    }

    /// How it ended, once it has.
    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    /// The `:reply-with` of the opening message.
    pub fn opening_reply_with(&self) -> &Expression {
        &self.opening
    }

    /// The conversation id.
    pub fn conversation_id(&self) -> &Expression {
        &self.conversation.id
    }
}
