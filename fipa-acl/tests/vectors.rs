//! Every string-representation vector under `../shared/fipa-acl/vectors/jade-dftest/` (real JADE
//! directory-facilitator requests) decodes, keeps its fields, and survives encode → decode unchanged.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use fipa_acl::{AclMessage, AgentIdentifier, DateTime, Expression, Performative};
use std::path::PathBuf;

fn vectors() -> Vec<(String, Vec<u8>)> {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fipa-acl/vectors/jade-dftest");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e} (the shared vectors are required)", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|f| {
            (
                f.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&f).unwrap(),
            )
        })
        .collect()
}

#[test]
fn every_jade_vector_decodes_and_round_trips() {
    let all = vectors();
    assert_eq!(all.len(), 10);
    for (name, bytes) in all {
        let (message, used) =
            AclMessage::decode_string(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            bytes[used..].iter().all(|b| b.is_ascii_whitespace()),
            "{name}: trailing input"
        );
        assert_eq!(message.performative, Performative::Request, "{name}");
        assert_eq!(
            message
                .language
                .as_ref()
                .and_then(Expression::as_text)
                .as_deref(),
            Some("FIPA-SL0"),
            "{name}"
        );
        assert_eq!(
            message
                .ontology
                .as_ref()
                .and_then(Expression::as_text)
                .as_deref(),
            Some("FIPA-Agent-Management"),
            "{name}"
        );
        assert_eq!(message.protocol.as_deref(), Some("fipa-request"), "{name}");
        assert!(
            message.sender.is_some() && !message.receivers.is_empty(),
            "{name}"
        );
        assert!(
            message.content.as_ref().unwrap().starts_with(b"((action"),
            "{name}"
        );
        assert!(
            message.user_params.iter().any(|(k, _)| k == "comment"),
            "{name}: X-comment"
        );
        let mut again = Vec::new();
        message.encode_string(&mut again).unwrap();
        let (back, _) = AclMessage::decode_string(&again).unwrap();
        assert_eq!(back, message, "{name}");
    }
}

#[test]
fn the_search_vector_field_by_field() {
    let (_, bytes) = vectors()
        .into_iter()
        .find(|(n, _)| n == "Search.acl")
        .unwrap();
    let (m, _) = AclMessage::decode_string(&bytes).unwrap();
    assert_eq!(
        m.sender,
        Some(AgentIdentifier::new("da0@IBM10308:1099/JADE"))
    );
    assert_eq!(m.receivers, [AgentIdentifier::new("df@IBM10308:1099/JADE")]);
    assert_eq!(
        m.reply_with
            .as_ref()
            .and_then(Expression::as_text)
            .as_deref(),
        Some("rwdf@IBM10308:2000/JADE1016096940500")
    );
    assert_eq!(
        m.conversation_id
            .as_ref()
            .and_then(Expression::as_text)
            .as_deref(),
        Some("convdf@IBM10308:2000/JADE1016096940500")
    );
    assert_eq!(m.reply_by, Some(DateTime::utc(2002, 3, 14, 9, 14, 0, 500)));
    let Expression::String(comment) = &m.user_params[0].1 else {
        panic!("X-comment is a string")
    };
    assert!(comment.starts_with(b"this message makes a search"));
    let content = m.content.as_ref().unwrap();
    assert!(content.ends_with(b"(search-constraints ) ) ) )"));
}
