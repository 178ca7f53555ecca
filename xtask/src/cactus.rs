//! The CSIP-AUS server harness (`cactus-client`, with its notification helper and our admin plugin in
//! `interop/cactus/plugin`), which needs Python 3.12 or newer.
//!
//! The pins are the lines of `interop/requirements.txt` marked `python_version >= "3.12"` (the 3.11
//! environment of the other peers skips them). A Python ≥ 3.12 on `PATH` gets a virtual environment in
//! `target/cactus-venv`. Without one — Debian 12 ships 3.11 — the harness runs in a Debian 13 root made
//! with `debootstrap` in `target/cactus-root` (its Python 3.13) and is started with `chroot`; that needs
//! root and `debootstrap` (installed by `.ci/run`). Tests find it in `$IDEA_CACTUS_ROOT` (`/` or the
//! Debian root) and `$IDEA_CACTUS_PYTHON` (the interpreter's path inside that root).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the harness runs: the root its paths are inside, and its interpreter there.
pub(crate) struct Harness {
    pub(crate) root: PathBuf,
    pub(crate) python: PathBuf,
}

const MARKER: &str = "python_version >= \"3.12\"";
const SUITE: &str = "trixie";
const MIRROR: &str = "http://deb.debian.org/debian";

/// Prepares the harness when its pins or the plugin changed.
pub(crate) fn prepare(root: &Path) -> Result<Harness, String> {
    let requirements = root.join("interop/requirements.txt");
    let text = std::fs::read_to_string(&requirements)
        .map_err(|e| format!("cannot read {}: {e}", requirements.display()))?;
    let pins: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && l.contains(MARKER))
        .collect();
    let plugin = root.join("interop/cactus/plugin");
    let stamp_text = format!("{}\n{}", pins.join("\n"), plugin_digest(&plugin)?);
    let (system_root, venv_inside, runner) = match native_python() {
        Some(python) => (
            PathBuf::from("/"),
            root.join("target/cactus-venv"),
            Runner::Native(python),
        ),
        None => {
            let debian = root.join("target/cactus-root");
            make_debian_root(&debian)?;
            (debian, PathBuf::from("/opt/cactus"), Runner::Chroot)
        }
    };
    let venv_outside = outside(&system_root, &venv_inside);
    let harness = Harness {
        python: venv_inside.join("bin/python"),
        root: system_root.clone(),
    };
    let stamp = venv_outside.join("idea-pins.stamp");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(stamp_text.as_str())
        && outside(&system_root, &harness.python).exists()
    {
        println!(
            "==> CSIP-AUS harness: up to date in {}",
            venv_outside.display()
        );
        return Ok(harness);
    }
    println!(
        "==> CSIP-AUS harness: installing {} pinned packages and the admin plugin into {}",
        pins.len(),
        venv_outside.display()
    );
    // The pins and the plugin go where the harness's interpreter sees them.
    let staging_inside = PathBuf::from("/tmp/idea-cactus-install");
    let staging = outside(&system_root, &staging_inside);
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(staging.join("plugin/idea_cactus_admin"))
        .map_err(|e| format!("cannot create {}: {e}", staging.display()))?;
    std::fs::write(staging.join("requirements.txt"), pins.join("\n") + "\n")
        .map_err(|e| format!("cannot write the harness pins: {e}"))?;
    for file in ["pyproject.toml", "idea_cactus_admin/__init__.py"] {
        std::fs::copy(plugin.join(file), staging.join("plugin").join(file))
            .map_err(|e| format!("cannot copy the plugin's {file}: {e}"))?;
    }
    let pip = |args: &[&str]| -> Result<(), String> {
        let mut cmd = runner.command(&system_root, &harness.python);
        cmd.args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(args);
        crate::run(&mut cmd)
    };
    crate::run(
        runner
            .command(&system_root, &runner.base_python())
            .args(["-m", "venv", "--clear"])
            .arg(&venv_inside),
    )?;
    let pins_inside = staging_inside.join("requirements.txt");
    pip(&["-r", &pins_inside.display().to_string()])?;
    let plugin_inside = staging_inside.join("plugin");
    pip(&["--no-deps", &plugin_inside.display().to_string()])?;
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::write(&stamp, &stamp_text)
        .map_err(|e| format!("cannot write {}: {e}", stamp.display()))?;
    Ok(harness)
}

/// How the harness's interpreter is started.
enum Runner {
    /// A Python ≥ 3.12 of this machine.
    Native(PathBuf),
    /// The Debian root's, through `chroot`.
    Chroot,
}

impl Runner {
    fn base_python(&self) -> PathBuf {
        match self {
            Runner::Native(p) => p.clone(),
            Runner::Chroot => PathBuf::from("/usr/bin/python3"),
        }
    }

    fn command(&self, root: &Path, program: &Path) -> Command {
        match self {
            Runner::Native(_) => Command::new(program),
            Runner::Chroot => {
                let mut cmd = Command::new("chroot");
                cmd.arg(root).arg(program);
                cmd
            }
        }
    }
}

/// `inside` (an absolute path within `root`) as seen from this machine.
fn outside(root: &Path, inside: &Path) -> PathBuf {
    root.join(inside.strip_prefix("/").unwrap_or(inside))
}

/// The first Python ≥ 3.12 with `venv` on `PATH`.
fn native_python() -> Option<PathBuf> {
    ["python3.14", "python3.13", "python3.12", "python3"]
        .into_iter()
        .find(|name| {
            Command::new(name)
                .args([
                    "-c",
                    "import sys, venv, ensurepip; sys.exit(0 if sys.version_info >= (3, 12) else 1)",
                ])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .map(PathBuf::from)
}

/// A minimal Debian 13 with Python 3.13 in `dir`, made once.
fn make_debian_root(dir: &Path) -> Result<(), String> {
    let ready = dir.join("idea-root.ready");
    if !ready.exists() {
        println!(
            "==> CSIP-AUS harness: no Python 3.12 or newer here; making a Debian {SUITE} root with Python in {}",
            dir.display()
        );
        let _ = std::fs::remove_dir_all(dir);
        crate::run(
            Command::new("debootstrap")
                .args([
                    "--variant=minbase",
                    "--include=python3,python3-venv,ca-certificates",
                    SUITE,
                ])
                .arg(dir)
                .arg(MIRROR)
                .stdout(std::process::Stdio::null()),
        )
        .map_err(|e| format!("{e} (debootstrap needs root and the package debootstrap)"))?;
        std::fs::write(&ready, SUITE)
            .map_err(|e| format!("cannot write {}: {e}", ready.display()))?;
    }
    // Name resolution and the machine's trust anchors (a registry proxy's CA among them), fresh each run.
    for file in ["etc/resolv.conf", "etc/ssl/certs/ca-certificates.crt"] {
        let from = Path::new("/").join(file);
        if from.exists() {
            std::fs::copy(&from, dir.join(file))
                .map_err(|e| format!("cannot copy {} into the Debian root: {e}", from.display()))?;
        }
    }
    Ok(())
}

/// The plugin's files, for noticing a change.
fn plugin_digest(plugin: &Path) -> Result<String, String> {
    let mut all = String::new();
    for file in ["pyproject.toml", "idea_cactus_admin/__init__.py"] {
        let path = plugin.join(file);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        all.push_str(&text);
    }
    // Not a security digest: a change detector (the stamp holds it, not the text, to stay small).
    let hash = all.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    Ok(format!("plugin {hash:016x}"))
}
