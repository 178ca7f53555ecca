//! The directory facilitator answers the ten JADE directory requests as their comments say, refuses what
//! SC00023 says to refuse, and lets a new power cell be found by the services it offers (PROP-02).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use fipa_acl::Expression;
use fipa_acl::directory::{
    AgentState, AmsAgentDescription, Authorisation, DfAgentDescription, DirectoryFacilitator,
    ServiceDescription,
};
use fipa_acl::protocol::{Initiator, Outcome, Protocol, Timestamp};
use fipa_acl::sl0::{Action, Content, ContentElement, Formula, Term};
use fipa_acl::{AclMessage, AgentIdentifier, Performative};
use std::path::PathBuf;

fn now() -> Timestamp {
    Timestamp::from_unix_ms(1_016_096_000_000).unwrap()
}

fn jade(name: &str) -> AclMessage {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fipa-acl/vectors/jade-dftest")
        .join(name);
    AclMessage::decode_string(&std::fs::read(&path).unwrap())
        .unwrap()
        .0
}

fn reason(reply: &AclMessage) -> String {
    let content = Content::parse(reply.content.as_deref().unwrap()).unwrap();
    match content.0.last().unwrap() {
        ContentElement::Formula(Formula::Predicate { symbol, args }) => {
            let mut text = symbol.clone();
            for a in args {
                text.push(' ');
                text.push_str(&a.to_string());
            }
            text
        }
        other => other.to_string(),
    }
}

fn acts(replies: &[AclMessage]) -> Vec<Performative> {
    replies
        .iter()
        .map(|m| m.performative.performative().unwrap())
        .collect()
}

#[test]
fn the_jade_directory_session_gets_the_answers_its_comments_expect() {
    use Performative::{Agree, Failure, Inform, Refuse};
    let df = AgentIdentifier::new("df@IBM10308:1099/JADE");
    let mut facilitator = DirectoryFacilitator::new(df).with_authorisation(Authorisation::Open);
    let session: [(&str, &[Performative], Option<&str>); 10] = [
        ("Register.acl", &[Agree, Inform], None),
        (
            "AlreadyRegistered.acl",
            &[Agree, Failure],
            Some("already-registered"),
        ),
        ("Search.acl", &[Agree, Inform], None),
        ("Modify.acl", &[Agree, Inform], None),
        (
            "ModNotRegistered.acl",
            &[Agree, Failure],
            Some("not-registered"),
        ),
        ("Unauthorised.acl", &[Refuse], Some("unauthorised")),
        (
            "UnsupportedV.acl",
            &[Refuse],
            Some("unsupported-function function"),
        ),
        (
            "MissingParameter.acl",
            &[Refuse],
            Some("missing-parameter service-description name"),
        ),
        ("Deregister.acl", &[Agree, Inform], None),
        (
            "NotRegistered.acl",
            &[Agree, Failure],
            Some("not-registered"),
        ),
    ];
    for (file, expected, why) in session {
        let request = jade(file);
        let replies = facilitator.handle(request.clone(), now());
        assert_eq!(acts(&replies), expected, "{file}");
        for r in &replies {
            assert_eq!(r.conversation_id, request.conversation_id, "{file}");
            assert_eq!(r.in_reply_to, request.reply_with, "{file}");
            assert_eq!(r.receivers, [request.sender.clone().unwrap()], "{file}");
            assert_eq!(
                r.language.as_ref().and_then(Expression::as_text).as_deref(),
                Some("FIPA-SL0")
            );
        }
        if let Some(why) = why {
            assert_eq!(reason(replies.last().unwrap()), why, "{file}");
        }
        if file == "Search.acl" {
            let content = Content::parse(replies[1].content.as_deref().unwrap()).unwrap();
            let [ContentElement::Formula(Formula::Result(_, Term::Sequence(found)))] =
                &content.0[..]
            else {
                panic!("{content}")
            };
            let found = DfAgentDescription::from_term(&found[0]).unwrap();
            assert_eq!(found.name.unwrap().name, "da0@IBM10308:1099/JADE");
            assert_eq!(found.services[0].service_type.as_deref(), Some("fipa-df"));
        }
        if file == "Modify.acl" {
            let d = &facilitator
                .directory()
                .search(&DfAgentDescription::default(), None)[0];
            assert_eq!(
                d.ontologies,
                ["fipa-agent-management"],
                "the modification took"
            );
        }
    }
    assert!(facilitator.directory().is_empty());
}

fn router_description(name: &str) -> DfAgentDescription {
    DfAgentDescription {
        name: Some(AgentIdentifier::new(name).with_address("mqtt://127.0.0.1:1883/idea/acl")),
        services: vec![ServiceDescription {
            name: Some("flow-control".into()),
            service_type: Some("idea-energy-router".into()),
            protocols: vec!["fipa-contract-net".into(), "fipa-request".into()],
            ontologies: vec!["idea-energy".into()],
            languages: vec!["fipa-sl0".into()],
            ownership: Some("cell-7".into()),
            properties: vec![("max-power-w".into(), Term::Number("250000".into()))],
        }],
        ..DfAgentDescription::default()
    }
}

fn request(
    from: &AgentIdentifier,
    df: &AgentIdentifier,
    act: Term,
    conversation: &str,
) -> Initiator {
    let content = Content::one(ContentElement::Action(Action {
        actor: Term::agent_identifier(df),
        act,
    }));
    let mut m = AclMessage::new(Performative::Request).content(content.to_bytes());
    m.language = Some("fipa-sl0".into());
    m.ontology = Some("FIPA-Agent-Management".into());
    Initiator::new(
        Protocol::Request,
        from.clone(),
        df.clone(),
        m,
        conversation,
        None,
        now(),
    )
    .unwrap()
}

/// Runs one request through the facilitator and returns the outcome.
fn run(facilitator: &mut DirectoryFacilitator, mut i: Initiator) -> Outcome {
    while let Some(m) = i.poll_transmit() {
        for reply in facilitator.handle(m, now()) {
            i.handle(reply, now());
        }
    }
    i.outcome().cloned().unwrap()
}

#[test]
fn a_new_power_cell_is_found_by_the_services_it_offers() {
    let df = AgentIdentifier::new("df@idea");
    let mut facilitator = DirectoryFacilitator::new(df.clone());
    let router = AgentIdentifier::new("router@cell-7");
    let register = Term::Function {
        symbol: "register".into(),
        args: vec![router_description("router@cell-7").to_term()],
    };
    assert!(matches!(
        run(&mut facilitator, request(&router, &df, register, "reg-1")),
        Outcome::Done(_)
    ));

    // A peer looks for energy routers that speak contract net in the idea-energy ontology.
    let template = DfAgentDescription {
        services: vec![ServiceDescription {
            service_type: Some("idea-energy-router".into()),
            protocols: vec!["fipa-contract-net".into()],
            ontologies: vec!["idea-energy".into()],
            ..ServiceDescription::default()
        }],
        ..DfAgentDescription::default()
    };
    let search = Term::Function {
        symbol: "search".into(),
        args: vec![
            template.to_term(),
            Term::frame(
                "search-constraints",
                [("max-results", Term::Number("10".into()))],
            ),
        ],
    };
    let peer = AgentIdentifier::new("ems@cell-3");
    let Outcome::Done(inform) = run(&mut facilitator, request(&peer, &df, search.clone(), "s-1"))
    else {
        panic!()
    };
    let content = Content::parse(inform.content.as_deref().unwrap()).unwrap();
    let [ContentElement::Formula(Formula::Result(_, Term::Sequence(found)))] = &content.0[..]
    else {
        panic!("{content}")
    };
    assert_eq!(
        found
            .iter()
            .map(|t| DfAgentDescription::from_term(t).unwrap())
            .collect::<Vec<_>>(),
        [router_description("router@cell-7")],
        "found with every field, address included"
    );
    // A template asking for a service type nobody offers finds nothing.
    let mut meter = template.clone();
    meter.services[0].service_type = Some("idea-smart-meter".into());
    assert!(facilitator.directory().search(&meter, None).is_empty());
}

#[test]
fn only_an_agent_itself_registers_by_default() {
    let df = AgentIdentifier::new("df@idea");
    let mut facilitator = DirectoryFacilitator::new(df.clone());
    let register = Term::Function {
        symbol: "register".into(),
        args: vec![router_description("router@cell-7").to_term()],
    };
    let mallory = AgentIdentifier::new("mallory@elsewhere");
    let Outcome::Refused(refusal) = run(&mut facilitator, request(&mallory, &df, register, "r"))
    else {
        panic!()
    };
    assert_eq!(reason(&refusal), "unauthorised");
    assert!(facilitator.directory().is_empty());
}

#[test]
fn the_ams_keeps_agent_descriptions() {
    let ams = AgentIdentifier::new("ams@idea");
    let mut facilitator = DirectoryFacilitator::new(ams.clone());
    let hub = AgentIdentifier::new("hub@cell-2");
    let description = AmsAgentDescription {
        name: Some(hub.clone()),
        ownership: Some("cell-2".into()),
        state: Some(AgentState::Active),
    };
    let register = Term::Function {
        symbol: "register".into(),
        args: vec![description.to_term()],
    };
    assert!(matches!(
        run(&mut facilitator, request(&hub, &ams, register, "a-1")),
        Outcome::Done(_)
    ));
    let template = AmsAgentDescription {
        state: Some(AgentState::Active),
        ..AmsAgentDescription::default()
    };
    assert_eq!(
        facilitator.directory().search_agents(&template, None),
        [description]
    );
}

#[test]
fn requests_that_are_not_requests_or_not_sl0_are_not_understood() {
    let df = AgentIdentifier::new("df@idea");
    let mut facilitator = DirectoryFacilitator::new(df.clone());
    let mut inform = AclMessage::new(Performative::Inform).from(AgentIdentifier::new("x@y"));
    inform.conversation_id = Some("c".into());
    assert_eq!(
        acts(&facilitator.handle(inform, now())),
        [Performative::NotUnderstood]
    );
    let mut garbled = AclMessage::new(Performative::Request)
        .from(AgentIdentifier::new("x@y"))
        .content("((action (agent-identifier :name df@idea) (register (df-agent-description ))");
    garbled.conversation_id = Some("c".into());
    assert_eq!(
        acts(&facilitator.handle(garbled, now())),
        [Performative::NotUnderstood]
    );
}

/// SC00023 §6.1.2: a description's `:lease-time` — relative (`+…`, from when the directory takes it) or
/// absolute — reads back as written; one that is not a date-time makes the description unreadable; the lease
/// plays no part in matching.
#[test]
fn a_lease_time_reads_back_and_does_not_change_matching() {
    let mut d = router_description("router-1@idea");
    for text in ["+00000000T000200000", "20261203T120000000Z"] {
        let lease = fipa_acl::DateTime::parse(text.as_bytes(), 0).unwrap();
        d.lease_time = Some(lease);
        let term = d.to_term();
        let printed = Content::one(ContentElement::Formula(Formula::Predicate {
            symbol: "x".into(),
            args: vec![term.clone()],
        }))
        .to_bytes();
        assert!(
            String::from_utf8_lossy(&printed).contains(&format!(":lease-time {text}")),
            "{}",
            String::from_utf8_lossy(&printed)
        );
        assert_eq!(DfAgentDescription::from_term(&term).unwrap(), d);
        assert!(d.matches(&DfAgentDescription::default()));
    }
    let Term::Frame { symbol, mut params } = d.to_term() else {
        panic!()
    };
    for (name, value) in &mut params {
        if name == "lease-time" {
            *value = Term::word("tomorrow");
        }
    }
    assert_eq!(
        DfAgentDescription::from_term(&Term::Frame { symbol, params }),
        None
    );
    // A lease as an offset: it names now plus the offset, up to 99 days.
    for secs in [0u64, 1, 59, 120, 3_661, 86_399, 90_061] {
        let offset = idea_proto::Duration::from_ms(secs * 1_000 + 250);
        let lease = fipa_acl::DateTime::relative(offset).unwrap();
        assert_eq!(
            lease.to_timestamp(now()),
            now().checked_add(offset).ok(),
            "{secs} s"
        );
        let text = lease.to_string();
        assert_eq!(
            fipa_acl::DateTime::parse(text.as_bytes(), 0).unwrap(),
            lease
        );
    }
    assert!(fipa_acl::DateTime::relative(idea_proto::Duration::from_secs(100 * 86_400)).is_none());
}
