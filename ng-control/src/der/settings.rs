//! The IEEE 1547-2018 defaults and ranges of `data/ieee1547-2018.toml`, parsed once.

use super::ride_through::{Region, RideThroughTable};
use super::{Category, Curve, PerformanceCategory, TripSetting};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

const FILE: &str = include_str!("../../data/ieee1547-2018.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct File {
    volt_var: BTreeMap<String, XyCurve<VoltQ>>,
    watt_var: BTreeMap<String, XyCurve<WattQ>>,
    volt_watt: BTreeMap<String, XyCurve<VoltP>>,
    reactive_capability: BTreeMap<String, Capability>,
    frequency_droop: Droop,
    voltage_trip: BTreeMap<String, VoltageTrips>,
    frequency_trip: FrequencyTrips,
    rocof_ride_through_hz_per_s: BTreeMap<String, f64>,
    voltage_ride_through: BTreeMap<String, RawRideThrough>,
    frequency_ride_through: RawFrequencyRideThrough,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRideThrough {
    continuous_pu: [f64; 2],
    regions: Vec<Region>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFrequencyRideThrough {
    continuous_hz: [f64; 2],
    regions: Vec<Region>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct XyCurve<T> {
    #[serde(flatten)]
    xy: T,
    response_time_s: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct VoltQ {
    v_pu: Vec<f64>,
    q_pu: Vec<f64>,
}

#[derive(Debug, Deserialize)]
struct WattQ {
    p_pu: Vec<f64>,
    q_pu: Vec<f64>,
}

#[derive(Debug, Deserialize)]
struct VoltP {
    v_pu: Vec<f64>,
    p_pu: Vec<f64>,
}

/// Reactive capability at rated active power, per unit of Srated.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capability {
    /// Reactive power the DER can inject.
    pub injection_pu: f64,
    /// Reactive power the DER can absorb.
    pub absorption_pu: f64,
}

/// Frequency-droop (frequency-watt) settings.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Droop {
    /// One-sided deadband around nominal, Hz (at 60 Hz in the data file).
    pub deadband_hz: f64,
    /// Per-unit frequency change for a change of 1 p.u. of active power (0.05 = 5 %).
    pub droop: f64,
    /// Open-loop response time, s.
    pub response_time_s: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VoltageTrips {
    ov2: RawTrip,
    ov1: RawTrip,
    uv1: RawTrip,
    uv2: RawTrip,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FrequencyTrips {
    of2: RawFrequencyTrip,
    of1: RawFrequencyTrip,
    uf1: RawFrequencyTrip,
    uf2: RawFrequencyTrip,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrip {
    pu: f64,
    s: f64,
    pu_range: [f64; 2],
    s_range: [f64; 2],
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFrequencyTrip {
    hz: f64,
    s: f64,
    hz_range: [f64; 2],
    s_range: [f64; 2],
}

impl RawTrip {
    fn setting(&self, name: &'static str, over: bool) -> TripSetting {
        TripSetting {
            name,
            over,
            threshold: self.pu,
            clearing_time_s: self.s,
            threshold_range: self.pu_range,
            clearing_time_range_s: self.s_range,
        }
    }
}

impl RawFrequencyTrip {
    fn setting(&self, name: &'static str, over: bool) -> TripSetting {
        TripSetting {
            name,
            over,
            threshold: self.hz,
            clearing_time_s: self.s,
            threshold_range: self.hz_range,
            clearing_time_range_s: self.s_range,
        }
    }
}

/// The parsed file; the test `der::tests::the_data_file_parses` proves it parses.
pub(super) fn file() -> &'static File {
    static PARSED: OnceLock<File> = OnceLock::new();
    PARSED.get_or_init(|| match toml::from_str(FILE) {
        Ok(f) => f,
        #[allow(clippy::panic)]
        Err(e) => panic!("data/ieee1547-2018.toml is invalid: {e}"),
    })
}

fn key(c: Category) -> &'static str {
    match c {
        Category::A => "A",
        Category::B => "B",
    }
}

fn aop_key(c: PerformanceCategory) -> &'static str {
    match c {
        PerformanceCategory::I => "I",
        PerformanceCategory::II => "II",
        PerformanceCategory::III => "III",
    }
}

impl File {
    pub(super) fn volt_var(&self, c: Category) -> (Curve, f64) {
        let e = &self.volt_var[key(c)];
        (
            Curve::from_data(&e.xy.v_pu, &e.xy.q_pu),
            e.response_time_s.unwrap_or(f64::NAN),
        )
    }

    pub(super) fn watt_var(&self, c: Category) -> Curve {
        let e = &self.watt_var[key(c)];
        Curve::from_data(&e.xy.p_pu, &e.xy.q_pu)
    }

    pub(super) fn volt_watt(&self, c: Category) -> (Curve, f64) {
        let e = &self.volt_watt[key(c)];
        (
            Curve::from_data(&e.xy.v_pu, &e.xy.p_pu),
            e.response_time_s.unwrap_or(f64::NAN),
        )
    }

    pub(super) fn capability(&self, c: Category) -> Capability {
        self.reactive_capability[key(c)]
    }

    pub(super) fn droop(&self) -> Droop {
        self.frequency_droop
    }

    pub(super) fn voltage_trips(&self, c: PerformanceCategory) -> [TripSetting; 4] {
        let t = &self.voltage_trip[aop_key(c)];
        [
            t.ov2.setting("OV2", true),
            t.ov1.setting("OV1", true),
            t.uv1.setting("UV1", false),
            t.uv2.setting("UV2", false),
        ]
    }

    pub(super) fn frequency_trips(&self) -> [TripSetting; 4] {
        let t = &self.frequency_trip;
        [
            t.of2.setting("OF2", true),
            t.of1.setting("OF1", true),
            t.uf1.setting("UF1", false),
            t.uf2.setting("UF2", false),
        ]
    }

    pub(super) fn voltage_ride_through(&self, c: PerformanceCategory) -> RideThroughTable {
        let t = &self.voltage_ride_through[aop_key(c)];
        RideThroughTable {
            continuous: t.continuous_pu,
            regions: t.regions.clone(),
        }
    }

    pub(super) fn frequency_ride_through(&self) -> RideThroughTable {
        let t = &self.frequency_ride_through;
        RideThroughTable {
            continuous: t.continuous_hz,
            regions: t.regions.clone(),
        }
    }

    pub(super) fn rocof(&self, c: PerformanceCategory) -> f64 {
        self.rocof_ride_through_hz_per_s[aop_key(c)]
    }
}
