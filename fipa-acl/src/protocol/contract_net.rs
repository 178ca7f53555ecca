//! Contract Net (SC00029) and Iterated Contract Net (SC00030): the initiator calls for proposals with a
//! `reply-by` deadline, collects proposals until every participant has answered or the deadline passes,
//! accepts some and rejects the rest, and collects the results of the accepted; in the iterated form it may
//! instead call a new round among some of the proposers. Proposals that arrive after the deadline are
//! rejected ("late proposal"), as SC00029 prescribes.

use super::conversation::Conversation;
use super::{Event, Protocol, Timestamp};
use crate::datetime::DateTime;
use crate::error::Error;
use crate::message::{AclMessage, AgentIdentifier, Expression};
use crate::performative::Performative;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// A call is out with this `:reply-with`; proposals are coming in.
    Calling(Expression),
    /// The call is closed; the application chooses.
    Evaluating,
    /// Accepted participants are working; their results are coming in.
    Awaiting,
    Done,
}

/// How a contract net ended.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContractNetOutcome {
    /// The proposals accepted, in the order they arrived.
    pub accepted: Vec<AclMessage>,
    /// Each accepted participant's result: `Ok(inform)` or `Err(failure)`, in the order they arrived.
    pub results: Vec<Result<AclMessage, AclMessage>>,
    /// Whether the initiator cancelled before every result came.
    pub cancelled: bool,
}

/// The initiator's side of a (possibly iterated) contract net.
#[derive(Debug, Clone)]
pub struct ContractNetInitiator {
    conversation: Conversation,
    participants: Vec<AgentIdentifier>,
    deadline: Timestamp,
    phase: Phase,
    proposals: Vec<AclMessage>,
    answered: Vec<AgentIdentifier>,
    /// `:reply-with` of each accept-proposal sent, with the participant.
    accepted: Vec<(AgentIdentifier, Expression)>,
    outcome: ContractNetOutcome,
}

impl ContractNetInitiator {
    /// Calls for proposals: sends `cfp` (its content is the task) to `participants` in conversation
    /// `conversation_id`, with `deadline` as `:reply-by`. `iterated` selects Iterated Contract Net (SC00030).
    pub fn new(
        me: AgentIdentifier,
        participants: Vec<AgentIdentifier>,
        cfp: AclMessage,
        conversation_id: impl Into<Expression>,
        deadline: Timestamp,
        iterated: bool,
        _now: Timestamp,
    ) -> Result<ContractNetInitiator, Error> {
        if cfp.performative != Performative::Cfp {
            return Err(Error::Invalid {
                field: "performative",
                reason: format!("a contract net opens with cfp, not {}", cfp.performative),
            });
        }
        if participants.is_empty() {
            return Err(Error::Invalid {
                field: "receiver",
                reason: "a call for proposals needs participants".into(),
            });
        }
        let protocol = if iterated {
            Protocol::IteratedContractNet
        } else {
            Protocol::ContractNet
        };
        let mut initiator = ContractNetInitiator {
            conversation: Conversation::new(me, conversation_id.into(), protocol),
            participants: Vec::new(),
            deadline,
            phase: Phase::Done,
            proposals: Vec::new(),
            answered: Vec::new(),
            accepted: Vec::new(),
            outcome: ContractNetOutcome::default(),
        };
        initiator.call(participants, cfp, deadline);
        Ok(initiator)
    }

    fn call(
        &mut self,
        participants: Vec<AgentIdentifier>,
        mut cfp: AclMessage,
        deadline: Timestamp,
    ) {
        cfp.receivers = participants.clone();
        cfp.reply_by = Some(DateTime::from_timestamp(deadline));
        let rw = self.conversation.send(cfp);
        self.participants = participants;
        self.deadline = deadline;
        self.proposals.clear();
        self.answered.clear();
        self.phase = Phase::Calling(rw);
    }

    fn reject(&mut self, proposal: &AclMessage, reason: &str) {
        let mut reject = proposal.reply(Performative::RejectProposal, self.conversation.me.clone());
        reject.protocol = Some(self.conversation.protocol.name().to_owned());
        reject.content = Some(reason.as_bytes().to_vec().into());
        self.conversation.queue(reject);
    }

    fn close_call(&mut self) {
        self.phase = Phase::Evaluating;
        self.conversation.event(Event::ProposalsComplete);
    }

    fn finish(&mut self) {
        self.phase = Phase::Done;
        self.conversation.event(Event::Finished);
    }

    /// Takes one incoming message of this conversation at time `now`.
    pub fn handle(&mut self, m: AclMessage, now: Timestamp) {
        use Performative as P;
        let Some(sender) = m.sender.clone() else {
            return self.conversation.unexpected(m, "no sender");
        };
        if !self.conversation.is_reply(&m) {
            return self
                .conversation
                .unexpected(m, "not a reply to this conversation");
        }
        let p = m.performative.performative();
        match (&self.phase, p) {
            (Phase::Calling(rw), Some(P::Propose | P::Refuse | P::NotUnderstood))
                if Conversation::answers(&m, rw)
                    && self.participants.contains(&sender)
                    && !self.answered.contains(&sender) =>
            {
                if p == Some(P::Propose) && now > self.deadline {
                    self.reject(&m, "late proposal: it arrived after the reply-by deadline");
                    self.conversation.event(Event::Late(m));
                    return;
                }
                self.answered.push(sender);
                if p == Some(P::Propose) {
                    self.proposals.push(m.clone());
                    self.conversation.event(Event::Proposal(m));
                } else {
                    self.conversation.event(Event::Refusal(m));
                }
                if self.answered.len() == self.participants.len() {
                    self.close_call();
                }
            }
            // A proposal after the call closed: late, rejected.
            (_, Some(P::Propose)) => {
                self.reject(&m, "late proposal: the call for proposals is closed");
                self.conversation.event(Event::Late(m));
            }
            (Phase::Awaiting, Some(P::Inform | P::Failure)) => {
                let position = self
                    .accepted
                    .iter()
                    .position(|(who, rw)| *who == sender && Conversation::answers(&m, rw));
                let Some(position) = position else {
                    return self
                        .conversation
                        .unexpected(m, "not a result of an accepted proposal");
                };
                self.accepted.remove(position);
                let result = if p == Some(P::Inform) { Ok(m) } else { Err(m) };
                self.outcome.results.push(result.clone());
                self.conversation.event(Event::Result(result));
                if self.accepted.is_empty() {
                    self.finish();
                }
            }
            _ => self
                .conversation
                .unexpected(m, "this act is not allowed here by the protocol"),
        }
    }

    /// Ends the evaluation: sends `accept-proposal` to the proposers in `winners` and `reject-proposal` to the
    /// others, then waits for the winners' results. Allowed once the call is complete (see
    /// [`Event::ProposalsComplete`]); a winner that did not propose is an error.
    pub fn accept(&mut self, winners: &[AgentIdentifier], _now: Timestamp) -> Result<(), Error> {
        if self.phase != Phase::Evaluating {
            return Err(Error::Invalid {
                field: "protocol",
                reason: "proposals are accepted once the call is complete".into(),
            });
        }
        let proposers: Vec<AgentIdentifier> = self
            .proposals
            .iter()
            .filter_map(|p| p.sender.clone())
            .collect();
        if let Some(stranger) = winners.iter().find(|w| !proposers.contains(w)) {
            return Err(Error::Invalid {
                field: "receiver",
                reason: format!("{} made no proposal", stranger.name),
            });
        }
        for proposal in std::mem::take(&mut self.proposals) {
            let Some(sender) = proposal.sender.clone() else {
                continue;
            };
            if winners.contains(&sender) {
                let mut accept =
                    proposal.reply(Performative::AcceptProposal, self.conversation.me.clone());
                accept.content = proposal.content.clone();
                accept.protocol = Some(self.conversation.protocol.name().to_owned());
                let rw = self.conversation.reply_with();
                accept.reply_with = Some(rw.clone());
                self.conversation.queue(accept);
                self.accepted.push((sender, rw));
                self.outcome.accepted.push(proposal);
            } else {
                self.reject(&proposal, "another proposal was preferred");
            }
        }
        if self.accepted.is_empty() {
            self.finish();
        } else {
            self.phase = Phase::Awaiting;
        }
        Ok(())
    }

    /// Iterated Contract Net only: rejects the proposers not in `keep` and calls a new round among `keep`
    /// with `cfp` and a new `deadline`.
    pub fn iterate(
        &mut self,
        keep: &[AgentIdentifier],
        cfp: AclMessage,
        deadline: Timestamp,
        _now: Timestamp,
    ) -> Result<(), Error> {
        if self.conversation.protocol != Protocol::IteratedContractNet
            || self.phase != Phase::Evaluating
            || cfp.performative != Performative::Cfp
            || keep.is_empty()
        {
            return Err(Error::Invalid {
                field: "protocol",
                reason: "a new round needs an iterated contract net whose call is complete, a cfp \
                         and participants"
                    .into(),
            });
        }
        for proposal in std::mem::take(&mut self.proposals) {
            if proposal.sender.as_ref().is_none_or(|s| !keep.contains(s)) {
                self.reject(&proposal, "not kept for the next round");
            }
        }
        self.call(keep.to_vec(), cfp, deadline);
        Ok(())
    }

    /// Cancels the accepted participants' work (sends `cancel`) and ends the conversation.
    pub fn cancel(&mut self, _now: Timestamp) {
        if self.phase == Phase::Done {
            return;
        }
        for (who, _) in std::mem::take(&mut self.accepted) {
            let cancel = AclMessage::new(Performative::Cancel).to(who);
            self.conversation.send(cancel);
        }
        self.outcome.cancelled = true;
        self.finish();
    }

    /// The proposals received in the current round, in arrival order.
    pub fn proposals(&self) -> &[AclMessage] {
        &self.proposals
    }

    /// The next message to send.
    pub fn poll_transmit(&mut self) -> Option<AclMessage> {
        self.conversation.poll_transmit()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.conversation.poll_event()
    }

    /// The `reply-by` deadline while the call is open.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        matches!(self.phase, Phase::Calling(_)).then_some(self.deadline)
    }

    /// Tells the machine the time is `now`; at the deadline the call closes with the proposals in hand.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        if matches!(self.phase, Phase::Calling(_)) && now >= self.deadline {
            self.close_call();
        }
    }

    /// How it ended, once it has.
    pub fn outcome(&self) -> Option<&ContractNetOutcome> {
        (self.phase == Phase::Done).then_some(&self.outcome)
    }

    /// The conversation id.
    pub fn conversation_id(&self) -> &Expression {
        &self.conversation.id
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Role {
    /// A call is in; the application decides.
    Called,
    /// A proposal is out with this `:reply-with`.
    Proposed(Expression),
    /// Accepted: the work is the application's; the result goes with [`ContractNetParticipant::inform`] or
    /// [`ContractNetParticipant::failure`].
    Working(Box<AclMessage>),
    Done,
}

/// A participant's side of a (possibly iterated) contract net.
#[derive(Debug, Clone)]
pub struct ContractNetParticipant {
    conversation: Conversation,
    initiator: AgentIdentifier,
    cfp: AclMessage,
    deadline: Option<Timestamp>,
    role: Role,
}

impl ContractNetParticipant {
    /// The participant for call `cfp` received at `now` (its `reply-by`, absolute or relative, is resolved
    /// against `now`).
    pub fn new(
        me: AgentIdentifier,
        cfp: AclMessage,
        now: Timestamp,
    ) -> Result<ContractNetParticipant, Error> {
        if cfp.performative != Performative::Cfp {
            return Err(Error::Invalid {
                field: "performative",
                reason: format!("expected cfp, got {}", cfp.performative),
            });
        }
        let protocol = cfp
            .protocol
            .as_deref()
            .and_then(Protocol::from_name)
            .filter(|p| matches!(p, Protocol::ContractNet | Protocol::IteratedContractNet))
            .unwrap_or(Protocol::ContractNet);
        let initiator = cfp.sender.clone().ok_or(Error::Invalid {
            field: "sender",
            reason: "the call has no sender".into(),
        })?;
        let id = cfp.conversation_id.clone().ok_or(Error::Invalid {
            field: "conversation-id",
            reason: "the call has no conversation id".into(),
        })?;
        let deadline = cfp.reply_by.and_then(|t| t.to_timestamp(now));
        Ok(ContractNetParticipant {
            conversation: Conversation::new(me, id, protocol),
            initiator,
            cfp,
            deadline,
            role: Role::Called,
        })
    }

    fn reply(&mut self, to: &AclMessage, p: Performative, content: bytes::Bytes) -> Expression {
        let mut reply = to.reply(p, self.conversation.me.clone());
        reply.content = Some(content);
        reply.protocol = Some(self.conversation.protocol.name().to_owned());
        let rw = self.conversation.reply_with();
        reply.reply_with = Some(rw.clone());
        self.conversation.queue(reply);
        rw
    }

    /// Proposes `content` in answer to the call. Refused after the call's deadline: the initiator would
    /// reject it as late anyway.
    pub fn propose(
        &mut self,
        content: impl Into<bytes::Bytes>,
        now: Timestamp,
    ) -> Result<(), Error> {
        if self.role != Role::Called {
            return Err(Error::Invalid {
                field: "protocol",
                reason: "a proposal answers an open call".into(),
            });
        }
        if self.deadline.is_some_and(|d| now > d) {
            return Err(Error::Invalid {
                field: "reply-by",
                reason: "the call's deadline has passed".into(),
            });
        }
        let cfp = self.cfp.clone();
        let rw = self.reply(&cfp, Performative::Propose, content.into());
        self.role = Role::Proposed(rw);
        Ok(())
    }

    /// Refuses the call, with the reason as content.
    pub fn refuse(&mut self, reason: impl Into<bytes::Bytes>) -> Result<(), Error> {
        if self.role != Role::Called {
            return Err(Error::Invalid {
                field: "protocol",
                reason: "a refusal answers an open call".into(),
            });
        }
        let cfp = self.cfp.clone();
        self.reply(&cfp, Performative::Refuse, reason.into());
        self.role = Role::Done;
        self.conversation.event(Event::Finished);
        Ok(())
    }

    fn report(&mut self, p: Performative, content: bytes::Bytes) -> Result<(), Error> {
        let Role::Working(accept) = self.role.clone() else {
            return Err(Error::Invalid {
                field: "protocol",
                reason: "a result follows an accepted proposal".into(),
            });
        };
        self.reply(&accept, p, content);
        self.role = Role::Done;
        self.conversation.event(Event::Finished);
        Ok(())
    }

    /// Reports the accepted task done (`inform`), with the result as content.
    pub fn inform(&mut self, content: impl Into<bytes::Bytes>) -> Result<(), Error> {
        self.report(Performative::Inform, content.into())
    }

    /// Reports that the accepted task failed (`failure`).
    pub fn failure(&mut self, reason: impl Into<bytes::Bytes>) -> Result<(), Error> {
        self.report(Performative::Failure, reason.into())
    }

    /// Takes one incoming message of this conversation at time `now`: the acceptance or rejection of the
    /// proposal, a new round's `cfp` (iterated), or a `cancel`.
    pub fn handle(&mut self, m: AclMessage, now: Timestamp) {
        use Performative as P;
        let from_initiator = m.sender.as_ref() == Some(&self.initiator)
            && m.conversation_id.as_ref() == Some(&self.conversation.id);
        if !from_initiator {
            return self
                .conversation
                .unexpected(m, "not part of this conversation");
        }
        match (&self.role, m.performative.performative()) {
            (Role::Proposed(rw), Some(P::AcceptProposal)) if Conversation::answers(&m, rw) => {
                self.role = Role::Working(Box::new(m.clone()));
                self.conversation.event(Event::Accepted(m));
            }
            (Role::Proposed(rw), Some(P::RejectProposal)) if Conversation::answers(&m, rw) => {
                self.role = Role::Done;
                self.conversation.event(Event::Rejected(m));
                self.conversation.event(Event::Finished);
            }
            (Role::Proposed(_), Some(P::Cfp))
                if self.conversation.protocol == Protocol::IteratedContractNet =>
            {
                self.deadline = m.reply_by.and_then(|t| t.to_timestamp(now));
                self.cfp = m.clone();
                self.role = Role::Called;
                self.conversation.event(Event::NewRound(m));
            }
            (Role::Working(_) | Role::Proposed(_), Some(P::Cancel)) => {
                let mut confirm = m.reply(P::Inform, self.conversation.me.clone());
                confirm.protocol = Some(self.conversation.protocol.name().to_owned());
                self.conversation.queue(confirm);
                self.role = Role::Done;
                self.conversation.event(Event::Cancelled(m));
                self.conversation.event(Event::Finished);
            }
            _ => self
                .conversation
                .unexpected(m, "this act is not allowed here by the protocol"),
        }
    }

    /// The call being answered (the latest round's, in an iterated contract net).
    pub fn cfp(&self) -> &AclMessage {
        &self.cfp
    }

    /// The call's deadline.
    pub fn deadline(&self) -> Option<Timestamp> {
        self.deadline
    }

    /// Whether the conversation is over for this participant.
    pub fn is_finished(&self) -> bool {
        self.role == Role::Done
    }

    /// The next message to send.
    pub fn poll_transmit(&mut self) -> Option<AclMessage> {
        self.conversation.poll_transmit()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.conversation.poll_event()
    }

    /// The call's deadline while no answer has been given.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        if self.role == Role::Called {
            self.deadline
        } else {
            None
        }
    }

    /// Past the call's deadline with no answer given, the participant gives up silently (the initiator
    /// closes the call without it).
    pub fn handle_timeout(&mut self, now: Timestamp) {
        if self.role == Role::Called && self.deadline.is_some_and(|d| now >= d) {
            self.role = Role::Done;
            self.conversation.event(Event::Finished);
        }
    }
}
