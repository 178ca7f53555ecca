//! Topology models of the Internet of energy (ARCH-07): a microgrid (radial, ring or peer-to-peer mesh), a grid
//! of cells, a grid of microgrids and a mesh of microgrids; and the nesting of cells (ARCH-08).

mod graph;
mod nesting;

pub use nesting::CellNesting;

use crate::cell::{CellRef, PowerCellType};
use crate::error::Result;
use crate::{CellId, Error, MicrogridId, TopologyId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The most members (cells in a microgrid, microgrids in a set) one model may hold.
pub const MAX_MEMBERS: usize = 10_000;
/// The most links one model may hold.
pub const MAX_LINKS: usize = 100_000;

/// How a microgrid's cells are wired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MicrogridLayout {
    /// One route from the supply centre to every cell: the links form a tree.
    Radial,
    /// Complex-looped: at least two routes between any two cells (no link whose loss splits the grid).
    Ring,
    /// Peer-to-peer mesh: every cell linked with every other ("each one with each one").
    Mesh,
}

/// An electrical connection between two members.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Link<T> {
    /// One end.
    pub a: T,
    /// The other end.
    pub b: T,
}

/// A microgrid: cells able to run isolated, wired radially, as a ring or as a mesh.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Microgrid {
    /// The microgrid.
    pub id: MicrogridId,
    /// How it is wired.
    pub layout: MicrogridLayout,
    /// Its cells.
    pub cells: Vec<CellRef>,
    /// The links between its cells.
    pub links: Vec<Link<CellId>>,
    /// The power supply centre (required for a radial layout): a generator or a prosumer.
    pub supply_center: Option<CellId>,
}

/// Microgrids and the links between them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MicrogridSet {
    /// The microgrids.
    pub microgrids: Vec<Microgrid>,
    /// Point-to-point links between microgrids.
    pub links: Vec<Link<MicrogridId>>,
}

/// The four topology models of ARCH-07.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "model")]
pub enum TopologyModel {
    /// A microgrid.
    Microgrid(Microgrid),
    /// Cells on the distribution grid of the external system, trading with each other and with it.
    GridOfCells {
        /// The cells.
        cells: Vec<CellRef>,
    },
    /// Microgrids on the existing distribution grid, trading with each other and the external system.
    GridOfMicrogrids(MicrogridSet),
    /// Microgrids joined point to point; each keeps its own balance and balance is kept per link.
    MeshOfMicrogrids(MicrogridSet),
}

/// A validated topology.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "TopologySpec", into = "TopologySpec")]
pub struct Topology(TopologySpec);

/// The fields of a [`Topology`], before validation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TopologySpec {
    /// The topology.
    pub id: TopologyId,
    /// Its model.
    pub model: TopologyModel,
}

impl Topology {
    /// Validates a topology. For every model: members unique, a cell in at most one microgrid, links between
    /// two different known members and not repeated, sizes bounded. Per layout: radial links form a tree
    /// rooted at a supply centre that is a generator or prosumer; a ring has at least three cells, is
    /// connected and has no bridge; a mesh links every pair. A mesh of microgrids has at least two microgrids,
    /// each linked to another and each holding a cell able to balance it (a load-following generator or a
    /// prosumer), since no common balance forms across point-to-point links.
    pub fn new(spec: TopologySpec) -> Result<Topology> {
        match &spec.model {
            TopologyModel::Microgrid(m) => {
                validate_microgrid(m).map_err(|e| e.within("microgrid"))?
            }
            TopologyModel::GridOfCells { cells } => {
                members(cells.iter().map(|c| &c.cell), "cells")?;
                if cells.is_empty() {
                    return Err(Error::invalid(
                        "grid_of_cells.cells",
                        "a grid of cells has at least one cell",
                    ));
                }
            }
            TopologyModel::GridOfMicrogrids(set) => {
                validate_set(set, false).map_err(|e| e.within("grid_of_microgrids"))?;
            }
            TopologyModel::MeshOfMicrogrids(set) => {
                validate_set(set, true).map_err(|e| e.within("mesh_of_microgrids"))?;
            }
        }
        Ok(Topology(spec))
    }

    /// The fields, for editing and re-validation.
    pub fn into_spec(self) -> TopologySpec {
        self.0
    }

    /// Every cell in the topology.
    pub fn cells(&self) -> Vec<&CellRef> {
        match &self.0.model {
            TopologyModel::Microgrid(m) => m.cells.iter().collect(),
            TopologyModel::GridOfCells { cells } => cells.iter().collect(),
            TopologyModel::GridOfMicrogrids(s) | TopologyModel::MeshOfMicrogrids(s) => {
                s.microgrids.iter().flat_map(|m| &m.cells).collect()
            }
        }
    }
}

impl std::ops::Deref for Topology {
    type Target = TopologySpec;
    fn deref(&self) -> &TopologySpec {
        &self.0
    }
}

impl TryFrom<TopologySpec> for Topology {
    type Error = Error;
    fn try_from(spec: TopologySpec) -> Result<Topology> {
        Topology::new(spec)
    }
}

impl From<Topology> for TopologySpec {
    fn from(t: Topology) -> TopologySpec {
        t.0
    }
}

/// Indexes members by id; a repeated id or too many members is an error.
fn members<'a, T: Ord + std::fmt::Display + 'a>(
    ids: impl Iterator<Item = &'a T>,
    field: &str,
) -> Result<BTreeMap<&'a T, usize>> {
    let mut index = BTreeMap::new();
    for (i, id) in ids.enumerate() {
        if i >= MAX_MEMBERS {
            return Err(Error::invalid(
                field,
                format!("at most {MAX_MEMBERS} members"),
            ));
        }
        if index.insert(id, i).is_some() {
            return Err(Error::invalid(
                format!("{field}[{i}]"),
                format!("{id} appears twice"),
            ));
        }
    }
    Ok(index)
}

/// Resolves links to member indices: both ends known and different, no link twice (in either direction).
fn edges<T: Ord + std::fmt::Display>(
    links: &[Link<T>],
    index: &BTreeMap<&T, usize>,
) -> Result<Vec<(usize, usize)>> {
    if links.len() > MAX_LINKS {
        return Err(Error::invalid(
            "links",
            format!("at most {MAX_LINKS} links, not {}", links.len()),
        ));
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(links.len());
    for (i, link) in links.iter().enumerate() {
        let end = |id: &T, side: &str| {
            index.get(id).copied().ok_or_else(|| {
                Error::invalid(
                    format!("links[{i}].{side}"),
                    format!("{id} is not a member"),
                )
            })
        };
        let (a, b) = (end(&link.a, "a")?, end(&link.b, "b")?);
        if a == b {
            return Err(Error::invalid(
                format!("links[{i}]"),
                format!("{} is linked to itself", link.a),
            ));
        }
        if !seen.insert((a.min(b), a.max(b))) {
            return Err(Error::invalid(
                format!("links[{i}]"),
                format!("{} – {} is linked twice", link.a, link.b),
            ));
        }
        out.push((a, b));
    }
    Ok(out)
}

fn is_generator_or_prosumer(t: PowerCellType) -> bool {
    matches!(
        t,
        PowerCellType::LoadFollowingGenerator
            | PowerCellType::StochasticGenerator
            | PowerCellType::Prosumer
    )
}

fn validate_microgrid(m: &Microgrid) -> Result<()> {
    let n = m.cells.len();
    if n == 0 {
        return Err(Error::invalid("cells", "a microgrid has at least one cell"));
    }
    let index = members(m.cells.iter().map(|c| &c.cell), "cells")?;
    let edges = edges(&m.links, &index)?;
    if let Some(center) = &m.supply_center {
        let cell = index
            .get(center)
            .and_then(|&i| m.cells.get(i))
            .ok_or_else(|| {
                Error::invalid(
                    "supply_center",
                    format!("{center} is not a cell of the microgrid"),
                )
            })?;
        if !is_generator_or_prosumer(cell.cell_type) {
            return Err(Error::invalid(
                "supply_center",
                format!(
                    "{center} is a {} cell; a supply centre is a generator or a prosumer",
                    cell.cell_type
                ),
            ));
        }
    }
    match m.layout {
        MicrogridLayout::Radial => {
            if m.supply_center.is_none() {
                return Err(Error::invalid(
                    "supply_center",
                    "a radial microgrid needs its power supply centre",
                ));
            }
            if edges.len() != n.saturating_sub(1) || !graph::is_connected(n, &edges) {
                return Err(Error::invalid(
                    "links",
                    "radial links must form one tree over all cells",
                ));
            }
        }
        MicrogridLayout::Ring => {
            if n < 3 {
                return Err(Error::invalid("cells", "a ring has at least three cells"));
            }
            if !graph::is_connected(n, &edges) {
                return Err(Error::invalid("links", "a ring must connect all its cells"));
            }
            if let Some(i) = graph::find_bridge(n, &edges) {
                return Err(Error::invalid(
                    format!("links[{i}]"),
                    "this link is the only route between two parts; a ring needs two routes everywhere",
                ));
            }
        }
        MicrogridLayout::Mesh => {
            let pairs = n.saturating_mul(n.saturating_sub(1)) / 2;
            if edges.len() != pairs {
                return Err(Error::invalid(
                    "links",
                    format!(
                        "a mesh links each cell with each other: {pairs} links for {n} cells, not {}",
                        edges.len()
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn validate_set(set: &MicrogridSet, mesh: bool) -> Result<()> {
    let index = members(set.microgrids.iter().map(|m| &m.id), "microgrids")?;
    let mut cells = BTreeSet::new();
    for (i, m) in set.microgrids.iter().enumerate() {
        validate_microgrid(m).map_err(|e| e.within(&format!("microgrids[{i}]")))?;
        for c in &m.cells {
            if !cells.insert(&c.cell) {
                return Err(Error::invalid(
                    format!("microgrids[{i}].cells"),
                    format!("cell {} is in two microgrids", c.cell),
                ));
            }
        }
    }
    let edges = edges(&set.links, &index)?;
    if mesh {
        if set.microgrids.len() < 2 {
            return Err(Error::invalid(
                "microgrids",
                "a mesh of microgrids joins at least two",
            ));
        }
        for (i, m) in set.microgrids.iter().enumerate() {
            if !edges.iter().any(|&(a, b)| a == i || b == i) {
                return Err(Error::invalid(
                    format!("microgrids[{i}]"),
                    format!("{} has no point-to-point link", m.id),
                ));
            }
            let balancing = m.cells.iter().any(|c| {
                matches!(
                    c.cell_type,
                    PowerCellType::LoadFollowingGenerator | PowerCellType::Prosumer
                )
            });
            if !balancing {
                return Err(Error::invalid(
                    format!("microgrids[{i}]"),
                    format!(
                        "{} has no cell that can keep its own balance (a load-following generator or a prosumer)",
                        m.id
                    ),
                ));
            }
        }
    } else if set.microgrids.is_empty() {
        return Err(Error::invalid(
            "microgrids",
            "a grid of microgrids has at least one",
        ));
    }
    Ok(())
}
