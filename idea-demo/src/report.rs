//! What a run reports, as data: per scenario, per settlement interval, per cell — what `--json FILE` writes
//! and what the terminal and the live page show. Everything in it follows from the seed and the options, so
//! two runs write the same bytes; only [`RunReport::timing`] holds wall-clock figures.

use crate::plant::{CellPhysics, SystemPhysics};
use idea_proto::Timestamp;

/// One run of `idea demo`: its scenarios in order.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RunReport {
    /// The seed every identity and cloud was drawn from.
    pub seed: u64,
    /// Each scenario run.
    pub scenarios: Vec<ScenarioReport>,
    /// Whether every check of every scenario passed.
    pub passed: bool,
    /// Wall-clock figures (the one part that differs between two runs of the same seed).
    pub timing: Timing,
}

/// How long the run took in real time.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Timing {
    /// Per scenario: its name and the seconds it took.
    pub scenarios_s: Vec<(String, f64)>,
    /// Simulated seconds per real second, over the whole run.
    pub speedup: f64,
    /// Per scenario: where its time went — each phase of the conductor's loop with its seconds, the
    /// longest first.
    pub phases_s: Vec<(String, Vec<(String, f64)>)>,
}

/// One scenario's run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ScenarioReport {
    /// `s1`, `s2` or `s3`.
    pub scenario: String,
    /// What it shows, in a sentence.
    pub title: String,
    /// The requirement it demonstrates (`DEMO-S1`…).
    pub requirement: String,
    /// Simulated start and end.
    pub start: Timestamp,
    /// Simulated end.
    pub end: Timestamp,
    /// The cells taking part, by cell id.
    pub cells: Vec<String>,
    /// Each settlement interval.
    pub intervals: Vec<IntervalRecord>,
    /// Each contract recorded by the TE node, with what its settlement came to.
    pub trades: Vec<TradeRecord>,
    /// Each cell's money at the TE node.
    pub money: Vec<CellMoney>,
    /// The ledger at the end.
    pub ledger: LedgerSummary,
    /// Messages carried over the broker (FIPA-ACL and TE).
    pub messages: u64,
    /// The checks and their verdicts.
    pub checks: Vec<Check>,
    /// Whether every check passed.
    pub passed: bool,
}

/// One settlement interval of a scenario.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct IntervalRecord {
    /// Its start.
    pub start: Timestamp,
    /// `without-transactions` or `with-transactions`.
    pub phase: String,
    /// What the complex did in it.
    pub system: SystemPhysics,
    /// The router as the operator read it over IEC 104 at the interval's end.
    pub router: crate::operator::RouterReading,
    /// The loads shed at the interval's end (their relays open).
    pub shed: Vec<String>,
    /// What each cell did in it.
    pub cells: Vec<CellInterval>,
}

/// One cell in one interval.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CellInterval {
    /// The cell id.
    pub cell: String,
    /// What it did physically.
    #[serde(flatten)]
    pub physics: CellPhysics,
    /// The setpoint its agent commanded at its connection for the interval (net export, W), if any.
    pub setpoint_w: Option<i64>,
}

/// One contract and its settlement.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TradeRecord {
    /// The contract id.
    pub id: String,
    /// The selling cell.
    pub seller: String,
    /// The buying cell.
    pub buyer: String,
    /// The interval delivered.
    pub start: Timestamp,
    /// Energy contracted, Wh.
    pub contracted_wh: i64,
    /// The price, minor units per kWh.
    pub price_minor_per_kwh: i64,
    /// Energy the seller's meter verified, Wh (once settled).
    pub delivered_wh: Option<i64>,
    /// What the buyer paid the seller net of the penalty, minor units (once settled).
    pub amount_minor: Option<i64>,
    /// The penalty inside it, minor units.
    pub penalty_minor: Option<i64>,
}

/// A cell's money at the TE node.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CellMoney {
    /// The cell id.
    pub cell: String,
    /// Its wallet at the start, minor units.
    pub opening_minor: i64,
    /// Its wallet at the end.
    pub closing_minor: i64,
    /// What its settled intervals came to (positive: it received), minor units.
    pub settled_minor: i64,
}

/// The ledger of a scenario, verified read-only at the end.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct LedgerSummary {
    /// Entries in the chain.
    pub entries: u64,
    /// Signatures checked.
    pub signatures: u64,
    /// Settlement records.
    pub settlements: u64,
    /// Clearing runs.
    pub clearings: u64,
    /// The head, `SEQ:HASH`.
    pub head: String,
    /// What `idea ledger verify` needs besides the file: the deployment, the registrar's avatar (32 hex
    /// digits) and public key (64 hex digits), and the registry's genesis.
    pub deployment: String,
    /// The registrar's avatar.
    pub registrar: String,
    /// The registrar's public key.
    pub registrar_key: String,
    /// The registry's genesis.
    pub genesis: String,
}

/// A self-check of a scenario and its verdict.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Check {
    /// Its name, kebab-case (`energy-balance`…).
    pub name: String,
    /// The requirement it checks (`DEMO-S1`, `TE-04`…).
    pub requirement: String,
    /// Passed.
    pub passed: bool,
    /// What was found, for a person.
    pub detail: String,
}

impl Check {
    pub(crate) fn new(name: &str, requirement: &str, passed: bool, detail: String) -> Check {
        Check {
            name: name.to_owned(),
            requirement: requirement.to_owned(),
            passed,
            detail,
        }
    }
}

/// Rounds to a tenth (of a Wh, a W): the report's figures, stable in text.
pub(crate) fn tenth(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Rounds to a thousandth (Hz, p.u., state of charge).
pub(crate) fn thousandth(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The physics of a cell, rounded for the report.
pub(crate) fn rounded_cell(p: &CellPhysics) -> CellPhysics {
    CellPhysics {
        generation_wh: tenth(p.generation_wh),
        load_wh: tenth(p.load_wh),
        storage_wh: tenth(p.storage_wh),
        import_wh: tenth(p.import_wh),
        export_wh: tenth(p.export_wh),
        soc: thousandth(p.soc),
        peak_import_w: tenth(p.peak_import_w),
        peak_export_w: tenth(p.peak_export_w),
        peak_hub_w: tenth(p.peak_hub_w),
        voltage_pu: (thousandth(p.voltage_pu.0), thousandth(p.voltage_pu.1)),
    }
}

/// The physics of the complex, rounded for the report.
pub(crate) fn rounded_system(s: &SystemPhysics) -> SystemPhysics {
    SystemPhysics {
        network_wh: tenth(s.network_wh),
        generation_wh: tenth(s.generation_wh),
        load_wh: tenth(s.load_wh),
        storage_wh: tenth(s.storage_wh),
        losses_wh: tenth(s.losses_wh),
        residual_wh: thousandth(s.residual_wh),
        frequency_hz: (thousandth(s.frequency_hz.0), thousandth(s.frequency_hz.1)),
        voltage_pu: (thousandth(s.voltage_pu.0), thousandth(s.voltage_pu.1)),
        peak_router_w: tenth(s.peak_router_w),
        grid_connected: s.grid_connected,
    }
}
