//! proptest strategies that generate *valid* domain values (feature `proptest`): cells whose type agrees with
//! their units, transactions whose sides Table 2 allows, lifecycles that only take legal transitions, topologies
//! that satisfy their layout. Crates built on `idea-proto` use them for their own property tests.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    missing_docs
)]

use crate::*;
use proptest::collection::vec;
use proptest::prelude::*;
use std::str::FromStr;

/// An identifier of any kind: 1 to 24 characters of the allowed set.
pub fn id<T: FromStr<Err = Error> + std::fmt::Debug>() -> impl Strategy<Value = T> {
    "[A-Za-z0-9._:@/-]{1,24}".prop_map(|s| s.parse().unwrap())
}

/// An instant between 1900 and 2200.
pub fn timestamp() -> impl Strategy<Value = Timestamp> {
    (-2_208_988_800_000i64..7_258_118_400_000).prop_map(|ms| Timestamp::from_unix_ms(ms).unwrap())
}

pub fn transaction_id() -> impl Strategy<Value = TransactionId> {
    any::<[u8; 16]>().prop_map(TransactionId::from_bytes)
}

pub fn currency() -> impl Strategy<Value = Currency> {
    ("[A-Z]{3}", 0u32..=6).prop_map(|(c, e)| Currency::new(&c, e).unwrap())
}

pub fn cell_type() -> impl Strategy<Value = PowerCellType> {
    proptest::sample::select(PowerCellType::ALL.to_vec())
}

pub fn subject() -> impl Strategy<Value = Subject> {
    proptest::sample::select(Subject::ALL.to_vec())
}

pub fn power_level() -> impl Strategy<Value = PowerLevel> {
    (-10_000_000i64..10_000_000, -10_000_000i64..10_000_000)
        .prop_map(|(p, q)| PowerLevel::new(ActivePower::from_w(p), ReactivePower::from_var(q)))
}

fn rating() -> impl Strategy<Value = i64> {
    0i64..100_000_000
}

pub fn unit_kind() -> impl Strategy<Value = UnitKind> {
    prop_oneof![
        (rating(), rating(), any::<bool>()).prop_map(|(p, s, d)| UnitKind::Generator {
            rated: ActivePower::from_w(p),
            rated_apparent: ApparentPower::from_va(s),
            dispatchable: d
        }),
        (rating(), rating()).prop_map(|(p, s)| UnitKind::Photovoltaic {
            peak: ActivePower::from_w(p),
            inverter: ApparentPower::from_va(s)
        }),
        (rating(), rating(), rating()).prop_map(|(c, ch, dis)| UnitKind::Storage {
            capacity: Energy::from_wh(c),
            max_charge: ActivePower::from_w(ch),
            max_discharge: ActivePower::from_w(dis)
        }),
        (rating(), any::<bool>()).prop_map(|(p, c)| UnitKind::Load {
            rated: ActivePower::from_w(p),
            controllable: c
        }),
    ]
}

/// 1 to 6 units with distinct ids.
pub fn units() -> impl Strategy<Value = Vec<ElectricalUnit>> {
    vec(unit_kind(), 1..6).prop_map(|kinds| {
        kinds
            .into_iter()
            .enumerate()
            .map(|(i, kind)| ElectricalUnit {
                id: UnitId::new(format!("u{i}")).unwrap(),
                kind,
            })
            .collect()
    })
}

pub fn limits_for(cell_type: PowerCellType) -> impl Strategy<Value = CellLimits> {
    (rating(), rating(), rating(), rating()).prop_map(move |(i, e, iq, eq)| CellLimits {
        max_import: ActivePower::from_w(if cell_type.supply() == SupplyCapability::SupplyOnly {
            0
        } else {
            i
        }),
        max_export: ActivePower::from_w(
            if cell_type.supply() == SupplyCapability::ConsumptionOnly {
                0
            } else {
                e
            },
        ),
        max_import_q: ReactivePower::from_var(iq),
        max_export_q: ReactivePower::from_var(eq),
    })
}

/// A valid power cell; its type is whatever its random units make it.
pub fn power_cell() -> impl Strategy<Value = PowerCell> {
    units()
        .prop_flat_map(|units| {
            let t = PowerCellType::from_units(&units).unwrap();
            (
                Just(units),
                Just(t),
                limits_for(t),
                id::<CellId>(),
                id::<UserId>(),
                id::<AgentId>(),
                id::<NodeId>(),
                1i64..=110_000_000,
                any::<bool>(),
                proptest::option::of(id::<CellId>()),
            )
        })
        .prop_filter_map(
            "a cell cannot enclose itself",
            |(units, t, limits, id, owner, agent, node, mv, dc, enc)| {
                PowerCell::new(PowerCellSpec {
                    id,
                    cell_type: t,
                    owner,
                    agent,
                    limits,
                    units,
                    connection: ConnectionPoint {
                        node,
                        nominal_voltage: Voltage::from_mv(mv),
                        dc,
                    },
                    enclosing_cell: enc,
                })
                .ok()
            },
        )
}

pub fn delivery_window() -> impl Strategy<Value = DeliveryWindow> {
    (
        timestamp(),
        proptest::sample::select(vec![60u32, 300, 900, 1800, 3600, 86_400]),
        1u32..8,
    )
        .prop_map(|(t, period, n)| {
            let start = t.floor_to(Duration::from_secs(u64::from(period)));
            DeliveryWindow::new(start, period, n).unwrap()
        })
}

/// Valid terms for `subject`.
pub fn terms(subject: Subject) -> impl Strategy<Value = Terms> {
    (
        delivery_window(),
        currency(),
        0i64..10_000,
        0i64..10_000,
        0u32..=10_000,
        0i64..100_000,
    )
        .prop_flat_map(move |(window, cur, price, penalty, bp, abs)| {
            let n = window.intervals() as usize;
            let profile = if subject == Subject::Energy {
                vec(0i64..1_000_000_000, n)
                    .prop_map(|v| Profile::Energy(v.into_iter().map(Energy::from_wh).collect()))
                    .boxed()
            } else {
                vec(power_level(), n).prop_map(Profile::Power).boxed()
            };
            profile.prop_map(move |profile| {
                Terms::new(TermsSpec {
                    window,
                    profile,
                    price: EnergyPrice::new(price, cur),
                    tolerance: ToleranceBand {
                        relative_bp: bp,
                        absolute: Energy::from_wh(abs),
                    },
                    penalty: EnergyPrice::new(penalty, cur),
                })
                .unwrap()
            })
        })
}

/// A cell reference whose type may take `side` of `subject`.
pub fn party(subject: Subject, side: Side) -> impl Strategy<Value = CellRef> {
    let types: Vec<_> = PowerCellType::ALL
        .into_iter()
        .filter(|t| t.may_take(subject, side))
        .collect();
    (id::<CellId>(), proptest::sample::select(types)).prop_map(|(c, t)| CellRef::new(c, t))
}

/// A valid P2P or P2O transaction.
pub fn transaction() -> impl Strategy<Value = EnergyTransaction> {
    (subject(), proptest::sample::select(Side::ALL.to_vec()))
        .prop_flat_map(|(subject, side)| {
            let parties = prop_oneof![
                (party(subject, Side::Seller), party(subject, Side::Buyer))
                    .prop_filter("two different cells", |(s, b)| s.cell != b.cell)
                    .prop_map(|(seller, buyer)| Parties::PeerToPeer { seller, buyer }),
                (party(subject, side), id::<UserId>()).prop_map(move |(cell, operator)| {
                    Parties::PeerToOperator {
                        cell,
                        cell_side: side,
                        operator,
                    }
                }),
            ];
            (
                transaction_id(),
                id::<ServiceId>(),
                Just(subject),
                parties,
                terms(subject),
            )
        })
        .prop_map(|(id, service, subject, parties, terms)| {
            EnergyTransaction::new(TransactionSpec {
                id,
                service,
                subject,
                parties,
                terms,
            })
            .unwrap()
        })
}

pub fn transaction_request() -> impl Strategy<Value = TransactionRequest> {
    (transaction(), id::<AgentId>(), timestamp()).prop_map(|(proposal, from_agent, reply_by)| {
        TransactionRequest {
            proposal,
            from_agent,
            reply_by,
        }
    })
}

pub fn transaction_answer() -> impl Strategy<Value = TransactionAnswer> {
    let decision = prop_oneof![
        Just(Decision::Accept),
        ".{0,40}".prop_map(|reason| Decision::Reject { reason }),
        subject()
            .prop_flat_map(terms)
            .prop_map(|terms| Decision::Counter { terms }),
    ];
    (transaction_id(), id::<AgentId>(), decision)
        .prop_map(|(t, a, d)| TransactionAnswer::new(t, a, d).unwrap())
}

pub fn setpoint_command() -> impl Strategy<Value = SetpointCommand> {
    let kind = proptest::sample::select(vec![
        CommandKind::Start,
        CommandKind::Adjust,
        CommandKind::Complete,
    ]);
    (
        transaction_id(),
        id::<CellId>(),
        kind,
        power_level(),
        timestamp(),
        1u64..86_400_000,
    )
        .prop_map(|(transaction_id, cell, kind, setpoint, from, len)| {
            let until = from.checked_add(Duration::from_ms(len)).unwrap();
            SetpointCommand::new(SetpointCommandFields {
                transaction_id,
                cell,
                kind,
                setpoint,
                from,
                until,
            })
            .unwrap()
        })
}

pub fn measurement_report() -> impl Strategy<Value = MeasurementReport> {
    (
        transaction_id(),
        id::<CellId>(),
        id::<MeterId>(),
        timestamp(),
        1u64..86_400,
        any::<i32>(),
        power_level(),
    )
        .prop_map(
            |(transaction_id, cell, meter, interval_start, secs, e, average)| {
                MeasurementReport::new(MeasurementReportFields {
                    transaction_id,
                    cell,
                    meter,
                    interval_start,
                    interval: Duration::from_secs(secs),
                    energy: Energy::from_wh(i64::from(e)),
                    average,
                })
                .unwrap()
            },
        )
}

/// A lifecycle that took up to 12 random legal transitions at non-decreasing times.
pub fn lifecycle() -> impl Strategy<Value = Lifecycle> {
    (
        transaction_id(),
        timestamp(),
        vec((any::<proptest::sample::Index>(), 0u64..3_600_000), 0..12),
        proptest::option::of(timestamp()),
    )
        .prop_map(|(id, opened, steps, deadline)| {
            let mut l = Lifecycle::open(id, opened, None);
            let mut now = opened;
            for (pick, dt) in steps {
                let next: Vec<_> = TRANSITIONS.iter().filter(|t| t.from == l.state()).collect();
                if next.is_empty() {
                    break;
                }
                now = now.checked_add(Duration::from_ms(dt)).unwrap();
                l.transition(pick.get(&next).to, now).unwrap();
            }
            l.set_deadline(deadline);
            l
        })
}

pub fn service() -> impl Strategy<Value = ServiceDescription> {
    let kind = proptest::sample::select(vec![
        ServiceKind::P2pMarket,
        ServiceKind::LoadShedding,
        ServiceKind::DemandResponse,
        ServiceKind::Flexibility,
        ServiceKind::Arbitration,
        ServiceKind::Other,
    ]);
    (
        id::<ServiceId>(),
        "[ -~]{1,40}",
        kind,
        id::<UserId>(),
        any::<u32>(),
        proptest::sample::subsequence(Subject::ALL.to_vec(), 1..=3),
    )
        .prop_map(|(id, name, kind, operator, version, subjects)| {
            ServiceDescription::new(ServiceFields {
                id,
                name,
                kind,
                operator,
                version,
                subjects,
            })
            .unwrap()
        })
}

pub fn subscription() -> impl Strategy<Value = Subscription> {
    (
        id::<SubscriptionId>(),
        id::<CellId>(),
        id::<ServiceId>(),
        any::<u32>(),
        rating(),
        timestamp(),
        proptest::option::of(1u64..10_000_000_000),
    )
        .prop_map(|(id, cell, service, priority, w, since, len)| {
            let until = len.map(|l| since.checked_add(Duration::from_ms(l)).unwrap());
            Subscription::new(SubscriptionFields {
                id,
                cell,
                service,
                priority,
                max_active: ActivePower::from_w(w),
                since,
                until,
            })
            .unwrap()
        })
}

pub fn auxiliary_message() -> impl Strategy<Value = AuxiliaryMessage> {
    let priorities = vec((id::<ServiceId>(), any::<u32>()), 0..4).prop_map(|v| {
        let mut seen = std::collections::BTreeSet::new();
        v.into_iter()
            .filter(|(s, _)| seen.insert(s.clone()))
            .map(|(service, priority)| ServicePriority { service, priority })
            .collect::<Vec<_>>()
    });
    let use_case = prop_oneof![
        power_cell().prop_map(|cell| AuxiliaryUseCase::ConnectCell { cell }),
        service().prop_map(|service| AuxiliaryUseCase::PlaceService { service }),
        (id::<AgentId>(), id::<CellId>(), priorities).prop_map(|(agent, cell, priorities)| {
            AuxiliaryUseCase::ConfigureAgent {
                agent,
                cell,
                priorities,
            }
        }),
        subscription().prop_map(|subscription| AuxiliaryUseCase::Subscribe { subscription }),
        (id::<CellId>(), units(), limits_for(PowerCellType::Prosumer)).prop_map(
            |(cell, units, limits)| AuxiliaryUseCase::ChangeInstallations {
                cell,
                units,
                limits
            }
        ),
        (id::<CellId>(), id::<UserId>())
            .prop_map(|(cell, new_owner)| AuxiliaryUseCase::ChangeUser { cell, new_owner }),
        service().prop_map(|service| AuxiliaryUseCase::UpdateService { service }),
        (id::<SubscriptionId>(), ".{0,40}").prop_map(|(subscription, reason)| {
            AuxiliaryUseCase::EndSubscription {
                subscription,
                reason,
            }
        }),
        (id::<CellId>(), ".{0,40}")
            .prop_map(|(cell, reason)| AuxiliaryUseCase::DisconnectCell { cell, reason }),
    ];
    use_case.prop_map(|u| AuxiliaryMessage::new(u).unwrap())
}

/// `n` cells named `{prefix}{i}`; cell 0 is a prosumer (it can be a supply centre and keep a balance).
fn cells(prefix: &'static str, n: usize) -> impl Strategy<Value = Vec<CellRef>> {
    vec(cell_type(), n).prop_map(move |types| {
        types
            .into_iter()
            .enumerate()
            .map(|(i, t)| {
                let t = if i == 0 { PowerCellType::Prosumer } else { t };
                CellRef::new(CellId::new(format!("{prefix}{i}")).unwrap(), t)
            })
            .collect()
    })
}

fn link<T: FromStr<Err = Error>>(prefix: &str, a: usize, b: usize) -> Link<T> {
    Link {
        a: format!("{prefix}{a}").parse().unwrap(),
        b: format!("{prefix}{b}").parse().unwrap(),
    }
}

/// A valid microgrid of any layout whose cell ids start with `prefix`.
pub fn microgrid(prefix: &'static str) -> impl Strategy<Value = Microgrid> {
    let layout = proptest::sample::select(vec![
        MicrogridLayout::Radial,
        MicrogridLayout::Ring,
        MicrogridLayout::Mesh,
    ]);
    (layout, 3usize..8, vec(any::<proptest::sample::Index>(), 8))
        .prop_flat_map(move |(layout, n, parents)| {
            let links: Vec<Link<CellId>> = match layout {
                // Each cell i > 0 hangs from an earlier cell: a tree rooted at cell 0.
                MicrogridLayout::Radial => (1..n)
                    .map(|i| link(prefix, parents[i].index(i), i))
                    .collect(),
                // A cycle through all cells.
                MicrogridLayout::Ring => (0..n).map(|i| link(prefix, i, (i + 1) % n)).collect(),
                MicrogridLayout::Mesh => (0..n)
                    .flat_map(|a| (a + 1..n).map(move |b| link(prefix, a, b)))
                    .collect(),
            };
            (
                Just(layout),
                cells(prefix, n),
                Just(links),
                id::<MicrogridId>(),
            )
        })
        .prop_map(move |(layout, cells, links, id)| Microgrid {
            id,
            layout,
            supply_center: (layout == MicrogridLayout::Radial).then(|| cells[0].cell.clone()),
            cells,
            links,
        })
}

/// A valid topology of any of the four models.
pub fn topology() -> impl Strategy<Value = Topology> {
    fn set() -> impl Strategy<Value = MicrogridSet> {
        (microgrid("a"), microgrid("b"), microgrid("c")).prop_map(|(mut a, mut b, mut c)| {
            a.id = MicrogridId::new("mg-a").unwrap();
            b.id = MicrogridId::new("mg-b").unwrap();
            c.id = MicrogridId::new("mg-c").unwrap();
            MicrogridSet {
                microgrids: vec![a, b, c],
                links: vec![
                    Link {
                        a: "mg-a".parse().unwrap(),
                        b: "mg-b".parse().unwrap(),
                    },
                    Link {
                        a: "mg-b".parse().unwrap(),
                        b: "mg-c".parse().unwrap(),
                    },
                ],
            }
        })
    }
    let model = prop_oneof![
        microgrid("c").prop_map(TopologyModel::Microgrid),
        (1usize..6)
            .prop_flat_map(|n| cells("g", n))
            .prop_map(|cells| TopologyModel::GridOfCells { cells }),
        set().prop_map(TopologyModel::GridOfMicrogrids),
        set().prop_map(TopologyModel::MeshOfMicrogrids),
    ];
    (id::<TopologyId>(), model)
        .prop_map(|(id, model)| Topology::new(TopologySpec { id, model }).unwrap())
}

/// Any registered message.
pub fn any_message() -> impl Strategy<Value = wire::AnyMessage> {
    use wire::AnyMessage as M;
    prop_oneof![
        power_cell().prop_map(M::PowerCell),
        transaction().prop_map(M::EnergyTransaction),
        transaction_request().prop_map(M::TransactionRequest),
        transaction_answer().prop_map(M::TransactionAnswer),
        setpoint_command().prop_map(M::SetpointCommand),
        measurement_report().prop_map(M::MeasurementReport),
        lifecycle().prop_map(M::Lifecycle),
        service().prop_map(M::ServiceDescription),
        subscription().prop_map(M::Subscription),
        auxiliary_message().prop_map(M::AuxiliaryMessage),
        topology().prop_map(M::Topology),
    ]
}
