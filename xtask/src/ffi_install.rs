//! `cargo xtask ffi-install --prefix DIR`: the C ABI laid out the way C libraries are installed —
//! `include/idea.h`, `lib/libidea.a`, `lib/libidea.so`, `lib/pkgconfig/idea.pc` and the CMake package
//! `lib/cmake/idea/` (`find_package(idea)`), from the templates under `ffi/packaging/`.

use crate::{cargo, run};
use std::path::{Path, PathBuf};
use std::process::Command;

/// What the static library needs from the system on Linux, as rustc reports it
/// (`--print native-static-libs`); the consumers' static link in `cargo xtask ffi` fails if it drifts.
const NATIVE_LIBS: &[&str] = &["gcc_s", "util", "rt", "pthread", "m", "dl", "c"];

/// Builds the library (release unless `debug`) and installs it under `prefix`.
pub(crate) fn install(root: &Path, prefix: &Path, debug: bool) -> Result<(), String> {
    let mut build = Command::new(cargo());
    build.current_dir(root).args(["build", "-p", "idea-ffi"]);
    if !debug {
        build.arg("--release");
    }
    println!("==> ffi-install: {build:?}");
    run(&mut build)?;
    let profile = if debug { "debug" } else { "release" };
    let built = crate::ffi::target_dir(root).join(profile);
    let version = env_version(root)?;

    let lib = prefix.join("lib");
    let cmake = lib.join("cmake/idea");
    let pkgconfig = lib.join("pkgconfig");
    let include = prefix.join("include");
    for dir in [&lib, &cmake, &pkgconfig, &include] {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    copy(&built.join("libidea.a"), &lib.join("libidea.a"))?;
    copy(&built.join("libidea.so"), &lib.join("libidea.so"))?;
    copy(&root.join("ffi/include/idea.h"), &include.join("idea.h"))?;

    let packaging = root.join("ffi/packaging");
    let (major, minor) = major_minor(&version)?;
    let prefix_text = prefix
        .canonicalize()
        .map_err(|e| format!("{}: {e}", prefix.display()))?
        .display()
        .to_string();
    let flags: Vec<String> = NATIVE_LIBS.iter().map(|l| format!("-l{l}")).collect();
    let fill = |text: String| {
        text.replace("@PREFIX@", &prefix_text)
            .replace("@VERSION@", &version)
            .replace("@MAJOR@", major)
            .replace("@MINOR@", minor)
            .replace("@NATIVE_LIBS@", &flags.join(" "))
    };
    write(
        &pkgconfig.join("idea.pc"),
        &fill(read(&packaging.join("idea.pc.in"))?),
    )?;
    write(
        &cmake.join("ideaConfigVersion.cmake"),
        &fill(read(&packaging.join("ideaConfigVersion.cmake.in"))?),
    )?;
    copy(
        &packaging.join("ideaConfig.cmake"),
        &cmake.join("ideaConfig.cmake"),
    )?;
    write(
        &cmake.join("ideaNativeLibs.cmake"),
        &format!(
            "# What libidea.a needs from the system, written by `cargo xtask ffi-install`.\nset(IDEA_NATIVE_LIBS \"{}\")\n",
            NATIVE_LIBS.join(";")
        ),
    )?;
    println!("==> ffi-install: installed libidea {version} under {prefix_text}");
    Ok(())
}

/// The workspace's version, from the root manifest's `[workspace.package]`.
fn env_version(root: &Path) -> Result<String, String> {
    let manifest = read(&root.join("Cargo.toml"))?;
    manifest
        .lines()
        .skip_while(|l| l.trim() != "[workspace.package]")
        .find_map(|l| {
            let (key, value) = l.split_once('=')?;
            (key.trim() == "version").then(|| value.trim().trim_matches('"').to_owned())
        })
        .ok_or_else(|| "no version in [workspace.package]".to_owned())
}

fn major_minor(version: &str) -> Result<(&str, &str), String> {
    let mut parts = version.split('.');
    match (parts.next(), parts.next()) {
        (Some(major), Some(minor)) => Ok((major, minor)),
        _ => Err(format!("{version} is not MAJOR.MINOR.PATCH")),
    }
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn copy(from: &Path, to: &PathBuf) -> Result<(), String> {
    std::fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("cannot copy {} to {}: {e}", from.display(), to.display()))
}
