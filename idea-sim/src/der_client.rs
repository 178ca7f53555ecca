//! A DER of the model driven by an IEEE 2030.5 server: the DER's 2030.5 client (`ieee2030_5::net::DerClient`,
//! discovery, registration, programs, events, responses) runs against a server, and the controls in force are
//! applied to the model's DER — `opModMaxLimW` (hundredths of a percent of its rating) as its active power
//! limit, `opModConnect` / `opModEnergize` false as the DER ceasing to deliver. Protocol time is the `clock`
//! given — the wall clock, or the simulation's, running `speed` times faster than real time, so that events
//! scheduled in simulated time take effect at their simulated start.

use crate::grid::{SharedGrid, lock};
use ieee2030_5::net::{Clock, DerClient};
use std::time::Duration;

/// Longest wait between client steps and the pause after a failed one, s of protocol time.
const MAX_WAIT_S: i64 = 60;
const RETRY_S: f64 = 5.0;
/// The shortest real wait between client steps.
const MIN_REAL_WAIT: Duration = Duration::from_millis(50);

/// `protocol_s` seconds of protocol time as real time at `speed`.
fn real(protocol_s: f64, speed: f64) -> Duration {
    let speed = if speed.is_finite() && speed > 0.0 {
        speed
    } else {
        1.0
    };
    Duration::try_from_secs_f64(protocol_s / speed)
        .unwrap_or(MIN_REAL_WAIT)
        .max(MIN_REAL_WAIT)
}

/// Applies the controls `client` holds to the DER `der` of `grid`.
fn apply(grid: &SharedGrid, der: &str, client: &DerClient) {
    let base = client.active().base();
    let share = base
        .op_mod_max_lim_w
        .map_or(1.0, |hundredths| f64::from(hundredths) / 10_000.0);
    let energized = base.op_mod_connect != Some(false) && base.op_mod_energize != Some(false);
    let mut model = lock(grid);
    if let Ok(d) = model.der_mut(der) {
        d.max_share = share.clamp(0.0, 1.0);
        d.energized = energized;
    }
}

/// Runs `client` for the DER `der` of `grid` until the task is dropped: steps it when it asks (at the `clock`'s
/// time, which runs `speed` times faster than real time), applies what is in force after every step. A step
/// that fails (the server unreachable, a refused registration) is logged and retried after a pause; the DER
/// keeps the controls it last had.
///
/// # Errors
/// [`crate::Error::UnknownElement`] at once when the model has no such DER.
pub async fn run(
    grid: SharedGrid,
    der: String,
    mut client: DerClient,
    clock: Clock,
    speed: f64,
) -> crate::Result<()> {
    lock(&grid).der_mut(&der)?;
    loop {
        let now = clock();
        match client.step(now).await {
            Ok(next) => {
                apply(&grid, &der, &client);
                let wait = next.saturating_sub(now).clamp(1, MAX_WAIT_S);
                // At most a minute: exact in an f64.
                #[allow(clippy::cast_precision_loss)]
                tokio::time::sleep(real(wait as f64, speed)).await;
            }
            Err(e) => {
                log::warn!("DER {der}: the 2030.5 client failed: {e}; retrying in {RETRY_S} s");
                tokio::time::sleep(real(RETRY_S, speed)).await;
            }
        }
    }
}
