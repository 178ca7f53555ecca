//! The Modbus/SunSpec side of the device link: a SunSpec device on Modbus TCP (scanned once, models read and
//! written by point name), the energy hub as the cell's actuator (SunSpec model 64901: `Ena`, `WSet`, `SoC`)
//! and a SunSpec meter at the connection (model 203: `W`, `TotWhImp`, `TotWhExp`).

use super::ConnectionController;
use super::link::{MeterSample, link_error};
use idea_proto::Timestamp;
use modbus_profiles::frame::{ExceptionCode, Request, Response};
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
    /// Whether the device takes read/write multiple registers (function 0x17); `None` until it has been
    /// tried.
    read_write: Option<bool>,
}

/// Registers one read/write multiple registers request may write (Modbus Application Protocol 6.17).
const MAX_READ_WRITE: usize = 121;

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
            read_write: None,
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
    /// checked against what the device holds, and the model comes back fresh. A write that fits one request
    /// and a model that fits one read go together as one read/write multiple registers request (function
    /// 0x17, Modbus Application Protocol 6.17: the write is done before the read) while the device takes
    /// it; one that answers exception 1 (illegal function), or does not answer it before it ever answered
    /// one, gets a write (0x10) then a read (0x03) from then on.
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
        let (address, len) = (model.address(), model.len().saturating_add(2));
        let together = match writes.as_slice() {
            [w] if self.read_write != Some(false)
                && len <= MAX_READ
                && w.registers.len() <= MAX_READ_WRITE =>
            {
                Some(w)
            }
            _ => None,
        };
        let mut read = None;
        if let Some(w) = together {
            let request = Request::ReadWriteMultipleRegisters {
                read_address: address,
                read_count: len,
                write_address: w.address,
                values: w.registers.clone(),
            };
            match self.client.request(&request).await {
                Ok(Response::ReadWriteMultipleRegisters(values))
                    if values.len() == usize::from(len) =>
                {
                    self.read_write = Some(true);
                    read = Some(values);
                }
                Ok(Response::Exception {
                    code: ExceptionCode::IllegalFunction,
                    ..
                }) => {
                    self.read_write = Some(false);
                }
                Ok(Response::Exception { code, .. }) => {
                    return Err(link_error(
                        &name,
                        format!("exception {code:?} writing {}", w.address),
                    ));
                }
                Ok(other) => {
                    return Err(link_error(
                        &name,
                        format!("a read/write of {len} registers answered with {other:?}"),
                    ));
                }
                Err(e) => {
                    // Never answered: if it never took the request, the next write goes the long way.
                    if self.read_write.is_none() {
                        self.read_write = Some(false);
                    }
                    return Err(link_error(&name, e));
                }
            }
        }
        let model = match read {
            Some(values) => {
                let model = self
                    .device
                    .model_mut(id)
                    .ok_or_else(|| link_error(&name, format!("no SunSpec model {id}")))?;
                model.load(address, &values);
                model
            }
            None => {
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
                self.read(id).await?
            }
        };
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

/// The energy hub as the cell's actuator. A hub with a connection sensor (its `ConnW` implemented) holds the
/// connection itself: the setpoint in force is written to `ConnWSet` with `ConnCtl` HOLD when it changes, and
/// the hub regulates its battery locally (NG-P1). Any other hub gets the controller's storage power in `WSet`
/// at every step.
pub(crate) struct HubActuator {
    hub: SunSpecDevice,
    /// What the hub was last told, W (NaN: nothing yet).
    storage_w: f64,
    /// Whether the hub holds the connection itself.
    holds: bool,
    /// The export the hub was last told to hold, W (`Some(None)`: to hold nothing; `None`: nothing told yet).
    held: Option<Option<f64>>,
    /// Whether the hub's model was read back with the last setpoint written (its state of charge is
    /// current without another read).
    fresh: bool,
}

impl HubActuator {
    /// Opens the hub and reads its charge and discharge rates (the controller's bounds).
    pub(crate) async fn open(address: &str, unit: u8) -> crate::Result<(HubActuator, f64, f64)> {
        let mut hub = SunSpecDevice::open(address, unit).await?;
        let (charge, discharge, holds) = {
            let h = hub.read(HUB_MODEL).await?;
            (
                scaled(h, "WMaxChaRte").unwrap_or(0.0),
                scaled(h, "WMaxDisChaRte").unwrap_or(0.0),
                scaled(h, "ConnW").is_some(),
            )
        };
        Ok((
            HubActuator {
                hub,
                storage_w: f64::NAN,
                holds,
                held: None,
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

    /// Whether the hub holds the connection itself (it has a connection sensor).
    pub(crate) fn holds(&self) -> bool {
        self.holds
    }

    /// Whether the hub holding the connection has yet to be told the setpoint `controller` has in force at
    /// `now`.
    pub(crate) fn behind(&self, controller: &ConnectionController, now: Timestamp) -> bool {
        self.holds && self.held != Some(controller.target(now).map(f64::round))
    }

    /// One control step. A hub that holds the connection is told the setpoint in force when it changed (the
    /// first time also to leave `WSet` at rest); any other gets the storage power the controller wants,
    /// written when it moved by a watt or more.
    pub(crate) async fn step(
        &mut self,
        controller: &mut ConnectionController,
        now: Timestamp,
        import_w: f64,
    ) -> crate::Result<()> {
        if self.holds {
            controller.lapse(now);
            let target = controller.target(now).map(f64::round);
            if self.held != Some(target) {
                let mut points = match target {
                    Some(w) => vec![("ConnCtl", 1.0), ("ConnWSet", w)],
                    None => vec![("ConnCtl", 0.0)],
                };
                if self.held.is_none() {
                    points.push(("WSet", 0.0));
                }
                self.hub.write_and_read(HUB_MODEL, &points).await?;
                self.held = Some(target);
                self.fresh = true;
            }
            return Ok(());
        }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use modbus_profiles::server::{Handled, Server};
    use modbus_profiles::simulator::{Profile, SimulatedDevice};
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// How the test hub treats function 0x17.
    #[derive(Clone, Copy)]
    enum ReadWrite {
        Served,
        Refused,
        Ignored,
    }

    /// A simulated hub on a loopback port, one request at a time, that notes each request's function code.
    async fn hub(
        read_write: ReadWrite,
    ) -> (
        String,
        Arc<Mutex<Vec<u8>>>,
        Arc<Mutex<Server<SimulatedDevice>>>,
    ) {
        let catalog = Catalog::builtin().unwrap();
        let device =
            SimulatedDevice::new(Profile::builtin("modbus-hub").unwrap(), &catalog, 40000).unwrap();
        let core = Arc::new(Mutex::new(Server::new(1, device)));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let (server, functions) = (Arc::clone(&core), Arc::clone(&seen));
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut out = Vec::new();
            loop {
                let mut header = [0u8; 7];
                if stream.read_exact(&mut header).await.is_err() {
                    return;
                }
                let len = usize::from(u16::from_be_bytes([header[4], header[5]]));
                let mut pdu = vec![0u8; len.saturating_sub(1).max(1)];
                stream.read_exact(&mut pdu).await.unwrap();
                functions.lock().unwrap().push(pdu[0]);
                let adu = [header.as_slice(), &pdu].concat();
                match (pdu[0], read_write) {
                    (0x17, ReadWrite::Ignored) => continue,
                    (0x17, ReadWrite::Refused) => {
                        out = header.to_vec();
                        out[4..6].copy_from_slice(&3u16.to_be_bytes());
                        out.extend([0x97, 0x01]);
                    }
                    _ => {
                        let handled = server.lock().unwrap().handle_tcp(&adu, &mut out);
                        assert_eq!(handled, Handled::Reply);
                    }
                }
                stream.write_all(&out).await.unwrap();
            }
        });
        (address, seen, core)
    }

    fn held_wset(core: &Mutex<Server<SimulatedDevice>>) -> Option<f64> {
        core.lock()
            .unwrap()
            .registers()
            .scaled("64901.WSet")
            .unwrap()
    }

    /// Two setpoints written and read back through a hub that treats 0x17 as `read_write` does; each must be
    /// read back and held. Returns the function codes the hub was sent, in order.
    async fn two_setpoints(read_write: ReadWrite) -> Vec<u8> {
        let (address, seen, core) = hub(read_write).await;
        let mut hub = SunSpecDevice::open(&address, 1).await.unwrap();
        seen.lock().unwrap().clear();
        for wset in [1500.0, -2500.0] {
            let model = hub
                .write_and_read(HUB_MODEL, &[("WSet", wset)])
                .await
                .unwrap();
            assert_eq!(scaled(model, "WSet"), Some(wset));
            assert_eq!(held_wset(&core), Some(wset));
        }
        seen.lock().unwrap().clone()
    }

    #[tokio::test]
    async fn a_setpoint_and_the_model_read_back_go_as_one_read_write_request() {
        assert_eq!(two_setpoints(ReadWrite::Served).await, [0x17, 0x17]);
    }

    #[tokio::test]
    async fn a_device_that_refuses_read_write_gets_a_write_then_a_read_from_then_on() {
        assert_eq!(
            two_setpoints(ReadWrite::Refused).await,
            [0x17, 0x10, 0x03, 0x10, 0x03]
        );
    }

    #[tokio::test]
    async fn a_device_that_never_answered_read_write_is_not_asked_it_again() {
        let (address, seen, core) = hub(ReadWrite::Ignored).await;
        let mut hub = SunSpecDevice::open(&address, 1).await.unwrap();
        hub.set_timeout(std::time::Duration::from_millis(200));
        seen.lock().unwrap().clear();
        let first = hub.write_and_read(HUB_MODEL, &[("WSet", 1500.0)]).await;
        assert!(first.is_err(), "an unanswered request is an error");
        assert_eq!(held_wset(&core), Some(0.0), "nothing was written");
        let model = hub
            .write_and_read(HUB_MODEL, &[("WSet", 1500.0)])
            .await
            .unwrap();
        assert_eq!(scaled(model, "WSet"), Some(1500.0));
        assert_eq!(*seen.lock().unwrap(), [0x17, 0x10, 0x03]);
    }
}
