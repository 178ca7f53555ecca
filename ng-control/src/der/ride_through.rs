//! Ride-through regions (IEEE 1547-2018 Tables 14–16 and 19) and the check of a DER's trip against them: while
//! the voltage (or frequency) is outside the continuous band, the DER must stay connected until the time since
//! it left the band reaches the minimum ride-through time of the region it is in.

use serde::Deserialize;

/// What the DER must do in a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RideThroughMode {
    /// Within the continuous band: operate normally, indefinitely.
    ContinuousOperation,
    /// Keep exchanging current for the minimum time.
    MandatoryOperation,
    /// Stay connected for the minimum time; may cease current exchange.
    PermissiveOperation,
    /// Stay connected for the minimum time without exchanging current.
    MomentaryCessation,
    /// Cease to energize; may trip at once.
    CeaseToEnergize,
    /// No requirement: may trip.
    NotDefined,
}

/// One region beyond the continuous band.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Region {
    side: Side,
    from_pu: f64,
    to_pu: f64,
    mode: RideThroughMode,
    #[serde(default)]
    min_s: f64,
    #[serde(default)]
    slope_s_per_pu: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Side {
    High,
    Low,
}

/// A ride-through table: the continuous band and the regions beyond it.
#[derive(Debug, Clone, PartialEq)]
pub struct RideThroughTable {
    /// The continuous operation band `[low, high]` (p.u. for voltage, Hz for frequency).
    pub continuous: [f64; 2],
    pub(super) regions: Vec<Region>,
}

/// The region a value falls in and its minimum ride-through time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Requirement {
    /// The mode.
    pub mode: RideThroughMode,
    /// The time since leaving the continuous band before the DER may trip, s (0 when it may trip at once).
    pub min_ride_through_s: f64,
}

/// Whether a trip was permitted.
#[derive(Debug, Clone, PartialEq)]
pub struct RideThroughVerdict {
    /// True when the DER rode through as long as required (or never tripped).
    pub compliant: bool,
    /// Why not, when not.
    pub reason: Option<String>,
}

impl RideThroughTable {
    pub(super) fn scaled(mut self, nominal: f64, table_nominal: f64) -> RideThroughTable {
        let scale = |x: f64| nominal + (x - table_nominal) * nominal / table_nominal;
        self.continuous = self.continuous.map(scale);
        for r in &mut self.regions {
            r.from_pu = scale(r.from_pu);
            r.to_pu = scale(r.to_pu);
        }
        self
    }

    /// The requirement at `value`.
    pub fn requirement(&self, value: f64) -> Requirement {
        let [low, high] = self.continuous;
        if (low..=high).contains(&value) {
            return Requirement {
                mode: RideThroughMode::ContinuousOperation,
                min_ride_through_s: f64::INFINITY,
            };
        }
        let found = self.regions.iter().find(|r| match r.side {
            Side::High => value > r.from_pu && value <= r.to_pu,
            Side::Low => value >= r.from_pu && value < r.to_pu,
        });
        match found {
            Some(r) => Requirement {
                mode: r.mode,
                min_ride_through_s: r.min_s + r.slope_s_per_pu * (value - r.from_pu),
            },
            None => Requirement {
                mode: RideThroughMode::NotDefined,
                min_ride_through_s: 0.0,
            },
        }
    }

    /// Judges a DER that tripped at `trip_at_s` (or never, `None`) during a trace of `(time s, value)` samples.
    pub fn check(&self, trace: &[(f64, f64)], trip_at_s: Option<f64>) -> RideThroughVerdict {
        let Some(trip) = trip_at_s else {
            return RideThroughVerdict {
                compliant: true,
                reason: None,
            };
        };
        let [low, high] = self.continuous;
        let mut left_band_at: Option<f64> = None;
        let mut value_at_trip = None;
        for &(t, v) in trace {
            if t > trip {
                break;
            }
            if (low..=high).contains(&v) {
                left_band_at = None;
            } else {
                left_band_at.get_or_insert(t);
            }
            value_at_trip = Some(v);
        }
        let Some(v) = value_at_trip else {
            return RideThroughVerdict {
                compliant: false,
                reason: Some("tripped before the trace starts".into()),
            };
        };
        let Some(since) = left_band_at else {
            return RideThroughVerdict {
                compliant: false,
                reason: Some(format!(
                    "tripped at {trip} s within the continuous band ({v})"
                )),
            };
        };
        let req = self.requirement(v);
        let elapsed = trip - since;
        if elapsed + 1e-9 >= req.min_ride_through_s {
            RideThroughVerdict {
                compliant: true,
                reason: None,
            }
        } else {
            RideThroughVerdict {
                compliant: false,
                reason: Some(format!(
                    "tripped {elapsed:.3} s after leaving the continuous band at {v} in {:?}, which requires {:.3} s",
                    req.mode, req.min_ride_through_s
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::der::{Ieee1547, PerformanceCategory, RideThroughMode as M};

    #[test]
    fn regions_of_each_category() {
        let ii = Ieee1547::voltage_ride_through(PerformanceCategory::II);
        assert_eq!(ii.requirement(1.0).mode, M::ContinuousOperation);
        let r = ii.requirement(0.75);
        assert_eq!(r.mode, M::MandatoryOperation);
        assert!((r.min_ride_through_s - (3.0 + 8.7 * 0.10)).abs() < 1e-12);
        assert_eq!(ii.requirement(0.5).min_ride_through_s, 0.32);
        assert_eq!(ii.requirement(0.2).mode, M::CeaseToEnergize);
        assert_eq!(ii.requirement(1.16).min_ride_through_s, 0.5);
        let iii = Ieee1547::voltage_ride_through(PerformanceCategory::III);
        assert_eq!(iii.requirement(0.6).min_ride_through_s, 10.0);
        assert_eq!(iii.requirement(0.3).mode, M::MomentaryCessation);
        assert_eq!(iii.requirement(1.15).min_ride_through_s, 12.0);
        let i = Ieee1547::voltage_ride_through(PerformanceCategory::I);
        assert!((i.requirement(0.8).min_ride_through_s - 1.1).abs() < 1e-12);
        assert_eq!(i.requirement(0.4).mode, M::CeaseToEnergize);
    }

    #[test]
    fn trips_are_judged_against_the_minimum_time() {
        let ii = Ieee1547::voltage_ride_through(PerformanceCategory::II);
        let sag = [(0.0, 1.0), (1.0, 0.7), (10.0, 0.7)];
        // 0.70 p.u. needs 3 + 8.7 × 0.05 = 3.435 s.
        assert!(!ii.check(&sag, Some(3.0)).compliant);
        assert!(ii.check(&sag, Some(4.5)).compliant);
        assert!(ii.check(&sag, None).compliant);
        assert!(
            !ii.check(&[(0.0, 1.0), (5.0, 1.0)], Some(2.0)).compliant,
            "no trip inside the band"
        );
    }

    #[test]
    fn frequency_ride_through_scales_to_50_hz() {
        let f = Ieee1547::frequency_ride_through(50.0);
        assert_eq!(f.requirement(50.0).mode, M::ContinuousOperation);
        // 58.8 Hz at 60 Hz is 49.0 Hz at 50 Hz; 57.0 Hz is 47.5 Hz.
        assert_eq!(f.requirement(49.2).mode, M::ContinuousOperation);
        assert_eq!(f.requirement(48.5).mode, M::MandatoryOperation);
        assert_eq!(f.requirement(48.5).min_ride_through_s, 299.0);
        assert_eq!(f.requirement(47.0).mode, M::NotDefined);
    }
}
