//! Power cells: the six types (Table 1), the sides each may take (Table 2), the interconnecting device each
//! needs (Table 3), and the cell itself with its electrical units and limits.

mod kind;
mod power_cell;

pub use kind::{
    Flexibility, InterfaceDevice, PowerCellType, Side, Subject, SupplyCapability, allowed,
};
pub use power_cell::{
    CellLimits, ConnectionPoint, ElectricalUnit, MAX_NOMINAL_VOLTAGE, MAX_UNITS, PowerCell,
    PowerCellSpec, UnitKind,
};

/// A cell as a counterparty sees it: its id and its declared type (enough to check Table 2).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct CellRef {
    /// The cell.
    pub cell: crate::CellId,
    /// Its declared type.
    pub cell_type: PowerCellType,
}

impl CellRef {
    /// A reference to `cell` of type `cell_type`.
    pub fn new(cell: crate::CellId, cell_type: PowerCellType) -> CellRef {
        CellRef { cell, cell_type }
    }
}
