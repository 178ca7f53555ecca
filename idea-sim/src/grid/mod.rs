//! The physical side: a microgrid stepped in simulated time.
//!
//! A [`Topology`] (a TOML file, or a built-in one) lists buses, lines, transformers and elements; a
//! [`Microgrid`] steps it: each step sets every element's output from its profile, command and ramp, forms
//! the islands (the public network where connected, else a router port that forms its side from the
//! network, else an energy hub), solves one power flow per energised island with `ng_control::powerflow`
//! (router-formed islands first, so that what they draw reaches the network port), integrates the hubs' frequency dynamics
//! (`ng_control::hub::FrequencyDynamics`: droop, virtual inertia, restoration) and the relays' inverse-time
//! elements (`ng_control::protection`) in sub-steps of at most 10 ms, and integrates meters and states of
//! charge. DERs follow the IEEE 1547 volt-var and frequency-watt functions (`ng_control::der`); routers
//! their mode NG-R1..R5 (`ng_control::router`) with conversion losses.
//!
//! What it does not model: unbalanced phases, transients inside a step (each step's flows hold for the
//! step), synchronisation when the network reconnects (it is instant), DER trips and the frequency-watt
//! response time, converters forming an island's voltage, and the hubs' Q–V droop (a forming hub or router
//! port holds 1 p.u.).
//!
//! ```
//! use idea_sim::grid::{Microgrid, Topology};
//! let topology = Topology::builtin("demo-microgrid")?;
//! let start = idea_proto::Timestamp::from_unix_secs(1_767_268_800)?; // 2026-01-01 12:00 UTC
//! let mut grid = Microgrid::new(&topology, 7, start)?;
//! for _ in 0..10 {
//!     grid.step()?;
//! }
//! assert!((grid.elapsed_s() - 10.0 * grid.step_s()).abs() < 1e-9);
//! assert!(grid.grid.as_ref().is_some_and(|g| g.connected));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod curves;
pub mod elements;
mod model;
pub mod network;
pub mod topology;

pub use elements::{ElementRef, TripCause};
pub use model::{
    FREQUENCY_TRIP_HZ, Former, GridConnection, Island, Microgrid, ROUTER_RETRY_S, SimEvent,
};
pub use topology::Topology;

/// A model shared between its clock and the devices that read and command it.
pub type SharedGrid = std::sync::Arc<std::sync::Mutex<Microgrid>>;

/// Locks a shared model; a poisoned lock still holds a consistent model (every step completes or fails
/// before it returns), so it is used as is.
pub fn lock(grid: &SharedGrid) -> std::sync::MutexGuard<'_, Microgrid> {
    grid.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Where the element named `name` sits in one of the model's lists: at `hint` while it is still there — one
/// name compared, not a scan of every element (a feeder of 1,000 cells has thousands) — and looked for, `hint`
/// updated, otherwise. The lists are public, so a remembered place is always checked.
pub(crate) fn position_at<T>(
    items: &[T],
    name: &str,
    hint: &mut Option<usize>,
    name_of: impl Fn(&T) -> &str,
) -> Option<usize> {
    match *hint {
        Some(i) if items.get(i).is_some_and(|x| name_of(x) == name) => Some(i),
        _ => {
            *hint = items.iter().position(|x| name_of(x) == name);
            *hint
        }
    }
}
