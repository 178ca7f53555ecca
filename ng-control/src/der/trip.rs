//! Trip settings: the must-trip evaluation of a voltage or frequency trace and the check of settings against
//! the ranges IEEE 1547-2018 allows.

/// One trip setting: trip when the quantity stays beyond `threshold` (above it when `over`) for
/// `clearing_time_s`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TripSetting {
    /// OV1, OV2, UV1, UV2, OF1, OF2, UF1 or UF2.
    pub name: &'static str,
    /// An over-voltage or over-frequency setting.
    pub over: bool,
    /// The threshold (p.u. for voltage, Hz for frequency).
    pub threshold: f64,
    /// The clearing time, s.
    pub clearing_time_s: f64,
    /// The thresholds an operator may choose.
    pub threshold_range: [f64; 2],
    /// The clearing times an operator may choose, s.
    pub clearing_time_range_s: [f64; 2],
}

/// A setting outside the range the standard allows.
#[derive(Debug, Clone, PartialEq)]
pub struct TripViolation {
    /// The setting.
    pub name: &'static str,
    /// What is out of range.
    pub reason: String,
}

/// When and why a trace must trip.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TripEvent {
    /// The setting that trips.
    pub name: &'static str,
    /// The time of the trip, s (the start of the excursion plus the clearing time).
    pub at_s: f64,
}

/// Checks `settings` against the ranges of the `standard` settings with the same names; returns every
/// violation (empty when all are allowed).
pub fn check_trip_settings(
    settings: &[TripSetting],
    standard: &[TripSetting],
) -> Vec<TripViolation> {
    let mut out = Vec::new();
    for s in settings {
        let Some(std) = standard.iter().find(|t| t.name == s.name) else {
            out.push(TripViolation {
                name: s.name,
                reason: "not a setting of the standard".into(),
            });
            continue;
        };
        let [lo, hi] = std.threshold_range;
        if !(lo..=hi).contains(&s.threshold) {
            out.push(TripViolation {
                name: s.name,
                reason: format!("threshold {} outside {lo}..={hi}", s.threshold),
            });
        }
        let [lo, hi] = std.clearing_time_range_s;
        if !(lo..=hi).contains(&s.clearing_time_s) {
            out.push(TripViolation {
                name: s.name,
                reason: format!(
                    "clearing time {} s outside {lo}..={hi} s",
                    s.clearing_time_s
                ),
            });
        }
    }
    out
}

/// The earliest trip a trace of `(time s, value)` samples (times increasing) must cause: a setting trips when
/// the value stays beyond its threshold from one sample until the clearing time has passed. Samples hold until
/// the next one.
pub fn first_trip(trace: &[(f64, f64)], settings: &[TripSetting]) -> Option<TripEvent> {
    let mut best: Option<TripEvent> = None;
    for s in settings {
        let beyond = |v: f64| {
            if s.over {
                v > s.threshold
            } else {
                v < s.threshold
            }
        };
        let mut since: Option<f64> = None;
        for (i, &(t, v)) in trace.iter().enumerate() {
            if beyond(v) {
                let start = *since.get_or_insert(t);
                let until = trace.get(i + 1).map_or(f64::INFINITY, |n| n.0);
                let at = start + s.clearing_time_s;
                if at <= until {
                    if best.is_none_or(|b| at < b.at_s) {
                        best = Some(TripEvent {
                            name: s.name,
                            at_s: at,
                        });
                    }
                    break;
                }
            } else {
                since = None;
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::der::{Ieee1547, PerformanceCategory};

    #[test]
    fn a_sag_below_uv2_trips_after_its_clearing_time() {
        let trips = Ieee1547::voltage_trips(PerformanceCategory::II);
        // 0.4 p.u. from t = 1 s: UV2 (0.45 p.u., 0.16 s) trips at 1.16 s, before UV1 (0.70, 10 s).
        let trace = [(0.0, 1.0), (1.0, 0.4), (5.0, 0.4)];
        assert_eq!(
            first_trip(&trace, &trips),
            Some(TripEvent {
                name: "UV2",
                at_s: 1.16
            })
        );
        // A 0.1 s sag rides through.
        let short = [(0.0, 1.0), (1.0, 0.4), (1.1, 1.0), (5.0, 1.0)];
        assert_eq!(first_trip(&short, &trips), None);
        // 0.6 p.u. for 12 s: UV1 at 10 s after the start.
        let long = [(0.0, 1.0), (1.0, 0.6), (13.0, 0.6)];
        assert_eq!(
            first_trip(&long, &trips),
            Some(TripEvent {
                name: "UV1",
                at_s: 11.0
            })
        );
    }

    #[test]
    fn frequency_trips_scale_to_50_hz() {
        let trips = Ieee1547::frequency_trips(50.0);
        let of2 = trips.iter().find(|t| t.name == "OF2").unwrap();
        assert!((of2.threshold - (50.0 + 2.0 * 50.0 / 60.0)).abs() < 1e-12);
        let trace = [(0.0, 50.0), (2.0, 52.0), (3.0, 52.0)];
        assert_eq!(first_trip(&trace, &trips).map(|e| e.name), Some("OF2"));
    }

    #[test]
    fn settings_outside_their_ranges_are_reported() {
        let standard = Ieee1547::voltage_trips(PerformanceCategory::III);
        let mut mine = standard;
        mine[1].clearing_time_s = 20.0; // OV1 allows 1–13 s
        mine[2].threshold = 0.9; // UV1 allows up to 0.88 p.u.
        let v = check_trip_settings(&mine, &standard);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].name, "OV1");
        assert_eq!(v[1].name, "UV1");
    }
}
