//! Validation at the trust boundaries: wire → domain and JSON → domain refuse what the rules forbid, naming
//! the field.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation
)]

use idea_proto::wire::pb;
use idea_proto::*;
use prost::Message;

fn eur() -> Currency {
    Currency::new("EUR", 2).unwrap()
}

fn start() -> Timestamp {
    "2026-11-24T10:00:00Z".parse().unwrap()
}

fn terms(profile: Profile) -> TermsSpec {
    TermsSpec {
        window: DeliveryWindow::new(start(), 900, 2).unwrap(),
        profile,
        price: EnergyPrice::new(12, eur()),
        tolerance: ToleranceBand {
            relative_bp: 500,
            absolute: Energy::from_wh(10),
        },
        penalty: EnergyPrice::new(30, eur()),
    }
}

fn energy_terms() -> Terms {
    Terms::new(terms(Profile::Energy(vec![
        Energy::from_wh(500),
        Energy::from_wh(700),
    ])))
    .unwrap()
}

fn p2p(subject: Subject, seller: PowerCellType, buyer: PowerCellType) -> TransactionSpec {
    let power = PowerLevel::new(ActivePower::from_w(2000), ReactivePower::ZERO);
    TransactionSpec {
        id: TransactionId::from_bytes([5; 16]),
        service: ServiceId::new("p2p-market").unwrap(),
        subject,
        parties: Parties::PeerToPeer {
            seller: CellRef::new(CellId::new("seller").unwrap(), seller),
            buyer: CellRef::new(CellId::new("buyer").unwrap(), buyer),
        },
        terms: if subject == Subject::Energy {
            energy_terms()
        } else {
            Terms::new(terms(Profile::Power(vec![power, power]))).unwrap()
        },
    }
}

#[test]
fn a_passive_consumer_offering_flexibility_is_named_in_the_error() {
    let spec = p2p(
        Subject::Flexibility,
        PowerCellType::PassiveConsumer,
        PowerCellType::StochasticGenerator,
    );
    let err = EnergyTransaction::new(spec.clone()).unwrap_err();
    assert_eq!(
        err,
        Error::RoleNotAllowed {
            field: "p2p.seller".into(),
            cell_type: PowerCellType::PassiveConsumer,
            subject: Subject::Flexibility,
            side: Side::Seller,
        }
    );
    // The same transaction on the wire fails to convert, with the field.
    let mut wire = pb::EnergyTransaction::from(
        &EnergyTransaction::new(p2p(
            Subject::Flexibility,
            PowerCellType::Prosumer,
            PowerCellType::StochasticGenerator,
        ))
        .unwrap(),
    );
    if let Some(pb::energy_transaction::Parties::P2p(p)) = &mut wire.parties {
        p.seller.as_mut().unwrap().cell_type = pb::PowerCellType::PassiveConsumer as i32;
    }
    let err = EnergyTransaction::decode_payload(&wire.encode_to_vec()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "p2p.seller: a passive-consumer cell may not be the seller of flexibility (IDEA Table 2, ARCH-03)"
    );
    // And in JSON.
    let json = serde_json::to_value(
        EnergyTransaction::new(p2p(
            Subject::Flexibility,
            PowerCellType::Prosumer,
            PowerCellType::StochasticGenerator,
        ))
        .unwrap(),
    )
    .unwrap();
    let mut bad = json.clone();
    bad["parties"]["seller"]["cell_type"] = "passive-consumer".into();
    let err = serde_json::from_value::<EnergyTransaction>(bad)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("passive-consumer cell may not be the seller of flexibility"),
        "{err}"
    );
}

#[test]
fn every_forbidden_side_is_refused_and_every_allowed_one_accepted() {
    for subject in Subject::ALL {
        for t in PowerCellType::ALL {
            for side in Side::ALL {
                let spec = TransactionSpec {
                    parties: Parties::PeerToOperator {
                        cell: CellRef::new(CellId::new("c").unwrap(), t),
                        cell_side: side,
                        operator: UserId::new("op").unwrap(),
                    },
                    ..p2p(subject, PowerCellType::Prosumer, PowerCellType::Prosumer)
                };
                let result = EnergyTransaction::new(spec);
                assert_eq!(
                    result.is_ok(),
                    allowed(t, subject, side),
                    "{t} {side} {subject}: {result:?}"
                );
            }
        }
    }
}

#[test]
fn transaction_shape_rules() {
    let mut spec = p2p(
        Subject::Energy,
        PowerCellType::Prosumer,
        PowerCellType::Prosumer,
    );
    if let Parties::PeerToPeer { buyer, .. } = &mut spec.parties {
        buyer.cell = CellId::new("seller").unwrap();
    }
    assert_eq!(
        EnergyTransaction::new(spec).unwrap_err().to_string(),
        "p2p.buyer.cell: seller cannot trade with itself"
    );
    let mut spec = p2p(
        Subject::Power,
        PowerCellType::Prosumer,
        PowerCellType::Prosumer,
    );
    spec.terms = energy_terms();
    assert_eq!(
        EnergyTransaction::new(spec).unwrap_err().to_string(),
        "terms.profile: a power transaction needs a power profile"
    );
}

#[test]
fn terms_rules() {
    let err = Terms::new(terms(Profile::Energy(vec![Energy::from_wh(1)]))).unwrap_err();
    assert_eq!(err.to_string(), "profile: 1 entries for 2 intervals");
    let err = Terms::new(terms(Profile::Energy(vec![
        Energy::from_wh(1),
        Energy::from_wh(-1),
    ])))
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "energy.energy_wh[1]: contracted energy cannot be negative"
    );
    let mut t = terms(Profile::Energy(vec![Energy::ZERO, Energy::ZERO]));
    t.penalty = EnergyPrice::new(30, Currency::new("USD", 2).unwrap());
    assert!(
        Terms::new(t)
            .unwrap_err()
            .to_string()
            .starts_with("penalty.currency")
    );
    let mut t = terms(Profile::Energy(vec![Energy::ZERO, Energy::ZERO]));
    t.tolerance.relative_bp = 10_001;
    assert!(
        Terms::new(t)
            .unwrap_err()
            .to_string()
            .starts_with("tolerance.relative_bp")
    );
    // Windows start on a settlement period and the period divides a day.
    let off = start().checked_add(Duration::from_mins(5)).unwrap();
    assert!(
        DeliveryWindow::new(off, 900, 1)
            .unwrap_err()
            .to_string()
            .starts_with("start_unix_ms")
    );
    assert!(
        DeliveryWindow::new(start(), 7 * 60, 1)
            .unwrap_err()
            .to_string()
            .starts_with("period_s")
    );
    assert!(DeliveryWindow::new(start(), 900, 0).is_err_and(
        |e| matches!(e, idea_proto::Error::InvalidField { field, .. } if field == "intervals")
    ));
    assert!(
        DeliveryWindow::new(start(), 900, MAX_INTERVALS_PLUS_ONE).is_err_and(
            |e| matches!(e, idea_proto::Error::InvalidField { field, .. } if field == "intervals")
        )
    );
    // Contract arithmetic.
    let t = energy_terms();
    assert_eq!(t.total_energy(), Ok(Energy::from_wh(1200)));
    assert_eq!(t.value(), Ok(Money::new(14, eur()))); // 1.2 kWh × 12 = 14.4 → 14
    assert_eq!(
        t.tolerance.allowance(Energy::from_wh(500)),
        Ok(Energy::from_wh(25))
    );
    assert_eq!(
        t.tolerance.allowance(Energy::from_wh(100)),
        Ok(Energy::from_wh(10))
    );
    let w = t.window;
    assert_eq!(
        w.interval_at(start().checked_add(Duration::from_mins(16)).unwrap()),
        Some(1)
    );
    assert_eq!(
        w.interval_at(start().checked_add(Duration::from_mins(30)).unwrap()),
        None
    );
    assert_eq!(w.end().unwrap().to_string(), "2026-11-24T10:30:00Z");
}

const MAX_INTERVALS_PLUS_ONE: u32 = idea_proto::limits::MAX_INTERVALS + 1;

fn unit(id: &str, kind: UnitKind) -> ElectricalUnit {
    ElectricalUnit {
        id: UnitId::new(id).unwrap(),
        kind,
    }
}

fn pv() -> UnitKind {
    UnitKind::Photovoltaic {
        peak: ActivePower::from_w(5000),
        inverter: ApparentPower::from_va(5000),
    }
}

fn house(units: Vec<ElectricalUnit>, cell_type: PowerCellType) -> PowerCellSpec {
    PowerCellSpec {
        id: CellId::new("house-1").unwrap(),
        cell_type,
        owner: UserId::new("alice").unwrap(),
        agent: AgentId::new("agent-house-1").unwrap(),
        limits: CellLimits {
            max_import: ActivePower::from_w(10_000),
            ..CellLimits::default()
        },
        units,
        connection: ConnectionPoint {
            node: NodeId::new("bus-3").unwrap(),
            nominal_voltage: Voltage::from_v(400).unwrap(),
            dc: false,
        },
        enclosing_cell: None,
    }
}

#[test]
fn a_cells_type_must_match_its_units() {
    let load = unit(
        "l1",
        UnitKind::Load {
            rated: ActivePower::from_w(3000),
            controllable: false,
        },
    );
    let battery = unit(
        "b1",
        UnitKind::Storage {
            capacity: Energy::from_wh(10_000),
            max_charge: ActivePower::from_w(5000),
            max_discharge: ActivePower::from_w(5000),
        },
    );
    assert!(PowerCell::new(house(vec![load.clone()], PowerCellType::PassiveConsumer)).is_ok());
    let ok = PowerCell::new(house(
        vec![load.clone(), unit("pv", pv())],
        PowerCellType::ConsumerWithOwnGeneration,
    ));
    assert!(ok.is_ok());
    let err = PowerCell::new(house(
        vec![load.clone(), unit("pv", pv())],
        PowerCellType::Prosumer,
    ))
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "cell_type: declared prosumer but its units make it a consumer-with-own-generation cell (IDEA Table 1)"
    );
    let cell = PowerCell::new(house(
        vec![load.clone(), unit("pv", pv()), battery],
        PowerCellType::Prosumer,
    ))
    .unwrap();
    assert_eq!(
        cell.cell_type.interface_device(),
        InterfaceDevice::EnergyRouter
    );
    // AUX-05: new installations must still fit the type.
    assert!(
        cell.with_installations(vec![load.clone()], cell.limits)
            .is_err_and(|e| matches!(e, idea_proto::Error::InvalidField { field, .. } if field == "cell_type"))
    );
    // Duplicate unit ids, negative ratings and export limits of consumers are refused.
    let err = PowerCell::new(house(
        vec![load.clone(), load.clone()],
        PowerCellType::PassiveConsumer,
    ))
    .unwrap_err();
    assert_eq!(err.to_string(), "units[1].id: unit id l1 appears twice");
    let neg = unit(
        "l2",
        UnitKind::Load {
            rated: ActivePower::from_w(-1),
            controllable: false,
        },
    );
    let err = PowerCell::new(house(vec![neg], PowerCellType::PassiveConsumer)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "units[0].load.rated_w: a rating cannot be negative (-1)"
    );
    let mut spec = house(vec![load.clone()], PowerCellType::PassiveConsumer);
    spec.limits.max_export = ActivePower::from_w(1);
    assert!(
        PowerCell::new(spec)
            .unwrap_err()
            .to_string()
            .starts_with("limits.max_export_w")
    );
}

#[test]
fn cells_above_110_kv_are_outside_idea() {
    let load = unit(
        "l1",
        UnitKind::Load {
            rated: ActivePower::from_w(3000),
            controllable: true,
        },
    );
    let mut spec = house(vec![load], PowerCellType::ActiveConsumer);
    spec.connection.nominal_voltage = Voltage::from_v(110_000).unwrap();
    assert!(PowerCell::new(spec.clone()).is_ok());
    spec.connection.nominal_voltage = Voltage::from_v(220_000).unwrap();
    let err = PowerCell::new(spec).unwrap_err().to_string();
    assert!(err.contains("ARCH-06"), "{err}");
}

#[test]
fn nesting_is_checked_and_walked() {
    let load = unit(
        "l1",
        UnitKind::Load {
            rated: ActivePower::from_w(3000),
            controllable: false,
        },
    );
    let cell = |id: &str, parent: Option<&str>| {
        let mut spec = house(vec![load.clone()], PowerCellType::PassiveConsumer);
        spec.id = CellId::new(id).unwrap();
        spec.enclosing_cell = parent.map(|p| CellId::new(p).unwrap());
        PowerCell::new(spec).unwrap()
    };
    let cells = [
        cell("plant", None),
        cell("workshop", Some("plant")),
        cell("office", Some("workshop")),
    ];
    let nesting = CellNesting::new(&cells).unwrap();
    let office = CellId::new("office").unwrap();
    let chain: Vec<_> = nesting
        .enclosing_chain(&office)
        .iter()
        .map(|c| c.as_str())
        .collect();
    assert_eq!(chain, ["workshop", "plant"]);
    assert_eq!(nesting.inner_cells(&CellId::new("plant").unwrap()).len(), 1);
    let cycle = [cell("a", Some("b")), cell("b", Some("a"))];
    assert!(
        CellNesting::new(&cycle)
            .unwrap_err()
            .to_string()
            .contains("cycle")
    );
    let orphan = [cell("a", Some("nowhere"))];
    assert!(
        CellNesting::new(&orphan)
            .unwrap_err()
            .to_string()
            .contains("unknown cell nowhere")
    );
    let mut spec = house(vec![load.clone()], PowerCellType::PassiveConsumer);
    spec.enclosing_cell = Some(spec.id.clone());
    assert!(PowerCell::new(spec).is_err_and(
        |e| matches!(e, idea_proto::Error::InvalidField { field, .. } if field == "enclosing_cell")
    ));
}

fn cells(types: &[PowerCellType]) -> Vec<CellRef> {
    types
        .iter()
        .enumerate()
        .map(|(i, &t)| CellRef::new(CellId::new(format!("c{i}")).unwrap(), t))
        .collect()
}

fn links(pairs: &[(usize, usize)]) -> Vec<Link<CellId>> {
    pairs
        .iter()
        .map(|&(a, b)| Link {
            a: CellId::new(format!("c{a}")).unwrap(),
            b: CellId::new(format!("c{b}")).unwrap(),
        })
        .collect()
}

fn microgrid(
    layout: MicrogridLayout,
    n: usize,
    pairs: &[(usize, usize)],
    center: Option<usize>,
) -> Result<Topology, Error> {
    let mut types = vec![PowerCellType::PassiveConsumer; n];
    types[0] = PowerCellType::Prosumer;
    Topology::new(TopologySpec {
        id: TopologyId::new("t").unwrap(),
        model: TopologyModel::Microgrid(Microgrid {
            id: MicrogridId::new("mg").unwrap(),
            layout,
            cells: cells(&types),
            links: links(pairs),
            supply_center: center.map(|c| CellId::new(format!("c{c}")).unwrap()),
        }),
    })
}

#[test]
fn microgrid_layouts() {
    use MicrogridLayout::*;
    assert!(microgrid(Radial, 4, &[(0, 1), (0, 2), (2, 3)], Some(0)).is_ok());
    assert!(
        microgrid(Radial, 4, &[(0, 1), (0, 2), (2, 3)], None)
            .is_err_and(|e| matches!(e, idea_proto::Error::InvalidField { field, .. } if field.starts_with("microgrid"))),
        "radial needs its centre"
    );
    assert!(
        microgrid(Radial, 4, &[(0, 1), (1, 2), (2, 0)], Some(0)).is_err_and(|e| matches!(e, idea_proto::Error::InvalidField { field, .. } if field == "microgrid.links")),
        "not a tree"
    );
    let err = microgrid(Radial, 3, &[(0, 1), (1, 2)], Some(2))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("a supply centre is a generator or a prosumer"),
        "{err}"
    );
    assert!(microgrid(Ring, 4, &[(0, 1), (1, 2), (2, 3), (3, 0)], None).is_ok());
    let err = microgrid(
        Ring,
        5,
        &[(0, 1), (1, 2), (2, 0), (2, 3), (3, 4), (4, 2)],
        None,
    );
    assert!(
        err.is_ok(),
        "two rings sharing a cell still give two routes everywhere: {err:?}"
    );
    let err = microgrid(Ring, 4, &[(0, 1), (1, 2), (2, 0), (2, 3)], None)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("microgrid.links[3]"), "{err}");
    assert!(microgrid(Mesh, 3, &[(0, 1), (1, 2), (0, 2)], None).is_ok());
    assert!(microgrid(Mesh, 3, &[(0, 1), (1, 2)], None).is_err_and(
        |e| matches!(e, idea_proto::Error::InvalidField { field, .. } if field == "microgrid.links")
    ));
    let err = microgrid(Mesh, 2, &[(0, 1), (1, 0)], None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("linked twice"), "{err}");
    assert!(
        microgrid(Mesh, 2, &[(0, 0)], None)
            .unwrap_err()
            .to_string()
            .contains("itself")
    );
    assert!(
        microgrid(Mesh, 2, &[(0, 5)], None)
            .unwrap_err()
            .to_string()
            .contains("not a member")
    );
}

#[test]
fn a_mesh_of_microgrids_needs_self_balancing_linked_members() {
    let mg = |id: &str, t: PowerCellType| Microgrid {
        id: MicrogridId::new(id).unwrap(),
        layout: MicrogridLayout::Mesh,
        cells: vec![CellRef::new(CellId::new(format!("{id}-cell")).unwrap(), t)],
        links: vec![],
        supply_center: None,
    };
    let link = Link {
        a: MicrogridId::new("a").unwrap(),
        b: MicrogridId::new("b").unwrap(),
    };
    let topology = |b: PowerCellType, links: Vec<Link<MicrogridId>>| {
        Topology::new(TopologySpec {
            id: TopologyId::new("t").unwrap(),
            model: TopologyModel::MeshOfMicrogrids(MicrogridSet {
                microgrids: vec![mg("a", PowerCellType::Prosumer), mg("b", b)],
                links,
            }),
        })
    };
    assert!(topology(PowerCellType::LoadFollowingGenerator, vec![link.clone()]).is_ok());
    let err = topology(PowerCellType::PassiveConsumer, vec![link])
        .unwrap_err()
        .to_string();
    assert!(err.contains("keep its own balance"), "{err}");
    let err = topology(PowerCellType::Prosumer, vec![])
        .unwrap_err()
        .to_string();
    assert!(err.contains("no point-to-point link"), "{err}");
}

#[test]
fn unspecified_enums_and_missing_messages_name_the_field() {
    let cell = pb::CellRef {
        cell: "x".into(),
        cell_type: 0,
    };
    let err = CellRef::try_from(cell).unwrap_err().to_string();
    assert_eq!(err, "cell_type: 0 is not a known PowerCellType");
    let mut wire = pb::EnergyTransaction::from(
        &EnergyTransaction::new(p2p(
            Subject::Energy,
            PowerCellType::Prosumer,
            PowerCellType::Prosumer,
        ))
        .unwrap(),
    );
    wire.terms
        .as_mut()
        .unwrap()
        .window
        .as_mut()
        .unwrap()
        .period_s = 7;
    let err = EnergyTransaction::decode_payload(&wire.encode_to_vec())
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "terms.window.period_s: 7 s does not divide a day into settlement periods"
    );
    wire.terms = None;
    let err = EnergyTransaction::decode_payload(&wire.encode_to_vec())
        .unwrap_err()
        .to_string();
    assert_eq!(err, "terms: missing");
    wire.id = vec![1; 15];
    let err = EnergyTransaction::decode_payload(&wire.encode_to_vec())
        .unwrap_err()
        .to_string();
    assert_eq!(err, "id: a transaction id is 16 bytes, not 15");
}

#[test]
fn answers_apply_to_their_own_proposal_only() {
    let proposal = EnergyTransaction::new(p2p(
        Subject::Energy,
        PowerCellType::Prosumer,
        PowerCellType::Prosumer,
    ))
    .unwrap();
    let agent = AgentId::new("b").unwrap();
    let accept = TransactionAnswer::new(proposal.id, agent.clone(), Decision::Accept).unwrap();
    assert_eq!(accept.apply_to(&proposal).unwrap(), Some(proposal.clone()));
    let power = PowerLevel::new(ActivePower::from_w(1), ReactivePower::ZERO);
    let counter = Decision::Counter {
        terms: Terms::new(terms(Profile::Power(vec![power, power]))).unwrap(),
    };
    let answer = TransactionAnswer::new(proposal.id, agent.clone(), counter).unwrap();
    assert!(
        answer.apply_to(&proposal).is_err_and(|e| matches!(e, idea_proto::Error::InvalidField { field, .. } if field == "terms.profile")),
        "a power profile cannot counter an energy transaction"
    );
    let other = TransactionAnswer::new(
        TransactionId::from_bytes([0; 16]),
        agent.clone(),
        Decision::Accept,
    )
    .unwrap();
    assert!(other.apply_to(&proposal).is_err_and(
        |e| matches!(e, idea_proto::Error::InvalidField { field, .. } if field == "transaction_id")
    ));
    let long = Decision::Reject {
        reason: "x".repeat(2000),
    };
    assert!(TransactionAnswer::new(proposal.id, agent, long).is_err_and(
        |e| matches!(e, idea_proto::Error::InvalidField { field, .. } if field == "reject.reason")
    ));
}

#[test]
fn auxiliary_use_cases_carry_their_ids_and_rules() {
    let cell = CellId::new("c").unwrap();
    let m = AuxiliaryMessage::new(AuxiliaryUseCase::DisconnectCell {
        cell: cell.clone(),
        reason: "moved".into(),
    });
    assert_eq!(m.unwrap().use_case(), "AUX-09");
    let dup = AuxiliaryUseCase::ConfigureAgent {
        agent: AgentId::new("a").unwrap(),
        cell,
        priorities: vec![
            ServicePriority {
                service: ServiceId::new("s").unwrap(),
                priority: 0,
            },
            ServicePriority {
                service: ServiceId::new("s").unwrap(),
                priority: 1,
            },
        ],
    };
    assert_eq!(
        AuxiliaryMessage::new(dup).unwrap_err().to_string(),
        "priorities[1].service: s appears twice"
    );
}

#[test]
fn json_keys_carry_their_units() {
    let load = unit(
        "l1",
        UnitKind::Load {
            rated: ActivePower::from_w(3000),
            controllable: true,
        },
    );
    let cell = PowerCell::new(house(vec![load], PowerCellType::ActiveConsumer)).unwrap();
    let json = serde_json::to_value(&cell).unwrap();
    assert_eq!(json["limits"]["max_import_w"], 10_000);
    assert_eq!(json["units"][0]["kind"], "load");
    assert_eq!(json["units"][0]["rated_w"], 3000);
    assert_eq!(json["connection"]["nominal_voltage_mv"], 400_000);
    assert_eq!(json["cell_type"], "active-consumer");
    let t = energy_terms();
    let json = serde_json::to_value(&t).unwrap();
    assert_eq!(json["window"]["start"], "2026-11-24T10:00:00Z");
    assert_eq!(json["window"]["period_s"], 900);
    assert_eq!(json["profile"]["energy_wh"], serde_json::json!([500, 700]));
    assert_eq!(json["tolerance"]["absolute_wh"], 10);
    assert_eq!(json["price"]["currency"]["code"], "EUR");
}

#[test]
fn services_and_subscriptions() {
    let fields = ServiceFields {
        id: ServiceId::new("shed").unwrap(),
        name: "Load shedding".into(),
        kind: ServiceKind::LoadShedding,
        operator: UserId::new("op").unwrap(),
        version: 1,
        subjects: vec![Subject::Flexibility],
    };
    let v1 = ServiceDescription::new(fields.clone()).unwrap();
    let v2 = ServiceDescription::new(ServiceFields {
        version: 2,
        ..fields.clone()
    })
    .unwrap();
    assert!(v1.accepts_update(&v2).is_ok(), "AUX-07 raises the version");
    assert!(v2.accepts_update(&v1).is_err_and(
        |e| matches!(e, idea_proto::Error::InvalidField { field, .. } if field == "version")
    ));
    let hijack = ServiceDescription::new(ServiceFields {
        version: 3,
        operator: UserId::new("mallory").unwrap(),
        ..fields.clone()
    });
    assert!(
        v1.accepts_update(&hijack.unwrap()).is_err_and(
            |e| matches!(e, idea_proto::Error::InvalidField { field, .. } if field == "id")
        ),
        "another operator cannot update the service"
    );
    let twice = ServiceFields {
        subjects: vec![Subject::Energy, Subject::Energy],
        ..fields.clone()
    };
    assert_eq!(
        ServiceDescription::new(twice).unwrap_err().to_string(),
        "subjects[1]: energy appears twice"
    );
    assert!(
        ServiceDescription::new(ServiceFields {
            name: String::new(),
            ..fields
        })
        .is_err_and(
            |e| matches!(e, idea_proto::Error::InvalidField { field, .. } if field == "name")
        )
    );

    let sub = |until: Option<Timestamp>| {
        Subscription::new(SubscriptionFields {
            id: SubscriptionId::new("sub-1").unwrap(),
            cell: CellId::new("house-1").unwrap(),
            service: ServiceId::new("shed").unwrap(),
            priority: 0,
            max_active: ActivePower::from_w(2000),
            since: start(),
            until,
        })
    };
    let end = start().checked_add(Duration::from_mins(60)).unwrap();
    let s = sub(Some(end)).unwrap();
    assert!(s.is_active_at(start()));
    assert!(!s.is_active_at(end));
    assert!(sub(Some(start())).is_err_and(|e| matches!(e, idea_proto::Error::InvalidField { field, .. } if field == "until_unix_ms")), "until must follow since");
    assert!(sub(None).unwrap().is_active_at(Timestamp::MAX));
}
