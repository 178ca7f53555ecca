//! The points a controlled station reports: typed by their ASDU type, addressed by IOA, with interrogation
//! groups and a change flag for spontaneous reporting.

use crate::asdu::InformationObject;
use crate::element::Element;
use crate::types::type_info;
use std::collections::BTreeMap;

/// One monitored point.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// The ASDU type it is reported with (e.g. 13 for M_ME_NC_1).
    pub type_id: u8,
    /// Its current elements, matching the type's layout.
    pub elements: Vec<Element>,
    /// Interrogation groups 1–16 it belongs to (the station interrogation reports every point).
    pub groups: Vec<u8>,
    /// Whether it is reported by counter interrogation (integrated totals).
    pub counter: bool,
}

/// The monitored points of one common address.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PointDatabase {
    points: BTreeMap<u32, Point>,
    changed: Vec<u32>,
}

impl PointDatabase {
    /// An empty database.
    pub fn new() -> PointDatabase {
        PointDatabase::default()
    }

    /// Adds or replaces a point; `None` if the elements do not match the type's layout.
    pub fn insert(&mut self, ioa: u32, point: Point) -> Option<()> {
        let info = type_info(point.type_id)?;
        let kinds: Vec<_> = point.elements.iter().map(Element::kind).collect();
        if kinds != info.elements || point.groups.iter().any(|g| !(1..=16).contains(g)) {
            return None;
        }
        self.points.insert(ioa, point);
        Some(())
    }

    /// Changes a point's elements and marks it for spontaneous reporting; `None` for an unknown address or a
    /// layout that does not match.
    pub fn update(&mut self, ioa: u32, elements: Vec<Element>) -> Option<()> {
        let point = self.points.get_mut(&ioa)?;
        let kinds: Vec<_> = elements.iter().map(Element::kind).collect();
        if kinds != type_info(point.type_id)?.elements {
            return None;
        }
        point.elements = elements;
        if !self.changed.contains(&ioa) {
            self.changed.push(ioa);
        }
        Some(())
    }

    /// A point by address.
    pub fn get(&self, ioa: u32) -> Option<&Point> {
        self.points.get(&ioa)
    }

    /// Every point, by address.
    pub fn iter(&self) -> impl Iterator<Item = (&u32, &Point)> {
        self.points.iter()
    }

    /// Takes the points changed since the last call, in the order they changed.
    pub fn take_changed(&mut self) -> Vec<(u32, Point)> {
        let changed = std::mem::take(&mut self.changed);
        changed
            .into_iter()
            .filter_map(|ioa| self.points.get(&ioa).map(|p| (ioa, p.clone())))
            .collect()
    }

    /// The object for a point.
    pub(crate) fn object(ioa: u32, point: &Point) -> InformationObject {
        InformationObject {
            ioa,
            elements: point.elements.clone(),
        }
    }
}
