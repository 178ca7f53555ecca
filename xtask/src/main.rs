//! Project automation.
//!
//! `cargo xtask test` prepares the interoperability peers (a Python virtual environment built from the pinned
//! `interop/requirements.txt`, and the CSIP-AUS harness in its own Python ≥ 3.12 — see `cactus.rs`) and then runs every check CI runs, in this order, stopping at the first failure:
//! `cargo fmt --check`, clippy with `-D warnings` on all targets, rustdoc with `-D warnings`, and the tests of
//! the whole workspace, all with every feature on (the tokio transports included), then the C ABI's checks
//! (`ffi` module: header drift, the C programs natively, under Valgrind and with the sanitizers). The
//! CSIP-AUS harness test, which mostly waits on its procedures' timers, runs beside the other tests. `--no-lint`
//! runs only the peers and the tests.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod cactus;
mod ffi;
mod ffi_consumers;
mod ffi_install;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(&root, args.iter().any(|a| a == "--no-lint")),
        Some("peers") => prepare_peers(&root).and_then(|_| cactus::prepare(&root).map(|_| ())),
        Some("ffi-header") => ffi::header(&root, args.iter().any(|a| a == "--check")),
        Some("ffi") => ffi::c_tests(&root),
        Some("ffi-install") => match args
            .iter()
            .position(|a| a == "--prefix")
            .and_then(|i| args.get(i.saturating_add(1)))
        {
            Some(prefix) => ffi_install::install(
                &root,
                Path::new(prefix),
                args.iter().any(|a| a == "--debug"),
            ),
            None => Err("ffi-install needs --prefix DIR".to_owned()),
        },
        _ => {
            eprintln!(
                "usage: cargo xtask test [--no-lint]      every check CI runs\n       cargo xtask peers                  only prepare the interoperability peers\n       cargo xtask ffi-header [--check]   write (or check) ffi/include/idea.h\n       cargo xtask ffi                    the C programs of ffi/tests (native, Valgrind, sanitizers) and the\n                                          gateway example built with pkg-config and CMake against idea serve devices\n       cargo xtask ffi-install --prefix DIR [--debug]   install the C library, header, pkg-config file and CMake package"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(Path::to_path_buf).unwrap_or(manifest)
}

fn test(root: &Path, no_lint: bool) -> Result<(), String> {
    let python = prepare_peers(root)?;
    let harness = cactus::prepare(root)?;
    let mut steps: Vec<Step> = Vec::new();
    if !no_lint {
        steps.push(("rustfmt", vec!["fmt", "--all", "--check"], vec![]));
        steps.push((
            "clippy",
            vec![
                "clippy",
                "--workspace",
                "--all-targets",
                "--all-features",
                "--",
                "-D",
                "warnings",
            ],
            vec![],
        ));
        steps.push((
            "rustdoc",
            vec!["doc", "--workspace", "--no-deps", "--all-features"],
            vec![("RUSTDOCFLAGS", "-D warnings")],
        ));
    }
    steps.push((
        "build the tests",
        vec!["test", "--workspace", "--all-features", "--no-run"],
        vec![],
    ));
    let cargo_in = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = Command::new(cargo());
        cmd.current_dir(root).args(args).envs(env.iter().copied());
        if let Some(python) = &python {
            cmd.env("IDEA_PYTHON", python);
        }
        cmd.env("IDEA_CACTUS_ROOT", &harness.root)
            .env("IDEA_CACTUS_PYTHON", &harness.python);
        cmd
    };
    for (name, args, env) in steps {
        println!("==> {name}: cargo {}", args.join(" "));
        let status = cargo_in(&args, &env)
            .status()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        if !status.success() {
            return Err(format!("{name} failed ({status})"));
        }
    }
    // The CSIP-AUS harness mostly waits on its procedures' timers (minutes): it runs beside the other tests.
    let log = root.join("target/csip-aus-harness.log");
    let harness_args = [
        "test",
        "-p",
        "idea-cli",
        "--all-features",
        "--test",
        "csip_aus",
        "--",
        "--nocapture",
    ];
    println!(
        "==> CSIP-AUS harness, beside the other tests: cargo {} (log: {})",
        harness_args.join(" "),
        log.display()
    );
    let log_file =
        std::fs::File::create(&log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
    let err_file = log_file
        .try_clone()
        .map_err(|e| format!("cannot share {}: {e}", log.display()))?;
    let mut beside = cargo_in(&harness_args, &[])
        .stdout(log_file)
        .stderr(err_file)
        .spawn()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let rest = [
        "test",
        "--workspace",
        "--all-features",
        "--",
        "--skip",
        HARNESS_TEST,
    ];
    println!("==> tests: cargo {}", rest.join(" "));
    let tests = cargo_in(&rest, &[])
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"));
    let c_abi = match &tests {
        Ok(status) if status.success() => ffi::c_tests(root),
        _ => {
            // The run has failed already: the harness's minutes would tell nothing more.
            let _ = beside.kill();
            Ok(())
        }
    };
    let harness_status = beside
        .wait()
        .map_err(|e| format!("cannot wait for the harness: {e}"))?;
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    println!("==> CSIP-AUS harness ({harness_status}):");
    for line in text.lines().filter(|l| {
        l.starts_with("S-")
            || l.starts_with("CSIP-AUS")
            || l.starts_with("test ")
            || l.contains("panicked")
    }) {
        println!("    {line}");
    }
    let tests = tests?;
    if !tests.success() {
        return Err(format!("tests failed ({tests})"));
    }
    c_abi?;
    if !harness_status.success() {
        return Err(format!(
            "the CSIP-AUS harness failed ({harness_status}); its log: {}",
            log.display()
        ));
    }
    Ok(())
}

/// The test that runs the CSIP-AUS harness (`idea-cli/tests/csip_aus.rs`).
const HARNESS_TEST: &str = "every_csip_aus_server_procedure_passes_against_idea_serve_sep2_server";

/// One cargo invocation: a name for the log, its arguments, and extra environment.
type Step = (
    &'static str,
    Vec<&'static str>,
    Vec<(&'static str, &'static str)>,
);

pub(crate) fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// Builds `target/interop-venv` from the pinned requirements when they change; returns its interpreter, or
/// `None` while no peer is pinned.
fn prepare_peers(root: &Path) -> Result<Option<PathBuf>, String> {
    let requirements = root.join("interop/requirements.txt");
    let text = std::fs::read_to_string(&requirements)
        .map_err(|e| format!("cannot read {}: {e}", requirements.display()))?;
    let pinned = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .count();
    if pinned == 0 {
        println!("==> interop peers: none pinned yet in interop/requirements.txt");
        return Ok(None);
    }
    let venv = root.join("target/interop-venv");
    let python = venv.join("bin/python");
    let stamp = venv.join("requirements.stamp");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(text.as_str()) && python.exists() {
        println!("==> interop peers: up to date in {}", venv.display());
        return Ok(Some(python));
    }
    println!(
        "==> interop peers: installing {pinned} pinned packages into {}",
        venv.display()
    );
    run(Command::new("python3")
        .args(["-m", "venv", "--clear"])
        .arg(&venv))?;
    run(Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(&requirements))?;
    std::fs::write(&stamp, &text).map_err(|e| format!("cannot write {}: {e}", stamp.display()))?;
    Ok(Some(python))
}

pub(crate) fn run(cmd: &mut Command) -> Result<(), String> {
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed ({status})"))
    }
}
