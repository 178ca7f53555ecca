//! The simulation's clock: it steps a shared microgrid so that simulated time runs `speed` times faster than
//! real time, while the devices on it answer on real sockets in real time.
//!
//! The time model of the whole workspace, as this crate uses it: calendar time (the model's `now`, meter
//! readings, contracts) is `idea_proto::Timestamp`, here the simulated calendar; protocol timers (IEC 104
//! t1–t3, Modbus timeouts, TLS handshakes) run on monotonic real time (`std::time::Instant`) inside each
//! protocol's state machine, which takes `now` as an argument; only this clock relates the two.

use crate::grid::{SharedGrid, lock};
use std::time::{Duration, Instant};

/// How often the clock wakes, real time.
const TICK: Duration = Duration::from_millis(20);
/// The most model steps one wake takes: a model that cannot keep up falls behind instead of starving
/// the devices.
const MAX_STEPS_PER_TICK: u32 = 2_000;

/// Steps `grid` at `speed` × real time until the task is dropped; ends with the model's error if a step fails.
pub async fn run(grid: SharedGrid, speed: f64) -> crate::Result<()> {
    let speed = if speed.is_finite() && speed > 0.0 {
        speed
    } else {
        1.0
    };
    let started = Instant::now();
    let base = lock(&grid).elapsed_s();
    let mut behind_logged = false;
    loop {
        tokio::time::sleep(TICK).await;
        let target = base + started.elapsed().as_secs_f64() * speed;
        let mut steps = 0;
        // The lock is taken a step at a time: devices answering between steps never wait on a whole tick.
        while steps < MAX_STEPS_PER_TICK {
            let mut model = lock(&grid);
            if model.elapsed_s() + model.step_s() > target {
                break;
            }
            model.step()?;
            steps = steps.saturating_add(1);
        }
        if steps == MAX_STEPS_PER_TICK && !behind_logged {
            log::warn!("the simulation cannot run {speed}× real time: it falls behind");
            behind_logged = true;
        }
    }
}

/// Builds the model of `topology` starting at `start` (drawn from `seed`) and spawns its clock at `speed` ×
/// real time. Returns the shared model for devices to bind to, and the clock's task.
///
/// # Errors
/// [`crate::Error::Topology`] where the topology does not check.
pub fn plant(
    topology: &crate::grid::Topology,
    seed: u64,
    start: idea_proto::Timestamp,
    speed: f64,
) -> crate::Result<(SharedGrid, crate::Tasks)> {
    let grid = std::sync::Arc::new(std::sync::Mutex::new(crate::grid::Microgrid::new(
        topology, seed, start,
    )?));
    let mut tasks = crate::Tasks::default();
    tasks.spawn(
        "the simulation clock",
        run(std::sync::Arc::clone(&grid), speed),
    );
    Ok((grid, tasks))
}
