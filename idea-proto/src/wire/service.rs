//! Wire conversions of services, subscriptions and the auxiliary use cases.

use super::convert::*;
use super::pb;
use crate::error::Result;
use crate::*;

impl From<&ServiceDescription> for pb::ServiceDescription {
    fn from(s: &ServiceDescription) -> pb::ServiceDescription {
        pb::ServiceDescription {
            id: s.id.to_string(),
            name: s.name.clone(),
            kind: service_kind_to(s.kind),
            operator: s.operator.to_string(),
            version: s.version,
            subjects: s.subjects.iter().map(|&x| subject_to(x)).collect(),
        }
    }
}

impl TryFrom<pb::ServiceDescription> for ServiceDescription {
    type Error = Error;
    fn try_from(s: pb::ServiceDescription) -> Result<ServiceDescription> {
        let subjects = s
            .subjects
            .iter()
            .enumerate()
            .map(|(i, &x)| subject_from(x, &format!("subjects[{i}]")))
            .collect::<Result<Vec<_>>>()?;
        ServiceDescription::new(ServiceFields {
            id: id(&s.id, "id")?,
            name: s.name,
            kind: service_kind_from(s.kind, "kind")?,
            operator: id(&s.operator, "operator")?,
            version: s.version,
            subjects,
        })
    }
}

impl From<&Subscription> for pb::Subscription {
    fn from(s: &Subscription) -> pb::Subscription {
        pb::Subscription {
            id: s.id.to_string(),
            cell: s.cell.to_string(),
            service: s.service.to_string(),
            priority: s.priority,
            max_active_w: s.max_active.w(),
            since_unix_ms: s.since.unix_ms(),
            until_unix_ms: s.until.map(Timestamp::unix_ms),
        }
    }
}

impl TryFrom<pb::Subscription> for Subscription {
    type Error = Error;
    fn try_from(s: pb::Subscription) -> Result<Subscription> {
        Subscription::new(SubscriptionFields {
            id: id(&s.id, "id")?,
            cell: id(&s.cell, "cell")?,
            service: id(&s.service, "service")?,
            priority: s.priority,
            max_active: ActivePower::from_w(s.max_active_w),
            since: timestamp(s.since_unix_ms, "since_unix_ms")?,
            until: s
                .until_unix_ms
                .map(|u| timestamp(u, "until_unix_ms"))
                .transpose()?,
        })
    }
}

impl From<&AuxiliaryMessage> for pb::AuxiliaryMessage {
    fn from(m: &AuxiliaryMessage) -> pb::AuxiliaryMessage {
        use pb::auxiliary_message::UseCase as U;
        let use_case = match &**m {
            AuxiliaryUseCase::ConnectCell { cell } => U::ConnectCell(pb::ConnectCell {
                cell: Some(cell.into()),
            }),
            AuxiliaryUseCase::PlaceService { service } => U::PlaceService(pb::PlaceService {
                service: Some(service.into()),
            }),
            AuxiliaryUseCase::ConfigureAgent {
                agent,
                cell,
                priorities,
            } => U::ConfigureAgent(pb::ConfigureAgent {
                agent: agent.to_string(),
                cell: cell.to_string(),
                priorities: priorities
                    .iter()
                    .map(|p| pb::ServicePriority {
                        service: p.service.to_string(),
                        priority: p.priority,
                    })
                    .collect(),
            }),
            AuxiliaryUseCase::Subscribe { subscription } => U::Subscribe(pb::SubscribeToService {
                subscription: Some(subscription.into()),
            }),
            AuxiliaryUseCase::ChangeInstallations {
                cell,
                units,
                limits,
            } => U::ChangeInstallations(pb::ChangeInstallations {
                cell: cell.to_string(),
                units: units.iter().map(Into::into).collect(),
                limits: Some((*limits).into()),
            }),
            AuxiliaryUseCase::ChangeUser { cell, new_owner } => U::ChangeUser(pb::ChangeUser {
                cell: cell.to_string(),
                new_owner: new_owner.to_string(),
            }),
            AuxiliaryUseCase::UpdateService { service } => U::UpdateService(pb::UpdateService {
                service: Some(service.into()),
            }),
            AuxiliaryUseCase::EndSubscription {
                subscription,
                reason,
            } => U::EndSubscription(pb::EndSubscription {
                subscription: subscription.to_string(),
                reason: reason.clone(),
            }),
            AuxiliaryUseCase::DisconnectCell { cell, reason } => {
                U::DisconnectCell(pb::DisconnectCell {
                    cell: cell.to_string(),
                    reason: reason.clone(),
                })
            }
        };
        pb::AuxiliaryMessage {
            use_case: Some(use_case),
        }
    }
}

impl TryFrom<pb::AuxiliaryMessage> for AuxiliaryMessage {
    type Error = Error;
    fn try_from(m: pb::AuxiliaryMessage) -> Result<AuxiliaryMessage> {
        use pb::auxiliary_message::UseCase as U;
        let use_case = match m
            .use_case
            .ok_or_else(|| Error::invalid("use_case", "missing"))?
        {
            U::ConnectCell(c) => AuxiliaryUseCase::ConnectCell {
                cell: sub(c.cell, "connect_cell.cell")?,
            },
            U::PlaceService(s) => AuxiliaryUseCase::PlaceService {
                service: sub(s.service, "place_service.service")?,
            },
            U::ConfigureAgent(c) => AuxiliaryUseCase::ConfigureAgent {
                agent: id(&c.agent, "configure_agent.agent")?,
                cell: id(&c.cell, "configure_agent.cell")?,
                priorities: c
                    .priorities
                    .iter()
                    .enumerate()
                    .map(|(i, p)| {
                        Ok(ServicePriority {
                            service: id(
                                &p.service,
                                &format!("configure_agent.priorities[{i}].service"),
                            )?,
                            priority: p.priority,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?,
            },
            U::Subscribe(s) => AuxiliaryUseCase::Subscribe {
                subscription: sub(s.subscription, "subscribe.subscription")?,
            },
            U::ChangeInstallations(c) => AuxiliaryUseCase::ChangeInstallations {
                cell: id(&c.cell, "change_installations.cell")?,
                units: list(c.units, "change_installations.units")?,
                limits: sub(c.limits, "change_installations.limits")?,
            },
            U::ChangeUser(c) => AuxiliaryUseCase::ChangeUser {
                cell: id(&c.cell, "change_user.cell")?,
                new_owner: id(&c.new_owner, "change_user.new_owner")?,
            },
            U::UpdateService(s) => AuxiliaryUseCase::UpdateService {
                service: sub(s.service, "update_service.service")?,
            },
            U::EndSubscription(e) => AuxiliaryUseCase::EndSubscription {
                subscription: id(&e.subscription, "end_subscription.subscription")?,
                reason: e.reason,
            },
            U::DisconnectCell(d) => AuxiliaryUseCase::DisconnectCell {
                cell: id(&d.cell, "disconnect_cell.cell")?,
                reason: d.reason,
            },
        };
        AuxiliaryMessage::new(use_case)
    }
}
