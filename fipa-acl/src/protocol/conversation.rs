//! What every protocol machine keeps: who it is, the conversation, the `:reply-with` values it sent, and its
//! queues of messages to send and events to report.

use super::{Event, Protocol, not_understood};
use crate::message::{AclMessage, AgentIdentifier, Expression};
use crate::performative::Performative;
use std::collections::VecDeque;

#[derive(Debug, Clone)]
pub(crate) struct Conversation {
    pub(crate) me: AgentIdentifier,
    pub(crate) id: Expression,
    pub(crate) protocol: Protocol,
    sent: Vec<Expression>,
    counter: u32,
    outbox: VecDeque<AclMessage>,
    events: VecDeque<Event>,
}

impl Conversation {
    pub(crate) fn new(me: AgentIdentifier, id: Expression, protocol: Protocol) -> Conversation {
        Conversation {
            me,
            id,
            protocol,
            sent: Vec::new(),
            counter: 0,
            outbox: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// A fresh `:reply-with` value (the conversation's id, a dot and a counter), remembered as one a reply
    /// may quote.
    pub(crate) fn reply_with(&mut self) -> Expression {
        self.counter = self.counter.saturating_add(1);
        let value = Expression::from(format!("{}.{}", self.id, self.counter));
        self.sent.push(value.clone());
        value
    }

    /// Stamps `m` as part of this conversation (sender, protocol, conversation, a fresh `:reply-with`) and
    /// queues it.
    pub(crate) fn send(&mut self, mut m: AclMessage) -> Expression {
        m.sender = Some(self.me.clone());
        m.protocol = Some(self.protocol.name().to_owned());
        m.conversation_id = Some(self.id.clone());
        let rw = self.reply_with();
        m.reply_with = Some(rw.clone());
        self.outbox.push_back(m);
        rw
    }

    /// Whether `m` belongs here and quotes one of our `:reply-with` values.
    pub(crate) fn is_reply(&self, m: &AclMessage) -> bool {
        m.conversation_id.as_ref() == Some(&self.id)
            && m.in_reply_to
                .as_ref()
                .is_some_and(|r| self.sent.iter().any(|s| s == r))
    }

    /// Whether `m` quotes exactly `reply_with`.
    pub(crate) fn answers(m: &AclMessage, reply_with: &Expression) -> bool {
        m.in_reply_to.as_ref() == Some(reply_with)
    }

    /// Reports `m` as unexpected and answers it with `not-understood` (unless it is one).
    pub(crate) fn unexpected(&mut self, m: AclMessage, reason: &str) {
        if m.performative != Performative::NotUnderstood && m.sender.is_some() {
            let mut reply = not_understood(&m, &self.me, reason);
            reply.protocol = Some(self.protocol.name().to_owned());
            self.outbox.push_back(reply);
        }
        self.events.push_back(Event::Unexpected(m));
    }

    pub(crate) fn event(&mut self, e: Event) {
        self.events.push_back(e);
    }

    pub(crate) fn queue(&mut self, m: AclMessage) {
        self.outbox.push_back(m);
    }

    pub(crate) fn poll_transmit(&mut self) -> Option<AclMessage> {
        self.outbox.pop_front()
    }

    pub(crate) fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }
}
