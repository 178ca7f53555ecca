//! Modbus/SunSpec devices whose points read from and write to the microgrid model: the register map and the
//! write checks (symbols, limits, reversion) of a shipped IDEA profile (`modbus_profiles::simulator`), with
//! the profile's own stand-in behaviour (measurements following setpoints, integrations) replaced by the
//! model. Measurements are read from the model before every answer; setpoints are applied to the model as
//! they are written (and when a reversion returns them to their defaults).

use crate::error::{Error, Result};
use crate::fault::{Fault, Faults};
use crate::grid::{SharedGrid, TripCause, lock, position_at};
use modbus_profiles::frame::{DeviceIdObject, ExceptionCode};
use modbus_profiles::server::{Registers, Table};
use modbus_profiles::simulator::{DeviceSlot, Profile, SimulatedDevice};
use modbus_profiles::sunspec::{Catalog, PointType};
use std::time::Instant;

/// Which model element a device is, and which profile it speaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binding {
    /// An energy router (`modbus-router`, model 64900).
    Router(String),
    /// An energy hub (`modbus-hub`, model 64901).
    Hub(String),
    /// An AC/DC energy port on a converter (`modbus-port`, model 64902).
    Port(String),
    /// A rectiverter on a converter (`modbus-rectiverter`, model 64903).
    Rectiverter(String),
    /// A meter (`modbus-meter`, SunSpec 203).
    Meter(String),
    /// A relay (`modbus-relay`, model 64904).
    Relay(String),
    /// A DER inverter (`modbus-der`, SunSpec 701/702/704/705).
    Der(String),
}

impl Binding {
    /// The binding for an `idea serve` kind and a model element; `element` `None` takes the kind's element of
    /// the built-in demonstration topology.
    ///
    /// # Errors
    /// [`Error::Device`] for a kind that has no model behind it.
    pub fn for_kind(kind: &str, element: Option<&str>) -> Result<Binding> {
        let (make, default): (fn(String) -> Binding, &str) = match kind {
            "modbus-router" => (Binding::Router, "router"),
            "modbus-hub" => (Binding::Hub, "cell1.hub"),
            "modbus-port" => (Binding::Port, "cell1.port"),
            "modbus-rectiverter" => (Binding::Rectiverter, "cell3.rectiverter"),
            "modbus-meter" => (Binding::Meter, "cell1.meter"),
            "modbus-relay" => (Binding::Relay, "cell4.workshop.relay"),
            "modbus-der" => (Binding::Der, "cell3.der"),
            other => return Err(Error::Device(format!("{other} has no model element"))),
        };
        Ok(make(element.unwrap_or(default).to_owned()))
    }

    /// The shipped profile this device speaks.
    pub fn profile_name(&self) -> &'static str {
        match self {
            Binding::Router(_) => "modbus-router",
            Binding::Hub(_) => "modbus-hub",
            Binding::Port(_) => "modbus-port",
            Binding::Rectiverter(_) => "modbus-rectiverter",
            Binding::Meter(_) => "modbus-meter",
            Binding::Relay(_) => "modbus-relay",
            Binding::Der(_) => "modbus-der",
        }
    }

    /// The model element's name.
    pub fn element(&self) -> &str {
        match self {
            Binding::Router(n)
            | Binding::Hub(n)
            | Binding::Port(n)
            | Binding::Rectiverter(n)
            | Binding::Meter(n)
            | Binding::Relay(n)
            | Binding::Der(n) => n,
        }
    }
}

/// A Modbus device on the model.
#[derive(Debug)]
pub struct ModelDevice {
    registers: SimulatedDevice,
    binding: Binding,
    grid: SharedGrid,
    faults: Faults,
    /// The relay command last applied (a write of `Cmd` acts on a change only).
    relay_command: Option<f64>,
    /// A meter's counts when it was installed, Wh imported and exported (the profile's): its energy
    /// registers read these plus what the model has integrated since, so they never read 0 — SunSpec's
    /// "not accumulated" for an `acc32` — and never step back.
    energy_base: (f64, f64),
    /// The register image when device and model were last in step — setpoints pushed to the model or
    /// measurements pulled from it: a tick that leaves the image as it was (no reversion fired) has nothing
    /// to push.
    in_step: Vec<u16>,
    /// Where the element sits in its list of the model (checked by name at each use: the lists are public).
    at: Option<usize>,
    /// The points [`pull`](Self::pull) puts, in its order, each found in the map once (`None`: not in it).
    measured: Vec<(String, Option<DeviceSlot>)>,
}

/// A three-phase meter's per-phase points (SunSpec 203): current, voltage, power, apparent power, reactive
/// power, power factor.
const METER_PHASES: [[&str; 6]; 3] = [
    [
        "203.AphA",
        "203.PhVphA",
        "203.WphA",
        "203.VAphA",
        "203.VARphA",
        "203.PFphA",
    ],
    [
        "203.AphB",
        "203.PhVphB",
        "203.WphB",
        "203.VAphB",
        "203.VARphB",
        "203.PFphB",
    ],
    [
        "203.AphC",
        "203.PhVphC",
        "203.WphC",
        "203.VAphC",
        "203.VARphC",
        "203.PFphC",
    ],
];

/// The profile with the model in place of its stand-in behaviour; for a router, ports cut to the model's;
/// for a hub with a connection sensor (`sensor`), holding its connection allowed (SunSpec 64901 `ConnCtl`).
fn profile_for(binding: &Binding, ports: Option<usize>, sensor: bool) -> Result<Profile> {
    let mut profile =
        Profile::builtin(binding.profile_name()).map_err(|e| Error::Device(e.to_string()))?;
    profile.follow.clear();
    profile.integrate.clear();
    if sensor {
        for l in profile
            .limits
            .iter_mut()
            .filter(|l| l.point == "64901.ConnCtl")
        {
            l.max = Some(modbus_profiles::simulator::Bound::Value(1.0));
        }
    }
    if let Binding::Der(_) = binding {
        // The model's DER has a PV array and no battery: the storage capacity model would be a claim it
        // cannot keep.
        profile.models.retain(|m| m.id != 713);
    }
    if let Some(n) = ports {
        let beyond = |name: &str| {
            name.split_once("Prt[")
                .and_then(|(_, rest)| rest.split_once(']'))
                .and_then(|(k, _)| k.parse::<usize>().ok())
                .is_some_and(|k| k >= n)
        };
        for m in profile.models.iter_mut().filter(|m| m.id == 64900) {
            m.counts
                .insert("NPrt".into(), u16::try_from(n).unwrap_or(u16::MAX));
            m.values.retain(|k, _| !beyond(k));
            m.values.insert("NPrt".into(), serde_json::Value::from(n));
        }
        profile.limits.retain(|l| !beyond(&l.point));
        if let Some(r) = &mut profile.reversion {
            r.defaults.retain(|k, _| !beyond(k));
        }
    }
    Ok(profile)
}

impl ModelDevice {
    /// The device `binding` on `grid`, its SunSpec map at `base`.
    ///
    /// # Errors
    /// [`Error::UnknownElement`] when the model has no such element; [`Error::Device`] for a profile that
    /// does not build.
    pub fn new(
        binding: Binding,
        grid: SharedGrid,
        faults: Faults,
        base: u16,
    ) -> Result<ModelDevice> {
        let mut sensor = false;
        let ports = {
            let mut model = lock(&grid);
            let name = binding.element();
            match &binding {
                Binding::Router(_) => Some(model.router_mut(name)?.ports.len()),
                Binding::Hub(_) => {
                    sensor = model.hub_mut(name)?.connection.is_some();
                    None
                }
                Binding::Port(_) | Binding::Rectiverter(_) => {
                    model.converter_mut(name).map(|_| None)?
                }
                Binding::Meter(_) => model.meter(name).map(|_| None)?,
                Binding::Relay(_) => model.relay(name).map(|_| None)?,
                Binding::Der(_) => model.der_mut(name).map(|_| None)?,
            }
        };
        let catalog = Catalog::builtin().map_err(|e| Error::Device(e.to_string()))?;
        let registers = SimulatedDevice::new(profile_for(&binding, ports, sensor)?, &catalog, base)
            .map_err(|e| Error::Device(e.to_string()))?;
        let mut device = ModelDevice {
            registers,
            binding,
            grid,
            faults,
            relay_command: None,
            energy_base: (0.0, 0.0),
            in_step: Vec::new(),
            measured: Vec::new(),
            at: None,
        };
        if let Binding::Meter(_) = &device.binding {
            device.energy_base = (
                device.get("203.TotWhImp").unwrap_or(0.0),
                device.get("203.TotWhExp").unwrap_or(0.0),
            );
        }
        if let Binding::Relay(name) = &device.binding {
            // The topology sets the relay's pickup; the register starts from it.
            let pickup = lock(&device.grid).relay(name)?.overcurrent.pickup_a;
            device.put("64904.AMax", pickup);
        }
        device.push(false);
        device.pull();
        Ok(device)
    }

    /// The binding.
    pub fn binding(&self) -> &Binding {
        &self.binding
    }

    fn get(&self, point: &str) -> Option<f64> {
        self.registers.scaled(point).ok().flatten()
    }

    fn put(&mut self, point: &str, value: f64) {
        if let Err(e) = self.registers.put_scaled(point, value) {
            log::debug!("{}: {point} = {value}: {e}", self.binding.element());
        }
    }

    /// Applies the device's setpoints to the model; `written` when a client just wrote (relay commands act on
    /// writes only).
    fn push(&mut self, written: bool) {
        let name = self.binding.element().to_owned();
        let on = |v: Option<f64>| v.is_some_and(|v| v != 0.0);
        match self.binding.clone() {
            Binding::Router(_) => {
                let (enabled, mode, export) = (
                    on(self.get("64900.Ena")),
                    self.get("64900.Mode"),
                    self.get("64900.WMaxGrid"),
                );
                let ports = lock(&self.grid)
                    .router_mut(&name)
                    .map_or(0, |r| r.ports.len());
                let per_port: Vec<[Option<f64>; 4]> = (0..ports)
                    .map(|k| {
                        ["WSet", "VarSet", "WLimImp", "WLimExp"]
                            .map(|p| self.get(&format!("64900.Prt[{k}].{p}")))
                    })
                    .collect();
                let mut model = lock(&self.grid);
                if let Some(r) = element(&mut model.routers, &name, &mut self.at, |x| &x.name) {
                    r.enabled = enabled;
                    // The profile's symbols keep Mode within 1..=5.
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    if let Some(m) = mode {
                        r.mode = m as u8;
                    }
                    if let Some(w) = export {
                        r.grid_export_limit_w = w;
                    }
                    for (k, [w, var, imp, exp]) in per_port.into_iter().enumerate() {
                        let set = |v: &mut Vec<f64>, x: Option<f64>| {
                            if let (Some(slot), Some(x)) = (v.get_mut(k), x) {
                                *slot = x;
                            }
                        };
                        set(&mut r.setpoint_w, w);
                        set(&mut r.q_setpoint_var, var);
                        set(&mut r.limit_in_w, imp);
                        set(&mut r.limit_out_w, exp);
                    }
                }
            }
            Binding::Hub(_) => {
                let values = [
                    "Ena",
                    "GridForm",
                    "WSet",
                    "WMaxChaRte",
                    "WMaxDisChaRte",
                    "DroopHz",
                    "ConnCtl",
                    "ConnWSet",
                ]
                .map(|p| self.get(&format!("64901.{p}")));
                let mut model = lock(&self.grid);
                if let Some(h) = element(&mut model.hubs, &name, &mut self.at, |x| &x.storage.name)
                {
                    let [ena, form, wset, cha, dis, droop, hold, export] = values;
                    // Only a hub with a sensor takes HOLD: its profile refuses it otherwise.
                    h.hold_export_w = on(hold).then(|| export.unwrap_or(0.0));
                    h.storage.enabled = on(ena);
                    h.grid_forming = on(form);
                    h.storage.setpoint_w = wset.unwrap_or(0.0);
                    h.storage.max_charge_w = cha.unwrap_or(h.storage.rating_w).max(0.0);
                    h.storage.max_discharge_w = dis.unwrap_or(h.storage.rating_w).max(0.0);
                    if let Some(d) = droop.filter(|d| *d > 0.0) {
                        h.settings.droop = d / 100.0;
                    }
                }
            }
            Binding::Port(_) | Binding::Rectiverter(_) => {
                let model_id = if matches!(self.binding, Binding::Port(_)) {
                    64902
                } else {
                    64903
                };
                let [ena, wset, wmax, varset] =
                    ["Ena", "WSet", "WMax", "VarSet"].map(|p| self.get(&format!("{model_id}.{p}")));
                let mut model = lock(&self.grid);
                if let Some(c) = element(&mut model.converters, &name, &mut self.at, |x| &x.name) {
                    c.enabled = on(ena);
                    c.setpoint_w = wset.unwrap_or(0.0);
                    c.max_w = wmax.unwrap_or(c.rating_w);
                    c.q_setpoint_var = varset.unwrap_or(0.0);
                }
            }
            Binding::Relay(_) => {
                let command = self.get("64904.Cmd");
                let pickup = self.get("64904.AMax");
                let mut model = lock(&self.grid);
                if let Some(a) = pickup.filter(|a| *a > 0.0) {
                    let _ = model.set_relay_pickup(&name, a);
                }
                if written && command != self.relay_command {
                    if let Some(c) = command {
                        let _ = model.command_relay(&name, c != 0.0);
                    }
                    self.relay_command = command;
                }
            }
            Binding::Der(_) => {
                let limit_on = on(self.get("704.WMaxLimPctEna"));
                let limit = self.get("704.WMaxLimPct").unwrap_or(100.0);
                let vv_on = on(self.get("705.Ena"));
                let fw_on = on(self.get("711.Ena"));
                let fw = (
                    self.get("711.Ctl[0].DbOf"),
                    self.get("711.Ctl[0].KOf"),
                    self.get("711.Ctl[0].RspTms"),
                );
                let w_max = self.get("702.WMax").unwrap_or(0.0);
                let response = self.get("705.Crv[0].RspTms").unwrap_or(5.0);
                let points: Vec<(f64, f64)> = (0..4)
                    .filter_map(|k| {
                        let v = self.get(&format!("705.Crv[0].Pt[{k}].V"))?;
                        let q = self.get(&format!("705.Crv[0].Pt[{k}].Var"))?;
                        Some((v / 100.0, q / 100.0))
                    })
                    .collect();
                let mut model = lock(&self.grid);
                if let Some(d) = element(&mut model.ders, &name, &mut self.at, |x| &x.name) {
                    // SunSpec 711's over-frequency deadband (Hz) and droop (p.u.) as the 1547 droop.
                    d.freq_watt = match fw {
                        (Some(deadband_hz), Some(droop), response) if fw_on && droop > 0.0 => {
                            Some(ng_control::der::Droop {
                                deadband_hz,
                                droop,
                                response_time_s: response.unwrap_or(5.0),
                            })
                        }
                        _ => None,
                    };
                    d.max_share = if limit_on {
                        (limit / 100.0).clamp(0.0, 1.0)
                    } else {
                        1.0
                    };
                    // Var points are percent of WMax (DeptRef 1); the model's curve is on the rating.
                    let scale = if d.rating_va > 0.0 {
                        w_max / d.rating_va
                    } else {
                        0.0
                    };
                    let curve = ng_control::der::Curve::new(
                        points.iter().map(|(v, q)| (*v, q * scale)).collect(),
                    );
                    let changed = d.volt_var.as_ref().map(ng_control::der::Curve::points)
                        != curve.as_ref().map(ng_control::der::Curve::points);
                    if !vv_on {
                        d.volt_var = None;
                    } else if changed && curve.is_some() {
                        d.volt_var = curve;
                        d.lag = ng_control::der::FirstOrderLag::new(response, d.lag.value());
                    }
                }
            }
            Binding::Meter(_) => {}
        }
    }

    /// Reads the model's measurements into the registers (unless the device is stale).
    fn pull(&mut self) {
        if self.faults.stale() {
            return;
        }
        let name = self.binding.element();
        let base = self.energy_base;
        // The points are put in the same order every time: each is found in the map once, and looked up
        // by name again only if the order changes (a router's ports, a point the model stops having).
        let mut values: Vec<f64> = Vec::with_capacity(self.measured.len());
        let mut renamed: Option<Vec<String>> = None;
        let measured = &self.measured;
        let mut put = |point: &str, v: f64| {
            let i = values.len();
            if renamed.is_none() && measured.get(i).is_none_or(|(known, _)| known != point) {
                renamed = Some(measured.iter().take(i).map(|(n, _)| n.clone()).collect());
            }
            if let Some(names) = &mut renamed {
                names.push(point.to_owned());
            }
            values.push(v);
        };
        {
            let mut model = lock(&self.grid);
            match &self.binding {
                Binding::Router(_) => {
                    if let Some(r) = element(&mut model.routers, name, &mut self.at, |x| &x.name) {
                        let state = if !r.enabled {
                            0.0
                        } else if r.limiting {
                            2.0
                        } else {
                            1.0
                        };
                        for (k, (p, q)) in r.p_w.iter().zip(&r.q_var).enumerate() {
                            put(&format!("64900.Prt[{k}].W"), *p);
                            put(&format!("64900.Prt[{k}].Var"), *q);
                        }
                        put("64900.St", state);
                    }
                }
                Binding::Hub(_) => {
                    if let Some(h) =
                        element(&mut model.hubs, name, &mut self.at, |x| &x.storage.name)
                    {
                        let (bus, p, soc, enabled, connection) = (
                            h.storage.bus,
                            h.storage.p_w,
                            h.storage.soc,
                            h.storage.enabled,
                            h.connection,
                        );
                        // Its connection sensor's reading, exporting positive; none without a sensor.
                        if let Some(export) = connection
                            .and_then(|(m, sign)| model.meters.get(m).map(|m| -sign * m.p_w))
                        {
                            put("64901.ConnW", export);
                        }
                        put("64901.W", p);
                        put("64901.SoC", soc * 100.0);
                        put("64901.Hz", model.bus_frequency_hz(bus));
                        put("64901.V", phase_volts(&model, bus));
                        put("64901.St", if enabled { 1.0 } else { 0.0 });
                    }
                }
                Binding::Port(_) | Binding::Rectiverter(_) => {
                    if let Some(c) = element(&mut model.converters, name, &mut self.at, |x| &x.name)
                    {
                        let c = c.clone();
                        let (v_from, v_to) = (model.bus_volts(c.from), model.bus_volts(c.to));
                        let a_to = model.current_a(c.to, c.p_to_w, 0.0);
                        if matches!(self.binding, Binding::Port(_)) {
                            put("64902.W", c.p_to_w);
                            put("64902.Var", c.q_from_var);
                            put("64902.VAC", v_from);
                            put("64902.VDC", v_to);
                            put("64902.ADC", a_to);
                            put("64902.Hz", model.bus_frequency_hz(c.from));
                            put("64902.St", if c.enabled { 1.0 } else { 0.0 });
                        } else {
                            put("64903.W", c.p_to_w);
                            put("64903.VA", v_from);
                            put("64903.VB", v_to);
                            put("64903.AA", model.current_a(c.from, c.p_from_w, 0.0));
                            put("64903.AB", a_to);
                            put("64903.St", if c.enabled { 1.0 } else { 0.0 });
                        }
                    }
                }
                Binding::Meter(_) => {
                    if let Some(m) = element(&mut model.meters, name, &mut self.at, |x| &x.name) {
                        let m = m.clone();
                        let va = m.p_w.hypot(m.q_var);
                        let amps = model.current_a(m.bus, m.p_w, m.q_var);
                        let phase = phase_volts(&model, m.bus);
                        let line = model.bus_volts(m.bus);
                        put("203.W", m.p_w);
                        put("203.VAR", m.q_var);
                        put("203.VA", va);
                        put("203.PF", if va > 0.0 { m.p_w.abs() / va } else { 1.0 });
                        put("203.A", amps * 3.0);
                        put("203.PhV", phase);
                        put("203.PPV", line);
                        put("203.Hz", model.bus_frequency_hz(m.bus));
                        let pf = if va > 0.0 { m.p_w.abs() / va } else { 1.0 };
                        for [a, v, w, s, q, f] in METER_PHASES {
                            put(a, amps);
                            put(v, phase);
                            put(w, m.p_w / 3.0);
                            put(s, va / 3.0);
                            put(q, m.q_var / 3.0);
                            put(f, pf);
                        }
                        for pair in ["203.PhVphAB", "203.PhVphBC", "203.PhVphCA"] {
                            put(pair, line);
                        }
                        put("203.TotWhImp", (base.0 + m.import_wh).floor());
                        put("203.TotWhExp", (base.1 + m.export_wh).floor());
                    }
                }
                Binding::Relay(_) => {
                    if let Some(r) = element(&mut model.relays, name, &mut self.at, |x| &x.name) {
                        let closed = if r.closed { 1.0 } else { 0.0 };
                        put("64904.Pos", closed);
                        put("64904.Cmd", closed);
                        put("64904.A", r.current_a);
                        put("64904.Ops", f64::from(r.operations));
                        put(
                            "64904.Trip",
                            match r.cause {
                                TripCause::None => 0.0,
                                TripCause::Overcurrent => 1.0,
                                TripCause::Command => 2.0,
                            },
                        );
                        self.relay_command = Some(closed);
                    }
                }
                Binding::Der(_) => {
                    if let Some(d) = element(&mut model.ders, name, &mut self.at, |x| &x.name) {
                        let (bus, p, q) = (d.bus, d.p_w, d.q_var);
                        let va = p.hypot(q);
                        let amps = model.current_a(bus, p, q);
                        put("701.W", p);
                        put("701.Var", q);
                        put("701.VA", va);
                        put("701.PF", if va > 0.0 { p / va } else { 1.0 });
                        put("701.A", amps);
                        put("701.LLV", model.bus_volts(bus));
                        put("701.LNV", phase_volts(&model, bus));
                        put("701.Hz", model.bus_frequency_hz(bus));
                    }
                }
            }
        }
        if renamed.is_none() && values.len() < self.measured.len() {
            renamed = Some(
                self.measured
                    .iter()
                    .take(values.len())
                    .map(|(n, _)| n.clone())
                    .collect(),
            );
        }
        if let Some(names) = renamed {
            let registers = &self.registers;
            let element = self.binding.element();
            self.measured = names
                .into_iter()
                .map(|point| {
                    let slot = registers
                        .slot(&point)
                        .map_err(|e| log::debug!("{element}: {point}: {e}"))
                        .ok();
                    (point, slot)
                })
                .collect();
        }
        let found = self
            .measured
            .iter()
            .zip(values)
            .filter_map(|((_, slot), v)| Some((slot.as_ref()?, v)));
        if let Err(e) = self.registers.put_scaled_slots(found) {
            log::debug!("{}: {e}", self.binding.element());
        }
        self.remember_in_step();
    }

    /// Notes the register image as in step with the model (what [`Registers::tick`] compares with).
    fn remember_in_step(&mut self) {
        self.in_step.clear();
        self.in_step
            .extend_from_slice(self.registers.register_image());
    }
}

/// The element named `name` in `items`, found where it was last ([`position_at`]).
fn element<'a, T>(
    items: &'a mut [T],
    name: &str,
    hint: &mut Option<usize>,
    name_of: impl Fn(&T) -> &str,
) -> Option<&'a mut T> {
    let at = position_at(items, name, hint, name_of)?;
    items.get_mut(at)
}

/// Line-to-neutral voltage at an AC bus (the DC voltage at a DC bus), V.
fn phase_volts(model: &crate::grid::Microgrid, bus: usize) -> f64 {
    let v = model.bus_volts(bus);
    if model.buses.get(bus).is_some_and(|b| b.dc) {
        v
    } else {
        v / 3f64.sqrt()
    }
}

impl ModelDevice {
    /// The device faults of the map itself: every scale factor one higher (values read ten times too
    /// large), or the first model's length one more than it is (the chain runs off its models).
    fn misread(&self, address: u16, out: &mut [u16]) {
        let device = self.registers.device();
        let mut put = |at: u16, change: &dyn Fn(u16) -> u16| {
            if let Some(slot) = at
                .checked_sub(address)
                .and_then(|i| out.get_mut(usize::from(i)))
            {
                *slot = change(*slot);
            }
        };
        if self.faults.is_on(Fault::WrongScaleFactor) {
            for model in device.models() {
                for (_, point) in model.points() {
                    if point.def.kind == PointType::Sunssf
                        && point.registers.first().is_some_and(|r| *r != 0x8000)
                    {
                        put(point.address, &|v| v.wrapping_add(1));
                    }
                }
            }
        }
        if self.faults.is_on(Fault::BrokenModelChain)
            && let Some(first) = device.models().first()
        {
            put(first.address().wrapping_add(1), &|v| v.wrapping_add(1));
        }
    }
}

impl Registers for ModelDevice {
    fn read(
        &mut self,
        table: Table,
        address: u16,
        out: &mut [u16],
    ) -> std::result::Result<(), ExceptionCode> {
        self.pull();
        self.registers.read(table, address, out)?;
        if self.faults.is_on(Fault::WrongScaleFactor) || self.faults.is_on(Fault::BrokenModelChain)
        {
            self.misread(address, out);
        }
        Ok(())
    }

    fn write(&mut self, address: u16, values: &[u16]) -> std::result::Result<(), ExceptionCode> {
        self.registers.write(address, values)?;
        self.push(true);
        self.pull();
        Ok(())
    }

    fn identification(&self) -> Vec<DeviceIdObject> {
        self.registers.identification()
    }

    fn poll_timeout(&self, now: Instant) -> Option<Instant> {
        self.registers.poll_timeout(now)
    }

    fn tick(&mut self, now: Instant) {
        // Reversion may return setpoints to their defaults: the model follows. A tick of registers that had
        // nothing to do over time changes none, and one that changed none has nothing to apply.
        let idle = self.registers.poll_timeout(now).is_none();
        self.registers.tick(now);
        if !idle && self.registers.register_image() != self.in_step.as_slice() {
            self.push(false);
            self.remember_in_step();
        }
    }
}
