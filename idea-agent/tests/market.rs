//! The P2P market route: agents place signed orders with the market service within their commitment books;
//! at gate closure the market clears them (pay-as-clear) and tells each matched pair its contract; the seller
//! signs, the buyer countersigns and submits, the TE node records — the same contract as the bilateral route.
//! Unmatched orders are released; orders after gate closure, for another cell or from a stranger are refused.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use common::*;
use fipa_acl::{AclMessage, AgentIdentifier, Performative};
use idea_agent::{
    Agent, AgentConfig, MarketParticipant, MarketService, Output, Peer, TeIdentity, TeNode,
    TeNotice,
};
use idea_proto::*;

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn market_id() -> AgentIdentifier {
    AgentIdentifier::new("market@idea")
}

fn market_key() -> SigningKey {
    SigningKey::from_bytes(&[77; 32])
}

/// Agent `n` with the market participant behaviour, selling at `floor` and buying up to `cap`.
fn trader(n: u8, floor: i64, cap: i64) -> Agent {
    let cell = format!("cell-{n}");
    let mut a = Agent::new(AgentConfig {
        me: identifier(&format!("{cell}@idea")),
        key: key(n),
        settings: settings(&cell, |s| {
            s.replace("energy = 18", &format!("energy = {floor}"))
                .replace("energy = 30", &format!("energy = {cap}"))
        }),
        id_seed: [n; 16],
        te: Some(TeIdentity {
            deployment: deployment(),
            avatar: avatar(n),
            key_version: 0,
        }),
    });
    a.add_behaviour(Box::new(MarketParticipant::new(market_id())))
        .unwrap();
    a.handle_stored_energy(8_000, t("2026-12-02T10:00:00Z"));
    a
}

struct World {
    agents: Vec<Agent>,
    market: MarketService,
    node: TeNode,
    events: Vec<idea_agent::Event>,
    to_market: Vec<AclMessage>,
}

impl World {
    fn new(traders: Vec<Agent>) -> World {
        let ns: Vec<u8> = (1..=u8::try_from(traders.len()).unwrap()).collect();
        let mut node = TeNode::new(registry(&ns));
        let mut market = market_service();
        let mut agents = traders;
        let market_peer = Peer {
            agent: market_id(),
            cell: None,
            key: PublicKey::from(&market_key()),
            avatar: None,
        };
        let peers: Vec<(Peer, u8)> = agents
            .iter()
            .zip(&ns)
            .map(|(a, &n)| {
                (
                    Peer {
                        avatar: Some(avatar(n)),
                        ..peer_of(a, n)
                    },
                    n,
                )
            })
            .collect();
        for a in &mut agents {
            a.add_peer(market_peer.clone()).unwrap();
            for (p, _) in &peers {
                if &p.agent != a.me() {
                    a.add_peer(p.clone()).unwrap();
                }
            }
        }
        for (p, n) in peers {
            node.bind_agent(avatar(n), p.agent.name.clone());
            market.add_peer(p).unwrap();
        }
        World {
            agents,
            market,
            node,
            events: Vec::new(),
            to_market: Vec::new(),
        }
    }

    fn place(
        &mut self,
        i: usize,
        side: Side,
        wh: i64,
        now: Timestamp,
    ) -> idea_agent::Result<TransactionId> {
        place_on_market(&mut self.agents[i], side, wh, now)
    }

    /// Moves messages (through the string representation), TE submissions and notices until quiet.
    fn pump(&mut self, now: Timestamp) {
        self.pump_holding(now, None);
    }

    /// As [`World::pump`], holding back what the market sends to agent `late` until everything else is
    /// quiet: a broker keeps each sender's messages in order, not two senders' between them.
    fn pump_holding(&mut self, now: Timestamp, mut late: Option<&str>) {
        let mut held: Vec<AclMessage> = Vec::new();
        for _ in 0..100 {
            let mut mail = Vec::new();
            for a in &mut self.agents {
                while let Some(out) = a.poll_transmit() {
                    match out {
                        Output::Acl(m) => mail.push(*m),
                        Output::Te(s) => self.node.handle_submission(&a.me().name, s, now),
                        _ => {}
                    }
                }
                while let Some(e) = a.poll_event() {
                    self.events.push(e);
                }
            }
            while let Some(m) = self.market.poll_transmit() {
                mail.push(m);
            }
            while let Some(n) = self.node.poll_notice() {
                if let TeNotice::Recorded { to, .. } = &n
                    && let Some(a) = self.agents.iter_mut().find(|a| &a.me().name == to)
                {
                    a.handle_te_notice(&n, now).unwrap();
                }
            }
            if mail.is_empty() {
                if held.is_empty() {
                    return;
                }
                mail = std::mem::take(&mut held);
                late = None;
            }
            for m in mail {
                if let Some(late) = late
                    && m.sender.as_ref() == Some(&market_id())
                    && m.receivers.iter().any(|r| r.name == late)
                {
                    held.push(m);
                    continue;
                }
                let mut wire = Vec::new();
                m.encode_string(&mut wire).unwrap();
                let (m, _) = AclMessage::decode_string(&wire).unwrap();
                if m.receivers.contains(&market_id()) {
                    self.to_market.push(m.clone());
                    self.market.handle_acl(m, now);
                } else {
                    for a in &mut self.agents {
                        if m.receivers.contains(a.me()) {
                            a.handle_acl(m.clone(), now);
                        }
                    }
                }
            }
        }
        panic!("no quiet");
    }
}

#[test]
fn orders_cleared_by_the_market_end_in_contracts_recorded_at_the_te_node() {
    // Two sellers (floors 18 and 26), two buyers (caps 30 and 20).
    let mut w = World::new(vec![
        trader(1, 18, 30),
        trader(2, 26, 30),
        trader(3, 18, 30),
        trader(4, 18, 20),
    ]);
    let now = t("2026-12-02T10:00:00Z");
    let s1 = w.place(0, Side::Seller, 600, now).unwrap();
    let s2 = w.place(1, Side::Seller, 600, now).unwrap();
    let b1 = w.place(2, Side::Buyer, 500, now).unwrap();
    let b2 = w.place(3, Side::Buyer, 400, now).unwrap();
    w.pump(now);
    let booked = w.events.iter().filter(|e| e.what == "order-booked").count();
    assert_eq!(booked, 4);

    // Gate closure at 10:55 for the 11:00 period.
    let closes = w.market.poll_timeout().unwrap();
    assert_eq!(closes, t("2026-12-02T10:55:00Z"));
    w.market.handle_timeout(closes);
    w.pump(closes);

    // Only the seller at 18 and the buyers at 30 and 20 can trade: 500 Wh go to the bid at 30, 100 Wh to the
    // bid at 20, whose remaining 300 Wh cannot meet the offer at 26. Pay-as-clear takes the middle of the
    // marginal range [max(next bid 20, marginal offer 18), min(next offer 26, marginal bid 20)] = 20.
    let recorded = w.node.contracts().len();
    assert!(recorded >= 1, "{:?}", w.events);
    let agreed: Vec<(String, Side, i64, i64)> = w
        .agents
        .iter()
        .flat_map(|a| {
            a.transactions()
                .iter()
                .map(|(_, t)| {
                    (
                        a.me().name.clone(),
                        t.side,
                        t.transaction.terms.price.minor_units_per_kwh,
                        t.transaction.terms.total_energy().unwrap().wh(),
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect();
    for a in &w.agents {
        for (_, t) in a.transactions().iter() {
            assert_eq!(
                t.lifecycle.state(),
                TransactionState::Recorded,
                "{agreed:?}"
            );
            let price = t.transaction.terms.price.minor_units_per_kwh;
            assert_eq!(price, 20, "{agreed:?}");
        }
    }
    let sold: i64 = agreed
        .iter()
        .filter(|x| x.1 == Side::Seller)
        .map(|x| x.3)
        .sum();
    let bought: i64 = agreed
        .iter()
        .filter(|x| x.1 == Side::Buyer)
        .map(|x| x.3)
        .sum();
    assert_eq!(sold, bought);
    assert!(sold <= 600 && sold > 0, "{agreed:?}");
    assert!(agreed.iter().all(|x| x.0 != "cell-2@idea"), "{agreed:?}");
    // The dear seller's order was not matched: its tentative commitment is gone.
    assert!(w.agents[1].book().commitments().is_empty());
    assert!(
        w.events
            .iter()
            .any(|e| e.agent == "cell-2@idea" && e.what == "order-not-matched")
    );
    // The orders' own tentative commitments were replaced by the matches' (now binding).
    for (i, order) in [(0, s1), (2, b1), (3, b2)] {
        assert!(w.agents[i].book().get(&order).is_none());
    }
    let _ = s2;
    assert_eq!(w.node.refusals().count(), 0);
}

/// The seller's signed contract overtakes the market's match on its way to the buyer: the buyer keeps it until
/// the match comes, then countersigns it, and the contract is recorded at the TE node all the same.
#[test]
fn a_contract_that_comes_before_its_match_is_kept_until_the_match() {
    let mut w = World::new(vec![trader(1, 18, 30), trader(2, 18, 30)]);
    let now = t("2026-12-02T10:00:00Z");
    w.place(0, Side::Seller, 500, now).unwrap();
    w.place(1, Side::Buyer, 500, now).unwrap();
    w.pump(now);
    let closes = w.market.poll_timeout().unwrap();
    w.market.handle_timeout(closes);
    w.pump_holding(closes, Some("cell-2@idea"));
    assert_eq!(w.node.contracts().len(), 1, "{:?}", w.events);
    for a in &w.agents {
        for (_, t) in a.transactions().iter() {
            assert_eq!(t.lifecycle.state(), TransactionState::Recorded);
        }
    }
    let submitted = w
        .events
        .iter()
        .filter(|e| e.agent == "cell-2@idea" && e.what == "contract-submitted")
        .count();
    assert_eq!(submitted, 1, "{:?}", w.events);
}

#[test]
fn late_foreign_and_stranger_orders_are_refused() {
    let mut w = World::new(vec![trader(1, 18, 30), trader(2, 18, 30)]);
    // After gate closure.
    let late = t("2026-12-02T10:56:00Z");
    w.place(0, Side::Seller, 600, late).unwrap();
    w.pump(late);
    let rejected: Vec<&idea_agent::Event> = w
        .events
        .iter()
        .filter(|e| e.what == "order-rejected")
        .collect();
    assert_eq!(rejected.len(), 1);
    assert!(rejected[0].detail.contains("gate"), "{rejected:?}");
    assert!(w.agents[0].book().commitments().is_empty());

    // Far beyond the booking horizon (the 11:00 period asked three days early).
    let early = t("2026-11-29T10:00:00Z");
    w.place(1, Side::Seller, 600, early).unwrap();
    w.pump(early);
    let rejected: Vec<&idea_agent::Event> = w
        .events
        .iter()
        .filter(|e| e.what == "order-rejected")
        .collect();
    assert_eq!(rejected.len(), 2);
    assert!(
        rejected[1].detail.contains("booking horizon"),
        "{rejected:?}"
    );

    // An order for another agent's cell, signed by the sender: refused.
    let now = t("2026-12-02T10:00:00Z");
    w.place(0, Side::Seller, 600, now).unwrap();
    let Some(Output::Acl(order)) = w.agents[0].poll_transmit() else {
        panic!()
    };
    let mut forged = (*order).clone();
    forged.sender = Some(w.agents[1].me().clone());
    idea_agent::signing::sign(&mut forged, &key(2));
    w.market.handle_acl(forged, now);
    let answer = w.market.poll_transmit().unwrap();
    assert_eq!(answer.performative, Performative::RejectProposal);
    assert!(
        String::from_utf8_lossy(answer.content.as_deref().unwrap())
            .contains("another agent's cell")
    );
    // From a stranger.
    let mut stranger = (*order).clone();
    stranger.sender = Some(identifier("cell-9@idea"));
    idea_agent::signing::sign(&mut stranger, &key(9));
    w.market.handle_acl(stranger, now);
    assert_eq!(
        w.market.poll_transmit().unwrap().performative,
        Performative::Refuse
    );
}

/// ARCH-08, option 2: the market asks the arbitrator of the section before turning a match into a contract.
/// Cell 3 is nested behind branch 29–30 of the IEEE 33-bus feeder, its connection able to carry `room_w`
/// more import than it does without trades. Returns the world after clearing cell 3's 500 Wh (2 kW) match
/// and cell 4's.
fn cleared_with_room(room_w: f64) -> World {
    use ng_control::pool::{CellSite, Limits};
    let feeder = ng_control::Case::from_matpower(
        &std::fs::read_to_string(
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../ng-control/data/cases/case33bw.m"),
        )
        .unwrap(),
    )
    .unwrap();
    let site = |cell: &str, bus, connection, max_import_w| CellSite {
        cell: CellId::new(cell).unwrap(),
        bus,
        connection,
        max_import_w,
        max_export_w: 1e9,
    };
    let mut sites = vec![
        site("cell-1", 2, None, 1e9),
        site("cell-2", 3, None, 1e9),
        site("cell-3", 30, Some((28, 30)), 1e9),
        site("cell-4", 18, None, 1e9),
    ];
    let base = ng_control::pool::arbitrate(&feeder, &sites, &[], &Limits::default()).unwrap();
    let import = base
        .cell_flows
        .iter()
        .find(|f| f.cell.as_str() == "cell-3")
        .unwrap()
        .import_w;
    sites[2].max_import_w = import + room_w;
    let mut w = World::new(vec![
        trader(1, 18, 30),
        trader(2, 26, 30),
        trader(3, 18, 30),
        trader(4, 18, 20),
    ]);
    w.market.set_arbitrator(idea_agent::Arbitrator::new(
        feeder,
        sites,
        Limits::default(),
    ));
    let now = t("2026-12-02T10:00:00Z");
    w.place(0, Side::Seller, 600, now).unwrap();
    w.place(1, Side::Seller, 600, now).unwrap();
    w.place(2, Side::Buyer, 500, now).unwrap();
    w.place(3, Side::Buyer, 400, now).unwrap();
    w.pump(now);
    let closes = w.market.poll_timeout().unwrap();
    w.market.handle_timeout(closes);
    w.pump(closes);
    assert!(
        !w.events.iter().any(|e| e.what == "not-understood"),
        "{:?}",
        w.events
    );
    w
}

/// With 10 W of room the section cannot carry any meaningful share of cell 3's 2 kW: its match is refused
/// with the binding limit and both its parties are told; cell 1 still sells its 100 Wh to cell 4.
#[test]
fn the_market_asks_the_arbitrator_and_a_match_beyond_a_connection_is_refused() {
    let w = cleared_with_room(10.0);
    let refused: Vec<&idea_agent::Event> = w
        .events
        .iter()
        .filter(|e| e.what == "order-not-matched" && e.detail.contains("arbitration-refused"))
        .collect();
    let who: Vec<&str> = refused.iter().map(|e| e.agent.as_str()).collect();
    assert_eq!(who, ["cell-3@idea"], "{:?}", w.events);
    assert!(
        refused[0].detail.contains("cell cell-3 import"),
        "{}",
        refused[0].detail
    );
    assert_eq!(w.node.contracts().len(), 1, "cell 4's match is a contract");
}

/// With 200 W of room the arbitrator adjusts cell 3's match: the market makes it a contract at the share the
/// section carries (about 50 Wh of the 500 in the quarter hour), and both parties record it.
#[test]
fn the_market_makes_an_adjusted_match_a_contract_at_the_share_the_section_carries() {
    let w = cleared_with_room(200.0);
    assert_eq!(w.node.contracts().len(), 2, "{:?}", w.events);
    let to_cell_3: Vec<i64> = w
        .node
        .contracts()
        .iter()
        .filter(|c| {
            c.signed
                .body()
                .transaction
                .side_of(&CellId::new("cell-3").unwrap())
                .is_some()
        })
        .map(|c| match &c.signed.body().transaction.terms.profile {
            Profile::Energy(v) => v[0].wh(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(to_cell_3.len(), 1);
    assert!((30..=50).contains(&to_cell_3[0]), "{} Wh", to_cell_3[0]);
    assert!(
        !w.events
            .iter()
            .any(|e| e.detail.contains("arbitration-refused")),
        "{:?}",
        w.events
    );
}
