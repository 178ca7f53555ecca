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

/// One hub's state inside [`FrequencyDynamics`].
#[derive(Debug, Clone, PartialEq)]
struct HubState {
    rating_w: f64,
    settings: HubSettings,
    output_w: f64,
    reference_w: f64,
    /// The power scheduled for it on top of its reference (tertiary dispatch), W.
    dispatch_w: f64,
}

/// The frequency of an isolated microgrid and the hubs that form it, stepped by the caller: the swing
/// equation over the hubs' virtual inertia (and any machines'), each hub's converter following its droop
/// response and restoration reference. [`simulate`] drives it over a scripted run; `idea-sim` steps it from its
/// microgrid model, one power flow at a time.
///
/// ```
/// use ng_control::hub::{FrequencyDynamics, HubSettings};
/// let mut grid = FrequencyDynamics::new(50.0, 0.0, 0.0);
/// grid.add_hub(10_000.0, HubSettings::defaults(), 0.0)?;
/// // A 1 kW load appears: frequency falls, the hub picks it up, restoration brings 50 Hz back.
/// for _ in 0..30_000 {
///     grid.step(0.001, 0.0, 1_000.0)?;
/// }
/// assert!((grid.frequency_hz() - 50.0).abs() < 0.01);
/// assert!((grid.hub_output_w(0).unwrap() - 1_000.0).abs() < 5.0);
/// # Ok::<(), ng_control::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct FrequencyDynamics {
    nominal_hz: f64,
    machine_inertia_s: f64,
    load_damping: f64,
    hubs: Vec<HubState>,
    f_hz: f64,
    rocof_hz_per_s: f64,
}

impl FrequencyDynamics {
    /// A system at nominal frequency with no hub yet; `machine_inertia_s` is the inertia of synchronous
    /// machines on the hubs' total rating, `load_damping` the per-unit load change per per-unit frequency
    /// change.
    pub fn new(nominal_hz: f64, machine_inertia_s: f64, load_damping: f64) -> FrequencyDynamics {
        FrequencyDynamics {
            nominal_hz,
            machine_inertia_s,
            load_damping,
            hubs: Vec::new(),
            f_hz: nominal_hz,
            rocof_hz_per_s: 0.0,
        }
    }

    /// Adds a hub of `rating_w` delivering `output_w` (its restoration reference starts there too); returns
    /// its index.
    ///
    /// # Errors
    /// [`Error::CaseData`] for a rating that is not positive and finite, or beyond the largest system.
    pub fn add_hub(
        &mut self,
        rating_w: f64,
        settings: HubSettings,
        output_w: f64,
    ) -> Result<usize> {
        if !positive(rating_w) || self.hubs.len() >= MAX_CELLS || !output_w.is_finite() {
            return Err(Error::CaseData(format!(
                "a hub of {rating_w} W delivering {output_w} W cannot join"
            )));
        }
        let output_w = output_w.clamp(-rating_w, rating_w);
        self.hubs.push(HubState {
            rating_w,
            settings,
            output_w,
            reference_w: output_w,
            dispatch_w: 0.0,
        });
        Ok(self.hubs.len() - 1)
    }

    /// The frequency, Hz.
    pub fn frequency_hz(&self) -> f64 {
        self.f_hz
    }

    /// The rate of change of frequency of the last step, Hz/s.
    pub fn rocof_hz_per_s(&self) -> f64 {
        self.rocof_hz_per_s
    }

    /// The number of hubs.
    pub fn hub_count(&self) -> usize {
        self.hubs.len()
    }

    /// What hub `index` delivers, W (negative: it charges).
    pub fn hub_output_w(&self, index: usize) -> Option<f64> {
        self.hubs.get(index).map(|h| h.output_w)
    }

    /// Schedules `dispatch_w` for hub `index` on top of its droop and restoration (tertiary control: a cell
    /// holding its connection at a contracted flow moves its hub's operating point; the other hubs' droop
    /// and restoration take up the difference). Out of range or not finite, it is ignored.
    pub fn set_dispatch_w(&mut self, index: usize, dispatch_w: f64) {
        if let Some(h) = self.hubs.get_mut(index)
            && dispatch_w.is_finite()
        {
            h.dispatch_w = dispatch_w.clamp(-h.rating_w, h.rating_w);
        }
    }

    /// Whether hub `index` is at its rating (it can no longer balance).
    pub fn hub_saturated(&self, index: usize) -> bool {
        self.hubs
            .get(index)
            .is_some_and(|h| h.output_w.abs() >= h.rating_w * 0.999)
    }

    /// Advances by `dt_s` with `generation_w` from sources other than the hubs and `load_w` of load at
    /// nominal frequency (the load damping applies on top). Returns the new frequency.
    ///
    /// # Errors
    /// [`Error::CaseData`] for a step that is not positive and finite, or a system without inertia.
    pub fn step(&mut self, dt_s: f64, generation_w: f64, load_w: f64) -> Result<f64> {
        if !positive(dt_s) || !generation_w.is_finite() || !load_w.is_finite() {
            return Err(Error::CaseData(format!(
                "a step of {dt_s} s with {generation_w} W generated and {load_w} W of load"
            )));
        }
        let f0 = self.nominal_hz;
        let f = self.f_hz;
        let total_rating: f64 = self.hubs.iter().map(|h| h.rating_w).sum();
        let stored: f64 = self
            .hubs
            .iter()
            .map(|h| h.settings.virtual_inertia_s * h.rating_w)
            .sum::<f64>()
            + self.machine_inertia_s * total_rating;
        let generation = self.hubs.iter().map(|h| h.output_w).sum::<f64>() + generation_w;
        let load = load_w * (1.0 + self.load_damping * (f - f0) / f0);
        let dfdt = if stored > 0.0 {
            f0 / (2.0 * stored) * (generation - load)
        } else {
            f64::INFINITY
        };
        if !dfdt.is_finite() {
            return Err(Error::CaseData(
                "the microgrid has no inertia, virtual or real".into(),
            ));
        }
        for h in &mut self.hubs {
            let s = h.settings;
            let target = (h.reference_w + h.dispatch_w + h.rating_w * s.droop_response(f, f0))
                .clamp(-h.rating_w, h.rating_w);
            let tau = s.converter_time_constant_s.max(dt_s);
            h.output_w += (target - h.output_w) * (dt_s / tau).min(1.0);
            h.reference_w = (h.reference_w + s.restoration_gain * h.rating_w * (f0 - f) * dt_s)
                .clamp(-h.rating_w, h.rating_w);
        }
        self.rocof_hz_per_s = dfdt;
        self.f_hz = f + dfdt * dt_s;
        Ok(self.f_hz)
    }
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
    if cells.iter().any(|c| !positive(c.hub_rating_w)) {
        return bad("every hub needs a positive rating".into());
    }
    let f0 = model.nominal_hz;
    let mut dynamics = FrequencyDynamics::new(f0, model.machine_inertia_s, model.load_damping);
    // Start balanced: hubs share the net load in proportion to their ratings.
    let rating: f64 = cells.iter().map(|c| c.hub_rating_w).sum();
    let net: f64 = cells.iter().map(|c| c.load_w - c.pv_w).sum();
    for c in &cells {
        dynamics.add_hub(c.hub_rating_w, c.hub, net * c.hub_rating_w / rating)?;
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
                    dynamics
                        .add_hub(c.hub_rating_w, c.hub, 0.0)
                        .map_err(|_| Error::CaseData(format!("cell {} cannot join", c.name)))?;
                    cells.push(c.clone());
                }
            }
            next_event += 1;
        }
        let pv: f64 = cells.iter().map(|c| c.pv_w).sum();
        let load: f64 = cells.iter().map(|c| c.load_w).sum();
        f = dynamics.step(dt_s, pv, load)?;
        max_rocof = max_rocof.max(dynamics.rocof_hz_per_s().abs());
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
    let saturated_hubs = cells
        .iter()
        .enumerate()
        .filter(|(i, _)| dynamics.hub_saturated(*i))
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
