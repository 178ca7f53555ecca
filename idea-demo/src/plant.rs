//! The physical side of the complex: the simulated microgrid (`idea-sim`), stepped by the conductor in
//! simulated time (never by a wall clock), its devices served on real sockets, and the physics accounted per
//! settlement interval — what the energy-balance and limit checks rest on. The accounting reads the model
//! directly; the agents never do: they know their cells only through the devices' protocols.

use crate::error::{Error, Result};
use idea_proto::Timestamp;
use idea_sim::devices::{ModbusAt, modbus_model_device};
use idea_sim::fault::Faults;
use idea_sim::grid::{Microgrid, SharedGrid, Topology, lock};
use idea_sim::physical::Binding;

/// The model's elements of one cell, by index (everything on the cell's bus).
#[derive(Debug, Clone)]
struct CellElements {
    bus: usize,
    meter: usize,
    hub: usize,
    loads: Vec<usize>,
    pvs: Vec<usize>,
    diesels: Vec<usize>,
    ders: Vec<usize>,
}

/// What one cell did in one interval, physically.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct CellPhysics {
    /// Generated (CHP, PV), Wh.
    pub generation_wh: f64,
    /// Consumed by its loads, Wh.
    pub load_wh: f64,
    /// Delivered by its hub's storage (negative: charged), Wh.
    pub storage_wh: f64,
    /// Imported at its connection meter over the interval (the import register's advance), Wh.
    pub import_wh: f64,
    /// Exported at its connection meter over the interval (the export register's advance), Wh.
    pub export_wh: f64,
    /// The hub's state of charge at the end, 0–1.
    pub soc: f64,
    /// The most the cell imported at any step, W (negative: it exported throughout).
    pub peak_import_w: f64,
    /// The most the cell exported at any step, W.
    pub peak_export_w: f64,
    /// The most the hub's converter carried at any step, W.
    pub peak_hub_w: f64,
    /// Its bus voltage's lowest and highest, p.u.
    pub voltage_pu: (f64, f64),
}

/// What the whole complex did in one interval, physically.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct SystemPhysics {
    /// From the public network (negative: exported), Wh.
    pub network_wh: f64,
    /// Generated in all cells, Wh.
    pub generation_wh: f64,
    /// Consumed by all loads, Wh.
    pub load_wh: f64,
    /// Delivered by all storage (negative: charged), Wh.
    pub storage_wh: f64,
    /// Lost in lines, the router and converters, Wh.
    pub losses_wh: f64,
    /// What the balance leaves over: generation + network + storage − load − losses, Wh.
    pub residual_wh: f64,
    /// The common bus's frequency, lowest and highest, Hz (0 while de-energised).
    pub frequency_hz: (f64, f64),
    /// The lowest and highest voltage on the common bus and the cells' buses, p.u.
    pub voltage_pu: (f64, f64),
    /// The most the router carried at any step, W.
    pub peak_router_w: f64,
    /// Whether the common bus was fed by the network throughout.
    pub grid_connected: bool,
}

/// Running sums over the interval being accounted.
#[derive(Debug, Clone, Default)]
struct Sums {
    cells: Vec<CellPhysics>,
    system: SystemPhysics,
    /// Each cell's meter registers (import, export) at the interval's start, Wh.
    meter_start: Vec<(f64, f64)>,
    first: bool,
}

/// The plant: the model, its devices' serving tasks and the accounting.
pub(crate) struct Plant {
    grid: SharedGrid,
    common: usize,
    cells: Vec<CellElements>,
    sums: Sums,
    tasks: Vec<idea_sim::Tasks>,
    /// The common bus's frequency at every step, `(s since the start, Hz)`, once asked for.
    trace: Option<Vec<(f64, f64)>>,
}

impl std::fmt::Debug for Plant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plant")
            .field("cells", &self.cells.len())
            .finish_non_exhaustive()
    }
}

fn missing(what: String) -> Error {
    Error::Data {
        file: "data/complex.toml".into(),
        reason: what,
    }
}

fn index_of<'a>(mut names: impl Iterator<Item = &'a String>, name: &str) -> Result<usize> {
    names
        .position(|n| n == name)
        .ok_or_else(|| missing(format!("no {name}")))
}

impl Plant {
    /// The model of `topology` from `start`, its clouds drawn from `seed`; `cells` names each cell's bus
    /// (`cell1`…): its meter is `BUS.meter` and its hub `BUS.hub`.
    pub(crate) fn new(
        seed: u64,
        start: Timestamp,
        topology: &Topology,
        cells: &[String],
    ) -> Result<Plant> {
        let model = Microgrid::new(topology, seed, start)?;
        let common = index_of(model.buses.iter().map(|b| &b.name), "common")?;
        let mut elements = Vec::with_capacity(cells.len());
        for cell in cells {
            let bus = index_of(model.buses.iter().map(|b| &b.name), cell)?;
            let on_bus = |b: usize| b == bus;
            elements.push(CellElements {
                bus,
                meter: index_of(
                    model.meters.iter().map(|m| &m.name),
                    &format!("{cell}.meter"),
                )?,
                hub: index_of(
                    model.hubs.iter().map(|h| &h.storage.name),
                    &format!("{cell}.hub"),
                )?,
                loads: positions(model.loads.iter().map(|x| x.bus), on_bus),
                pvs: positions(model.pvs.iter().map(|x| x.bus), on_bus),
                diesels: positions(model.diesels.iter().map(|x| x.bus), on_bus),
                ders: positions(model.ders.iter().map(|x| x.bus), on_bus),
            });
        }
        let mut plant = Plant {
            grid: std::sync::Arc::new(std::sync::Mutex::new(model)),
            common,
            cells: elements,
            sums: Sums::default(),
            tasks: Vec::new(),
            trace: None,
        };
        plant.open_interval();
        Ok(plant)
    }

    /// The shared model (for the devices bound to it).
    pub(crate) fn grid(&self) -> &SharedGrid {
        &self.grid
    }

    /// Keeps `tasks` (a device's serving tasks) running as long as the plant.
    pub(crate) fn keep(&mut self, tasks: idea_sim::Tasks) {
        self.tasks.push(tasks);
    }

    /// The model's time.
    pub(crate) fn now(&self) -> Timestamp {
        lock(&self.grid).now()
    }

    /// Serves `binding` over Modbus TCP on a free port of 127.0.0.1 behind `faults`, on the runtime it is
    /// called on; returns its address and the serving tasks (for [`Plant::keep`]).
    pub(crate) async fn serve_modbus(
        grid: SharedGrid,
        binding: Binding,
        faults: &Faults,
    ) -> Result<(String, idea_sim::Tasks)> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| Error::Io {
                path: "127.0.0.1:0".into(),
                reason: e.to_string(),
            })?;
        let address = listener
            .local_addr()
            .map_err(|e| Error::Io {
                path: "127.0.0.1:0".into(),
                reason: e.to_string(),
            })?
            .to_string();
        let (_, tasks) =
            modbus_model_device(listener, binding, grid, ModbusAt::default(), faults).await?;
        Ok((address, tasks))
    }

    /// Each cell now: `(bus, generation W, load W, hub W, import W, state of charge, loads shed)`.
    pub(crate) fn cells_now(&self) -> Vec<(String, f64, f64, f64, f64, f64, usize)> {
        let model = lock(&self.grid);
        self.cells
            .iter()
            .map(|e| {
                let bus = model
                    .buses
                    .get(e.bus)
                    .map_or_else(String::new, |b| b.name.clone());
                let generation = e
                    .pvs
                    .iter()
                    .filter_map(|k| model.pvs.get(*k).map(|x| x.p_w))
                    .chain(
                        e.diesels
                            .iter()
                            .filter_map(|k| model.diesels.get(*k).map(|x| x.p_w)),
                    )
                    .chain(
                        e.ders
                            .iter()
                            .filter_map(|k| model.ders.get(*k).map(|x| x.p_w)),
                    )
                    .sum();
                let load = e
                    .loads
                    .iter()
                    .filter_map(|k| model.loads.get(*k).map(|x| -x.p_w))
                    .sum();
                let hub = model.hubs.get(e.hub);
                let prefix = format!("{bus}.");
                let shed = model
                    .relays
                    .iter()
                    .filter(|r| !r.closed && r.name.starts_with(&prefix))
                    .count();
                (
                    bus,
                    generation,
                    load,
                    hub.map_or(0.0, |h| h.storage.p_w),
                    model.meters.get(e.meter).map_or(0.0, |m| m.p_w),
                    hub.map_or(0.0, |h| h.storage.soc),
                    shed,
                )
            })
            .collect()
    }

    /// Every branch now: lines (AC and DC), the routers' ports, the converters.
    pub(crate) fn branches_now(&self) -> Vec<crate::live::LiveBranch> {
        let model = lock(&self.grid);
        let bus = |b: usize| {
            model
                .buses
                .get(b)
                .map_or_else(String::new, |x| x.name.clone())
        };
        let dc = |b: usize| model.buses.get(b).is_some_and(|x| x.dc);
        let mut out: Vec<crate::live::LiveBranch> = model
            .branches
            .iter()
            .map(|b| crate::live::LiveBranch {
                name: b.name.clone(),
                kind: if dc(b.from) { "dc-line" } else { "line" },
                from: bus(b.from),
                to: bus(b.to),
                p_w: b.p_from_w,
            })
            .collect();
        for r in &model.routers {
            if let (Some(first), Some(last)) = (r.ports.first(), r.ports.last()) {
                out.push(crate::live::LiveBranch {
                    name: r.name.clone(),
                    kind: "router",
                    from: bus(*first),
                    to: bus(*last),
                    p_w: r.p_w.last().copied().unwrap_or(0.0),
                });
            }
        }
        for c in &model.converters {
            out.push(crate::live::LiveBranch {
                name: c.name.clone(),
                kind: "converter",
                from: bus(c.from),
                to: bus(c.to),
                p_w: c.p_to_w,
            });
        }
        out
    }

    /// The common bus's frequency, and the lowest and highest voltage of the common and the cells' buses.
    pub(crate) fn frequency_and_voltage_now(&self) -> (f64, f64, f64) {
        let model = lock(&self.grid);
        let (mut lo, mut hi) = (model.bus_vm_pu(self.common), model.bus_vm_pu(self.common));
        for e in &self.cells {
            let v = model.bus_vm_pu(e.bus);
            lo = lo.min(v);
            hi = hi.max(v);
        }
        (model.bus_frequency_hz(self.common), lo, hi)
    }

    /// Whether the network feeds the complex through an enabled router now.
    pub(crate) fn grid_connected_now(&self) -> bool {
        let model = lock(&self.grid);
        model.grid.as_ref().is_some_and(|g| g.connected) && model.routers.iter().all(|r| r.enabled)
    }

    /// Trips the PV array `name`: it gives nothing from now on (an inverter that tripped and stays off).
    pub(crate) fn trip_pv(&mut self, name: &str) -> Result<()> {
        let mut model = lock(&self.grid);
        let pv = model
            .pvs
            .iter_mut()
            .find(|p| p.name == name)
            .ok_or_else(|| missing(format!("no PV {name}")))?;
        pv.peak_w = 0.0;
        Ok(())
    }

    /// Records the common bus's frequency at every step from now on.
    pub(crate) fn record_frequency(&mut self) {
        self.trace.get_or_insert_with(Vec::new);
    }

    /// The frequency recorded so far.
    pub(crate) fn frequency_trace(&self) -> &[(f64, f64)] {
        self.trace.as_deref().unwrap_or_default()
    }

    /// Relays open now and why: `(relay, tripped by overcurrent)`.
    pub(crate) fn open_relays(&self) -> Vec<(String, bool)> {
        lock(&self.grid)
            .relays
            .iter()
            .filter(|r| !r.closed)
            .map(|r| {
                (
                    r.name.clone(),
                    r.cause == idea_sim::grid::TripCause::Overcurrent,
                )
            })
            .collect()
    }

    /// Opens or closes relay `name` in the model (an owner switching an installation on or off by hand).
    pub(crate) fn switch(&mut self, name: &str, close: bool) -> Result<()> {
        lock(&self.grid).command_relay(name, close)?;
        Ok(())
    }

    /// Steps the model until its time reaches `until`, accounting each step.
    pub(crate) fn step_until(&mut self, until: Timestamp) -> Result<()> {
        let mut model = lock(&self.grid);
        while model.now() < until {
            model.step()?;
            account(&model, self.common, &self.cells, &mut self.sums);
            if let Some(trace) = &mut self.trace {
                trace.push((model.elapsed_s(), model.bus_frequency_hz(self.common)));
            }
        }
        Ok(())
    }

    /// Ends the interval being accounted: what each cell and the complex did in it.
    pub(crate) fn close_interval(&mut self) -> (Vec<CellPhysics>, SystemPhysics) {
        let model = lock(&self.grid);
        let mut cells = std::mem::take(&mut self.sums.cells);
        for ((c, e), start) in cells
            .iter_mut()
            .zip(&self.cells)
            .zip(&self.sums.meter_start)
        {
            if let Some(m) = model.meters.get(e.meter) {
                c.import_wh = m.import_wh - start.0;
                c.export_wh = m.export_wh - start.1;
            }
            c.soc = model.hubs.get(e.hub).map_or(0.0, |h| h.storage.soc);
        }
        let mut system = std::mem::take(&mut self.sums.system);
        system.residual_wh = system.generation_wh + system.network_wh + system.storage_wh
            - system.load_wh
            - system.losses_wh;
        drop(model);
        self.open_interval();
        (cells, system)
    }

    fn open_interval(&mut self) {
        let model = lock(&self.grid);
        self.sums = Sums {
            cells: vec![CellPhysics::default(); self.cells.len()],
            system: SystemPhysics {
                grid_connected: true,
                ..SystemPhysics::default()
            },
            meter_start: self
                .cells
                .iter()
                .map(|e| {
                    model
                        .meters
                        .get(e.meter)
                        .map_or((0.0, 0.0), |m| (m.import_wh, m.export_wh))
                })
                .collect(),
            first: true,
        };
    }
}

fn positions(buses: impl Iterator<Item = usize>, keep: impl Fn(usize) -> bool) -> Vec<usize> {
    buses
        .enumerate()
        .filter(|(_, b)| keep(*b))
        .map(|(k, _)| k)
        .collect()
}

fn widen(range: &mut (f64, f64), value: f64, first: bool) {
    if first {
        *range = (value, value);
    } else {
        range.0 = range.0.min(value);
        range.1 = range.1.max(value);
    }
}

/// Adds one step of `model` to the sums.
fn account(model: &Microgrid, common: usize, cells: &[CellElements], sums: &mut Sums) {
    let h = model.step_s() / 3600.0;
    let first = sums.first;
    sums.first = false;
    let s = &mut sums.system;
    let network_w = model
        .grid
        .as_ref()
        .filter(|g| g.connected)
        .map_or(0.0, |g| g.p_w);
    s.grid_connected &=
        model.grid.as_ref().is_some_and(|g| g.connected) && model.routers.iter().all(|r| r.enabled);
    s.network_wh += network_w * h;
    let generation: f64 = model.pvs.iter().map(|x| x.p_w).sum::<f64>()
        + model.diesels.iter().map(|x| x.p_w).sum::<f64>()
        + model.ders.iter().map(|x| x.p_w).sum::<f64>();
    s.generation_wh += generation * h;
    s.load_wh += model.loads.iter().map(|x| -x.p_w).sum::<f64>() * h;
    s.storage_wh += (model.hubs.iter().map(|x| x.storage.p_w).sum::<f64>()
        + model.batteries.iter().map(|x| x.p_w).sum::<f64>())
        * h;
    let line_losses: f64 = model.branches.iter().map(|b| b.loss_w).sum();
    let converter_losses: f64 = model
        .converters
        .iter()
        .map(|c| -(c.p_from_w + c.p_to_w))
        .sum();
    let router_losses: f64 = model
        .routers
        .iter()
        .map(|r| -r.p_w.iter().sum::<f64>())
        .sum();
    s.losses_wh += (line_losses + converter_losses + router_losses) * h;
    widen(&mut s.frequency_hz, model.bus_frequency_hz(common), first);
    widen(&mut s.voltage_pu, model.bus_vm_pu(common), first);
    for e in cells {
        widen(&mut s.voltage_pu, model.bus_vm_pu(e.bus), false);
    }
    s.peak_router_w = model
        .routers
        .iter()
        .flat_map(|r| r.p_w.iter().map(|p| p.abs()))
        .fold(s.peak_router_w, f64::max);
    for (c, e) in sums.cells.iter_mut().zip(cells) {
        let pick = |v: &[usize], p: &dyn Fn(usize) -> f64| v.iter().map(|k| p(*k)).sum::<f64>();
        let generation = pick(&e.pvs, &|k| model.pvs.get(k).map_or(0.0, |x| x.p_w))
            + pick(&e.diesels, &|k| model.diesels.get(k).map_or(0.0, |x| x.p_w))
            + pick(&e.ders, &|k| model.ders.get(k).map_or(0.0, |x| x.p_w));
        c.generation_wh += generation * h;
        c.load_wh += pick(&e.loads, &|k| model.loads.get(k).map_or(0.0, |x| -x.p_w)) * h;
        let hub_w = model.hubs.get(e.hub).map_or(0.0, |x| x.storage.p_w);
        c.storage_wh += hub_w * h;
        c.peak_hub_w = c.peak_hub_w.max(hub_w.abs());
        let import_w = model.meters.get(e.meter).map_or(0.0, |m| m.p_w);
        if first {
            c.peak_import_w = import_w;
            c.peak_export_w = -import_w;
        } else {
            c.peak_import_w = c.peak_import_w.max(import_w);
            c.peak_export_w = c.peak_export_w.max(-import_w);
        }
        widen(&mut c.voltage_pu, model.bus_vm_pu(e.bus), first);
    }
}
