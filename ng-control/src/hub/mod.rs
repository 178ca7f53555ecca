//! The energy hub (reference power balance regulator, NG-H1..NG-H3) and the frequency norms it is judged by
//! (NG-H2): a battery behind a grid-forming converter, controlled as a virtual synchronous machine with P–f
//! droop and deadband, virtual inertia, frequency restoration (secondary, isochronous) and Q–V droop; and a
//! checker that judges a frequency trace against the norms of `data/gost-r-55890-2013.toml`.
//!
//! ```
//! use ng_control::hub::{HubSettings, FrequencyNorms};
//! let hub = HubSettings::defaults();
//! // Droop alone: a 10 % load step leaves 0.05 × 0.10 × 50 Hz = 0.25 Hz of standing deviation.
//! assert!((hub.standing_deviation_hz(0.10, 50.0) - 0.25).abs() < 1e-12);
//! assert!(hub.standing_deviation_hz(0.10, 50.0) > FrequencyNorms::defaults().normal_band_hz);
//! ```

mod norms;
mod simulation;

pub use norms::{FrequencyNorms, FrequencyVerdict};
pub use simulation::{
    Cell, Event, EventKind, FrequencyDynamics, Microgrid, SimulationReport, simulate,
};

use serde::Deserialize;
use std::sync::OnceLock;

/// Hub control settings; see `data/energy-hub.toml` for the defaults and their meaning.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HubSettings {
    /// P–f droop (per-unit frequency change per per-unit power change).
    pub droop: f64,
    /// Deadband of the droop response, Hz.
    pub deadband_hz: f64,
    /// Virtual inertia constant H, s.
    pub virtual_inertia_s: f64,
    /// Frequency restoration gain, p.u. per Hz·s; 0 disables restoration (droop only).
    pub restoration_gain: f64,
    /// Converter time constant, s.
    pub converter_time_constant_s: f64,
    /// Q–V droop.
    pub q_droop: f64,
}

impl HubSettings {
    /// The defaults of `data/energy-hub.toml`.
    pub fn defaults() -> HubSettings {
        static PARSED: OnceLock<HubSettings> = OnceLock::new();
        *PARSED.get_or_init(
            || match toml::from_str(include_str!("../../data/energy-hub.toml")) {
                Ok(s) => s,
                #[allow(clippy::panic)]
                Err(e) => panic!("data/energy-hub.toml is invalid: {e}"),
            },
        )
    }

    /// The droop response (p.u.) to a frequency `f_hz`: zero inside the deadband, then proportional to the
    /// deviation beyond it.
    pub fn droop_response(&self, f_hz: f64, nominal_hz: f64) -> f64 {
        let deviation = f_hz - nominal_hz;
        let beyond = deviation.abs() - self.deadband_hz;
        if beyond <= 0.0 {
            0.0
        } else {
            -deviation.signum() * beyond / (self.droop * nominal_hz)
        }
    }

    /// The steady-state frequency deviation droop alone leaves after a power imbalance of `step_pu` (of the
    /// hubs' rating), Hz.
    pub fn standing_deviation_hz(&self, step_pu: f64, nominal_hz: f64) -> f64 {
        step_pu * self.droop * nominal_hz
            + if step_pu == 0.0 {
                0.0
            } else {
                self.deadband_hz
            }
    }

    /// Q–V droop: the reactive output (p.u., positive injected) for voltage `v_pu` around `v_ref_pu`.
    pub fn reactive_response(&self, v_pu: f64, v_ref_pu: f64) -> f64 {
        ((v_ref_pu - v_pu) / self.q_droop).clamp(-1.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn droop_with_deadband() {
        let mut s = HubSettings::defaults();
        assert_eq!(s.droop_response(50.0, 50.0), 0.0);
        assert!((s.droop_response(49.75, 50.0) - 0.1).abs() < 1e-12);
        s.deadband_hz = 0.05;
        assert_eq!(s.droop_response(49.96, 50.0), 0.0);
        assert!((s.droop_response(50.30, 50.0) + 0.1).abs() < 1e-12);
    }

    #[test]
    fn eight_percent_is_where_droop_alone_breaks_the_normal_band() {
        let s = HubSettings::defaults();
        let band = FrequencyNorms::defaults().normal_band_hz;
        assert!(s.standing_deviation_hz(0.07, 50.0) < band);
        assert!((s.standing_deviation_hz(0.08, 50.0) - band).abs() < 1e-12);
        assert!(s.standing_deviation_hz(0.09, 50.0) > band);
    }

    #[test]
    fn q_v_droop() {
        let s = HubSettings::defaults();
        assert!((s.reactive_response(0.98, 1.0) - 0.4).abs() < 1e-12);
        assert_eq!(s.reactive_response(0.8, 1.0), 1.0);
    }
}
