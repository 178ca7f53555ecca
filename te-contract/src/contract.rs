//! Smart contracts: an `idea-proto` energy transaction's terms fixed between two avatars, signed by both,
//! recorded once, and moved through the transaction lifecycle (TE-01).

use crate::codec::{Codec, Put, Reader};
use crate::error::{Error, Result};
use crate::id::{AvatarId, DeploymentId};
use crate::signed::{Body, KeyResolver, MessageKind, Signed};
use idea_proto::{
    CellId, EnergyTransaction, Parties, Side, StateChange, Timestamp, TransactionId,
    TransactionState, WireMessage,
};
use std::collections::HashMap;

/// The largest encoded transaction a contract carries.
const MAX_TRANSACTION_LEN: usize = 1 << 20;

/// A contract: the transaction (parties, subject, per-interval profile, price, delivery window, tolerance,
/// penalty) and the avatars that sign for its seller and buyer. Signed by the seller, then the buyer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[doc(alias = "smart contract")]
pub struct Contract {
    /// The transaction; its id is the contract's.
    pub transaction: EnergyTransaction,
    /// The avatar of the side that delivers.
    pub seller: AvatarId,
    /// The avatar of the side that receives and pays.
    pub buyer: AvatarId,
    /// When both agreed.
    pub agreed_at: Timestamp,
}

impl Contract {
    /// The contract id (the transaction's).
    pub fn id(&self) -> TransactionId {
        self.transaction.id
    }

    /// Where its delivery is measured: the seller's cell's export in a P2P contract; in a P2O contract the
    /// cell's export when the cell sells, its import when it buys (the operator delivers into it).
    pub fn delivery_point(&self) -> DeliveryPoint<'_> {
        match &self.transaction.parties {
            Parties::PeerToPeer { seller, .. } => DeliveryPoint {
                cell: &seller.cell,
                flow: Flow::Export,
            },
            Parties::PeerToOperator {
                cell, cell_side, ..
            } => DeliveryPoint {
                cell: &cell.cell,
                flow: match cell_side {
                    Side::Seller => Flow::Export,
                    Side::Buyer => Flow::Import,
                },
            },
        }
    }
}

/// Which register of the delivery point's meter measures a contract's delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Energy out of the cell.
    Export,
    /// Energy into the cell.
    Import,
}

/// The cell whose meter settles a contract, and the register that counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryPoint<'a> {
    /// The cell.
    pub cell: &'a CellId,
    /// The register.
    pub flow: Flow,
}

/// Layout: seller, buyer, agreed time, then the transaction as `idea-proto` protobuf bytes (the schema in
/// `idea-proto/proto` is the source of truth).
impl Codec for Contract {
    fn encode(&self, out: &mut Vec<u8>) {
        self.seller.encode(out);
        self.buyer.encode(out);
        out.put_timestamp(self.agreed_at);
        out.put_bytes(&self.transaction.encode_payload());
    }
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        let seller = AvatarId::read(r)?;
        let buyer = AvatarId::read(r)?;
        let agreed_at = r.timestamp("agreed_at")?;
        let at = r.offset();
        let bytes = r.bytes("transaction", MAX_TRANSACTION_LEN)?;
        let transaction = EnergyTransaction::decode_payload(bytes).map_err(|e| Error::Decode {
            offset: at,
            field: "transaction",
            reason: e.to_string(),
        })?;
        if seller == buyer {
            return Err(r.error("buyer", "seller and buyer are one avatar"));
        }
        Ok(Contract {
            transaction,
            seller,
            buyer,
            agreed_at,
        })
    }
}

impl Body for Contract {
    const KIND: MessageKind = MessageKind::Contract;
    fn scope(&self) -> [u8; 16] {
        *self.transaction.id.as_bytes()
    }
    fn signers(&self) -> Vec<AvatarId> {
        vec![self.seller, self.buyer]
    }
}

/// A recorded contract and where its lifecycle stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedContract {
    /// The contract with both signatures.
    pub signed: Signed<Contract>,
    /// When it was recorded.
    pub recorded_at: Timestamp,
    /// Its state: `recorded` when entered, then as the lifecycle moves.
    pub state: TransactionState,
    /// The changes since recording.
    pub history: Vec<StateChange>,
}

/// The contracts of a deployment, each recorded once (TE-01).
#[derive(Debug, Clone)]
pub struct ContractBook {
    deployment: DeploymentId,
    contracts: HashMap<TransactionId, RecordedContract>,
}

impl ContractBook {
    /// No contracts.
    pub fn new(deployment: DeploymentId) -> ContractBook {
        ContractBook {
            deployment,
            contracts: HashMap::new(),
        }
    }

    /// Records a contract signed by both avatars with keys valid `now`. A second contract with the same id
    /// is refused, whatever it says.
    pub fn record(
        &mut self,
        signed: Signed<Contract>,
        keys: &impl KeyResolver,
        now: Timestamp,
    ) -> Result<&RecordedContract> {
        let id = signed.body().id();
        if self.contracts.contains_key(&id) {
            return Err(Error::Duplicate {
                what: "contract",
                id: id.to_string(),
            });
        }
        if signed.body().agreed_at > now {
            return Err(Error::invalid(
                "agreed_at",
                "a contract cannot be agreed in the future",
            ));
        }
        signed.verify(keys, &self.deployment, now)?;
        let entry = self.contracts.entry(id).or_insert(RecordedContract {
            signed,
            recorded_at: now,
            state: TransactionState::Recorded,
            history: Vec::new(),
        });
        Ok(entry)
    }

    /// A recorded contract.
    pub fn get(&self, id: &TransactionId) -> Option<&RecordedContract> {
        self.contracts.get(id)
    }

    /// Every recorded contract, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &RecordedContract> {
        self.contracts.values()
    }

    /// How many contracts are recorded.
    pub fn len(&self) -> usize {
        self.contracts.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.contracts.is_empty()
    }

    /// Moves a contract to `to` at `now`, if the transaction lifecycle allows it.
    pub fn advance(
        &mut self,
        id: &TransactionId,
        to: TransactionState,
        now: Timestamp,
    ) -> Result<()> {
        let contract = self
            .contracts
            .get_mut(id)
            .ok_or_else(|| Error::invalid("contract", format!("{id} is not recorded")))?;
        if idea_proto::transition(contract.state, to).is_none() {
            return Err(Error::invalid(
                "state",
                format!("contract {id} cannot go from {} to {to}", contract.state),
            ));
        }
        if contract.history.last().is_some_and(|c| c.at > now) || now < contract.recorded_at {
            return Err(Error::invalid(
                "at",
                "the lifecycle does not go back in time",
            ));
        }
        contract.history.push(StateChange {
            from: contract.state,
            to,
            at: now,
        });
        contract.state = to;
        Ok(())
    }
}
