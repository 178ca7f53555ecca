//! `idea modbus read|write`: registers of a Modbus device by hand, over TCP or a serial line.

use crate::failure::Failure;
use crate::modbus_device::DeviceArgs;
use crate::output::pretty;
use clap::Subcommand;
use idea_cli::modbus_client::{self, Table};
use std::io::Write;

#[derive(Debug, Subcommand)]
pub(crate) enum ModbusCommand {
    /// Read registers (holding, function 3; with --input, input registers, function 4). Exits 1 when the
    /// device answers with a Modbus exception.
    Read {
        #[command(flatten)]
        device: DeviceArgs,
        /// First register (0-based protocol address, e.g. 40000).
        #[arg(long)]
        address: u16,
        /// How many registers (1–125).
        #[arg(long, default_value_t = 1)]
        count: u16,
        /// Read input registers instead of holding registers.
        #[arg(long)]
        input: bool,
        /// Print JSON: {"address", "values"} or {"exception", "code"}.
        #[arg(long)]
        json: bool,
    },
    /// Write holding registers (function 16). Exits 1 when the device answers with a Modbus exception.
    Write {
        #[command(flatten)]
        device: DeviceArgs,
        /// First register (0-based protocol address).
        #[arg(long)]
        address: u16,
        /// The values, comma-separated: decimal, or hex with 0x (e.g. 1,0x00ff,65535).
        #[arg(long, value_delimiter = ',', value_parser = parse_register, required = true)]
        values: Vec<u16>,
        /// Print JSON: {"address", "written"} or {"exception", "code"}.
        #[arg(long)]
        json: bool,
    },
}

/// A register value: decimal, or hex with `0x`.
fn parse_register(text: &str) -> Result<u16, String> {
    let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u16::from_str_radix(hex, 16),
        None => text.parse(),
    };
    parsed.map_err(|e| format!("{text:?}: {e} (a register is 0–65535)"))
}

/// The client's failures: no connection or no answer is exit 3, anything else exit 2.
fn failed(target: &str, e: modbus_profiles::Error) -> Failure {
    match e {
        modbus_profiles::Error::Timeout(_) | modbus_profiles::Error::Transport(_) => {
            Failure::NoAnswer(format!("{target}: {e}"))
        }
        other => Failure::Usage(format!("{target}: {other}")),
    }
}

/// A Modbus exception: printed as the device's answer, and exit 1.
fn exception(
    target: &str,
    code: modbus_profiles::frame::ExceptionCode,
    json: bool,
) -> Result<String, Failure> {
    if json {
        let text = pretty(&serde_json::json!({
            "exception": code.name(),
            "code": code.code(),
        }))?;
        let _ = std::io::stdout().lock().write_all(text.as_bytes());
    }
    Err(Failure::Check(format!(
        "{target}: the device answered with exception {code}"
    )))
}

/// Runs one `idea modbus` subcommand.
pub(crate) fn run(command: ModbusCommand) -> Result<String, Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    match command {
        ModbusCommand::Read {
            device,
            address,
            count,
            input,
            json,
        } => {
            if !(1..=125).contains(&count) {
                return Err(Failure::Usage(format!(
                    "--count {count}: 1 to 125 registers"
                )));
            }
            let table = if input { Table::Input } else { Table::Holding };
            let answer = runtime
                .block_on(modbus_client::read(
                    &device.device(),
                    device.unit,
                    table,
                    address,
                    count,
                ))
                .map_err(|e| failed(&device.target, e))?;
            match answer {
                Ok(values) if json => Ok(pretty(&serde_json::json!({
                    "address": address,
                    "values": values,
                }))?),
                Ok(values) => Ok(values
                    .iter()
                    .zip(address..)
                    .map(|(v, a)| format!("{a:>5}  {v:>5}  0x{v:04X}\n"))
                    .collect()),
                Err(code) => exception(&device.target, code, json),
            }
        }
        ModbusCommand::Write {
            device,
            address,
            values,
            json,
        } => {
            if !(1..=123).contains(&values.len()) {
                return Err(Failure::Usage(format!(
                    "--values: 1 to 123 registers, not {}",
                    values.len()
                )));
            }
            let answer = runtime
                .block_on(modbus_client::write(
                    &device.device(),
                    device.unit,
                    address,
                    &values,
                ))
                .map_err(|e| failed(&device.target, e))?;
            match answer {
                Ok(()) if json => Ok(pretty(&serde_json::json!({
                    "address": address,
                    "written": values.len(),
                }))?),
                Ok(()) => Ok(format!(
                    "{}: wrote {} registers at {address}\n",
                    device.target,
                    values.len()
                )),
                Err(code) => exception(&device.target, code, json),
            }
        }
    }
}
