//! The community's operator at the energy router: an IEC 60870-5-104 controlling station that reads the
//! router's flows, frequency and voltage by station interrogation (group 1, the energy-router profile's
//! `M_ME_NC_1` points) and switches it off the public network and back (`C_SC_NA_1` `set_enable`,
//! select-before-operate) — how scenario S2 isolates the complex.

use crate::error::{Result, no_answer};
use iec104::net::{Client, ClientConfig};
use iec104::{Asdu, Command, Element, Objects};
use std::net::SocketAddr;
use std::time::Duration;

/// The router profile's common address.
const COMMON_ADDRESS: u16 = 1;
/// The first IOA of the per-port active power, kW (port 0 faces the network).
const P_KW: u32 = 1000;
/// The frequency at the network port, Hz.
const FREQUENCY_HZ: u32 = 1201;
/// The router's enable state (M_SP_NA_1).
const ENABLED: u32 = 1301;
/// The enable command (C_SC_NA_1, select-before-operate).
const SET_ENABLE: u32 = 5001;
/// The mode command (C_SE_NB_1: 1–5 for NG-R1..R5).
const SET_MODE: u32 = 5000;
/// The first IOA of the per-port active-power limit, kW (C_SE_NC_1; port 0 faces the network).
const P_LIMIT_KW: u32 = 5300;
/// How long an answer may take.
const WITHIN: Duration = Duration::from_secs(10);

/// What the operator read from the router.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct RouterReading {
    /// Delivered into the network's side, kW (negative: taken from the network).
    pub network_kw: f64,
    /// Delivered into the common bus, kW.
    pub common_kw: f64,
    /// Frequency at the network port, Hz.
    pub frequency_hz: f64,
    /// Connected.
    pub enabled: bool,
}

/// The operator's connection to the router.
pub(crate) struct Operator {
    client: Client,
    /// The router's station measures the model when asked (after the conductor stepped it), so what the
    /// operator reads follows simulated time.
    measures: idea_sim::devices::MeasureOnDemand,
}

impl std::fmt::Debug for Operator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Operator").finish_non_exhaustive()
    }
}

fn float(e: &[Element]) -> Option<f64> {
    e.iter().find_map(|x| match x {
        Element::R32(bits) => Some(f64::from(f32::from_bits(*bits))),
        _ => None,
    })
}

impl Operator {
    /// Connects to the router's controlled station at `address` and starts data transfer.
    pub(crate) async fn open(
        address: SocketAddr,
        measures: idea_sim::devices::MeasureOnDemand,
    ) -> Result<Operator> {
        let config = ClientConfig {
            termination_wait: Duration::from_millis(200),
            ..ClientConfig::default()
        };
        let mut client = Client::connect(address, config)
            .map_err(|e| no_answer(format!("the router at {address}: {e}")))?;
        client
            .wait_started(WITHIN)
            .await
            .map_err(|e| no_answer(format!("the router at {address}: {e}")))?;
        Ok(Operator { client, measures })
    }

    /// Interrogates the router (general interrogation) and reads its flows, frequency and state.
    pub(crate) async fn read(&self) -> Result<RouterReading> {
        self.measures.measure().await?;
        let answers: Vec<Asdu> = self
            .client
            .interrogate(COMMON_ADDRESS, 20, WITHIN)
            .await
            .map_err(|e| no_answer(format!("the router's interrogation: {e}")))?;
        let mut r = RouterReading::default();
        for a in &answers {
            let Objects::Known(objects) = &a.objects else {
                continue;
            };
            for o in objects {
                match o.ioa {
                    ioa if ioa == P_KW => r.network_kw = float(&o.elements).unwrap_or(0.0),
                    ioa if ioa == P_KW.saturating_add(1) => {
                        r.common_kw = float(&o.elements).unwrap_or(0.0);
                    }
                    FREQUENCY_HZ => r.frequency_hz = float(&o.elements).unwrap_or(0.0),
                    ENABLED => {
                        r.enabled = o
                            .elements
                            .iter()
                            .any(|e| matches!(e, Element::Siq(v) if v & 1 == 1));
                    }
                    _ => {}
                }
            }
        }
        Ok(r)
    }

    /// Connects (`true`) or disconnects the router from the network: select, then execute.
    pub(crate) async fn set_enabled(&self, on: bool) -> Result<()> {
        for select in [true, false] {
            self.command(45, SET_ENABLE, if on { 1.0 } else { 0.0 }, select)
                .await?;
        }
        Ok(())
    }

    /// Puts the router in NG-R4 — flows both ways, the export into the network limited — with `limit_kw` as
    /// the network port's limit (`C_SE_NB_1` `set_mode`, `C_SE_NC_1` `p_limit_kw`): how a community of
    /// prosumers runs grid-connected, its surplus flowing out instead of the router giving up forming.
    pub(crate) async fn set_bidirectional(&self, limit_kw: f64) -> Result<()> {
        self.command(49, SET_MODE, 4.0, false).await?;
        self.command(50, P_LIMIT_KW, limit_kw, false).await
    }

    /// Sends one command (`type_id` at `ioa`, `select` for the select step) and waits for its confirmation.
    async fn command(&self, type_id: u8, ioa: u32, value: f64, select: bool) -> Result<()> {
        {
            let command = Command {
                type_id,
                common_address: COMMON_ADDRESS,
                ioa,
                value,
                select,
                qualifier: 0,
                time: None,
            };
            let asdu = command
                .to_asdu()
                .map_err(|e| crate::error::usage("router command", e.to_string()))?;
            let outcome = self
                .client
                .command(asdu, WITHIN)
                .await
                .map_err(|e| no_answer(format!("the router's command at IOA {ioa}: {e}")))?;
            if !outcome.confirmed {
                return Err(crate::Error::Refused(format!(
                    "the router refused {value} at IOA {ioa} ({})",
                    if select { "select" } else { "execute" }
                )));
            }
        }
        Ok(())
    }
}
