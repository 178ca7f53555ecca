//! The C ABI used as a vendor uses it: installed with `ffi-install`, the gateway example built once with
//! pkg-config and once with CMake's `find_package(idea)` (shared and static), then run against real `idea
//! serve` devices on loopback — an IEC 104 smart meter and a Modbus/SunSpec meter — natively and under Valgrind.

use crate::{cargo, run};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A device process, stopped when dropped.
struct Device(Child);

impl Drop for Device {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

/// Starts `idea serve KIND --listen 127.0.0.1:PORT` and waits until it accepts connections.
fn serve(idea: &Path, kind: &str) -> Result<(Device, String), String> {
    let address = format!("127.0.0.1:{}", free_port()?);
    let child = Command::new(idea)
        .args(["serve", kind, "--listen", &address])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {} serve {kind}: {e}", idea.display()))?;
    let device = Device(child);
    let started = Instant::now();
    while TcpStream::connect(&address).is_err() {
        if started.elapsed() > Duration::from_secs(30) {
            return Err(format!(
                "idea serve {kind} did not listen on {address} within 30 s"
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok((device, address))
}

/// Runs the gateway, optionally under Valgrind, and checks it read both meters.
fn run_gateway(gateway: &Path, valgrind: bool, iec104: &str, modbus: &str) -> Result<(), String> {
    let mut cmd = if valgrind {
        let mut c = Command::new("valgrind");
        c.args([
            "--quiet",
            "--error-exitcode=99",
            "--leak-check=full",
            "--show-leak-kinds=definite,indirect,possible",
            "--errors-for-leak-kinds=definite,indirect,possible",
        ])
        .arg(gateway);
        c
    } else {
        Command::new(gateway)
    };
    println!(
        "==> ffi: {}{} against {iec104} and {modbus}",
        gateway.display(),
        if valgrind { " under valgrind" } else { "" }
    );
    let output = cmd
        .args([iec104, modbus])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", gateway.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    print!("{stdout}");
    if !output.status.success() {
        return Err(format!(
            "{} failed ({}): {}",
            gateway.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let frequency = |prefix: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|v| v.trim().parse::<f64>().ok())
    };
    // Both meters are the demonstration complex's cell meter: the grid's frequency, whichever protocol.
    for (what, value) in [
        (
            "IEC 104 frequency (IOA 1004)",
            frequency("iec104 M_ME_NC_1 ioa=1004 value="),
        ),
        ("SunSpec model 203 Hz", frequency("sunspec 203 Hz=")),
    ] {
        match value {
            Some(hz) if (45.0..=55.0).contains(&hz) => {}
            other => {
                return Err(format!(
                    "the gateway's {what} is {other:?}, not a grid frequency"
                ));
            }
        }
    }
    Ok(())
}

/// The README's complete example is `ffi/examples/decode.c` word for word, and prints what the README shows.
fn readme_example(root: &Path, decode: &Path) -> Result<(), String> {
    let readme = std::fs::read_to_string(root.join("ffi/README.md"))
        .map_err(|e| format!("ffi/README.md: {e}"))?;
    let example = std::fs::read_to_string(root.join("ffi/examples/decode.c"))
        .map_err(|e| format!("ffi/examples/decode.c: {e}"))?;
    if !readme.contains(&example) {
        return Err("ffi/README.md does not show ffi/examples/decode.c as it is".to_owned());
    }
    println!("==> ffi: the README's example (decode.c)");
    let frame = "68 12 00 00 00 00 0d 01 03 00 01 00 e9 03 00 00 00 48 42 00";
    let output = Command::new(decode)
        .args(frame.split(' '))
        .output()
        .map_err(|e| format!("cannot run {}: {e}", decode.display()))?;
    let printed = String::from_utf8_lossy(&output.stdout);
    let shown = format!("$ ./decode {frame}\n{printed}");
    if !output.status.success() || !readme.contains(&shown) {
        return Err(format!(
            "decode printed {printed:?}, not what ffi/README.md shows"
        ));
    }
    Ok(())
}

/// Installs the library, builds the gateway through pkg-config and CMake, and runs it against the devices.
pub(crate) fn check(root: &Path) -> Result<(), String> {
    let target = crate::ffi::target_dir(root);
    let prefix = target.join("ffi-prefix");
    let _ = std::fs::remove_dir_all(&prefix);
    std::fs::create_dir_all(&prefix)
        .map_err(|e| format!("cannot create {}: {e}", prefix.display()))?;
    crate::ffi_install::install(root, &prefix, true)?;
    let example = root.join("ffi/examples");
    let out = target.join("ffi-tests");

    // pkg-config, shared (with an rpath so it runs from the prefix) and static.
    let pc_path = prefix.join("lib/pkgconfig");
    let pkg_config = |args: &[&str]| -> Result<Vec<String>, String> {
        let output = Command::new("pkg-config")
            .args(args)
            .arg("idea")
            .env("PKG_CONFIG_PATH", &pc_path)
            .output()
            .map_err(|e| format!("cannot run pkg-config: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "pkg-config {args:?} idea failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        Ok(String::from_utf8_lossy(&output.stdout)
            .split_whitespace()
            .map(str::to_owned)
            .collect())
    };
    let cflags = pkg_config(&["--cflags"])?;
    let shared = out.join("gateway-pkg-config");
    println!("==> ffi: gateway.c with pkg-config (shared)");
    run(Command::new("cc")
        .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"])
        .args(&cflags)
        .arg(example.join("gateway.c"))
        .args(pkg_config(&["--libs"])?)
        .arg(format!("-Wl,-rpath,{}", prefix.join("lib").display()))
        .arg("-o")
        .arg(&shared))?;
    let static_gateway = out.join("gateway-pkg-config-static");
    println!("==> ffi: gateway.c with pkg-config (static)");
    run(Command::new("cc")
        .args(["-std=c99", "-g", "-Wall", "-Wextra", "-Werror", "-pedantic"])
        .args(&cflags)
        .arg(example.join("gateway.c"))
        .arg(prefix.join("lib/libidea.a"))
        .args(
            pkg_config(&["--static", "--libs-only-l"])?
                .into_iter()
                .filter(|l| l != "-lidea"),
        )
        .arg("-o")
        .arg(&static_gateway))?;

    // CMake: find_package(idea) from the prefix.
    let build = out.join("gateway-cmake");
    let _ = std::fs::remove_dir_all(&build);
    println!("==> ffi: the examples with CMake find_package(idea)");
    run(Command::new("cmake")
        .arg("-S")
        .arg(&example)
        .arg("-B")
        .arg(&build)
        .arg(format!("-DCMAKE_PREFIX_PATH={}", prefix.display()))
        .arg("-DCMAKE_BUILD_TYPE=Debug")
        .stdout(Stdio::null()))?;
    run(Command::new("cmake")
        .arg("--build")
        .arg(&build)
        .stdout(Stdio::null()))?;
    readme_example(root, &build.join("decode"))?;

    // The devices: the demonstration complex's cell meter over IEC 104 and over Modbus/SunSpec.
    println!("==> ffi: cargo build -p idea-cli (the devices)");
    run(Command::new(cargo())
        .current_dir(root)
        .args(["build", "-p", "idea-cli"]))?;
    let idea = target.join("debug/idea");
    let (_iec104_meter, iec104) = serve(&idea, "iec104-meter")?;
    let (_modbus_meter, modbus) = serve(&idea, "modbus-meter")?;
    let gateways: [(PathBuf, bool); 5] = [
        (shared, false),
        (static_gateway.clone(), false),
        (build.join("gateway"), false),
        (build.join("gateway_static"), false),
        (static_gateway, true),
    ];
    for (gateway, valgrind) in &gateways {
        run_gateway(gateway, *valgrind, &iec104, &modbus)?;
    }
    Ok(())
}
