//! The Modbus/SunSpec side of the device link: a SunSpec device on Modbus TCP (scanned once, models read and
//! written by point name), the energy hub as the cell's actuator (SunSpec model 64901: `Ena`, `WSet`, `SoC`)
//! and a SunSpec meter at the connection (model 203: `W`, `TotWhImp`, `TotWhExp`).

use super::ConnectionController;
use super::link::{MeterSample, link_error};
use idea_proto::Timestamp;
use modbus_profiles::net::Client;
use modbus_profiles::sunspec::{Catalog, Device, Model};
use tokio::net::TcpStream;

/// The SunSpec model of the IDEA energy hub.
const HUB_MODEL: u16 = 64901;
/// The SunSpec three-phase wye meter.
pub(crate) const METER_MODEL: u16 = 203;
/// The most registers one read asks for (Modbus application protocol 6.3).
const MAX_READ: u16 = 125;

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

    /// How long each request waits for its answer.
    pub(crate) fn set_timeout(&mut self, timeout: std::time::Duration) {
        self.client.set_timeout(timeout);
    }

    /// Reads model `id` afresh — its `ID` and `L` and the `L` registers after them — and returns it.
    pub(crate) async fn read(&mut self, id: u16) -> crate::Result<&mut Model> {
        let (address, len) = self
            .device
            .model(id)
            .map(|m| (m.address(), m.len().saturating_add(2)))
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

    /// Writes `points` (scaled values) of model `id`, then reads the whole model: the written registers are
    /// checked against what the device holds, and the model comes back fresh — one request fewer than a
    /// verified write followed by a read.
    pub(crate) async fn write_and_read(
        &mut self,
        id: u16,
        points: &[(&str, f64)],
    ) -> crate::Result<&mut Model> {
        let name = self.name.clone();
        let model = self
            .device
            .model_mut(id)
            .ok_or_else(|| link_error(&name, format!("no SunSpec model {id}")))?;
        for (point, value) in points {
            model
                .set_scaled(point, *value)
                .map_err(|e| link_error(&name, format!("{id}.{point}: {e}")))?;
        }
        let writes = model.take_writes();
        for w in &writes {
            match self
                .client
                .write_multiple_registers(w.address, &w.registers)
                .await
            {
                Ok(Ok(())) => {}
                Ok(Err(code)) => {
                    return Err(link_error(
                        &name,
                        format!("exception {code:?} writing {}", w.address),
                    ));
                }
                Err(e) => return Err(link_error(&name, e)),
            }
        }
        let model = self.read(id).await?;
        for w in &writes {
            let start = usize::from(w.address.saturating_sub(model.address()));
            let held = model
                .registers()
                .get(start..start.saturating_add(w.registers.len()));
            if held != Some(w.registers.as_slice()) {
                return Err(link_error(
                    &name,
                    format!(
                        "wrote {:?} at {}, the device holds {held:?}",
                        w.registers, w.address
                    ),
                ));
            }
        }
        Ok(model)
    }

    /// The connection meter's sample (SunSpec 203).
    pub(crate) async fn sample(&mut self) -> crate::Result<MeterSample> {
        let name = self.name.clone();
        let m = self.read(METER_MODEL).await?;
        match (scaled(m, "W"), scaled(m, "TotWhImp"), scaled(m, "TotWhExp")) {
            (Some(import_w), Some(import_wh), Some(export_wh)) => Ok(MeterSample {
                import_w,
                import_wh,
                export_wh,
            }),
            _ => Err(link_error(&name, "the meter has no W or energy registers")),
        }
    }
}

/// A point's scaled value, if the device has it and it is implemented.
pub(crate) fn scaled(model: &Model, point: &str) -> Option<f64> {
    model.get_scaled(point).ok().flatten()
}

/// The energy hub as the cell's actuator: the controller's storage power written to `WSet`.
pub(crate) struct HubActuator {
    hub: SunSpecDevice,
    /// What the hub was last told, W (NaN: nothing yet).
    storage_w: f64,
    /// Whether the hub's model was read back with the last setpoint written (its state of charge is
    /// current without another read).
    fresh: bool,
}

impl HubActuator {
    /// Opens the hub and reads its charge and discharge rates (the controller's bounds).
    pub(crate) async fn open(address: &str, unit: u8) -> crate::Result<(HubActuator, f64, f64)> {
        let mut hub = SunSpecDevice::open(address, unit).await?;
        let (charge, discharge) = {
            let h = hub.read(HUB_MODEL).await?;
            (
                scaled(h, "WMaxChaRte").unwrap_or(0.0),
                scaled(h, "WMaxDisChaRte").unwrap_or(0.0),
            )
        };
        Ok((
            HubActuator {
                hub,
                storage_w: f64::NAN,
                fresh: false,
            },
            charge,
            discharge,
        ))
    }

    /// How long each request to the hub waits for its answer.
    pub(crate) fn set_timeout(&mut self, timeout: std::time::Duration) {
        self.hub.set_timeout(timeout);
    }

    /// A setpoint arrived: the hub is enabled (a hub that refuses is the command failing).
    pub(crate) async fn accept(&mut self) -> Result<(), String> {
        self.hub
            .write(HUB_MODEL, &[("Ena", 1.0)])
            .await
            .map_err(|e| e.to_string())
    }

    /// One control step: the storage power the controller wants, written when it moved by a watt or more.
    pub(crate) async fn step(
        &mut self,
        controller: &mut ConnectionController,
        now: Timestamp,
        import_w: f64,
    ) -> crate::Result<()> {
        let wanted = controller.update(now, import_w);
        if (wanted - self.storage_w).abs() >= 1.0 || self.storage_w.is_nan() {
            self.hub
                .write_and_read(HUB_MODEL, &[("WSet", wanted.round())])
                .await?;
            self.storage_w = wanted;
            self.fresh = true;
        }
        Ok(())
    }

    /// The energy the hub's storage holds, Wh (read afresh unless the last step just read it).
    pub(crate) async fn stored_wh(&mut self) -> Option<i64> {
        let h = if std::mem::take(&mut self.fresh) {
            self.hub.device.model_mut(HUB_MODEL)?
        } else {
            self.hub.read(HUB_MODEL).await.ok()?
        };
        let (soc, capacity) = (scaled(h, "SoC")?, scaled(h, "WHRtg")?);
        // A percentage of a rating in Wh: far inside i64.
        #[allow(clippy::cast_possible_truncation)]
        Some((soc / 100.0 * capacity).round() as i64)
    }
}
