//! Energy transactions: P2P between two cells and P2O between a cell and a service operator, on energy, power
//! or flexibility, with the sides validated against Table 2 (ARCH-03).

mod messages;
mod terms;

pub(crate) use messages::check_reason;
pub use messages::{
    CommandKind, Decision, MAX_REASON_LEN, MeasurementReport, MeasurementReportFields,
    SetpointCommand, SetpointCommandFields, TransactionAnswer, TransactionRequest,
};
pub use terms::{
    DeliveryWindow, MAX_INTERVALS, PowerLevel, Profile, Terms, TermsSpec, ToleranceBand,
};

use crate::cell::{CellRef, Side, Subject};
use crate::error::Result;
use crate::{CellId, Error, ServiceId, TransactionId, UserId};
use serde::{Deserialize, Serialize};
use std::ops::Deref;

/// Who takes part.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Parties {
    /// P2P: between two cells.
    PeerToPeer {
        /// The cell that provides the subject.
        seller: CellRef,
        /// The cell that receives it and pays.
        buyer: CellRef,
    },
    /// P2O: between a cell and a service operator.
    PeerToOperator {
        /// The cell.
        cell: CellRef,
        /// The cell's side; the operator takes the other.
        cell_side: Side,
        /// The service operator.
        operator: UserId,
    },
}

/// The fields of an energy transaction, before validation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TransactionSpec {
    /// Its 128-bit id.
    pub id: TransactionId,
    /// The service under whose rules it is formed (the UC precondition: both sides subscribed).
    pub service: ServiceId,
    /// What is traded.
    pub subject: Subject,
    /// Who takes part.
    pub parties: Parties,
    /// The contract terms.
    pub terms: Terms,
}

/// A validated energy transaction.
///
/// ```
/// use idea_proto::*;
/// let eur = Currency::new("EUR", 2)?;
/// let start: Timestamp = "2026-11-24T10:00:00Z".parse()?;
/// let terms = Terms::new(TermsSpec {
///     window: DeliveryWindow::new(start, 900, 2)?,
///     profile: Profile::Energy(vec![Energy::from_wh(500), Energy::from_wh(700)]),
///     price: EnergyPrice::new(12, eur),
///     tolerance: ToleranceBand { relative_bp: 500, absolute: Energy::from_wh(10) },
///     penalty: EnergyPrice::new(30, eur),
/// })?;
/// let spec = TransactionSpec {
///     id: TransactionId::from_bytes([1; 16]),
///     service: ServiceId::new("p2p-market")?,
///     subject: Subject::Flexibility,
///     parties: Parties::PeerToPeer {
///         seller: CellRef::new(CellId::new("house-7")?, PowerCellType::PassiveConsumer),
///         buyer: CellRef::new(CellId::new("pv-farm")?, PowerCellType::StochasticGenerator),
///     },
///     terms,
/// };
/// let err = EnergyTransaction::new(spec).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "p2p.seller: a passive-consumer cell may not be the seller of flexibility (IDEA Table 2, ARCH-03)"
/// );
/// # Ok::<(), idea_proto::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "TransactionSpec", into = "TransactionSpec")]
#[doc(alias = "P2P")]
#[doc(alias = "P2O")]
pub struct EnergyTransaction(TransactionSpec);

fn check_role(field: &str, party: &CellRef, subject: Subject, side: Side) -> Result<()> {
    if party.cell_type.may_take(subject, side) {
        Ok(())
    } else {
        Err(Error::RoleNotAllowed {
            field: field.to_owned(),
            cell_type: party.cell_type,
            subject,
            side,
        })
    }
}

impl EnergyTransaction {
    /// Validates a transaction: each cell's side is allowed by Table 2 for the subject; P2P parties are two
    /// different cells; the profile fits the subject (energy per interval for energy, power per interval for
    /// power and flexibility).
    pub fn new(spec: TransactionSpec) -> Result<EnergyTransaction> {
        match &spec.parties {
            Parties::PeerToPeer { seller, buyer } => {
                check_role("p2p.seller", seller, spec.subject, Side::Seller)?;
                check_role("p2p.buyer", buyer, spec.subject, Side::Buyer)?;
                if seller.cell == buyer.cell {
                    return Err(Error::invalid(
                        "p2p.buyer.cell",
                        format!("{} cannot trade with itself", seller.cell),
                    ));
                }
            }
            Parties::PeerToOperator {
                cell, cell_side, ..
            } => {
                check_role("p2o.cell", cell, spec.subject, *cell_side)?;
            }
        }
        match (&spec.terms.profile, spec.subject) {
            (crate::Profile::Energy(_), Subject::Energy)
            | (crate::Profile::Power(_), Subject::Power | Subject::Flexibility) => {}
            (_, subject) => {
                return Err(Error::invalid(
                    "terms.profile",
                    format!(
                        "a {subject} transaction needs {} profile",
                        if subject == Subject::Energy {
                            "an energy"
                        } else {
                            "a power"
                        }
                    ),
                ));
            }
        }
        Ok(EnergyTransaction(spec))
    }

    /// The fields, for editing and re-validation.
    pub fn into_spec(self) -> TransactionSpec {
        self.0
    }

    /// The side `cell` takes, if it is a party.
    pub fn side_of(&self, cell: &CellId) -> Option<Side> {
        match &self.0.parties {
            Parties::PeerToPeer { seller, buyer } if &seller.cell == cell => Some(Side::Seller),
            Parties::PeerToPeer { buyer, .. } if &buyer.cell == cell => Some(Side::Buyer),
            Parties::PeerToOperator {
                cell: c, cell_side, ..
            } if &c.cell == cell => Some(*cell_side),
            _ => None,
        }
    }

    /// Whether both sides are cells (P2P) rather than a cell and an operator (P2O).
    pub fn is_peer_to_peer(&self) -> bool {
        matches!(self.0.parties, Parties::PeerToPeer { .. })
    }

    /// The same transaction with other terms (a counter-proposal, UC-03), re-validated.
    pub fn with_terms(&self, terms: Terms) -> Result<EnergyTransaction> {
        EnergyTransaction::new(TransactionSpec {
            terms,
            ..self.0.clone()
        })
    }
}

impl Deref for EnergyTransaction {
    type Target = TransactionSpec;
    fn deref(&self) -> &TransactionSpec {
        &self.0
    }
}

impl TryFrom<TransactionSpec> for EnergyTransaction {
    type Error = Error;
    fn try_from(spec: TransactionSpec) -> Result<EnergyTransaction> {
        EnergyTransaction::new(spec)
    }
}

impl From<EnergyTransaction> for TransactionSpec {
    fn from(t: EnergyTransaction) -> TransactionSpec {
        t.0
    }
}
