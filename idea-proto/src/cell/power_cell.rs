//! The power cell: owner, agent, limits, electrical units, connection point and enclosing cell.

use super::{Flexibility, PowerCellType, SupplyCapability};
use crate::error::Result;
use crate::{
    ActivePower, AgentId, ApparentPower, CellId, Energy, Error, NodeId, ReactivePower, UnitId,
    UserId, Voltage,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::ops::Deref;

/// The most electrical units one cell may declare.
pub const MAX_UNITS: usize = 1024;
/// The scope limit of IDEA (ARCH-06): distribution grids up to the 110 kV boundary with transmission.
pub const MAX_NOMINAL_VOLTAGE: Voltage = Voltage::from_mv(110_000_000);

/// What the cell may exchange with the grid at its connection point. All values are magnitudes (≥ 0).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CellLimits {
    /// Largest active power drawn from the grid.
    #[serde(rename = "max_import_w")]
    pub max_import: ActivePower,
    /// Largest active power fed into the grid.
    #[serde(rename = "max_export_w")]
    pub max_export: ActivePower,
    /// Largest reactive power absorbed.
    #[serde(rename = "max_import_var")]
    pub max_import_q: ReactivePower,
    /// Largest reactive power injected.
    #[serde(rename = "max_export_var")]
    pub max_export_q: ReactivePower,
}

/// The kind of an electrical unit and its ratings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum UnitKind {
    /// A rotating or fuel-cell generator.
    Generator {
        /// Rated active power.
        #[serde(rename = "rated_w")]
        rated: ActivePower,
        /// Rated apparent power.
        #[serde(rename = "rated_va")]
        rated_apparent: ApparentPower,
        /// Follows a setpoint (diesel set, mini-CHP); false for wind and other stochastic sources.
        dispatchable: bool,
    },
    /// A photovoltaic array behind its inverter (stochastic: Table 1 counts it as not flexible).
    #[serde(rename = "pv")]
    Photovoltaic {
        /// Peak power of the array.
        #[serde(rename = "peak_w")]
        peak: ActivePower,
        /// Rating of its inverter.
        #[serde(rename = "inverter_va")]
        inverter: ApparentPower,
    },
    /// Electricity storage: both supplies and consumes, and is flexible.
    Storage {
        /// Usable capacity.
        #[serde(rename = "capacity_wh")]
        capacity: Energy,
        /// Largest charging power.
        #[serde(rename = "max_charge_w")]
        max_charge: ActivePower,
        /// Largest discharging power.
        #[serde(rename = "max_discharge_w")]
        max_discharge: ActivePower,
    },
    /// An electric load.
    Load {
        /// Rated power.
        #[serde(rename = "rated_w")]
        rated: ActivePower,
        /// Remotely controllable (air conditioning, water heater) rather than fixed.
        controllable: bool,
    },
}

/// One electrical unit of a cell.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ElectricalUnit {
    /// Its id within the cell.
    pub id: UnitId,
    /// What it is.
    #[serde(flatten)]
    pub kind: UnitKind,
}

impl ElectricalUnit {
    /// Whether the unit can feed power into the cell's connection.
    pub fn supplies(&self) -> bool {
        !matches!(self.kind, UnitKind::Load { .. })
    }

    /// Whether the unit can draw power.
    pub fn consumes(&self) -> bool {
        matches!(self.kind, UnitKind::Load { .. } | UnitKind::Storage { .. })
    }

    /// Whether the unit can regulate its flow on request (Table 1 "flexible regulation").
    pub fn is_flexible(&self) -> bool {
        match self.kind {
            UnitKind::Generator { dispatchable, .. } => dispatchable,
            UnitKind::Photovoltaic { .. } => false,
            UnitKind::Storage { .. } => true,
            UnitKind::Load { controllable, .. } => controllable,
        }
    }

    fn validate(&self) -> Result<()> {
        let non_negative = |name: &str, v: i64| {
            if v < 0 {
                Err(Error::invalid(
                    name,
                    format!("a rating cannot be negative ({v})"),
                ))
            } else {
                Ok(())
            }
        };
        match self.kind {
            UnitKind::Generator {
                rated,
                rated_apparent,
                ..
            } => {
                non_negative("generator.rated_w", rated.w())?;
                non_negative("generator.rated_va", rated_apparent.va())
            }
            UnitKind::Photovoltaic { peak, inverter } => {
                non_negative("pv.peak_w", peak.w())?;
                non_negative("pv.inverter_va", inverter.va())
            }
            UnitKind::Storage {
                capacity,
                max_charge,
                max_discharge,
            } => {
                non_negative("storage.capacity_wh", capacity.wh())?;
                non_negative("storage.max_charge_w", max_charge.w())?;
                non_negative("storage.max_discharge_w", max_discharge.w())
            }
            UnitKind::Load { rated, .. } => non_negative("load.rated_w", rated.w()),
        }
    }
}

/// Where a cell connects to the grid.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ConnectionPoint {
    /// The grid node (bus).
    pub node: NodeId,
    /// Nominal voltage of the node; at most 110 kV (ARCH-06).
    #[serde(rename = "nominal_voltage_mv")]
    pub nominal_voltage: Voltage,
    /// A DC connection (the 48 V mesh of the demonstration complex) rather than AC.
    pub dc: bool,
}

/// The fields of a power cell, before validation. [`PowerCell::new`] checks them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PowerCellSpec {
    /// The cell.
    pub id: CellId,
    /// Its declared type; must agree with its units (Table 1).
    pub cell_type: PowerCellType,
    /// The user who owns it.
    pub owner: UserId,
    /// Its one software agent (ARCH-01).
    pub agent: AgentId,
    /// What it may exchange with the grid.
    pub limits: CellLimits,
    /// Its electrical units: at least one, ids unique.
    pub units: Vec<ElectricalUnit>,
    /// Where it connects.
    pub connection: ConnectionPoint,
    /// The cell whose feeder it hangs from, when nested (ARCH-08).
    pub enclosing_cell: Option<CellId>,
}

/// A validated power cell (ARCH-01, ARCH-02): the minimum controlled unit, a black box with one interface and
/// one agent, whose declared type agrees with what its units can do.
///
/// Read its fields through `Deref` to [`PowerCellSpec`]; change them by [`PowerCell::into_spec`], editing, and
/// [`PowerCell::new`] again.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "PowerCellSpec", into = "PowerCellSpec")]
pub struct PowerCell(PowerCellSpec);

impl PowerCell {
    /// Validates a cell:
    /// - at least one and at most [`MAX_UNITS`] units, ids unique, ratings and limits not negative;
    /// - the declared type equals [`PowerCellType::from_units`] of its units (Table 1);
    /// - a supply-only cell has no import limit above zero, a consumption-only cell no export limit;
    /// - the connection's nominal voltage is above zero and at most 110 kV (ARCH-06);
    /// - a cell does not enclose itself.
    pub fn new(spec: PowerCellSpec) -> Result<PowerCell> {
        validate(&spec)?;
        Ok(PowerCell(spec))
    }

    /// The fields, for editing and re-validation.
    pub fn into_spec(self) -> PowerCellSpec {
        self.0
    }

    /// AUX-05: the same cell with other electrical units and limits, re-validated (the type must still fit).
    pub fn with_installations(
        &self,
        units: Vec<ElectricalUnit>,
        limits: CellLimits,
    ) -> Result<PowerCell> {
        PowerCell::new(PowerCellSpec {
            units,
            limits,
            ..self.0.clone()
        })
    }

    /// AUX-06: the same cell under another owner.
    pub fn with_owner(&self, owner: UserId) -> PowerCell {
        PowerCell(PowerCellSpec {
            owner,
            ..self.0.clone()
        })
    }
}

impl Deref for PowerCell {
    type Target = PowerCellSpec;
    fn deref(&self) -> &PowerCellSpec {
        &self.0
    }
}

impl TryFrom<PowerCellSpec> for PowerCell {
    type Error = Error;
    fn try_from(spec: PowerCellSpec) -> Result<PowerCell> {
        PowerCell::new(spec)
    }
}

impl From<PowerCell> for PowerCellSpec {
    fn from(cell: PowerCell) -> PowerCellSpec {
        cell.0
    }
}

impl PowerCellType {
    /// The type a set of units gives: supply from generators, PV and storage; consumption from loads and
    /// storage; flexibility from dispatchable generators, storage and controllable loads. `None` for no units.
    pub fn from_units(units: &[ElectricalUnit]) -> Option<PowerCellType> {
        let supplies = units.iter().any(ElectricalUnit::supplies);
        let consumes = units.iter().any(ElectricalUnit::consumes);
        let supply = match (supplies, consumes) {
            (true, false) => SupplyCapability::SupplyOnly,
            (true, true) => SupplyCapability::SupplyAndConsumption,
            (false, true) => SupplyCapability::ConsumptionOnly,
            (false, false) => return None,
        };
        let flexibility = if units.iter().any(ElectricalUnit::is_flexible) {
            Flexibility::Available
        } else {
            Flexibility::Unavailable
        };
        Some(PowerCellType::from_properties(supply, flexibility))
    }
}

fn validate(spec: &PowerCellSpec) -> Result<()> {
    if spec.units.is_empty() {
        return Err(Error::invalid(
            "units",
            "a power cell has at least one electrical unit",
        ));
    }
    if spec.units.len() > MAX_UNITS {
        return Err(Error::invalid(
            "units",
            format!("at most {MAX_UNITS} units, not {}", spec.units.len()),
        ));
    }
    let mut ids = BTreeSet::new();
    for (i, unit) in spec.units.iter().enumerate() {
        if !ids.insert(&unit.id) {
            return Err(Error::invalid(
                format!("units[{i}].id"),
                format!("unit id {} appears twice", unit.id),
            ));
        }
        unit.validate()
            .map_err(|e| e.within(&format!("units[{i}]")))?;
    }
    let derived = PowerCellType::from_units(&spec.units);
    if derived != Some(spec.cell_type) {
        let derived = derived.map_or("none".to_owned(), |t| t.to_string());
        return Err(Error::invalid(
            "cell_type",
            format!(
                "declared {} but its units make it a {derived} cell (IDEA Table 1)",
                spec.cell_type
            ),
        ));
    }
    let l = &spec.limits;
    for (name, v) in [
        ("limits.max_import_w", l.max_import.w()),
        ("limits.max_export_w", l.max_export.w()),
        ("limits.max_import_var", l.max_import_q.var()),
        ("limits.max_export_var", l.max_export_q.var()),
    ] {
        if v < 0 {
            return Err(Error::invalid(
                name,
                format!("a limit is a magnitude and cannot be negative ({v})"),
            ));
        }
    }
    match spec.cell_type.supply() {
        SupplyCapability::SupplyOnly if l.max_import.w() > 0 => {
            return Err(Error::invalid(
                "limits.max_import_w",
                format!("a {} cell supplies only", spec.cell_type),
            ));
        }
        SupplyCapability::ConsumptionOnly if l.max_export.w() > 0 => {
            return Err(Error::invalid(
                "limits.max_export_w",
                format!("a {} cell consumes only", spec.cell_type),
            ));
        }
        _ => {}
    }
    let v = spec.connection.nominal_voltage;
    if v.mv() <= 0 || v > MAX_NOMINAL_VOLTAGE {
        return Err(Error::invalid(
            "connection.nominal_voltage_mv",
            format!(
                "{v} is outside IDEA's scope of distribution grids above 0 and up to 110 kV (ARCH-06)"
            ),
        ));
    }
    if spec.enclosing_cell.as_ref() == Some(&spec.id) {
        return Err(Error::invalid(
            "enclosing_cell",
            "a cell cannot be nested in itself",
        ));
    }
    Ok(())
}
