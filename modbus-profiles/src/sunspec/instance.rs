//! One model as it sits in a device's register map: its registers, laid out by its definition (repeating
//! groups counted by fixed numbers, by other points or by the model length), with typed, scaled access to
//! every point by name.

use super::model::{Access, GroupCount, GroupDef, ModelDef, PointDef, PointType, ScaleFactor};
use super::value::{self, Value};
use crate::Error;
use std::sync::Arc;

/// Registers one write request (function 16) may carry.
pub const MAX_WRITE: usize = 123;

/// Where one group instance's points and nested groups sit, as offsets into the model's registers.
#[derive(Debug, Clone, PartialEq, Eq)]
struct GroupLayout {
    offset: usize,
    len: usize,
    /// Parallel to the definition's points; `None` when the model is too short to hold it (a trailing pad).
    points: Vec<Option<usize>>,
    /// Parallel to the definition's groups: the instances of each.
    groups: Vec<Vec<GroupLayout>>,
}

/// A write the model needs sent: `registers` at `address`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterWrite {
    /// First register address.
    pub address: u16,
    /// The values.
    pub registers: Vec<u16>,
}

/// A model instance: the registers from its `ID` to the end of its body, at `address`.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    def: Option<Arc<ModelDef>>,
    address: u16,
    regs: Vec<u16>,
    layout: Option<GroupLayout>,
    problem: Option<String>,
    dirty: Vec<(usize, usize)>,
}

/// One point of a model instance, ready to read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point<'a> {
    /// Its definition.
    pub def: &'a PointDef,
    /// Its first register's address.
    pub address: u16,
    /// Its registers.
    pub registers: &'a [u16],
    /// The scale factor in force: `Some(None)` when the point is not scaled, `None` when its scale factor
    /// point is not implemented.
    pub scale: Option<Option<i16>>,
}

/// A point found once in a model, to be put again and again without its path being looked up: a simulated
/// device's measurements, set before every answer. It belongs to the model that found it ([`Model::slot`]);
/// another model refuses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PointSlot {
    model: u16,
    len: usize,
    kind: PointType,
    size: u16,
    offset: usize,
    scale: ScaleSource,
}

/// Where a point's scale factor comes from, found with the point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScaleSource {
    Unscaled,
    Fixed(i16),
    /// A scale factor point at this offset.
    At(usize, PointType),
    /// The scale factor point named is not in the model.
    Missing,
}

impl Point<'_> {
    /// The value as stored (no scaling).
    pub fn value(&self) -> Value {
        value::decode(self.def.kind, self.registers)
    }

    /// The value with its scale factor applied (`raw × 10^sf`); `None` when absent or not a number, or when
    /// its scale factor is not implemented.
    pub fn scaled(&self) -> Option<f64> {
        let raw = self.value().as_f64()?;
        match self.scale? {
            None => Some(raw),
            // Dividing by an exact power of ten keeps 36 × 10^-3 at 0.036.
            Some(sf) if sf < 0 => Some(raw / 10f64.powi(i32::from(sf).saturating_neg())),
            Some(sf) => Some(raw * 10f64.powi(i32::from(sf))),
        }
    }

    /// The value as JSON: scaled when the point has a scale factor, `null` when absent.
    pub fn to_json(&self) -> serde_json::Value {
        match self.def.scale {
            ScaleFactor::None => self.value().to_json(),
            _ => self
                .scaled()
                .and_then(serde_json::Number::from_f64)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
        }
    }
}

impl Model {
    /// A model laid out from registers read off a device: `registers` start at its `ID` (`address`) and
    /// hold `2 + L` values. A model the catalog does not know (`def` is `None`) keeps its registers only.
    ///
    /// Registers that do not fit the definition (a count larger than the model) leave the model with a
    /// [`problem`](Self::problem) and no points, never a panic.
    pub fn from_registers(def: Option<Arc<ModelDef>>, address: u16, registers: Vec<u16>) -> Self {
        let mut model = Self {
            def,
            address,
            regs: registers,
            layout: None,
            problem: None,
            dirty: Vec::new(),
        };
        if let Some(def) = &model.def {
            match lay_out_model(def, &model.regs) {
                Ok(layout) => model.layout = Some(layout),
                Err(reason) => model.problem = Some(reason),
            }
        }
        model
    }

    /// A new instance of `def` at `address` with every point not implemented except `ID`, `L` and the
    /// counts given (`("NCrv", 4)`, …); the length follows from the counts.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a count naming no point, or a model longer than a register map can hold.
    pub fn new(def: Arc<ModelDef>, address: u16, counts: &[(&str, u16)]) -> Result<Self, Error> {
        let invalid = |reason: String| Error::Invalid {
            field: "counts",
            reason,
        };
        let mut regs = Vec::new();
        fill_absent(&def.root, &def.root.name, counts, &mut regs).map_err(invalid)?;
        let len = regs
            .len()
            .checked_sub(2)
            .and_then(|l| u16::try_from(l).ok())
            .ok_or_else(|| invalid("model too long".into()))?;
        if let [id, l, ..] = regs.as_mut_slice() {
            *id = def.id;
            *l = len;
        }
        let mut model = Self::from_registers(Some(def), address, regs);
        if let Some(problem) = model.problem.take() {
            return Err(invalid(problem));
        }
        Ok(model)
    }

    /// The model id.
    pub fn id(&self) -> u16 {
        self.regs.first().copied().unwrap_or(0)
    }

    /// The model length `L` (registers after `ID` and `L`).
    pub fn len(&self) -> u16 {
        self.regs.get(1).copied().unwrap_or(0)
    }

    /// Whether the model has no body.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The address of its `ID` register.
    pub fn address(&self) -> u16 {
        self.address
    }

    /// All its registers, from `ID`.
    pub fn registers(&self) -> &[u16] {
        &self.regs
    }

    /// Its definition, if the catalog knew it.
    pub fn def(&self) -> Option<&Arc<ModelDef>> {
        self.def.as_ref()
    }

    /// Moves the model to a new address (a device placing its models).
    pub(crate) fn relocate(&mut self, address: u16) {
        self.address = address;
    }

    /// Records why the model could not be read whole.
    pub(crate) fn set_problem(&mut self, problem: String) {
        self.problem = Some(problem);
    }

    /// Why the registers do not fit the definition, if they do not.
    pub fn problem(&self) -> Option<&str> {
        self.problem.as_deref()
    }

    /// The point at `path`: `W`, `Crv[1].Pt[0].V` (0-based instances; an index may be left out for a group
    /// that occurs once; the model's own name may lead: `DERVoltVar.Ena`).
    ///
    /// # Errors
    /// [`Error::Invalid`] naming what in the path does not exist.
    pub fn point(&self, path: &str) -> Result<Point<'_>, Error> {
        let found = self.locate(path)?;
        let Located {
            def, offset, scale, ..
        } = found;
        let end = offset.saturating_add(usize::from(def.size));
        let registers = self.regs.get(offset..end).ok_or_else(|| Error::Invalid {
            field: "point",
            reason: format!("{path}: beyond the model's length"),
        })?;
        Ok(Point {
            def,
            address: self.address_of(offset),
            registers,
            scale,
        })
    }

    /// Shorthand for [`point`](Self::point)`(path)?.value()`.
    ///
    /// # Errors
    /// As [`point`](Self::point).
    pub fn get(&self, path: &str) -> Result<Value, Error> {
        Ok(self.point(path)?.value())
    }

    /// Shorthand for [`point`](Self::point)`(path)?.scaled()`.
    ///
    /// # Errors
    /// As [`point`](Self::point).
    pub fn get_scaled(&self, path: &str) -> Result<Option<f64>, Error> {
        Ok(self.point(path)?.scaled())
    }

    /// Sets a writable (`RW`) point and marks it to be written; inside a `sync` group the whole group
    /// instance is written together.
    ///
    /// # Errors
    /// [`Error::Invalid`] for an unknown or read-only point or a value the type cannot hold.
    pub fn set(&mut self, path: &str, value: &Value) -> Result<(), Error> {
        let found = self.locate(path)?;
        if found.def.access != Access::ReadWrite {
            return Err(Error::Invalid {
                field: "point",
                reason: format!("{path} is read-only"),
            });
        }
        let range = found.sync_group.unwrap_or((
            found.offset,
            found.offset.saturating_add(usize::from(found.def.size)),
        ));
        self.store(found.def.kind, found.def.size, found.offset, value)?;
        self.dirty.push(range);
        Ok(())
    }

    /// Sets a writable point from an engineering value: `raw = round(value / 10^sf)`.
    ///
    /// # Errors
    /// As [`set`](Self::set), and when its scale factor is not implemented.
    pub fn set_scaled(&mut self, path: &str, value: f64) -> Result<(), Error> {
        let raw = self.raw_for(path, value)?;
        self.set(path, &raw)
    }

    /// Sets any point, writable or not, without marking it to be written: how a device fills its own map.
    ///
    /// # Errors
    /// [`Error::Invalid`] for an unknown point or a value the type cannot hold.
    pub fn put(&mut self, path: &str, value: &Value) -> Result<(), Error> {
        let found = self.locate(path)?;
        self.store(found.def.kind, found.def.size, found.offset, value)
    }

    /// [`put`](Self::put) from an engineering value.
    ///
    /// # Errors
    /// As [`put`](Self::put), and when its scale factor is not implemented.
    pub fn put_scaled(&mut self, path: &str, value: f64) -> Result<(), Error> {
        // Found once (a simulated device puts every measurement before each answer): the point, then its raw
        // value from the scale factor found with it.
        let (kind, size, offset, scale) = {
            let found = self.locate(path)?;
            (found.def.kind, found.def.size, found.offset, found.scale)
        };
        let raw = raw_value(path, kind, scale, value)?;
        self.store(kind, size, offset, &raw)
    }

    /// The point at `path`, found once to be put many times with [`put_scaled_slot`](Self::put_scaled_slot).
    ///
    /// # Errors
    /// As [`point`](Self::point).
    pub fn slot(&self, path: &str) -> Result<PointSlot, Error> {
        let found = self.locate(path)?;
        Ok(PointSlot {
            model: self.id(),
            len: self.regs.len(),
            kind: found.def.kind,
            size: found.def.size,
            offset: found.offset,
            scale: found.scale_source,
        })
    }

    /// [`put_scaled`](Self::put_scaled) at a point found before: the scale factor in force is read now.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a slot another model found, a scale factor not implemented, or a value the
    /// point's type cannot hold.
    pub fn put_scaled_slot(&mut self, slot: &PointSlot, value: f64) -> Result<(), Error> {
        if slot.model != self.id() || slot.len != self.regs.len() {
            return Err(Error::Invalid {
                field: "point",
                reason: format!(
                    "a slot of model {}, not of this model {}",
                    slot.model,
                    self.id()
                ),
            });
        }
        let scale = self.scale_value(slot.scale);
        let raw = raw_value("slot", slot.kind, scale, value)?;
        self.store(slot.kind, slot.size, slot.offset, &raw)
    }

    /// The writes the points [`set`](Self::set) since the last call need: overlapping and adjacent ranges
    /// merged, each at most [`MAX_WRITE`] registers.
    pub fn take_writes(&mut self) -> Vec<RegisterWrite> {
        let mut ranges = std::mem::take(&mut self.dirty);
        ranges.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::new();
        for (start, end) in ranges {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        let mut writes = Vec::new();
        for (start, end) in merged {
            let mut at = start;
            while at < end {
                let stop = end.min(at.saturating_add(MAX_WRITE));
                if let Some(registers) = self.regs.get(at..stop) {
                    writes.push(RegisterWrite {
                        address: self.address_of(at),
                        registers: registers.to_vec(),
                    });
                }
                at = stop;
            }
        }
        writes
    }

    /// Overwrites registers from `address` with `values` (fresh values read off the device, or a write
    /// received by a server), keeping the layout. Registers outside the model are ignored.
    pub fn load(&mut self, address: u16, values: &[u16]) {
        let Some(start) = usize::from(address).checked_sub(usize::from(self.address)) else {
            return;
        };
        for (slot, v) in self.regs.iter_mut().skip(start).zip(values) {
            *slot = *v;
        }
    }

    /// Every point, depth first in register order, with its path.
    pub fn points(&self) -> Vec<(String, Point<'_>)> {
        let mut out = Vec::new();
        if let (Some(def), Some(layout)) = (&self.def, &self.layout) {
            let mut scopes = Vec::new();
            self.collect(&def.root, layout, "", &mut scopes, &mut out);
        }
        out
    }

    /// The model as JSON: `id`, `name`, `address`, `length`, and its points (scaled where they have a scale
    /// factor, `null` when not implemented) with repeating groups as arrays.
    pub fn to_json(&self) -> serde_json::Value {
        let mut out = serde_json::Map::new();
        out.insert("id".into(), self.id().into());
        if let Some(def) = &self.def {
            out.insert("name".into(), def.name().into());
        }
        out.insert("address".into(), self.address.into());
        out.insert("length".into(), self.len().into());
        if let Some(problem) = &self.problem {
            out.insert("problem".into(), problem.as_str().into());
        }
        match (&self.def, &self.layout) {
            (Some(def), Some(layout)) => {
                let mut scopes = Vec::new();
                out.insert(
                    "points".into(),
                    self.group_json(&def.root, layout, &mut scopes),
                );
            }
            _ => {
                out.insert(
                    "registers".into(),
                    self.regs.get(2..).unwrap_or_default().into(),
                );
            }
        }
        serde_json::Value::Object(out)
    }

    fn group_json<'d>(
        &self,
        def: &'d GroupDef,
        layout: &'d GroupLayout,
        scopes: &mut Vec<(&'d GroupDef, &'d GroupLayout)>,
    ) -> serde_json::Value {
        scopes.push((def, layout));
        let mut out = serde_json::Map::new();
        for (p, at) in def.points.iter().zip(&layout.points) {
            let Some(at) = at else { continue };
            if let Some(point) = self.point_at(p, *at, scopes) {
                out.insert(p.name.clone(), point.to_json());
            }
        }
        for (g, instances) in def.groups.iter().zip(&layout.groups) {
            let mut items: Vec<_> = instances
                .iter()
                .map(|i| self.group_json(g, i, scopes))
                .collect();
            let value = match (&g.count, items.pop()) {
                (GroupCount::Fixed(1), Some(only)) => only,
                (_, last) => {
                    items.extend(last);
                    serde_json::Value::Array(items)
                }
            };
            out.insert(g.name.clone(), value);
        }
        scopes.pop();
        serde_json::Value::Object(out)
    }

    fn collect<'s>(
        &'s self,
        def: &'s GroupDef,
        layout: &'s GroupLayout,
        prefix: &str,
        scopes: &mut Vec<(&'s GroupDef, &'s GroupLayout)>,
        out: &mut Vec<(String, Point<'s>)>,
    ) {
        scopes.push((def, layout));
        for (p, at) in def.points.iter().zip(&layout.points) {
            if let Some(point) = at.and_then(|at| self.point_at(p, at, scopes)) {
                out.push((format!("{prefix}{}", p.name), point));
            }
        }
        for (g, instances) in def.groups.iter().zip(&layout.groups) {
            for (i, instance) in instances.iter().enumerate() {
                // A group that occurs once by definition is named without an index (`PFWInj.PF`).
                let name = if g.count == GroupCount::Fixed(1) {
                    format!("{prefix}{}.", g.name)
                } else {
                    format!("{prefix}{}[{i}].", g.name)
                };
                self.collect(g, instance, &name, scopes, out);
            }
        }
        scopes.pop();
    }

    fn point_at<'s>(
        &'s self,
        def: &'s PointDef,
        at: usize,
        scopes: &[(&GroupDef, &GroupLayout)],
    ) -> Option<Point<'s>> {
        let registers = self.regs.get(at..at.checked_add(usize::from(def.size))?)?;
        Some(Point {
            def,
            address: self.address_of(at),
            registers,
            scale: self.scale_of(def, scopes),
        })
    }

    fn scale_of(
        &self,
        def: &PointDef,
        scopes: &[(&GroupDef, &GroupLayout)],
    ) -> Option<Option<i16>> {
        self.scale_value(scale_source(def, scopes))
    }

    /// The scale factor in force: `Some(None)` for an unscaled point, `None` when not implemented.
    fn scale_value(&self, source: ScaleSource) -> Option<Option<i16>> {
        match source {
            ScaleSource::Unscaled => Some(None),
            ScaleSource::Fixed(sf) => Some(Some(sf)),
            ScaleSource::Missing => None,
            ScaleSource::At(at, kind) => {
                match value::decode(kind, self.regs.get(at..at.checked_add(1)?)?) {
                    Value::Int(sf) if (-10..=10).contains(&sf) => i16::try_from(sf).ok().map(Some),
                    _ => None,
                }
            }
        }
    }

    fn address_of(&self, offset: usize) -> u16 {
        u16::try_from(usize::from(self.address).saturating_add(offset)).unwrap_or(u16::MAX)
    }

    fn store(
        &mut self,
        kind: PointType,
        size: u16,
        offset: usize,
        value: &Value,
    ) -> Result<(), Error> {
        let regs = value::encode(kind, size, value)?;
        let slot = self
            .regs
            .get_mut(offset..offset.saturating_add(regs.len()))
            .ok_or_else(|| Error::Invalid {
                field: "point",
                reason: "beyond the model's length".into(),
            })?;
        slot.copy_from_slice(&regs);
        Ok(())
    }

    fn raw_for(&self, path: &str, value: f64) -> Result<Value, Error> {
        let point = self.point(path)?;
        raw_value(path, point.def.kind, point.scale, value)
    }

    /// Finds a point by path; the path may start with the model's name (`DERVoltVar.Ena`).
    fn locate(&self, path: &str) -> Result<Located<'_>, Error> {
        let segments: Vec<&str> = path.split('.').collect();
        let found = self.locate_segments(path, &segments);
        match (&found, &self.def, segments.split_first()) {
            // A group may share the model's name: the model prefix is tried second.
            (Err(_), Some(def), Some((first, rest)))
                if *first == def.name() && !rest.is_empty() =>
            {
                self.locate_segments(path, rest)
            }
            _ => found,
        }
    }

    fn locate_segments(&self, path: &str, segments: &[&str]) -> Result<Located<'_>, Error> {
        let invalid = |reason: String| Error::Invalid {
            field: "point",
            reason: format!("{path}: {reason}"),
        };
        let (Some(def), Some(layout)) = (&self.def, &self.layout) else {
            return Err(invalid(self.problem.clone().unwrap_or_else(|| {
                format!("model {} has no definition here", self.id())
            })));
        };
        let mut group = &def.root;
        let mut at = layout;
        let mut scopes = vec![(group, at)];
        let mut sync_group = None;
        let Some((last, walk)) = segments.split_last() else {
            return Err(invalid("empty path".into()));
        };
        for segment in walk {
            let (name, index) = parse_segment(segment)
                .ok_or_else(|| invalid(format!("bad segment {segment:?}")))?;
            let position = group
                .groups
                .iter()
                .position(|g| g.name == name)
                .ok_or_else(|| invalid(format!("no group {name}")))?;
            let instances = at
                .groups
                .get(position)
                .ok_or_else(|| invalid(format!("no group {name}")))?;
            let index = match index {
                Some(i) => i,
                None if instances.len() == 1 => 0,
                None => return Err(invalid(format!("{name} repeats: give an index"))),
            };
            let next_def = group
                .groups
                .get(position)
                .ok_or_else(|| invalid(format!("no group {name}")))?;
            at = instances
                .get(index)
                .ok_or_else(|| invalid(format!("{name} has {} instances", instances.len())))?;
            group = next_def;
            if group.sync && sync_group.is_none() {
                sync_group = Some((at.offset, at.offset.saturating_add(at.len)));
            }
            scopes.push((group, at));
        }
        let position = group
            .points
            .iter()
            .position(|p| p.name == *last)
            .ok_or_else(|| invalid(format!("no point {last}")))?;
        let def = group
            .points
            .get(position)
            .ok_or_else(|| invalid(format!("no point {last}")))?;
        let offset = at
            .points
            .get(position)
            .copied()
            .flatten()
            .ok_or_else(|| invalid("beyond the model's length".into()))?;
        let scale_source = scale_source(def, &scopes);
        Ok(Located {
            def,
            offset,
            scale: self.scale_value(scale_source),
            scale_source,
            sync_group,
        })
    }
}

struct Located<'a> {
    def: &'a PointDef,
    offset: usize,
    scale: Option<Option<i16>>,
    scale_source: ScaleSource,
    sync_group: Option<(usize, usize)>,
}

/// The raw value of an engineering `value` for a point of type `kind` with scale factor `scale` (`None`: not
/// implemented; `Some(None)`: the point has none): `round(value / 10^sf)`, floats as they are.
fn raw_value(
    path: &str,
    kind: PointType,
    scale: Option<Option<i16>>,
    value: f64,
) -> Result<Value, Error> {
    let invalid = |reason: String| Error::Invalid {
        field: "point",
        reason: format!("{path}: {reason}"),
    };
    let sf = scale.ok_or_else(|| invalid("its scale factor is not implemented".into()))?;
    if matches!(kind, PointType::Float32 | PointType::Float64) {
        return Ok(Value::Float(value));
    }
    let sf = i32::from(sf.unwrap_or(0));
    let raw = if sf < 0 {
        value * 10f64.powi(sf.saturating_neg())
    } else {
        value / 10f64.powi(sf)
    }
    .round();
    if !raw.is_finite() || raw.abs() >= 9.2e18 {
        return Err(invalid(format!("{value} is out of range")));
    }
    #[allow(clippy::cast_possible_truncation)]
    let raw = raw as i64;
    Ok(match u64::try_from(raw) {
        Ok(u)
            if !matches!(
                kind,
                PointType::Int16 | PointType::Int32 | PointType::Int64 | PointType::Sunssf
            ) =>
        {
            Value::Uint(u)
        }
        _ => Value::Int(raw),
    })
}

fn parse_segment(segment: &str) -> Option<(&str, Option<usize>)> {
    match segment.split_once('[') {
        None => Some((segment, None)),
        Some((name, rest)) => Some((name, Some(rest.strip_suffix(']')?.parse().ok()?))),
    }
}

/// Where `def`'s scale factor is read from, seen from `scopes` (innermost last).
fn scale_source(def: &PointDef, scopes: &[(&GroupDef, &GroupLayout)]) -> ScaleSource {
    match &def.scale {
        ScaleFactor::None => ScaleSource::Unscaled,
        ScaleFactor::Fixed(sf) => ScaleSource::Fixed(i16::from(*sf)),
        ScaleFactor::Point(name) => match find_in_scopes(scopes, name) {
            Some((p, at)) => ScaleSource::At(at, p.kind),
            None => ScaleSource::Missing,
        },
    }
}

fn find_in_scopes<'d>(
    scopes: &[(&'d GroupDef, &GroupLayout)],
    name: &str,
) -> Option<(&'d PointDef, usize)> {
    scopes.iter().rev().find_map(|(def, layout)| {
        let position = def.points.iter().position(|p| p.name == name)?;
        Some((
            def.points.get(position)?,
            layout.points.get(position).copied().flatten()?,
        ))
    })
}

fn lay_out_model(def: &ModelDef, regs: &[u16]) -> Result<GroupLayout, String> {
    if regs.first() != Some(&def.id) {
        return Err(format!(
            "registers start with {:?}, not model id {}",
            regs.first(),
            def.id
        ));
    }
    let declared = regs.get(1).map_or(0, |l| usize::from(*l).saturating_add(2));
    if declared != regs.len() {
        return Err(format!(
            "L says {} registers, {} present",
            declared.saturating_sub(2),
            regs.len().saturating_sub(2)
        ));
    }
    let mut cursor = 0usize;
    let mut scopes = Vec::new();
    let layout = lay_out(&def.root, regs, &mut cursor, &mut scopes, &def.root.name)?;
    if cursor > regs.len() {
        // Only trailing pads may be missing (model 1 with L = 65).
        let missing_non_pad = def
            .root
            .points
            .iter()
            .zip(&layout.points)
            .any(|(p, at)| at.is_none() && p.kind != PointType::Pad);
        if missing_non_pad
            || layout
                .groups
                .iter()
                .flatten()
                .any(|g| g.offset.saturating_add(g.len) > regs.len())
        {
            return Err(format!(
                "the definition needs {} registers, L is {}",
                cursor.saturating_sub(2),
                regs.len().saturating_sub(2)
            ));
        }
    }
    Ok(layout)
}

fn lay_out<'d>(
    def: &'d GroupDef,
    regs: &[u16],
    cursor: &mut usize,
    scopes: &mut Vec<(&'d GroupDef, Vec<Option<usize>>)>,
    path: &str,
) -> Result<GroupLayout, String> {
    let start = *cursor;
    let mut points = Vec::with_capacity(def.points.len());
    for p in &def.points {
        let end = cursor.saturating_add(usize::from(p.size));
        points.push((end <= regs.len()).then_some(*cursor));
        *cursor = end;
    }
    scopes.push((def, points.clone()));
    let mut groups = Vec::with_capacity(def.groups.len());
    for g in &def.groups {
        let group_path = format!("{path}.{}", g.name);
        let remaining = regs.len().saturating_sub(*cursor);
        let count = match &g.count {
            GroupCount::Fixed(n) => usize::from(*n),
            GroupCount::Fill => remaining
                .checked_div(g.fixed_len().map_or(0, |l| l as usize))
                .unwrap_or(0),
            GroupCount::Point(name) => {
                let found = scopes.iter().rev().find_map(|(d, at)| {
                    let i = d.points.iter().position(|p| p.name == *name)?;
                    at.get(i).copied().flatten()
                });
                match found.and_then(|at| regs.get(at)) {
                    Some(0xFFFF) | None => 0,
                    Some(n) => usize::from(*n),
                }
            }
        };
        if count > remaining {
            return Err(format!(
                "{group_path}: count {count} cannot fit in the {remaining} registers left"
            ));
        }
        let mut instances = Vec::with_capacity(count);
        for _ in 0..count {
            let instance = lay_out(g, regs, cursor, scopes, &group_path)?;
            if *cursor > regs.len() {
                return Err(format!(
                    "{group_path}: {count} instances need more registers than the model holds"
                ));
            }
            instances.push(instance);
        }
        groups.push(instances);
    }
    scopes.pop();
    Ok(GroupLayout {
        offset: start,
        len: cursor.saturating_sub(start),
        points,
        groups,
    })
}

/// Appends the not-implemented registers of one instance of `def` (and its groups) to `regs`.
fn fill_absent(
    def: &GroupDef,
    path: &str,
    counts: &[(&str, u16)],
    regs: &mut Vec<u16>,
) -> Result<(), String> {
    for p in &def.points {
        let mut values = value::absent(p.kind, p.size);
        if let Some((_, n)) = counts.iter().find(|(name, _)| *name == p.name)
            && let Some(first) = values.first_mut()
        {
            *first = *n;
        }
        regs.extend(values);
        if regs.len() > usize::from(u16::MAX) {
            return Err("model too long".into());
        }
    }
    for g in &def.groups {
        let n = match &g.count {
            GroupCount::Fixed(n) => *n,
            GroupCount::Fill => counts
                .iter()
                .find(|(name, _)| *name == g.name)
                .map_or(0, |(_, n)| *n),
            GroupCount::Point(name) => counts
                .iter()
                .find(|(c, _)| c == name)
                .map(|(_, n)| *n)
                .ok_or_else(|| format!("{path}.{}: give the count {name}", g.name))?,
        };
        for _ in 0..n {
            fill_absent(g, &format!("{path}.{}", g.name), counts, regs)?;
        }
    }
    Ok(())
}
