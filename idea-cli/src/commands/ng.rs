//! `idea ng`: Neural Grid algorithms on case files.

use crate::output::{pretty, with_progress};
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub(crate) enum NgCommand {
    /// Solve the power flow of a MATPOWER case file (`mpc.baseMVA`, `mpc.bus`, `mpc.gen`, `mpc.branch`).
    ///
    /// Radial feeders are solved by backward/forward sweep, meshed networks by Newton-Raphson, unless
    /// `--method` says otherwise.
    Pf {
        /// The case file.
        case: std::path::PathBuf,
        /// Print JSON: {"converged", "method", "iterations", "buses": [{"bus", "vm_pu", "va_deg"}],
        /// "branches": [{"from", "to", "in_service", "p_from_mw", "q_from_mvar", "p_to_mw", "q_to_mvar",
        /// "loading"}], "losses_mw", "slack_p_mw", "slack_q_mvar"}. Loading is in percent of rate A.
        #[arg(long)]
        json: bool,
        /// auto, sweep or newton-raphson.
        #[arg(long, default_value = "auto", value_parser = parse_method)]
        method: ng_control::powerflow::Method,
        /// Convergence tolerance in MVA.
        #[arg(long, default_value_t = 1e-9)]
        tolerance_mva: f64,
        /// Iteration limit.
        #[arg(long, default_value_t = 100)]
        max_iterations: usize,
    },
}

pub(crate) fn parse_method(s: &str) -> Result<ng_control::powerflow::Method, String> {
    use ng_control::powerflow::Method;
    match s {
        "auto" => Ok(Method::Auto),
        "sweep" => Ok(Method::Sweep),
        "newton-raphson" | "nr" => Ok(Method::NewtonRaphson),
        other => Err(format!("{other:?} is not auto, sweep or newton-raphson")),
    }
}

/// Runs one `idea ng` subcommand.
pub(crate) fn run(command: NgCommand) -> Result<String, String> {
    match command {
        NgCommand::Pf {
            case,
            json,
            method,
            tolerance_mva,
            max_iterations,
        } => {
            let text =
                std::fs::read_to_string(&case).map_err(|e| format!("{}: {e}", case.display()))?;
            let parsed = ng_control::Case::from_matpower(&text)
                .map_err(|e| format!("{}: {e}", case.display()))?;
            let options = ng_control::powerflow::Options {
                method,
                tolerance_mva,
                max_iterations,
            };
            let label = format!("solving {} ({} buses)", case.display(), parsed.buses.len());
            let result = with_progress(&label, || ng_control::powerflow::solve(&parsed, &options))
                .map_err(|e| format!("{}: {e}", case.display()))?;
            if json {
                pretty(&result)
            } else {
                Ok(idea_cli::text::power_flow(&result))
            }
        }
    }
}
