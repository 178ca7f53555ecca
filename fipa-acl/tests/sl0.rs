//! SL0 content (SC00008): the JADE directory requests parse into actions on frames, every printed content
//! parses back to itself, and malformed content is refused with the offset.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use fipa_acl::sl0::{Action, Content, ContentElement, Formula, Term};
use fipa_acl::{AclMessage, AgentIdentifier, Error};
use proptest::prelude::*;
use std::path::PathBuf;

fn jade(name: &str) -> AclMessage {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fipa-acl/vectors/jade-dftest")
        .join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    AclMessage::decode_string(&bytes).unwrap().0
}

fn action(content: &Content) -> &Action {
    match &content.0[..] {
        [ContentElement::Action(a)] => a,
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_jade_directory_requests_parse() {
    let expected = [
        ("AlreadyRegistered.acl", "register"),
        ("Deregister.acl", "deregister"),
        ("ModNotRegistered.acl", "modify"),
        ("Modify.acl", "modify"),
        ("NotRegistered.acl", "deregister"),
        ("Register.acl", "register"),
        ("Search.acl", "search"),
        ("Unauthorised.acl", "register"),
        ("UnsupportedV.acl", "function"),
    ];
    for (file, act) in expected {
        let m = jade(file);
        let content = Content::parse(m.content.as_deref().unwrap()).unwrap();
        let a = action(&content);
        assert_eq!(
            a.actor.to_agent_identifier().unwrap().name,
            "df@IBM10308:1099/JADE",
            "{file}"
        );
        assert_eq!(a.act.symbol(), Some(act), "{file}");
        // Printing is canonical, and parses back to the same content.
        assert_eq!(
            Content::parse(&content.to_bytes()).unwrap(),
            content,
            "{file}"
        );
    }
}

#[test]
fn a_registration_reads_as_a_frame() {
    let m = jade("Register.acl");
    let content = Content::parse(m.content.as_deref().unwrap()).unwrap();
    let Term::Function { args, .. } = &action(&content).act else {
        panic!()
    };
    let description = &args[0];
    assert_eq!(description.symbol(), Some("df-agent-description"));
    assert_eq!(
        description.param("name").unwrap().to_agent_identifier(),
        Some(AgentIdentifier::new("da0@IBM10308:1099/JADE"))
    );
    let services = description.param("services").unwrap().members().unwrap();
    assert_eq!(services.len(), 1);
    assert_eq!(
        services[0].param("type").unwrap().as_text(),
        Some("fipa-df")
    );
    assert_eq!(
        services[0].param("protocols").unwrap().members().unwrap(),
        [Term::word("fipa-request")]
    );
}

#[test]
fn a_parameter_without_value_is_a_missing_parameter() {
    let m = jade("MissingParameter.acl");
    match Content::parse(m.content.as_deref().unwrap()) {
        Err(Error::MissingValue {
            function,
            parameter,
            offset,
        }) => {
            assert_eq!(
                (function.as_str(), parameter.as_str()),
                ("service-description", "name")
            );
            let content = m.content.unwrap();
            assert_eq!(&content[offset..offset + 5], b":name");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn done_result_and_propositions() {
    let text = b"((done (action (agent-identifier :name df@p) (register x))) (result (action (agent-identifier :name df@p) (search d)) (sequence a \"b c\" 12 ?v)) true (ready) (= ?x 3))";
    let content = Content::parse(text).unwrap();
    assert!(matches!(
        &content.0[0],
        ContentElement::Formula(Formula::Done(_))
    ));
    let ContentElement::Formula(Formula::Result(_, Term::Sequence(items))) = &content.0[1] else {
        panic!("{:?}", content.0[1])
    };
    assert_eq!(
        items,
        &[
            Term::word("a"),
            Term::String(b"b c".to_vec()),
            Term::Number("12".into()),
            Term::Variable("v".into())
        ]
    );
    assert_eq!(content.0[2], ContentElement::Formula(Formula::True));
    assert_eq!(
        content.to_string(),
        "((done (action (agent-identifier :name df@p) (register x))) (result (action (agent-identifier :name df@p) (search d)) (sequence a \"b c\" 12 ?v)) true (ready) (= ?x 3))"
    );
}

#[test]
fn malformed_content_is_refused_with_the_offset() {
    let cases: [(&[u8], usize); 7] = [
        (b"()", 0),
        (b"((action a))", 1),
        (b"((done x))", 1),
        (b"((f :a 1))", 4),
        (b"((action x (f :a 1 b)))", 19),
        (b"(x) y", 4),
        (b"((f (:a 1)))", 5),
    ];
    for (text, at) in cases {
        match Content::parse(text) {
            Err(Error::Decode { offset, reason, .. }) => {
                assert_eq!(offset, at, "{}: {reason}", String::from_utf8_lossy(text))
            }
            other => panic!("{}: {other:?}", String::from_utf8_lossy(text)),
        }
    }
}

#[test]
fn agent_identifiers_convert_both_ways() {
    let aid = AgentIdentifier::new("seller@cell-3")
        .with_address("mqtt://127.0.0.1:1883/idea/seller")
        .with_address("http://h:7778/acc");
    let term = Term::agent_identifier(&aid);
    assert_eq!(term.to_agent_identifier(), Some(aid));
}

fn term() -> impl Strategy<Value = Term> {
    let leaf = prop_oneof![
        "[a-z][a-z0-9-]{0,8}".prop_map(Term::Word),
        "[a-z]{1,6}".prop_map(Term::Variable),
        prop::collection::vec(any::<u8>(), 0..12).prop_map(Term::String),
        (-9999i64..9999).prop_map(|n| Term::Number(n.to_string())),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Term::Set),
            prop::collection::vec(inner.clone(), 0..4).prop_map(Term::Sequence),
            (
                "[a-z][a-z-]{0,8}",
                prop::collection::vec(inner.clone(), 0..3)
            )
                .prop_filter("a function symbol", |(s, _)| {
                    !["set", "sequence", "action"].contains(&s.as_str())
                })
                .prop_map(|(symbol, args)| Term::Function { symbol, args }),
            (
                "[a-z][a-z-]{0,8}",
                prop::collection::vec(("[a-z][a-z-]{0,6}", inner.clone()), 1..3)
            )
                .prop_filter("a function symbol", |(s, _)| {
                    !["set", "sequence", "action"].contains(&s.as_str())
                })
                .prop_map(|(symbol, params)| Term::Frame { symbol, params }),
            (inner.clone(), inner)
                .prop_map(|(actor, act)| Term::Action(Box::new(Action { actor, act }))),
        ]
    })
}

proptest! {
    #[test]
    fn printed_content_parses_back(actor in term(), act in term(), a in term(), b in term()) {
        let content = Content(vec![
            ContentElement::Action(Action { actor: actor.clone(), act: act.clone() }),
            ContentElement::Formula(Formula::Result(a.clone(), b)),
            ContentElement::Formula(Formula::Done(Action { actor, act })),
            ContentElement::Formula(Formula::Predicate { symbol: "holds".into(), args: vec![a] }),
        ]);
        prop_assert_eq!(Content::parse(&content.to_bytes()).unwrap(), content);
    }

    #[test]
    fn arbitrary_text_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..128)) {
        let _ = Content::parse(&bytes);
    }
}
