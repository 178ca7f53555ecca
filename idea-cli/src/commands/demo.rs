//! `idea demo`: the demonstration complex end to end — agents trading, devices obeying, money settling — on
//! loopback sockets in simulated time, checking itself.

use crate::failure::Failure;
use std::io::Write;

/// `idea demo` arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct DemoArgs {
    /// One scenario only: s1 (grid-connected, first without then with transactions), s2 (isolated, the hubs
    /// forming the frequency, load shedding), s3 (a fifth prosumer joins plug & play). All by default.
    #[arg(long, value_name = "NAME")]
    scenario: Option<String>,
    /// The seed every key, id and cloud is drawn from: the same seed gives the same run.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Simulated hours per scenario (1.5 to 24; 4 by default, 24 with --cells).
    #[arg(long)]
    hours: Option<f64>,
    /// The scale run instead of the scenarios: N generated cells (copies of the complex's four in turn) on a
    /// generated feeder, trading every period with the same services and checks.
    #[arg(long, value_name = "N")]
    cells: Option<usize>,
    /// Simulated time per real time (0: as fast as it computes).
    #[arg(long, default_value_t = 0.0)]
    speed: f64,
    /// Writes the run as JSON: per scenario, per interval, per cell; the trades, money, ledger and checks.
    #[arg(long, value_name = "FILE")]
    json: Option<std::path::PathBuf>,
    /// Keeps each scenario's ledger (SQLite) in this directory, for `idea ledger verify`.
    #[arg(long, value_name = "DIR")]
    ledger_dir: Option<std::path::PathBuf>,
    /// Serves the live page at this address (HOST:PORT): the grid with the power on each branch, frequency
    /// and voltage, each cell's balance, storage and money, the orders and trades, the checks. It stays up
    /// after the run until interrupted; with `--speed 60` an hour takes a minute to watch.
    #[arg(long, value_name = "ADDR")]
    ui: Option<std::net::SocketAddr>,
    /// Injects a fault in the scenario it belongs to (that scenario only, unless --scenario names it) and
    /// checks its written expected outcome beside every other check; --list-faults names them.
    #[arg(long, value_name = "NAME")]
    fault: Option<String>,
    /// Lists the faults: name, where it strikes, the expected outcome the run checks.
    #[arg(long)]
    list_faults: bool,
}

/// Runs `idea demo`: prints each interval as it ends, then each scenario's summary; exit 1 naming the checks
/// that failed.
pub(crate) fn run(args: DemoArgs) -> Result<String, Failure> {
    if args.list_faults {
        return Ok(idea_demo::FAULTS
            .iter()
            .map(|(_, name, what, outcome)| format!("{name}\n  {what}\n  expected: {outcome}\n"))
            .collect());
    }
    let fault = args
        .fault
        .as_deref()
        .map(idea_demo::Fault::from_name)
        .transpose()
        .map_err(failure)?;
    if args.cells.is_some() && (args.scenario.is_some() || fault.is_some()) {
        return Err(Failure::Usage(
            "--cells runs the scale scenario alone: without --scenario or --fault".into(),
        ));
    }
    let scenarios = match (&args.scenario, fault, args.cells) {
        (_, _, Some(_)) => vec![idea_demo::Scenario::Scale],
        (Some(name), _, None) => vec![idea_demo::Scenario::from_name(name).map_err(failure)?],
        (None, Some(f), None) => vec![f.scenario()],
        (None, None, None) => idea_demo::Scenario::ALL.to_vec(),
    };
    let default_hours = if args.cells.is_some() { 24.0 } else { 4.0 };
    let options = idea_demo::Options {
        scenarios,
        seed: args.seed,
        hours: args.hours.unwrap_or(default_hours),
        cells: args.cells,
        speed: args.speed,
        ledger_dir: args.ledger_dir.clone(),
        live: args.ui.map(|_| idea_demo::Live::default()),
        fault,
    };
    options.check().map_err(failure)?;
    if let Some(dir) = &args.ledger_dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::Usage(format!("{}: {e}", dir.display())))?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::Usage(format!("the runtime: {e}")))?;
    if let (Some(address), Some(live)) = (args.ui, options.live.clone()) {
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(address))
            .map_err(|e| Failure::Usage(format!("--ui {address}: {e}")))?;
        runtime.spawn(idea_demo::serve_ui(listener, live));
        eprintln!("the live page: http://{address}/");
    }
    let mut stdout = std::io::stdout();
    let report = runtime
        .block_on(idea_demo::run(&options, &mut |p| {
            let text = match p {
                idea_demo::Progress::Started {
                    scenario,
                    title,
                    start,
                    end,
                } => idea_cli::demo_text::demo_started(scenario, title, start, end),
                idea_demo::Progress::Interval {
                    record, contracts, ..
                } => idea_cli::demo_text::demo_interval(record, contracts),
                idea_demo::Progress::Finished { report } => {
                    let kept = args
                        .ledger_dir
                        .as_ref()
                        .map(|d| d.join(format!("{}.sqlite", report.scenario)));
                    idea_cli::demo_text::demo_summary(report, kept.as_deref())
                }
                _ => String::new(),
            };
            let _ = stdout.write_all(text.as_bytes());
            let _ = stdout.flush();
        }))
        .map_err(failure)?;
    if args.cells.is_some() {
        let mut stdout = std::io::stdout();
        let _ = stdout.write_all(idea_cli::demo_text::demo_phases(&report.timing).as_bytes());
        let _ = stdout.flush();
    }
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report)
            .map_err(|e| Failure::Usage(format!("the report: {e}")))?;
        std::fs::write(path, json + "\n")
            .map_err(|e| Failure::Usage(format!("{}: {e}", path.display())))?;
    }
    if let Some(address) = args.ui {
        eprintln!(
            "the run is over; the page stays at http://{address}/ until interrupted (Ctrl-C)"
        );
        let _ = runtime.block_on(tokio::signal::ctrl_c());
    }
    let failed: Vec<String> = report
        .scenarios
        .iter()
        .flat_map(|s| {
            s.checks
                .iter()
                .filter(|c| !c.passed)
                .map(move |c| format!("{}/{}", s.scenario, c.name))
        })
        .collect();
    if failed.is_empty() {
        Ok(format!(
            "every check of {} passed ({:.0}× real time)\n",
            report
                .scenarios
                .iter()
                .map(|s| s.scenario.to_uppercase())
                .collect::<Vec<_>>()
                .join(", "),
            report.timing.speedup
        ))
    } else {
        Err(Failure::Check(format!(
            "checks failed: {}",
            failed.join(", ")
        )))
    }
}

fn failure(e: idea_demo::Error) -> Failure {
    match e {
        idea_demo::Error::Usage { .. } | idea_demo::Error::Data { .. } => {
            Failure::Usage(e.to_string())
        }
        idea_demo::Error::NoAnswer(_) => Failure::NoAnswer(e.to_string()),
        // The complex itself failed (the model, the ledger): the demonstration did not hold.
        other => Failure::Check(other.to_string()),
    }
}
