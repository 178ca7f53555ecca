//! Faults the demonstration injects (`idea demo --fault NAME`, `--list-faults`), each in the scenario it
//! belongs to, with its written expected outcome — what the run then checks, beside every check the fault
//! should not disturb.

use crate::error::{Result, usage};
use crate::report::{Check, TradeRecord};
use crate::scenario::Scenario;
use idea_proto::Timestamp;

/// A fault and where it strikes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// From halfway through S1's trading, cell-4's agent stops countersigning: its countersigned contracts
    /// never reach the TE node.
    CounterpartySilent,
    /// In S1's trading, cell-3's meter gateway submits no reading for 30 minutes.
    MeterMissing,
    /// An hour into S2, cell-2's PV inverter trips: its array gives nothing for the rest of the run.
    PvDrop,
    /// In S1's trading, cell-3's energy hub stops answering over Modbus for 30 minutes.
    DeviceSilent,
    /// In S1's trading, cell-2's agent loses its connections to the MQTT broker for 30 minutes.
    MqttLost,
}

/// The cell whose hub the device-silent fault silences.
pub(crate) const SILENT_HUB_CELL: &str = "cell3";

/// The agent whose broker connections the mqtt-lost fault cuts.
pub(crate) const CUT_AGENT: &str = "cell-2@idea";

/// The cell (its bus) whose meter gateway the meter-missing fault silences.
pub(crate) const MISSING_METER_CELL: &str = "cell3";

/// The cell that stops countersigning in the counterparty-silent fault: its bus, its id and its agent.
pub(crate) const SILENT_COUNTERPARTY_BUS: &str = "cell4";
const SILENT_COUNTERPARTY: &str = "cell-4";
const SILENT_COUNTERPARTY_AGENT: &str = "cell-4@idea";

/// What each fault is, where it strikes and what the run must show.
pub const FAULTS: [(Fault, &str, &str, &str); 5] = [
    (
        Fault::DeviceSilent,
        "device-silent",
        "S1: cell-3's energy hub stops answering over Modbus for 30 minutes of the trading",
        "the agent's setpoint for the interval is not taken: its transaction fails with the device's reason \
         and its commitment is released (safe degradation: the connection is left to itself); the contract \
         stays on record and settles on what the meter measured, with a discrepancy where that fell outside \
         the band; every other check passes",
    ),
    (
        Fault::CounterpartySilent,
        "counterparty-silent",
        "S1: from halfway through the trading, cell-4's agent stops countersigning its contracts",
        "nothing with cell-4 is recorded after it falls silent; the sellers' agreed transactions with it \
         expire and their commitments are released; nothing is settled or paid for them; the other cells go \
         on trading and every other check passes",
    ),
    (
        Fault::MeterMissing,
        "meter-missing",
        "S1: cell-3's meter gateway submits no reading for 30 minutes of the trading",
        "the intervals whose boundaries fall in the gap are settled on tokens estimated from the readings \
         around it (flagged estimated, TE-04), within the interpolation's reach of what the meter counted; \
         every contract still settles and every other check passes",
    ),
    (
        Fault::MqttLost,
        "mqtt-lost",
        "S1: cell-2's agent loses its connections to the MQTT broker for 30 minutes of the trading",
        "what is sent to cell-2 and what it puts out while cut off is lost (counted, both ways); no contract \
         with cell-2 is agreed while it is cut off, and conversations the others had open with it expire; \
         its devices, reached over Modbus, keep holding what it contracted before; once reconnected it \
         trades again; every contract settles and every other check passes",
    ),
    (
        Fault::PvDrop,
        "pv-drop",
        "S2: an hour in, cell-2's PV inverter trips and its array gives nothing for the rest of the run",
        "the island holds and its frequency still meets the hub's norms; the loss shows in cell-2's \
         generation; the load-shedding service opens loads as the storage runs low; every other check passes",
    ),
];

impl Fault {
    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        FAULTS.iter().find(|f| f.0 == self).map_or("", |f| f.1)
    }

    /// The fault named `name`.
    ///
    /// # Errors
    /// [`crate::Error::Usage`] for a name that is not a fault.
    pub fn from_name(name: &str) -> Result<Fault> {
        FAULTS
            .iter()
            .find(|f| f.1.eq_ignore_ascii_case(name))
            .map(|f| f.0)
            .ok_or_else(|| {
                usage(
                    "--fault",
                    format!("{name}: one of {}", FAULTS.map(|f| f.1).join(", ")),
                )
            })
    }

    /// The scenario it strikes in.
    pub fn scenario(self) -> Scenario {
        match self {
            Fault::CounterpartySilent
            | Fault::MeterMissing
            | Fault::DeviceSilent
            | Fault::MqttLost => Scenario::S1,
            Fault::PvDrop => Scenario::S2,
        }
    }

    /// When it strikes and until when (`None`: to the end), given the scenario's start, end and first
    /// trading instant.
    pub(crate) fn window(
        self,
        start: Timestamp,
        end: Timestamp,
        trading_from: Timestamp,
    ) -> (Timestamp, Option<Timestamp>) {
        let mid = |a: Timestamp, b: Timestamp| {
            let half = b.duration_since(a).map_or(0, |d| d.as_ms() / 2);
            a.checked_add(idea_proto::Duration::from_ms(half))
                .unwrap_or(a)
        };
        let plus = |t: Timestamp, mins: u64| {
            t.checked_add(idea_proto::Duration::from_mins(mins))
                .unwrap_or(t)
        };
        match self {
            Fault::CounterpartySilent => (mid(trading_from, end), None),
            Fault::MeterMissing => {
                let from = plus(trading_from, 20);
                (from, Some(plus(from, 30)))
            }
            Fault::DeviceSilent => {
                let from = plus(trading_from, 25);
                (from, Some(plus(from, 30)))
            }
            Fault::MqttLost => {
                let from = plus(trading_from, 10);
                (from, Some(plus(from, 30)))
            }
            Fault::PvDrop => (plus(start, 60), None),
        }
    }
}

/// What the run saw of the fault.
#[derive(Debug, Clone, Default)]
pub(crate) struct Observed {
    /// When it struck.
    pub(crate) from: Option<Timestamp>,
    /// Until when (none: to the end).
    pub(crate) until: Option<Timestamp>,
    /// Agents' events that bear on it: (agent, what, counterparty).
    pub(crate) events: Vec<(String, String, Option<String>)>,
    /// Submissions the fault swallowed.
    pub(crate) swallowed: usize,
    /// Readings the fault swallowed.
    pub(crate) readings_missed: usize,
    /// Messages lost to and from a party cut off the broker.
    pub(crate) messages_lost: usize,
}

/// The fault's expected outcome, checked.
pub(crate) fn check(
    fault: Fault,
    seen: &Observed,
    trades: &[TradeRecord],
    settlements: &[te_contract::settlement::DeliveryCheck],
    cell_generation_after: Option<f64>,
    shed: usize,
) -> Check {
    let name = format!("fault-{}", fault.name());
    let from = seen.from;
    let (passed, detail) = match fault {
        Fault::CounterpartySilent => {
            let after: Vec<&TradeRecord> = trades
                .iter()
                .filter(|t| t.seller == SILENT_COUNTERPARTY || t.buyer == SILENT_COUNTERPARTY)
                .filter(|t| from.is_some_and(|f| t.start > f))
                .collect();
            let expired = seen
                .events
                .iter()
                .filter(|(agent, what, with)| {
                    agent != SILENT_COUNTERPARTY_AGENT
                        && what == "expired"
                        && with.as_deref() == Some(SILENT_COUNTERPARTY_AGENT)
                })
                .count();
            let released = seen
                .events
                .iter()
                .filter(|(agent, what, _)| {
                    agent != SILENT_COUNTERPARTY_AGENT && what == "commitment-released"
                })
                .count();
            let others = trades
                .iter()
                .filter(|t| t.seller != SILENT_COUNTERPARTY && t.buyer != SILENT_COUNTERPARTY)
                .filter(|t| from.is_some_and(|f| t.start > f))
                .count();
            (
                after.is_empty() && seen.swallowed > 0 && expired > 0 && released > 0,
                format!(
                    "{} countersigned contracts swallowed; {} recorded with cell-4 after it fell silent; {expired} agreed transactions with it expired at their sellers, {released} commitments released; {others} contracts among the others after it",
                    seen.swallowed,
                    after.len()
                ),
            )
        }
        Fault::MeterMissing => {
            let estimated: Vec<&te_contract::settlement::DeliveryCheck> =
                settlements.iter().filter(|s| s.estimated).collect();
            let unsettled = trades.iter().filter(|t| t.amount_minor.is_none()).count();
            (
                seen.readings_missed > 0 && !estimated.is_empty() && unsettled == 0,
                format!(
                    "{} readings missed; {} settled intervals rest on estimated tokens; {unsettled} contracts unsettled",
                    seen.readings_missed,
                    estimated.len()
                ),
            )
        }
        Fault::DeviceSilent => {
            let failed = seen
                .events
                .iter()
                .filter(|(agent, what, _)| agent == "cell-3@idea" && what == "failed")
                .count();
            let released = seen
                .events
                .iter()
                .filter(|(agent, what, _)| agent == "cell-3@idea" && what == "commitment-released")
                .count();
            let unsettled = trades.iter().filter(|t| t.amount_minor.is_none()).count();
            (
                failed > 0 && released > 0 && unsettled == 0,
                format!(
                    "cell-3's transactions failed on its silent hub: {failed}, commitments released: {released}; {unsettled} contracts unsettled"
                ),
            )
        }
        Fault::MqttLost => {
            let with_cut = |t: &&TradeRecord| t.seller == "cell-2" || t.buyer == "cell-2";
            let until = seen.until;
            // Agreed while cut off: delivered in a period whose gate closed in the outage.
            let during = trades
                .iter()
                .filter(with_cut)
                .filter(|t| {
                    from.is_some_and(|f| t.start > f) && until.is_some_and(|u| t.start <= u)
                })
                .count();
            let after = trades
                .iter()
                .filter(with_cut)
                .filter(|t| until.is_some_and(|u| t.start > u))
                .count();
            let expired = seen
                .events
                .iter()
                .filter(|(agent, what, with)| {
                    agent != CUT_AGENT && what == "expired" && with.as_deref() == Some(CUT_AGENT)
                })
                .count();
            let unsettled = trades.iter().filter(|t| t.amount_minor.is_none()).count();
            (
                seen.messages_lost > 0 && during == 0 && after > 0 && unsettled == 0,
                format!(
                    "{} messages lost to and from cell-2 while cut off; {during} contracts with it agreed then; {expired} conversations with it expired at the others; {after} contracts with it after it reconnected; {unsettled} contracts unsettled",
                    seen.messages_lost
                ),
            )
        }
        Fault::PvDrop => {
            let dark = cell_generation_after.is_some_and(|g| g < 1.0);
            (
                dark && shed > 0,
                format!(
                    "cell-2's generation after the trip: {:.1} Wh; {shed} loads shed at the end",
                    cell_generation_after.unwrap_or(f64::NAN)
                ),
            )
        }
    };
    Check::new(&name, fault.scenario().requirement(), passed, detail)
}
