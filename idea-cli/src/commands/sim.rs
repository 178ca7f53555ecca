//! `idea sim`: the simulated microgrid on its own, as fast as it computes.

use crate::output::{pretty, progress_bar};
use clap::Subcommand;

/// `idea sim` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum SimCommand {
    /// Run a microgrid topology for some hours of simulated time, as fast as it computes, and print what
    /// happened: frequency and voltage ranges, each meter's energy, each storage's state of charge, the
    /// events (trips, islands formed or collapsed). Progress shows on a terminal.
    Run {
        /// The topology file (TOML), or a built-in one by name (demo-microgrid, the default; router-bench).
        #[arg(long, value_name = "FILE|NAME")]
        topology: Option<std::path::PathBuf>,
        /// Simulated hours.
        #[arg(long, default_value_t = 24.0)]
        hours: f64,
        /// The seed the clouds are drawn from.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Simulated start, RFC 3339.
        #[arg(long, default_value = "2026-06-21T00:00:00Z")]
        start: String,
        /// Print JSON: {"name", "simulated_s", "steps", "meters": [{"name", "import_kwh", "export_kwh"}],
        /// "storage": [[name, soc]], "frequency_range_hz", "voltage_range_pu", "network_kwh",
        /// "events": [{"at_s", "what"}]}.
        #[arg(long)]
        json: bool,
    },
}

/// The topology of `--topology`, or the built-in demonstration complex.
pub(crate) fn topology(path: Option<&std::path::Path>) -> Result<idea_sim::grid::Topology, String> {
    match path {
        // A name of a built-in topology that is not also a file here.
        Some(path)
            if !path.exists()
                && idea_sim::grid::topology::BUILTIN
                    .iter()
                    .any(|(name, _)| path.to_str() == Some(*name)) =>
        {
            idea_sim::grid::Topology::builtin(path.to_str().unwrap_or_default())
                .map_err(|e| e.to_string())
        }
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            idea_sim::grid::Topology::from_toml(&text)
                .map_err(|e| format!("{}: {e}", path.display()))
        }
        None => idea_sim::grid::Topology::builtin("demo-microgrid").map_err(|e| e.to_string()),
    }
}

/// Runs one `idea sim` subcommand.
pub(crate) fn run(command: SimCommand) -> Result<String, String> {
    match command {
        SimCommand::Run {
            topology: path,
            hours,
            seed,
            start,
            json,
        } => {
            if !(hours.is_finite() && hours > 0.0 && hours <= 24.0 * 366.0) {
                return Err(format!("--hours {hours}: between 0 and a year"));
            }
            let start: idea_proto::Timestamp =
                start.parse().map_err(|e| format!("--start {start}: {e}"))?;
            let topology = topology(path.as_deref())?;
            let bar = progress_bar(&format!("simulating {}", topology.name), 1000);
            let summary =
                idea_sim::run::run(&topology, seed, start, hours * 3600.0, &mut |share| {
                    // A share in [0, 1] times 1000 fits a u64.
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    bar.set_position((share * 1000.0) as u64);
                })
                .map_err(|e| e.to_string());
            bar.finish_and_clear();
            let summary = summary?;
            if json {
                pretty(&summary)
            } else {
                Ok(idea_cli::text::sim_run(&summary))
            }
        }
    }
}
