//! `idea sunspec scan`: a SunSpec device found and read model by model, over Modbus TCP or RTU.

use modbus_profiles::sunspec::Catalog;

/// Scans the SunSpec device at `address` (`HOST:PORT`) as `unit`.
pub async fn scan(
    address: &str,
    unit: u8,
) -> Result<modbus_profiles::sunspec::Device, modbus_profiles::Error> {
    let mut client = modbus_profiles::net::Client::connect(address, unit).await?;
    client.scan(Catalog::builtin()?).await
}

/// Scans the SunSpec device on serial `line` as `unit`, over Modbus RTU.
pub async fn scan_serial(
    line: &modbus_profiles::net::SerialLine,
    unit: u8,
) -> Result<modbus_profiles::sunspec::Device, modbus_profiles::Error> {
    let mut client = modbus_profiles::net::Client::open_serial(line, unit)?;
    client.scan(Catalog::builtin()?).await
}
