//! Replays the fuzz corpora `fuzz/corpus/fipa_*/` through the fuzz target bodies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../fuzz/bodies/fipa.rs"]
mod bodies;

#[path = "../../fuzz/bodies/corpus.rs"]
mod corpus_files;
use corpus_files::corpus;

#[test]
fn fipa_string_corpus() {
    corpus("fipa_string", 5)
        .iter()
        .for_each(|c| bodies::string(c));
}

#[test]
fn fipa_bit_efficient_corpus() {
    let inputs = corpus("fipa_bit_efficient", 5);
    let decoded = inputs
        .iter()
        .filter(|c| fipa_acl::AclMessage::decode_bit_efficient(c).is_ok())
        .count();
    assert!(decoded >= 5, "the seed messages decode");
    inputs.iter().for_each(|c| bodies::bit_efficient(c));
}

#[test]
fn fipa_xml_corpus() {
    let inputs = corpus("fipa_xml", 5);
    let decoded = inputs
        .iter()
        .filter(|c| fipa_acl::AclMessage::decode_xml(c).is_ok())
        .count();
    assert!(decoded >= 10, "the seed documents decode");
    inputs.iter().for_each(|c| bodies::xml(c));
}

#[test]
fn fipa_sl0_corpus() {
    let inputs = corpus("fipa_sl0", 5);
    let parsed = inputs
        .iter()
        .filter(|c| fipa_acl::sl0::Content::parse(c).is_ok())
        .count();
    assert!(parsed >= 10, "the seed contents parse");
    inputs.iter().for_each(|c| bodies::sl0(c));
}
