//! Cell types (Table 1), roles (Table 2) and interconnecting devices (Table 3) of IDEA v2.0, read from
//! `data/cell-types.toml` at build time.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What a cell can do with electric power: the rows of Table 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SupplyCapability {
    /// Supplies electric power only.
    SupplyOnly,
    /// Supplies and consumes.
    SupplyAndConsumption,
    /// Consumes only.
    ConsumptionOnly,
}

/// Whether a cell can flexibly regulate its flow: the columns of Table 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flexibility {
    /// Flexible regulation available.
    Available,
    /// Flexible regulation unavailable.
    Unavailable,
}

/// The six power-cell types of Table 1 (ARCH-02), each fixed by a supply capability and a flexibility.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[doc(alias = "Table 1")]
pub enum PowerCellType {
    /// Supply only, flexible: mini-CHP, diesel generator set.
    LoadFollowingGenerator,
    /// Supply only, not flexible: solar plant, wind generator.
    StochasticGenerator,
    /// Supply and consumption, flexible: building with PV and storage, a storage system.
    Prosumer,
    /// Supply and consumption, not flexible: townhouse with rooftop PV.
    ConsumerWithOwnGeneration,
    /// Consumption only, flexible: remotely controlled air conditioning, smart water heater.
    ActiveConsumer,
    /// Consumption only, not flexible: household, induction furnace.
    PassiveConsumer,
}

/// The market value a transaction trades (Table 2 columns).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Subject {
    /// Electric energy, in measurable volumes.
    Energy,
    /// Readiness to provide a level of active and/or reactive power.
    Power,
    /// Influence on balance or mode, on request or under conditions.
    Flexibility,
}

/// The side a party takes in a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Side {
    /// Provides the subject and is paid.
    Seller,
    /// Receives the subject and pays.
    Buyer,
}

/// The interconnecting device a cell type needs (Table 3, ARCH-04).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[doc(alias = "Table 3")]
pub enum InterfaceDevice {
    /// Power supply (consumption) regulator: an energy port or inverter.
    EnergyPort,
    /// Two-way power flow regulator: an energy router.
    EnergyRouter,
    /// Smart electricity meter and power meter with adaptive protection (relay protection and automation).
    SmartMeterWithProtection,
}

/// One row of the generated table.
pub(crate) struct CellTypeRow {
    pub(crate) cell_type: PowerCellType,
    pub(crate) examples: &'static str,
    pub(crate) supply: SupplyCapability,
    pub(crate) flexibility: Flexibility,
    pub(crate) interface_device: InterfaceDevice,
    /// `[energy, power, flexibility]` × `[seller, buyer]`.
    pub(crate) roles: [[bool; 2]; 3],
}

include!(concat!(env!("OUT_DIR"), "/cell_types.rs"));

impl PowerCellType {
    /// All six types, in Table 1 order.
    pub const ALL: [PowerCellType; 6] = [
        PowerCellType::LoadFollowingGenerator,
        PowerCellType::StochasticGenerator,
        PowerCellType::Prosumer,
        PowerCellType::ConsumerWithOwnGeneration,
        PowerCellType::ActiveConsumer,
        PowerCellType::PassiveConsumer,
    ];

    fn row(self) -> &'static CellTypeRow {
        // The build script emits the rows in declaration order, one per type.
        match self {
            PowerCellType::LoadFollowingGenerator => &CELL_TYPE_TABLE[0],
            PowerCellType::StochasticGenerator => &CELL_TYPE_TABLE[1],
            PowerCellType::Prosumer => &CELL_TYPE_TABLE[2],
            PowerCellType::ConsumerWithOwnGeneration => &CELL_TYPE_TABLE[3],
            PowerCellType::ActiveConsumer => &CELL_TYPE_TABLE[4],
            PowerCellType::PassiveConsumer => &CELL_TYPE_TABLE[5],
        }
    }

    /// The type Table 1 gives a cell with this supply capability and flexibility.
    pub fn from_properties(supply: SupplyCapability, flexibility: Flexibility) -> PowerCellType {
        let found = CELL_TYPE_TABLE
            .iter()
            .find(|r| r.supply == supply && r.flexibility == flexibility)
            .map(|r| r.cell_type);
        // The build script checks that the six (supply, flexibility) pairs are all present and distinct.
        found.unwrap_or(PowerCellType::PassiveConsumer)
    }

    /// The row of Table 1 this type sits in.
    pub fn supply(self) -> SupplyCapability {
        self.row().supply
    }

    /// The column of Table 1 this type sits in.
    pub fn flexibility(self) -> Flexibility {
        self.row().flexibility
    }

    /// The interconnecting device Table 3 requires for this type.
    pub fn interface_device(self) -> InterfaceDevice {
        self.row().interface_device
    }

    /// Table 1's examples of this type.
    pub fn examples(self) -> &'static str {
        self.row().examples
    }

    /// Whether a cell of this type may be the `side` of a transaction on `subject` (Table 2).
    pub fn may_take(self, subject: Subject, side: Side) -> bool {
        let by_subject = &self.row().roles;
        let sides = match subject {
            Subject::Energy => &by_subject[0],
            Subject::Power => &by_subject[1],
            Subject::Flexibility => &by_subject[2],
        };
        match side {
            Side::Seller => sides[0],
            Side::Buyer => sides[1],
        }
    }

    /// The kebab-case name used in JSON and data files.
    pub fn name(self) -> &'static str {
        match self {
            PowerCellType::LoadFollowingGenerator => "load-following-generator",
            PowerCellType::StochasticGenerator => "stochastic-generator",
            PowerCellType::Prosumer => "prosumer",
            PowerCellType::ConsumerWithOwnGeneration => "consumer-with-own-generation",
            PowerCellType::ActiveConsumer => "active-consumer",
            PowerCellType::PassiveConsumer => "passive-consumer",
        }
    }
}

/// Whether a cell of `cell_type` may be the `side` of a transaction on `subject`: the Table 2 role matrix
/// (ARCH-03).
///
/// ```
/// use idea_proto::{PowerCellType, Side, Subject, allowed};
/// assert!(allowed(PowerCellType::Prosumer, Subject::Flexibility, Side::Seller));
/// assert!(!allowed(PowerCellType::PassiveConsumer, Subject::Flexibility, Side::Seller));
/// ```
#[doc(alias = "Table 2")]
pub fn allowed(cell_type: PowerCellType, subject: Subject, side: Side) -> bool {
    cell_type.may_take(subject, side)
}

impl Subject {
    /// All three subjects.
    pub const ALL: [Subject; 3] = [Subject::Energy, Subject::Power, Subject::Flexibility];
}

impl Side {
    /// Both sides.
    pub const ALL: [Side; 2] = [Side::Seller, Side::Buyer];

    /// The other side.
    pub fn opposite(self) -> Side {
        match self {
            Side::Seller => Side::Buyer,
            Side::Buyer => Side::Seller,
        }
    }
}

impl fmt::Display for PowerCellType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Subject::Energy => "energy",
            Subject::Power => "power",
            Subject::Flexibility => "flexibility",
        })
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Seller => "seller",
            Side::Buyer => "buyer",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_and_properties_are_inverse() {
        for t in PowerCellType::ALL {
            assert_eq!(
                PowerCellType::from_properties(t.supply(), t.flexibility()),
                t
            );
        }
    }

    #[test]
    fn flexibility_is_sold_by_exactly_the_flexible_types() {
        // The pattern the requirements file uses to read Table 2's stray cells.
        for t in PowerCellType::ALL {
            let flexible = t.flexibility() == Flexibility::Available;
            assert_eq!(
                t.may_take(Subject::Flexibility, Side::Seller),
                flexible,
                "{t}"
            );
            assert_eq!(
                t.may_take(Subject::Flexibility, Side::Buyer),
                !flexible,
                "{t}"
            );
        }
    }
}
