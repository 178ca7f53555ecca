//! The messages of the main use case: request (UC-01), answer and counter-proposal (UC-02, UC-03), setpoint
//! commands (UC-05, UC-09) and measurements (UC-08).

use super::{EnergyTransaction, PowerLevel, Terms};
use crate::error::Result;
use crate::{AgentId, CellId, Duration, Energy, Error, MeterId, Timestamp, TransactionId};
use serde::{Deserialize, Serialize};

/// The longest free-text reason, in bytes.
pub const MAX_REASON_LEN: usize = 1024;

pub(crate) fn check_reason(field: &str, reason: &str) -> Result<()> {
    if reason.len() > MAX_REASON_LEN {
        return Err(Error::invalid(
            field,
            format!("at most {MAX_REASON_LEN} bytes, not {}", reason.len()),
        ));
    }
    Ok(())
}

/// UC-01: the request that opens a transaction, to be answered by `reply_by`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TransactionRequest {
    /// The proposed transaction.
    pub proposal: EnergyTransaction,
    /// The agent that sends it.
    pub from_agent: AgentId,
    /// The deadline for an answer.
    pub reply_by: Timestamp,
}

/// The decision of an answer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "decision")]
pub enum Decision {
    /// The proposal is accepted as it stands (UC-02 → agreement).
    Accept,
    /// The proposal is refused.
    Reject {
        /// Why, at most [`MAX_REASON_LEN`] bytes.
        reason: String,
    },
    /// Other terms are proposed (UC-03).
    Counter {
        /// The counter-proposed terms.
        terms: Terms,
    },
}

/// UC-02 and UC-03: the answer to a request.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "AnswerFields", into = "AnswerFields")]
pub struct TransactionAnswer {
    transaction_id: TransactionId,
    from_agent: AgentId,
    decision: Decision,
}

#[derive(Serialize, Deserialize)]
struct AnswerFields {
    transaction_id: TransactionId,
    from_agent: AgentId,
    #[serde(flatten)]
    decision: Decision,
}

impl TransactionAnswer {
    /// An answer; a rejection reason is at most [`MAX_REASON_LEN`] bytes.
    pub fn new(
        transaction_id: TransactionId,
        from_agent: AgentId,
        decision: Decision,
    ) -> Result<TransactionAnswer> {
        if let Decision::Reject { reason } = &decision {
            check_reason("reject.reason", reason)?;
        }
        Ok(TransactionAnswer {
            transaction_id,
            from_agent,
            decision,
        })
    }

    /// The transaction answered.
    pub fn transaction_id(&self) -> TransactionId {
        self.transaction_id
    }

    /// The agent that answers.
    pub fn from_agent(&self) -> &AgentId {
        &self.from_agent
    }

    /// The decision.
    pub fn decision(&self) -> &Decision {
        &self.decision
    }

    /// The transaction this answer leads to: the proposal itself when accepted, the proposal with the counter
    /// terms (re-validated) when countered, `None` when rejected. An answer to another transaction is an error.
    pub fn apply_to(&self, proposal: &EnergyTransaction) -> Result<Option<EnergyTransaction>> {
        if proposal.id != self.transaction_id {
            return Err(Error::invalid(
                "transaction_id",
                format!(
                    "answers {} but the proposal is {}",
                    self.transaction_id, proposal.id
                ),
            ));
        }
        match &self.decision {
            Decision::Accept => Ok(Some(proposal.clone())),
            Decision::Reject { .. } => Ok(None),
            Decision::Counter { terms } => proposal.with_terms(terms.clone()).map(Some),
        }
    }
}

impl TryFrom<AnswerFields> for TransactionAnswer {
    type Error = Error;
    fn try_from(f: AnswerFields) -> Result<TransactionAnswer> {
        TransactionAnswer::new(f.transaction_id, f.from_agent, f.decision)
    }
}

impl From<TransactionAnswer> for AnswerFields {
    fn from(a: TransactionAnswer) -> AnswerFields {
        AnswerFields {
            transaction_id: a.transaction_id,
            from_agent: a.from_agent,
            decision: a.decision,
        }
    }
}

/// What a setpoint command does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CommandKind {
    /// UC-05: start executing the transaction.
    Start,
    /// UC-09: correct the setpoint while executing.
    Adjust,
    /// UC-09: complete the execution.
    Complete,
}

/// UC-05 and UC-09: a setpoint sent to a cell's control system for the span `from..until`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "SetpointCommandFields", into = "SetpointCommandFields")]
pub struct SetpointCommand(SetpointCommandFields);

/// The fields of a [`SetpointCommand`], before validation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SetpointCommandFields {
    /// The transaction being executed.
    pub transaction_id: TransactionId,
    /// The cell commanded.
    pub cell: CellId,
    /// Start, adjust or complete.
    pub kind: CommandKind,
    /// The power at the cell's connection.
    pub setpoint: PowerLevel,
    /// When the setpoint takes effect.
    pub from: Timestamp,
    /// When it lapses; after `from`.
    pub until: Timestamp,
}

impl SetpointCommand {
    /// Validates that `from` is before `until`.
    pub fn new(fields: SetpointCommandFields) -> Result<SetpointCommand> {
        if fields.from >= fields.until {
            return Err(Error::invalid(
                "until_unix_ms",
                format!("{} is not after {}", fields.until, fields.from),
            ));
        }
        Ok(SetpointCommand(fields))
    }
}

impl std::ops::Deref for SetpointCommand {
    type Target = SetpointCommandFields;
    fn deref(&self) -> &SetpointCommandFields {
        &self.0
    }
}

impl TryFrom<SetpointCommandFields> for SetpointCommand {
    type Error = Error;
    fn try_from(f: SetpointCommandFields) -> Result<SetpointCommand> {
        SetpointCommand::new(f)
    }
}

impl From<SetpointCommand> for SetpointCommandFields {
    fn from(c: SetpointCommand) -> SetpointCommandFields {
        c.0
    }
}

/// UC-08: the flow a meter measured at a cell over one interval.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "MeasurementReportFields", into = "MeasurementReportFields")]
pub struct MeasurementReport(MeasurementReportFields);

/// The fields of a [`MeasurementReport`], before validation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MeasurementReportFields {
    /// The transaction the flow belongs to.
    pub transaction_id: TransactionId,
    /// The cell measured.
    pub cell: CellId,
    /// The meter that measured it.
    pub meter: MeterId,
    /// The start of the interval.
    pub interval_start: Timestamp,
    /// The length of the interval; above zero.
    #[serde(rename = "interval_ms")]
    pub interval: Duration,
    /// Energy exported (positive) or imported (negative) over the interval.
    #[serde(rename = "energy_wh")]
    pub energy: Energy,
    /// Average power over the interval.
    pub average: PowerLevel,
}

impl MeasurementReport {
    /// Validates that the interval is a whole, non-zero number of seconds (fitting `u32`) and ends by 9999-12-31.
    pub fn new(fields: MeasurementReportFields) -> Result<MeasurementReport> {
        if fields.interval == Duration::ZERO || !fields.interval.as_ms().is_multiple_of(1000) {
            return Err(Error::invalid(
                "interval_s",
                format!(
                    "{} is not a whole, non-zero number of seconds",
                    fields.interval
                ),
            ));
        }
        if u32::try_from(fields.interval.as_secs()).is_err() {
            return Err(Error::invalid(
                "interval_s",
                format!("{} is longer than any settlement interval", fields.interval),
            ));
        }
        fields
            .interval_start
            .checked_add(fields.interval)
            .map_err(|_| Error::invalid("interval_s", "the interval ends after 9999-12-31"))?;
        Ok(MeasurementReport(fields))
    }
}

impl std::ops::Deref for MeasurementReport {
    type Target = MeasurementReportFields;
    fn deref(&self) -> &MeasurementReportFields {
        &self.0
    }
}

impl TryFrom<MeasurementReportFields> for MeasurementReport {
    type Error = Error;
    fn try_from(f: MeasurementReportFields) -> Result<MeasurementReport> {
        MeasurementReport::new(f)
    }
}

impl From<MeasurementReport> for MeasurementReportFields {
    fn from(m: MeasurementReport) -> MeasurementReportFields {
        m.0
    }
}
