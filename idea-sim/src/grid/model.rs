//! The microgrid model: elements on a network, stepped in simulated time.

use super::curves::{LoadCurves, irradiance, shape_at};
use super::elements::{
    Converter, Der, Diesel, ElementRef, Hub, Load, Meter, Metered, Pv, Relay, RouterUnit, Storage,
    TripCause,
};
use super::network::{NetBranch, NetBus, islands, solve_island};
use super::topology::{StorageSpec, Topology};
use crate::error::{Error, Result, topology};
use idea_proto::Timestamp;
use ng_control::hub::{FrequencyDynamics, HubSettings};
use ng_control::protection::{Curve as RelayCurve, Overcurrent};
use std::collections::VecDeque;

/// How far an island formed by hubs may stray from nominal before its frequency protection trips it, Hz
/// (the under- and over-frequency stages of an isolated system's protection).
pub const FREQUENCY_TRIP_HZ: f64 = 2.5;
/// How long a router port that could not hold its island leaves it to the hubs before trying again, s.
pub const ROUTER_RETRY_S: f64 = 10.0;
/// Longest sub-step for frequency and protection inside a model step, s.
const FAST_STEP_S: f64 = 0.01;
/// Events the model keeps (oldest dropped first).
const MAX_EVENTS: usize = 1_000;

/// What holds an island's voltage (and frequency).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Former {
    /// The public network.
    Grid,
    /// An energy hub, by index.
    Hub(usize),
    /// An energy router's microgrid port holding the island's voltage and frequency from the network (its
    /// flow is what the island needs, within its mode's range and limits).
    Router {
        /// The router, by index.
        router: usize,
        /// The port.
        port: usize,
    },
    /// Nothing: the island is de-energised.
    None,
}

/// An island of the network and what forms it.
#[derive(Debug, Clone, PartialEq)]
pub struct Island {
    /// Its buses.
    pub buses: Vec<usize>,
    /// Its branches.
    pub branches: Vec<usize>,
    /// What forms it this step.
    pub former: Former,
    /// Its frequency, Hz (0 when de-energised).
    pub frequency_hz: f64,
    /// The hubs' frequency dynamics while a hub forms it, with the hubs taking part (model indices).
    dynamics: Option<(FrequencyDynamics, Vec<usize>)>,
    /// Tripped by its frequency protection: hubs do not re-form it until the network reconnects or
    /// [`Microgrid::restart_island`].
    pub tripped: bool,
}

/// Something that happened in the model.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SimEvent {
    /// When, seconds of simulated time since the start.
    pub at_s: f64,
    /// What, in words.
    pub what: String,
}

/// The state of the public network's connection.
#[derive(Debug, Clone, PartialEq)]
pub struct GridConnection {
    /// The bus the network feeds.
    pub bus: usize,
    /// The network's voltage, p.u.
    pub vm_pu: f64,
    /// Connected.
    pub connected: bool,
    /// What the network delivers into the microgrid, W.
    pub p_w: f64,
    /// What the network delivers, var.
    pub q_var: f64,
}

/// A microgrid stepped in simulated time: a power flow per step over each energised island, the hubs'
/// frequency dynamics where a hub forms an island, ramps, states of charge, meters integrating and relays
/// timing their overcurrent elements. Deterministic: the same topology, seed and start give the same run.
#[derive(Debug, Clone)]
pub struct Microgrid {
    name: String,
    nominal_hz: f64,
    base_mva: f64,
    step_ms: u32,
    sun: super::topology::Sun,
    seed: u64,
    start: Timestamp,
    elapsed_ms: u64,
    /// Buses.
    pub buses: Vec<NetBus>,
    /// Lines and transformers.
    pub branches: Vec<NetBranch>,
    /// The public network.
    pub grid: Option<GridConnection>,
    /// Loads.
    pub loads: Vec<Load>,
    /// PV arrays.
    pub pvs: Vec<Pv>,
    /// Diesel and CHP generators.
    pub diesels: Vec<Diesel>,
    /// Batteries.
    pub batteries: Vec<Storage>,
    /// Energy hubs.
    pub hubs: Vec<Hub>,
    /// DER inverters.
    pub ders: Vec<Der>,
    /// Energy routers.
    pub routers: Vec<RouterUnit>,
    /// Converters.
    pub converters: Vec<Converter>,
    /// Meters.
    pub meters: Vec<Meter>,
    /// Relays.
    pub relays: Vec<Relay>,
    /// Islands.
    pub islands: Vec<Island>,
    events: VecDeque<SimEvent>,
}

fn index_of(names: &[&str], name: &str, field: &str) -> Result<usize> {
    names
        .iter()
        .position(|n| *n == name)
        .ok_or_else(|| topology(field, format!("no bus {name:?}")))
}

fn storage(s: &StorageSpec, bus: usize) -> Storage {
    Storage {
        name: s.name.clone(),
        bus,
        rating_w: s.kw * 1000.0,
        capacity_j: s.kwh * 3.6e6,
        efficiency: s.efficiency,
        soc: s.soc,
        enabled: true,
        setpoint_w: 0.0,
        max_charge_w: s.kw * 1000.0,
        max_discharge_w: s.kw * 1000.0,
        ramp_w_per_s: s.ramp_kw_per_s.map(|r| r * 1000.0),
        ramped_w: 0.0,
        p_w: 0.0,
        q_var: 0.0,
    }
}

impl Microgrid {
    /// Builds the model of `topology` at `start`; `seed` draws the clouds.
    ///
    /// # Errors
    /// [`Error::Topology`] where the topology does not check.
    pub fn new(spec: &Topology, seed: u64, start: Timestamp) -> Result<Microgrid> {
        spec.check()?;
        let curves = LoadCurves::builtin()?;
        let base_mva = spec.base_kva / 1000.0;
        let names: Vec<&str> = spec.buses.iter().map(|b| b.name.as_str()).collect();
        let bus = |name: &str, field: &str| index_of(&names, name, field);
        let mut branches = Vec::new();
        for l in &spec.lines {
            let (from, to) = (bus(&l.from, "line")?, bus(&l.to, "line")?);
            let kv = spec.buses.get(from).map_or(1.0, |b| b.kv);
            let z_base = kv * kv / base_mva;
            branches.push(NetBranch {
                name: l.name.clone(),
                from,
                to,
                r_pu: l.r_ohm / z_base,
                x_pu: l.x_ohm / z_base,
                p_from_w: 0.0,
                q_from_var: 0.0,
                loss_w: 0.0,
            });
        }
        for t in &spec.transformers {
            let scale = base_mva / (t.kva / 1000.0);
            branches.push(NetBranch {
                name: t.name.clone(),
                from: bus(&t.from, "transformer")?,
                to: bus(&t.to, "transformer")?,
                r_pu: t.r_pu * scale,
                x_pu: t.x_pu * scale,
                p_from_w: 0.0,
                q_from_var: 0.0,
                loss_w: 0.0,
            });
        }
        let (island_of, count) = islands(names.len(), &branches);
        let buses: Vec<NetBus> = spec
            .buses
            .iter()
            .zip(&island_of)
            .map(|(b, island)| NetBus {
                name: b.name.clone(),
                kv: b.kv,
                dc: b.dc,
                island: *island,
                vm_pu: 0.0,
            })
            .collect();
        let mut island_list: Vec<Island> = (0..count)
            .map(|_| Island {
                buses: Vec::new(),
                branches: Vec::new(),
                former: Former::None,
                frequency_hz: 0.0,
                dynamics: None,
                tripped: false,
            })
            .collect();
        for (k, b) in buses.iter().enumerate() {
            if let Some(i) = island_list.get_mut(b.island) {
                i.buses.push(k);
            }
        }
        for (k, br) in branches.iter().enumerate() {
            let island = buses.get(br.from).map_or(0, |b| b.island);
            if let Some(i) = island_list.get_mut(island) {
                i.branches.push(k);
            }
        }
        let grid = match &spec.grid {
            Some(g) => Some(GridConnection {
                bus: bus(&g.bus, "grid.bus")?,
                vm_pu: g.vm_pu,
                connected: true,
                p_w: 0.0,
                q_var: 0.0,
            }),
            None => None,
        };
        let mut loads = Vec::new();
        for l in &spec.loads {
            let shape = *curves
                .get(&l.curve)
                .ok_or_else(|| topology(format!("load {:?}.curve", l.name), "unknown"))?;
            loads.push(Load {
                name: l.name.clone(),
                bus: bus(&l.bus, "load")?,
                peak_w: l.kw * 1000.0,
                tan_phi: (1.0 / (l.pf * l.pf) - 1.0).max(0.0).sqrt(),
                shape,
                extra_w: 0.0,
                p_w: 0.0,
                q_var: 0.0,
            });
        }
        let mut pvs = Vec::new();
        for p in &spec.pvs {
            pvs.push(Pv {
                name: p.name.clone(),
                bus: bus(&p.bus, "pv")?,
                peak_w: p.kwp * 1000.0,
                p_w: 0.0,
            });
        }
        let mut diesels = Vec::new();
        for d in &spec.diesels {
            diesels.push(Diesel {
                name: d.name.clone(),
                bus: bus(&d.bus, "diesel")?,
                rating_w: d.kw * 1000.0,
                min_w: d.min_kw * 1000.0,
                ramp_w_per_s: d.ramp_kw_per_s * 1000.0,
                running: d.run_kw.is_some(),
                setpoint_w: d.run_kw.unwrap_or(0.0) * 1000.0,
                p_w: 0.0,
            });
        }
        let mut batteries = Vec::new();
        for s in &spec.batteries {
            batteries.push(storage(s, bus(&s.bus, "battery")?));
        }
        let mut hubs = Vec::new();
        for s in &spec.hubs {
            hubs.push(Hub {
                storage: storage(s, bus(&s.bus, "hub")?),
                grid_forming: true,
                settings: HubSettings::defaults(),
                connection: None,
                hold_export_w: None,
            });
        }
        let (curve, response) = Der::default_volt_var();
        let mut ders = Vec::new();
        for d in &spec.ders {
            ders.push(Der {
                name: d.name.clone(),
                bus: bus(&d.bus, "der")?,
                rating_va: d.kva * 1000.0,
                pv_peak_w: d.kwp * 1000.0,
                max_share: 1.0,
                volt_var: Some(curve.clone()),
                lag: ng_control::der::FirstOrderLag::new(response, 0.0),
                freq_watt: Some(ng_control::der::Ieee1547::frequency_droop()),
                energized: true,
                p_w: 0.0,
                q_var: 0.0,
            });
        }
        let mut routers = Vec::new();
        for r in &spec.routers {
            let ports = r
                .ports
                .iter()
                .map(|p| bus(p, "router.ports"))
                .collect::<Result<Vec<_>>>()?;
            let n = ports.len();
            let rating_w = r.kva * 1000.0;
            routers.push(RouterUnit {
                name: r.name.clone(),
                ports,
                rating_w,
                efficiency: r.efficiency,
                enabled: true,
                mode: 1,
                grid_export_limit_w: rating_w,
                setpoint_w: vec![0.0; n],
                q_setpoint_var: vec![0.0; n],
                limit_in_w: vec![rating_w; n],
                limit_out_w: vec![rating_w; n],
                p_w: vec![0.0; n],
                q_var: vec![0.0; n],
                limiting: false,
                forms: (0..n)
                    .map(|k| k > 0 && r.forms.iter().any(|b| r.ports.get(k) == Some(b)))
                    .collect(),
                forming: vec![false; n],
                formed_w: vec![0.0; n],
                overloaded: vec![false; n],
                retry_at_s: vec![0.0; n],
            });
        }
        let mut converters = Vec::new();
        for c in &spec.converters {
            converters.push(Converter {
                name: c.name.clone(),
                from: bus(&c.from, "converter.from")?,
                to: bus(&c.to, "converter.to")?,
                rating_w: c.kw * 1000.0,
                efficiency: c.efficiency,
                enabled: true,
                setpoint_w: 0.0,
                max_w: c.kw * 1000.0,
                q_setpoint_var: 0.0,
                ramp_w_per_s: c.ramp_kw_per_s.map(|r| r * 1000.0),
                ramped_w: 0.0,
                p_from_w: 0.0,
                p_to_w: 0.0,
                q_from_var: 0.0,
            });
        }
        let mut model = Microgrid {
            name: spec.name.clone(),
            nominal_hz: spec.nominal_hz,
            base_mva,
            step_ms: spec.step_ms,
            sun: spec.sun.clone(),
            seed,
            start,
            elapsed_ms: 0,
            buses,
            branches,
            grid,
            loads,
            pvs,
            diesels,
            batteries,
            hubs,
            ders,
            routers,
            converters,
            meters: Vec::new(),
            relays: Vec::new(),
            islands: island_list,
            events: VecDeque::new(),
        };
        for m in &spec.meters {
            let at = match (&m.branch, &m.element) {
                (Some(b), _) => Metered::Branch(
                    model
                        .branches
                        .iter()
                        .position(|x| x.name == *b)
                        .ok_or_else(|| topology(format!("meter {:?}", m.name), "no branch"))?,
                ),
                (None, Some(e)) => Metered::Element(model.element(e)?),
                (None, None) => return Err(topology(format!("meter {:?}", m.name), "no target")),
            };
            let bus = match at {
                Metered::Branch(b) => model.branches.get(b).map_or(0, |x| x.from),
                Metered::Element(e) => model.element_bus(e),
            };
            model.meters.push(Meter {
                name: m.name.clone(),
                at,
                bus,
                p_w: 0.0,
                q_var: 0.0,
                import_wh: 0.0,
                export_wh: 0.0,
            });
        }
        // Each hub's connection sensor (the topology checked that it names a meter of a branch): that meter,
        // oriented toward the hub's bus, which its branch must end at.
        for (h, s) in model.hubs.iter_mut().zip(&spec.hubs) {
            let Some(name) = &s.connection_meter else {
                continue;
            };
            let bus = h.storage.bus;
            let sensor =
                model
                    .meters
                    .iter()
                    .position(|m| m.name == *name)
                    .and_then(|k| match model.meters.get(k)?.at {
                        Metered::Branch(b) => match model.branches.get(b)? {
                            x if x.to == bus => Some((k, 1.0)),
                            x if x.from == bus => Some((k, -1.0)),
                            _ => None,
                        },
                        Metered::Element(_) => None,
                    });
            h.connection = Some(sensor.ok_or_else(|| {
                topology(
                    format!("hub {:?}.connection_meter", s.name),
                    "a meter of a branch that ends at the hub's bus",
                )
            })?);
        }
        for r in &spec.relays {
            let curve = RelayCurve::from_name(&r.curve)
                .ok_or_else(|| topology(format!("relay {:?}.curve", r.name), "unknown"))?;
            model.relays.push(Relay {
                name: r.name.clone(),
                element: model.element(&r.element)?,
                overcurrent: Overcurrent {
                    curve,
                    pickup_a: r.pickup_a,
                    multiplier: r.multiplier,
                },
                closed: true,
                cause: TripCause::None,
                operations: 0,
                current_a: 0.0,
                progress: 0.0,
            });
        }
        model.set_outputs(0.0);
        model.settle_flows()?;
        Ok(model)
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Nominal frequency, Hz.
    pub fn nominal_hz(&self) -> f64 {
        self.nominal_hz
    }

    /// The model's step, s.
    pub fn step_s(&self) -> f64 {
        f64::from(self.step_ms) / 1000.0
    }

    /// Simulated time elapsed since the start, s.
    pub fn elapsed_s(&self) -> f64 {
        // Milliseconds of a run fit an f64 exactly far beyond any simulated span.
        #[allow(clippy::cast_precision_loss)]
        let ms = self.elapsed_ms as f64;
        ms / 1000.0
    }

    /// Simulated calendar time.
    pub fn now(&self) -> Timestamp {
        let ms = i64::try_from(self.elapsed_ms).unwrap_or(i64::MAX);
        Timestamp::from_unix_ms(self.start.unix_ms().saturating_add(ms)).unwrap_or(Timestamp::MAX)
    }

    /// The events so far (the last thousand).
    pub fn events(&self) -> impl Iterator<Item = &SimEvent> {
        self.events.iter()
    }

    fn log(&mut self, at_s: f64, what: String) {
        if self.events.len() >= MAX_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(SimEvent { at_s, what });
    }

    /// A single-bus element by name.
    ///
    /// # Errors
    /// [`Error::UnknownElement`].
    pub fn element(&self, name: &str) -> Result<ElementRef> {
        let find =
            |mut names: Box<dyn Iterator<Item = &String> + '_>| names.position(|n| n == name);
        find(Box::new(self.loads.iter().map(|x| &x.name)))
            .map(ElementRef::Load)
            .or_else(|| find(Box::new(self.pvs.iter().map(|x| &x.name))).map(ElementRef::Pv))
            .or_else(|| {
                find(Box::new(self.diesels.iter().map(|x| &x.name))).map(ElementRef::Diesel)
            })
            .or_else(|| {
                find(Box::new(self.batteries.iter().map(|x| &x.name))).map(ElementRef::Battery)
            })
            .or_else(|| {
                find(Box::new(self.hubs.iter().map(|x| &x.storage.name))).map(ElementRef::Hub)
            })
            .or_else(|| find(Box::new(self.ders.iter().map(|x| &x.name))).map(ElementRef::Der))
            .ok_or_else(|| Error::UnknownElement {
                kind: "element",
                name: name.to_owned(),
            })
    }

    /// The bus of a single-bus element.
    pub fn element_bus(&self, e: ElementRef) -> usize {
        match e {
            ElementRef::Load(i) => self.loads.get(i).map(|x| x.bus),
            ElementRef::Pv(i) => self.pvs.get(i).map(|x| x.bus),
            ElementRef::Diesel(i) => self.diesels.get(i).map(|x| x.bus),
            ElementRef::Battery(i) => self.batteries.get(i).map(|x| x.bus),
            ElementRef::Hub(i) => self.hubs.get(i).map(|x| x.storage.bus),
            ElementRef::Der(i) => self.ders.get(i).map(|x| x.bus),
        }
        .unwrap_or(0)
    }

    /// What a single-bus element delivers into its bus, `(W, var)`.
    pub fn element_flow(&self, e: ElementRef) -> (f64, f64) {
        match e {
            ElementRef::Load(i) => self.loads.get(i).map(|x| (x.p_w, x.q_var)),
            ElementRef::Pv(i) => self.pvs.get(i).map(|x| (x.p_w, 0.0)),
            ElementRef::Diesel(i) => self.diesels.get(i).map(|x| (x.p_w, 0.0)),
            ElementRef::Battery(i) => self.batteries.get(i).map(|x| (x.p_w, x.q_var)),
            ElementRef::Hub(i) => self.hubs.get(i).map(|x| (x.storage.p_w, x.storage.q_var)),
            ElementRef::Der(i) => self.ders.get(i).map(|x| (x.p_w, x.q_var)),
        }
        .unwrap_or((0.0, 0.0))
    }

    /// The elements open relays hold off their buses (few, usually none).
    fn held_off(&self) -> Vec<ElementRef> {
        self.relays
            .iter()
            .filter(|r| !r.closed)
            .map(|r| r.element)
            .collect()
    }

    /// A bus's voltage, p.u. (0 de-energised).
    pub fn bus_vm_pu(&self, bus: usize) -> f64 {
        self.buses.get(bus).map_or(0.0, |b| b.vm_pu)
    }

    /// A bus's line-to-line voltage (AC) or voltage (DC), V.
    pub fn bus_volts(&self, bus: usize) -> f64 {
        self.buses.get(bus).map_or(0.0, |b| b.vm_pu * b.kv * 1000.0)
    }

    /// The frequency at a bus, Hz (0 de-energised).
    pub fn bus_frequency_hz(&self, bus: usize) -> f64 {
        self.buses
            .get(bus)
            .and_then(|b| self.islands.get(b.island))
            .map_or(0.0, |i| i.frequency_hz)
    }

    /// Whether a bus is energised.
    pub fn bus_live(&self, bus: usize) -> bool {
        self.buses
            .get(bus)
            .and_then(|b| self.islands.get(b.island))
            .is_some_and(|i| i.former != Former::None)
    }

    /// The current of `p_w`, `q_var` at `bus`, A (per phase for AC).
    pub fn current_a(&self, bus: usize, p_w: f64, q_var: f64) -> f64 {
        let Some(b) = self.buses.get(bus) else {
            return 0.0;
        };
        let volts = b.vm_pu * b.kv * 1000.0;
        if volts <= 0.0 {
            0.0
        } else if b.dc {
            p_w.abs() / volts
        } else {
            p_w.hypot(q_var) / (3f64.sqrt() * volts)
        }
    }

    /// Connects or disconnects the public network.
    pub fn set_grid_connected(&mut self, connected: bool) {
        let at = self.elapsed_s();
        if let Some(g) = &mut self.grid
            && g.connected != connected
        {
            g.connected = connected;
            let what = if connected {
                "the public network connected"
            } else {
                "the public network disconnected"
            };
            self.log(at, what.to_owned());
        }
    }

    /// Lets the hubs of a tripped island form it again (a black start by the operator), from the next step.
    pub fn restart_island(&mut self, island: usize) {
        if let Some(i) = self.islands.get_mut(island) {
            i.tripped = false;
        }
    }

    /// Sets the public network's voltage, p.u.
    ///
    /// # Errors
    /// [`Error::Command`] for a voltage outside 0.5–1.5 p.u.
    pub fn set_grid_voltage(&mut self, vm_pu: f64) -> Result<()> {
        if !(0.5..=1.5).contains(&vm_pu) {
            return Err(Error::Command {
                element: "grid".into(),
                reason: format!("{vm_pu} p.u. is outside 0.5–1.5"),
            });
        }
        if let Some(g) = &mut self.grid {
            g.vm_pu = vm_pu;
        }
        Ok(())
    }

    /// Adds `delta_w` of demand to a load (a load step).
    ///
    /// # Errors
    /// [`Error::UnknownElement`].
    pub fn step_load(&mut self, name: &str, delta_w: f64) -> Result<()> {
        let at = self.elapsed_s();
        let load = self
            .loads
            .iter_mut()
            .find(|l| l.name == name)
            .ok_or_else(|| Error::UnknownElement {
                kind: "load",
                name: name.to_owned(),
            })?;
        load.extra_w += delta_w;
        self.log(at, format!("load {name} stepped by {delta_w:.0} W"));
        Ok(())
    }

    /// Advances the model by one step.
    ///
    /// # Errors
    /// [`Error::Physics`] when the frequency dynamics fail (a power flow that does not converge
    /// de-energises its island for the step instead).
    pub fn step(&mut self) -> Result<()> {
        let dt = self.step_s();
        let t0 = self.elapsed_s();
        self.elapsed_ms = self.elapsed_ms.saturating_add(u64::from(self.step_ms));
        self.set_outputs(dt);
        self.settle_flows()?;
        // Frequency where hubs form an island, sub-stepped.
        let substeps = (dt / FAST_STEP_S).ceil().max(1.0);
        let h = dt / substeps;
        let mut frequency_trips = Vec::new();
        for island in &mut self.islands {
            if let Some((dynamics, members)) = &mut island.dynamics {
                let Former::Hub(slack) = island.former else {
                    continue;
                };
                // Each hub's setpoint (its device's WSet) schedules it on top of droop and restoration.
                for (k, m) in members.iter().enumerate() {
                    if let Some(hub) = self.hubs.get(*m) {
                        let scheduled = if hub.storage.enabled {
                            hub.storage.setpoint_w
                        } else {
                            0.0
                        };
                        dynamics.set_dispatch_w(k, scheduled);
                    }
                }
                // What the island needs from its hubs: the slack hub's physical output plus the others'.
                let others: f64 = members
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| **m != slack)
                    .filter_map(|(k, _)| dynamics.hub_output_w(k))
                    .sum();
                let slack_p = self.hubs.get(slack).map_or(0.0, |x| x.storage.p_w);
                let mut n = 0.0;
                while n < substeps {
                    island.frequency_hz = dynamics.step(h, 0.0, slack_p + others)?;
                    n += 1.0;
                    if (island.frequency_hz - self.nominal_hz).abs() > FREQUENCY_TRIP_HZ {
                        island.tripped = true;
                        break;
                    }
                }
                if island.tripped {
                    frequency_trips.push((t0 + n * h, island.frequency_hz));
                    island.former = Former::None;
                    island.dynamics = None;
                    island.frequency_hz = 0.0;
                    continue;
                }
                for (k, m) in members.iter().enumerate() {
                    if *m != slack
                        && let (Some(hub), Some(p)) =
                            (self.hubs.get_mut(*m), dynamics.hub_output_w(k))
                    {
                        hub.storage.p_w = p;
                    }
                }
            }
        }
        for (at, f) in frequency_trips {
            self.log(
                at,
                format!("an island's frequency protection tripped at {f:.2} Hz: its hubs can no longer balance it"),
            );
        }
        // Protection, at the step's currents.
        let mut trips = Vec::new();
        for k in 0..self.relays.len() {
            let Some(e) = self.relays.get(k).map(|r| r.element) else {
                continue;
            };
            let (p, q) = self.element_flow(e);
            let current = self.current_a(self.element_bus(e), p, q);
            if let Some(r) = self.relays.get_mut(k) {
                r.current_a = current;
                if let Some(into) = r.integrate(dt) {
                    trips.push((t0 + into, r.name.clone(), current));
                }
            }
        }
        for (at, name, current) in trips {
            self.log(at, format!("relay {name} tripped at {current:.1} A"));
        }
        // Energy: meters and batteries over the step.
        for m in &mut self.meters {
            m.integrate(dt);
        }
        for b in &mut self.batteries {
            b.integrate(dt);
        }
        for hub in &mut self.hubs {
            hub.storage.integrate(dt);
        }
        Ok(())
    }

    /// Sets every element's output for the step ending now: loads from their shapes, PV and DERs from the
    /// sun, diesels along their ramps, batteries at their setpoints.
    fn set_outputs(&mut self, dt: f64) {
        let unix_s = unix_seconds(self.now());
        let sun = irradiance(&self.sun, self.seed, unix_s);
        let day_s = unix_s.rem_euclid(86_400.0);
        for d in &mut self.diesels {
            d.step(dt);
        }
        for k in 0..self.ders.len() {
            let (v, f) = self.ders.get(k).map_or((0.0, 0.0), |d| {
                (self.bus_vm_pu(d.bus), self.bus_frequency_hz(d.bus))
            });
            let nominal = self.nominal_hz;
            if let Some(d) = self.ders.get_mut(k) {
                d.step(sun, v, (f, nominal), dt);
            }
        }
        for l in &mut self.loads {
            let demand = (l.peak_w * shape_at(&l.shape, day_s) + l.extra_w).max(0.0);
            l.p_w = -demand;
            l.q_var = -demand * l.tan_phi;
        }
        for p in &mut self.pvs {
            p.p_w = p.peak_w * sun / 1000.0;
        }
        for b in &mut self.batteries {
            b.ramp(dt);
            b.p_w = b.ramped_w;
        }
        // A hub holding its connection sets its own setpoint from what its sensor measured over the last step
        // (NG-P1): the battery power it follows, or — forming an island with others — its dispatch on the
        // droop, the island's balance still its own.
        for k in 0..self.hubs.len() {
            let import = self
                .hubs
                .get(k)
                .and_then(|h| h.connection)
                .and_then(|(m, sign)| self.meters.get(m).map(|m| sign * m.p_w));
            if let (Some(h), Some(import)) = (self.hubs.get_mut(k), import)
                && let Some(w) = h.holding_w(import, dt)
            {
                h.storage.setpoint_w = w;
            }
        }
        for h in &mut self.hubs {
            h.storage.ramp(dt);
        }
        for c in &mut self.converters {
            c.ramp(dt);
        }
    }

    /// Forms the islands, settles routers and converters, solves each energised island and reads the meters.
    fn settle_flows(&mut self) -> Result<()> {
        self.choose_formers()?;
        let live: Vec<bool> = (0..self.buses.len()).map(|b| self.bus_live(b)).collect();
        let is_live = |b: usize| live.get(b).copied().unwrap_or(false);
        for r in &mut self.routers {
            let port_live: Vec<bool> = r.ports.iter().map(|b| is_live(*b)).collect();
            r.settle(&port_live);
        }
        for c in &mut self.converters {
            c.settle(is_live(c.from), is_live(c.to));
        }
        // Hubs that follow (their island formed by something else) deliver their setpoint.
        for k in 0..self.hubs.len() {
            let forming = self.islands.iter().any(|i| {
                i.dynamics
                    .as_ref()
                    .is_some_and(|(_, members)| members.contains(&k))
            });
            if let Some(h) = self.hubs.get_mut(k)
                && !forming
            {
                h.storage.p_w = if is_live(h.storage.bus) {
                    h.storage.ramped_w
                } else {
                    0.0
                };
            }
        }
        // Islands the routers form first: what each needs sets its port's flow, and so the network port's.
        let (p, q) = self.injections(&live);
        let self_elapsed = self.elapsed_s();
        let mut collapsed = Vec::new();
        for k in 0..self.islands.len() {
            let Some(Former::Router { router, port }) = self.islands.get(k).map(|i| i.former)
            else {
                continue;
            };
            match self.solve_one(k, &p, &q) {
                Ok(Some((slack_p, slack_q))) => {
                    let Some(r) = self.routers.get_mut(router) else {
                        continue;
                    };
                    if let Some(w) = r.formed_w.get_mut(port) {
                        *w = slack_p;
                    }
                    let port_live: Vec<bool> = r.ports.iter().map(|b| is_live(*b)).collect();
                    r.settle(&port_live);
                    if let Some(v) = r.q_var.get_mut(port) {
                        *v = slack_q;
                    }
                    if r.overloaded.get(port).copied().unwrap_or(false) {
                        // Beyond what the mode and limits let the port carry: it delivers what it may, and
                        // the island's hubs take over (or it goes dark) until the port tries again.
                        if let Some(t) = r.retry_at_s.get_mut(port) {
                            *t = self_elapsed + ROUTER_RETRY_S;
                        }
                        let name = r.name.clone();
                        let hubs = self.capable_hubs(k);
                        let fallback = hubs.first().map_or(Former::None, |h| Former::Hub(*h));
                        let at = self.elapsed_s();
                        self.log(
                            at,
                            format!(
                                "router {name} port {port} cannot hold island {k}: {slack_p:.0} W is beyond its mode's range and limits"
                            ),
                        );
                        self.set_former(k, fallback)?;
                    }
                }
                Ok(None) => {}
                Err(e) => collapsed.push((k, e)),
            }
        }
        // Then every other island, with the routers' network ports settled.
        let (p, q) = self.injections(&live);
        for k in 0..self.islands.len() {
            if matches!(
                self.islands.get(k).map(|i| i.former),
                Some(Former::Router { .. }) | None
            ) {
                continue;
            }
            match self.solve_one(k, &p, &q) {
                Ok(Some((slack_p, slack_q))) => match self.islands.get(k).map(|i| i.former) {
                    Some(Former::Grid) => {
                        if let Some(g) = &mut self.grid {
                            g.p_w = slack_p;
                            g.q_var = slack_q;
                        }
                    }
                    Some(Former::Hub(h)) => {
                        if let Some(hub) = self.hubs.get_mut(h) {
                            hub.storage.p_w = slack_p;
                            hub.storage.q_var = slack_q;
                        }
                    }
                    _ => {}
                },
                Ok(None) => {}
                Err(e) => collapsed.push((k, e)),
            }
        }
        let at = self.elapsed_s();
        for (k, e) in collapsed {
            if let Some(i) = self.islands.get_mut(k) {
                i.former = Former::None;
                i.frequency_hz = 0.0;
                i.dynamics = None;
                for b in i.buses.clone() {
                    if let Some(bus) = self.buses.get_mut(b) {
                        bus.vm_pu = 0.0;
                    }
                }
            }
            self.log(at, format!("island {k} collapsed: {e}"));
        }
        // Meters read the settled flows.
        for k in 0..self.meters.len() {
            let Some(at) = self.meters.get(k).map(|m| m.at) else {
                continue;
            };
            let (mp, mq) = match at {
                Metered::Branch(b) => self
                    .branches
                    .get(b)
                    .map_or((0.0, 0.0), |x| (x.p_from_w, x.q_from_var)),
                Metered::Element(e) => {
                    let (ep, eq) = self.element_flow(e);
                    (-ep, -eq)
                }
            };
            if let Some(m) = self.meters.get_mut(k) {
                m.p_w = mp;
                m.q_var = mq;
            }
        }
        Ok(())
    }

    /// What every element, router port and converter delivers into each bus, `(W, var)`; the island formers'
    /// own outputs are left out (the power flow finds them). Elements on dead buses or behind open relays
    /// are zeroed.
    fn injections(&mut self, live: &[bool]) -> (Vec<f64>, Vec<f64>) {
        let is_live = |b: usize| live.get(b).copied().unwrap_or(false);
        let n = self.buses.len();
        let mut p = vec![0.0; n];
        let mut q = vec![0.0; n];
        let add = |v: &mut Vec<f64>, bus: usize, x: f64| {
            if let Some(slot) = v.get_mut(bus) {
                *slot += x;
            }
        };
        // What relays hold open (few, usually none) and which hubs and router ports form an island, each
        // found once here rather than per element: a feeder of thousands of cells has thousands of relays.
        let open: Vec<ElementRef> = self
            .relays
            .iter()
            .filter(|r| !r.closed)
            .map(|r| r.element)
            .collect();
        let mut forming_hub = vec![false; self.hubs.len()];
        let mut forming_port: Vec<(usize, usize)> = Vec::new();
        for island in &self.islands {
            match island.former {
                Former::Hub(k) => {
                    if let Some(f) = forming_hub.get_mut(k) {
                        *f = true;
                    }
                }
                Former::Router { router, port } => forming_port.push((router, port)),
                _ => {}
            }
        }
        let refs: Vec<ElementRef> = (0..self.loads.len())
            .map(ElementRef::Load)
            .chain((0..self.pvs.len()).map(ElementRef::Pv))
            .chain((0..self.diesels.len()).map(ElementRef::Diesel))
            .chain((0..self.batteries.len()).map(ElementRef::Battery))
            .chain((0..self.ders.len()).map(ElementRef::Der))
            .collect();
        for e in refs {
            let bus = self.element_bus(e);
            if open.contains(&e) || !is_live(bus) {
                self.zero(e);
                continue;
            }
            let (ep, eq) = self.element_flow(e);
            let dc = self.buses.get(bus).is_some_and(|b| b.dc);
            add(&mut p, bus, ep);
            add(&mut q, bus, if dc { 0.0 } else { eq });
        }
        for (k, h) in self.hubs.iter().enumerate() {
            let slack = forming_hub.get(k).copied().unwrap_or(false);
            if !slack && !open.contains(&ElementRef::Hub(k)) {
                add(&mut p, h.storage.bus, h.storage.p_w);
            }
        }
        for (r, unit) in self.routers.iter().enumerate() {
            for (port, ((bus, pw), qv)) in unit
                .ports
                .iter()
                .zip(&unit.p_w)
                .zip(&unit.q_var)
                .enumerate()
            {
                let slack = forming_port.contains(&(r, port));
                if !slack {
                    add(&mut p, *bus, *pw);
                    add(&mut q, *bus, *qv);
                }
            }
        }
        for c in &self.converters {
            add(&mut p, c.from, c.p_from_w);
            add(&mut p, c.to, c.p_to_w);
            add(&mut q, c.from, c.q_from_var);
        }
        (p, q)
    }

    /// Solves island `k` with its former as slack and the injections `p`, `q`; writes its voltages and
    /// branch flows and returns what the slack delivers `(W, var)`, or `None` for a dark island (zeroed).
    fn solve_one(&mut self, k: usize, p: &[f64], q: &[f64]) -> Result<Option<(f64, f64)>> {
        let Some(island) = self.islands.get(k) else {
            return Ok(None);
        };
        let (slack_bus, vm) = match island.former {
            Former::Grid => match &self.grid {
                Some(g) => (g.bus, g.vm_pu),
                None => return Ok(None),
            },
            Former::Hub(h) => match self.hubs.get(h) {
                Some(hub) => (hub.storage.bus, 1.0),
                None => return Ok(None),
            },
            Former::Router { router, port } => {
                match self.routers.get(router).and_then(|r| r.ports.get(port)) {
                    Some(bus) => (*bus, 1.0),
                    None => return Ok(None),
                }
            }
            Former::None => {
                for b in island.buses.clone() {
                    if let Some(bus) = self.buses.get_mut(b) {
                        bus.vm_pu = 0.0;
                    }
                }
                for br in island.branches.clone() {
                    if let Some(x) = self.branches.get_mut(br) {
                        x.p_from_w = 0.0;
                        x.q_from_var = 0.0;
                        x.loss_w = 0.0;
                    }
                }
                return Ok(None);
            }
        };
        let buses = island.buses.clone();
        let branches = island.branches.clone();
        let slack = buses.iter().position(|b| *b == slack_bus).unwrap_or(0);
        let at = |v: &[f64], b: &usize| v.get(*b).copied().unwrap_or(0.0);
        let inj_p: Vec<f64> = buses.iter().map(|b| at(p, b)).collect();
        let inj_q: Vec<f64> = buses.iter().map(|b| at(q, b)).collect();
        let flow = solve_island(
            self.base_mva,
            &self.buses,
            &self.branches,
            &buses,
            &branches,
            &inj_p,
            &inj_q,
            slack,
            vm,
        )?;
        for (b, v) in buses.iter().zip(&flow.vm_pu) {
            if let Some(bus) = self.buses.get_mut(*b) {
                bus.vm_pu = *v;
            }
        }
        for (br, (fp, fq, loss)) in branches.iter().zip(&flow.branch_flows) {
            if let Some(x) = self.branches.get_mut(*br) {
                x.p_from_w = *fp;
                x.q_from_var = *fq;
                x.loss_w = *loss;
            }
        }
        Ok(Some((flow.slack_p_w, flow.slack_q_var)))
    }

    fn zero(&mut self, e: ElementRef) {
        match e {
            ElementRef::Load(i) => {
                if let Some(x) = self.loads.get_mut(i) {
                    x.p_w = 0.0;
                    x.q_var = 0.0;
                }
            }
            ElementRef::Pv(i) => {
                if let Some(x) = self.pvs.get_mut(i) {
                    x.p_w = 0.0;
                }
            }
            ElementRef::Diesel(i) => {
                if let Some(x) = self.diesels.get_mut(i) {
                    x.p_w = 0.0;
                }
            }
            ElementRef::Battery(i) => {
                if let Some(x) = self.batteries.get_mut(i) {
                    x.p_w = 0.0;
                    x.q_var = 0.0;
                }
            }
            ElementRef::Hub(i) => {
                if let Some(x) = self.hubs.get_mut(i) {
                    x.storage.p_w = 0.0;
                    x.storage.q_var = 0.0;
                }
            }
            ElementRef::Der(i) => {
                if let Some(x) = self.ders.get_mut(i) {
                    x.p_w = 0.0;
                    x.q_var = 0.0;
                }
            }
        }
    }

    /// Chooses what forms each island: the public network where it is connected; else an energy router's
    /// forming port facing it, when the router is enabled, not in NG-R5 and its network port's island is
    /// formed by the network; else the first enabled, grid-forming hub with charge (unless the island
    /// tripped on frequency); else nothing. A hub taking over starts the island's frequency dynamics from the
    /// hubs' present outputs; anything else forming ends them.
    fn choose_formers(&mut self) -> Result<()> {
        let count = self.islands.len();
        let mut chosen = vec![Former::None; count];
        for (k, slot) in chosen.iter_mut().enumerate() {
            let grid_here = self.grid.as_ref().is_some_and(|g| {
                g.connected && self.buses.get(g.bus).is_some_and(|b| b.island == k)
            });
            if grid_here {
                *slot = Former::Grid;
                if let Some(i) = self.islands.get_mut(k) {
                    i.tripped = false;
                }
            }
        }
        let island_of = |model: &Microgrid, bus: usize| model.buses.get(bus).map(|b| b.island);
        let now = self.elapsed_s();
        for r in 0..self.routers.len() {
            let Some(unit) = self.routers.get(r) else {
                continue;
            };
            let network_formed = unit
                .ports
                .first()
                .and_then(|b| island_of(self, *b))
                .is_some_and(|i| chosen.get(i) == Some(&Former::Grid));
            let may = unit.enabled && unit.mode != 5 && network_formed;
            let mut forming = vec![false; unit.ports.len()];
            for (port, bus) in unit.ports.iter().enumerate().skip(1) {
                let waiting = unit.retry_at_s.get(port).is_some_and(|t| now < *t);
                if !(may && unit.forms.get(port).copied().unwrap_or(false)) || waiting {
                    continue;
                }
                if let Some(i) = island_of(self, *bus)
                    && chosen.get(i) == Some(&Former::None)
                    && let Some(slot) = chosen.get_mut(i)
                {
                    *slot = Former::Router { router: r, port };
                    if let Some(f) = forming.get_mut(port) {
                        *f = true;
                    }
                }
            }
            if let Some(unit) = self.routers.get_mut(r) {
                unit.forming = forming;
            }
        }
        for (k, slot) in chosen.iter_mut().enumerate() {
            let tripped = self.islands.get(k).is_some_and(|i| i.tripped);
            if *slot == Former::None && !tripped {
                *slot = self
                    .capable_hubs(k)
                    .first()
                    .map_or(Former::None, |h| Former::Hub(*h));
            }
        }
        for (k, former) in chosen.into_iter().enumerate() {
            self.set_former(k, former)?;
        }
        Ok(())
    }

    /// The hubs of island `k` that can form it: enabled, grid forming, with charge, connected.
    fn capable_hubs(&self, k: usize) -> Vec<usize> {
        // Open relays found once, not scanned for every hub (a feeder has thousands of each).
        let off = self.held_off();
        self.hubs
            .iter()
            .enumerate()
            .filter(|(i, h)| {
                self.buses.get(h.storage.bus).is_some_and(|b| b.island == k)
                    && h.grid_forming
                    && h.storage.enabled
                    && h.storage.soc > 0.0
                    && !off.contains(&ElementRef::Hub(*i))
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// Makes `former` form island `k`: frequency dynamics started when hubs take over, ended otherwise; a
    /// change is logged.
    fn set_former(&mut self, k: usize, former: Former) -> Result<()> {
        let nominal = self.nominal_hz;
        let mut dynamics = None;
        if let Former::Hub(_) = former {
            let capable = self.capable_hubs(k);
            let same = self
                .islands
                .get(k)
                .and_then(|i| i.dynamics.as_ref())
                .is_some_and(|(_, members)| *members == capable);
            if !same {
                let mut d = FrequencyDynamics::new(nominal, 0.0, 0.0);
                for h in &capable {
                    if let Some(hub) = self.hubs.get(*h) {
                        d.add_hub(hub.storage.rating_w, hub.settings, hub.storage.p_w)?;
                    }
                }
                dynamics = Some((d, capable));
            }
        }
        let Some(island) = self.islands.get_mut(k) else {
            return Ok(());
        };
        let before = island.former;
        island.former = former;
        match former {
            Former::Grid | Former::Router { .. } => {
                island.dynamics = None;
                island.frequency_hz = nominal;
            }
            Former::None => {
                island.dynamics = None;
                island.frequency_hz = 0.0;
            }
            Former::Hub(_) => {
                if dynamics.is_some() {
                    island.dynamics = dynamics;
                }
                if island.frequency_hz == 0.0 {
                    island.frequency_hz = nominal;
                }
            }
        }
        if before != former {
            let at = self.elapsed_s();
            self.log(at, format!("island {k} formed by {former:?}"));
        }
        Ok(())
    }

    /// A router by name.
    ///
    /// # Errors
    /// [`Error::UnknownElement`].
    pub fn router_mut(&mut self, name: &str) -> Result<&mut RouterUnit> {
        self.routers
            .iter_mut()
            .find(|r| r.name == name)
            .ok_or_else(|| unknown("router", name))
    }

    /// A hub by name.
    ///
    /// # Errors
    /// [`Error::UnknownElement`].
    pub fn hub_mut(&mut self, name: &str) -> Result<&mut Hub> {
        self.hubs
            .iter_mut()
            .find(|h| h.storage.name == name)
            .ok_or_else(|| unknown("hub", name))
    }

    /// A DER by name.
    ///
    /// # Errors
    /// [`Error::UnknownElement`].
    pub fn der_mut(&mut self, name: &str) -> Result<&mut Der> {
        self.ders
            .iter_mut()
            .find(|d| d.name == name)
            .ok_or_else(|| unknown("der", name))
    }

    /// A converter by name.
    ///
    /// # Errors
    /// [`Error::UnknownElement`].
    pub fn converter_mut(&mut self, name: &str) -> Result<&mut Converter> {
        self.converters
            .iter_mut()
            .find(|c| c.name == name)
            .ok_or_else(|| unknown("converter", name))
    }

    /// A meter by name.
    ///
    /// # Errors
    /// [`Error::UnknownElement`].
    pub fn meter(&self, name: &str) -> Result<&Meter> {
        self.meters
            .iter()
            .find(|m| m.name == name)
            .ok_or_else(|| unknown("meter", name))
    }

    /// A relay by name.
    ///
    /// # Errors
    /// [`Error::UnknownElement`].
    pub fn relay(&self, name: &str) -> Result<&Relay> {
        self.relays
            .iter()
            .find(|r| r.name == name)
            .ok_or_else(|| unknown("relay", name))
    }

    /// Commands a relay open or closed (counted as an operation when it moves); closing resets its trip
    /// cause and its overcurrent element.
    ///
    /// # Errors
    /// [`Error::UnknownElement`].
    pub fn command_relay(&mut self, name: &str, close: bool) -> Result<()> {
        let at = self.elapsed_s();
        let relay = self
            .relays
            .iter_mut()
            .find(|r| r.name == name)
            .ok_or_else(|| unknown("relay", name))?;
        if relay.closed == close {
            return Ok(());
        }
        relay.closed = close;
        relay.operations = relay.operations.saturating_add(1);
        relay.progress = 0.0;
        relay.cause = if close {
            TripCause::None
        } else {
            TripCause::Command
        };
        let what = format!(
            "relay {name} {} by command",
            if close { "closed" } else { "opened" }
        );
        self.log(at, what);
        Ok(())
    }

    /// Sets a relay's pickup current, A.
    ///
    /// # Errors
    /// [`Error::UnknownElement`], or [`Error::Command`] for a pickup that is not positive.
    pub fn set_relay_pickup(&mut self, name: &str, pickup_a: f64) -> Result<()> {
        if !(pickup_a.is_finite() && pickup_a > 0.0) {
            return Err(Error::Command {
                element: name.to_owned(),
                reason: format!("pickup {pickup_a} A is not positive"),
            });
        }
        let relay = self
            .relays
            .iter_mut()
            .find(|r| r.name == name)
            .ok_or_else(|| unknown("relay", name))?;
        relay.overcurrent.pickup_a = pickup_a;
        Ok(())
    }
}

fn unknown(kind: &'static str, name: &str) -> Error {
    Error::UnknownElement {
        kind,
        name: name.to_owned(),
    }
}

/// Seconds since the Unix epoch of a timestamp.
fn unix_seconds(t: Timestamp) -> f64 {
    // Milliseconds since 1970 fit an f64 exactly for any date a simulation uses.
    #[allow(clippy::cast_precision_loss)]
    let ms = t.unix_ms() as f64;
    ms / 1000.0
}
