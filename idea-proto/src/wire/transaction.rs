//! Wire conversions of transactions, their messages and their lifecycle.

use super::convert::*;
use super::pb;
use crate::error::Result;
use crate::*;

impl From<DeliveryWindow> for pb::DeliveryWindow {
    fn from(w: DeliveryWindow) -> pb::DeliveryWindow {
        pb::DeliveryWindow {
            start_unix_ms: w.start().unix_ms(),
            period_s: w.period_s(),
            intervals: w.intervals(),
        }
    }
}

impl TryFrom<pb::DeliveryWindow> for DeliveryWindow {
    type Error = Error;
    fn try_from(w: pb::DeliveryWindow) -> Result<DeliveryWindow> {
        DeliveryWindow::new(
            timestamp(w.start_unix_ms, "start_unix_ms")?,
            w.period_s,
            w.intervals,
        )
    }
}

impl From<ToleranceBand> for pb::ToleranceBand {
    fn from(t: ToleranceBand) -> pb::ToleranceBand {
        pb::ToleranceBand {
            relative_bp: t.relative_bp,
            absolute_wh: t.absolute.wh(),
        }
    }
}

impl TryFrom<pb::ToleranceBand> for ToleranceBand {
    type Error = Error;
    fn try_from(t: pb::ToleranceBand) -> Result<ToleranceBand> {
        Ok(ToleranceBand {
            relative_bp: t.relative_bp,
            absolute: Energy::from_wh(t.absolute_wh),
        })
    }
}

impl From<&Terms> for pb::Terms {
    fn from(t: &Terms) -> pb::Terms {
        use pb::terms::Profile as P;
        let profile = match &t.profile {
            Profile::Energy(values) => P::Energy(pb::EnergyProfile {
                energy_wh: values.iter().map(|e| e.wh()).collect(),
            }),
            Profile::Power(levels) => P::Power(pb::PowerProfile {
                levels: levels.iter().map(|&l| l.into()).collect(),
            }),
        };
        pb::Terms {
            window: Some(t.window.into()),
            profile: Some(profile),
            price: Some(t.price.into()),
            tolerance: Some(t.tolerance.into()),
            penalty: Some(t.penalty.into()),
        }
    }
}

impl TryFrom<pb::Terms> for Terms {
    type Error = Error;
    fn try_from(t: pb::Terms) -> Result<Terms> {
        use pb::terms::Profile as P;
        let profile = match t
            .profile
            .ok_or_else(|| Error::invalid("profile", "missing"))?
        {
            P::Energy(e) => Profile::Energy(e.energy_wh.into_iter().map(Energy::from_wh).collect()),
            P::Power(p) => Profile::Power(list(p.levels, "power.levels")?),
        };
        Terms::new(TermsSpec {
            window: sub(t.window, "window")?,
            profile,
            price: sub(t.price, "price")?,
            tolerance: sub(t.tolerance, "tolerance")?,
            penalty: sub(t.penalty, "penalty")?,
        })
    }
}

impl From<&EnergyTransaction> for pb::EnergyTransaction {
    fn from(t: &EnergyTransaction) -> pb::EnergyTransaction {
        use pb::energy_transaction::Parties as P;
        let parties = match &t.parties {
            Parties::PeerToPeer { seller, buyer } => P::P2p(pb::PeerToPeer {
                seller: Some(seller.into()),
                buyer: Some(buyer.into()),
            }),
            Parties::PeerToOperator {
                cell,
                cell_side,
                operator,
            } => P::P2o(pb::PeerToOperator {
                cell: Some(cell.into()),
                cell_side: side_to(*cell_side),
                operator: operator.to_string(),
            }),
        };
        pb::EnergyTransaction {
            id: t.id.as_bytes().to_vec(),
            service: t.service.to_string(),
            subject: subject_to(t.subject),
            parties: Some(parties),
            terms: Some((&t.terms).into()),
        }
    }
}

impl TryFrom<pb::EnergyTransaction> for EnergyTransaction {
    type Error = Error;
    fn try_from(t: pb::EnergyTransaction) -> Result<EnergyTransaction> {
        use pb::energy_transaction::Parties as P;
        let parties = match t
            .parties
            .ok_or_else(|| Error::invalid("parties", "missing"))?
        {
            P::P2p(p) => Parties::PeerToPeer {
                seller: sub(p.seller, "p2p.seller")?,
                buyer: sub(p.buyer, "p2p.buyer")?,
            },
            P::P2o(p) => Parties::PeerToOperator {
                cell: sub(p.cell, "p2o.cell")?,
                cell_side: side_from(p.cell_side, "p2o.cell_side")?,
                operator: id(&p.operator, "p2o.operator")?,
            },
        };
        EnergyTransaction::new(TransactionSpec {
            id: transaction_id(&t.id, "id")?,
            service: id(&t.service, "service")?,
            subject: subject_from(t.subject, "subject")?,
            parties,
            terms: sub(t.terms, "terms")?,
        })
    }
}

impl From<&TransactionRequest> for pb::TransactionRequest {
    fn from(r: &TransactionRequest) -> pb::TransactionRequest {
        pb::TransactionRequest {
            proposal: Some((&r.proposal).into()),
            from_agent: r.from_agent.to_string(),
            reply_by_unix_ms: r.reply_by.unix_ms(),
        }
    }
}

impl TryFrom<pb::TransactionRequest> for TransactionRequest {
    type Error = Error;
    fn try_from(r: pb::TransactionRequest) -> Result<TransactionRequest> {
        Ok(TransactionRequest {
            proposal: sub(r.proposal, "proposal")?,
            from_agent: id(&r.from_agent, "from_agent")?,
            reply_by: timestamp(r.reply_by_unix_ms, "reply_by_unix_ms")?,
        })
    }
}

impl From<&TransactionAnswer> for pb::TransactionAnswer {
    fn from(a: &TransactionAnswer) -> pb::TransactionAnswer {
        use pb::transaction_answer::Decision as D;
        let decision = match a.decision() {
            Decision::Accept => D::Accept(pb::Accept {}),
            Decision::Reject { reason } => D::Reject(pb::Reject {
                reason: reason.clone(),
            }),
            Decision::Counter { terms } => D::Counter(terms.into()),
        };
        pb::TransactionAnswer {
            transaction_id: a.transaction_id().as_bytes().to_vec(),
            from_agent: a.from_agent().to_string(),
            decision: Some(decision),
        }
    }
}

impl TryFrom<pb::TransactionAnswer> for TransactionAnswer {
    type Error = Error;
    fn try_from(a: pb::TransactionAnswer) -> Result<TransactionAnswer> {
        use pb::transaction_answer::Decision as D;
        let decision = match a
            .decision
            .ok_or_else(|| Error::invalid("decision", "missing"))?
        {
            D::Accept(_) => Decision::Accept,
            D::Reject(r) => Decision::Reject { reason: r.reason },
            D::Counter(t) => Decision::Counter {
                terms: Terms::try_from(t).map_err(|e| e.within("counter"))?,
            },
        };
        TransactionAnswer::new(
            transaction_id(&a.transaction_id, "transaction_id")?,
            id(&a.from_agent, "from_agent")?,
            decision,
        )
    }
}

impl From<&SetpointCommand> for pb::SetpointCommand {
    fn from(c: &SetpointCommand) -> pb::SetpointCommand {
        pb::SetpointCommand {
            transaction_id: c.transaction_id.as_bytes().to_vec(),
            cell: c.cell.to_string(),
            kind: command_kind_to(c.kind),
            setpoint: Some(c.setpoint.into()),
            from_unix_ms: c.from.unix_ms(),
            until_unix_ms: c.until.unix_ms(),
        }
    }
}

impl TryFrom<pb::SetpointCommand> for SetpointCommand {
    type Error = Error;
    fn try_from(c: pb::SetpointCommand) -> Result<SetpointCommand> {
        SetpointCommand::new(SetpointCommandFields {
            transaction_id: transaction_id(&c.transaction_id, "transaction_id")?,
            cell: id(&c.cell, "cell")?,
            kind: command_kind_from(c.kind, "kind")?,
            setpoint: sub(c.setpoint, "setpoint")?,
            from: timestamp(c.from_unix_ms, "from_unix_ms")?,
            until: timestamp(c.until_unix_ms, "until_unix_ms")?,
        })
    }
}

impl From<&MeasurementReport> for pb::MeasurementReport {
    fn from(m: &MeasurementReport) -> pb::MeasurementReport {
        pb::MeasurementReport {
            transaction_id: m.transaction_id.as_bytes().to_vec(),
            cell: m.cell.to_string(),
            meter: m.meter.to_string(),
            interval_start_unix_ms: m.interval_start.unix_ms(),
            // Validated to fit u32 seconds at construction.
            interval_s: u32::try_from(m.interval.as_secs()).unwrap_or(u32::MAX),
            energy_wh: m.energy.wh(),
            average: Some(m.average.into()),
        }
    }
}

impl TryFrom<pb::MeasurementReport> for MeasurementReport {
    type Error = Error;
    fn try_from(m: pb::MeasurementReport) -> Result<MeasurementReport> {
        MeasurementReport::new(MeasurementReportFields {
            transaction_id: transaction_id(&m.transaction_id, "transaction_id")?,
            cell: id(&m.cell, "cell")?,
            meter: id(&m.meter, "meter")?,
            interval_start: timestamp(m.interval_start_unix_ms, "interval_start_unix_ms")?,
            interval: Duration::from_secs(u64::from(m.interval_s)),
            energy: Energy::from_wh(m.energy_wh),
            average: sub(m.average, "average")?,
        })
    }
}

impl From<&Lifecycle> for pb::TransactionLifecycle {
    fn from(l: &Lifecycle) -> pb::TransactionLifecycle {
        pb::TransactionLifecycle {
            transaction_id: l.transaction_id().as_bytes().to_vec(),
            opened_unix_ms: l.opened().unix_ms(),
            history: l
                .history()
                .iter()
                .map(|c| pb::StateChange {
                    from: state_to(c.from),
                    to: state_to(c.to),
                    at_unix_ms: c.at.unix_ms(),
                })
                .collect(),
            deadline_unix_ms: l.deadline().map(Timestamp::unix_ms),
        }
    }
}

impl TryFrom<pb::TransactionLifecycle> for Lifecycle {
    type Error = Error;
    fn try_from(l: pb::TransactionLifecycle) -> Result<Lifecycle> {
        if l.history.len() > crate::lifecycle::MAX_HISTORY {
            return Err(Error::invalid("history", "too many state changes"));
        }
        let history = l
            .history
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let field = format!("history[{i}]");
                Ok(StateChange {
                    from: state_from(c.from, &format!("{field}.from"))?,
                    to: state_from(c.to, &format!("{field}.to"))?,
                    at: timestamp(c.at_unix_ms, &format!("{field}.at_unix_ms"))?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let deadline = l
            .deadline_unix_ms
            .map(|d| timestamp(d, "deadline_unix_ms"))
            .transpose()?;
        Lifecycle::from_history(
            transaction_id(&l.transaction_id, "transaction_id")?,
            timestamp(l.opened_unix_ms, "opened_unix_ms")?,
            history,
            deadline,
        )
    }
}
