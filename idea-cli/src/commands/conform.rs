//! `idea conform SUITE`: certify a device against a conformance suite — progress on the terminal, reports in
//! `--report-dir`, a summary, and exit 0 only when every selected stable case passed or does not apply.

use crate::failure::Failure;
use idea_conformance::runner::{self, Report, RunConfig, Selection};
use idea_conformance::{Pics, Suite, Verdict, report};
use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::path::PathBuf;

/// The suites, by name.
pub(crate) const SUITES: [&str; 4] = [
    "iec104-outstation",
    "iec104-controlling",
    "sunspec",
    "modbus-device",
];

/// Arguments of `idea conform`.
#[derive(Debug, clap::Args)]
pub(crate) struct ConformArgs {
    /// The suite: iec104-outstation (the device is an IEC 104 controlled station), iec104-controlling (the
    /// device is an IEC 104 controlling station and connects to the runner), sunspec (a Modbus TCP device with a
    /// SunSpec map), modbus-device (a Modbus TCP device, SunSpec or not); or `keygen` to make a lab key (--out FILE).
    #[arg(value_name = "SUITE")]
    suite: String,
    /// The device under test, HOST:PORT (suites where the runner connects).
    #[arg(long, value_name = "HOST:PORT", conflicts_with = "listen")]
    target: Option<String>,
    /// Where the runner listens for the device, HOST:PORT (iec104-controlling: the device connects here, once
    /// for every case).
    #[arg(long, value_name = "HOST:PORT")]
    listen: Option<String>,
    /// The vendor's PICS (TOML): what the device implements. Required: no PICS is never "test nothing".
    #[arg(long, value_name = "FILE")]
    pics: Option<PathBuf>,
    /// Sign a certificate of the run (certificate.json in the report directory) with this lab key (from
    /// `idea conform keygen`).
    #[arg(long, value_name = "FILE")]
    lab_key: Option<PathBuf>,
    /// keygen: where to write the lab's secret key (64 hex digits, readable by its owner only).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Print a commented PICS template for the suite and exit.
    #[arg(long)]
    pics_template: bool,
    /// List the suite's cases (ID, requirements, title) and exit.
    #[arg(long)]
    list: bool,
    /// Run only these cases (IDs or ID prefixes such as iec104-outstation/5.3); repeatable.
    #[arg(long, value_name = "ID")]
    only: Vec<String>,
    /// Do not run these cases (IDs or prefixes); repeatable.
    #[arg(long, value_name = "ID")]
    skip: Vec<String>,
    /// Skips and expected failures with their reasons (TOML: [[skip]] and [[expected-failure]] tables of id and
    /// reason). An expected failure that passes fails the run.
    #[arg(long, value_name = "FILE")]
    expectations: Option<PathBuf>,
    /// Where the reports go: report.json, report.junit.xml, report.html, cases/*.txt and cases/*.pcap (each
    /// case's trace and its exchange for Wireshark), and certificate.json with --lab-key [default:
    /// conformance-report].
    #[arg(long, value_name = "DIR")]
    report_dir: Option<PathBuf>,
    /// Seed of anything random the suite does, recorded in the report.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print the whole report as JSON on standard output instead of the summary.
    #[arg(long)]
    json: bool,
}

/// Runs `idea conform`.
pub(crate) fn run(args: ConformArgs) -> Result<String, Failure> {
    match args.suite.as_str() {
        "keygen" => keygen(&args),
        "iec104-outstation" => {
            run_suite(&idea_conformance::suites::iec104::Outstation::new(), &args)
        }
        "iec104-controlling" => {
            run_suite(&idea_conformance::suites::iec104::Controlling::new(), &args)
        }
        "sunspec" => run_suite(&idea_conformance::suites::sunspec::SunSpec::new(), &args),
        "modbus-device" => run_suite(
            &idea_conformance::suites::modbus_device::modbus_device(),
            &args,
        ),
        other => Err(Failure::Usage(format!(
            "unknown suite {other:?}; suites: {}",
            SUITES.join(", ")
        ))),
    }
}

fn run_suite<S: Suite>(suite: &S, args: &ConformArgs) -> Result<String, Failure> {
    if args.pics_template {
        return Ok(suite.pics_template().to_owned());
    }
    if args.list {
        let mut out = String::new();
        for case in suite.cases() {
            let _ = writeln!(
                out,
                "{:<28} {:<14} {}",
                case.id,
                case.requirements.join(","),
                case.title
            );
        }
        return Ok(out);
    }
    let (address, flag) = if suite.listens() {
        (&args.listen, "--listen")
    } else {
        (&args.target, "--target")
    };
    let (Some(target), Some(pics_path)) = (address, &args.pics) else {
        return Err(Failure::Usage(format!(
            "{flag} and --pics are required (a PICS says what the device implements; --pics-template prints one)"
        )));
    };
    let wrong = if suite.listens() {
        &args.target
    } else {
        &args.listen
    };
    if wrong.is_some() {
        return Err(Failure::Usage(format!(
            "{} takes {flag}, not {}",
            suite.name(),
            if suite.listens() {
                "--target: the device connects to the runner"
            } else {
                "--listen: the runner connects to the device"
            }
        )));
    }
    let lab = args.lab_key.as_deref().map(read_lab_key).transpose()?;
    let text = std::fs::read_to_string(pics_path)
        .map_err(|e| Failure::Usage(format!("PICS {}: {e}", pics_path.display())))?;
    let pics = Pics::from_toml(&pics_path.display().to_string(), &text)
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let expectations = match &args.expectations {
        None => Default::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Failure::Usage(format!("{}: {e}", path.display())))?;
            let known: Vec<&str> = suite.cases().iter().map(|c| c.id).collect();
            idea_conformance::expectations::Expectations::from_toml(
                &path.display().to_string(),
                &text,
                &known,
            )
            .map_err(|e| Failure::Usage(e.to_string()))?
        }
    };
    let config = RunConfig {
        target: target.clone(),
        seed: args.seed,
        selection: Selection {
            only: args.only.clone(),
            skip: args.skip.clone(),
        },
        expectations,
    };
    let total = suite
        .cases()
        .iter()
        .filter(|c| config.selection.selects(c.id))
        .count();
    let terminal = std::io::stderr().is_terminal() && !args.json;
    let mut done = 0usize;
    let report = runner::run(suite, &pics, &config, &mut |info, result| {
        let mut err = std::io::stderr().lock();
        match result {
            None if terminal => {
                let _ = write!(err, "[{}/{total}] {} … ", done.saturating_add(1), info.id);
                let _ = err.flush();
            }
            None => {}
            Some(r) => {
                done = done.saturating_add(1);
                if terminal {
                    let _ = writeln!(err, "{} ({} ms)", r.verdict, r.duration_ms);
                }
            }
        }
    })
    .map_err(|e| Failure::Usage(e.to_string()))?;
    write_reports(&report, args, lab.as_ref())?;
    if unreachable(&report) {
        return Err(Failure::NoAnswer(format!(
            "{target} {}: {}",
            if suite.listens() {
                "was not reached by the device"
            } else {
                "could not be reached"
            },
            report
                .results
                .first()
                .map(|r| r.verdict.detail())
                .unwrap_or_default()
        )));
    }
    let out = if args.json {
        report::json(&report) + "\n"
    } else {
        summary_text(&report)
    };
    if report.passed {
        Ok(out)
    } else {
        // The summary still goes to standard output; the failure line to standard error.
        let _ = std::io::stdout().lock().write_all(out.as_bytes());
        let unexpected = report.results.iter().filter(|r| r.unexpected_pass).count();
        Err(Failure::Check(format!(
            "{} did not pass {}: {} failed, {} inconclusive, {} errors, {unexpected} expected failures passed",
            report.target,
            report.suite,
            report.summary.fail,
            report.summary.inconclusive,
            report.summary.error
        )))
    }
}

/// Whether no case could even open a session.
fn unreachable(report: &Report) -> bool {
    let ran: Vec<_> = report
        .results
        .iter()
        .filter(|r| !matches!(r.verdict, Verdict::NotApplicable(_)))
        .collect();
    !ran.is_empty()
        && ran.iter().all(
            |r| matches!(&r.verdict, Verdict::Error(d) if d.starts_with("cannot open a session")),
        )
}

/// Writes every evidence file under the report directory and, with a lab key, the certificate over them.
fn write_reports(
    report: &Report,
    args: &ConformArgs,
    lab: Option<&[u8; 32]>,
) -> Result<(), Failure> {
    let dir = args
        .report_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("conformance-report"));
    let files = idea_conformance::evidence::files(report);
    for (file, bytes) in &files {
        let path = dir.join(file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Failure::Usage(format!("{}: {e}", parent.display())))?;
        }
        std::fs::write(&path, bytes)
            .map_err(|e| Failure::Usage(format!("{}: {e}", path.display())))?;
    }
    if let Some(secret) = lab {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let certificate = idea_conformance::certificate::issue(report, &files, secret, now);
        let text = serde_json::to_string_pretty(&certificate).unwrap_or_default() + "\n";
        let path = dir.join("certificate.json");
        std::fs::write(&path, text)
            .map_err(|e| Failure::Usage(format!("{}: {e}", path.display())))?;
    }
    Ok(())
}

/// A lab key file: 64 hex digits.
fn read_lab_key(path: &std::path::Path) -> Result<[u8; 32], Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::Usage(format!("lab key {}: {e}", path.display())))?;
    idea_proto::hex::decode(text.trim())
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| Failure::Usage(format!("lab key {}: not 64 hex digits", path.display())))
}

/// `idea conform keygen --out FILE`: a new lab key from the system's randomness; prints the public key.
fn keygen(args: &ConformArgs) -> Result<String, Failure> {
    let Some(out) = &args.out else {
        return Err(Failure::Usage("keygen needs --out FILE".into()));
    };
    let mut secret = [0u8; 32];
    getrandom::getrandom(&mut secret)
        .map_err(|e| Failure::Usage(format!("no randomness from the system: {e}")))?;
    let mut options = std::fs::OpenOptions::new();
    // Never overwrites a key: create_new refuses an existing file.
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(out)
        .map_err(|e| Failure::Usage(format!("{}: {e}", out.display())))?;
    file.write_all(format!("{}\n", idea_proto::hex::encode(&secret)).as_bytes())
        .map_err(|e| Failure::Usage(format!("{}: {e}", out.display())))?;
    let (_, public) = idea_conformance::certificate::lab_key(&secret);
    Ok(format!(
        "lab key written to {}; public key {public}\n",
        out.display()
    ))
}

fn summary_text(report: &Report) -> String {
    let mut out = String::new();
    for r in &report.results {
        let _ = writeln!(
            out,
            "{:<18} {:<28} {}",
            r.verdict.name(),
            r.case.id,
            r.case.title
        );
        let detail = r.verdict.detail();
        if !detail.is_empty() {
            let _ = writeln!(out, "{:<18} {:<28} {detail}", "", "");
        }
        match (&r.expected_failure, r.unexpected_pass) {
            (Some(why), true) => {
                let _ = writeln!(
                    out,
                    "{:<18} {:<28} expected to fail ({why}), but passed",
                    "", ""
                );
            }
            (Some(why), false) => {
                let _ = writeln!(out, "{:<18} {:<28} expected failure: {why}", "", "");
            }
            (None, _) => {}
        }
    }
    let s = &report.summary;
    let _ = writeln!(
        out,
        "{}: {} cases against {} — {} pass, {} pass with remarks, {} fail, {} not applicable, {} inconclusive, {} errors: {}",
        report.suite,
        report.results.len(),
        report.target,
        s.pass,
        s.pass_with_remarks,
        s.fail,
        s.not_applicable,
        s.inconclusive,
        s.error,
        if report.passed {
            "PASSED"
        } else {
            "NOT PASSED"
        }
    );
    out
}
