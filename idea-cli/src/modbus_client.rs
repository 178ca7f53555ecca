//! `idea modbus read|write`: registers of a Modbus device read or written once, over Modbus TCP or RTU — a
//! device poked by hand, without writing code. A Modbus exception is the device's answer, not a failure of
//! the client ([`Answer`]).

use modbus_profiles::frame::{Request, Response};
use modbus_profiles::net::{Answer, Client, SerialLine};

/// Where the device is: `HOST:PORT` (Modbus TCP), or a serial line (Modbus RTU).
#[derive(Debug, Clone)]
pub enum Device {
    /// Modbus TCP at `HOST:PORT`.
    Tcp(String),
    /// Modbus RTU on a serial line.
    Serial(SerialLine),
}

/// Which registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// Holding registers (read with function 3, written with 16).
    Holding,
    /// Input registers (read with function 4; read-only).
    Input,
}

async fn request(
    device: &Device,
    unit: u8,
    request: &Request,
) -> Result<Response, modbus_profiles::Error> {
    match device {
        Device::Tcp(address) => Client::connect(address, unit).await?.request(request).await,
        Device::Serial(line) => Client::open_serial(line, unit)?.request(request).await,
    }
}

/// Reads `count` registers of `table` from `address`.
///
/// # Errors
/// The client's: no connection, no answer in time, an answer that does not answer the request.
pub async fn read(
    device: &Device,
    unit: u8,
    table: Table,
    address: u16,
    count: u16,
) -> Result<Answer<Vec<u16>>, modbus_profiles::Error> {
    let asked = match table {
        Table::Holding => Request::ReadHoldingRegisters { address, count },
        Table::Input => Request::ReadInputRegisters { address, count },
    };
    match request(device, unit, &asked).await? {
        Response::ReadHoldingRegisters(values) | Response::ReadInputRegisters(values)
            if values.len() == usize::from(count) =>
        {
            Ok(Ok(values))
        }
        Response::Exception { code, .. } => Ok(Err(code)),
        other => Err(modbus_profiles::Error::Unexpected(format!(
            "{other:?} to a read of {count} registers at {address}"
        ))),
    }
}

/// Writes `values` to the holding registers from `address` (function 16).
///
/// # Errors
/// As [`read`].
pub async fn write(
    device: &Device,
    unit: u8,
    address: u16,
    values: &[u16],
) -> Result<Answer<()>, modbus_profiles::Error> {
    let asked = Request::WriteMultipleRegisters {
        address,
        values: values.to_vec(),
    };
    match request(device, unit, &asked).await? {
        Response::WriteMultipleRegisters { address: a, count }
            if a == address && usize::from(count) == values.len() =>
        {
            Ok(Ok(()))
        }
        Response::Exception { code, .. } => Ok(Err(code)),
        other => Err(modbus_profiles::Error::Unexpected(format!(
            "{other:?} to a write of {} registers at {address}",
            values.len()
        ))),
    }
}
