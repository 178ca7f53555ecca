//! A microgrid run as fast as it computes (no devices, no sockets), with a summary of what happened: what
//! `idea sim run` prints and what a topology's author checks before serving devices on it.

use crate::grid::{Microgrid, Topology};
use idea_proto::Timestamp;

/// What a run did.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RunSummary {
    /// The topology's name.
    pub name: String,
    /// Simulated time covered, s.
    pub simulated_s: f64,
    /// Steps taken.
    pub steps: u64,
    /// Each meter: name, energy imported and exported, kWh.
    pub meters: Vec<MeterTotal>,
    /// Each storage (battery or hub): name and state of charge at the end, 0–1.
    pub storage: Vec<(String, f64)>,
    /// Lowest and highest frequency seen on any energised bus, Hz.
    pub frequency_range_hz: (f64, f64),
    /// Lowest and highest voltage seen on any energised bus, p.u.
    pub voltage_range_pu: (f64, f64),
    /// Energy from the public network into the microgrid (negative: exported), kWh.
    pub network_kwh: f64,
    /// The model's events (trips, islands formed or collapsed, steps), the last thousand.
    pub events: Vec<crate::grid::SimEvent>,
}

/// A meter's totals at the end of a run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MeterTotal {
    /// The meter.
    pub name: String,
    /// Imported, kWh.
    pub import_kwh: f64,
    /// Exported, kWh.
    pub export_kwh: f64,
}

/// Runs `topology` from `start` for `duration_s` of simulated time, drawing from `seed`; `progress` hears the
/// share done (0–1) every hundredth of the run.
///
/// # Errors
/// [`crate::Error::Topology`] for a topology that does not check; [`crate::Error::Physics`] if a step fails.
pub fn run(
    topology: &Topology,
    seed: u64,
    start: Timestamp,
    duration_s: f64,
    progress: &mut dyn FnMut(f64),
) -> crate::Result<RunSummary> {
    let mut grid = Microgrid::new(topology, seed, start)?;
    let total = (duration_s / grid.step_s()).ceil().max(0.0);
    // A run's steps fit a u64: durations are checked by the caller and steps are at least 1 ms.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let steps = total as u64;
    let every = (steps / 100).max(1);
    let (mut f_lo, mut f_hi) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut v_lo, mut v_hi) = (f64::INFINITY, f64::NEG_INFINITY);
    let mut network_wh = 0.0;
    for k in 0..steps {
        grid.step()?;
        for b in 0..grid.buses.len() {
            if grid.bus_live(b) {
                let (f, v) = (grid.bus_frequency_hz(b), grid.bus_vm_pu(b));
                f_lo = f_lo.min(f);
                f_hi = f_hi.max(f);
                v_lo = v_lo.min(v);
                v_hi = v_hi.max(v);
            }
        }
        if let Some(g) = &grid.grid {
            network_wh += g.p_w * grid.step_s() / 3600.0;
        }
        if k.checked_rem(every) == Some(0) {
            // Step counts are far below 2^53.
            #[allow(clippy::cast_precision_loss)]
            let share = k as f64 / steps as f64;
            progress(share);
        }
    }
    progress(1.0);
    Ok(RunSummary {
        name: grid.name().to_owned(),
        simulated_s: grid.elapsed_s(),
        steps,
        meters: grid
            .meters
            .iter()
            .map(|m| MeterTotal {
                name: m.name.clone(),
                import_kwh: m.import_wh / 1000.0,
                export_kwh: m.export_wh / 1000.0,
            })
            .collect(),
        storage: grid
            .batteries
            .iter()
            .chain(grid.hubs.iter().map(|h| &h.storage))
            .map(|s| (s.name.clone(), s.soc))
            .collect(),
        frequency_range_hz: (f_lo, f_hi),
        voltage_range_pu: (v_lo, v_hi),
        network_kwh: network_wh / 1000.0,
        events: grid.events().cloned().collect(),
    })
}
