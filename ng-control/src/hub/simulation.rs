//! A time-domain model of an isolated microgrid: per-cell hubs (virtual synchronous machines with droop,
//! inertia and restoration), PV and loads, aggregated inertia on one frequency; events step loads, drop
//! generation or join a new cell (plug & play, DEMO-S3). Explicit fixed-step integration driven by the caller's
//! step size; the report gives the nadir, the largest rate of change of frequency, and the verdict of the
//! frequency norms.

use super::{FrequencyNorms, FrequencyVerdict, HubSettings};
use crate::error::{Error, Result};

/// The most cells a simulation holds, and the most integration steps it takes.
const MAX_CELLS: usize = 10_000;
const MAX_STEPS: f64 = 20_000_000.0;

/// One power cell of the microgrid with its hub.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// A name for reports.
    pub name: String,
    /// Rating of the hub's converter, W.
    pub hub_rating_w: f64,
    /// Hub settings.
    pub hub: HubSettings,
    /// Load, W.
    pub load_w: f64,
    /// PV output, W.
    pub pv_w: f64,
}

/// What happens at an event.
#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    /// A cell's load changes by `delta_w`.
    LoadStep {
        /// Index of the cell.
        cell: usize,
        /// Change, W (positive: more load).
        delta_w: f64,
    },
    /// A cell loses `lost_w` of its PV output.
    GenerationLoss {
        /// Index of the cell.
        cell: usize,
        /// Generation lost, W.
        lost_w: f64,
    },
    /// A new cell connects; its hub starts from zero output.
    CellJoins(Cell),
}

/// An event at a time.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// When, s.
    pub at_s: f64,
    /// What.
    pub kind: EventKind,
}

/// The microgrid.
#[derive(Debug, Clone, PartialEq)]
pub struct Microgrid {
    /// Nominal frequency, Hz.
    pub nominal_hz: f64,
    /// The cells at the start.
    pub cells: Vec<Cell>,
    /// Inertia of synchronous machines, s on the hubs' total rating (0 for a converter-only system).
    pub machine_inertia_s: f64,
    /// Load damping: per-unit load change per per-unit frequency change.
    pub load_damping: f64,
}

/// The result of a simulation.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulationReport {
    /// `(time s, frequency Hz)`, one sample per `record_every_s`.
    pub trace: Vec<(f64, f64)>,
    /// The lowest frequency, Hz.
    pub nadir_hz: f64,
    /// The highest frequency, Hz.
    pub zenith_hz: f64,
    /// The largest |df/dt|, Hz/s.
    pub max_rocof_hz_per_s: f64,
    /// Hubs at their rating at the end (they can no longer balance).
    pub saturated_hubs: Vec<String>,
    /// The verdict of the frequency norms on the trace.
    pub verdict: FrequencyVerdict,
}

/// A finite value above zero.
fn positive(x: f64) -> bool {
    x.is_finite() && x > 0.0
}

struct HubState {
    rating_w: f64,
    settings: HubSettings,
    output_w: f64,
    reference_w: f64,
}

/// Runs the model for `duration_s` with integration step `dt_s`, recording the frequency every
/// `record_every_s`, and judges the trace with `norms`.
pub fn simulate(
    model: &Microgrid,
    events: &[Event],
    duration_s: f64,
    dt_s: f64,
    record_every_s: f64,
    norms: &FrequencyNorms,
) -> Result<SimulationReport> {
    let bad = |what: String| Err(Error::CaseData(what));
    if !(dt_s > 0.0 && duration_s > 0.0 && record_every_s >= dt_s) || duration_s / dt_s > MAX_STEPS
    {
        return bad(format!(
            "step {dt_s} s, record every {record_every_s} s over {duration_s} s is not a valid run"
        ));
    }
    if model.cells.is_empty() || model.cells.len() > MAX_CELLS {
        return bad(format!(
            "a microgrid has 1 to {MAX_CELLS} cells, not {}",
            model.cells.len()
        ));
    }
    let mut cells = model.cells.clone();
    let f0 = model.nominal_hz;
    let mut hubs: Vec<HubState> = Vec::new();
    let rating: f64 = cells.iter().map(|c| c.hub_rating_w).sum();
    if cells.iter().any(|c| !positive(c.hub_rating_w)) {
        return bad("every hub needs a positive rating".into());
    }
    // Start balanced: hubs share the net load in proportion to their ratings.
    let net: f64 = cells.iter().map(|c| c.load_w - c.pv_w).sum();
    for c in &cells {
        let share = net * c.hub_rating_w / rating;
        hubs.push(HubState {
            rating_w: c.hub_rating_w,
            settings: c.hub,
            output_w: share,
            reference_w: share,
        });
    }
    let mut pending: Vec<&Event> = events.iter().collect();
    pending.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
    let mut next_event = 0;
    let mut f = f0;
    let mut t = 0.0;
    let mut trace = vec![(0.0, f)];
    let mut next_record = record_every_s;
    let (mut nadir, mut zenith, mut max_rocof) = (f, f, 0.0f64);
    while t < duration_s {
        while let Some(e) = pending.get(next_event).filter(|e| e.at_s <= t) {
            match &e.kind {
                EventKind::LoadStep { cell, delta_w } => match cells.get_mut(*cell) {
                    Some(c) => c.load_w += delta_w,
                    None => return bad(format!("event at {} s names cell {cell}", e.at_s)),
                },
                EventKind::GenerationLoss { cell, lost_w } => match cells.get_mut(*cell) {
                    Some(c) => c.pv_w = (c.pv_w - lost_w).max(0.0),
                    None => return bad(format!("event at {} s names cell {cell}", e.at_s)),
                },
                EventKind::CellJoins(c) => {
                    if !positive(c.hub_rating_w) || cells.len() >= MAX_CELLS {
                        return bad(format!("cell {} cannot join", c.name));
                    }
                    hubs.push(HubState {
                        rating_w: c.hub_rating_w,
                        settings: c.hub,
                        output_w: 0.0,
                        reference_w: 0.0,
                    });
                    cells.push(c.clone());
                }
            }
            next_event += 1;
        }
        let total_rating: f64 = hubs.iter().map(|h| h.rating_w).sum();
        let stored: f64 = hubs
            .iter()
            .map(|h| h.settings.virtual_inertia_s * h.rating_w)
            .sum::<f64>()
            + model.machine_inertia_s * total_rating;
        let generation: f64 = hubs.iter().map(|h| h.output_w).sum::<f64>()
            + cells.iter().map(|c| c.pv_w).sum::<f64>();
        let load: f64 = cells.iter().map(|c| c.load_w).sum::<f64>()
            * (1.0 + model.load_damping * (f - f0) / f0);
        let dfdt = if stored > 0.0 {
            f0 / (2.0 * stored) * (generation - load)
        } else {
            f64::INFINITY
        };
        if !dfdt.is_finite() {
            return bad("the microgrid has no inertia, virtual or real".into());
        }
        max_rocof = max_rocof.max(dfdt.abs());
        for h in &mut hubs {
            let s = h.settings;
            let target = (h.reference_w + h.rating_w * s.droop_response(f, f0))
                .clamp(-h.rating_w, h.rating_w);
            let tau = s.converter_time_constant_s.max(dt_s);
            h.output_w += (target - h.output_w) * (dt_s / tau).min(1.0);
            h.reference_w = (h.reference_w + s.restoration_gain * h.rating_w * (f0 - f) * dt_s)
                .clamp(-h.rating_w, h.rating_w);
        }
        f += dfdt * dt_s;
        t += dt_s;
        nadir = nadir.min(f);
        zenith = zenith.max(f);
        if !(f.is_finite() && f > 0.0) {
            break;
        }
        if t + 1e-9 >= next_record {
            trace.push((t, f));
            next_record += record_every_s;
        }
    }
    let saturated_hubs = hubs
        .iter()
        .zip(&cells)
        .filter(|(h, _)| h.output_w.abs() >= h.rating_w * 0.999)
        .map(|(_, c)| c.name.clone())
        .collect();
    let verdict = norms.judge(&trace);
    Ok(SimulationReport {
        trace,
        nadir_hz: nadir,
        zenith_hz: zenith,
        max_rocof_hz_per_s: max_rocof,
        saturated_hubs,
        verdict,
    })
}
