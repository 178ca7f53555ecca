//! Contract terms: delivery window on settlement periods, profile, price, tolerance band, penalty.

use crate::error::Result;
use crate::{ActivePower, Duration, Energy, EnergyPrice, Error, Money, ReactivePower, Timestamp};
use serde::{Deserialize, Serialize};

/// The most settlement intervals one transaction may span: a leap year of quarter hours.
pub const MAX_INTERVALS: u32 = 366 * 96;
/// Seconds in a day; a settlement period divides it.
const DAY_S: u32 = 86_400;

/// Active and reactive power together. Positive active power flows from seller to buyer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PowerLevel {
    /// Active power.
    #[serde(rename = "active_w")]
    pub active: ActivePower,
    /// Reactive power.
    #[serde(rename = "reactive_var")]
    pub reactive: ReactivePower,
}

impl PowerLevel {
    /// `active` W and `reactive` var.
    pub const fn new(active: ActivePower, reactive: ReactivePower) -> PowerLevel {
        PowerLevel { active, reactive }
    }
}

/// When delivery happens: `intervals` settlement periods of `period` from `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "DeliveryWindowFields", into = "DeliveryWindowFields")]
pub struct DeliveryWindow {
    start: Timestamp,
    period: Duration,
    intervals: u32,
}

#[derive(Serialize, Deserialize)]
struct DeliveryWindowFields {
    start: Timestamp,
    period_s: u32,
    intervals: u32,
}

impl DeliveryWindow {
    /// A window of `intervals` periods of `period_s` seconds from `start`. The period divides a day (so
    /// periods are aligned in UTC: 15 minutes start at :00, :15, :30, :45); `start` begins a period; the window
    /// has 1 to [`MAX_INTERVALS`] intervals and ends by 9999-12-31.
    pub fn new(start: Timestamp, period_s: u32, intervals: u32) -> Result<DeliveryWindow> {
        if period_s == 0 || !DAY_S.is_multiple_of(period_s) {
            return Err(Error::invalid(
                "period_s",
                format!("{period_s} s does not divide a day into settlement periods"),
            ));
        }
        let period = Duration::from_secs(u64::from(period_s));
        if !start.is_aligned_to(period) {
            return Err(Error::invalid(
                "start_unix_ms",
                format!("{start} does not start a {period_s} s settlement period"),
            ));
        }
        if intervals == 0 || intervals > MAX_INTERVALS {
            return Err(Error::invalid(
                "intervals",
                format!("{intervals} is not within 1..={MAX_INTERVALS}"),
            ));
        }
        let window = DeliveryWindow {
            start,
            period,
            intervals,
        };
        window
            .end()
            .map_err(|_| Error::invalid("intervals", "the window ends after 9999-12-31"))?;
        Ok(window)
    }

    /// The first instant of delivery.
    pub fn start(&self) -> Timestamp {
        self.start
    }

    /// The settlement period.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// The settlement period in seconds.
    pub fn period_s(&self) -> u32 {
        // Constructed from a u32 number of seconds.
        u32::try_from(self.period.as_secs()).unwrap_or(u32::MAX)
    }

    /// How many settlement intervals.
    pub fn intervals(&self) -> u32 {
        self.intervals
    }

    /// The end of delivery (exclusive).
    pub fn end(&self) -> Result<Timestamp> {
        self.start
            .checked_add(self.period.checked_mul(u64::from(self.intervals))?)
    }

    /// The start of interval `index` (0-based); an error past the last interval.
    pub fn interval_start(&self, index: u32) -> Result<Timestamp> {
        if index >= self.intervals {
            return Err(Error::invalid(
                "interval",
                format!("{index} is past the last of {} intervals", self.intervals),
            ));
        }
        self.start
            .checked_add(self.period.checked_mul(u64::from(index))?)
    }

    /// The interval containing `at`, if delivery is under way then.
    pub fn interval_at(&self, at: Timestamp) -> Option<u32> {
        let since = at.duration_since(self.start)?;
        let index = since.as_ms().checked_div(self.period.as_ms())?;
        u32::try_from(index).ok().filter(|i| *i < self.intervals)
    }
}

impl TryFrom<DeliveryWindowFields> for DeliveryWindow {
    type Error = Error;
    fn try_from(f: DeliveryWindowFields) -> Result<DeliveryWindow> {
        DeliveryWindow::new(f.start, f.period_s, f.intervals)
    }
}

impl From<DeliveryWindow> for DeliveryWindowFields {
    fn from(w: DeliveryWindow) -> DeliveryWindowFields {
        DeliveryWindowFields {
            start: w.start,
            period_s: w.period_s(),
            intervals: w.intervals,
        }
    }
}

/// What is delivered in each settlement interval.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    /// Energy per interval (subject energy); each value ≥ 0.
    #[serde(rename = "energy_wh")]
    Energy(Vec<Energy>),
    /// Power held per interval (subjects power and flexibility).
    Power(Vec<PowerLevel>),
}

impl Profile {
    /// How many intervals the profile covers.
    pub fn len(&self) -> usize {
        match self {
            Profile::Energy(v) => v.len(),
            Profile::Power(v) => v.len(),
        }
    }

    /// Whether the profile is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The deviation allowed before the penalty applies: the larger of `relative_bp` basis points of the
/// contracted quantity and `absolute`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ToleranceBand {
    /// Basis points (1/100 %) of the contracted quantity, 0..=10000.
    pub relative_bp: u32,
    /// A floor in energy, ≥ 0.
    #[serde(rename = "absolute_wh")]
    pub absolute: Energy,
}

impl ToleranceBand {
    /// The allowed deviation for `contracted` energy, rounded down to the watt-hour.
    pub fn allowance(&self, contracted: Energy) -> Result<Energy> {
        let relative = i128::from(contracted.wh())
            .unsigned_abs()
            .checked_mul(u128::from(self.relative_bp))
            .map(|x| x / 10_000)
            .and_then(|x| i64::try_from(x).ok())
            .ok_or(Error::Overflow {
                operation: "ToleranceBand × Energy",
            })?;
        Ok(Energy::from_wh(relative).max(self.absolute))
    }

    fn validate(&self) -> Result<()> {
        if self.relative_bp > 10_000 {
            return Err(Error::invalid(
                "relative_bp",
                format!("{} bp is more than 100 %", self.relative_bp),
            ));
        }
        if self.absolute.is_negative() {
            return Err(Error::invalid(
                "absolute_wh",
                "a tolerance cannot be negative",
            ));
        }
        Ok(())
    }
}

/// The terms of a contract (UC-03).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "TermsSpec", into = "TermsSpec")]
pub struct Terms(TermsSpec);

/// The fields of [`Terms`], before validation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TermsSpec {
    /// When delivery happens.
    pub window: DeliveryWindow,
    /// What is delivered per interval; one entry per interval of the window.
    pub profile: Profile,
    /// The price per kWh (energy) or per kW·h held (power, flexibility); ≥ 0.
    pub price: EnergyPrice,
    /// The deviation settled without penalty.
    pub tolerance: ToleranceBand,
    /// The price of each kWh of deviation beyond the band; ≥ 0, in the price's currency.
    pub penalty: EnergyPrice,
}

impl Terms {
    /// Validates terms: one profile entry per interval, energies not negative, prices not negative and in one
    /// currency, a tolerance of at most 100 %.
    pub fn new(spec: TermsSpec) -> Result<Terms> {
        if spec.profile.len() != spec.window.intervals() as usize {
            return Err(Error::invalid(
                "profile",
                format!(
                    "{} entries for {} intervals",
                    spec.profile.len(),
                    spec.window.intervals()
                ),
            ));
        }
        if let Profile::Energy(values) = &spec.profile
            && let Some(i) = values.iter().position(|e| e.is_negative())
        {
            return Err(Error::invalid(
                format!("energy.energy_wh[{i}]"),
                "contracted energy cannot be negative",
            ));
        }
        if spec.price.minor_units_per_kwh < 0 {
            return Err(Error::invalid(
                "price.minor_units_per_kwh",
                "a price cannot be negative",
            ));
        }
        if spec.penalty.minor_units_per_kwh < 0 {
            return Err(Error::invalid(
                "penalty.minor_units_per_kwh",
                "a penalty cannot be negative",
            ));
        }
        if spec.penalty.currency != spec.price.currency {
            return Err(Error::invalid(
                "penalty.currency",
                format!(
                    "penalty in {} but price in {}",
                    spec.penalty.currency, spec.price.currency
                ),
            ));
        }
        spec.tolerance
            .validate()
            .map_err(|e| e.within("tolerance"))?;
        Ok(Terms(spec))
    }

    /// The fields, for editing and re-validation.
    pub fn into_spec(self) -> TermsSpec {
        self.0
    }

    /// The energy contracted in interval `index`: the profile's energy, or its active power held for one
    /// period (as a magnitude).
    pub fn contracted_energy(&self, index: u32) -> Result<Energy> {
        let i = index as usize;
        let missing = || Error::invalid("interval", format!("{index} is past the profile"));
        match &self.0.profile {
            Profile::Energy(values) => values.get(i).copied().ok_or_else(missing),
            Profile::Power(levels) => {
                let level = levels.get(i).ok_or_else(missing)?;
                level
                    .active
                    .checked_abs()?
                    .energy_over(self.0.window.period())
            }
        }
    }

    /// The total contracted energy over the window.
    pub fn total_energy(&self) -> Result<Energy> {
        (0..self.0.window.intervals())
            .map(|i| self.contracted_energy(i))
            .try_fold(Energy::ZERO, |acc, e| acc.checked_add(e?))
    }

    /// What the buyer pays if everything is delivered as contracted.
    pub fn value(&self) -> Result<Money> {
        self.0.price.cost_of(self.total_energy()?)
    }
}

impl std::ops::Deref for Terms {
    type Target = TermsSpec;
    fn deref(&self) -> &TermsSpec {
        &self.0
    }
}

impl TryFrom<TermsSpec> for Terms {
    type Error = Error;
    fn try_from(spec: TermsSpec) -> Result<Terms> {
        Terms::new(spec)
    }
}

impl From<Terms> for TermsSpec {
    fn from(t: Terms) -> TermsSpec {
        t.0
    }
}
