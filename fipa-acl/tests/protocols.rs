//! The interaction protocols without a network: machines exchange messages through the test, on a virtual
//! clock, including deadline expiry, late replies and messages outside the protocol.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use fipa_acl::protocol::{
    ContractNetInitiator, ContractNetParticipant, Duration, Event, Initiator, Outcome, Protocol,
    Responder, Timestamp,
};
use fipa_acl::{AclMessage, AgentIdentifier, Expression, Performative};

fn t(seconds: u64) -> Timestamp {
    Timestamp::from_unix_ms(1_795_000_000_000)
        .unwrap()
        .checked_add(Duration::from_secs(seconds))
        .unwrap()
}

fn aid(name: &str) -> AgentIdentifier {
    AgentIdentifier::new(format!("{name}@idea"))
}

fn drain_events(next: impl FnMut() -> Option<Event>) -> Vec<Event> {
    std::iter::from_fn(next).collect()
}

fn performatives(messages: &[AclMessage]) -> Vec<Performative> {
    messages
        .iter()
        .map(|m| m.performative.performative().unwrap())
        .collect()
}

/// A request, its responder, and the first message already delivered.
fn request(deadline: Option<Timestamp>) -> (Initiator, Responder) {
    let first = AclMessage::new(Performative::Request)
        .content("((action (agent-identifier :name hub@idea) (charge 5000)))");
    let mut i = Initiator::new(
        Protocol::Request,
        aid("ems"),
        aid("hub"),
        first,
        "req-1",
        deadline,
        t(0),
    )
    .unwrap();
    let sent = i.poll_transmit().unwrap();
    assert_eq!(sent.protocol.as_deref(), Some("fipa-request"));
    assert_eq!(sent.receivers, [aid("hub")]);
    let r = Responder::new(aid("hub"), sent, t(0)).unwrap();
    (i, r)
}

fn pump_to_initiator(r: &mut Responder, i: &mut Initiator, now: Timestamp) {
    while let Some(m) = r.poll_transmit() {
        i.handle(m, now);
    }
}

#[test]
fn request_agree_then_inform() {
    let (mut i, mut r) = request(Some(t(10)));
    assert_eq!(i.poll_timeout(), Some(t(10)));
    r.agree().unwrap();
    pump_to_initiator(&mut r, &mut i, t(1));
    assert_eq!(
        i.poll_timeout(),
        None,
        "the deadline is for the first answer"
    );
    r.inform("((done (action (agent-identifier :name hub@idea) (charge 5000))))")
        .unwrap();
    pump_to_initiator(&mut r, &mut i, t(30));
    let events = drain_events(|| i.poll_event());
    assert!(
        matches!(events[..], [Event::Agreed(_), Event::Finished]),
        "{events:?}"
    );
    assert!(
        matches!(i.outcome(), Some(Outcome::Done(m)) if m.performative == Performative::Inform)
    );
    assert!(i.poll_transmit().is_none());
    assert!(r.is_finished());
}

#[test]
fn request_inform_without_agree_refuse_failure_not_understood() {
    let (mut i, mut r) = request(None);
    r.inform("done").unwrap();
    pump_to_initiator(&mut r, &mut i, t(1));
    assert!(matches!(i.outcome(), Some(Outcome::Done(_))));

    let (mut i, mut r) = request(None);
    r.refuse("((unauthorised))").unwrap();
    assert!(
        r.agree().is_err_and(|e| matches!(
            e,
            fipa_acl::Error::Invalid {
                field: "protocol",
                ..
            }
        )),
        "no agree after refuse"
    );
    pump_to_initiator(&mut r, &mut i, t(1));
    assert!(matches!(i.outcome(), Some(Outcome::Refused(_))));

    let (mut i, mut r) = request(None);
    r.agree().unwrap();
    r.failure("((internal-error \"battery offline\"))").unwrap();
    pump_to_initiator(&mut r, &mut i, t(1));
    assert!(matches!(i.outcome(), Some(Outcome::Failed(_))));

    let (mut i, _) = request(None);
    let sent_rw = i.opening_reply_with().to_owned();
    let mut nu = AclMessage::new(Performative::NotUnderstood).from(aid("hub"));
    nu.conversation_id = Some("req-1".into());
    nu.in_reply_to = Some(sent_rw);
    i.handle(nu, t(1));
    assert!(matches!(i.outcome(), Some(Outcome::NotUnderstood(_))));
    assert!(
        i.poll_transmit().is_none(),
        "a not-understood is never answered with one"
    );
}

#[test]
fn request_times_out_and_a_late_reply_is_not_understood() {
    let (mut i, mut r) = request(Some(t(10)));
    i.handle_timeout(t(9));
    assert!(i.outcome().is_none());
    i.handle_timeout(t(10));
    assert_eq!(i.outcome(), Some(&Outcome::TimedOut));
    r.agree().unwrap();
    pump_to_initiator(&mut r, &mut i, t(11));
    let events = drain_events(|| i.poll_event());
    assert!(
        matches!(
            events[..],
            [Event::Finished, Event::Late(_), Event::Unexpected(_)]
        ),
        "{events:?}"
    );
    let answer = i.poll_transmit().unwrap();
    assert_eq!(answer.performative, Performative::NotUnderstood);
    assert_eq!(answer.receivers, [aid("hub")]);
    assert_eq!(i.outcome(), Some(&Outcome::TimedOut), "the outcome stands");
}

#[test]
fn messages_outside_the_protocol_get_not_understood() {
    let (mut i, _) = request(None);
    let opening = i.opening_reply_with().to_owned();
    // A stranger, the wrong conversation, a reply to nothing, an act the protocol has no place for.
    let mut stranger = AclMessage::new(Performative::Inform).from(aid("mallory"));
    stranger.conversation_id = Some("req-1".into());
    stranger.in_reply_to = Some(opening.clone());
    let mut elsewhere = AclMessage::new(Performative::Inform).from(aid("hub"));
    elsewhere.conversation_id = Some("other".into());
    elsewhere.in_reply_to = Some(opening.clone());
    let mut unquoted = AclMessage::new(Performative::Inform).from(aid("hub"));
    unquoted.conversation_id = Some("req-1".into());
    let mut wrong_act = AclMessage::new(Performative::AcceptProposal).from(aid("hub"));
    wrong_act.conversation_id = Some("req-1".into());
    wrong_act.in_reply_to = Some(opening);
    for m in [stranger, elsewhere, unquoted, wrong_act] {
        i.handle(m, t(1));
        let answer = i.poll_transmit().unwrap();
        assert_eq!(answer.performative, Performative::NotUnderstood);
        let content = fipa_acl::sl0::Content::parse(answer.content.as_deref().unwrap()).unwrap();
        assert_eq!(content.0.len(), 2, "the action and the reason");
    }
    assert!(i.outcome().is_none(), "the conversation goes on");
    // The responder treats strangers the same way.
    let (_, mut r) = request(None);
    r.handle(
        AclMessage::new(Performative::Cancel).from(aid("mallory")),
        t(1),
    );
    assert_eq!(
        r.poll_transmit().unwrap().performative,
        Performative::NotUnderstood
    );
    assert!(!r.is_finished());
}

#[test]
fn query_and_propose() {
    let q = AclMessage::new(Performative::QueryRef).content("((iota ?x (soc hub ?x)))");
    let mut i = Initiator::new(
        Protocol::Query,
        aid("ems"),
        aid("hub"),
        q,
        "q-1",
        None,
        t(0),
    )
    .unwrap();
    let mut r = Responder::new(aid("hub"), i.poll_transmit().unwrap(), t(0)).unwrap();
    assert_eq!(r.protocol(), Protocol::Query);
    r.inform("((= (iota ?x (soc hub ?x)) 81))").unwrap();
    pump_to_initiator(&mut r, &mut i, t(1));
    assert!(matches!(i.outcome(), Some(Outcome::Done(_))));

    for accept in [true, false] {
        let p = AclMessage::new(Performative::Propose).content("((sell 10 kWh 21 ct))");
        let mut i = Initiator::new(
            Protocol::Propose,
            aid("pv"),
            aid("hub"),
            p,
            "p-1",
            None,
            t(0),
        )
        .unwrap();
        let mut r = Responder::new(aid("hub"), i.poll_transmit().unwrap(), t(0)).unwrap();
        assert!(
            r.agree().is_err_and(|e| matches!(
                e,
                fipa_acl::Error::Invalid {
                    field: "protocol",
                    ..
                }
            )),
            "propose has no agree"
        );
        if accept {
            r.accept().unwrap()
        } else {
            r.reject().unwrap()
        }
        pump_to_initiator(&mut r, &mut i, t(1));
        match i.outcome() {
            Some(Outcome::Done(m)) if accept => {
                assert_eq!(m.performative, Performative::AcceptProposal)
            }
            Some(Outcome::Refused(m)) if !accept => {
                assert_eq!(m.performative, Performative::RejectProposal)
            }
            other => panic!("{other:?}"),
        }
    }
    // The wrong opening act for a protocol is refused at construction.
    assert!(
        Initiator::new(
            Protocol::Query,
            aid("a"),
            aid("b"),
            AclMessage::new(Performative::Inform),
            "x",
            None,
            t(0)
        )
        .is_err_and(|e| matches!(
            e,
            fipa_acl::Error::Invalid {
                field: "performative",
                ..
            }
        ))
    );
}

#[test]
fn subscribe_notifies_until_cancelled() {
    let s = AclMessage::new(Performative::Subscribe).content("((iota ?p (grid-frequency ?p)))");
    let mut i = Initiator::new(
        Protocol::Subscribe,
        aid("ems"),
        aid("meter"),
        s,
        "sub-1",
        None,
        t(0),
    )
    .unwrap();
    let mut r = Responder::new(aid("meter"), i.poll_transmit().unwrap(), t(0)).unwrap();
    r.agree().unwrap();
    r.inform("49.98").unwrap();
    r.inform("50.01").unwrap();
    pump_to_initiator(&mut r, &mut i, t(1));
    let events = drain_events(|| i.poll_event());
    assert!(
        matches!(
            events[..],
            [
                Event::Agreed(_),
                Event::Notification(_),
                Event::Notification(_)
            ]
        ),
        "{events:?}"
    );
    // One more notification is in flight when the initiator cancels.
    r.inform("50.02").unwrap();
    i.cancel(t(2));
    let cancel = i.poll_transmit().unwrap();
    assert_eq!(cancel.performative, Performative::Cancel);
    pump_to_initiator(&mut r, &mut i, t(2));
    r.handle(cancel, t(2));
    assert!(r.is_finished());
    assert!(matches!(
        drain_events(|| r.poll_event())[..],
        [Event::Cancelled(_), Event::Finished]
    ));
    pump_to_initiator(&mut r, &mut i, t(3));
    let events = drain_events(|| i.poll_event());
    assert!(
        matches!(events[..], [Event::Notification(_), Event::Finished]),
        "{events:?}"
    );
    assert_eq!(i.outcome(), Some(&Outcome::Cancelled));
}

/// Moves every queued message of the initiator to the participants it names, and theirs back.
fn exchange(
    i: &mut ContractNetInitiator,
    ps: &mut [(AgentIdentifier, Option<ContractNetParticipant>)],
    now: Timestamp,
) -> Vec<AclMessage> {
    let mut from_initiator = Vec::new();
    while let Some(m) = i.poll_transmit() {
        from_initiator.push(m.clone());
        for (who, p) in ps.iter_mut() {
            if !m.receivers.contains(who) {
                continue;
            }
            match p {
                Some(p) => p.handle(m.clone(), now),
                None => {
                    *p = Some(ContractNetParticipant::new(who.clone(), m.clone(), now).unwrap())
                }
            }
        }
    }
    for (_, p) in ps.iter_mut() {
        if let Some(p) = p {
            while let Some(m) = p.poll_transmit() {
                i.handle(m, now);
            }
        }
    }
    from_initiator
}

fn participants(names: &[&str]) -> Vec<(AgentIdentifier, Option<ContractNetParticipant>)> {
    names.iter().map(|n| (aid(n), None)).collect()
}

fn participant<'a>(
    ps: &'a mut [(AgentIdentifier, Option<ContractNetParticipant>)],
    name: &str,
) -> &'a mut ContractNetParticipant {
    ps.iter_mut()
        .find(|(who, _)| *who == aid(name))
        .and_then(|(_, p)| p.as_mut())
        .unwrap()
}

#[test]
fn contract_net_with_three_participants() {
    let names = ["pv", "hub", "grid"];
    let cfp = AclMessage::new(Performative::Cfp).content("((buy 10 kWh 20261124T120000000Z))");
    let mut i = ContractNetInitiator::new(
        aid("ems"),
        names.iter().map(|n| aid(n)).collect(),
        cfp,
        "cn-1",
        t(30),
        false,
        t(0),
    )
    .unwrap();
    let mut ps = participants(&names);
    let sent = exchange(&mut i, &mut ps, t(0));
    assert_eq!(performatives(&sent), [Performative::Cfp]);
    assert_eq!(sent[0].reply_by.unwrap().to_timestamp(t(0)), Some(t(30)));
    assert_eq!(participant(&mut ps, "pv").deadline(), Some(t(30)));
    participant(&mut ps, "pv")
        .propose("((price 21))", t(5))
        .unwrap();
    participant(&mut ps, "hub")
        .propose("((price 19))", t(6))
        .unwrap();
    participant(&mut ps, "grid")
        .refuse("((no-capacity))")
        .unwrap();
    exchange(&mut i, &mut ps, t(6));
    let events = drain_events(|| i.poll_event());
    assert!(
        matches!(
            events[..],
            [
                Event::Proposal(_),
                Event::Proposal(_),
                Event::Refusal(_),
                Event::ProposalsComplete
            ]
        ),
        "{events:?}"
    );
    assert_eq!(
        i.poll_timeout(),
        None,
        "every participant answered: the call closed before its deadline"
    );
    // The cheapest proposal wins.
    let best = i
        .proposals()
        .iter()
        .min_by_key(|p| p.content.clone())
        .and_then(|p| p.sender.clone())
        .unwrap();
    assert_eq!(best, aid("hub"));
    assert!(
        i.accept(&[aid("grid")], t(7)).is_err_and(|e| matches!(
            e,
            fipa_acl::Error::Invalid {
                field: "receiver",
                ..
            }
        )),
        "grid made no proposal"
    );
    i.accept(&[best], t(7)).unwrap();
    let sent = exchange(&mut i, &mut ps, t(7));
    assert_eq!(
        performatives(&sent),
        [Performative::RejectProposal, Performative::AcceptProposal]
    );
    assert_eq!(sent[1].receivers, [aid("hub")]);
    assert!(participant(&mut ps, "pv").is_finished());
    assert!(matches!(
        drain_events(|| participant(&mut ps, "hub").poll_event())[..],
        [Event::Accepted(_)]
    ));
    participant(&mut ps, "hub")
        .inform("((done (deliver 10 kWh)))")
        .unwrap();
    exchange(&mut i, &mut ps, t(8));
    let outcome = i.outcome().unwrap();
    assert_eq!(outcome.accepted.len(), 1);
    assert!(matches!(&outcome.results[..], [Ok(m)] if m.sender == Some(aid("hub"))));
}

#[test]
fn contract_net_deadline_closes_the_call_and_late_proposals_are_rejected() {
    let names = ["pv", "hub"];
    let cfp = AclMessage::new(Performative::Cfp).content("((buy 5 kWh))");
    let mut i = ContractNetInitiator::new(
        aid("ems"),
        names.iter().map(|n| aid(n)).collect(),
        cfp,
        "cn-2",
        t(30),
        false,
        t(0),
    )
    .unwrap();
    let mut ps = participants(&names);
    exchange(&mut i, &mut ps, t(0));
    participant(&mut ps, "pv")
        .propose("((price 22))", t(10))
        .unwrap();
    exchange(&mut i, &mut ps, t(10));
    assert_eq!(i.poll_timeout(), Some(t(30)));
    i.handle_timeout(t(29));
    assert!(!drain_events(|| i.poll_event()).contains(&Event::ProposalsComplete));
    i.handle_timeout(t(30));
    assert_eq!(drain_events(|| i.poll_event()), [Event::ProposalsComplete]);
    // The silent participant cannot propose after the deadline; a proposal forged late is rejected.
    let hub = participant(&mut ps, "hub");
    assert!(hub.propose("((price 18))", t(31)).is_err_and(|e| matches!(
        e,
        fipa_acl::Error::Invalid {
            field: "reply-by",
            ..
        }
    )));
    let late = hub.cfp().reply(Performative::Propose, aid("hub"));
    i.handle(late, t(31));
    let events = drain_events(|| i.poll_event());
    assert!(matches!(events[..], [Event::Late(_)]), "{events:?}");
    let reject = i.poll_transmit().unwrap();
    assert_eq!(reject.performative, Performative::RejectProposal);
    assert!(String::from_utf8_lossy(reject.content.as_deref().unwrap()).contains("late"));
    // Nobody accepted: the conversation ends with no results.
    i.accept(&[], t(32)).unwrap();
    let sent = exchange(&mut i, &mut ps, t(32));
    assert_eq!(performatives(&sent), [Performative::RejectProposal]);
    assert_eq!(i.outcome().unwrap().accepted.len(), 0);
}

#[test]
fn iterated_contract_net_narrows_the_field() {
    let names = ["a", "b", "c"];
    let cfp = AclMessage::new(Performative::Cfp).content("((flex 2 kW 15 min))");
    let mut i = ContractNetInitiator::new(
        aid("dso"),
        names.iter().map(|n| aid(n)).collect(),
        cfp,
        "icn",
        t(20),
        true,
        t(0),
    )
    .unwrap();
    let mut ps = participants(&names);
    let first = exchange(&mut i, &mut ps, t(0));
    assert_eq!(
        first[0].protocol.as_deref(),
        Some("fipa-iterated-contract-net")
    );
    for (n, price) in [("a", "30"), ("b", "25"), ("c", "40")] {
        participant(&mut ps, n).propose(price, t(1)).unwrap();
    }
    exchange(&mut i, &mut ps, t(1));
    drain_events(|| i.poll_event());
    let round2 =
        AclMessage::new(Performative::Cfp).content("((flex 2 kW 15 min) (best-and-final))");
    i.iterate(&[aid("a"), aid("b")], round2, t(40), t(2))
        .unwrap();
    let sent = exchange(&mut i, &mut ps, t(2));
    assert_eq!(
        performatives(&sent),
        [Performative::RejectProposal, Performative::Cfp]
    );
    assert_eq!(sent[0].receivers, [aid("c")]);
    assert!(participant(&mut ps, "c").is_finished());
    for n in ["a", "b"] {
        let events = drain_events(|| participant(&mut ps, n).poll_event());
        assert!(matches!(events[..], [Event::NewRound(_)]), "{events:?}");
        assert_eq!(participant(&mut ps, n).deadline(), Some(t(40)));
    }
    participant(&mut ps, "a").propose("24", t(3)).unwrap();
    participant(&mut ps, "b")
        .refuse("((no-better-offer))")
        .unwrap();
    exchange(&mut i, &mut ps, t(3));
    assert!(drain_events(|| i.poll_event()).contains(&Event::ProposalsComplete));
    assert_eq!(i.proposals().len(), 1, "only this round's proposals");
    i.accept(&[aid("a")], t(4)).unwrap();
    exchange(&mut i, &mut ps, t(4));
    participant(&mut ps, "a").failure("((curtailed))").unwrap();
    exchange(&mut i, &mut ps, t(5));
    assert!(
        matches!(&i.outcome().unwrap().results[..], [Err(m)] if m.performative == Performative::Failure)
    );
    // A plain contract net cannot iterate.
    let mut plain = ContractNetInitiator::new(
        aid("dso"),
        vec![aid("a")],
        AclMessage::new(Performative::Cfp),
        "p",
        t(1),
        false,
        t(0),
    )
    .unwrap();
    plain.handle_timeout(t(1));
    assert!(
        plain
            .iterate(&[aid("a")], AclMessage::new(Performative::Cfp), t(2), t(1))
            .is_err_and(|e| matches!(
                e,
                fipa_acl::Error::Invalid {
                    field: "protocol",
                    ..
                }
            ))
    );
}

#[test]
fn a_participant_answers_only_its_initiator_and_confirms_cancel() {
    let mut cfp = AclMessage::new(Performative::Cfp)
        .from(aid("ems"))
        .to(aid("pv"));
    cfp.conversation_id = Some("cn-9".into());
    cfp.reply_with = Some("cn-9.1".into());
    cfp.reply_by = Some(fipa_acl::DateTime {
        sign: Some('+'),
        ..fipa_acl::DateTime::utc(0, 0, 0, 0, 0, 15, 0)
    });
    let mut p = ContractNetParticipant::new(aid("pv"), cfp.clone(), t(100)).unwrap();
    assert_eq!(
        p.deadline(),
        Some(t(115)),
        "a relative reply-by counts from receipt"
    );
    p.propose("((price 20))", t(101)).unwrap();
    let proposal = p.poll_transmit().unwrap();
    assert_eq!(
        proposal
            .in_reply_to
            .as_ref()
            .and_then(Expression::as_text)
            .as_deref(),
        Some("cn-9.1")
    );
    // An accept quoting something else, or from someone else, is not understood.
    let mut forged = proposal.reply(Performative::AcceptProposal, aid("mallory"));
    forged.conversation_id = Some("cn-9".into());
    p.handle(forged, t(102));
    assert_eq!(
        p.poll_transmit().unwrap().performative,
        Performative::NotUnderstood
    );
    let accept = proposal.reply(Performative::AcceptProposal, aid("ems"));
    p.handle(accept, t(103));
    let mut cancel = AclMessage::new(Performative::Cancel).from(aid("ems"));
    cancel.conversation_id = Some("cn-9".into());
    p.handle(cancel, t(104));
    assert_eq!(
        p.poll_transmit().unwrap().performative,
        Performative::Inform
    );
    assert!(p.is_finished());
    assert!(p.inform("too late").is_err_and(|e| matches!(
        e,
        fipa_acl::Error::Invalid {
            field: "protocol",
            ..
        }
    )));
}
