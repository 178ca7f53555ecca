//! Three agents negotiate over the embedded MQTT broker: two sellers register their offer service with the
//! directory facilitator (itself an agent on the broker), a buyer finds them there (PROP-02) and runs a
//! contract net with a `reply-by` deadline, accepts the cheaper proposal and receives the result.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use fipa_acl::directory::{DfAgentDescription, DirectoryFacilitator, ServiceDescription};
use fipa_acl::mqtt::{EmbeddedBroker, MqttTransport, TransportOptions, system_now};
use fipa_acl::protocol::{
    ContractNetInitiator, ContractNetParticipant, Duration, Event, Initiator, Outcome, Protocol,
};
use fipa_acl::sl0::{Content, ContentElement, Formula, Term};
use fipa_acl::{AclMessage, AgentIdentifier, Performative};

const SERVICE: &str = "idea-energy-seller";

async fn connect(broker: &EmbeddedBroker, name: &str) -> MqttTransport {
    let addr = broker.addr();
    MqttTransport::connect(
        &addr.ip().to_string(),
        addr.port(),
        AgentIdentifier::new(name),
        TransportOptions::default(),
    )
    .await
    .unwrap()
}

/// Runs a FIPA Request to the directory facilitator over the transport and returns the outcome.
async fn ask_directory(
    t: &mut MqttTransport,
    df: &AgentIdentifier,
    act: Term,
    id: &str,
) -> Outcome {
    let request = fipa_acl::directory::request(df, act);
    let deadline = system_now().checked_add(Duration::from_secs(10)).unwrap();
    let me = t.identifier().clone();
    let mut i = Initiator::new(
        Protocol::Request,
        me,
        df.clone(),
        request,
        id,
        Some(deadline),
        system_now(),
    )
    .unwrap();
    loop {
        while let Some(m) = i.poll_transmit() {
            t.send(&m).await.unwrap();
        }
        if let Some(outcome) = i.outcome() {
            return outcome.clone();
        }
        match t.recv_timeout(std::time::Duration::from_secs(10)).await {
            Some(Ok(m)) => i.handle(m, system_now()),
            Some(Err(e)) => panic!("{e}"),
            None => i.handle_timeout(system_now()),
        }
    }
}

async fn directory_agent(mut t: MqttTransport) {
    let mut facilitator = DirectoryFacilitator::new(t.identifier().clone());
    while let Ok(m) = t.recv().await {
        for reply in facilitator.handle(m, system_now()) {
            t.send(&reply).await.unwrap();
        }
    }
}

async fn seller(mut t: MqttTransport, df: AgentIdentifier, price_ct_per_kwh: u32) {
    let me = t.identifier().clone();
    let description = DfAgentDescription {
        name: Some(me.clone()),
        services: vec![ServiceDescription {
            service_type: Some(SERVICE.into()),
            protocols: vec!["fipa-contract-net".into()],
            ontologies: vec!["idea-energy".into()],
            ..ServiceDescription::default()
        }],
        ..DfAgentDescription::default()
    };
    let register = Term::Function {
        symbol: "register".into(),
        args: vec![description.to_term()],
    };
    let outcome = ask_directory(&mut t, &df, register, &format!("reg-{}", me.name)).await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    let cfp = t.recv().await.unwrap();
    let mut p = ContractNetParticipant::new(me, cfp, system_now()).unwrap();
    let offer =
        format!("((proposal (offer :energy-wh 10000 :price-ct-per-kwh {price_ct_per_kwh})))");
    p.propose(offer, system_now()).unwrap();
    while !p.is_finished() {
        while let Some(m) = p.poll_transmit() {
            t.send(&m).await.unwrap();
        }
        let m = t.recv().await.unwrap();
        p.handle(m, system_now());
        while let Some(event) = p.poll_event() {
            if let Event::Accepted(_) = event {
                p.inform("((done (deliver :energy-wh 10000)))").unwrap();
            }
        }
    }
    while let Some(m) = p.poll_transmit() {
        t.send(&m).await.unwrap();
    }
}

fn price(proposal: &AclMessage) -> u32 {
    let content = Content::parse(proposal.content.as_deref().unwrap()).unwrap();
    let ContentElement::Formula(Formula::Predicate { args, .. }) = &content.0[0] else {
        panic!("{content}")
    };
    args[0]
        .param("price-ct-per-kwh")
        .and_then(Term::as_text)
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_agents_negotiate_over_the_embedded_broker() {
    let broker = EmbeddedBroker::start().unwrap();
    let df = AgentIdentifier::new("df@idea");
    tokio::spawn(directory_agent(connect(&broker, "df@idea").await));
    let a = tokio::spawn(seller(
        connect(&broker, "seller-a@cell-1").await,
        df.clone(),
        23,
    ));
    let b = tokio::spawn(seller(
        connect(&broker, "seller-b@cell-2").await,
        df.clone(),
        19,
    ));

    let mut buyer = connect(&broker, "buyer@cell-7").await;
    // Find the sellers through the directory; they register concurrently, so ask until both are there.
    let template = DfAgentDescription {
        services: vec![ServiceDescription {
            service_type: Some(SERVICE.into()),
            ..ServiceDescription::default()
        }],
        ..DfAgentDescription::default()
    };
    let mut sellers = Vec::new();
    for attempt in 0..50 {
        let search = Term::Function {
            symbol: "search".into(),
            args: vec![template.to_term()],
        };
        let Outcome::Done(inform) =
            ask_directory(&mut buyer, &df, search, &format!("s-{attempt}")).await
        else {
            panic!()
        };
        let content = Content::parse(inform.content.as_deref().unwrap()).unwrap();
        let [ContentElement::Formula(Formula::Result(_, Term::Sequence(found)))] = &content.0[..]
        else {
            panic!("{content}")
        };
        sellers = found
            .iter()
            .filter_map(|d| DfAgentDescription::from_term(d)?.name)
            .collect::<Vec<_>>();
        if sellers.len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(sellers.len(), 2, "both sellers found in the directory");

    let cfp = AclMessage::new(Performative::Cfp)
        .content("((buy :energy-wh 10000 :from 20261124T120000000Z))");
    let deadline = system_now().checked_add(Duration::from_secs(20)).unwrap();
    let mut cn = ContractNetInitiator::new(
        buyer.identifier().clone(),
        sellers,
        cfp,
        "cn-mqtt",
        deadline,
        false,
        system_now(),
    )
    .unwrap();
    let mut proposals_complete = false;
    loop {
        while let Some(event) = cn.poll_event() {
            if event == Event::ProposalsComplete {
                proposals_complete = true;
                let best = cn
                    .proposals()
                    .iter()
                    .min_by_key(|p| price(p))
                    .and_then(|p| p.sender.clone())
                    .unwrap();
                cn.accept(&[best], system_now()).unwrap();
            }
        }
        while let Some(m) = cn.poll_transmit() {
            buyer.send(&m).await.unwrap();
        }
        if cn.outcome().is_some() {
            break;
        }
        let wait = cn
            .poll_timeout()
            .and_then(|d| d.duration_since(system_now()))
            .map_or(std::time::Duration::from_secs(20), |d| {
                std::time::Duration::from_millis(d.as_ms())
            });
        match buyer.recv_timeout(wait).await {
            Some(Ok(m)) => cn.handle(m, system_now()),
            Some(Err(e)) => panic!("{e}"),
            None => cn.handle_timeout(system_now()),
        }
    }
    while let Some(m) = cn.poll_transmit() {
        buyer.send(&m).await.unwrap();
    }
    assert!(proposals_complete);
    let outcome = cn.outcome().unwrap();
    assert_eq!(outcome.accepted.len(), 1);
    assert_eq!(
        outcome.accepted[0].sender.as_ref().unwrap().name,
        "seller-b@cell-2",
        "the cheaper one"
    );
    assert!(matches!(&outcome.results[..], [Ok(m)] if m.performative == Performative::Inform));
    a.await.unwrap();
    b.await.unwrap();
}
