//! The auxiliary use cases AUX-01..AUX-09 as typed messages.

use crate::cell::{CellLimits, ElectricalUnit, PowerCell};
use crate::error::Result;
use crate::service::{ServiceDescription, Subscription};
use crate::transaction::check_reason;
use crate::{AgentId, CellId, Error, ServiceId, SubscriptionId, UserId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A validated auxiliary use-case message; read it through `Deref` to [`AuxiliaryUseCase`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "AuxiliaryUseCase", into = "AuxiliaryUseCase")]
pub struct AuxiliaryMessage(AuxiliaryUseCase);

/// One auxiliary use case, before validation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "use_case")]
pub enum AuxiliaryUseCase {
    /// AUX-01: connect a cell.
    #[doc(alias = "AUX-01")]
    ConnectCell {
        /// The cell, as it declares itself.
        cell: PowerCell,
    },
    /// AUX-02: place a service application.
    #[doc(alias = "AUX-02")]
    PlaceService {
        /// The service.
        service: ServiceDescription,
    },
    /// AUX-03: configure a cell's agent: the owner's priorities per service.
    #[doc(alias = "AUX-03")]
    ConfigureAgent {
        /// The agent.
        agent: AgentId,
        /// Its cell.
        cell: CellId,
        /// Priority per service (0 highest); each service once.
        priorities: Vec<ServicePriority>,
    },
    /// AUX-04: subscribe a cell to a service.
    #[doc(alias = "AUX-04")]
    Subscribe {
        /// The subscription.
        subscription: Subscription,
    },
    /// AUX-05: change a cell's electrical installations.
    #[doc(alias = "AUX-05")]
    ChangeInstallations {
        /// The cell.
        cell: CellId,
        /// Its new units.
        units: Vec<ElectricalUnit>,
        /// Its new limits.
        limits: CellLimits,
    },
    /// AUX-06: change a cell's user.
    #[doc(alias = "AUX-06")]
    ChangeUser {
        /// The cell.
        cell: CellId,
        /// The new owner.
        new_owner: UserId,
    },
    /// AUX-07: update a service application.
    #[doc(alias = "AUX-07")]
    UpdateService {
        /// The new description (same id, higher version).
        service: ServiceDescription,
    },
    /// AUX-08: end a subscription.
    #[doc(alias = "AUX-08")]
    EndSubscription {
        /// The subscription.
        subscription: SubscriptionId,
        /// Why.
        reason: String,
    },
    /// AUX-09: disconnect a cell.
    #[doc(alias = "AUX-09")]
    DisconnectCell {
        /// The cell.
        cell: CellId,
        /// Why.
        reason: String,
    },
}

/// The owner's priority for one service.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ServicePriority {
    /// The service.
    pub service: ServiceId,
    /// 0 is the highest.
    pub priority: u32,
}

impl AuxiliaryMessage {
    /// Checks what the message can check alone: each service priority once, units present with unique ids,
    /// reasons of bounded length. (Whether new installations fit the cell's type is checked when applied, by
    /// [`PowerCell::with_installations`].)
    pub fn new(use_case: AuxiliaryUseCase) -> Result<AuxiliaryMessage> {
        use_case.validate()?;
        Ok(AuxiliaryMessage(use_case))
    }

    /// The use case, for taking apart.
    pub fn into_use_case(self) -> AuxiliaryUseCase {
        self.0
    }
}

impl std::ops::Deref for AuxiliaryMessage {
    type Target = AuxiliaryUseCase;
    fn deref(&self) -> &AuxiliaryUseCase {
        &self.0
    }
}

impl TryFrom<AuxiliaryUseCase> for AuxiliaryMessage {
    type Error = Error;
    fn try_from(u: AuxiliaryUseCase) -> Result<AuxiliaryMessage> {
        AuxiliaryMessage::new(u)
    }
}

impl From<AuxiliaryMessage> for AuxiliaryUseCase {
    fn from(m: AuxiliaryMessage) -> AuxiliaryUseCase {
        m.0
    }
}

impl AuxiliaryUseCase {
    /// The use case's ID, `AUX-01` … `AUX-09`.
    pub fn use_case(&self) -> &'static str {
        match self {
            AuxiliaryUseCase::ConnectCell { .. } => "AUX-01",
            AuxiliaryUseCase::PlaceService { .. } => "AUX-02",
            AuxiliaryUseCase::ConfigureAgent { .. } => "AUX-03",
            AuxiliaryUseCase::Subscribe { .. } => "AUX-04",
            AuxiliaryUseCase::ChangeInstallations { .. } => "AUX-05",
            AuxiliaryUseCase::ChangeUser { .. } => "AUX-06",
            AuxiliaryUseCase::UpdateService { .. } => "AUX-07",
            AuxiliaryUseCase::EndSubscription { .. } => "AUX-08",
            AuxiliaryUseCase::DisconnectCell { .. } => "AUX-09",
        }
    }

    fn validate(&self) -> Result<()> {
        match self {
            AuxiliaryUseCase::ConfigureAgent { priorities, .. } => {
                let mut seen = BTreeSet::new();
                for (i, p) in priorities.iter().enumerate() {
                    if !seen.insert(&p.service) {
                        return Err(Error::invalid(
                            format!("priorities[{i}].service"),
                            format!("{} appears twice", p.service),
                        ));
                    }
                }
                Ok(())
            }
            AuxiliaryUseCase::ChangeInstallations { units, .. } => {
                if units.is_empty() {
                    return Err(Error::invalid(
                        "units",
                        "a power cell has at least one electrical unit",
                    ));
                }
                let mut seen = BTreeSet::new();
                for (i, u) in units.iter().enumerate() {
                    if !seen.insert(&u.id) {
                        return Err(Error::invalid(
                            format!("units[{i}].id"),
                            format!("unit id {} appears twice", u.id),
                        ));
                    }
                }
                Ok(())
            }
            AuxiliaryUseCase::EndSubscription { reason, .. }
            | AuxiliaryUseCase::DisconnectCell { reason, .. } => check_reason("reason", reason),
            _ => Ok(()),
        }
    }
}
