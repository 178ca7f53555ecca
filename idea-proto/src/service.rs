//! Services of the Internet of energy and cells' subscriptions to them (AG-02, AUX-02, AUX-04, AUX-07,
//! AUX-08).

use crate::cell::Subject;
use crate::error::Result;
use crate::{ActivePower, CellId, Error, ServiceId, SubscriptionId, Timestamp, UserId};
use serde::{Deserialize, Serialize};

/// The longest service name, in bytes.
pub const MAX_NAME_LEN: usize = 256;

/// What kind of service an application offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServiceKind {
    /// Peer-to-peer trading between cells.
    P2pMarket,
    /// Optimal load shedding on request (the AMIGO application of the demonstration complex).
    LoadShedding,
    /// Demand response run by an aggregator.
    DemandResponse,
    /// Flexibility procurement.
    Flexibility,
    /// Arbitration of nested cells' transactions (ARCH-08 options 1 and 2).
    Arbitration,
    /// Anything else.
    Other,
}

/// A service placed on the Internet of energy.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "ServiceFields", into = "ServiceFields")]
pub struct ServiceDescription(ServiceFields);

/// The fields of a [`ServiceDescription`], before validation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ServiceFields {
    /// The service.
    pub id: ServiceId,
    /// A human-readable name, 1 to [`MAX_NAME_LEN`] bytes.
    pub name: String,
    /// What it offers.
    pub kind: ServiceKind,
    /// Its operator.
    pub operator: UserId,
    /// Its version; an update (AUX-07) raises it.
    pub version: u32,
    /// The subjects it trades: at least one, each once.
    pub subjects: Vec<Subject>,
}

impl ServiceDescription {
    /// Validates the name length and the subjects (at least one, none twice).
    pub fn new(fields: ServiceFields) -> Result<ServiceDescription> {
        if fields.name.is_empty() || fields.name.len() > MAX_NAME_LEN {
            return Err(Error::invalid(
                "name",
                format!("1 to {MAX_NAME_LEN} bytes, not {}", fields.name.len()),
            ));
        }
        if fields.subjects.is_empty() {
            return Err(Error::invalid(
                "subjects",
                "a service trades at least one subject",
            ));
        }
        for (i, s) in fields.subjects.iter().enumerate() {
            if fields.subjects.iter().take(i).any(|t| t == s) {
                return Err(Error::invalid(
                    format!("subjects[{i}]"),
                    format!("{s} appears twice"),
                ));
            }
        }
        Ok(ServiceDescription(fields))
    }

    /// AUX-07: whether `update` may replace this description: same id and operator, higher version.
    pub fn accepts_update(&self, update: &ServiceDescription) -> Result<()> {
        if update.id != self.0.id || update.operator != self.0.operator {
            return Err(Error::invalid(
                "id",
                format!(
                    "{} by {} cannot update {} by {}",
                    update.id, update.operator, self.0.id, self.0.operator
                ),
            ));
        }
        if update.version <= self.0.version {
            return Err(Error::invalid(
                "version",
                format!("{} does not follow {}", update.version, self.0.version),
            ));
        }
        Ok(())
    }
}

impl std::ops::Deref for ServiceDescription {
    type Target = ServiceFields;
    fn deref(&self) -> &ServiceFields {
        &self.0
    }
}

impl TryFrom<ServiceFields> for ServiceDescription {
    type Error = Error;
    fn try_from(f: ServiceFields) -> Result<ServiceDescription> {
        ServiceDescription::new(f)
    }
}

impl From<ServiceDescription> for ServiceFields {
    fn from(s: ServiceDescription) -> ServiceFields {
        s.0
    }
}

/// A cell's subscription to a service (AUX-04), with the owner's priority and the share of the cell the
/// service may claim, which the agent's dispatching respects (AG-04).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "SubscriptionFields", into = "SubscriptionFields")]
pub struct Subscription(SubscriptionFields);

/// The fields of a [`Subscription`], before validation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SubscriptionFields {
    /// The subscription.
    pub id: SubscriptionId,
    /// The subscribed cell.
    pub cell: CellId,
    /// The service.
    pub service: ServiceId,
    /// The owner's priority: 0 is the highest.
    pub priority: u32,
    /// The largest active power the service may claim from the cell; ≥ 0.
    #[serde(rename = "max_active_w")]
    pub max_active: ActivePower,
    /// When it starts.
    pub since: Timestamp,
    /// When it ends, if it does; after `since`.
    pub until: Option<Timestamp>,
}

impl Subscription {
    /// Validates the power share (not negative) and the period (`until` after `since`).
    pub fn new(fields: SubscriptionFields) -> Result<Subscription> {
        if fields.max_active.is_negative() {
            return Err(Error::invalid(
                "max_active_w",
                "a share of power cannot be negative",
            ));
        }
        if let Some(until) = fields.until
            && until <= fields.since
        {
            return Err(Error::invalid(
                "until_unix_ms",
                format!("{until} is not after {}", fields.since),
            ));
        }
        Ok(Subscription(fields))
    }

    /// Whether the subscription is in force at `now`.
    pub fn is_active_at(&self, now: Timestamp) -> bool {
        now >= self.0.since && self.0.until.is_none_or(|u| now < u)
    }
}

impl std::ops::Deref for Subscription {
    type Target = SubscriptionFields;
    fn deref(&self) -> &SubscriptionFields {
        &self.0
    }
}

impl TryFrom<SubscriptionFields> for Subscription {
    type Error = Error;
    fn try_from(f: SubscriptionFields) -> Result<Subscription> {
        Subscription::new(f)
    }
}

impl From<Subscription> for SubscriptionFields {
    fn from(s: Subscription) -> SubscriptionFields {
        s.0
    }
}
