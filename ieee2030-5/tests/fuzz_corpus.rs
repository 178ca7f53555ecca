//! Replays the fuzz corpus `fuzz/corpus/sep2_xml/` through the fuzz target body.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "../../fuzz/bodies/ieee2030_5.rs"]
mod bodies;

mod common;

#[path = "../../fuzz/bodies/corpus.rs"]
mod corpus_files;

#[test]
fn sep2_xml_corpus() {
    let inputs = corpus_files::corpus("sep2_xml", 45);
    let read = inputs.iter().filter(|c| bodies::xml(c)).count();
    assert!(read >= 45, "{read} seeds read as resources");
}

/// The seeds are a document of every resource type (and a few with optional fields and lists), as
/// `common::every_type` makes them; `IDEA_WRITE_SEEDS=1` writes them again.
#[test]
fn seeds_cover_every_resource_type() {
    use ieee2030_5::resources::{decode, encode};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/sep2_xml");
    for (i, seed) in common::every_type().iter().enumerate() {
        let file = dir.join(format!("{i:02}_{}.xml", seed.type_name()));
        if std::env::var_os("IDEA_WRITE_SEEDS").is_some_and(|v| v == "1") {
            let mut out = Vec::new();
            encode(seed, &mut out);
            std::fs::write(&file, out).unwrap();
        }
        let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(&decode(&bytes).unwrap().0, seed, "{}", file.display());
    }
}

#[test]
fn sep2_server_corpus() {
    let inputs = corpus_files::corpus("sep2_server", 7);
    let lists = inputs.iter().filter(|c| bodies::server(c)).count();
    assert!(lists >= 2, "{lists} seeds carried an event list");
}
