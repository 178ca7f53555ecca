//! Nesting of cells (ARCH-08): a cell connected to a feeder inside another cell. Its transactions change the
//! flow of every cell that encloses it, which is why arbitration looks up the chain.

use crate::cell::PowerCell;
use crate::error::Result;
use crate::{CellId, Error};
use std::collections::BTreeMap;

/// The enclosing relation of a set of cells, checked: every enclosing cell is known and there are no cycles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellNesting {
    parent: BTreeMap<CellId, Option<CellId>>,
}

impl CellNesting {
    /// Builds the relation from the cells' `enclosing_cell` fields.
    pub fn new<'a>(cells: impl IntoIterator<Item = &'a PowerCell>) -> Result<CellNesting> {
        let mut parent = BTreeMap::new();
        for cell in cells {
            if parent
                .insert(cell.id.clone(), cell.enclosing_cell.clone())
                .is_some()
            {
                return Err(Error::invalid(
                    "cells",
                    format!("cell {} appears twice", cell.id),
                ));
            }
        }
        for (id, p) in &parent {
            if let Some(p) = p
                && !parent.contains_key(p)
            {
                return Err(Error::invalid(
                    "enclosing_cell",
                    format!("{id} is nested in unknown cell {p}"),
                ));
            }
        }
        let nesting = CellNesting { parent };
        for id in nesting.parent.keys() {
            // A chain longer than the number of cells revisits one: a cycle.
            let mut steps = 0usize;
            let mut at = id;
            while let Some(Some(p)) = nesting.parent.get(at) {
                steps = steps.saturating_add(1);
                if steps > nesting.parent.len() {
                    return Err(Error::invalid(
                        "enclosing_cell",
                        format!("{id} is nested in a cycle"),
                    ));
                }
                at = p;
            }
        }
        Ok(nesting)
    }

    /// The cells enclosing `cell`, innermost first.
    pub fn enclosing_chain(&self, cell: &CellId) -> Vec<&CellId> {
        let mut chain = Vec::new();
        let mut at = cell;
        while let Some(Some(p)) = self.parent.get(at) {
            chain.push(p);
            at = p;
        }
        chain
    }

    /// The cells directly nested in `cell`.
    pub fn inner_cells(&self, cell: &CellId) -> Vec<&CellId> {
        self.parent
            .iter()
            .filter(|(_, p)| p.as_ref() == Some(cell))
            .map(|(id, _)| id)
            .collect()
    }
}
