//! The `idea-energy` ontology carries every IDEA message as SL0 frames and as protobuf in a byte-length
//! string, through every ACL representation, and refuses content that breaks IDEA's rules.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use fipa_acl::energy::{self, ContentForm};
use fipa_acl::{AclMessage, Error, Performative, Representation};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_idea_message_round_trips_in_both_forms_and_every_representation(
        message in idea_proto::strategies::any_message()
    ) {
        for form in [ContentForm::Sl0, ContentForm::Protobuf] {
            let mut m = AclMessage::new(Performative::Propose);
            energy::write(&message, form, &mut m);
            for representation in Representation::ALL {
                let mut wire = Vec::new();
                match m.encode_as(representation, &mut wire) {
                    Ok(()) => {}
                    // Protobuf bytes are binary: XML cannot carry them, and says so.
                    Err(Error::Invalid { .. })
                        if representation == Representation::Xml && form == ContentForm::Protobuf => continue,
                    // Strings with control characters cannot go in XML either.
                    Err(Error::Invalid { .. }) if representation == Representation::Xml => continue,
                    Err(e) => panic!("{representation}: {e}"),
                }
                let (back, _) = AclMessage::decode_as(&wire, representation, &fipa_acl::Limits::default()).unwrap();
                prop_assert_eq!(&energy::read(&back).unwrap(), &message);
            }
        }
    }

    #[test]
    fn the_written_content_is_the_content_terms_printed(
        message in idea_proto::strategies::any_message()
    ) {
        // `write` prints the SL0 form straight from the message; it must be what `to_content` gives.
        for form in [ContentForm::Sl0, ContentForm::Protobuf] {
            let mut m = AclMessage::new(Performative::Inform);
            energy::write(&message, form, &mut m);
            prop_assert_eq!(
                m.content.as_deref().unwrap(),
                &energy::to_content(&message, form).to_bytes()[..]
            );
        }
    }
}

#[test]
fn content_that_breaks_idea_rules_is_refused_with_the_reason() {
    let mut m = AclMessage::new(Performative::AcceptProposal);
    m.ontology = Some("idea-energy".into());
    m.content = Some(
        br#"((idea-energy (transaction-answer :decision "reject" :from-agent "pv" :transaction-id "00")))"#.to_vec().into(),
    );
    let e = energy::read(&m).unwrap_err().to_string();
    assert!(e.contains("transaction"), "{e}");
    m.content = Some(b"((idea-energy (tariff :price 3)))".to_vec().into());
    assert!(
        energy::read(&m)
            .unwrap_err()
            .to_string()
            .contains("not an idea-energy concept")
    );
    m.ontology = Some("FIPA-Agent-Management".into());
    assert!(energy::read(&m).is_err());
}
