//! The topology file of a simulated microgrid (TOML): buses, lines, transformers, and the elements on them —
//! loads, PV, diesel/CHP generators, batteries, energy hubs, DER inverters, energy routers, converters
//! (energy ports, rectiverters), meters and relays. Engineering units throughout (kV, Ω, kW, kWh); the
//! model converts to per unit on `base_kva`. See `data/demo-microgrid.toml` for a commented example.

use crate::error::{Result, topology};
use serde::Deserialize;
use std::collections::BTreeSet;

/// Largest number of buses, and of elements of each kind, a topology may hold.
pub const MAX_ITEMS: usize = 65_536;
/// Largest topology file, bytes.
pub const MAX_TOPOLOGY_BYTES: usize = 1 << 20;

/// A microgrid as a topology file describes it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Topology {
    /// A name for displays.
    pub name: String,
    /// Nominal frequency, Hz.
    #[serde(default = "fifty")]
    pub nominal_hz: f64,
    /// The per-unit base, kVA.
    #[serde(default = "hundred")]
    pub base_kva: f64,
    /// The model's step in simulated time, ms: one power flow per step; frequency and protection are
    /// integrated in steps of at most 10 ms inside it.
    #[serde(default = "hundred_ms")]
    pub step_ms: u32,
    /// The day's sun, for PV output.
    #[serde(default)]
    pub sun: Sun,
    /// The public network, if the microgrid has a connection to one.
    #[serde(default)]
    pub grid: Option<GridSpec>,
    /// Buses.
    #[serde(rename = "bus")]
    pub buses: Vec<BusSpec>,
    /// Lines (and DC cables).
    #[serde(rename = "line", default)]
    pub lines: Vec<LineSpec>,
    /// Two-winding transformers.
    #[serde(rename = "transformer", default)]
    pub transformers: Vec<TransformerSpec>,
    /// Loads.
    #[serde(rename = "load", default)]
    pub loads: Vec<LoadSpec>,
    /// PV arrays behind grid-following inverters at unity power factor.
    #[serde(rename = "pv", default)]
    pub pvs: Vec<PvSpec>,
    /// Diesel or CHP generators.
    #[serde(rename = "diesel", default)]
    pub diesels: Vec<DieselSpec>,
    /// Batteries behind grid-following converters.
    #[serde(rename = "battery", default)]
    pub batteries: Vec<StorageSpec>,
    /// Energy hubs: batteries behind grid-forming converters (NG-H1).
    #[serde(rename = "hub", default)]
    pub hubs: Vec<StorageSpec>,
    /// DER inverters with IEEE 1547 functions and a PV array behind them.
    #[serde(rename = "der", default)]
    pub ders: Vec<DerSpec>,
    /// Energy routers (NG-R1..R5).
    #[serde(rename = "router", default)]
    pub routers: Vec<RouterSpec>,
    /// Two-port converters: AC/DC energy ports and rectiverters.
    #[serde(rename = "converter", default)]
    pub converters: Vec<ConverterSpec>,
    /// Meters.
    #[serde(rename = "meter", default)]
    pub meters: Vec<MeterSpec>,
    /// Relays.
    #[serde(rename = "relay", default)]
    pub relays: Vec<RelaySpec>,
}

fn fifty() -> f64 {
    50.0
}
fn hundred() -> f64 {
    100.0
}
fn hundred_ms() -> u32 {
    100
}
fn one() -> f64 {
    1.0
}
fn half() -> f64 {
    0.5
}
fn efficiency() -> f64 {
    0.95
}
fn flat() -> String {
    "flat".into()
}

/// The day's sun: clear-sky irradiance between sunrise and sunset, thinned by clouds drawn from the seed.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sun {
    /// Sunrise, hours after midnight (simulated time, UTC).
    pub sunrise_h: f64,
    /// Sunset, hours after midnight.
    pub sunset_h: f64,
    /// Clear-sky irradiance at solar noon, W/m².
    pub peak_w_per_m2: f64,
    /// How much clouds thin the sun: 0 a clear day, 1 heavy clouds.
    pub cloudiness: f64,
}

impl Default for Sun {
    fn default() -> Sun {
        Sun {
            sunrise_h: 6.0,
            sunset_h: 20.0,
            peak_w_per_m2: 1000.0,
            cloudiness: 0.3,
        }
    }
}

/// The public network's connection.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridSpec {
    /// The bus the network feeds (it holds the voltage there while connected).
    pub bus: String,
    /// The network's voltage, p.u.
    #[serde(default = "one")]
    pub vm_pu: f64,
}

/// A bus.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusSpec {
    /// Its name.
    pub name: String,
    /// Nominal voltage (line to line for AC), kV.
    pub kv: f64,
    /// A DC bus (reactive power is zero on it).
    #[serde(default)]
    pub dc: bool,
}

/// A line or cable.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineSpec {
    /// Its name.
    pub name: String,
    /// From bus.
    pub from: String,
    /// To bus.
    pub to: String,
    /// Series resistance, Ω.
    pub r_ohm: f64,
    /// Series reactance, Ω (0 for DC).
    #[serde(default)]
    pub x_ohm: f64,
}

/// A two-winding transformer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransformerSpec {
    /// Its name.
    pub name: String,
    /// High-voltage side bus.
    pub from: String,
    /// Low-voltage side bus.
    pub to: String,
    /// Rating, kVA.
    pub kva: f64,
    /// Resistance on its own rating, p.u.
    pub r_pu: f64,
    /// Reactance on its own rating, p.u.
    pub x_pu: f64,
}

/// A load.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadSpec {
    /// Its name.
    pub name: String,
    /// Its bus.
    pub bus: String,
    /// Peak demand, kW.
    pub kw: f64,
    /// Power factor (lagging).
    #[serde(default = "one")]
    pub pf: f64,
    /// Daily shape, a name in `data/load-curves.toml`.
    #[serde(default = "flat")]
    pub curve: String,
}

/// A PV array.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PvSpec {
    /// Its name.
    pub name: String,
    /// Its bus.
    pub bus: String,
    /// Peak power at 1000 W/m², kW.
    pub kwp: f64,
}

/// A diesel or CHP generator.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DieselSpec {
    /// Its name.
    pub name: String,
    /// Its bus.
    pub bus: String,
    /// Rating, kW.
    pub kw: f64,
    /// Fastest change of output, kW/s.
    pub ramp_kw_per_s: f64,
    /// Lowest output while running, kW.
    #[serde(default)]
    pub min_kw: f64,
    /// Running from the start at this output, kW (a CHP led by its heat demand); stopped when absent.
    #[serde(default)]
    pub run_kw: Option<f64>,
}

/// A battery (grid-following) or an energy hub (grid-forming).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSpec {
    /// Its name.
    pub name: String,
    /// Its bus.
    pub bus: String,
    /// Converter rating, kW (charge and discharge).
    pub kw: f64,
    /// Usable capacity, kWh.
    pub kwh: f64,
    /// One-way efficiency (charging and discharging each).
    #[serde(default = "efficiency")]
    pub efficiency: f64,
    /// State of charge at the start, 0–1.
    #[serde(default = "half")]
    pub soc: f64,
    /// Fastest change of its output when following a setpoint, kW/s (absent: at once).
    #[serde(default)]
    pub ramp_kw_per_s: Option<f64>,
    /// A hub's connection sensor: the meter at its cell's connection (one measuring a line or transformer),
    /// whose flow the hub can hold at a setpoint (SunSpec 64901 `ConnCtl`, NG-P1). Absent: it has none.
    /// Batteries have none.
    #[serde(default)]
    pub connection_meter: Option<String>,
}

/// A DER inverter with a PV array.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DerSpec {
    /// Its name.
    pub name: String,
    /// Its bus.
    pub bus: String,
    /// Inverter rating, kVA (also its active power rating, kW).
    pub kva: f64,
    /// PV array behind it, kWp.
    pub kwp: f64,
}

/// An energy router.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouterSpec {
    /// Its name.
    pub name: String,
    /// The bus of each port; the first faces the public network.
    pub ports: Vec<String>,
    /// Rating, kVA.
    pub kva: f64,
    /// Efficiency of one conversion (a flow through the router passes two).
    #[serde(default = "efficiency")]
    pub efficiency: f64,
    /// Microgrid port buses where the router forms the island's voltage from the network (V/f control)
    /// when nothing else does; their setpoints are then not used: they carry what the island needs.
    #[serde(default)]
    pub forms: Vec<String>,
}

/// A two-port converter: it moves its setpoint from the `from` bus into the `to` bus, with losses.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConverterSpec {
    /// Its name.
    pub name: String,
    /// One side's bus.
    pub from: String,
    /// The other side's bus.
    pub to: String,
    /// Rating, kW.
    pub kw: f64,
    /// Efficiency of the conversion.
    #[serde(default = "efficiency")]
    pub efficiency: f64,
    /// Fastest change of its flow, kW/s (absent: at once).
    #[serde(default)]
    pub ramp_kw_per_s: Option<f64>,
}

/// A meter: on a branch (positive flow from its `from` bus to its `to` bus is import) or on an element
/// (what the element takes from its bus is import, what it gives is export).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeterSpec {
    /// Its name.
    pub name: String,
    /// The line or transformer it measures.
    #[serde(default)]
    pub branch: Option<String>,
    /// The element it measures.
    #[serde(default)]
    pub element: Option<String>,
}

/// A relay with an inverse-time overcurrent element in front of one element.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelaySpec {
    /// Its name.
    pub name: String,
    /// The element it connects to its bus.
    pub element: String,
    /// The characteristic, a name of `ng-control/data/inverse-time-curves.toml` (`iec-standard-inverse`…).
    pub curve: String,
    /// Pickup current, A.
    pub pickup_a: f64,
    /// Time multiplier (IEC) or time dial (IEEE).
    pub multiplier: f64,
}

/// The built-in topologies: name and text.
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "demo-microgrid",
        include_str!("../../data/demo-microgrid.toml"),
    ),
    ("router-bench", include_str!("../../data/router-bench.toml")),
];

impl Topology {
    /// Reads a topology file's text and checks it ([`Topology::check`]).
    ///
    /// # Errors
    /// [`crate::Error::Topology`] with the key at fault.
    pub fn from_toml(text: &str) -> Result<Topology> {
        if text.len() > MAX_TOPOLOGY_BYTES {
            return Err(topology(
                "file",
                format!("{} bytes, more than {MAX_TOPOLOGY_BYTES}", text.len()),
            ));
        }
        let t: Topology = toml::from_str(text).map_err(|e| {
            let field = e.span().map_or_else(
                || "file".to_owned(),
                |s| format!("bytes {}..{}", s.start, s.end),
            );
            topology(field, e.message().to_owned())
        })?;
        t.check()?;
        Ok(t)
    }

    /// A built-in topology by name ([`BUILTIN`]).
    ///
    /// # Errors
    /// [`crate::Error::Topology`] for an unknown name.
    pub fn builtin(name: &str) -> Result<Topology> {
        let (_, text) = BUILTIN.iter().find(|(n, _)| *n == name).ok_or_else(|| {
            let known: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
            topology(
                "name",
                format!("no built-in topology {name:?} (have: {known:?})"),
            )
        })?;
        Topology::from_toml(text)
    }

    /// The names of every element (loads, sources, storage, DERs, routers, converters), in file order.
    pub fn element_names(&self) -> impl Iterator<Item = &str> {
        self.loads
            .iter()
            .map(|x| x.name.as_str())
            .chain(self.pvs.iter().map(|x| x.name.as_str()))
            .chain(self.diesels.iter().map(|x| x.name.as_str()))
            .chain(self.batteries.iter().map(|x| x.name.as_str()))
            .chain(self.hubs.iter().map(|x| x.name.as_str()))
            .chain(self.ders.iter().map(|x| x.name.as_str()))
            .chain(self.routers.iter().map(|x| x.name.as_str()))
            .chain(self.converters.iter().map(|x| x.name.as_str()))
    }

    /// Checks names, references and values: unique names, known buses and curves, positive ratings, values
    /// in range, one meter target each.
    ///
    /// # Errors
    /// [`crate::Error::Topology`] naming the first problem.
    pub fn check(&self) -> Result<()> {
        let positive = |field: String, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(topology(field, format!("{v} is not a positive number")))
            }
        };
        let share = |field: String, v: f64| {
            if (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                Err(topology(field, format!("{v} is not between 0 and 1")))
            }
        };
        positive("nominal_hz".into(), self.nominal_hz)?;
        positive("base_kva".into(), self.base_kva)?;
        if !(1..=60_000).contains(&self.step_ms) {
            return Err(topology("step_ms", "between 1 and 60000 ms"));
        }
        let sun = &self.sun;
        if !(0.0 <= sun.sunrise_h && sun.sunrise_h < sun.sunset_h && sun.sunset_h <= 24.0) {
            return Err(topology(
                "sun",
                "sunrise before sunset, both within the day",
            ));
        }
        share("sun.cloudiness".into(), sun.cloudiness)?;
        if !(sun.peak_w_per_m2.is_finite() && sun.peak_w_per_m2 >= 0.0) {
            return Err(topology("sun.peak_w_per_m2", "not a number of W/m²"));
        }
        let counts = [
            ("bus", self.buses.len()),
            ("line", self.lines.len()),
            ("transformer", self.transformers.len()),
            ("load", self.loads.len()),
            ("pv", self.pvs.len()),
            ("diesel", self.diesels.len()),
            ("battery", self.batteries.len()),
            ("hub", self.hubs.len()),
            ("der", self.ders.len()),
            ("router", self.routers.len()),
            ("converter", self.converters.len()),
            ("meter", self.meters.len()),
            ("relay", self.relays.len()),
        ];
        for (kind, n) in counts {
            if n > MAX_ITEMS {
                return Err(topology(
                    kind,
                    format!("{n} entries, more than {MAX_ITEMS}"),
                ));
            }
        }
        if self.buses.is_empty() {
            return Err(topology("bus", "a microgrid has at least one bus"));
        }
        let mut buses = BTreeSet::new();
        for b in &self.buses {
            positive(format!("bus {:?}.kv", b.name), b.kv)?;
            if !buses.insert(b.name.as_str()) {
                return Err(topology(format!("bus {:?}", b.name), "appears twice"));
            }
        }
        let bus = |field: String, name: &str| {
            if buses.contains(name) {
                Ok(())
            } else {
                Err(topology(field, format!("no bus {name:?}")))
            }
        };
        if let Some(g) = &self.grid {
            bus("grid.bus".into(), &g.bus)?;
            if !(0.5..=1.5).contains(&g.vm_pu) {
                return Err(topology(
                    "grid.vm_pu",
                    format!("{} p.u. is not a voltage", g.vm_pu),
                ));
            }
        }
        let mut branches = BTreeSet::new();
        for l in &self.lines {
            let f = format!("line {:?}", l.name);
            bus(format!("{f}.from"), &l.from)?;
            bus(format!("{f}.to"), &l.to)?;
            positive(format!("{f}.r_ohm"), l.r_ohm)?;
            if !(l.x_ohm.is_finite() && l.x_ohm >= 0.0) || l.from == l.to {
                return Err(topology(f, "a line joins two buses with x_ohm ≥ 0"));
            }
            if !branches.insert(l.name.as_str()) {
                return Err(topology(f, "name used twice"));
            }
        }
        for t in &self.transformers {
            let f = format!("transformer {:?}", t.name);
            bus(format!("{f}.from"), &t.from)?;
            bus(format!("{f}.to"), &t.to)?;
            positive(format!("{f}.kva"), t.kva)?;
            positive(format!("{f}.x_pu"), t.x_pu)?;
            if !(t.r_pu.is_finite() && t.r_pu >= 0.0) || t.from == t.to {
                return Err(topology(f, "a transformer joins two buses with r_pu ≥ 0"));
            }
            if !branches.insert(t.name.as_str()) {
                return Err(topology(f, "name used twice"));
            }
        }
        let curves = crate::grid::curves::LoadCurves::builtin()?;
        for l in &self.loads {
            let f = format!("load {:?}", l.name);
            bus(format!("{f}.bus"), &l.bus)?;
            positive(format!("{f}.kw"), l.kw)?;
            if !(l.pf > 0.0 && l.pf <= 1.0) {
                return Err(topology(format!("{f}.pf"), "a power factor is in (0, 1]"));
            }
            if curves.get(&l.curve).is_none() {
                return Err(topology(
                    format!("{f}.curve"),
                    format!("no curve {:?}", l.curve),
                ));
            }
        }
        for p in &self.pvs {
            bus(format!("pv {:?}.bus", p.name), &p.bus)?;
            positive(format!("pv {:?}.kwp", p.name), p.kwp)?;
        }
        for d in &self.diesels {
            let f = format!("diesel {:?}", d.name);
            bus(format!("{f}.bus"), &d.bus)?;
            positive(format!("{f}.kw"), d.kw)?;
            positive(format!("{f}.ramp_kw_per_s"), d.ramp_kw_per_s)?;
            if !(0.0..=d.kw).contains(&d.min_kw) {
                return Err(topology(format!("{f}.min_kw"), "between 0 and kw"));
            }
            if d.run_kw.is_some_and(|r| !(d.min_kw..=d.kw).contains(&r)) {
                return Err(topology(format!("{f}.run_kw"), "between min_kw and kw"));
            }
        }
        for (kind, list) in [("battery", &self.batteries), ("hub", &self.hubs)] {
            for s in list {
                let f = format!("{kind} {:?}", s.name);
                bus(format!("{f}.bus"), &s.bus)?;
                positive(format!("{f}.kw"), s.kw)?;
                positive(format!("{f}.kwh"), s.kwh)?;
                positive(format!("{f}.efficiency"), s.efficiency)?;
                share(format!("{f}.efficiency"), s.efficiency)?;
                share(format!("{f}.soc"), s.soc)?;
                if let Some(r) = s.ramp_kw_per_s {
                    positive(format!("{f}.ramp_kw_per_s"), r)?;
                }
                if let Some(m) = &s.connection_meter {
                    if kind != "hub" {
                        return Err(topology(
                            format!("{f}.connection_meter"),
                            "only a hub has a connection sensor",
                        ));
                    }
                    match self.meters.iter().find(|x| x.name == *m) {
                        Some(x) if x.branch.is_some() => {}
                        Some(_) => {
                            return Err(topology(
                                format!("{f}.connection_meter"),
                                "a meter of a line or transformer",
                            ));
                        }
                        None => {
                            return Err(topology(format!("{f}.connection_meter"), "no such meter"));
                        }
                    }
                }
            }
        }
        for d in &self.ders {
            let f = format!("der {:?}", d.name);
            bus(format!("{f}.bus"), &d.bus)?;
            positive(format!("{f}.kva"), d.kva)?;
            if !(d.kwp.is_finite() && d.kwp >= 0.0) {
                return Err(topology(format!("{f}.kwp"), "not a number of kWp"));
            }
        }
        for r in &self.routers {
            let f = format!("router {:?}", r.name);
            if r.ports.len() < 2 || r.ports.len() > 16 {
                return Err(topology(format!("{f}.ports"), "a router has 2 to 16 ports"));
            }
            for p in &r.ports {
                bus(format!("{f}.ports"), p)?;
            }
            if let Some(p) = r
                .forms
                .iter()
                .find(|p| !r.ports.iter().skip(1).any(|q| q == *p))
            {
                return Err(topology(
                    format!("{f}.forms"),
                    format!("{p:?} is not a microgrid port"),
                ));
            }
            positive(format!("{f}.kva"), r.kva)?;
            positive(format!("{f}.efficiency"), r.efficiency)?;
            share(format!("{f}.efficiency"), r.efficiency)?;
        }
        for c in &self.converters {
            let f = format!("converter {:?}", c.name);
            bus(format!("{f}.from"), &c.from)?;
            bus(format!("{f}.to"), &c.to)?;
            positive(format!("{f}.kw"), c.kw)?;
            positive(format!("{f}.efficiency"), c.efficiency)?;
            share(format!("{f}.efficiency"), c.efficiency)?;
            if let Some(r) = c.ramp_kw_per_s {
                positive(format!("{f}.ramp_kw_per_s"), r)?;
            }
        }
        let mut elements = BTreeSet::new();
        for name in self.element_names() {
            if !elements.insert(name) {
                return Err(topology(format!("element {name:?}"), "name used twice"));
            }
        }
        // Meters and relays sit in front of single-bus elements (not routers or converters).
        let single: BTreeSet<&str> = self
            .element_names()
            .filter(|n| {
                !self.routers.iter().any(|r| r.name == *n)
                    && !self.converters.iter().any(|c| c.name == *n)
            })
            .collect();
        let mut meters = BTreeSet::new();
        for m in &self.meters {
            let f = format!("meter {:?}", m.name);
            match (&m.branch, &m.element) {
                (Some(b), None) if branches.contains(b.as_str()) => {}
                (None, Some(e)) if single.contains(e.as_str()) => {}
                (Some(b), None) => {
                    return Err(topology(format!("{f}.branch"), format!("no branch {b:?}")));
                }
                (None, Some(e)) => {
                    return Err(topology(
                        format!("{f}.element"),
                        format!("no element {e:?}"),
                    ));
                }
                _ => return Err(topology(f, "a meter has either a branch or an element")),
            }
            if !meters.insert(m.name.as_str()) {
                return Err(topology(f, "name used twice"));
            }
        }
        let mut relays = BTreeSet::new();
        for r in &self.relays {
            let f = format!("relay {:?}", r.name);
            if !single.contains(r.element.as_str()) {
                return Err(topology(
                    format!("{f}.element"),
                    format!("no element {:?}", r.element),
                ));
            }
            if ng_control::protection::Curve::from_name(&r.curve).is_none() {
                return Err(topology(
                    format!("{f}.curve"),
                    format!("no curve {:?}", r.curve),
                ));
            }
            positive(format!("{f}.pickup_a"), r.pickup_a)?;
            positive(format!("{f}.multiplier"), r.multiplier)?;
            if !relays.insert(r.name.as_str()) {
                return Err(topology(f, "name used twice"));
            }
        }
        Ok(())
    }
}
