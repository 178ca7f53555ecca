//! The Transactive Energy core of IDEA (TE-01..TE-09): avatars and wallets on ed25519 keys,
//! domain-separated signed objects, smart contracts and debt payment channels.
//!
//! What it does:
//! - [`registry`]: avatars of agents, users and meters with their keys by version — registration by the
//!   deployment's registrar, rotation, revocation; weak keys refused; each meter bound to the cell it
//!   measures, so settlement takes a token only from the contract's delivery point.
//! - [`batch`]: the signatures of many objects checked as one batch before the objects are processed.
//! - [`verify`]: one ed25519 acceptance rule — `verify_strict`'s refusals with the cofactored equation — for
//!   single and batched verification, which therefore always agree.
//! - [`signed`]: every signed object is bound to a protocol tag, the deployment, its kind, its scope (the
//!   channel, contract or avatar) and its counter; objects are identified by ids and counters, never by
//!   signature bytes. [`codec`] is the one canonical binary form they are signed in.
//! - [`wallet`]: integer balances in minor units per avatar and currency.
//! - [`contract`]: an `idea-proto` transaction's terms fixed between two avatars, signed by both, recorded
//!   once, moved through the transaction lifecycle.
//! - [`channel`]: debt payment channels — IOUs signed by both, netting, credit limits, cooperative and
//!   one-sided closes with a challenge window, equivocation disputes.
//! - [`market`]: the P2P double auction per settlement period, pay-as-clear or pay-as-bid, with a checker of
//!   any result and the contracts it produces.
//!
//! What it does not do: talk to a network, read a clock or draw random numbers. Ids, keys and times come
//! from the caller; timeouts are driven with `poll_timeout` / `handle_timeout`.
//!
//! ```
//! use te_contract::channel::{Channel, ChannelOpen, Debt, MemoryChannelStore, Party};
//! use te_contract::registry::{AvatarKind, Registration, Registry};
//! use te_contract::{AvatarId, ChannelId, DebtId, DeploymentId, Signed};
//! use idea_proto::{AgentId, Currency, Duration, PublicKey, SigningKey, Timestamp, TransactionId};
//!
//! let deployment = DeploymentId::new("idea-demo")?;
//! let now: Timestamp = "2026-11-24T10:00:00Z".parse()?;
//! let registrar_key = SigningKey::from_bytes(&[1; 32]);
//! let registrar = AvatarId::from_bytes([1; 16]);
//! let mut registry = Registry::new(deployment.clone(), registrar, PublicKey::from(&registrar_key), now);
//!
//! // Two agents' avatars: the registrar signs, then each new key proves itself.
//! let keys = [SigningKey::from_bytes(&[2; 32]), SigningKey::from_bytes(&[3; 32])];
//! let ids = [AvatarId::from_bytes([2; 16]), AvatarId::from_bytes([3; 16])];
//! for (id, key) in ids.iter().zip(&keys) {
//!     let mut r = Signed::new(deployment.clone(), Registration {
//!         registrar,
//!         avatar: *id,
//!         kind: AvatarKind::Agent(AgentId::new(format!("agent-{}", id.0[0]))?),
//!         key: PublicKey::from(key),
//!         at: now,
//!     });
//!     r.sign(registrar, 0, &registrar_key)?;
//!     r.sign(*id, 0, key)?;
//!     registry.register(&r)?;
//! }
//!
//! // A channel in euro cents with a credit limit of 50.00 EUR.
//! let mut open = Signed::new(deployment.clone(), ChannelOpen {
//!     channel: ChannelId::from_bytes([9; 16]),
//!     a: ids[0],
//!     b: ids[1],
//!     currency: Currency::new("EUR", 2)?,
//!     credit_limit: 5_000,
//!     challenge_period: Duration::from_mins(60),
//!     opened_at: now,
//! });
//! open.sign(ids[0], 0, &keys[0])?;
//! open.sign(ids[1], 0, &keys[1])?;
//! let mut a = Channel::new(deployment.clone(), open.clone(), ids[0], &registry, now)?;
//! let mut b = Channel::new(deployment.clone(), open, ids[1], &registry, now)?;
//!
//! // A delivered energy worth 1.20 EUR to B: A proposes B's debt, B countersigns, A confirms.
//! let debt = Debt {
//!     id: DebtId::from_bytes([7; 16]),
//!     debtor: Party::B,
//!     amount: 120,
//!     contract: TransactionId::from_bytes([5; 16]),
//!     interval: 0,
//!     token: None,
//! };
//! let proposal = a.propose(vec![debt], vec![], &mut MemoryChannelStore::default(), &keys[0], 0)?;
//! let mut store_b = MemoryChannelStore::default();
//! let accepted = b.accept(proposal, &registry, &mut store_b, &keys[1], 0, now)?;
//! a.confirm(accepted.countersigned, &registry, &mut MemoryChannelStore::default(), now)?;
//! assert_eq!(a.totals().net_owed_by_a()?, -120);
//! assert_eq!(a.headroom()?.minor_units, 4_880);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

pub mod audit;
pub mod batch;
pub mod channel;
pub mod clearing;
pub mod codec;
pub mod contract;
mod error;
mod id;
pub mod ledger;
pub mod market;
pub mod meter;
pub mod registry;
pub mod settlement;
pub mod signed;
pub mod verify;
pub mod wallet;

pub use codec::Codec;
pub use error::{Error, LedgerFault, Result};
pub use id::{AvatarId, ChannelId, DebtId, DeploymentId, MAX_DEPLOYMENT_LEN, OrderId};
pub use signed::{KeyResolver, MessageKind, Signed};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// Lower-case hex of some bytes, for messages.
pub(crate) fn hex(bytes: &[u8]) -> String {
    idea_proto::hex::encode(bytes)
}
