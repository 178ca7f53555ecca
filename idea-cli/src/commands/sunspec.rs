//! `idea sunspec scan`: a SunSpec device over Modbus TCP or RTU, model by model.

use crate::modbus_device::DeviceArgs;
use crate::output::pretty;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub(crate) enum SunspecCommand {
    /// Scan a device: find "SunS" at 40000, 0 or 50000, read every model and print its points.
    Scan {
        #[command(flatten)]
        device: DeviceArgs,
        /// Print JSON (base, models with id, name, address, length and points) instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Runs one `idea sunspec` subcommand.
pub(crate) fn run(command: SunspecCommand) -> Result<String, String> {
    match command {
        SunspecCommand::Scan { device, json } => scan(
            &device.target,
            device.serial.then(|| device.line.line(&device.target)),
            device.unit,
            json,
        ),
    }
}

/// Scans the SunSpec device at `target` (HOST:PORT), or on `serial` when given.
pub(crate) fn scan(
    target: &str,
    serial: Option<modbus_profiles::net::SerialLine>,
    unit: u8,
    json: bool,
) -> Result<String, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let device = runtime
        .block_on(async {
            match &serial {
                Some(line) => idea_cli::sunspec_client::scan_serial(line, unit).await,
                None => idea_cli::sunspec_client::scan(target, unit).await,
            }
        })
        .map_err(|e| format!("{target}: {e}"))?;
    Ok(if json {
        pretty(&device.to_json())?
    } else {
        idea_cli::text::sunspec_device(&device)
    })
}
