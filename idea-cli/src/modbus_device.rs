//! Where a Modbus device is, as `idea modbus` and `idea sunspec` take it: `HOST:PORT`, or a serial port with
//! its line settings, and the unit id.

use crate::serial_line::LineArgs;
use idea_cli::modbus_client::Device;

/// Where the device is.
#[derive(Debug, clap::Args)]
pub(crate) struct DeviceArgs {
    /// The device, HOST:PORT (Modbus TCP), or with --serial its serial port (Modbus RTU).
    pub(crate) target: String,
    /// The target is a serial port: Modbus RTU.
    #[arg(long)]
    pub(crate) serial: bool,
    #[command(flatten)]
    pub(crate) line: LineArgs,
    /// Unit id.
    #[arg(long, default_value_t = 1)]
    pub(crate) unit: u8,
}

impl DeviceArgs {
    /// The device to reach.
    pub(crate) fn device(&self) -> Device {
        if self.serial {
            Device::Serial(self.line.line(&self.target))
        } else {
            Device::Tcp(self.target.clone())
        }
    }
}
