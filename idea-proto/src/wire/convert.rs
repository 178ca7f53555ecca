//! Conversions between the generated protobuf types and the domain types. Wire → domain validates and reports
//! the protobuf field path of what it refuses.

use super::pb;
use crate::error::Result;
use crate::*;
use std::str::FromStr;

/// A sub-message that must be present, converted and validated, errors placed under `field`.
pub(super) fn sub<T, W>(wire: Option<W>, field: &str) -> Result<T>
where
    T: TryFrom<W, Error = Error>,
{
    let wire = wire.ok_or_else(|| Error::invalid(field, "missing"))?;
    T::try_from(wire).map_err(|e| e.within(field))
}

/// A list of sub-messages, each converted, errors placed under `field[i]`.
pub(super) fn list<T, W>(wire: Vec<W>, field: &str) -> Result<Vec<T>>
where
    T: TryFrom<W, Error = Error>,
{
    wire.into_iter()
        .enumerate()
        .map(|(i, w)| T::try_from(w).map_err(|e| e.within(&format!("{field}[{i}]"))))
        .collect()
}

/// An identifier parsed from its text, errors placed under `field`.
pub(super) fn id<T: FromStr<Err = Error>>(text: &str, field: &str) -> Result<T> {
    text.parse().map_err(|e: Error| e.within(field))
}

/// An optional identifier: the empty string means absent.
pub(super) fn opt_id<T: FromStr<Err = Error>>(text: &str, field: &str) -> Result<Option<T>> {
    if text.is_empty() {
        Ok(None)
    } else {
        id(text, field).map(Some)
    }
}

pub(super) fn opt_text<T: AsRef<str>>(id: Option<&T>) -> String {
    id.map(|i| i.as_ref().to_owned()).unwrap_or_default()
}

pub(super) fn timestamp(ms: i64, field: &str) -> Result<Timestamp> {
    Timestamp::from_unix_ms(ms).map_err(|e| e.within(field))
}

pub(super) fn transaction_id(bytes: &[u8], field: &str) -> Result<TransactionId> {
    TransactionId::from_slice(bytes).map_err(|e| e.within(field))
}

/// Maps a domain enum to and from its protobuf enum; the protobuf `UNSPECIFIED` and unknown values are refused.
macro_rules! enum_map {
    ($domain:ty, $wire:ty, $to:ident, $from:ident, [$($d:ident => $w:ident),+ $(,)?]) => {
        pub(super) fn $to(value: $domain) -> i32 {
            match value {
                $(<$domain>::$d => <$wire>::$w as i32,)+
            }
        }

        pub(super) fn $from(value: i32, field: &str) -> Result<$domain> {
            match <$wire>::try_from(value) {
                $(Ok(<$wire>::$w) => Ok(<$domain>::$d),)+
                _ => Err(Error::invalid(field, format!("{value} is not a known {}", stringify!($domain)))),
            }
        }
    };
}

enum_map!(PowerCellType, pb::PowerCellType, cell_type_to, cell_type_from, [
    LoadFollowingGenerator => LoadFollowingGenerator,
    StochasticGenerator => StochasticGenerator,
    Prosumer => Prosumer,
    ConsumerWithOwnGeneration => ConsumerWithOwnGeneration,
    ActiveConsumer => ActiveConsumer,
    PassiveConsumer => PassiveConsumer,
]);
enum_map!(Subject, pb::Subject, subject_to, subject_from, [
    Energy => Energy, Power => Power, Flexibility => Flexibility,
]);
enum_map!(Side, pb::Side, side_to, side_from, [Seller => Seller, Buyer => Buyer]);
enum_map!(CommandKind, pb::CommandKind, command_kind_to, command_kind_from, [
    Start => Start, Adjust => Adjust, Complete => Complete,
]);
enum_map!(TransactionState, pb::TransactionState, state_to, state_from, [
    Requested => Requested, Answered => Answered, Negotiating => Negotiating, Agreed => Agreed,
    Recorded => Recorded, Commanded => Commanded, Executing => Executing, Measured => Measured,
    Completed => Completed, Settled => Settled, Rejected => Rejected, Expired => Expired,
    Failed => Failed, Disputed => Disputed,
]);
enum_map!(ServiceKind, pb::ServiceKind, service_kind_to, service_kind_from, [
    P2pMarket => P2pMarket, LoadShedding => LoadShedding, DemandResponse => DemandResponse,
    Flexibility => Flexibility, Arbitration => Arbitration, Other => Other,
]);
enum_map!(MicrogridLayout, pb::MicrogridLayout, layout_to, layout_from, [
    Radial => Radial, Ring => Ring, Mesh => Mesh,
]);

// ---- common -------------------------------------------------------------------------------------------

impl From<Currency> for pb::Currency {
    fn from(c: Currency) -> pb::Currency {
        pb::Currency {
            code: c.code().to_owned(),
            exponent: c.exponent(),
        }
    }
}

impl TryFrom<pb::Currency> for Currency {
    type Error = Error;
    fn try_from(c: pb::Currency) -> Result<Currency> {
        Currency::new(&c.code, c.exponent)
    }
}

impl From<EnergyPrice> for pb::EnergyPrice {
    fn from(p: EnergyPrice) -> pb::EnergyPrice {
        pb::EnergyPrice {
            minor_units_per_kwh: p.minor_units_per_kwh,
            currency: Some(p.currency.into()),
        }
    }
}

impl TryFrom<pb::EnergyPrice> for EnergyPrice {
    type Error = Error;
    fn try_from(p: pb::EnergyPrice) -> Result<EnergyPrice> {
        Ok(EnergyPrice::new(
            p.minor_units_per_kwh,
            sub(p.currency, "currency")?,
        ))
    }
}

impl From<&CellRef> for pb::CellRef {
    fn from(c: &CellRef) -> pb::CellRef {
        pb::CellRef {
            cell: c.cell.to_string(),
            cell_type: cell_type_to(c.cell_type),
        }
    }
}

impl TryFrom<pb::CellRef> for CellRef {
    type Error = Error;
    fn try_from(c: pb::CellRef) -> Result<CellRef> {
        Ok(CellRef::new(
            id(&c.cell, "cell")?,
            cell_type_from(c.cell_type, "cell_type")?,
        ))
    }
}

impl From<PowerLevel> for pb::PowerLevel {
    fn from(p: PowerLevel) -> pb::PowerLevel {
        pb::PowerLevel {
            active_w: p.active.w(),
            reactive_var: p.reactive.var(),
        }
    }
}

impl TryFrom<pb::PowerLevel> for PowerLevel {
    type Error = Error;
    fn try_from(p: pb::PowerLevel) -> Result<PowerLevel> {
        Ok(PowerLevel::new(
            ActivePower::from_w(p.active_w),
            ReactivePower::from_var(p.reactive_var),
        ))
    }
}

// ---- cells --------------------------------------------------------------------------------------------

impl From<CellLimits> for pb::CellLimits {
    fn from(l: CellLimits) -> pb::CellLimits {
        pb::CellLimits {
            max_import_w: l.max_import.w(),
            max_export_w: l.max_export.w(),
            max_import_var: l.max_import_q.var(),
            max_export_var: l.max_export_q.var(),
        }
    }
}

impl TryFrom<pb::CellLimits> for CellLimits {
    type Error = Error;
    fn try_from(l: pb::CellLimits) -> Result<CellLimits> {
        Ok(CellLimits {
            max_import: ActivePower::from_w(l.max_import_w),
            max_export: ActivePower::from_w(l.max_export_w),
            max_import_q: ReactivePower::from_var(l.max_import_var),
            max_export_q: ReactivePower::from_var(l.max_export_var),
        })
    }
}

impl From<&ElectricalUnit> for pb::ElectricalUnit {
    fn from(u: &ElectricalUnit) -> pb::ElectricalUnit {
        use pb::electrical_unit::Kind;
        let kind = match u.kind {
            UnitKind::Generator {
                rated,
                rated_apparent,
                dispatchable,
            } => Kind::Generator(pb::Generator {
                rated_w: rated.w(),
                rated_va: rated_apparent.va(),
                dispatchable,
            }),
            UnitKind::Photovoltaic { peak, inverter } => Kind::Pv(pb::PhotovoltaicArray {
                peak_w: peak.w(),
                inverter_va: inverter.va(),
            }),
            UnitKind::Storage {
                capacity,
                max_charge,
                max_discharge,
            } => Kind::Storage(pb::Storage {
                capacity_wh: capacity.wh(),
                max_charge_w: max_charge.w(),
                max_discharge_w: max_discharge.w(),
            }),
            UnitKind::Load {
                rated,
                controllable,
            } => Kind::Load(pb::Load {
                rated_w: rated.w(),
                controllable,
            }),
        };
        pb::ElectricalUnit {
            id: u.id.to_string(),
            kind: Some(kind),
        }
    }
}

impl TryFrom<pb::ElectricalUnit> for ElectricalUnit {
    type Error = Error;
    fn try_from(u: pb::ElectricalUnit) -> Result<ElectricalUnit> {
        use pb::electrical_unit::Kind;
        let kind = match u.kind.ok_or_else(|| Error::invalid("kind", "missing"))? {
            Kind::Generator(g) => UnitKind::Generator {
                rated: ActivePower::from_w(g.rated_w),
                rated_apparent: ApparentPower::from_va(g.rated_va),
                dispatchable: g.dispatchable,
            },
            Kind::Pv(p) => UnitKind::Photovoltaic {
                peak: ActivePower::from_w(p.peak_w),
                inverter: ApparentPower::from_va(p.inverter_va),
            },
            Kind::Storage(s) => UnitKind::Storage {
                capacity: Energy::from_wh(s.capacity_wh),
                max_charge: ActivePower::from_w(s.max_charge_w),
                max_discharge: ActivePower::from_w(s.max_discharge_w),
            },
            Kind::Load(l) => UnitKind::Load {
                rated: ActivePower::from_w(l.rated_w),
                controllable: l.controllable,
            },
        };
        Ok(ElectricalUnit {
            id: id(&u.id, "id")?,
            kind,
        })
    }
}

impl From<&ConnectionPoint> for pb::ConnectionPoint {
    fn from(c: &ConnectionPoint) -> pb::ConnectionPoint {
        pb::ConnectionPoint {
            node: c.node.to_string(),
            nominal_voltage_mv: c.nominal_voltage.mv(),
            dc: c.dc,
        }
    }
}

impl TryFrom<pb::ConnectionPoint> for ConnectionPoint {
    type Error = Error;
    fn try_from(c: pb::ConnectionPoint) -> Result<ConnectionPoint> {
        Ok(ConnectionPoint {
            node: id(&c.node, "node")?,
            nominal_voltage: Voltage::from_mv(c.nominal_voltage_mv),
            dc: c.dc,
        })
    }
}

impl From<&PowerCell> for pb::PowerCell {
    fn from(c: &PowerCell) -> pb::PowerCell {
        pb::PowerCell {
            id: c.id.to_string(),
            cell_type: cell_type_to(c.cell_type),
            owner: c.owner.to_string(),
            agent: c.agent.to_string(),
            limits: Some(c.limits.into()),
            units: c.units.iter().map(Into::into).collect(),
            connection: Some((&c.connection).into()),
            enclosing_cell: opt_text(c.enclosing_cell.as_ref()),
        }
    }
}

impl TryFrom<pb::PowerCell> for PowerCell {
    type Error = Error;
    fn try_from(c: pb::PowerCell) -> Result<PowerCell> {
        PowerCell::new(PowerCellSpec {
            id: id(&c.id, "id")?,
            cell_type: cell_type_from(c.cell_type, "cell_type")?,
            owner: id(&c.owner, "owner")?,
            agent: id(&c.agent, "agent")?,
            limits: sub(c.limits, "limits")?,
            units: list(c.units, "units")?,
            connection: sub(c.connection, "connection")?,
            enclosing_cell: opt_id(&c.enclosing_cell, "enclosing_cell")?,
        })
    }
}
