//! The device link (feature `devices`): the cell's interface devices over Modbus/SunSpec — the energy hub
//! whose storage the [`ConnectionController`] drives (SunSpec model 64901, `WSet`) and the connection meter it
//! reads (SunSpec 203: `W`, `TotWhImp`, `TotWhExp`) — wired to a running agent: setpoints in, command
//! results, interval measurements and the stored energy out ([`DeviceReport`]).

use super::{ConnectionController, IntervalMeter};
use crate::runtime::{Clock, DeviceReport};
use idea_proto::{CellId, MeterId, SetpointCommand};
use modbus_profiles::net::Client;
use modbus_profiles::sunspec::{Catalog, Device, Model};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// The SunSpec model of the IDEA energy hub.
const HUB_MODEL: u16 = 64901;
/// The SunSpec three-phase wye meter.
const METER_MODEL: u16 = 203;
/// The most registers one read asks for (Modbus application protocol 6.3).
const MAX_READ: u16 = 125;

/// Where the cell's devices are.
#[derive(Debug, Clone)]
pub struct CellLinkConfig {
    /// The energy hub, HOST:PORT (Modbus TCP).
    pub hub: String,
    /// The meter at the cell's connection point, HOST:PORT (Modbus TCP).
    pub meter: String,
    /// The Modbus unit both answer as.
    pub unit: u8,
    /// Real time between control steps.
    pub period: std::time::Duration,
    /// The cell.
    pub cell: CellId,
    /// The connection meter's id (named in measurement reports).
    pub meter_id: MeterId,
}

fn link_error(what: &str, e: impl std::fmt::Display) -> crate::Error {
    crate::Error::Link(format!("{what}: {e}"))
}

/// A SunSpec device on Modbus TCP: the client and its scanned map.
pub(crate) struct SunSpecDevice {
    client: Client<TcpStream>,
    device: Device,
    name: String,
}

impl SunSpecDevice {
    /// Connects to `address` and scans its SunSpec map.
    pub(crate) async fn open(address: &str, unit: u8) -> crate::Result<SunSpecDevice> {
        let mut client = Client::connect(address, unit)
            .await
            .map_err(|e| link_error(address, e))?;
        let catalog = Catalog::builtin().map_err(|e| link_error("the SunSpec catalogue", e))?;
        let device = client
            .scan(catalog)
            .await
            .map_err(|e| link_error(address, e))?;
        Ok(SunSpecDevice {
            client,
            device,
            name: address.to_owned(),
        })
    }

    /// Reads model `id` afresh and returns it.
    pub(crate) async fn read(&mut self, id: u16) -> crate::Result<&mut Model> {
        let (address, len) = self
            .device
            .model(id)
            .map(|m| (m.address(), m.len()))
            .ok_or_else(|| link_error(&self.name, format!("no SunSpec model {id}")))?;
        let mut values = Vec::with_capacity(usize::from(len));
        let mut at = address;
        let end = address.saturating_add(len);
        while at < end {
            let count = end.saturating_sub(at).min(MAX_READ);
            match self.client.read_holding_registers(at, count).await {
                Ok(Ok(chunk)) => values.extend(chunk),
                Ok(Err(code)) => {
                    return Err(link_error(
                        &self.name,
                        format!("exception {code:?} reading {at}"),
                    ));
                }
                Err(e) => return Err(link_error(&self.name, e)),
            }
            at = at.saturating_add(count);
        }
        let model = self
            .device
            .model_mut(id)
            .ok_or_else(|| link_error(&self.name, format!("no SunSpec model {id}")))?;
        model.load(address, &values);
        Ok(model)
    }

    /// Writes `points` (scaled values) of model `id` and checks the device holds them.
    pub(crate) async fn write(&mut self, id: u16, points: &[(&str, f64)]) -> crate::Result<()> {
        let model = self
            .device
            .model_mut(id)
            .ok_or_else(|| link_error(&self.name, format!("no SunSpec model {id}")))?;
        for (point, value) in points {
            model
                .set_scaled(point, *value)
                .map_err(|e| link_error(&self.name, format!("{id}.{point}: {e}")))?;
        }
        self.client
            .write_verified(model)
            .await
            .map_err(|e| link_error(&self.name, e))
    }
}

fn scaled(model: &Model, point: &str) -> Option<f64> {
    model.get_scaled(point).ok().flatten()
}

/// Runs the link until `commands` closes or `reports` is dropped: each setpoint is handed to the controller
/// (the hub enabled first; a hub that refuses is the command failing), and every `period` the meter is read,
/// the intervals that ended are reported, and the hub's storage set from the controller.
///
/// # Errors
/// [`crate::Error::Link`] when a device cannot be reached or scanned at start.
pub async fn run_cell_link(
    config: CellLinkConfig,
    mut commands: mpsc::Receiver<SetpointCommand>,
    reports: mpsc::Sender<DeviceReport>,
    clock: Clock,
) -> crate::Result<()> {
    let mut hub = SunSpecDevice::open(&config.hub, config.unit).await?;
    let mut meter = SunSpecDevice::open(&config.meter, config.unit).await?;
    let (charge, discharge) = {
        let h = hub.read(HUB_MODEL).await?;
        (
            scaled(h, "WMaxChaRte").unwrap_or(0.0),
            scaled(h, "WMaxDisChaRte").unwrap_or(0.0),
        )
    };
    let mut controller = ConnectionController::new(charge, discharge);
    let mut intervals = IntervalMeter::new(config.cell.clone(), config.meter_id.clone());
    let mut storage_w = f64::NAN;
    let mut tick = tokio::time::interval(config.period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            command = commands.recv() => {
                let Some(command) = command else { return Ok(()) };
                controller.command(&command);
                intervals.expect(&command);
                let result = hub
                    .write(HUB_MODEL, &[("Ena", 1.0)])
                    .await
                    .map_err(|e| e.to_string());
                let report = DeviceReport::CommandResult { id: command.transaction_id, result };
                if reports.send(report).await.is_err() {
                    return Ok(());
                }
            }
            _ = tick.tick() => {
                let now = clock.now();
                let reading = match meter.read(METER_MODEL).await {
                    Ok(m) => (scaled(m, "W"), scaled(m, "TotWhImp"), scaled(m, "TotWhExp")),
                    Err(e) => {
                        log::warn!("{}: {e}", config.cell);
                        continue;
                    }
                };
                let (Some(import_w), Some(import_wh), Some(export_wh)) = reading else {
                    log::warn!("{}: the meter has no W or energy registers", config.cell);
                    continue;
                };
                for report in intervals.reading(now, import_wh, export_wh) {
                    if reports.send(DeviceReport::Measurement(report)).await.is_err() {
                        return Ok(());
                    }
                }
                let wanted = controller.update(now, import_w);
                if (wanted - storage_w).abs() >= 1.0 || storage_w.is_nan() {
                    match hub.write(HUB_MODEL, &[("WSet", wanted.round())]).await {
                        Ok(()) => storage_w = wanted,
                        Err(e) => log::warn!("{}: {e}", config.cell),
                    }
                }
                if let Ok(h) = hub.read(HUB_MODEL).await
                    && let (Some(soc), Some(capacity)) = (scaled(h, "SoC"), scaled(h, "WHRtg"))
                {
                    // A percentage of a rating in Wh: far inside i64.
                    #[allow(clippy::cast_possible_truncation)]
                    let stored = (soc / 100.0 * capacity).round() as i64;
                    if reports.send(DeviceReport::StoredEnergy(stored)).await.is_err() {
                        return Ok(());
                    }
                }
            }
        }
    }
}
