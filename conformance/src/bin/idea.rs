//! `idea`: the IDEA SDK command line. It parses arguments and calls library functions that tests call too.

use clap::{Parser, Subcommand};
use idea_conformance::{Catalogue, render};
use std::io::Write;
use std::process::ExitCode;

/// The IDEA SDK command line. Subcommands arrive with the crates they drive; today: the requirement catalogue.
#[derive(Debug, Parser)]
#[command(name = "idea", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the IDEA requirement catalogue (IDs quoted by reports and certificates).
    ///
    /// Each requirement shows how it is verified: `test` (conformance test cases check it) or `declared`
    /// (the vendor's statement covers it).
    Requirements {
        /// Print a JSON array (keys: id, area, text, source, check) instead of a table.
        #[arg(long)]
        json: bool,
        /// Only the requirements of one area: ARCH, AG, UC, AUX, PROP, TE, IOT, NG, SEC or DEMO
        /// (case-insensitive).
        #[arg(long, value_name = "AREA")]
        area: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(text) => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`idea requirements | head`) is not an error worth reporting.
            let _ = stdout.write_all(text.as_bytes());
            let _ = stdout.flush();
            ExitCode::SUCCESS
        }
        Err(message) => {
            let _ = writeln!(std::io::stderr(), "idea: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<String, String> {
    match cli.command {
        Command::Requirements { json, area } => {
            let catalogue = Catalogue::builtin();
            let selected = match &area {
                Some(area) if !catalogue.has_area(area) => {
                    let known: Vec<&str> = catalogue.areas.iter().map(|a| a.id.as_str()).collect();
                    return Err(format!(
                        "unknown area {area:?}; known areas: {}",
                        known.join(", ")
                    ));
                }
                Some(area) => catalogue.in_area(area),
                None => catalogue.all(),
            };
            if json {
                Ok(render::json(&selected) + "\n")
            } else {
                Ok(render::table(&selected, 100))
            }
        }
    }
}
