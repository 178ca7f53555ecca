//! What a run is built on: the plant's topology, each cell's owner settings, the loads the load-shedding
//! service may open, and the cadence the conductor keeps. Either the demonstration complex of the reference
//! scenarios (`data/complex.toml`, `data/cells/`, `data/load-shedding.toml`), or a generated feeder of N cells
//! for the scale run (`idea demo --cells N`), each generated cell a copy of one of the complex's four in turn,
//! renamed.

use crate::error::{Error, Result};
use idea_agent::OwnerSettings;
use idea_agent::load_shedding::{SheddableLoad, loads_from_toml};
use idea_proto::Duration;
use idea_sim::grid::Topology;
use idea_sim::grid::topology::{BusSpec, LineSpec, MeterSpec};
use std::collections::BTreeMap;

/// The complex's topology (`data/complex.toml`).
const COMPLEX_TOPOLOGY: &str = include_str!("../data/complex.toml");
/// The loads the load-shedding service may open in the complex (`data/load-shedding.toml`).
const COMPLEX_LOADS: &str = include_str!("../data/load-shedding.toml");
/// The owner settings of the complex's cells (`data/cells/`), by cell bus.
const COMPLEX_SETTINGS: &[(&str, &str)] = &[
    ("cell1", include_str!("../data/cells/cell1.toml")),
    ("cell2", include_str!("../data/cells/cell2.toml")),
    ("cell3", include_str!("../data/cells/cell3.toml")),
    ("cell4", include_str!("../data/cells/cell4.toml")),
    ("cell5", include_str!("../data/cells/cell5.toml")),
];

/// The most cells a generated feeder holds.
pub const MAX_CELLS: usize = 10_000;
/// The generated feeder's step, s: the model and the agents' deadlines move once a simulated minute (the
/// reference complex every ten seconds, to show its control), each hub holding its cell's connection at every
/// model step. Coarser steps were measured and refused when the links still closed the loop over Modbus: at
/// 180 s or 300 s each link held its contracted flow a step late after the loads changed, and a third to a
/// half of the money settled went to penalties; a step must also divide the settlement period, or flows
/// start late.
pub(crate) const FEEDER_STEP_S: u32 = 60;
/// Cells along one lateral of a generated feeder.
const CELLS_PER_LATERAL: usize = 10;
/// The router's rating per generated cell, kVA (the complex's 25 kVA for four cells).
const ROUTER_KVA_PER_CELL: f64 = 6.25;

/// What a run is built on.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    /// The plant's topology.
    pub(crate) topology: Topology,
    /// Each cell's owner settings (TOML), by bus.
    settings: BTreeMap<String, String>,
    /// The loads the load-shedding service may open.
    pub(crate) loads: Vec<SheddableLoad>,
    /// Between control steps: devices read and driven, deadlines handled.
    pub(crate) control_step: Duration,
    /// Whether every cell's link is stepped at every control step (its meter and hub read): the reference
    /// complex does, to show its devices live; a generated feeder steps a link only when its hub must be told
    /// a new setpoint or a device tried again, and at each period boundary for the readings the owners order
    /// from — its hubs hold their connections themselves (NG-P1).
    pub(crate) links_every_step: bool,
    /// Between a meter gateway's signed readings.
    pub(crate) reading_every: Duration,
}

fn data(file: &str, reason: impl std::fmt::Display) -> Error {
    Error::Data {
        file: file.into(),
        reason: reason.to_string(),
    }
}

/// Copies the elements of `template` that `on` takes onto `out`, each changed by `moved` (renamed onto its
/// new cell's bus).
fn copy_onto<T: Clone>(
    template: &[T],
    out: &mut Vec<T>,
    on: impl Fn(&T) -> bool,
    moved: impl Fn(&mut T),
) {
    for element in template.iter().filter(|e| on(e)) {
        let mut element = element.clone();
        moved(&mut element);
        out.push(element);
    }
}

impl Layout {
    /// The energy router's rating, kVA (the largest router's, 0 without one).
    pub(crate) fn router_kva(&self) -> f64 {
        self.topology
            .routers
            .iter()
            .map(|r| r.kva)
            .fold(0.0, f64::max)
    }

    /// The largest energy hub's converter rating, kW.
    pub(crate) fn hub_kw(&self) -> f64 {
        self.topology.hubs.iter().map(|h| h.kw).fold(0.0, f64::max)
    }

    /// The demonstration complex: readings every minute, control every 10 s, the model in 100 ms steps.
    pub(crate) fn complex() -> Result<Layout> {
        Ok(Layout {
            topology: Topology::from_toml(COMPLEX_TOPOLOGY)
                .map_err(|e| data("data/complex.toml", e))?,
            settings: COMPLEX_SETTINGS
                .iter()
                .map(|(b, t)| ((*b).to_owned(), (*t).to_owned()))
                .collect(),
            loads: loads_from_toml(COMPLEX_LOADS)
                .map_err(|e| data("data/load-shedding.toml", e))?,
            control_step: Duration::from_secs(10),
            links_every_step: true,
            reading_every: Duration::from_secs(60),
        })
    }

    /// A generated feeder of `cells` cells (`cell1`…): from the common bus behind the router, laterals of ten
    /// junctions, each junction feeding one cell over its service cable. Cell `k` is a copy of the complex's
    /// cell `(k − 1) mod 4 + 1` — its source, three loads with their meters and relays, its hub and
    /// connection meter, its owner's settings — renamed. Grid-connected only (no DC mesh): the model steps
    /// once a minute, each hub holds its connection itself, the links read the devices at period boundaries
    /// (and tell a hub a setpoint when it starts or lapses), the gateways sign a reading per period.
    pub(crate) fn feeder(cells: usize) -> Result<Layout> {
        if !(1..=MAX_CELLS).contains(&cells) {
            return Err(crate::error::usage(
                "--cells",
                format!("{cells}: between 1 and {MAX_CELLS}"),
            ));
        }
        let complex = Layout::complex()?;
        let template = &complex.topology;
        let mut t = Topology {
            name: format!("a generated feeder of {cells} cells (idea demo --cells)"),
            step_ms: FEEDER_STEP_S.saturating_mul(1000),
            buses: template
                .buses
                .iter()
                .filter(|b| b.name == "network" || b.name == "common")
                .cloned()
                .collect(),
            lines: Vec::new(),
            loads: Vec::new(),
            pvs: Vec::new(),
            diesels: Vec::new(),
            hubs: Vec::new(),
            routers: template.routers.clone(),
            converters: Vec::new(),
            meters: Vec::new(),
            relays: Vec::new(),
            ..template.clone()
        };
        for r in &mut t.routers {
            // Cells × 6.25 kVA: as much per cell as the complex's router.
            #[allow(clippy::cast_precision_loss)]
            let kva = ROUTER_KVA_PER_CELL * cells as f64;
            r.kva = r.kva.max(kva);
        }
        let mut settings = BTreeMap::new();
        let mut loads = Vec::new();
        for (index, k) in (1..=cells).enumerate() {
            let of = index.checked_rem(4).unwrap_or(0).saturating_add(1);
            let (from, to) = (format!("cell{of}"), format!("cell{k}"));
            let lateral = index.checked_div(CELLS_PER_LATERAL).unwrap_or(0);
            let position = index.checked_rem(CELLS_PER_LATERAL).unwrap_or(0);
            let junction = format!("lat{lateral}.{position}");
            let upstream = match position.checked_sub(1) {
                None => "common".to_owned(),
                Some(before) => format!("lat{lateral}.{before}"),
            };
            for bus in [&junction, &to] {
                t.buses.push(BusSpec {
                    name: bus.clone(),
                    kv: 0.4,
                    dc: false,
                });
            }
            t.lines.push(LineSpec {
                name: junction.clone(),
                from: upstream,
                to: junction.clone(),
                r_ohm: 0.003,
                x_ohm: 0.001,
            });
            let service = template
                .lines
                .iter()
                .find(|l| l.to == from)
                .ok_or_else(|| data("data/complex.toml", format!("no line to {from}")))?;
            t.lines.push(LineSpec {
                name: format!("feeder{k}"),
                from: junction,
                to: to.clone(),
                ..service.clone()
            });
            let rename = |name: &str| name.replacen(&format!("{from}."), &format!("{to}."), 1);
            let mine = |name: &str| name.starts_with(&format!("{from}."));
            copy_onto(
                &template.loads,
                &mut t.loads,
                |l| l.bus == from,
                |l| {
                    l.name = rename(&l.name);
                    l.bus.clone_from(&to);
                },
            );
            copy_onto(
                &template.pvs,
                &mut t.pvs,
                |p| p.bus == from,
                |p| {
                    p.name = rename(&p.name);
                    p.bus.clone_from(&to);
                },
            );
            copy_onto(
                &template.diesels,
                &mut t.diesels,
                |d| d.bus == from,
                |d| {
                    d.name = rename(&d.name);
                    d.bus.clone_from(&to);
                },
            );
            copy_onto(
                &template.hubs,
                &mut t.hubs,
                |h| h.bus == from,
                |h| {
                    h.name = rename(&h.name);
                    h.bus.clone_from(&to);
                    h.connection_meter = h.connection_meter.as_deref().map(rename);
                },
            );
            t.meters.push(MeterSpec {
                name: format!("{to}.meter"),
                branch: Some(format!("feeder{k}")),
                element: None,
            });
            for m in template
                .meters
                .iter()
                .filter(|m| m.element.as_deref().is_some_and(mine))
            {
                t.meters.push(MeterSpec {
                    name: rename(&m.name),
                    element: m.element.as_deref().map(rename),
                    branch: None,
                });
            }
            for r in template.relays.iter().filter(|r| mine(&r.element)) {
                t.relays.push(idea_sim::grid::topology::RelaySpec {
                    name: rename(&r.name),
                    element: rename(&r.element),
                    ..r.clone()
                });
            }
            let text = complex.settings_text(&from)?;
            settings.insert(to.clone(), renamed_settings(text, of, k));
            let (cell_from, cell_to) = (format!("cell-{of}"), format!("cell-{k}"));
            for l in complex
                .loads
                .iter()
                .filter(|l| l.cell.as_str() == cell_from)
            {
                let mut l = l.clone();
                l.relay = rename(&l.relay);
                l.meter = rename(&l.meter);
                l.cell = idea_proto::CellId::new(cell_to.clone())?;
                loads.push(l);
            }
        }
        t.check().map_err(|e| data("the generated feeder", e))?;
        Ok(Layout {
            topology: t,
            settings,
            loads,
            control_step: Duration::from_secs(u64::from(FEEDER_STEP_S)),
            links_every_step: false,
            reading_every: Duration::from_secs(u64::from(crate::complex::PERIOD_S)),
        })
    }

    fn settings_text(&self, bus: &str) -> Result<&str> {
        self.settings
            .get(bus)
            .map(String::as_str)
            .ok_or_else(|| crate::error::usage("cell", format!("no settings for {bus}")))
    }

    /// The owner settings of the cell on bus `bus`.
    pub(crate) fn settings(&self, bus: &str) -> Result<OwnerSettings> {
        OwnerSettings::from_toml(self.settings_text(bus)?)
            .map_err(|e| data(&format!("the settings of {bus}"), e))
    }

    /// The cells' buses, in order.
    pub(crate) fn cell_buses(&self) -> Vec<String> {
        let mut buses: Vec<(usize, String)> = self
            .settings
            .keys()
            .filter_map(|b| Some((b.strip_prefix("cell")?.parse().ok()?, b.clone())))
            .collect();
        buses.sort();
        buses.into_iter().map(|(_, b)| b).collect()
    }
}

/// The settings of the complex's cell `of`, renamed as generated cell `k`: its id, owner, agent and bus.
fn renamed_settings(text: &str, of: usize, k: usize) -> String {
    [
        (format!("\"cell-{of}\""), format!("\"cell-{k}\"")),
        (format!("\"owner-{of}\""), format!("\"owner-{k}\"")),
        (
            format!("\"agent-cell-{of}\""),
            format!("\"agent-cell-{k}\""),
        ),
        (
            format!("node = \"cell{of}\""),
            format!("node = \"cell{k}\""),
        ),
    ]
    .iter()
    .fold(text.to_owned(), |t, (a, b)| t.replace(a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_feeder_copies_the_four_cells_in_turn() {
        let l = Layout::feeder(23).unwrap();
        assert_eq!(l.cell_buses().len(), 23);
        assert_eq!(l.cell_buses()[22], "cell23");
        // cell6 is a copy of cell2: its PV and shop, renamed.
        assert!(l.topology.pvs.iter().any(|p| p.name == "cell6.pv"));
        assert!(l.topology.loads.iter().any(|x| x.name == "cell6.shop"));
        assert_eq!(l.settings("cell6").unwrap().cell.id.as_str(), "cell-6");
        assert_eq!(l.loads.len(), 23 * 3);
        assert!(l.loads.iter().any(|x| x.relay == "cell22.cooling.relay"));
        assert!(
            l.loads
                .iter()
                .any(|x| x.relay == "cell23.ventilation.relay")
        );
        // Three laterals: ten, ten and three cells.
        assert!(l.topology.buses.iter().any(|b| b.name == "lat2.2"));
        assert!(!l.topology.buses.iter().any(|b| b.name == "lat2.3"));
    }

    #[test]
    fn too_many_or_no_cells_are_refused_as_usage() {
        for n in [0, MAX_CELLS + 1] {
            assert!(matches!(
                Layout::feeder(n),
                Err(Error::Usage { option, .. }) if option == "--cells"
            ));
        }
    }
}
