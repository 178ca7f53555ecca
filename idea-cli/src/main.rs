//! `idea`: the IDEA SDK command line. It parses arguments and calls library functions that tests call too.

mod address;
mod commands;
mod failure;
mod modbus_device;
mod output;
mod serial_line;
mod stderr_log;
mod tls_args;

use clap::{Parser, Subcommand};
use commands::decode::DecodeCommand;
use commands::iec104::Iec104Command;
use commands::ledger::LedgerCommand;
use commands::modbus::ModbusCommand;
use commands::ng::NgCommand;
use commands::sep2::Sep2Command;
use commands::sunspec::SunspecCommand;
use failure::Failure;
use std::io::Write;
use std::process::ExitCode;

/// The IDEA SDK command line: the requirement catalogue, decoders, simulated devices, device clients, the
/// TE ledger and Neural Grid algorithms.
#[derive(Debug, Parser)]
#[command(
    name = "idea",
    version,
    propagate_version = true,
    after_help = "Exit codes: 0 success; 1 a check or verdict failed (a refused command, a Modbus \
                  exception, an HTTP status other than 200, a ledger that does not verify); 2 usage or \
                  input error (including an option the device kind does not implement); 3 a peer or \
                  device did not answer (or refused the connection or the TLS handshake). A failure is \
                  one line on standard error, or with --json one JSON object {\"error\", \"exit\"}."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the demonstration complex: prosumer cells whose agents trade on the P2P market, hold their
    /// connections at the contracted flows with their hubs and settle at the TE node on their meters' signed
    /// readings — every byte over loopback sockets, in simulated time — and check it (exit 1 naming a check
    /// that failed).
    Demo(Box<commands::demo::DemoArgs>),
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
    /// Certify a device against a conformance suite: the cases its PICS selects, each with its verdict,
    /// requirement IDs and wire trace, reported as JSON and JUnit XML.
    Conform(Box<commands::conform::ConformArgs>),
    /// Check a conformance certificate's signature and, with --evidence, every evidence file's hash.
    VerifyCertificate(commands::verify_certificate::VerifyCertificateArgs),
    /// Neural Grid algorithms on case files.
    #[command(subcommand)]
    Ng(NgCommand),
    /// Decode a protocol frame into readable form or JSON.
    #[command(subcommand)]
    Decode(DecodeCommand),
    /// The simulated microgrid (idea-sim) on its own: run a topology and see what happens.
    #[command(subcommand)]
    Sim(commands::sim::SimCommand),
    /// Run a simulated device (idea-sim) on a real socket until interrupted (Ctrl-C).
    Serve(Box<commands::serve::ServeArgs>),
    /// Poke an IEC 60870-5-104 controlled station by hand: interrogate it or send it a command, over TCP or
    /// mutual TLS.
    #[command(subcommand)]
    Iec104(Iec104Command),
    /// SunSpec devices over Modbus TCP.
    #[command(subcommand)]
    Sunspec(SunspecCommand),
    /// Read or write a Modbus device's registers by hand, over TCP or a serial line.
    #[command(subcommand)]
    Modbus(ModbusCommand),
    /// Fetch an IEEE 2030.5 resource by hand, over mutual TLS.
    #[command(subcommand)]
    Sep2(Sep2Command),
    /// The Transactive Energy ledger.
    #[command(subcommand)]
    Ledger(LedgerCommand),
}

fn main() -> ExitCode {
    // `--json` anywhere asks for machine-readable output, failures included.
    let json = std::env::args_os().any(|a| a == "--json");
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if json && e.use_stderr() => {
            // clap's message without its usage block: from "error: " to the first blank line, on one line.
            let text = e.to_string();
            let message: Vec<&str> = text
                .trim_start_matches("error: ")
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect();
            return Failure::Usage(message.join(" ")).exit(true);
        }
        // Help, version, and usage errors for a person: clap's own text and exit code (0 or 2).
        Err(e) => e.exit(),
    };
    let verbose = matches!(&cli.command, Command::Serve(args) if args.verbose);
    if log::set_logger(&stderr_log::LOG).is_ok() {
        log::set_max_level(if verbose {
            log::LevelFilter::Info
        } else {
            log::LevelFilter::Warn
        });
    }
    if let Command::Serve(args) = &cli.command {
        return match commands::serve::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(failure) => failure.exit(json),
        };
    }
    match run(cli.command) {
        Ok(text) => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`idea requirements | head`) is not an error worth reporting.
            let _ = stdout.write_all(text.as_bytes());
            let _ = stdout.flush();
            ExitCode::SUCCESS
        }
        Err(failure) => failure.exit(json),
    }
}

/// Runs a subcommand that prints its result.
fn run(command: Command) -> Result<String, Failure> {
    match command {
        Command::Serve(_) => Err(Failure::Usage("idea serve runs until interrupted".into())),
        Command::Demo(args) => commands::demo::run(*args),
        Command::Requirements { json, area } => {
            commands::requirements::run(json, area).map_err(Failure::Usage)
        }
        Command::Conform(args) => commands::conform::run(*args),
        Command::VerifyCertificate(args) => commands::verify_certificate::run(args),
        Command::Ng(command) => commands::ng::run(command).map_err(Failure::Usage),
        Command::Sim(command) => commands::sim::run(command).map_err(Failure::Usage),
        Command::Decode(command) => commands::decode::run(command).map_err(Failure::Usage),
        Command::Iec104(command) => commands::iec104::run(command),
        Command::Sunspec(command) => commands::sunspec::run(command).map_err(Failure::Usage),
        Command::Modbus(command) => commands::modbus::run(command),
        Command::Sep2(command) => commands::sep2::run(command),
        Command::Ledger(command) => commands::ledger::run(command),
    }
}
