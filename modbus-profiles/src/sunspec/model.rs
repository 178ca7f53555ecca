//! SunSpec model definitions read from the official JSON format (SunSpec Information Model Specification,
//! "Model definition"; `schema.json` of the SunSpec models repository).
//!
//! A file is `{"id": N, "group": {...}}`. A group has `points` and nested `groups`; its `count` is an integer
//! (0: as many as fill the model), the name of a point holding the count, or absent (1). Reading validates
//! everything later code relies on, and a problem names the file and the point.

use crate::Error;
use serde_json::{Map, Value as Json};

/// Deepest group nesting accepted in a definition (the official models use three levels).
pub const MAX_GROUP_DEPTH: usize = 8;

/// A point's data type (SunSpec "type"), with its register size where the type fixes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PointType {
    /// Signed 16-bit integer; not implemented: 0x8000.
    Int16,
    /// Unsigned 16-bit integer; not implemented: 0xFFFF.
    Uint16,
    /// Count of a repeating group (unsigned 16 bits).
    Count,
    /// 16-bit accumulator; not implemented: 0.
    Acc16,
    /// 16-bit enumeration; not implemented: 0xFFFF.
    Enum16,
    /// 16-bit bit field; not implemented: 0xFFFF.
    Bitfield16,
    /// Padding register.
    Pad,
    /// Signed 32-bit integer; not implemented: 0x8000_0000.
    Int32,
    /// Unsigned 32-bit integer; not implemented: 0xFFFF_FFFF.
    Uint32,
    /// 32-bit accumulator; not implemented: 0.
    Acc32,
    /// 32-bit enumeration; not implemented: 0xFFFF_FFFF.
    Enum32,
    /// 32-bit bit field; not implemented: 0xFFFF_FFFF.
    Bitfield32,
    /// IPv4 address; not implemented: 0.
    Ipaddr,
    /// Signed 64-bit integer; not implemented: 0x8000_0000_0000_0000.
    Int64,
    /// Unsigned 64-bit integer; not implemented: all ones.
    Uint64,
    /// 64-bit accumulator; not implemented: 0.
    Acc64,
    /// IPv6 address; not implemented: all zero.
    Ipv6addr,
    /// IEEE 754 single precision; not implemented: NaN (0x7FC0_0000).
    Float32,
    /// IEEE 754 double precision; not implemented: NaN.
    Float64,
    /// Text, `size` registers, NUL padded; not implemented: first byte NUL.
    String,
    /// Scale factor, a signed power of ten in −10..=10; not implemented: 0x8000.
    Sunssf,
    /// EUI-48 MAC address in four registers (first two bytes unused); not implemented: all zero or all ones.
    Eui48,
}

impl PointType {
    /// The type for a SunSpec type name.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "int16" => Self::Int16,
            "uint16" => Self::Uint16,
            "count" => Self::Count,
            "acc16" => Self::Acc16,
            "enum16" => Self::Enum16,
            "bitfield16" => Self::Bitfield16,
            "pad" => Self::Pad,
            "int32" => Self::Int32,
            "uint32" => Self::Uint32,
            "acc32" => Self::Acc32,
            "enum32" => Self::Enum32,
            "bitfield32" => Self::Bitfield32,
            "ipaddr" => Self::Ipaddr,
            "int64" => Self::Int64,
            "uint64" => Self::Uint64,
            "acc64" => Self::Acc64,
            "ipv6addr" => Self::Ipv6addr,
            "float32" => Self::Float32,
            "float64" => Self::Float64,
            "string" => Self::String,
            "sunssf" => Self::Sunssf,
            "eui48" => Self::Eui48,
            _ => return None,
        })
    }

    /// The SunSpec type name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Int16 => "int16",
            Self::Uint16 => "uint16",
            Self::Count => "count",
            Self::Acc16 => "acc16",
            Self::Enum16 => "enum16",
            Self::Bitfield16 => "bitfield16",
            Self::Pad => "pad",
            Self::Int32 => "int32",
            Self::Uint32 => "uint32",
            Self::Acc32 => "acc32",
            Self::Enum32 => "enum32",
            Self::Bitfield32 => "bitfield32",
            Self::Ipaddr => "ipaddr",
            Self::Int64 => "int64",
            Self::Uint64 => "uint64",
            Self::Acc64 => "acc64",
            Self::Ipv6addr => "ipv6addr",
            Self::Float32 => "float32",
            Self::Float64 => "float64",
            Self::String => "string",
            Self::Sunssf => "sunssf",
            Self::Eui48 => "eui48",
        }
    }

    /// Registers the type occupies, or `None` for `string` (its `size` says).
    pub fn fixed_size(self) -> Option<u16> {
        Some(match self {
            Self::Int16
            | Self::Uint16
            | Self::Count
            | Self::Acc16
            | Self::Enum16
            | Self::Bitfield16
            | Self::Pad
            | Self::Sunssf => 1,
            Self::Int32
            | Self::Uint32
            | Self::Acc32
            | Self::Enum32
            | Self::Bitfield32
            | Self::Ipaddr
            | Self::Float32 => 2,
            Self::Int64 | Self::Uint64 | Self::Acc64 | Self::Float64 | Self::Eui48 => 4,
            Self::Ipv6addr => 8,
            Self::String => return None,
        })
    }

    /// Whether values of this type can be scaled by a scale factor (integers and accumulators).
    pub fn is_scalable(self) -> bool {
        matches!(
            self,
            Self::Int16
                | Self::Uint16
                | Self::Acc16
                | Self::Int32
                | Self::Uint32
                | Self::Acc32
                | Self::Int64
                | Self::Uint64
                | Self::Acc64
                | Self::Count
        )
    }
}

/// Where a point's scale factor comes from (`sf`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScaleFactor {
    /// No scaling.
    None,
    /// A fixed power of ten.
    Fixed(i8),
    /// The value of a `sunssf` point of this group or an enclosing one.
    Point(String),
}

/// How many instances of a group a model holds (`count`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupCount {
    /// A fixed number (1 when the definition says nothing).
    Fixed(u16),
    /// As many as fill the rest of the model (`count: 0`, the older repeating blocks).
    Fill,
    /// The value of a point of an enclosing group (`NCrv`, `NPt`, `NCtl`, …).
    Point(String),
}

/// Whether a point may be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read only (`R`, the default).
    Read,
    /// Read and write (`RW`).
    ReadWrite,
}

/// One named value of an enumeration or bit of a bit field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    /// The symbol's name.
    pub name: String,
    /// Its value (an enumeration value, or a bit number for bit fields).
    pub value: i64,
}

/// One point of a group.
#[derive(Debug, Clone, PartialEq)]
pub struct PointDef {
    /// Name, unique in its group.
    pub name: String,
    /// Human-readable label.
    pub label: Option<String>,
    /// Data type.
    pub kind: PointType,
    /// Size in registers.
    pub size: u16,
    /// Scale factor.
    pub scale: ScaleFactor,
    /// Units after scaling (`W`, `V`, `Pct`, …).
    pub units: Option<String>,
    /// Read only or read-write.
    pub access: Access,
    /// Mandatory (`M`) rather than optional.
    pub mandatory: bool,
    /// Static (`S`): does not change while the device runs.
    pub is_static: bool,
    /// Enumeration or bit-field symbols.
    pub symbols: Vec<Symbol>,
    /// A value fixed by the definition (`ID`).
    pub fixed_value: Option<i64>,
}

/// A group of points, possibly repeated, possibly holding groups.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupDef {
    /// Name.
    pub name: String,
    /// Human-readable label.
    pub label: Option<String>,
    /// `sync`: the group's points are written together, in one request.
    pub sync: bool,
    /// How many instances.
    pub count: GroupCount,
    /// Its points, in register order.
    pub points: Vec<PointDef>,
    /// Its groups, after the points, in register order.
    pub groups: Vec<GroupDef>,
}

impl GroupDef {
    /// Registers one instance takes when it holds no variable-count group; `None` otherwise.
    pub fn fixed_len(&self) -> Option<u32> {
        let mut len = u32::try_from(self.points_len()).ok()?;
        for group in &self.groups {
            let GroupCount::Fixed(n) = group.count else {
                return None;
            };
            len = len.checked_add(group.fixed_len()?.checked_mul(u32::from(n))?)?;
        }
        Some(len)
    }

    /// Registers its own points take (not counting its groups).
    pub fn points_len(&self) -> usize {
        self.points.iter().map(|p| usize::from(p.size)).sum()
    }

    /// The point called `name` directly in this group.
    pub fn point(&self, name: &str) -> Option<&PointDef> {
        self.points.iter().find(|p| p.name == name)
    }

    /// The group called `name` directly in this group.
    pub fn group(&self, name: &str) -> Option<&GroupDef> {
        self.groups.iter().find(|g| g.name == name)
    }
}

/// A SunSpec model definition.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelDef {
    /// The model id.
    pub id: u16,
    /// The top-level group (its first points are `ID` and `L`).
    pub root: GroupDef,
    /// Where it was read from (a file name), for messages.
    pub source: String,
}

impl ModelDef {
    /// Reads a model definition from its JSON text; `source` names the file in errors.
    ///
    /// # Errors
    /// [`Error::Model`] naming the file and the group or point that is malformed.
    pub fn from_json(source: &str, text: &str) -> Result<Self, Error> {
        let fail = |point: &str, reason: String| Error::Model {
            file: source.to_owned(),
            point: point.to_owned(),
            reason,
        };
        let json: Json =
            serde_json::from_str(text).map_err(|e| fail("(file)", format!("not JSON: {e}")))?;
        let top = json
            .as_object()
            .ok_or_else(|| fail("(file)", "not a JSON object".into()))?;
        let id = top
            .get("id")
            .and_then(Json::as_u64)
            .ok_or_else(|| fail("id", "missing or not a number".into()))?;
        let id = u16::try_from(id)
            .ok()
            .filter(|id| *id != 0 && *id != 0xFFFF)
            .ok_or_else(|| fail("id", format!("{id} is not a model id (1..=65534)")))?;
        let group = top
            .get("group")
            .and_then(Json::as_object)
            .ok_or_else(|| fail("group", "missing".into()))?;
        let reader = Reader { source };
        let root = reader.group(group, "", 0)?;
        let def = Self {
            id,
            root,
            source: source.to_owned(),
        };
        def.check(&reader)?;
        Ok(def)
    }

    /// The model's name (its top-level group's name, `common`, `DERVoltVar`, …).
    pub fn name(&self) -> &str {
        &self.root.name
    }

    fn check(&self, reader: &Reader<'_>) -> Result<(), Error> {
        let name = &self.root.name;
        match self.root.points.as_slice() {
            [id, len, ..]
                if id.name == "ID" && len.name == "L" && id.size == 1 && len.size == 1 =>
            {
                if id.fixed_value.is_some_and(|v| v != i64::from(self.id)) {
                    return Err(reader.fail(
                        &format!("{name}.ID"),
                        format!("value differs from the file's id {}", self.id),
                    ));
                }
                Ok(())
            }
            _ => Err(reader.fail(
                name,
                "a model's first points must be ID and L, one register each".into(),
            )),
        }?;
        let mut scopes = Vec::new();
        check_references(&self.root, name, &mut scopes, reader)
    }
}

/// Checks that scale factors and counts name points that exist where they must.
fn check_references<'a>(
    group: &'a GroupDef,
    path: &str,
    scopes: &mut Vec<&'a GroupDef>,
    reader: &Reader<'_>,
) -> Result<(), Error> {
    scopes.push(group);
    for point in &group.points {
        if let ScaleFactor::Point(sf) = &point.scale {
            let found = scopes.iter().rev().find_map(|g| g.point(sf));
            match found {
                Some(p) if p.kind == PointType::Sunssf => {}
                Some(_) => {
                    return Err(reader.fail(
                        &format!("{path}.{}", point.name),
                        format!("scale factor {sf} is not a sunssf point"),
                    ));
                }
                None => {
                    return Err(reader.fail(
                        &format!("{path}.{}", point.name),
                        format!("scale factor {sf} names no point in scope"),
                    ));
                }
            }
        }
    }
    for child in &group.groups {
        let child_path = format!("{path}.{}", child.name);
        if let GroupCount::Point(count) = &child.count {
            let found = scopes.iter().rev().find_map(|g| g.point(count));
            match found {
                Some(p) if matches!(p.kind, PointType::Uint16 | PointType::Count) => {}
                _ => {
                    return Err(reader.fail(
                        &child_path,
                        format!("count {count} names no uint16 point of an enclosing group"),
                    ));
                }
            }
        }
        if child.count == GroupCount::Fill && child.fixed_len().is_none_or(|l| l == 0) {
            return Err(reader.fail(
                &child_path,
                "a group filling the model must have a fixed, non-zero length".into(),
            ));
        }
        check_references(child, &child_path, scopes, reader)?;
    }
    scopes.pop();
    Ok(())
}

const NAME_RULE: &str =
    "a name is letters, digits, '_' and '-' (paths separate names with '.' and '[')";

/// Whether `name` can be a point or group name: non-empty ASCII letters, digits, `_` and `-` (model 805 has
/// `lithium-ion-module-cell`), so that a path such as `Crv[1].Pt[0].V` names one point.
fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

struct Reader<'a> {
    source: &'a str,
}

impl Reader<'_> {
    fn fail(&self, point: &str, reason: String) -> Error {
        Error::Model {
            file: self.source.to_owned(),
            point: point.to_owned(),
            reason,
        }
    }

    fn group(
        &self,
        json: &Map<String, Json>,
        parent: &str,
        depth: usize,
    ) -> Result<GroupDef, Error> {
        let name = text(json, "name").ok_or_else(|| {
            self.fail(&format!("{parent}.(group)"), "group without a name".into())
        })?;
        let path = if parent.is_empty() {
            name.clone()
        } else {
            format!("{parent}.{name}")
        };
        if !is_name(&name) {
            return Err(self.fail(&path, NAME_RULE.into()));
        }
        if depth >= MAX_GROUP_DEPTH {
            return Err(self.fail(
                &path,
                format!("groups nested deeper than {MAX_GROUP_DEPTH}"),
            ));
        }
        let sync = match json.get("type").and_then(Json::as_str) {
            Some("group") | None => false,
            Some("sync") => true,
            Some(other) => {
                return Err(self.fail(
                    &path,
                    format!("group type {other:?} is neither group nor sync"),
                ));
            }
        };
        let count = match json.get("count") {
            None => GroupCount::Fixed(1),
            Some(Json::Number(n)) => match n.as_u64().map(u16::try_from) {
                Some(Ok(0)) => GroupCount::Fill,
                Some(Ok(n)) => GroupCount::Fixed(n),
                _ => {
                    return Err(
                        self.fail(&path, format!("count {n} is not a register-sized number"))
                    );
                }
            },
            Some(Json::String(point)) => GroupCount::Point(point.clone()),
            Some(other) => {
                return Err(self.fail(
                    &path,
                    format!("count {other} is neither a number nor a point name"),
                ));
            }
        };
        let mut points = Vec::new();
        for p in json
            .get("points")
            .and_then(Json::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let p = p
                .as_object()
                .ok_or_else(|| self.fail(&path, "a point is not an object".into()))?;
            let point = self.point(p, &path)?;
            if points.iter().any(|q: &PointDef| q.name == point.name) {
                return Err(self.fail(
                    &format!("{path}.{}", point.name),
                    "point name repeated in its group".into(),
                ));
            }
            points.push(point);
        }
        let mut groups = Vec::new();
        for g in json
            .get("groups")
            .and_then(Json::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let g = g
                .as_object()
                .ok_or_else(|| self.fail(&path, "a group is not an object".into()))?;
            let group = self.group(g, &path, depth.saturating_add(1))?;
            if groups.iter().any(|q: &GroupDef| q.name == group.name)
                || points.iter().any(|q| q.name == group.name)
            {
                return Err(self.fail(
                    &format!("{path}.{}", group.name),
                    "group name repeated in its group".into(),
                ));
            }
            groups.push(group);
        }
        Ok(GroupDef {
            name,
            label: text(json, "label"),
            sync,
            count,
            points,
            groups,
        })
    }

    fn point(&self, json: &Map<String, Json>, group: &str) -> Result<PointDef, Error> {
        let name = text(json, "name")
            .ok_or_else(|| self.fail(&format!("{group}.(point)"), "point without a name".into()))?;
        let path = format!("{group}.{name}");
        let fail = |reason: String| self.fail(&path, reason);
        if !is_name(&name) {
            return Err(fail(NAME_RULE.into()));
        }
        let kind_name = json
            .get("type")
            .and_then(Json::as_str)
            .ok_or_else(|| fail("no type".into()))?;
        let kind = PointType::from_name(kind_name)
            .ok_or_else(|| fail(format!("unknown type {kind_name:?}")))?;
        let size = json
            .get("size")
            .and_then(Json::as_u64)
            .and_then(|s| u16::try_from(s).ok())
            .filter(|s| *s > 0)
            .ok_or_else(|| fail("size missing or not a positive register count".into()))?;
        if let Some(fixed) = kind.fixed_size()
            && fixed != size
        {
            return Err(fail(format!(
                "size {size} but a {kind_name} takes {fixed} registers"
            )));
        }
        let scale = match json.get("sf") {
            None | Some(Json::Null) => ScaleFactor::None,
            Some(Json::Number(n)) => match n
                .as_i64()
                .filter(|v| (-10..=10).contains(v))
                .map(i8::try_from)
            {
                Some(Ok(v)) => ScaleFactor::Fixed(v),
                _ => return Err(fail(format!("scale factor {n} is outside -10..=10"))),
            },
            Some(Json::String(s)) => ScaleFactor::Point(s.clone()),
            Some(other) => {
                return Err(fail(format!(
                    "scale factor {other} is neither a number nor a point name"
                )));
            }
        };
        if scale != ScaleFactor::None && !kind.is_scalable() {
            return Err(fail(format!(
                "a {kind_name} point cannot have a scale factor"
            )));
        }
        let access = match json.get("access").and_then(Json::as_str) {
            None | Some("R") => Access::Read,
            Some("RW") => Access::ReadWrite,
            Some(other) => return Err(fail(format!("access {other:?} is neither R nor RW"))),
        };
        let mut symbols = Vec::new();
        for s in json
            .get("symbols")
            .and_then(Json::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let name = s
                .get("name")
                .and_then(Json::as_str)
                .ok_or_else(|| fail("a symbol without a name".into()))?;
            let value = s
                .get("value")
                .and_then(Json::as_i64)
                .ok_or_else(|| fail(format!("symbol {name} has no integer value")))?;
            symbols.push(Symbol {
                name: name.to_owned(),
                value,
            });
        }
        let fixed_value = match json.get("value") {
            None | Some(Json::Null) => None,
            Some(v) => v.as_i64(),
        };
        Ok(PointDef {
            name,
            label: text(json, "label"),
            kind,
            size,
            scale,
            units: text(json, "units"),
            access,
            mandatory: json.get("mandatory").and_then(Json::as_str) == Some("M"),
            is_static: json.get("static").and_then(Json::as_str) == Some("S"),
            symbols,
            fixed_value,
        })
    }
}

fn text(json: &Map<String, Json>, key: &str) -> Option<String> {
    json.get(key).and_then(Json::as_str).map(str::to_owned)
}
