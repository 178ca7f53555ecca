//! The IDEA demonstration complex (DEMO): prosumer cells whose agents trade energy on the P2P market, settle
//! it at the TE node on their meters' signed readings, and hold their connections at the contracted flows
//! with their battery hubs — on a simulated microgrid, every protocol byte between an agent, a service and a
//! device crossing a real socket on 127.0.0.1, in simulated time faster than real. What `idea demo` runs.
//!
//! What it does:
//! - The complex (`data/complex.toml`, `data/cells/`): the public network behind a 25 kVA energy router, a
//!   0.4 kV common bus, four prosumer cells — a CHP or PV, three loads behind relays and a 5 kW / 10 kWh
//!   battery hub each — and a 48 V DC mesh, simulated by `idea-sim`; each cell's hub and connection meter
//!   served over Modbus/SunSpec; the embedded MQTT broker; the P2P market and the TE node (its SQLite ledger)
//!   from `idea-agent`; each cell's agent, its device link and its meter gateway.
//! - A conductor that owns simulated time: the model is stepped to the next control instant (every 10 s),
//!   then the devices are read and driven, every deadline handled and messages exchanged in rounds until the
//!   complex is quiet. Each round waits until every recipient has received what was sent to it and hands
//!   inboxes over ordered by sender, and the devices measure when the conductor asks, so the same seed gives
//!   the same run — the same `--json` bytes — at any speed, although every message crosses a socket.
//! - The cells join through the directory (plug & play): each agent follows the providers of the services it
//!   uses — the market and the load-shedding service are offered to it there — and looks a cell up in the
//!   directory when that cell first writes to it (a counterparty the market matched it with), so no agent
//!   reads every other's description. The operator reaches the 25 kVA energy router over
//!   IEC 104; the load-shedding service reaches the loads' meters and relays over MQTT.
//! - Scenario S1 (DEMO-S1): grid-connected, its first half without transactions, its second half with the
//!   cells ordering on the market before each period from what their own meters and hubs measured.
//! - Scenario S2 (DEMO-S2): isolated — the operator opens the router over IEC 104, the hubs form the
//!   frequency (each cell's setpoint dispatched on its hub's droop), the cells trade, and a cell whose
//!   storage runs low asks the load-shedding service to open its loads.
//! - Scenario S3 (DEMO-S3): a fifth prosumer switches on during the run, registers at the directory and, over
//!   the network, at the TE node (its meter enrolled, then registering itself), is offered every running
//!   service and trades.
//! - Self-checks ([`Check`]): the energy balance closes in every interval; every settled amount is the
//!   contract price times the meter-verified energy (shared where several contracts deliver at one point),
//!   less the penalty beyond the band, and agrees with what the simulated meter counted; the ledger verifies
//!   read-only; every wallet moved by what it settled; no cell passed its connection limits and no setpoint
//!   went beyond them; no relay tripped and every load off was shed by the service; in S2 the island held and
//!   its frequency met the hub's norms (NG-H2); in S3 the newcomer was served and traded.
//! - [`RunReport`]: per scenario, per interval, per cell — the data `--json` writes.
//! - The live page ([`serve_ui`], [`Live`]): one self-contained HTML file and the complex's state as JSON,
//!   kept up to date at every control step.
//!
//! - Faults ([`Fault`], `--fault`): a hub that stops answering, a counterparty that stops countersigning,
//!   missing meter readings, an agent cut off the MQTT broker, a PV inverter that trips in the island — each
//!   with its written expected outcome, checked. Messages lost to a party off the broker are a failed check
//!   (`no-refusals`) unless the fault cut it off.
//!
//! - The scale run ([`Scenario::Scale`], `--cells N`): N generated cells — copies of the complex's four in
//!   turn — on a generated feeder of laterals, grid-connected, trading every period with the same services
//!   and checks; the model steps once a minute, each hub holds its cell's connection itself (told its
//!   setpoint when it changes), the devices are read at period boundaries and the gateways sign a reading
//!   per period; [`Timing::phases_s`] says where the real time went.
//!
//! What it does not do (yet): run 10,000 cells (each cell holds about 14 loopback sockets, and the machine's
//! 20,000 descriptors allow about 1,400 cells; 1,000 cells trade a day in 55–58 s on 2 cores, every message
//! signed, published through its sender's own broker connection and verified); the DC mesh's converters stay
//! idle.
//!
//! ```no_run
//! # async fn demo() -> idea_demo::Result<()> {
//! let options = idea_demo::Options {
//!     hours: 2.0,
//!     ..idea_demo::Options::default()
//! };
//! let report = idea_demo::run(&options, &mut |_| {}).await?;
//! assert!(report.passed, "every check of every scenario");
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]

/// The README's examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

mod cell;
mod checks;
mod complex;
mod error;
mod fault;
mod keys;
mod layout;
mod live;
mod operator;
mod outcome;
mod parallel;
mod phases;
mod plant;
mod report;
mod scenario;
mod shards;
mod shedding;
pub mod trader;
mod wire;

pub use complex::PERIOD_S;
pub use error::{Error, Result};
pub use fault::{FAULTS, Fault};
pub use layout::MAX_CELLS;
pub use live::{
    Live, LiveBranch, LiveCell, LiveOrder, LiveState, LiveTrade, LiveVerdict, MAX_POINTS, MAX_ROWS,
    PAGE, serve_ui,
};
pub use operator::RouterReading;
pub use plant::{CellPhysics, SystemPhysics};
pub use report::{
    CellInterval, CellMoney, Check, IntervalRecord, LedgerSummary, RunReport, ScenarioReport,
    Timing, TradeRecord,
};
pub use scenario::Scenario;

use idea_proto::Timestamp;

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The scenarios, in order (all of them by default).
    pub scenarios: Vec<Scenario>,
    /// The seed identities and clouds are drawn from.
    pub seed: u64,
    /// Simulated hours per scenario.
    pub hours: f64,
    /// Simulated time per real time; 0 runs as fast as it computes.
    pub speed: f64,
    /// Where each scenario's ledger is kept (`SCENARIO.sqlite`); a temporary file, removed at the end, when
    /// absent.
    pub ledger_dir: Option<std::path::PathBuf>,
    /// Where the live page's state is kept up to date, if a page is served ([`serve_ui`]).
    pub live: Option<Live>,
    /// A fault to inject (in its own scenario, which must be among `scenarios`).
    pub fault: Option<Fault>,
    /// The cells of the generated feeder the scale run ([`Scenario::Scale`]) trades on (4 when absent).
    pub cells: Option<usize>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            scenarios: Scenario::ALL.to_vec(),
            seed: 1,
            hours: 4.0,
            speed: 0.0,
            ledger_dir: None,
            live: None,
            fault: None,
            cells: None,
        }
    }
}

/// The fewest and most simulated hours a scenario runs: enough for a traded period to settle, at most a day.
pub const HOURS: (f64, f64) = (1.5, 24.0);

impl Options {
    /// Checks the options.
    ///
    /// # Errors
    /// [`Error::Usage`] naming the option out of range.
    pub fn check(&self) -> Result<()> {
        if !(self.hours.is_finite() && (HOURS.0..=HOURS.1).contains(&self.hours)) {
            return Err(error::usage(
                "--hours",
                format!("{}: between {} and {}", self.hours, HOURS.0, HOURS.1),
            ));
        }
        if !(self.speed.is_finite() && self.speed >= 0.0) {
            return Err(error::usage(
                "--speed",
                format!("{}: 0 or more", self.speed),
            ));
        }
        if self.scenarios.is_empty() {
            return Err(error::usage("--scenario", "no scenario to run"));
        }
        if let Some(n) = self.cells
            && !(1..=MAX_CELLS).contains(&n)
        {
            return Err(error::usage(
                "--cells",
                format!("{n}: between 1 and {MAX_CELLS}"),
            ));
        }
        if let Some(f) = self.fault
            && !self.scenarios.contains(&f.scenario())
        {
            return Err(error::usage(
                "--fault",
                format!(
                    "{} strikes in {}, which this run does not include",
                    f.name(),
                    f.scenario().name()
                ),
            ));
        }
        Ok(())
    }

    /// A scenario's simulated duration, whole settlement periods, s.
    fn duration_s(&self) -> u64 {
        let period = f64::from(PERIOD_S);
        // Checked: at most a day.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let periods = (self.hours * 3600.0 / period).round() as u64;
        periods.saturating_mul(u64::from(PERIOD_S))
    }

    /// Where `scenario`'s ledger goes.
    fn ledger_path(&self, scenario: Scenario) -> std::path::PathBuf {
        match &self.ledger_dir {
            Some(dir) => dir.join(format!("{}.sqlite", scenario.name())),
            None => {
                static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
                let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                std::env::temp_dir().join(format!(
                    "idea-demo-{}-{}-{n}.sqlite",
                    scenario.name(),
                    std::process::id()
                ))
            }
        }
    }
}

/// What a run tells as it goes.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Progress<'a> {
    /// A scenario began.
    Started {
        /// Its name.
        scenario: &'static str,
        /// What it shows.
        title: &'static str,
        /// Simulated start.
        start: Timestamp,
        /// Simulated end.
        end: Timestamp,
    },
    /// A settlement interval ended.
    Interval {
        /// The scenario.
        scenario: &'static str,
        /// What happened in it.
        record: &'a IntervalRecord,
        /// Orders placed for the period after next.
        orders: usize,
        /// Contracts the TE node has recorded so far.
        contracts: usize,
    },
    /// A scenario ended and checked itself.
    Finished {
        /// Its report.
        report: &'a ScenarioReport,
    },
}

/// Runs the scenarios of `options` one after the other, telling `progress` as they go.
///
/// # Errors
/// [`Error::Usage`] for options out of range; [`Error::NoAnswer`] when a party or device stopped answering
/// over its socket; otherwise what kept the complex from being built. A check that fails is not an error: it
/// is a verdict in the report.
pub async fn run(options: &Options, progress: &mut dyn FnMut(Progress<'_>)) -> Result<RunReport> {
    options.check()?;
    if let Some(live) = &options.live {
        live.update(|s| {
            *s = LiveState {
                seed: options.seed,
                ..LiveState::default()
            };
        });
    }
    let wall = std::time::Instant::now();
    let mut scenarios = Vec::with_capacity(options.scenarios.len());
    let mut timing = Timing::default();
    let mut simulated_s = 0.0;
    for scenario in &options.scenarios {
        let began = std::time::Instant::now();
        let (report, phases) = scenario::run(*scenario, options, scenario.start()?, progress)
            .await
            .map_err(out_of_descriptors)?;
        timing
            .scenarios_s
            .push((scenario.name().into(), began.elapsed().as_secs_f64()));
        timing.phases_s.push((scenario.name().into(), phases));
        // A day's seconds: exact in an f64.
        #[allow(clippy::cast_precision_loss)]
        let s = options.duration_s() as f64;
        simulated_s += s;
        scenarios.push(report);
    }
    timing.speedup = simulated_s / wall.elapsed().as_secs_f64().max(1e-9);
    if let Some(live) = &options.live {
        live.update(|s| s.done = true);
    }
    Ok(RunReport {
        seed: options.seed,
        passed: scenarios.iter().all(|s| s.passed),
        scenarios,
        timing,
    })
}

/// A run that ran out of file descriptors says so, and what to do: every cell holds about fourteen loopback
/// sockets — its agent's and meter gateway's MQTT connections, its links' Modbus connections, and the
/// broker's and devices' ends of them all — so a few thousand cells pass a common limit of 20,000.
fn out_of_descriptors(e: Error) -> Error {
    match e {
        Error::NoAnswer(what) if what.contains("(os error 24)") => Error::NoAnswer(format!(
            "{what} — out of file descriptors: each cell holds about 14 sockets; raise the limit \
             (`ulimit -n`) or run fewer cells"
        )),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_out_of_descriptors_says_what_to_do_and_other_errors_pass_unchanged() {
        let out = out_of_descriptors(Error::NoAnswer(
            "cell1427's devices: Too many open files (os error 24)".into(),
        ));
        assert!(
            matches!(&out, Error::NoAnswer(w) if w.ends_with("raise the limit (`ulimit -n`) or run fewer cells")),
            "{out}"
        );
        let other = out_of_descriptors(Error::NoAnswer("the broker did not answer".into()));
        assert!(matches!(&other, Error::NoAnswer(w) if w == "the broker did not answer"));
    }
}
