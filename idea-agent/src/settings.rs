//! The owner's settings (AUX-03): the cell the agent represents, how it takes part in services, the priorities
//! between services, the price limits and the comfort bounds of controllable loads — one TOML file, checked
//! with the key at fault.
//!
//! ```toml
//! settlement_period_s = 900
//! participation = "active"
//! priorities = ["load-shedding", "p2p-market"]   # first wins a conflict (AG-04)
//! currency = { code = "EUR", exponent = 2 }
//!
//! [prices.sell_min]        # the least the agent takes, minor units per kWh
//! energy = 18
//! [prices.buy_max]         # the most it pays
//! energy = 30
//!
//! [profiles.active]        # AUX-03 participation profile
//! services = ["p2p-market", "load-shedding"]
//! sell = ["energy"]
//! buy = ["energy"]
//!
//! [[comfort]]              # a controllable load is never commanded outside these bounds
//! unit = "heat-pump"
//! min_w = 500
//! max_w = 3000
//!
//! [cell]                   # idea_proto::PowerCell, as its JSON form
//! id = "cell-1"
//! # …
//! ```
//! `data/prosumer.toml` is a complete file.

use crate::error::{Error, Result};
use idea_proto::{Currency, PowerCell, ServiceId, Side, Subject, UnitId, UnitKind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The longest settings file read, in bytes.
pub const MAX_SETTINGS_LEN: usize = 1 << 20;

/// A price per kWh for each subject, in minor units of the settings' currency; a subject without one is not
/// traded on that side.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubjectPrices {
    /// Energy.
    pub energy: Option<i64>,
    /// Power held.
    pub power: Option<i64>,
    /// Flexibility held.
    pub flexibility: Option<i64>,
}

impl SubjectPrices {
    /// The price for `subject`.
    pub fn get(&self, subject: Subject) -> Option<i64> {
        match subject {
            Subject::Energy => self.energy,
            Subject::Power => self.power,
            Subject::Flexibility => self.flexibility,
        }
    }
}

/// The owner's price limits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceLimits {
    /// The least the agent accepts when it sells.
    #[serde(default)]
    pub sell_min: SubjectPrices,
    /// The most the agent pays when it buys.
    #[serde(default)]
    pub buy_max: SubjectPrices,
}

impl PriceLimits {
    /// The limit for `side` of `subject`: the floor when selling, the ceiling when buying.
    pub fn limit(&self, subject: Subject, side: Side) -> Option<i64> {
        match side {
            Side::Seller => self.sell_min.get(subject),
            Side::Buyer => self.buy_max.get(subject),
        }
    }
}

/// A participation profile (AUX-03): the services the agent takes part in and what it trades there.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParticipationProfile {
    /// The services, by id.
    #[serde(default)]
    pub services: Vec<ServiceId>,
    /// The subjects it sells.
    #[serde(default)]
    pub sell: Vec<Subject>,
    /// The subjects it buys.
    #[serde(default)]
    pub buy: Vec<Subject>,
}

impl ParticipationProfile {
    /// Whether the profile trades `subject` on `side`.
    pub fn trades(&self, subject: Subject, side: Side) -> bool {
        match side {
            Side::Seller => self.sell.contains(&subject),
            Side::Buyer => self.buy.contains(&subject),
        }
    }
}

/// The comfort bounds of a controllable load: the agent never commands it outside them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComfortBound {
    /// The load, one of the cell's units.
    pub unit: UnitId,
    /// The least power it is given, in W.
    pub min_w: i64,
    /// The most, in W.
    pub max_w: i64,
}

/// The owner's settings of one agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnerSettings {
    /// The cell the agent represents (ARCH-01).
    pub cell: PowerCell,
    /// The currency prices are in.
    pub currency: Currency,
    /// The settlement period, in seconds (TE-06: at most 15 minutes).
    #[serde(default = "default_period")]
    pub settlement_period_s: u32,
    /// The name of the profile in `profiles` that is in force.
    pub participation: String,
    /// The participation profiles the owner has defined.
    pub profiles: BTreeMap<String, ParticipationProfile>,
    /// Services in order of priority: the first wins a conflict between commitments (AG-04). A service not
    /// listed comes after every listed one.
    #[serde(default)]
    pub priorities: Vec<ServiceId>,
    /// The price limits.
    #[serde(default)]
    pub prices: PriceLimits,
    /// The comfort bounds of controllable loads.
    #[serde(default)]
    pub comfort: Vec<ComfortBound>,
}

fn default_period() -> u32 {
    900
}

impl OwnerSettings {
    /// Reads and checks settings from TOML text.
    pub fn from_toml(text: &str) -> Result<OwnerSettings> {
        if text.len() > MAX_SETTINGS_LEN {
            return Err(Error::settings(
                "(file)",
                format!("{} bytes; at most {MAX_SETTINGS_LEN}", text.len()),
            ));
        }
        let settings: OwnerSettings = toml::from_str(text).map_err(|e| {
            let field = e
                .span()
                .and_then(|span| text.get(..span.start))
                .map_or_else(
                    || "(file)".to_owned(),
                    |before| format!("line {}", before.matches('\n').count().saturating_add(1)),
                );
            Error::settings(field, e.message().to_owned())
        })?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks the rules serde cannot: the profile in force exists; every profile's sides are allowed to the
    /// cell's type by Table 2; prices are not negative; priorities name each service once; comfort bounds
    /// name controllable loads of the cell, with `0 ≤ min ≤ max ≤ rated`; the settlement period divides an
    /// hour and is at most 15 minutes (TE-06).
    pub fn validate(&self) -> Result<()> {
        if !self.profiles.contains_key(&self.participation) {
            return Err(Error::settings(
                "participation",
                format!("no profile {:?} in [profiles]", self.participation),
            ));
        }
        let cell_type = self.cell.cell_type;
        for (name, profile) in &self.profiles {
            for (side, subjects, key) in [
                (Side::Seller, &profile.sell, "sell"),
                (Side::Buyer, &profile.buy, "buy"),
            ] {
                if let Some(subject) = subjects.iter().find(|s| !cell_type.may_take(**s, side)) {
                    return Err(Error::settings(
                        format!("profiles.{name}.{key}"),
                        format!(
                            "a {cell_type} cell may not be the {side} of {subject} (IDEA Table 2)"
                        ),
                    ));
                }
            }
        }
        for (side, prices) in [
            ("sell_min", &self.prices.sell_min),
            ("buy_max", &self.prices.buy_max),
        ] {
            for subject in Subject::ALL {
                if let Some(p) = prices.get(subject)
                    && p < 0
                {
                    return Err(Error::settings(
                        format!("prices.{side}.{subject}"),
                        format!("{p} is negative"),
                    ));
                }
            }
        }
        for (i, service) in self.priorities.iter().enumerate() {
            if self.priorities.iter().take(i).any(|s| s == service) {
                return Err(Error::settings(
                    format!("priorities[{i}]"),
                    format!("{service} is listed twice"),
                ));
            }
        }
        for (i, bound) in self.comfort.iter().enumerate() {
            let unit = self.cell.units.iter().find(|u| u.id == bound.unit);
            let rated = match unit.map(|u| u.kind) {
                Some(UnitKind::Load {
                    rated,
                    controllable: true,
                }) => rated.w(),
                Some(_) => {
                    return Err(Error::settings(
                        format!("comfort[{i}].unit"),
                        format!("{} is not a controllable load", bound.unit),
                    ));
                }
                None => {
                    return Err(Error::settings(
                        format!("comfort[{i}].unit"),
                        format!("the cell has no unit {}", bound.unit),
                    ));
                }
            };
            if !(0 <= bound.min_w && bound.min_w <= bound.max_w && bound.max_w <= rated) {
                return Err(Error::settings(
                    format!("comfort[{i}]"),
                    format!(
                        "needs 0 ≤ min_w ≤ max_w ≤ rated {rated} W, got {}..{}",
                        bound.min_w, bound.max_w
                    ),
                ));
            }
        }
        let period = self.settlement_period_s;
        if period == 0 || period > 900 || 3600u32.checked_rem(period) != Some(0) {
            return Err(Error::settings(
                "settlement_period_s",
                format!("{period} s: it must divide an hour and be at most 900 s (TE-06)"),
            ));
        }
        Ok(())
    }

    /// The profile in force.
    pub fn profile(&self) -> &ParticipationProfile {
        // validate() proved the profile exists; an edited value falls back to trading nothing.
        static NOTHING: ParticipationProfile = ParticipationProfile {
            services: Vec::new(),
            sell: Vec::new(),
            buy: Vec::new(),
        };
        self.profiles.get(&self.participation).unwrap_or(&NOTHING)
    }

    /// The rank of `service` among the priorities: 0 is the highest; a service not listed ranks after all.
    pub fn priority(&self, service: &ServiceId) -> usize {
        self.priorities
            .iter()
            .position(|s| s == service)
            .unwrap_or(self.priorities.len())
    }

    /// The comfort bound of `unit`, if the owner set one.
    pub fn comfort(&self, unit: &UnitId) -> Option<&ComfortBound> {
        self.comfort.iter().find(|b| &b.unit == unit)
    }
}
