//! The responder of a one-to-one protocol: Request, Query, Propose and Subscribe.

use super::conversation::Conversation;
use super::{Event, Protocol, Timestamp};
use crate::error::Error;
use crate::message::{AclMessage, AgentIdentifier};
use crate::performative::Performative;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The opening message is in; the application has not answered.
    Received,
    /// Agreed; the result (or notifications) follow.
    Agreed,
    Done,
}

/// The responder's side of Request, Query, Propose or Subscribe: built from the opening message, it answers
/// as the application decides ([`Responder::agree`], [`Responder::inform`], …), refuses acts the protocol
/// does not allow in the current state, and confirms a `cancel`.
#[derive(Debug, Clone)]
pub struct Responder {
    conversation: Conversation,
    opening: AclMessage,
    initiator: AgentIdentifier,
    state: State,
}

fn out_of_order(what: &str) -> Error {
    Error::Invalid {
        field: "protocol",
        reason: format!("{what} is not allowed in this state"),
    }
}

impl Responder {
    /// The responder for `opening` (a `request`, `query-if`/`query-ref`, `propose` or `subscribe` with a
    /// sender and a conversation id); the protocol is its `:protocol`, or the one its act opens.
    pub fn new(
        me: AgentIdentifier,
        opening: AclMessage,
        _now: Timestamp,
    ) -> Result<Responder, Error> {
        use Performative as P;
        let by_act = match opening.performative.performative() {
            Some(P::Request) => Protocol::Request,
            Some(P::QueryIf | P::QueryRef) => Protocol::Query,
            Some(P::Propose) => Protocol::Propose,
            Some(P::Subscribe) => Protocol::Subscribe,
            _ => {
                return Err(Error::Invalid {
                    field: "performative",
                    reason: format!("{} opens no one-to-one protocol", opening.performative),
                });
            }
        };
        let protocol = opening
            .protocol
            .as_deref()
            .and_then(Protocol::from_name)
            .unwrap_or(by_act);
        if protocol != by_act {
            return Err(Error::Invalid {
                field: "protocol",
                reason: format!("{} does not open {}", opening.performative, protocol.name()),
            });
        }
        let initiator = opening.sender.clone().ok_or(Error::Invalid {
            field: "sender",
            reason: "the opening message has no sender".into(),
        })?;
        let id = opening.conversation_id.clone().ok_or(Error::Invalid {
            field: "conversation-id",
            reason: "the opening message has no conversation id".into(),
        })?;
        Ok(Responder {
            conversation: Conversation::new(me, id, protocol),
            opening,
            initiator,
            state: State::Received,
        })
    }

    fn answer(&mut self, p: Performative, content: Option<bytes::Bytes>) {
        let mut reply = self.opening.reply(p, self.conversation.me.clone());
        reply.content = content;
        reply.protocol = Some(self.conversation.protocol.name().to_owned());
        self.conversation.queue(reply);
    }

    /// Agrees (request, query, subscribe); the result or notifications follow.
    pub fn agree(&mut self) -> Result<(), Error> {
        if self.state != State::Received || self.conversation.protocol == Protocol::Propose {
            return Err(out_of_order("agree"));
        }
        self.answer(Performative::Agree, None);
        self.state = State::Agreed;
        Ok(())
    }

    /// Refuses, with the reason as content; the conversation ends.
    pub fn refuse(&mut self, reason: impl Into<bytes::Bytes>) -> Result<(), Error> {
        if self.state != State::Received || self.conversation.protocol == Protocol::Propose {
            return Err(out_of_order("refuse"));
        }
        self.answer(Performative::Refuse, Some(reason.into()));
        self.state = State::Done;
        Ok(())
    }

    /// Informs: the result of a request or query (the conversation ends), or a subscription's notification
    /// (it goes on until cancelled).
    pub fn inform(&mut self, content: impl Into<bytes::Bytes>) -> Result<(), Error> {
        if self.state == State::Done || self.conversation.protocol == Protocol::Propose {
            return Err(out_of_order("inform"));
        }
        self.answer(Performative::Inform, Some(content.into()));
        self.state = if self.conversation.protocol == Protocol::Subscribe {
            State::Agreed
        } else {
            State::Done
        };
        Ok(())
    }

    /// Reports failure after agreeing; the conversation ends.
    pub fn failure(&mut self, reason: impl Into<bytes::Bytes>) -> Result<(), Error> {
        if self.state == State::Done || self.conversation.protocol == Protocol::Propose {
            return Err(out_of_order("failure"));
        }
        self.answer(Performative::Failure, Some(reason.into()));
        self.state = State::Done;
        Ok(())
    }

    /// Accepts a proposal (Propose).
    pub fn accept(&mut self) -> Result<(), Error> {
        self.decide(Performative::AcceptProposal)
    }

    /// Rejects a proposal (Propose).
    pub fn reject(&mut self) -> Result<(), Error> {
        self.decide(Performative::RejectProposal)
    }

    fn decide(&mut self, p: Performative) -> Result<(), Error> {
        if self.state != State::Received || self.conversation.protocol != Protocol::Propose {
            return Err(out_of_order(p.name()));
        }
        let content = self.opening.content.clone();
        self.answer(p, content);
        self.state = State::Done;
        Ok(())
    }

    /// Takes one incoming message of this conversation: a `cancel` from the initiator is confirmed with
    /// `inform` and ends the conversation; anything else is answered with `not-understood`.
    pub fn handle(&mut self, m: AclMessage, _now: Timestamp) {
        let from_initiator = m.sender.as_ref() == Some(&self.initiator)
            && m.conversation_id.as_ref() == Some(&self.conversation.id);
        if from_initiator && m.performative == Performative::Cancel && self.state != State::Done {
            let mut confirm = m.reply(Performative::Inform, self.conversation.me.clone());
            confirm.protocol = Some(self.conversation.protocol.name().to_owned());
            self.conversation.queue(confirm);
            self.state = State::Done;
            self.conversation.event(Event::Cancelled(m));
            self.conversation.event(Event::Finished);
            return;
        }
        let reason = if from_initiator {
            "this act is not allowed here by the protocol"
        } else {
            "not part of this conversation"
        };
        self.conversation.unexpected(m, reason);
    }

    /// The message that opened the conversation.
    pub fn opening(&self) -> &AclMessage {
        &self.opening
    }

    /// The protocol.
    pub fn protocol(&self) -> Protocol {
        self.conversation.protocol
    }

    /// Whether the conversation is over.
    pub fn is_finished(&self) -> bool {
        self.state == State::Done
    }

    /// The next message to send.
    pub fn poll_transmit(&mut self) -> Option<AclMessage> {
        self.conversation.poll_transmit()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.conversation.poll_event()
    }

    /// A responder has no deadlines of its own.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        None
    }

    /// A responder has no deadlines of its own; nothing happens.
    pub fn handle_timeout(&mut self, _now: Timestamp) {}
}
