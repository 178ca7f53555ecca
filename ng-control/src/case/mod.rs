//! Power-flow cases in the MATPOWER data model: buses, generators and branches on a system MVA base.

mod matpower;

pub use matpower::MAX_CASE_BYTES;

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// The role of a bus in a power flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BusType {
    /// Load bus: P and Q given (MATPOWER type 1).
    Pq,
    /// Generator bus: P and |V| given (type 2).
    Pv,
    /// Reference (slack) bus: |V| and angle given (type 3).
    Reference,
    /// Isolated, out of service (type 4).
    Isolated,
}

/// One bus (MATPOWER `mpc.bus` columns 1–13).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bus {
    /// Bus number as in the file.
    pub id: u32,
    /// Its role.
    pub bus_type: BusType,
    /// Active load, MW.
    pub pd_mw: f64,
    /// Reactive load, MVAr.
    pub qd_mvar: f64,
    /// Shunt conductance, MW at 1 p.u.
    pub gs_mw: f64,
    /// Shunt susceptance, MVAr at 1 p.u.
    pub bs_mvar: f64,
    /// Initial voltage magnitude, p.u.
    pub vm_pu: f64,
    /// Initial voltage angle, degrees.
    pub va_deg: f64,
    /// Base voltage, kV.
    pub base_kv: f64,
    /// Upper voltage limit, p.u.
    pub vmax_pu: f64,
    /// Lower voltage limit, p.u.
    pub vmin_pu: f64,
}

/// One generator (MATPOWER `mpc.gen` columns 1–8).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Generator {
    /// The bus it feeds.
    pub bus: u32,
    /// Active output, MW.
    pub pg_mw: f64,
    /// Reactive output, MVAr.
    pub qg_mvar: f64,
    /// Voltage setpoint, p.u.
    pub vg_pu: f64,
    /// In service.
    pub in_service: bool,
}

/// One branch: a line or transformer in the π model (MATPOWER `mpc.branch` columns 1–11).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Branch {
    /// From bus.
    pub from: u32,
    /// To bus.
    pub to: u32,
    /// Resistance, p.u.
    pub r_pu: f64,
    /// Reactance, p.u.
    pub x_pu: f64,
    /// Total line charging susceptance, p.u.
    pub b_pu: f64,
    /// Long-term rating, MVA (0 = unlimited).
    pub rate_a_mva: f64,
    /// Off-nominal tap ratio at the from end (0 or 1 = none).
    pub ratio: f64,
    /// Phase shift, degrees.
    pub shift_deg: f64,
    /// In service.
    pub in_service: bool,
}

/// A power-flow case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    /// The system base, MVA.
    pub base_mva: f64,
    /// The buses.
    pub buses: Vec<Bus>,
    /// The generators.
    pub generators: Vec<Generator>,
    /// The branches.
    pub branches: Vec<Branch>,
}

impl Case {
    /// Reads a case in the MATPOWER text format (`mpc.baseMVA`, `mpc.bus`, `mpc.gen`, `mpc.branch`, version 2,
    /// standard units). Statements that would change the data in place (unit conversions some case files carry
    /// as MATLAB code) are refused with their line, never silently skipped.
    pub fn from_matpower(text: &str) -> Result<Case> {
        matpower::parse(text)
    }

    /// Writes the case in the MATPOWER text format.
    pub fn to_matpower(&self, name: &str) -> String {
        matpower::write(self, name)
    }

    /// Checks the data: a positive base, unique bus numbers, branches and generators on known buses, finite
    /// values, non-zero branch impedance.
    pub fn validate(&self) -> Result<()> {
        self.validated_index().map(|_| ())
    }

    /// [`Case::validate`], keeping the index of bus numbers to positions in `buses` it builds.
    pub(crate) fn validated_index(&self) -> Result<BusIndex> {
        if !(self.base_mva.is_finite() && self.base_mva > 0.0) {
            return Err(Error::CaseData(format!(
                "baseMVA {} is not positive",
                self.base_mva
            )));
        }
        let ids = BusIndex::new(self.buses.iter().enumerate().map(|(i, b)| (b.id, i)))
            .map_err(|id| Error::CaseData(format!("bus {id} appears twice")))?;
        for b in &self.buses {
            let values = [
                b.pd_mw, b.qd_mvar, b.gs_mw, b.bs_mvar, b.vm_pu, b.va_deg, b.base_kv,
            ];
            if values.iter().any(|v| !v.is_finite()) {
                return Err(Error::CaseData(format!(
                    "bus {} has a value that is not finite",
                    b.id
                )));
            }
        }
        for (i, g) in self.generators.iter().enumerate() {
            if ids.get(g.bus).is_none() {
                return Err(Error::CaseData(format!(
                    "generator {} is on unknown bus {}",
                    i + 1,
                    g.bus
                )));
            }
            if ![g.pg_mw, g.qg_mvar, g.vg_pu].iter().all(|v| v.is_finite()) {
                return Err(Error::CaseData(format!(
                    "generator {} has a value that is not finite",
                    i + 1
                )));
            }
        }
        for (i, br) in self.branches.iter().enumerate() {
            for end in [br.from, br.to] {
                if ids.get(end).is_none() {
                    return Err(Error::CaseData(format!(
                        "branch {} ends on unknown bus {end}",
                        i + 1
                    )));
                }
            }
            if br.from == br.to {
                return Err(Error::CaseData(format!(
                    "branch {} joins bus {} to itself",
                    i + 1,
                    br.from
                )));
            }
            if ![br.r_pu, br.x_pu, br.b_pu, br.ratio, br.shift_deg]
                .iter()
                .all(|v| v.is_finite())
            {
                return Err(Error::CaseData(format!(
                    "branch {} has a value that is not finite",
                    i + 1
                )));
            }
            if br.in_service && br.r_pu == 0.0 && br.x_pu == 0.0 {
                return Err(Error::CaseData(format!(
                    "branch {} has zero impedance",
                    i + 1
                )));
            }
        }
        Ok(ids)
    }
}

/// Bus numbers to positions, built once per solve: a direct table where the numbers are dense (MATPOWER
/// cases number their buses 1..n, or nearly so), else sorted pairs searched by halving.
#[derive(Debug, Clone)]
pub(crate) enum BusIndex {
    /// `table[id]` is the position of bus `id`, `usize::MAX` where no bus has that number.
    Direct(Vec<usize>),
    Sorted(Vec<(u32, usize)>),
}

impl BusIndex {
    /// The index of `pairs` (bus number, position); the least bus number given twice is the error.
    pub(crate) fn new(
        pairs: impl ExactSizeIterator<Item = (u32, usize)> + Clone,
    ) -> std::result::Result<BusIndex, u32> {
        let len = pairs.len();
        let max = pairs.clone().map(|(id, _)| id).max().unwrap_or(0);
        let max = usize::try_from(max).unwrap_or(usize::MAX);
        if max <= len.saturating_mul(4).saturating_add(64) {
            let mut table = vec![usize::MAX; max + 1];
            let mut twice: Option<u32> = None;
            for (id, position) in pairs {
                let slot = &mut table[id as usize];
                if *slot == usize::MAX {
                    *slot = position;
                } else {
                    twice = Some(twice.map_or(id, |t| t.min(id)));
                }
            }
            return match twice {
                Some(id) => Err(id),
                None => Ok(BusIndex::Direct(table)),
            };
        }
        let mut pairs: Vec<(u32, usize)> = pairs.collect();
        pairs.sort_unstable();
        if let Some(twice) = pairs.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(twice[0].0);
        }
        Ok(BusIndex::Sorted(pairs))
    }

    /// The position of bus number `id`.
    pub(crate) fn get(&self, id: u32) -> Option<usize> {
        match self {
            BusIndex::Direct(table) => table
                .get(usize::try_from(id).ok()?)
                .copied()
                .filter(|&p| p != usize::MAX),
            BusIndex::Sorted(pairs) => pairs
                .binary_search_by_key(&id, |&(k, _)| k)
                .ok()
                .map(|p| pairs[p].1),
        }
    }
}
