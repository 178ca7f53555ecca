//! The controls in force at one moment: a value per mode and where it came from.

use super::ProgramId;
use super::modes::{DerMode, ModeSet};
use crate::primitives::Mrid;
use crate::resources::DERControlBase;

/// Where a mode's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlSource {
    /// An active `DERControl` event.
    Event {
        /// The event's mRID.
        mrid: Mrid,
        /// Its program.
        program: ProgramId,
        /// The event's `rampTms`, if it sets one.
        ramp_tms: Option<u16>,
    },
    /// The `DefaultDERControl` of the highest-primacy program that sets the mode, no event setting it.
    #[doc(alias = "DefaultDERControl")]
    Default {
        /// The default control's mRID.
        mrid: Mrid,
        /// Its program.
        program: ProgramId,
        /// Its `rampTms`, if it sets one.
        ramp_tms: Option<u16>,
    },
}

/// The controls in force: one `DERControlBase` holding each mode's winning value, and each value's source.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ActiveControls {
    base: DERControlBase,
    sources: Vec<(DerMode, ControlSource)>,
}

impl ActiveControls {
    /// Sets `mode` from `from`, recording its source. Modes are set once each, in schema order.
    pub(crate) fn set(&mut self, mode: DerMode, from: &DERControlBase, source: ControlSource) {
        mode.copy(from, &mut self.base);
        self.sources.push((mode, source));
    }

    /// Every mode's value in one `DERControlBase` (its `rampTms` left unset: each source has its own).
    pub fn base(&self) -> &DERControlBase {
        &self.base
    }

    /// Where `mode`'s value comes from; `None` when nothing sets it.
    pub fn source(&self, mode: DerMode) -> Option<&ControlSource> {
        self.sources
            .iter()
            .find(|(m, _)| *m == mode)
            .map(|(_, s)| s)
    }

    /// The modes in force with their sources, in schema order.
    pub fn iter(&self) -> impl Iterator<Item = (DerMode, &ControlSource)> {
        self.sources.iter().map(|(m, s)| (*m, s))
    }

    /// The modes in force.
    pub fn modes(&self) -> ModeSet {
        self.sources.iter().map(|(m, _)| *m).collect()
    }

    /// Whether no mode is in force.
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    /// The mRID of the event controlling `mode`, if an event does.
    pub fn event_for(&self, mode: DerMode) -> Option<&Mrid> {
        match self.source(mode)? {
            ControlSource::Event { mrid, .. } => Some(mrid),
            ControlSource::Default { .. } => None,
        }
    }
}
