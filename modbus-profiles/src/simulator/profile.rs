//! IDEA device profiles as data: which SunSpec (and IDEA vendor) models a device holds, their initial
//! values, and the behaviour behind its registers. The shipped profiles are JSON files in `profiles/`.

use crate::Error;
use serde::Deserialize;
use std::collections::BTreeMap;

/// A point of a device: model id and path inside it, written `"701.W"` or `"705.Crv[0].Pt[1].V"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PointRef {
    /// The model id.
    pub model: u16,
    /// The point's path in the model.
    pub path: String,
}

impl PointRef {
    /// Reads `"MODEL.PATH"`.
    ///
    /// # Errors
    /// [`Error::Invalid`] when there is no model id before the first dot.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let (model, path) = text
            .split_once('.')
            .and_then(|(m, p)| Some((m.parse().ok()?, p)))
            .ok_or_else(|| Error::Invalid {
                field: "point",
                reason: format!("{text:?} is not MODEL.PATH"),
            })?;
        Ok(Self {
            model,
            path: path.to_owned(),
        })
    }
}

/// A bound: a number, or a point's value (negated with a leading `-`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Bound {
    /// A fixed engineering value.
    Value(f64),
    /// `"701.WMaxRtg"` or `"-64901.WMaxChaRte"`.
    Point(String),
}

/// One model of a profile.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// The model id.
    pub id: u16,
    /// Counts of repeating groups (`NCrv`, `NPt`, `NPrt`, …).
    #[serde(default)]
    pub counts: BTreeMap<String, u16>,
    /// Initial values by path: numbers are engineering values (scale factors applied), strings are text.
    #[serde(default)]
    pub values: BTreeMap<String, serde_json::Value>,
}

/// A measurement that follows a setpoint within limits.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Follow {
    /// The setpoint, `"64902.WSet"`.
    pub setpoint: String,
    /// The measurement moved, `"64902.W"`.
    pub measurement: String,
    /// Lowest value the measurement reaches.
    #[serde(default)]
    pub min: Option<Bound>,
    /// Highest value the measurement reaches.
    #[serde(default)]
    pub max: Option<Bound>,
    /// First-order time constant in seconds; 0 moves at once.
    #[serde(default)]
    pub tau_s: f64,
    /// Further points set to the same value scaled by a factor (`[["64902.ADC", 0.0208]]`).
    #[serde(default)]
    pub also: Vec<(String, f64)>,
}

/// Bounds a written value must respect, or the write is refused with exception 3.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    /// The point.
    pub point: String,
    /// Lowest accepted value.
    #[serde(default)]
    pub min: Option<Bound>,
    /// Highest accepted value.
    #[serde(default)]
    pub max: Option<Bound>,
}

/// Setpoints return to defaults when no setpoint has been written for a timeout.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reversion {
    /// The timeout in seconds (0 disables), `"64902.RvrtTms"`.
    pub timeout: String,
    /// Seconds remaining, counted down, `"64902.RvrtRem"`.
    pub remaining: String,
    /// The setpoints and the defaults they return to.
    pub defaults: BTreeMap<String, f64>,
    /// A state point and the value it takes on reversion (`["64902.St", 3]`).
    #[serde(default)]
    pub state: Option<(String, f64)>,
}

/// Curve or control adoption in the SunSpec 7xx style (volt-var 705's curves, frequency-droop 711's controls):
/// the first curve or control of the model is the active one (read-only to clients); writing another's index
/// (from 1) to the adoption request copies it into the active one and reports the result. What follows the
/// active curve is the device's physics (the grid model's DER in `idea-sim`), not the register map.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CurveAdoption {
    /// The model, `705`.
    pub model: u16,
    /// The repeating group of curves or controls: `"Crv"` (the default) or `"Ctl"` (711).
    #[serde(default = "curve_group")]
    pub group: String,
    /// The adoption request, `"705.AdptCrvReq"`.
    pub request: String,
    /// The adoption result, `"705.AdptCrvRslt"` (1 completed, 2 failed).
    pub result: String,
    /// The number of curves, `"705.NCrv"`.
    pub curves: String,
    /// The number of point slots of a curve, `"705.NPt"` (none for 711's controls).
    #[serde(default)]
    pub point_slots: Option<String>,
    /// A curve's own points copied on adoption (`["ActPt", "DeptRef", "Pri", "VRef", "RspTms"]`).
    pub curve_points: Vec<String>,
    /// The points of each of a curve's point slots copied on adoption (`["V", "Var"]`).
    #[serde(default)]
    pub slot_points: Vec<String>,
}

fn curve_group() -> String {
    "Crv".to_owned()
}

/// A quantity integrated over time into another (a battery's state of charge).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Integrate {
    /// The rate, `"64901.W"` (W).
    pub rate: String,
    /// The point integrated into, `"64901.SoC"` (%).
    pub into: String,
    /// Units of `into` per unit of `rate` per second (for SoC in % from W: −100 / (3600 × Wh rating)).
    pub gain: f64,
    /// Lowest value of `into`.
    pub min: f64,
    /// Highest value of `into`.
    pub max: f64,
}

/// A device profile.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The name `idea serve` knows it by (`modbus-der`).
    pub name: String,
    /// What the device is.
    pub description: String,
    /// Requirement ids the profile serves.
    #[serde(default)]
    pub requirements: Vec<String>,
    /// Device identification objects 0 (vendor), 1 (product code), 2 (revision).
    pub identification: [String; 3],
    /// Its models, in map order (model 1 first).
    pub models: Vec<ModelSpec>,
    /// Measurements following setpoints.
    #[serde(default)]
    pub follow: Vec<Follow>,
    /// Bounds on written values.
    #[serde(default)]
    pub limits: Vec<Limit>,
    /// Reversion of setpoints.
    #[serde(default)]
    pub reversion: Option<Reversion>,
    /// Integrations over time.
    #[serde(default)]
    pub integrate: Vec<Integrate>,
    /// Curve adoption (volt-var).
    #[serde(default)]
    pub curve_adoption: Vec<CurveAdoption>,
}

/// The shipped profiles: (name, JSON text).
pub const SHIPPED: &[(&str, &str)] = &[
    ("modbus-router", include_str!("../../profiles/router.json")),
    ("modbus-hub", include_str!("../../profiles/hub.json")),
    ("modbus-port", include_str!("../../profiles/port.json")),
    (
        "modbus-rectiverter",
        include_str!("../../profiles/rectiverter.json"),
    ),
    ("modbus-meter", include_str!("../../profiles/meter.json")),
    ("modbus-relay", include_str!("../../profiles/relay.json")),
    ("modbus-der", include_str!("../../profiles/der.json")),
];

impl Profile {
    /// Reads a profile from JSON; `source` names it in errors.
    ///
    /// # Errors
    /// [`Error::Model`] naming the source and what is wrong.
    pub fn from_json(source: &str, text: &str) -> Result<Self, Error> {
        serde_json::from_str(text).map_err(|e| Error::Model {
            file: source.to_owned(),
            point: format!("line {} column {}", e.line(), e.column()),
            reason: e.to_string(),
        })
    }

    /// A shipped profile by name (`modbus-der`, …).
    ///
    /// # Errors
    /// [`Error::Invalid`] for a name no profile has.
    pub fn builtin(name: &str) -> Result<Self, Error> {
        let (_, text) = SHIPPED
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| Error::Invalid {
                field: "profile",
                reason: format!(
                    "no profile {name:?}; known: {}",
                    SHIPPED
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })?;
        Self::from_json(name, text)
    }
}
