//! The frequency norms of isolated systems (NG-H2) and a checker that judges a frequency trace by them.

use serde::Deserialize;
use std::sync::OnceLock;

/// The norms; see `data/gost-r-55890-2013.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrequencyNorms {
    /// Nominal frequency, Hz.
    pub nominal_hz: f64,
    /// Length of the averaging windows, s.
    pub averaging_window_s: f64,
    /// Band the averages keep for `normal_share` of the time, ± Hz.
    pub normal_band_hz: f64,
    /// Share of time within the normal band.
    pub normal_share: f64,
    /// Band the averages never leave, ± Hz.
    pub limit_band_hz: f64,
    /// Band the frequency returns to after a disturbance, ± Hz.
    pub restored_band_hz: f64,
}

/// How a frequency trace fares against the norms.
#[derive(Debug, Clone, PartialEq)]
pub struct FrequencyVerdict {
    /// Share of the averaging windows whose average lies within the normal band.
    pub share_within_normal: f64,
    /// The largest deviation of any window average, Hz.
    pub worst_average_deviation_hz: f64,
    /// The instant from which the frequency stays within the restored band to the end of the trace, if it does.
    pub restored_at_s: Option<f64>,
    /// Whether every norm holds.
    pub passes: bool,
    /// Each norm broken, in words.
    pub failures: Vec<String>,
}

impl FrequencyNorms {
    /// The norms of `data/gost-r-55890-2013.toml`.
    pub fn defaults() -> FrequencyNorms {
        static PARSED: OnceLock<FrequencyNorms> = OnceLock::new();
        *PARSED.get_or_init(|| {
            match toml::from_str(include_str!("../../data/gost-r-55890-2013.toml")) {
                Ok(n) => n,
                #[allow(clippy::panic)]
                Err(e) => panic!("data/gost-r-55890-2013.toml is invalid: {e}"),
            }
        })
    }

    /// Judges a trace of `(time s, frequency Hz)` samples with increasing times; each sample holds until the
    /// next. Windows start at the first sample; a last partial window counts by its length.
    pub fn judge(&self, trace: &[(f64, f64)]) -> FrequencyVerdict {
        let mut failures = Vec::new();
        let (Some(&(t_start, _)), Some(&(t_end, _))) = (trace.first(), trace.last()) else {
            return FrequencyVerdict {
                share_within_normal: 0.0,
                worst_average_deviation_hz: 0.0,
                restored_at_s: None,
                passes: false,
                failures: vec!["the trace is empty".into()],
            };
        };
        // Window averages of the piecewise-constant trace.
        let mut within = 0.0;
        let mut total = 0.0;
        let mut worst = 0.0f64;
        let mut window_start = t_start;
        while window_start < t_end {
            let window_end = (window_start + self.averaging_window_s).min(t_end);
            let mut integral = 0.0;
            for (i, &(t, f)) in trace.iter().enumerate() {
                let next = trace.get(i + 1).map_or(t_end, |n| n.0);
                let overlap = next.min(window_end) - t.max(window_start);
                if overlap > 0.0 {
                    integral += (f - self.nominal_hz) * overlap;
                }
            }
            let length = window_end - window_start;
            let deviation = (integral / length).abs();
            worst = worst.max(deviation);
            total += length;
            if deviation <= self.normal_band_hz {
                within += length;
            }
            window_start = window_end;
        }
        let share = if total > 0.0 { within / total } else { 1.0 };
        if share < self.normal_share {
            failures.push(format!(
                "averages within ±{} Hz for {:.1} % of the time, below {:.1} %",
                self.normal_band_hz,
                share * 100.0,
                self.normal_share * 100.0
            ));
        }
        if worst > self.limit_band_hz {
            failures.push(format!(
                "an average deviates by {worst:.3} Hz, beyond ±{} Hz",
                self.limit_band_hz
            ));
        }
        let last_outside = trace
            .iter()
            .rposition(|&(_, f)| (f - self.nominal_hz).abs() > self.restored_band_hz);
        let restored_at_s = match last_outside {
            None => Some(t_start),
            Some(i) => trace.get(i + 1).map(|n| n.0),
        };
        if restored_at_s.is_none() {
            failures.push(format!(
                "the frequency does not return to ±{} Hz",
                self.restored_band_hz
            ));
        }
        FrequencyVerdict {
            share_within_normal: share,
            worst_average_deviation_hz: worst,
            restored_at_s,
            passes: failures.is_empty(),
            failures,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judges_averages_limits_and_restoration() {
        let n = FrequencyNorms::defaults();
        let steady: Vec<_> = (0..100).map(|i| (f64::from(i), 50.01)).collect();
        let v = n.judge(&steady);
        assert!(v.passes, "{:?}", v.failures);
        assert_eq!(v.restored_at_s, Some(0.0));
        // A standing 0.25 Hz deviation from t = 10 s: averages beyond 0.2 Hz most of the time, never restored.
        let standing: Vec<_> = (0..100)
            .map(|i| (f64::from(i), if i < 10 { 50.0 } else { 49.75 }))
            .collect();
        let v = n.judge(&standing);
        assert!(!v.passes);
        assert!(v.share_within_normal < 0.95);
        assert_eq!(v.restored_at_s, None);
        assert_eq!(v.failures.len(), 2, "{:?}", v.failures);
        // A 1 s dip to 49.3 Hz averages out within the limit and is restored.
        let dip: Vec<_> = (0..100)
            .map(|i| (f64::from(i), if i == 30 { 49.3 } else { 50.0 }))
            .collect();
        let v = n.judge(&dip);
        assert!(v.passes, "{:?}", v.failures);
        assert_eq!(v.restored_at_s, Some(31.0));
        assert!((v.worst_average_deviation_hz - 0.035).abs() < 1e-9);
        assert!(!n.judge(&[]).passes);
    }
}
