//! Two (and three) agents negotiate, commit, command, measure and settle a P2P trade, their messages carried
//! through the ACL string representation; each step shows in the event logs with its UC ID. Bad input —
//! unknown agents, unsigned or tampered messages, unreadable content — is refused, not acted on.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use common::*;
use fipa_acl::{AclMessage, Performative};
use idea_agent::{Agent, BuyOrder, P2pBuyer};
use idea_proto::*;

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

const T0: &str = "2026-12-02T10:00:00Z";

fn order(wh: &[i64]) -> BuyOrder {
    BuyOrder {
        service: ServiceId::new("p2p-market").unwrap(),
        subject: Subject::Energy,
        window: DeliveryWindow::new(
            t("2026-12-02T11:00:00Z"),
            900,
            u32::try_from(wh.len()).unwrap(),
        )
        .unwrap(),
        profile: Profile::Energy(wh.iter().map(|w| Energy::from_wh(*w)).collect()),
        sellers: Vec::new(),
        reply_within: Duration::from_secs(30),
        tolerance: ToleranceBand {
            relative_bp: 500,
            absolute: Energy::from_wh(10),
        },
        penalty_per_kwh: 40,
    }
}

fn pair(seller_floor: i64) -> (Agent, Agent) {
    let mut seller = agent(
        "cell-1",
        1,
        settings("cell-1", |s| {
            s.replace("energy = 18", &format!("energy = {seller_floor}"))
        }),
    );
    let mut buyer = agent("cell-2", 2, settings("cell-2", |s| s));
    seller.handle_stored_energy(8_000, t(T0));
    seller.add_peer(peer_of(&buyer, 2)).unwrap();
    buyer.add_peer(peer_of(&seller, 1)).unwrap();
    (seller, buyer)
}

fn buy(buyer: &mut Agent, order: BuyOrder, now: Timestamp) -> Vec<TransactionId> {
    buyer
        .with_behaviour::<P2pBuyer, _>(now, |b, cx| b.buy(cx, order))
        .unwrap()
        .unwrap()
}

fn measurement(id: TransactionId, cell: &str, start: &str, wh: i64) -> MeasurementReport {
    MeasurementReport::new(MeasurementReportFields {
        transaction_id: id,
        cell: CellId::new(cell).unwrap(),
        meter: MeterId::new(format!("meter-{cell}")).unwrap(),
        interval_start: t(start),
        interval: Duration::from_secs(900),
        energy: Energy::from_wh(wh),
        average: PowerLevel::new(ActivePower::from_w(wh * 4), ReactivePower::from_var(0)),
    })
    .unwrap()
}

#[test]
fn a_trade_goes_from_request_to_settled_on_both_sides() {
    let (mut seller, mut buyer) = pair(18);
    let mut trace = Trace::default();
    let now = t(T0);
    let ids = buy(&mut buyer, order(&[1_000, 1_000]), now);
    assert_eq!(ids.len(), 1);
    let id = ids[0];
    pump(&mut [&mut seller, &mut buyer], now, &mut trace);

    // UC-01..UC-03: the seller countered at its floor (18 < the buyer's 30) and the buyer accepted.
    for a in [&seller, &buyer] {
        let tx = a.transactions().get(&id).unwrap();
        assert_eq!(
            tx.lifecycle.state(),
            TransactionState::Agreed,
            "{}",
            a.me().name
        );
        assert_eq!(tx.transaction.terms.price.minor_units_per_kwh, 18);
    }
    let performatives: Vec<String> = trace
        .messages
        .iter()
        .map(|m| m.performative.to_string())
        .collect();
    assert_eq!(
        performatives,
        ["cfp", "propose", "accept-proposal", "inform"]
    );
    // Tentative until recorded: both books hold it, within the limits.
    assert_eq!(seller.book().totals(t("2026-12-02T11:00:00Z")).p_max, 4_000);
    assert_eq!(buyer.book().totals(t("2026-12-02T11:00:00Z")).p_min, -4_000);

    // UC-04, then UC-05 at the window's start: each cell is set to its side of the trade.
    seller.handle_recorded(&id, now).unwrap();
    buyer.handle_recorded(&id, now).unwrap();
    run_until(
        &mut [&mut seller, &mut buyer],
        t("2026-12-02T11:00:00Z"),
        &mut trace,
    );
    let setpoints: Vec<(String, i64, CommandKind)> = trace
        .commands
        .iter()
        .map(|(who, c)| (who.clone(), c.setpoint.active.w(), c.kind))
        .collect();
    assert_eq!(
        setpoints,
        [
            ("cell-1@idea".to_owned(), 4_000, CommandKind::Start),
            ("cell-2@idea".to_owned(), -4_000, CommandKind::Start)
        ]
    );
    let at = t("2026-12-02T11:00:01Z");
    seller.handle_command_result(&id, Ok(()), at).unwrap();
    buyer.handle_command_result(&id, Ok(()), at).unwrap();

    // UC-08/UC-09: the first interval measured, the second commanded, the second measured: completed.
    let m0 = t("2026-12-02T11:15:02Z");
    seller
        .handle_measurement(
            &measurement(id, "cell-1", "2026-12-02T11:00:00Z", 1_000),
            m0,
        )
        .unwrap();
    buyer
        .handle_measurement(
            &measurement(id, "cell-2", "2026-12-02T11:00:00Z", -1_000),
            m0,
        )
        .unwrap();
    run_until(
        &mut [&mut seller, &mut buyer],
        t("2026-12-02T11:15:00Z"),
        &mut trace,
    );
    assert_eq!(trace.commands.len(), 4);
    assert!(
        trace.commands[2..]
            .iter()
            .all(|(_, c)| c.kind == CommandKind::Adjust)
    );
    let m1 = t("2026-12-02T11:30:02Z");
    seller
        .handle_measurement(&measurement(id, "cell-1", "2026-12-02T11:15:00Z", 990), m1)
        .unwrap();
    buyer
        .handle_measurement(&measurement(id, "cell-2", "2026-12-02T11:15:00Z", -990), m1)
        .unwrap();
    // UC-10.
    seller.handle_settled(&id, "paid 0.36 EUR", m1).unwrap();
    buyer.handle_settled(&id, "paid 0.36 EUR", m1).unwrap();
    pump(&mut [&mut seller, &mut buyer], m1, &mut trace);

    assert!(seller.book().commitments().is_empty());
    assert!(buyer.book().commitments().is_empty());
    let expected_steps = [
        ("UC-01", "requested"),
        ("UC-02", "answered"),
        ("UC-03", "negotiating"),
        ("UC-03", "agreed"),
        ("UC-04", "recorded"),
        ("UC-05", "commanded"),
        ("UC-06", "executing"),
        ("UC-08", "measured"),
        ("UC-09", "executing"),
        ("UC-08", "measured"),
        ("UC-09", "completed"),
        ("AG-04", "commitment-released"),
        ("UC-10", "settled"),
    ];
    for who in ["cell-1@idea", "cell-2@idea"] {
        let steps: Vec<(&str, &str)> = trace
            .events
            .iter()
            .filter(|e| e.agent == who && e.transaction == Some(id))
            .map(|e| (e.step, e.what))
            .collect();
        let mut expected = expected_steps.to_vec();
        if who == "cell-2@idea" {
            // The buyer also hears the seller's inform of the agreed terms.
            expected.insert(4, ("UC-03", "seller-confirmed"));
        }
        assert_eq!(steps, expected, "{who}");
        let state = if who == "cell-1@idea" {
            &seller
        } else {
            &buyer
        };
        assert_eq!(
            state.transactions().get(&id).unwrap().lifecycle.state(),
            TransactionState::Settled
        );
    }
    // The log is JSON lines a lab can read.
    let line = trace.events[0].to_json_line();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["step"], "UC-01");
    assert_eq!(v["transaction"], id.to_string());
}

#[test]
fn the_buyer_takes_the_cheaper_of_two_sellers_and_the_other_is_released() {
    let (mut cheap, mut buyer) = pair(18);
    let mut dear = agent(
        "cell-3",
        3,
        settings("cell-3", |s| s.replace("energy = 18", "energy = 25")),
    );
    dear.handle_stored_energy(8_000, t(T0));
    dear.add_peer(peer_of(&buyer, 2)).unwrap();
    buyer.add_peer(peer_of(&dear, 3)).unwrap();
    let mut trace = Trace::default();
    let now = t(T0);
    let ids = buy(&mut buyer, order(&[1_000]), now);
    assert_eq!(ids.len(), 2);
    pump(&mut [&mut cheap, &mut dear, &mut buyer], now, &mut trace);
    let states: Vec<(String, TransactionState, i64)> = ids
        .iter()
        .map(|id| {
            let tx = buyer.transactions().get(id).unwrap();
            (
                tx.counterparty.clone(),
                tx.lifecycle.state(),
                tx.transaction.terms.price.minor_units_per_kwh,
            )
        })
        .collect();
    assert!(states.contains(&("cell-1@idea".into(), TransactionState::Agreed, 18)));
    assert!(states.contains(&("cell-3@idea".into(), TransactionState::Rejected, 25)));
    assert_eq!(buyer.book().commitments().len(), 1);
    // The dearer seller's tentative commitment is gone with the rejection.
    assert!(dear.book().commitments().is_empty());
    assert!(
        trace.whats("cell-3@idea").contains(&"commitment-released"),
        "{:?}",
        trace.whats("cell-3@idea")
    );
    assert!(
        dear.transactions()
            .iter()
            .all(|(_, t)| t.lifecycle.state() == TransactionState::Rejected)
    );
}

#[test]
fn a_seller_below_its_floor_refuses_and_says_why() {
    let (mut seller, mut buyer) = pair(35);
    let mut trace = Trace::default();
    let now = t(T0);
    let id = buy(&mut buyer, order(&[500]), now)[0];
    pump(&mut [&mut seller, &mut buyer], now, &mut trace);
    let refusal = trace
        .messages
        .iter()
        .find(|m| m.performative == Performative::Refuse)
        .expect("a refuse");
    assert!(
        String::from_utf8_lossy(refusal.content.as_deref().unwrap())
            .contains("30 per kWh is below the owner's floor"),
        "{refusal:?}"
    );
    assert_eq!(
        buyer.transactions().get(&id).unwrap().lifecycle.state(),
        TransactionState::Rejected
    );
    assert!(seller.book().commitments().is_empty());
}

#[test]
fn a_seller_short_of_export_room_counters_with_what_fits() {
    let (mut seller, _) = pair(18);
    let mut buyer = agent(
        "cell-2",
        2,
        settings("cell-2", |s| {
            s.replace("max_import_w = 10000", "max_import_w = 20000")
        }),
    );
    seller.add_peer(peer_of(&buyer, 2)).unwrap();
    buyer.add_peer(peer_of(&seller, 1)).unwrap();
    let mut trace = Trace::default();
    let now = t(T0);
    // 3 kWh in a quarter hour is 12 kW: the seller may export 8 kW, so it offers 2 kWh.
    let id = buy(&mut buyer, order(&[3_000]), now)[0];
    pump(&mut [&mut seller, &mut buyer], now, &mut trace);
    let agreed = &buyer.transactions().get(&id).unwrap().transaction;
    assert_eq!(
        agreed.terms.profile,
        Profile::Energy(vec![Energy::from_wh(2_000)])
    );
    assert_eq!(seller.book().totals(t("2026-12-02T11:00:00Z")).p_max, 8_000);
}

#[test]
fn an_agreement_never_recorded_expires_and_its_commitment_is_released() {
    let (mut seller, mut buyer) = pair(18);
    let mut trace = Trace::default();
    let now = t(T0);
    let id = buy(&mut buyer, order(&[1_000]), now)[0];
    pump(&mut [&mut seller, &mut buyer], now, &mut trace);
    run_until(
        &mut [&mut seller, &mut buyer],
        t("2026-12-02T11:00:00Z"),
        &mut trace,
    );
    for a in [&seller, &buyer] {
        assert_eq!(
            a.transactions().get(&id).unwrap().lifecycle.state(),
            TransactionState::Expired
        );
        assert!(a.book().commitments().is_empty());
    }
    assert!(trace.commands.is_empty(), "nothing is commanded unrecorded");
}

#[test]
fn a_missing_measurement_fails_the_delivery_and_a_refused_setpoint_fails_it_at_once() {
    let (mut seller, mut buyer) = pair(18);
    let mut trace = Trace::default();
    let now = t(T0);
    let id = buy(&mut buyer, order(&[1_000]), now)[0];
    pump(&mut [&mut seller, &mut buyer], now, &mut trace);
    seller.handle_recorded(&id, now).unwrap();
    buyer.handle_recorded(&id, now).unwrap();
    run_until(
        &mut [&mut seller, &mut buyer],
        t("2026-12-02T11:00:00Z"),
        &mut trace,
    );
    let at = t("2026-12-02T11:00:01Z");
    seller.handle_command_result(&id, Ok(()), at).unwrap();
    buyer
        .handle_command_result(&id, Err("no answer from the router".into()), at)
        .unwrap();
    assert_eq!(
        buyer.transactions().get(&id).unwrap().lifecycle.state(),
        TransactionState::Failed
    );
    assert!(buyer.book().commitments().is_empty());
    // The seller's meter never reports: the delivery fails after the window plus the grace.
    run_until(&mut [&mut seller], t("2026-12-02T12:00:00Z"), &mut trace);
    assert_eq!(
        seller.transactions().get(&id).unwrap().lifecycle.state(),
        TransactionState::Failed
    );
    assert!(seller.book().commitments().is_empty());
    pump(&mut [&mut seller], t("2026-12-02T12:00:00Z"), &mut trace);
    let failed = trace
        .events
        .iter()
        .find(|e| e.agent == "cell-1@idea" && e.what == "failed")
        .unwrap();
    assert!(failed.detail.contains("not measured in time"), "{failed:?}");
}

fn signed_cfp_from(buyer: &mut Agent, now: Timestamp) -> AclMessage {
    buy(buyer, order(&[500]), now);
    match buyer.poll_transmit().unwrap() {
        idea_agent::Output::Acl(m) => *m,
        other => panic!("{other:?}"),
    }
}

fn answers(seller: &mut Agent) -> Vec<AclMessage> {
    let mut out = Vec::new();
    while let Some(o) = seller.poll_transmit() {
        if let idea_agent::Output::Acl(m) = o {
            out.push(*m);
        }
    }
    out
}

#[test]
fn unknown_unsigned_tampered_and_unreadable_messages_are_refused() {
    let now = t(T0);
    let (mut seller, mut buyer) = pair(18);
    let cfp = signed_cfp_from(&mut buyer, now);

    // From an agent the seller does not know: refused.
    let mut stranger = agent("cell-9", 9, settings("cell-9", |s| s));
    stranger.add_peer(peer_of(&seller, 1)).unwrap();
    let foreign = signed_cfp_from(&mut stranger, now);
    seller.handle_acl(foreign, now);
    let out = answers(&mut seller);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].performative, Performative::Refuse);

    // Unsigned: not-understood, nothing committed.
    let mut unsigned = cfp.clone();
    unsigned.user_params.clear();
    seller.handle_acl(unsigned, now);
    // Tampered content: the signature no longer verifies.
    let mut tampered = cfp.clone();
    let mut content = tampered.content.clone().unwrap().to_vec();
    let i = content.windows(4).position(|w| w == b"1000").unwrap_or(10);
    content[i] = b'9';
    tampered.content = Some(content.into());
    seller.handle_acl(tampered, now);
    let out = answers(&mut seller);
    assert_eq!(out.len(), 2);
    assert!(
        out.iter()
            .all(|m| m.performative == Performative::NotUnderstood)
    );
    assert!(
        String::from_utf8_lossy(out[0].content.as_deref().unwrap()).contains("unsigned message")
    );
    assert!(
        String::from_utf8_lossy(out[1].content.as_deref().unwrap())
            .contains("signature does not verify")
    );

    // Signed by the buyer but unreadable content: the seller's behaviour answers not-understood.
    let mut garbage = cfp.clone();
    garbage.content = Some("((idea-energy (transaction-request :nonsense 1)))".into());
    idea_agent::signing::sign(&mut garbage, &key(2));
    seller.handle_acl(garbage, now);
    let out = answers(&mut seller);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].performative, Performative::NotUnderstood);
    assert!(seller.book().commitments().is_empty());
    assert!(seller.transactions().is_empty());
    let mut events = Vec::new();
    while let Some(e) = seller.poll_event() {
        events.push((e.step, e.what));
    }
    assert_eq!(
        events,
        [
            ("AG-09", "refused-unknown-agent"),
            ("AG-09", "not-understood"),
            ("AG-09", "not-understood"),
            ("AG-09", "not-understood"),
        ]
    );
    // Nothing is answered to a not-understood (no loops).
    let mut nu = out[0].clone();
    nu.sender = Some(buyer.me().clone());
    seller.handle_acl(nu, now);
    assert!(answers(&mut seller).is_empty());
}

/// What a seller answers and logs for `inbox`, taken one message at a time or as one batch.
fn answer_inbox(inbox: &[AclMessage], batch: bool) -> (Vec<(String, String)>, Vec<&'static str>) {
    let now = t(T0);
    let (mut seller, mut buyer) = pair(18);
    let _ = signed_cfp_from(&mut buyer, now);
    if batch {
        seller.handle_acl_batch(inbox.to_vec(), now);
    } else {
        for m in inbox {
            seller.handle_acl(m.clone(), now);
        }
    }
    let out = answers(&mut seller)
        .into_iter()
        .map(|m| {
            (
                m.performative.to_string(),
                String::from_utf8_lossy(m.content.as_deref().unwrap_or_default()).into_owned(),
            )
        })
        .collect();
    let mut events = Vec::new();
    while let Some(e) = seller.poll_event() {
        events.push(e.what);
    }
    (out, events)
}

#[test]
fn an_inbox_checked_as_one_batch_is_answered_as_one_message_at_a_time() {
    let now = t(T0);
    let (seller, mut buyer) = pair(18);
    let cfp = signed_cfp_from(&mut buyer, now);
    let mut tampered = cfp.clone();
    tampered.content = Some(
        String::from_utf8_lossy(cfp.content.as_deref().unwrap())
            .replace("500", "900")
            .into_bytes()
            .into(),
    );
    let mut unsigned = cfp.clone();
    unsigned.user_params.clear();
    let mut stranger = agent("cell-9", 9, settings("cell-9", |s| s));
    stranger.add_peer(peer_of(&seller, 1)).unwrap();
    let foreign = signed_cfp_from(&mut stranger, now);
    // A forged message in the batch makes the batch fail: each is then checked alone, and the good call
    // for offers is still answered.
    let inbox = [tampered, cfp.clone(), unsigned, foreign, cfp];
    let one_by_one = answer_inbox(&inbox, false);
    assert_eq!(answer_inbox(&inbox, true), one_by_one);
    let performatives: Vec<&str> = one_by_one.0.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        performatives,
        [
            "not-understood",
            "propose",
            "not-understood",
            "refuse",
            "refuse"
        ],
        "{one_by_one:?}"
    );
    // The stranger is refused as unknown; the replayed call for offers is not offered twice.
    assert_eq!(one_by_one.0[3].1, "((unknown-agent))");
    assert_eq!(one_by_one.0[4].1, "((busy))");
    assert!(one_by_one.0[0].1.contains("signature does not verify"));
    assert!(one_by_one.0[2].1.contains("unsigned message"));
}

#[test]
fn an_operators_call_for_flexibility_is_answered_within_the_cells_limits() {
    // The operator's demand-response service: a peer without a cell.
    let now = t(T0);
    let (mut seller, _) = pair(18);
    let operator_key = key(40);
    let service = fipa_acl::AgentIdentifier::new("demand-response@operator");
    seller
        .add_peer(idea_agent::Peer {
            agent: service.clone(),
            cell: None,
            key: PublicKey::from(&operator_key),
            avatar: None,
        })
        .unwrap();
    let eur = Currency::new("EUR", 2).unwrap();
    let level = PowerLevel::new(ActivePower::from_w(3_000), ReactivePower::from_var(0));
    let me = seller.me().clone();
    let call = |id: u8, service_id: &str| {
        let proposal = EnergyTransaction::new(TransactionSpec {
            id: TransactionId::from_bytes([id; 16]),
            service: ServiceId::new(service_id).unwrap(),
            subject: Subject::Flexibility,
            parties: Parties::PeerToOperator {
                cell: CellRef::new(CellId::new("cell-1").unwrap(), PowerCellType::Prosumer),
                cell_side: Side::Seller,
                operator: UserId::new("dso").unwrap(),
            },
            terms: Terms::new(TermsSpec {
                window: DeliveryWindow::new(t("2026-12-02T11:00:00Z"), 900, 1).unwrap(),
                profile: Profile::Power(vec![level]),
                price: EnergyPrice::new(8, eur),
                tolerance: ToleranceBand::default(),
                penalty: EnergyPrice::new(20, eur),
            })
            .unwrap(),
        })
        .unwrap();
        let request = TransactionRequest {
            proposal,
            from_agent: AgentId::new("dso-dr").unwrap(),
            reply_by: t("2026-12-02T10:01:00Z"),
        };
        let mut cfp = AclMessage::new(Performative::Cfp)
            .from(service.clone())
            .to(me.clone());
        cfp.protocol = Some("fipa-contract-net".into());
        cfp.conversation_id = Some(format!("dr-{id}").into());
        fipa_acl::energy::write(
            &idea_proto::wire::AnyMessage::TransactionRequest(request),
            fipa_acl::energy::ContentForm::Sl0,
            &mut cfp,
        );
        idea_agent::signing::sign(&mut cfp, &operator_key);
        cfp
    };
    // Flexibility at 8 per kWh: above the owner's floor of 6, inside the export limit: offered as asked
    // at the floor price (a counter-proposal), committed tentatively as 0..3 kW of export.
    seller.handle_acl(call(1, "demand-response"), now);
    let out: Vec<AclMessage> = std::iter::from_fn(|| seller.poll_transmit())
        .filter_map(|o| match o {
            idea_agent::Output::Acl(m) => Some(*m),
            _ => None,
        })
        .collect();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].performative, Performative::Propose);
    let c = seller
        .book()
        .get(&TransactionId::from_bytes([1; 16]))
        .unwrap();
    assert_eq!((c.bands[0].p_min, c.bands[0].p_max), (0, 3_000));
    // A service the profile does not take part in: refused with the reason.
    seller.handle_acl(call(2, "capacity-market"), now);
    let refusal = match seller.poll_transmit().unwrap() {
        idea_agent::Output::Acl(m) => *m,
        other => panic!("{other:?}"),
    };
    assert_eq!(refusal.performative, Performative::Refuse);
    assert!(
        String::from_utf8_lossy(refusal.content.as_deref().unwrap())
            .contains("not taking part in capacity-market")
    );
}

#[test]
fn changing_installations_releases_tentative_offers_that_no_longer_fit_and_profiles_switch() {
    let (mut seller, mut buyer) = pair(18);
    let mut trace = Trace::default();
    let now = t(T0);
    let id = buy(&mut buyer, order(&[1_500]), now)[0];
    // Only the cfp and the seller's offer: the seller holds a tentative 6 kW export.
    let cfp = match buyer.poll_transmit().unwrap() {
        idea_agent::Output::Acl(m) => *m,
        other => panic!("{other:?}"),
    };
    seller.handle_acl(cfp, now);
    assert_eq!(seller.book().totals(t("2026-12-02T11:00:00Z")).p_max, 6_000);
    // AUX-05: a smaller export limit (4 kW): the tentative offer no longer fits and is released.
    let mut limits = seller.settings().cell.limits;
    limits.max_export = ActivePower::from_w(4_000);
    let units = seller.settings().cell.units.clone();
    let released = seller.change_installations(units, limits, now).unwrap();
    assert_eq!(released, [id]);
    assert!(seller.book().commitments().is_empty());
    pump(&mut [&mut seller], now, &mut trace);
    assert!(
        trace
            .whats("cell-1@idea")
            .contains(&"installations-changed")
    );
    assert!(trace.whats("cell-1@idea").contains(&"commitment-released"));
    // A unit the cell type cannot have is refused (Table 1), nothing changes.
    let mut units = seller.settings().cell.units.clone();
    units.retain(|u| u.id.as_str() == "house");
    assert!(seller.change_installations(units, limits, now).is_err());
    assert_eq!(seller.settings().cell.limits.max_export.w(), 4_000);
    // AUX-03: the passive profile sells nothing; a new call is refused with the reason.
    seller.set_participation("passive", now).unwrap();
    assert!(seller.set_participation("eco", now).is_err());
    buy(&mut buyer, order(&[500]), now);
    pump(&mut [&mut seller, &mut buyer], now, &mut trace);
    let refusal = trace
        .messages
        .iter()
        .rev()
        .find(|m| m.performative == Performative::Refuse)
        .expect("a refusal");
    assert!(
        String::from_utf8_lossy(refusal.content.as_deref().unwrap())
            .contains("not taking part in p2p-market"),
        "{refusal:?}"
    );
}

#[test]
fn an_ended_subscription_refuses_new_trades_at_once_and_ends_when_the_last_open_one_is_over() {
    use idea_agent::subscription::SubscriptionState;
    let (mut seller, mut buyer) = pair(18);
    let mut trace = Trace::default();
    let now = t(T0);
    let market = ServiceId::new("p2p-market").unwrap();
    let first = buy(&mut buyer, order(&[1_000]), now)[0];
    pump(&mut [&mut seller, &mut buyer], now, &mut trace);
    assert_eq!(
        seller.transactions().get(&first).unwrap().lifecycle.state(),
        TransactionState::Agreed
    );
    while seller.poll_event().is_some() {}

    // AUX-08: the agreed trade stays open, so the subscription is ending, not ended.
    assert_eq!(seller.unsubscribe(&market, now), SubscriptionState::Ending);
    // A new call for offers in that service is refused with the reason; the agreed trade is untouched.
    let second = buy(&mut buyer, order(&[500]), now)[0];
    pump(&mut [&mut seller, &mut buyer], now, &mut trace);
    assert_eq!(
        seller
            .transactions()
            .get(&second)
            .unwrap()
            .lifecycle
            .state(),
        TransactionState::Rejected
    );
    let refusal = trace
        .messages
        .iter()
        .rev()
        .find(|m| m.performative == Performative::Refuse)
        .expect("the seller refuses");
    assert!(
        String::from_utf8_lossy(refusal.content.as_deref().unwrap())
            .contains("the subscription to p2p-market is ending"),
        "{refusal:?}"
    );
    assert_eq!(seller.book().commitments().len(), 1);
    // Its own orders in the service are refused too.
    let own = seller.with_behaviour::<P2pBuyer, _>(now, |b, cx| b.buy(cx, order(&[100])));
    assert!(
        own.unwrap()
            .unwrap_err()
            .to_string()
            .contains("the subscription to p2p-market is ending")
    );

    // The last open transaction ends (here unrecorded, it expires at the window's start): ended.
    run_until(
        &mut [&mut seller, &mut buyer],
        t("2026-12-02T11:00:00Z"),
        &mut trace,
    );
    assert_eq!(
        seller.subscriptions().state(&market),
        SubscriptionState::Ended
    );
    let steps: Vec<(&str, &str)> = trace
        .events
        .iter()
        .filter(|e| e.agent == "cell-1@idea" && e.step.starts_with("AUX"))
        .map(|e| (e.step, e.what))
        .collect();
    assert_eq!(
        steps,
        [
            ("AUX-08", "subscription-ending"),
            ("AUX-08", "subscription-ended")
        ]
    );

    // AUX-04: subscribed again, it trades again; a service the profile does not list is refused.
    seller.subscribe(&market, now).unwrap();
    assert_eq!(
        seller.subscriptions().state(&market),
        SubscriptionState::Active
    );
    let at = t("2026-12-02T11:00:00Z");
    let third = buy(
        &mut buyer,
        BuyOrder {
            window: DeliveryWindow::new(t("2026-12-02T12:00:00Z"), 900, 1).unwrap(),
            ..order(&[500])
        },
        at,
    )[0];
    pump(&mut [&mut seller, &mut buyer], at, &mut trace);
    assert_eq!(
        seller.transactions().get(&third).unwrap().lifecycle.state(),
        TransactionState::Agreed
    );
    let err = seller
        .subscribe(&ServiceId::new("district-heat").unwrap(), at)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("does not take part in district-heat"),
        "{err}"
    );
}
