//! IEEE 1547-2018 DER functions (IOT-04, NG-S1): constant power factor, constant var, volt-var, watt-var,
//! volt-watt and frequency-droop, with the Category A/B default curves, the open-loop response as a first-order
//! lag, the voltage and frequency trip settings of Categories I–III with a range checker and a must-trip
//! evaluator, and the voltage and frequency ride-through regions with a check of a DER's trip against them. Defaults and ranges are data (`data/ieee1547-2018.toml`).
//!
//! Per-unit bases: voltage on nominal, active power on Prated, reactive power on Srated; positive reactive power
//! is injected.
//!
//! ```
//! use ng_control::der::{Category, Ieee1547};
//! let vv = Ieee1547::volt_var(Category::B);
//! assert_eq!(vv.curve.eval(0.92), 0.44);
//! assert_eq!(vv.curve.eval(1.00), 0.0);
//! assert!((vv.curve.eval(1.05) + 0.22).abs() < 1e-12);
//! // Frequency droop at 50 Hz: the 0.036 Hz deadband scales to 0.030 Hz.
//! let droop = Ieee1547::frequency_droop();
//! let p = droop.active_power(50.25, 50.0, 0.8, 1.0, 0.0);
//! assert!((p - (0.8 - (0.25 - 0.03) / (50.0 * 0.05))).abs() < 1e-12);
//! ```

mod ride_through;
mod settings;
mod trip;

pub use ride_through::{Requirement, RideThroughMode, RideThroughTable, RideThroughVerdict};
pub use settings::{Capability, Droop};
pub use trip::{TripEvent, TripSetting, TripViolation, check_trip_settings, first_trip};

/// Normal operating performance category (reactive power capability and voltage regulation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// Category A: basic capability, for DER with little share of the feeder.
    A,
    /// Category B: for DER with a high share where voltage regulation matters.
    B,
}

/// Abnormal operating performance category (ride-through and trip).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PerformanceCategory {
    /// Category I.
    I,
    /// Category II.
    II,
    /// Category III.
    III,
}

/// A piecewise-linear characteristic, flat beyond its first and last points.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    points: Vec<(f64, f64)>,
}

impl Curve {
    /// A curve from points with non-decreasing x; `None` if there are none, x decreases or a value is not finite.
    pub fn new(points: Vec<(f64, f64)>) -> Option<Curve> {
        let ok = !points.is_empty()
            && points.iter().all(|(x, y)| x.is_finite() && y.is_finite())
            && points.windows(2).all(|w| w[0].0 <= w[1].0);
        ok.then_some(Curve { points })
    }

    fn from_data(x: &[f64], y: &[f64]) -> Curve {
        let points = x.iter().copied().zip(y.iter().copied()).collect();
        // The data file is checked by this module's tests.
        Curve::new(points).unwrap_or(Curve {
            points: vec![(0.0, 0.0)],
        })
    }

    /// The points.
    pub fn points(&self) -> &[(f64, f64)] {
        &self.points
    }

    /// The value at `x`, interpolated linearly; at a vertical step, the value of the later point.
    pub fn eval(&self, x: f64) -> f64 {
        let first = self.points[0];
        let last = self.points[self.points.len() - 1];
        if x <= first.0 {
            return first.1;
        }
        if x >= last.0 {
            return last.1;
        }
        for w in self.points.windows(2) {
            let ((x0, y0), (x1, y1)) = (w[0], w[1]);
            if x >= x0 && x <= x1 {
                if x1 == x0 {
                    return y1;
                }
                return y0 + (y1 - y0) * (x - x0) / (x1 - x0);
            }
        }
        last.1
    }
}

/// A characteristic with its default open-loop response time.
#[derive(Debug, Clone, PartialEq)]
pub struct Characteristic {
    /// The curve.
    pub curve: Curve,
    /// Time to reach 90 % of a step, s.
    pub response_time_s: f64,
}

/// The IEEE 1547-2018 defaults.
pub struct Ieee1547;

impl Ieee1547 {
    /// Volt-var default (Table 8): Q (p.u. of Srated) against V (p.u.).
    pub fn volt_var(category: Category) -> Characteristic {
        let (curve, response_time_s) = settings::file().volt_var(category);
        Characteristic {
            curve,
            response_time_s,
        }
    }

    /// Watt-var default (Table 9): Q (p.u. of Srated) against P (p.u. of Prated).
    pub fn watt_var(category: Category) -> Curve {
        settings::file().watt_var(category)
    }

    /// Volt-watt default (Table 10): the active power limit (p.u. of Prated) against V (p.u.).
    pub fn volt_watt(category: Category) -> Characteristic {
        let (curve, response_time_s) = settings::file().volt_watt(category);
        Characteristic {
            curve,
            response_time_s,
        }
    }

    /// Minimum reactive capability at rated power.
    pub fn reactive_capability(category: Category) -> Capability {
        settings::file().capability(category)
    }

    /// Frequency-droop defaults (Table 24).
    pub fn frequency_droop() -> Droop {
        settings::file().droop()
    }

    /// Voltage trip settings of a category (Tables 11–13): OV2, OV1, UV1, UV2, thresholds in p.u.
    pub fn voltage_trips(category: PerformanceCategory) -> [TripSetting; 4] {
        settings::file().voltage_trips(category)
    }

    /// Frequency trip settings (Table 18): OF2, OF1, UF1, UF2, scaled to `nominal_hz` (the table is for 60 Hz).
    pub fn frequency_trips(nominal_hz: f64) -> [TripSetting; 4] {
        let scale = |hz: f64| nominal_hz + (hz - 60.0) * nominal_hz / 60.0;
        settings::file().frequency_trips().map(|mut t| {
            t.threshold = scale(t.threshold);
            t.threshold_range = t.threshold_range.map(scale);
            t
        })
    }

    /// Voltage ride-through regions of a category (Tables 14–16), in p.u.
    pub fn voltage_ride_through(category: PerformanceCategory) -> RideThroughTable {
        settings::file().voltage_ride_through(category)
    }

    /// Frequency ride-through regions (Table 19), scaled to `nominal_hz` (the table is for 60 Hz).
    pub fn frequency_ride_through(nominal_hz: f64) -> RideThroughTable {
        settings::file()
            .frequency_ride_through()
            .scaled(nominal_hz, 60.0)
    }

    /// The rate of change of frequency a DER of the category rides through, Hz/s (Table 21).
    pub fn rocof_ride_through(category: PerformanceCategory) -> f64 {
        settings::file().rocof(category)
    }
}

impl Droop {
    /// The active power (p.u. of Prated) under frequency droop (clause 6.5.2.7): above `nominal + deadband` the
    /// output falls from its pre-disturbance value `p_pre` by `Δf / (f_nominal · k)`, down to `p_min`; below
    /// `nominal − deadband` it rises, up to the available power `p_avail`. The deadband scales with the nominal
    /// frequency (0.036 Hz at 60 Hz).
    pub fn active_power(
        &self,
        f_hz: f64,
        nominal_hz: f64,
        p_pre: f64,
        p_avail: f64,
        p_min: f64,
    ) -> f64 {
        let deadband = self.deadband_hz * nominal_hz / 60.0;
        let gain = 1.0 / (nominal_hz * self.droop);
        if f_hz > nominal_hz + deadband {
            (p_pre - (f_hz - nominal_hz - deadband) * gain)
                .max(p_min)
                .min(p_pre)
        } else if f_hz < nominal_hz - deadband {
            (p_pre + (nominal_hz - deadband - f_hz) * gain)
                .min(p_avail)
                .max(p_pre)
        } else {
            p_pre
        }
    }
}

/// Reactive power (p.u. of Srated) at constant power factor `pf` (0 < pf ≤ 1) for active power `p_pu`;
/// positive when `injecting`.
pub fn constant_power_factor(pf: f64, injecting: bool, p_pu: f64) -> f64 {
    let pf = pf.clamp(f64::MIN_POSITIVE, 1.0);
    let q = p_pu.abs() * (1.0 / (pf * pf) - 1.0).sqrt();
    if injecting { q } else { -q }
}

/// A reactive power target limited to the category's capability.
pub fn limit_reactive(q_pu: f64, capability: Capability) -> f64 {
    q_pu.clamp(-capability.absorption_pu, capability.injection_pu)
}

/// The open-loop response of a DER function: a first-order lag that reaches 90 % of a step in the response
/// time (time constant = response time ÷ ln 10). Driven by explicit time steps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FirstOrderLag {
    tau_s: f64,
    value: f64,
}

impl FirstOrderLag {
    /// A lag with `response_time_s` starting at `initial`.
    pub fn new(response_time_s: f64, initial: f64) -> FirstOrderLag {
        FirstOrderLag {
            tau_s: response_time_s.max(0.0) / std::f64::consts::LN_10,
            value: initial,
        }
    }

    /// Advances by `dt_s` toward `target`; returns the new output.
    pub fn step(&mut self, target: f64, dt_s: f64) -> f64 {
        if self.tau_s <= 0.0 {
            self.value = target;
        } else {
            self.value += (target - self.value) * (1.0 - (-dt_s.max(0.0) / self.tau_s).exp());
        }
        self.value
    }

    /// The current output.
    pub fn value(&self) -> f64 {
        self.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_file_parses_and_has_every_category() {
        for c in [Category::A, Category::B] {
            assert_eq!(Ieee1547::volt_var(c).curve.points().len(), 4);
            assert_eq!(Ieee1547::watt_var(c).points().len(), 3);
            assert_eq!(Ieee1547::volt_watt(c).curve.points().len(), 2);
            assert!(Ieee1547::reactive_capability(c).injection_pu > 0.0);
        }
        for c in [
            PerformanceCategory::I,
            PerformanceCategory::II,
            PerformanceCategory::III,
        ] {
            let trips = Ieee1547::voltage_trips(c);
            assert_eq!(trips.map(|t| t.name), ["OV2", "OV1", "UV1", "UV2"]);
            assert!(
                check_trip_settings(&trips, &trips).is_empty(),
                "defaults lie within their ranges"
            );
        }
        assert_eq!(Ieee1547::rocof_ride_through(PerformanceCategory::III), 3.0);
    }

    #[test]
    fn defaults_of_the_issue() {
        let b = Ieee1547::volt_var(Category::B);
        assert_eq!(
            b.curve.points(),
            &[(0.92, 0.44), (0.98, 0.0), (1.02, 0.0), (1.08, -0.44)]
        );
        assert_eq!(b.response_time_s, 5.0);
        let vw = Ieee1547::volt_watt(Category::B).curve;
        assert_eq!(vw.eval(1.0), 1.0);
        assert!((vw.eval(1.08) - 0.6).abs() < 1e-12);
        assert!((vw.eval(1.2) - 0.2).abs() < 1e-12);
        let wv = Ieee1547::watt_var(Category::A);
        assert_eq!(wv.eval(0.5), 0.0);
        assert!((wv.eval(0.75) + 0.125).abs() < 1e-12);
        let d = Ieee1547::frequency_droop();
        assert_eq!(
            (d.deadband_hz, d.droop, d.response_time_s),
            (0.036, 0.05, 5.0)
        );
    }

    #[test]
    fn frequency_droop_respects_deadband_and_limits() {
        let d = Ieee1547::frequency_droop();
        assert_eq!(
            d.active_power(60.03, 60.0, 0.5, 1.0, 0.0),
            0.5,
            "inside the deadband"
        );
        // 60.336 Hz: 0.3 Hz beyond the deadband, 0.3 / (60 × 0.05) = 0.1 p.u. less.
        assert!((d.active_power(60.336, 60.0, 0.5, 1.0, 0.0) - 0.4).abs() < 1e-12);
        assert_eq!(
            d.active_power(65.0, 60.0, 0.5, 1.0, 0.1),
            0.1,
            "floored at Pmin"
        );
        assert!((d.active_power(59.664, 60.0, 0.5, 1.0, 0.0) - 0.6).abs() < 1e-12);
        assert_eq!(
            d.active_power(55.0, 60.0, 0.5, 0.7, 0.0),
            0.7,
            "capped at the available power"
        );
    }

    #[test]
    fn lag_reaches_ninety_percent_in_the_response_time() {
        let mut lag = FirstOrderLag::new(5.0, 0.0);
        let mut t = 0.0;
        while t < 5.0 - 1e-9 {
            lag.step(1.0, 0.01);
            t += 0.01;
        }
        assert!((lag.value() - 0.9).abs() < 1e-6, "{}", lag.value());
        let mut instant = FirstOrderLag::new(0.0, 0.0);
        assert_eq!(instant.step(0.3, 0.001), 0.3);
    }

    #[test]
    fn power_factor_and_capability() {
        assert!((constant_power_factor(0.9, true, 1.0) - 0.484_322).abs() < 1e-6);
        assert!(constant_power_factor(0.9, false, 1.0) < 0.0);
        assert_eq!(constant_power_factor(1.0, true, 0.7), 0.0);
        let a = Ieee1547::reactive_capability(Category::A);
        assert_eq!(limit_reactive(-0.44, a), -0.25);
        assert_eq!(limit_reactive(0.5, a), 0.44);
    }

    #[test]
    fn curves_refuse_decreasing_x() {
        assert!(Curve::new(vec![(1.0, 0.0), (0.9, 1.0)]).is_none());
        assert!(Curve::new(vec![]).is_none());
        assert!(Curve::new(vec![(f64::NAN, 0.0)]).is_none());
    }
}
