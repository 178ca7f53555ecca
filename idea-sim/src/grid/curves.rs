//! What drives the microgrid through the day: load shapes (`data/load-curves.toml`) and the sun (clear-sky
//! irradiance thinned by clouds drawn from the seed). Both are functions of simulated time alone, so a run is
//! the same whatever step it is taken with.

use crate::error::{Result, topology};
use crate::grid::topology::Sun;
use std::collections::BTreeMap;

/// Daily load shapes by name: 24 hourly shares of the peak.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadCurves(BTreeMap<String, [f64; 24]>);

impl LoadCurves {
    /// The shapes of `data/load-curves.toml`.
    ///
    /// # Errors
    /// [`crate::Error::Topology`] if the shipped file is malformed (a build defect, reported, never a panic).
    pub fn builtin() -> Result<LoadCurves> {
        LoadCurves::from_toml(include_str!("../../data/load-curves.toml"))
    }

    /// Shapes from a file's text: each key an array of 24 shares between 0 and 1.
    ///
    /// # Errors
    /// [`crate::Error::Topology`] naming the shape at fault.
    pub fn from_toml(text: &str) -> Result<LoadCurves> {
        let raw: BTreeMap<String, Vec<f64>> =
            toml::from_str(text).map_err(|e| topology("load curves", e.message().to_owned()))?;
        let mut curves = BTreeMap::new();
        for (name, values) in raw {
            let hours: [f64; 24] = values.try_into().map_err(|v: Vec<f64>| {
                topology(
                    format!("load curve {name:?}"),
                    format!("{} values, not 24", v.len()),
                )
            })?;
            if hours.iter().any(|h| !(0.0..=1.0).contains(h)) {
                return Err(topology(
                    format!("load curve {name:?}"),
                    "shares lie between 0 and 1",
                ));
            }
            curves.insert(name, hours);
        }
        Ok(LoadCurves(curves))
    }

    /// A shape by name.
    pub fn get(&self, name: &str) -> Option<&[f64; 24]> {
        self.0.get(name)
    }
}

/// The share of the peak a shape gives at `seconds_of_day`, interpolated between hours.
pub fn shape_at(hours: &[f64; 24], seconds_of_day: f64) -> f64 {
    let h = (seconds_of_day / 3600.0).rem_euclid(24.0);
    // `h` lies in [0, 24): the floor is a valid hour.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let hour = (h.floor() as usize).min(23);
    let next = if hour == 23 {
        0
    } else {
        hour.saturating_add(1)
    };
    let (a, b) = (
        hours.get(hour).copied().unwrap_or(0.0),
        hours.get(next).copied().unwrap_or(0.0),
    );
    a + (b - a) * (h - h.floor())
}

/// splitmix64: the hash behind the clouds (a value per seed and minute, independent of the step).
fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A number in [0, 1) drawn for `seed` and `index`.
fn draw(seed: u64, index: i64) -> f64 {
    // Reinterpreting the index's bits is the intent: every index draws its own number.
    #[allow(clippy::cast_sign_loss)]
    let bits = splitmix(seed ^ splitmix(index as u64)) >> 11;
    // 53 bits fit an f64 exactly.
    #[allow(clippy::cast_precision_loss)]
    let x = bits as f64;
    x / (1u64 << 53) as f64
}

/// Irradiance on the arrays at `unix_s` (simulated time), W/m²: a clear-sky arc between sunrise and sunset,
/// thinned by a cloud cover that changes smoothly from one five-minute mark to the next, drawn from `seed`.
pub fn irradiance(sun: &Sun, seed: u64, unix_s: f64) -> f64 {
    let hour = (unix_s / 3600.0).rem_euclid(24.0);
    if hour <= sun.sunrise_h || hour >= sun.sunset_h {
        return 0.0;
    }
    let arc =
        ((hour - sun.sunrise_h) / (sun.sunset_h - sun.sunrise_h) * std::f64::consts::PI).sin();
    let clear = sun.peak_w_per_m2 * arc.powf(1.2);
    let mark = unix_s / 300.0;
    // Five-minute marks since the epoch fit an i64 for any simulated date.
    #[allow(clippy::cast_possible_truncation)]
    let k = mark.floor() as i64;
    let (a, b) = (draw(seed, k), draw(seed, k.saturating_add(1)));
    let cover = a + (b - a) * (mark - mark.floor());
    clear * (1.0 - sun.cloudiness * cover)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_shipped_shapes_parse() {
        let c = LoadCurves::builtin().unwrap();
        for name in ["flat", "residential", "commercial", "industrial"] {
            assert!(c.get(name).is_some(), "{name}");
        }
        assert!((shape_at(c.get("residential").unwrap(), 19.0 * 3600.0) - 1.0).abs() < 1e-12);
        // Half past 23:00 lies between 23:00 and midnight.
        let r = c.get("residential").unwrap();
        assert!((shape_at(r, 23.5 * 3600.0) - (r[23] + r[0]) / 2.0).abs() < 1e-12);
    }

    #[test]
    fn a_shape_of_the_wrong_length_is_refused() {
        let e = LoadCurves::from_toml("short = [1.0, 0.5]").unwrap_err();
        assert!(matches!(e, crate::Error::Topology { ref field, .. } if field.contains("short")));
    }

    #[test]
    fn the_sun_is_dark_at_night_and_the_same_for_a_seed() {
        let sun = Sun::default();
        assert_eq!(irradiance(&sun, 7, 2.0 * 3600.0), 0.0);
        let noon = 13.0 * 3600.0;
        assert_eq!(irradiance(&sun, 7, noon), irradiance(&sun, 7, noon));
        assert_ne!(irradiance(&sun, 7, noon), irradiance(&sun, 8, noon));
        let g = irradiance(&sun, 7, noon);
        assert!(g > 650.0 && g <= 1000.0, "{g}");
    }
}
