//! The typed IDEA domain: everything the Internet of Distributed Energy Architecture talks about, as Rust types
//! with their rules, and the wire forms they travel in.
//!
//! What it does:
//! - **Units** as integer newtypes — [`ActivePower`] (W), [`ReactivePower`] (var), [`ApparentPower`] (VA),
//!   [`Energy`] (Wh), [`Voltage`] (mV), [`Current`] (mA), [`Frequency`] (mHz), [`Money`] in minor units of a
//!   [`Currency`], [`EnergyPrice`] per kWh, [`Timestamp`] (UTC) and [`Duration`] — with checked arithmetic and
//!   half-to-even rounding. No floating point in anything settled.
//! - **Identities**: [`CellId`], [`AgentId`], [`UserId`], [`ServiceId`], 128-bit [`TransactionId`], ed25519
//!   [`PublicKey`]s (weak keys refused).
//! - **Power cells** (ARCH-01..ARCH-04): the six [`PowerCellType`]s of Table 1 derived from supply capability
//!   and flexibility and back, the Table 2 role matrix ([`allowed`]), the Table 3 [`InterfaceDevice`], and the
//!   validated [`PowerCell`] with limits, electrical units, connection point and enclosing cell (ARCH-08).
//! - **Energy transactions** (P2P and P2O) on energy, power or flexibility, with [`Terms`] on settlement
//!   periods, sides validated against Table 2; the messages of UC-01..UC-10; the [`Lifecycle`] state machine.
//! - **Auxiliary use cases** AUX-01..AUX-09 ([`AuxiliaryMessage`]), [`ServiceDescription`]s and
//!   [`Subscription`]s, the ARCH-07 [`Topology`] models and [`CellNesting`].
//! - **Wire forms**: protobuf (schema under `proto/`, the source of truth) through [`WireMessage`], and serde
//!   JSON for every message. Wire → domain conversion validates.
//! - **Signed envelopes** ([`SignedEnvelope`]): ed25519 over a domain-separated digest of a protocol tag, the
//!   message type and the payload; `verify_strict`; a signature for one type never verifies as another.
//!
//! What it does not do: no I/O, no clock, no randomness (callers pass `now`, ids and keys), no protocol
//! codecs (FIPA-ACL, IEC 104, Modbus, 2030.5 live in their own crates), no settlement or control algorithms.
//!
//! ```
//! use idea_proto::*;
//!
//! // Table 1 and Table 2: a prosumer may sell flexibility; a passive consumer may not.
//! let t = PowerCellType::from_properties(SupplyCapability::SupplyAndConsumption, Flexibility::Available);
//! assert_eq!(t, PowerCellType::Prosumer);
//! assert!(allowed(t, Subject::Flexibility, Side::Seller));
//! assert_eq!(t.interface_device(), InterfaceDevice::EnergyRouter);
//!
//! // Settled quantities are integers with checked arithmetic.
//! let quarter = Duration::from_mins(15);
//! let energy = ActivePower::from_w(4_000).energy_over(quarter)?;
//! assert_eq!(energy, Energy::from_wh(1_000));
//! let eur = Currency::new("EUR", 2)?;
//! assert_eq!(EnergyPrice::new(25, eur).cost_of(energy)?.to_string(), "0.25 EUR");
//!
//! // Any message travels signed; the signature binds its type.
//! let key = SigningKey::from_bytes(&[42; 32]);
//! let service = ServiceDescription::new(ServiceFields {
//!     id: ServiceId::new("p2p-market")?,
//!     name: "P2P market".into(),
//!     kind: ServiceKind::P2pMarket,
//!     operator: UserId::new("operator-1")?,
//!     version: 1,
//!     subjects: vec![Subject::Energy],
//! })?;
//! let envelope = SignedEnvelope::seal(&service, &key);
//! let mut bytes = Vec::new();
//! envelope.encode(&mut bytes);
//! let (received, used) = SignedEnvelope::decode(&bytes)?;
//! assert_eq!(used, bytes.len());
//! assert_eq!(received.open::<ServiceDescription>()?, service);
//! assert!(received.open::<Subscription>().is_err());
//! # Ok::<(), idea_proto::Error>(())
//! ```
#![forbid(unsafe_code)]

pub mod admission;
mod auxiliary;
mod cell;
mod envelope;
mod error;
pub mod hex;
mod id;
mod key;
mod lifecycle;
#[cfg(feature = "pem")]
pub mod pem;
mod service;
mod topology;
mod transaction;
mod units;
pub mod wire;

#[cfg(feature = "proptest")]
pub mod strategies;

pub use auxiliary::{AuxiliaryMessage, AuxiliaryUseCase, ServicePriority};
pub use cell::{
    CellLimits, CellRef, ConnectionPoint, ElectricalUnit, Flexibility, InterfaceDevice, PowerCell,
    PowerCellSpec, PowerCellType, Side, Subject, SupplyCapability, UnitKind, allowed,
};
pub use envelope::{ENVELOPE_PROTOCOL_TAG, EnvelopeSigner, SignedEnvelope};
pub use error::Error;
pub use id::{
    AgentId, CellId, MeterId, MicrogridId, NodeId, ServiceId, SubscriptionId, TopologyId,
    TransactionId, UnitId, UserId,
};
pub use key::PublicKey;
pub use lifecycle::{
    Lifecycle, StateChange, TRANSITIONS, TransactionState, Transition, transition,
};
pub use service::{
    ServiceDescription, ServiceFields, ServiceKind, Subscription, SubscriptionFields,
};
pub use topology::{
    CellNesting, Link, Microgrid, MicrogridLayout, MicrogridSet, Topology, TopologyModel,
    TopologySpec,
};
pub use transaction::{
    CommandKind, Decision, DeliveryWindow, EnergyTransaction, MeasurementReport,
    MeasurementReportFields, Parties, PowerLevel, Profile, SetpointCommand, SetpointCommandFields,
    Terms, TermsSpec, ToleranceBand, TransactionAnswer, TransactionRequest, TransactionSpec,
};
pub use units::{
    ActivePower, ApparentPower, Currency, Current, Duration, Energy, EnergyPrice, Frequency, Money,
    ReactivePower, Timestamp, Voltage,
};
pub use wire::WireMessage;

/// The bounds every validating constructor and decoder enforces, so that no input can make it allocate or
/// loop without limit.
pub mod limits {
    pub use crate::cell::{MAX_NOMINAL_VOLTAGE, MAX_UNITS};
    pub use crate::id::MAX_ID_LEN;
    pub use crate::lifecycle::MAX_HISTORY;
    pub use crate::service::MAX_NAME_LEN;
    pub use crate::topology::{MAX_LINKS, MAX_MEMBERS};
    pub use crate::transaction::{MAX_INTERVALS, MAX_REASON_LEN};
    pub use crate::wire::MAX_MESSAGE_LEN;
}

/// The ed25519 signing key of an agent, user or device, from `ed25519-dalek`. Build it from 32 secret bytes
/// drawn by the caller; this crate never draws randomness.
pub use ed25519_dalek::SigningKey;
