//! Wire conversions of topology models.

use super::convert::*;
use super::pb;
use crate::error::Result;
use crate::*;
use std::str::FromStr;

fn links_to<T: AsRef<str>>(links: &[Link<T>]) -> Vec<pb::Link> {
    links
        .iter()
        .map(|l| pb::Link {
            a: l.a.as_ref().to_owned(),
            b: l.b.as_ref().to_owned(),
        })
        .collect()
}

fn links_from<T: FromStr<Err = Error>>(links: &[pb::Link]) -> Result<Vec<Link<T>>> {
    links
        .iter()
        .enumerate()
        .map(|(i, l)| {
            Ok(Link {
                a: id(&l.a, &format!("links[{i}].a"))?,
                b: id(&l.b, &format!("links[{i}].b"))?,
            })
        })
        .collect()
}

impl From<&Microgrid> for pb::Microgrid {
    fn from(m: &Microgrid) -> pb::Microgrid {
        pb::Microgrid {
            id: m.id.to_string(),
            layout: layout_to(m.layout),
            cells: m.cells.iter().map(Into::into).collect(),
            links: links_to(&m.links),
            supply_center: opt_text(m.supply_center.as_ref()),
        }
    }
}

impl TryFrom<pb::Microgrid> for Microgrid {
    type Error = Error;
    fn try_from(m: pb::Microgrid) -> Result<Microgrid> {
        Ok(Microgrid {
            id: id(&m.id, "id")?,
            layout: layout_from(m.layout, "layout")?,
            cells: list(m.cells, "cells")?,
            links: links_from(&m.links)?,
            supply_center: opt_id(&m.supply_center, "supply_center")?,
        })
    }
}

impl From<&MicrogridSet> for pb::MicrogridSet {
    fn from(s: &MicrogridSet) -> pb::MicrogridSet {
        pb::MicrogridSet {
            microgrids: s.microgrids.iter().map(Into::into).collect(),
            links: links_to(&s.links),
        }
    }
}

impl TryFrom<pb::MicrogridSet> for MicrogridSet {
    type Error = Error;
    fn try_from(s: pb::MicrogridSet) -> Result<MicrogridSet> {
        Ok(MicrogridSet {
            microgrids: list(s.microgrids, "microgrids")?,
            links: links_from(&s.links)?,
        })
    }
}

impl From<&Topology> for pb::Topology {
    fn from(t: &Topology) -> pb::Topology {
        use pb::topology::Model as M;
        let model = match &t.model {
            TopologyModel::Microgrid(m) => M::Microgrid(m.into()),
            TopologyModel::GridOfCells { cells } => M::GridOfCells(pb::GridOfCells {
                cells: cells.iter().map(Into::into).collect(),
            }),
            TopologyModel::GridOfMicrogrids(s) => M::GridOfMicrogrids(s.into()),
            TopologyModel::MeshOfMicrogrids(s) => M::MeshOfMicrogrids(s.into()),
        };
        pb::Topology {
            id: t.id.to_string(),
            model: Some(model),
        }
    }
}

impl TryFrom<pb::Topology> for Topology {
    type Error = Error;
    fn try_from(t: pb::Topology) -> Result<Topology> {
        use pb::topology::Model as M;
        let model = match t.model.ok_or_else(|| Error::invalid("model", "missing"))? {
            M::Microgrid(m) => {
                TopologyModel::Microgrid(Microgrid::try_from(m).map_err(|e| e.within("microgrid"))?)
            }
            M::GridOfCells(g) => TopologyModel::GridOfCells {
                cells: list(g.cells, "grid_of_cells.cells")?,
            },
            M::GridOfMicrogrids(s) => TopologyModel::GridOfMicrogrids(
                MicrogridSet::try_from(s).map_err(|e| e.within("grid_of_microgrids"))?,
            ),
            M::MeshOfMicrogrids(s) => TopologyModel::MeshOfMicrogrids(
                MicrogridSet::try_from(s).map_err(|e| e.within("mesh_of_microgrids"))?,
            ),
        };
        Topology::new(TopologySpec {
            id: id(&t.id, "id")?,
            model,
        })
    }
}
