//! One prosumer cell of the complex as the conductor drives it: its agent (the sans-IO core of `idea-agent`),
//! the agent's link to the cell's energy hub and connection meter over Modbus/SunSpec (`CellLink`, stepped
//! in lockstep), and the meter's gateway to the TE node, reading the meter over its own Modbus connection and
//! signing readings and delivery tokens.

use crate::error::Result;
use crate::trader::Measured;
use idea_agent::Agent;
use idea_agent::device::MeterGateway;
use idea_agent::device::gateway_link::MeterRegisters;
use idea_agent::device::link::{CellLink, CellLinkConfig, ConnectionMeter, InterfaceDevice};
use idea_agent::runtime::DeviceReport;
use idea_proto::{CellId, MeterId, Timestamp};

/// A cell of the complex, running.
pub(crate) struct Cell {
    /// Its bus in the model (`cell1`…).
    pub(crate) bus: String,
    /// Its agent's ACL name (`cell-1@idea`).
    pub(crate) name: String,
    /// The meter gateway's name at the TE node.
    pub(crate) gateway_name: String,
    pub(crate) agent: Agent,
    pub(crate) link: CellLink,
    pub(crate) gateway: MeterGateway,
    pub(crate) registers: MeterRegisters,
    /// The stored energy the hub last reported, Wh.
    pub(crate) stored_wh: Option<i64>,
    /// At the last period boundary: the meter's net import so far and the stored energy, Wh.
    boundary: Option<(f64, f64)>,
    /// Whether the owner has asked the load-shedding service to shed (and not yet to restore).
    pub(crate) shed: bool,
    /// What the meter gateway signed and has yet to submit.
    pub(crate) gateway_out: Vec<idea_agent::TeSubmission>,
}

impl std::fmt::Debug for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cell")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Cell {
    /// Opens the cell's devices: the link to its hub and meter, and the gateway's own meter connection.
    pub(crate) async fn open(
        bus: &str,
        agent: Agent,
        hub: &str,
        meter: &str,
        gateway: MeterGateway,
    ) -> Result<Cell> {
        let settings = agent.settings();
        let cell = settings.cell.id.clone();
        let meter_id = MeterId::new(format!("{bus}.meter"))?;
        let link = CellLink::open(CellLinkConfig {
            interface: InterfaceDevice::Hub {
                address: hub.to_owned(),
                unit: 1,
            },
            meter: ConnectionMeter::SunSpec {
                address: meter.to_owned(),
                unit: 1,
            },
            period: std::time::Duration::from_secs(1),
            cell: CellId::new(cell.as_str())?,
            meter_id,
        })
        .await
        .map_err(|e| crate::error::no_answer(format!("{bus}'s devices: {e}")))?;
        let registers = MeterRegisters::open(meter, 1)
            .await
            .map_err(|e| crate::error::no_answer(format!("{bus}'s meter gateway: {e}")))?;
        let name = agent.me().name.clone();
        Ok(Cell {
            bus: bus.to_owned(),
            gateway_name: format!("gateway-{bus}"),
            name,
            agent,
            link,
            gateway,
            registers,
            stored_wh: None,
            boundary: None,
            gateway_out: Vec::new(),
            shed: false,
        })
    }

    /// One control period at `now`: the link steps (meter read, hub driven) and the agent hears what it
    /// reported.
    pub(crate) async fn step(&mut self, now: Timestamp) {
        for report in self.link.step_at(now).await {
            self.report(report, now);
        }
    }

    /// Hands a device report to the agent.
    pub(crate) fn report(&mut self, report: DeviceReport, now: Timestamp) {
        let outcome = match report {
            DeviceReport::CommandResult { id, result } => {
                self.agent.handle_command_result(&id, result, now)
            }
            DeviceReport::Measurement(m) => self.agent.handle_measurement(&m, now),
            DeviceReport::StoredEnergy(wh) => {
                self.stored_wh = Some(wh);
                self.agent.handle_stored_energy(wh, now);
                Ok(())
            }
            _ => Ok(()),
        };
        if let Err(e) = outcome {
            self.agent
                .handle_undecodable(&format!("device report: {e}"), now);
        }
    }

    /// The setpoint its link holds the connection at now (net export, W), if any.
    pub(crate) fn link_setpoint(&self, now: Timestamp) -> Option<i64> {
        // A cell's setpoint in watts: far inside i64.
        #[allow(clippy::cast_possible_truncation)]
        self.link.setpoint_at(now).map(|w| w.round() as i64)
    }

    /// At a period boundary: what the period just ended measured (none at the first boundary, or while the
    /// devices have not answered).
    pub(crate) fn period_ended(&mut self, capacity_wh: f64, period_s: u32) -> Option<Measured> {
        let (_, import_wh, export_wh) = self.link.last_reading()?;
        // Watt-hours stored in one hub: exact in an f64.
        #[allow(clippy::cast_precision_loss)]
        let stored = self.stored_wh? as f64;
        let net = import_wh - export_wh;
        let previous = self.boundary.replace((net, stored));
        let (net_before, stored_before) = previous?;
        Some(Measured {
            import_wh: net - net_before,
            storage_wh: stored_before - stored,
            stored_wh: stored,
            capacity_wh,
            period_s,
        })
    }
}
