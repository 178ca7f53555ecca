//! A simulated device: a profile's SunSpec map served as [`Registers`], with behaviour behind it.

use super::profile::{Bound, PointRef, Profile};
use crate::Error;
use crate::frame::{DeviceIdObject, ExceptionCode};
use crate::server::{Registers, Table};
use crate::sunspec::{Access, Catalog, Device, Model, PointSlot, PointType, SUNS, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Shortest interval between two behaviour updates.
const TICK: Duration = Duration::from_millis(20);

/// A point of a [`SimulatedDevice`] found once ([`SimulatedDevice::slot`]), to be put many times without its
/// name being looked up ([`SimulatedDevice::put_scaled_slots`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSlot {
    point: String,
    model: u16,
    slot: PointSlot,
}

impl DeviceSlot {
    /// The point's name, `"701.W"`.
    pub fn point(&self) -> &str {
        &self.point
    }
}

/// A profile's device, with its register map and behaviour.
#[derive(Debug)]
pub struct SimulatedDevice {
    profile: Profile,
    device: Device,
    map: Vec<u16>,
    last_tick: Option<Instant>,
    reversion_deadline: Option<Instant>,
    reversion_pending: bool,
    /// Exact values of followed and integrated points (their registers hold them rounded to the scale).
    exact: BTreeMap<String, f64>,
}

impl SimulatedDevice {
    /// Builds the device of `profile` at `base`.
    ///
    /// # Errors
    /// [`Error::Invalid`] or [`Error::Model`] when the profile names unknown models or points, or values
    /// the points cannot hold.
    pub fn new(profile: Profile, catalog: &Catalog, base: u16) -> Result<Self, Error> {
        let mut models = Vec::new();
        for spec in &profile.models {
            let def = catalog.get(spec.id).ok_or_else(|| Error::Invalid {
                field: "profile",
                reason: format!("{}: model {} is not in the catalog", profile.name, spec.id),
            })?;
            let counts: Vec<(&str, u16)> =
                spec.counts.iter().map(|(k, v)| (k.as_str(), *v)).collect();
            let mut model = Model::new(def.clone(), 0, &counts)?;
            // Scale factors first: scaled values depend on them.
            let (factors, rest): (Vec<_>, Vec<_>) = spec.values.iter().partition(|(path, _)| {
                model
                    .point(path)
                    .is_ok_and(|p| p.def.kind == PointType::Sunssf)
            });
            for (path, value) in factors.into_iter().chain(rest) {
                put_json(&mut model, path, value).map_err(|e| Error::Invalid {
                    field: "profile",
                    reason: format!("{}: {}.{path}: {e}", profile.name, spec.id),
                })?;
            }
            models.push(model);
        }
        let device = Device::new(base, models)?;
        let map = device.registers();
        let mut sim = Self {
            profile,
            device,
            map,
            last_tick: None,
            reversion_deadline: None,
            reversion_pending: false,
            exact: BTreeMap::new(),
        };
        // Check every point the behaviour names, once, here.
        for name in sim.named_points() {
            sim.scaled(&name).map_err(|e| Error::Invalid {
                field: "profile",
                reason: format!("{name}: {e}"),
            })?;
        }
        sim.tick_at(None);
        Ok(sim)
    }

    /// The device (its models and current values).
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The profile.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// A point's engineering value, `"701.W"`.
    ///
    /// # Errors
    /// [`Error::Invalid`] for an unknown point.
    pub fn scaled(&self, point: &str) -> Result<Option<f64>, Error> {
        let at = PointRef::parse(point)?;
        self.device
            .model(at.model)
            .ok_or_else(|| Error::Invalid {
                field: "point",
                reason: format!("no model {}", at.model),
            })?
            .get_scaled(&at.path)
    }

    /// Sets a point's engineering value from the device side (a measurement changing).
    ///
    /// # Errors
    /// [`Error::Invalid`] for an unknown point or a value it cannot hold.
    pub fn put_scaled(&mut self, point: &str, value: f64) -> Result<(), Error> {
        self.exact.remove(point);
        self.store_scaled(point, value)?;
        self.refresh();
        Ok(())
    }

    /// Sets several points' engineering values from the device side at once (a model's measurements), the
    /// register map refreshed once; every point is tried, and the first failure is returned with its name.
    ///
    /// # Errors
    /// [`Error::Invalid`] for an unknown point or a value it cannot hold (the others are still set).
    pub fn put_scaled_all<'a>(
        &mut self,
        values: impl IntoIterator<Item = (&'a str, f64)>,
    ) -> Result<(), Error> {
        let mut first = None;
        for (point, value) in values {
            self.exact.remove(point);
            if let Err(e) = self.store_scaled(point, value) {
                first.get_or_insert(e);
            }
        }
        self.refresh();
        first.map_or(Ok(()), Err)
    }

    /// The point `"MODEL.PATH"`, found once to be put many times with
    /// [`put_scaled_slots`](Self::put_scaled_slots).
    ///
    /// # Errors
    /// [`Error::Invalid`] for an unknown point.
    pub fn slot(&self, point: &str) -> Result<DeviceSlot, Error> {
        let at = PointRef::parse(point)?;
        let slot = self
            .device
            .model(at.model)
            .ok_or_else(|| Error::Invalid {
                field: "point",
                reason: format!("no model {}", at.model),
            })?
            .slot(&at.path)?;
        Ok(DeviceSlot {
            point: point.to_owned(),
            model: at.model,
            slot,
        })
    }

    /// [`put_scaled_all`](Self::put_scaled_all) at points found before: every point is tried, the map is
    /// refreshed once, and the first failure is returned with its point's name.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a value a point cannot hold, or a slot of another device (the others are still
    /// set).
    pub fn put_scaled_slots<'a>(
        &mut self,
        values: impl IntoIterator<Item = (&'a DeviceSlot, f64)>,
    ) -> Result<(), Error> {
        let mut first = None;
        for (slot, value) in values {
            if !self.exact.is_empty() {
                self.exact.remove(&slot.point);
            }
            let stored = match self.device.model_mut(slot.model) {
                Some(model) => model.put_scaled_slot(&slot.slot, value),
                None => Err(Error::Invalid {
                    field: "point",
                    reason: format!("no model {}", slot.model),
                }),
            };
            if let Err(e) = stored {
                first.get_or_insert(Error::Invalid {
                    field: "point",
                    reason: format!("{}: {e}", slot.point),
                });
            }
        }
        self.refresh();
        first.map_or(Ok(()), Err)
    }

    /// Whether the device has no behaviour over time now — nothing followed, integrated or adopted, no
    /// reversion armed — so a tick has nothing to update (a model-driven device's registers are set from
    /// outside).
    fn idle(&self) -> bool {
        let p = &self.profile;
        p.follow.is_empty()
            && p.integrate.is_empty()
            && p.curve_adoption.is_empty()
            && !self.reversion_pending
            && self.reversion_deadline.is_none()
    }

    /// The holding registers as a client reads them, from the `SunS` marker on.
    pub fn register_image(&self) -> &[u16] {
        &self.map
    }

    /// Sets a point without copying it into the flat map: callers [`refresh`](Self::refresh) once after.
    fn store_scaled(&mut self, point: &str, value: f64) -> Result<(), Error> {
        let at = PointRef::parse(point)?;
        let model = self
            .device
            .model_mut(at.model)
            .ok_or_else(|| Error::Invalid {
                field: "point",
                reason: format!("no model {}", at.model),
            })?;
        model.put_scaled(&at.path, value)
    }

    fn named_points(&self) -> Vec<String> {
        let p = &self.profile;
        let mut names = Vec::new();
        let bound = |b: &Option<Bound>, names: &mut Vec<String>| {
            if let Some(Bound::Point(name)) = b {
                names.push(name.trim_start_matches('-').to_owned());
            }
        };
        for f in &p.follow {
            names.push(f.setpoint.clone());
            names.push(f.measurement.clone());
            names.extend(f.also.iter().map(|(n, _)| n.clone()));
            bound(&f.min, &mut names);
            bound(&f.max, &mut names);
        }
        for l in &p.limits {
            names.push(l.point.clone());
            bound(&l.min, &mut names);
            bound(&l.max, &mut names);
        }
        if let Some(r) = &p.reversion {
            names.push(r.timeout.clone());
            names.push(r.remaining.clone());
            names.extend(r.defaults.keys().cloned());
            names.extend(r.state.iter().map(|(n, _)| n.clone()));
        }
        for i in &p.integrate {
            names.push(i.rate.clone());
            names.push(i.into.clone());
        }
        for c in &p.curve_adoption {
            names.extend([c.request.clone(), c.result.clone(), c.curves.clone()]);
            names.extend(c.point_slots.clone());
        }
        names
    }

    /// Curve or control adoption: a requested curve (from 1) copied into the active one (the first), the
    /// result reported and the request cleared.
    fn adopt_curve(&mut self, c: &super::profile::CurveAdoption) {
        let value = |sim: &SimulatedDevice, path: &str| sim.scaled(path).ok().flatten();
        let request = value(self, &c.request).unwrap_or(0.0);
        if request == 0.0 {
            return;
        }
        let slots = c.point_slots.as_ref().map_or(0, |n| whole(value(self, n)));
        let asked = whole(Some(request));
        let curves = whole(value(self, &c.curves));
        let result = if (2..=curves).contains(&asked) {
            let from = asked.saturating_sub(1);
            let group = &c.group;
            let curve = |k: usize, name: &str| format!("{}.{group}[{k}].{name}", c.model);
            let slot =
                |k: usize, i: usize, name: &str| format!("{}.{group}[{k}].Pt[{i}].{name}", c.model);
            let mut copies: Vec<(String, String)> = c
                .curve_points
                .iter()
                .map(|name| (curve(from, name), curve(0, name)))
                .collect();
            for i in 0..slots {
                for name in &c.slot_points {
                    copies.push((slot(from, i, name), slot(0, i, name)));
                }
            }
            for (from, to) in copies {
                if let Some(v) = value(self, &from) {
                    let _ = self.store_scaled(&to, v);
                }
            }
            1.0
        } else {
            2.0
        };
        let _ = self.store_scaled(&c.result, result);
        let _ = self.store_scaled(&c.request, 0.0);
    }

    fn bound(&self, bound: Option<&Bound>) -> Option<f64> {
        match bound? {
            Bound::Value(v) => Some(*v),
            Bound::Point(name) => {
                let (sign, name) = name
                    .strip_prefix('-')
                    .map_or((1.0, name.as_str()), |n| (-1.0, n));
                self.scaled(name).ok().flatten().map(|v| sign * v)
            }
        }
    }

    /// A behaviour point's exact value: the one last computed, or its register value.
    fn exact_value(&self, point: &str) -> f64 {
        match self.exact.get(point) {
            Some(v) => *v,
            None => self.scaled(point).ok().flatten().unwrap_or(0.0),
        }
    }

    /// Copies every model's registers into the flat map.
    fn refresh(&mut self) {
        let mut at = SUNS.len();
        for model in self.device.models() {
            let regs = model.registers();
            if let Some(slot) = self.map.get_mut(at..at.saturating_add(regs.len())) {
                slot.copy_from_slice(regs);
            }
            at = at.saturating_add(regs.len());
        }
    }

    fn tick_at(&mut self, now: Option<Instant>) {
        let dt = match (now, self.last_tick) {
            (Some(now), Some(last)) => now.saturating_duration_since(last).as_secs_f64(),
            _ => 0.0,
        };
        if now.is_some() {
            self.last_tick = now;
        }
        // Reversion.
        if let (Some(reversion), Some(now)) = (self.profile.reversion.clone(), now) {
            if self.reversion_pending {
                self.reversion_pending = false;
                let timeout = self
                    .scaled(&reversion.timeout)
                    .ok()
                    .flatten()
                    .unwrap_or(0.0);
                self.reversion_deadline = if timeout > 0.0 {
                    now.checked_add(Duration::from_secs_f64(timeout.min(1e9)))
                } else {
                    None
                };
            }
            match self.reversion_deadline {
                Some(deadline) if now >= deadline => {
                    self.reversion_deadline = None;
                    for (point, value) in &reversion.defaults {
                        let _ = self.store_scaled(point, *value);
                    }
                    if let Some((point, value)) = &reversion.state {
                        let _ = self.store_scaled(point, *value);
                    }
                    let _ = self.store_scaled(&reversion.remaining, 0.0);
                }
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(now).as_secs_f64().ceil();
                    let _ = self.store_scaled(&reversion.remaining, left);
                }
                None => {}
            }
        }
        // Measurements follow setpoints.
        for follow in self.profile.follow.clone() {
            let Ok(Some(target)) = self.scaled(&follow.setpoint) else {
                continue;
            };
            let lo = self.bound(follow.min.as_ref()).unwrap_or(f64::NEG_INFINITY);
            let hi = self.bound(follow.max.as_ref()).unwrap_or(f64::INFINITY);
            let target = target.clamp(lo.min(hi), hi.max(lo));
            let current = self.exact_value(&follow.measurement);
            let next = if follow.tau_s <= 0.0 || now.is_none() {
                target
            } else {
                current + (target - current) * (1.0 - (-dt / follow.tau_s).exp())
            };
            self.exact.insert(follow.measurement.clone(), next);
            let _ = self.store_scaled(&follow.measurement, next);
            for (point, factor) in &follow.also {
                let _ = self.store_scaled(point, next * factor);
            }
        }
        // Curve adoption.
        for adoption in self.profile.curve_adoption.clone() {
            self.adopt_curve(&adoption);
        }
        // Integrations.
        for integrate in self.profile.integrate.clone() {
            let rate = self.exact_value(&integrate.rate);
            let value = self.exact_value(&integrate.into);
            let next = (value + integrate.gain * rate * dt).clamp(integrate.min, integrate.max);
            self.exact.insert(integrate.into.clone(), next);
            let _ = self.store_scaled(&integrate.into, next);
        }
        self.refresh();
    }

    /// Checks and applies a write; all or nothing.
    fn apply(&mut self, address: u16, values: &[u16]) -> Result<(), ExceptionCode> {
        let end = usize::from(address).saturating_add(values.len());
        let mut touched_setpoint = false;
        let mut next = self.device.clone();
        for model in next.models_mut() {
            let start = usize::from(model.address());
            let stop = start.saturating_add(model.registers().len());
            if end <= start || usize::from(address) >= stop {
                continue;
            }
            model.load(address, values);
            for (path, point) in model.points() {
                let p_start = usize::from(point.address);
                let p_end = p_start.saturating_add(point.registers.len());
                if p_end <= usize::from(address) || p_start >= end {
                    continue;
                }
                if point.def.access != Access::ReadWrite {
                    return Err(ExceptionCode::IllegalDataAddress);
                }
                // The active curve or control changes by adoption only (SunSpec 7xx: `ReadOnly` 1).
                if self
                    .profile
                    .curve_adoption
                    .iter()
                    .any(|c| c.model == model.id() && path.starts_with(&format!("{}[0].", c.group)))
                {
                    return Err(ExceptionCode::IllegalDataAddress);
                }
                let value = point.value();
                if !point.def.symbols.is_empty()
                    && value != Value::Absent
                    && !point
                        .def
                        .symbols
                        .iter()
                        .any(|s| Some(s.value) == value.as_i64())
                {
                    return Err(ExceptionCode::IllegalDataValue);
                }
                let name = format!("{}.{path}", model.id());
                if let Some(limit) = self.profile.limits.iter().find(|l| l.point == name) {
                    let v = point.scaled().ok_or(ExceptionCode::IllegalDataValue)?;
                    let lo = self.bound(limit.min.as_ref()).unwrap_or(f64::NEG_INFINITY);
                    let hi = self.bound(limit.max.as_ref()).unwrap_or(f64::INFINITY);
                    if v < lo - 1e-9 || v > hi + 1e-9 {
                        return Err(ExceptionCode::IllegalDataValue);
                    }
                }
                // A setpoint with a default, or the timeout itself (a client may write it after the
                // setpoint, in a request of its own), (re)arms the reversion timer.
                if self
                    .profile
                    .reversion
                    .as_ref()
                    .is_some_and(|r| r.defaults.contains_key(&name) || r.timeout == name)
                {
                    touched_setpoint = true;
                }
            }
        }
        self.device = next;
        if touched_setpoint {
            self.reversion_pending = true;
        }
        self.refresh();
        Ok(())
    }
}

impl Registers for SimulatedDevice {
    fn read(&mut self, _table: Table, address: u16, out: &mut [u16]) -> Result<(), ExceptionCode> {
        let start = usize::from(address)
            .checked_sub(usize::from(self.device.base()))
            .ok_or(ExceptionCode::IllegalDataAddress)?;
        let regs = self
            .map
            .get(start..start.saturating_add(out.len()))
            .ok_or(ExceptionCode::IllegalDataAddress)?;
        out.copy_from_slice(regs);
        Ok(())
    }

    fn write(&mut self, address: u16, values: &[u16]) -> Result<(), ExceptionCode> {
        let base = usize::from(self.device.base());
        let start = usize::from(address)
            .checked_sub(base)
            .ok_or(ExceptionCode::IllegalDataAddress)?;
        // "SunS", model headers and the end marker are never writable; `apply` checks every point.
        if start < SUNS.len()
            || start.saturating_add(values.len()) > self.map.len().saturating_sub(2)
        {
            return Err(ExceptionCode::IllegalDataAddress);
        }
        self.apply(address, values)?;
        // Measurements react at once to a new setpoint.
        self.tick_at(None);
        Ok(())
    }

    fn identification(&self) -> Vec<DeviceIdObject> {
        self.profile
            .identification
            .iter()
            .zip(0u8..)
            .map(|(value, id)| DeviceIdObject {
                id,
                value: value.as_bytes().to_vec(),
            })
            .collect()
    }

    fn tick(&mut self, now: Instant) {
        if self.idle() {
            self.last_tick = Some(now);
            return;
        }
        if self
            .last_tick
            .is_none_or(|last| now.saturating_duration_since(last) >= TICK)
            || self.reversion_pending
        {
            self.tick_at(Some(now));
        }
    }

    /// `None` while the device has no behaviour over time (nothing followed, integrated or adopted, no
    /// reversion armed); otherwise 20 ms after the last tick, or `now`.
    fn poll_timeout(&self, now: Instant) -> Option<Instant> {
        if self.idle() {
            return None;
        }
        Some(
            self.last_tick
                .and_then(|last| last.checked_add(TICK))
                .map_or(now, |next| next.max(now)),
        )
    }
}

fn put_json(model: &mut Model, path: &str, value: &serde_json::Value) -> Result<(), Error> {
    match value {
        serde_json::Value::Number(n) => {
            let v = n.as_f64().ok_or_else(|| Error::Invalid {
                field: "value",
                reason: format!("{n}"),
            })?;
            match model.point(path)?.def.kind {
                PointType::Sunssf => model.put(path, &Value::Int(n.as_i64().unwrap_or(0))),
                _ => model.put_scaled(path, v),
            }
        }
        serde_json::Value::String(s) => model.put(path, &Value::Text(s.clone())),
        serde_json::Value::Null => model.put(path, &Value::Absent),
        other => Err(Error::Invalid {
            field: "value",
            reason: format!("{other} is neither a number nor text"),
        }),
    }
}

/// A register count read as a number (`NPt`, `ActPt`, an index): a whole number within 0..=65535, else 0.
fn whole(v: Option<f64>) -> usize {
    match v {
        // Checked whole and within the 16 bits a register holds just here.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Some(v) if v.fract() == 0.0 && (0.0..=65535.0).contains(&v) => usize::from(v as u16),
        _ => 0,
    }
}
