//! The device link (feature `devices`): the cell's interface device (Table 3) and its connection meter, wired
//! to a running agent — setpoints in; command results, interval measurements (UC-08) and the stored energy
//! out ([`DeviceReport`]). The interface device is one of:
//! - an energy hub over Modbus/SunSpec (model 64901) that holds the connection at the setpoint itself
//!   (`ConnCtl`, NG-P1) where it has a connection sensor, or whose storage the [`ConnectionController`]
//!   drives to hold it;
//! - an energy router over IEC 104 (NG-R6), whose port toward the cell carries the setpoint;
//! - a DER behind an IEEE 2030.5 server, capped at the setpoint's export by `DERControl` events;
//!
//! and the meter is a SunSpec meter (model 203) over Modbus or the IDEA smart meter over IEC 104.

use super::der_link::DerControls;
use super::iec104_link::{Iec104Meter, RouterActuator};
use super::sunspec::{HubActuator, SunSpecDevice};
use super::{ConnectionController, IntervalMeter};
use crate::runtime::{Clock, DeviceReport};
use idea_proto::{CellId, MeterId, SetpointCommand};
use std::net::SocketAddr;
use tokio::sync::mpsc;

/// The device through which the agent acts on its cell's connection (Table 3).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum InterfaceDevice {
    /// An energy hub, HOST:PORT over Modbus TCP (SunSpec 64901): its storage holds the connection.
    Hub {
        /// Where it answers.
        address: String,
        /// Its Modbus unit.
        unit: u8,
    },
    /// An energy router over IEC 104 (NG-R6): its port `port` (1.., toward the cell) carries the setpoint,
    /// never more than `max_w` either way.
    Router {
        /// The controlled station.
        address: SocketAddr,
        /// The router's port toward the cell.
        port: u8,
        /// The most the port is commanded, W (the cell's connection limit).
        max_w: f64,
        /// Link parameters, reconnection, TLS.
        config: iec104::net::ClientConfig,
    },
    /// A DER behind an IEEE 2030.5 server (`DERControl` events capping its active power).
    Der(DerControls),
}

/// The meter at the cell's connection.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ConnectionMeter {
    /// A SunSpec meter (model 203), HOST:PORT over Modbus TCP.
    SunSpec {
        /// Where it answers.
        address: String,
        /// Its Modbus unit.
        unit: u8,
    },
    /// The IDEA smart meter over IEC 104 (`iec104::profile::Profile::smart_meter`).
    Iec104 {
        /// The controlled station.
        address: SocketAddr,
        /// Link parameters, reconnection, TLS.
        config: iec104::net::ClientConfig,
    },
}

/// Where the cell's devices are.
#[derive(Debug, Clone)]
pub struct CellLinkConfig {
    /// The interface device.
    pub interface: InterfaceDevice,
    /// The meter at the cell's connection point.
    pub meter: ConnectionMeter,
    /// Real time between control steps.
    pub period: std::time::Duration,
    /// The cell.
    pub cell: CellId,
    /// The connection meter's id (named in measurement reports).
    pub meter_id: MeterId,
}

/// One reading of the connection meter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct MeterSample {
    /// Active power into the cell, W.
    pub import_w: f64,
    /// Energy imported so far, Wh.
    pub import_wh: f64,
    /// Energy exported so far, Wh.
    pub export_wh: f64,
}

pub(crate) fn link_error(what: &str, e: impl std::fmt::Display) -> crate::Error {
    crate::Error::Link(format!("{what}: {e}"))
}

/// How long after a failed step the interface device is tried again.
pub const DEVICE_RETRY: idea_proto::Duration = idea_proto::Duration::from_secs(60);

/// The interface device, open.
enum Actuator {
    Hub(HubActuator),
    Router(RouterActuator),
    Der(DerControls),
}

/// The connection meter, open.
enum Meter {
    SunSpec(SunSpecDevice),
    Iec104(Iec104Meter),
}

impl Meter {
    async fn sample(&mut self) -> crate::Result<MeterSample> {
        match self {
            Meter::SunSpec(m) => m.sample().await,
            Meter::Iec104(m) => m.sample().await,
        }
    }
}

/// Opens the interface device; the controller's storage bounds are the hub's rates (none otherwise).
async fn open_actuator(device: InterfaceDevice) -> crate::Result<(Actuator, ConnectionController)> {
    Ok(match device {
        InterfaceDevice::Hub { address, unit } => {
            let (hub, charge, discharge) = HubActuator::open(&address, unit).await?;
            (
                Actuator::Hub(hub),
                ConnectionController::new(charge, discharge),
            )
        }
        InterfaceDevice::Router {
            address,
            port,
            max_w,
            config,
        } => (
            Actuator::Router(RouterActuator::open(address, port, max_w, config).await?),
            ConnectionController::new(0.0, 0.0),
        ),
        InterfaceDevice::Der(controls) => {
            (Actuator::Der(controls), ConnectionController::new(0.0, 0.0))
        }
    })
}

/// The cell's devices, open: what [`CellLink::run`] drives.
pub struct CellLink {
    actuator: Actuator,
    controller: ConnectionController,
    meter: Meter,
    intervals: IntervalMeter,
    period: std::time::Duration,
    cell: CellId,
    last_sample: Option<MeterSample>,
    failure: Option<String>,
    /// When the interface device that did not answer is tried again.
    retry_at: Option<idea_proto::Timestamp>,
}

impl std::fmt::Debug for CellLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CellLink")
            .field("cell", &self.cell)
            .field("period", &self.period)
            .finish_non_exhaustive()
    }
}

impl CellLink {
    /// Connects to the interface device and the meter (scanning SunSpec maps, starting IEC 104 data
    /// transfer and interrogating), so that a device that cannot be reached is known at start.
    ///
    /// # Errors
    /// [`crate::Error::Link`] when a device cannot be reached, scanned or interrogated.
    pub async fn open(config: CellLinkConfig) -> crate::Result<CellLink> {
        let (actuator, controller) = open_actuator(config.interface).await?;
        let meter = match config.meter {
            ConnectionMeter::SunSpec { address, unit } => {
                Meter::SunSpec(SunSpecDevice::open(&address, unit).await?)
            }
            ConnectionMeter::Iec104 { address, config } => {
                Meter::Iec104(Iec104Meter::open(address, config).await?)
            }
        };
        Ok(CellLink {
            actuator,
            controller,
            meter,
            intervals: IntervalMeter::new(config.cell.clone(), config.meter_id),
            period: config.period,
            cell: config.cell,
            last_sample: None,
            failure: None,
            retry_at: None,
        })
    }

    /// Runs the link until `commands` closes or `reports` is dropped: each setpoint is handed to the
    /// interface device ([`CellLink::command_at`]), and every period the link is stepped
    /// ([`CellLink::step_at`]) at the clock's time.
    pub async fn run(
        mut self,
        mut commands: mpsc::Receiver<SetpointCommand>,
        reports: mpsc::Sender<DeviceReport>,
        clock: Clock,
    ) {
        let mut tick = tokio::time::interval(self.period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let out = tokio::select! {
                command = commands.recv() => {
                    let Some(command) = command else { return };
                    vec![self.command_at(&command, clock.now()).await]
                }
                _ = tick.tick() => self.step_at(clock.now()).await,
            };
            for report in out {
                if reports.send(report).await.is_err() {
                    return;
                }
            }
        }
    }

    /// Hands `command` to the interface device at `now` (a device that refuses it is the command failing):
    /// the command's result, for the agent. What a caller that owns simulated time drives in lockstep.
    pub async fn command_at(
        &mut self,
        command: &SetpointCommand,
        now: idea_proto::Timestamp,
    ) -> DeviceReport {
        let result = match &mut self.actuator {
            Actuator::Hub(hub) => hub.accept().await,
            Actuator::Router(router) => router.accept().await,
            Actuator::Der(der) => der.post(command, now).map(|_| ()),
        };
        if result.is_ok() {
            self.controller.command(command);
            self.intervals.expect(command);
        }
        DeviceReport::CommandResult {
            id: command.transaction_id,
            result,
        }
    }

    /// One period at `now`: the meter read, the intervals that ended reported, the device stepped (the hub's
    /// storage, the router's port) and the stored energy, where there is storage, reported. A step that
    /// fails is logged (and, with [`CellLink::last_failure`], kept); the device is tried again
    /// [`DEVICE_RETRY`] later (the meter is still read every period).
    pub async fn step_at(&mut self, now: idea_proto::Timestamp) -> Vec<DeviceReport> {
        let mut reports = Vec::new();
        let sample = match self.meter.sample().await {
            Ok(s) => s,
            Err(e) => {
                log::warn!("{}: {e}", self.cell);
                self.failure = Some(e.to_string());
                return reports;
            }
        };
        self.last_sample = Some(sample);
        reports.extend(
            self.intervals
                .reading(now, sample.import_wh, sample.export_wh)
                .into_iter()
                .map(DeviceReport::Measurement),
        );
        // A device that did not answer is tried again after DEVICE_RETRY, not every period: a silent
        // device costs a timeout a minute, not one a period.
        if self.retry_at.is_some_and(|at| now < at) {
            return reports;
        }
        let stepped = match &mut self.actuator {
            Actuator::Hub(hub) => {
                match hub.step(&mut self.controller, now, sample.import_w).await {
                    Ok(()) => match hub.stored_wh().await {
                        Some(stored) => {
                            reports.push(DeviceReport::StoredEnergy(stored));
                            Ok(())
                        }
                        None => Err(link_error(
                            self.cell.as_ref(),
                            "the hub's storage did not answer",
                        )),
                    },
                    Err(e) => Err(e),
                }
            }
            Actuator::Router(router) => {
                router
                    .step(&mut self.controller, now, sample.import_w)
                    .await
            }
            Actuator::Der(_) => {
                self.controller.update(now, sample.import_w);
                Ok(())
            }
        };
        self.failure = stepped.as_ref().err().map(ToString::to_string);
        self.retry_at = match &stepped {
            Ok(()) => None,
            Err(e) => {
                log::warn!("{}: {e}", self.cell);
                now.checked_add(DEVICE_RETRY).ok()
            }
        };
        reports
    }

    /// Whether the link must be stepped at `now` for the cell's connection to be held: always where the link
    /// closes the loop itself; where the hub holds the connection (NG-P1), only when the setpoint in force
    /// changed since the hub was told, or a device that failed is to be tried again. A caller that owns
    /// simulated time steps such a link only then — and whenever it wants readings.
    pub fn due(&self, now: idea_proto::Timestamp) -> bool {
        match &self.actuator {
            Actuator::Hub(hub) if hub.holds() => {
                hub.behind(&self.controller, now) || self.retry_at.is_some_and(|at| at <= now)
            }
            _ => true,
        }
    }

    /// How long the link waits for each answer of its hub and SunSpec meter (1 s unless set): a demanding
    /// deployment on a fast network waits less, so a silent device is noticed sooner.
    pub fn set_request_timeout(&mut self, timeout: std::time::Duration) {
        if let Actuator::Hub(hub) = &mut self.actuator {
            hub.set_timeout(timeout);
        }
        if let Meter::SunSpec(m) = &mut self.meter {
            m.set_timeout(timeout);
        }
    }

    /// The connection meter's last reading: power into the cell (W), energy imported and exported so far
    /// (Wh).
    pub fn last_reading(&self) -> Option<(f64, f64, f64)> {
        self.last_sample
            .map(|s| (s.import_w, s.import_wh, s.export_wh))
    }

    /// The setpoint in force at `now` (net export at the connection, W), if any.
    pub fn setpoint_at(&self, now: idea_proto::Timestamp) -> Option<f64> {
        self.controller.target(now)
    }

    /// Why the last step could not read the meter or drive the device, if it could not.
    pub fn last_failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }
}

/// Opens the link ([`CellLink::open`]) and runs it ([`CellLink::run`]) until `commands` closes or `reports`
/// is dropped.
///
/// # Errors
/// [`crate::Error::Link`] when a device cannot be reached or scanned at start.
pub async fn run_cell_link(
    config: CellLinkConfig,
    commands: mpsc::Receiver<SetpointCommand>,
    reports: mpsc::Sender<DeviceReport>,
    clock: Clock,
) -> crate::Result<()> {
    CellLink::open(config)
        .await?
        .run(commands, reports, clock)
        .await;
    Ok(())
}
