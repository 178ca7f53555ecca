//! The software agent of an IDEA power cell (AG-01..AG-11): it represents its cell and its owner, takes part
//! in services, dispatches the cell's resources among them and drives every transaction of UC-01..UC-10.
//!
//! What it does:
//! - [`Agent`]: a sans-IO core in the shape of quinn-proto. It takes ACL messages, device results, meter
//!   measurements, TE events and `now`; it gives signed ACL messages and setpoints
//!   ([`Agent::poll_transmit`]), its event log ([`Agent::poll_event`]) and its next deadline
//!   ([`Agent::poll_timeout`]). An unknown sender is refused, an unsigned or badly signed message gets
//!   `not-understood` ([`signing`]).
//! - [`OwnerSettings`] (AUX-03): the cell, participation profiles, priorities between services, price limits
//!   and comfort bounds, from TOML.
//! - [`CommitmentBook`] (AG-04): every promise in every settlement interval kept within the cell's P, Q and
//!   storage limits and Table 2; conflicts resolved by the owner's priorities.
//! - The behaviours API (AG-10): [`Behaviour`] and its registry; the built-in [`P2pBuyer`] and [`P2pSeller`]
//!   negotiate bilateral trades with FIPA Contract Net in the `idea-energy` ontology.
//! - [`TeNode`]: the TE node's registry and contract book; the seller signs the agreed contract, the buyer
//!   countersigns and submits it, the node records it once and tells both (UC-04); replays and bad
//!   signatures are refused and kept on record.
//! - [`Arbitrator`] (ARCH-08): permits, adjusts or refuses a transaction on the section's power flow with
//!   the transactions already permitted, naming the binding limit.
//! - [`DirectoryService`] and [`PlugAndPlay`] (PROP-02, AUX-01, AUX-06, AUX-09): the FIPA directory with
//!   keys proved at registration and bound to names; a cell that connects registers, hears of every agent
//!   and service, and is heard of by them — it trades with no manual step; keys rotate through the
//!   directory; a cell that leaves is forgotten. The market learns its traders the same way
//!   ([`MarketService::join_directory`]).
//! - `market`: the P2P market service (double auction per period) and the agents' participant behaviour.
//! - The lifecycle spine: agreed → recorded (the TE node's notice) → commanded at the interval start (a setpoint at
//!   the connection point, never beyond the cell's limits, AG-11) → executing → measured → completed →
//!   settled, each step an [`Event`] with its UC ID, written as JSON lines.
//!
//! - `runtime` (feature `mqtt`): a tokio task per agent on FIPA-ACL over MQTT, setpoints and events to
//!   channels, TE submissions and the node's signed notices over MQTT (`te_link`, where the TE node runs as a
//!   service); many agents per process.
//!
//! - [`device`]: the cell's local automation (a connection controller that holds the contracted export
//!   with the cell's storage), the agent's own interval measurement, and the meter gateway that signs
//!   readings and delivery tokens; with feature `devices`, their links to the cell's interface device — an
//!   energy hub over Modbus/SunSpec, an energy router over IEC 104, a DER through IEEE 2030.5 — and its meter
//!   (`device::link`, `device::gateway_link`) — a trade runs from negotiation to settlement over real sockets against
//!   `idea-sim` devices (`tests/end_to_end.rs`).
//!
//! - P2O services: [`demand_response`] (the operator buys flexibility from the cells by Contract Net and
//!   countersigns their contracts) and [`load_shedding`] (a cell's agent asks it to shed load; it plans which
//!   relays to open and commands them over MQTT).
//! - [`owner`]: the owner's HTTP/JSON interface (AG-08), served by `owner_http` (feature `http`).
//!
//! What it does not do (yet): the energy router over IEC 104 and the DER over 2030.5 as interface devices,
//! the demand-response service over MQTT, payment channels in the TE node and its restart from the ledger,
//! service subscriptions (AUX-04/08). The core never reads a clock, opens a socket or draws random numbers: ids
//! come from a seed the caller draws.
//!
//! ```
//! use idea_agent::{Agent, AgentConfig, OwnerSettings, P2pSeller};
//! use fipa_acl::AgentIdentifier;
//! use idea_proto::SigningKey;
//!
//! let settings = OwnerSettings::from_toml(include_str!("../data/prosumer.toml"))?;
//! let mut agent = Agent::new(AgentConfig {
//!     me: AgentIdentifier::new("cell-1@idea"),
//!     key: SigningKey::from_bytes(&[7; 32]),
//!     settings,
//!     id_seed: [1; 16],
//!     te: None,
//! });
//! agent.add_behaviour(Box::new(P2pSeller::new()))?;
//! assert_eq!(agent.behaviour_names(), ["p2p-seller"]);
//! assert_eq!(agent.poll_timeout(), None);
//! # Ok::<(), idea_agent::Error>(())
//! ```
#![forbid(unsafe_code)]

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

mod agent;
pub mod api;
pub mod arbitrator;
mod behaviour;
pub mod channel_journal;
pub mod channels;
pub mod commitment;
pub mod demand_response;
pub mod device;
pub mod directory;
mod error;
mod event;
#[cfg(feature = "http")]
pub mod json_http;
pub mod load_shedding;
pub mod market;
pub mod membership;
pub mod owner;
#[cfg(feature = "http")]
pub mod owner_http;
mod p2p;
#[cfg(feature = "mqtt")]
pub mod runtime;
pub mod service;
pub mod settings;
pub mod signing;
pub mod subscription;
#[cfg(feature = "mqtt")]
pub mod te_link;
pub mod te_node;
mod transactions;

pub use agent::{
    Agent, AgentConfig, LOOKUP_TIMEOUT, MAX_PARKED, MAX_SETTLEMENTS, MEASUREMENT_GRACE, Settlement,
};
pub use arbitrator::{Arbitrator, ArbitratorService, SectionConfig, Verdict};
pub use behaviour::{
    Behaviour, Behaviours, Context, MAX_BEHAVIOURS, MAX_PEERS, MAX_PENDING_OUTPUTS, Output, Peer,
    Peers, TeIdentity, TeSubmission,
};
pub use channels::ChannelKeeper;
pub use commitment::CommitmentBook;
pub use directory::{Admission, DirectoryConfig, DirectoryService};
pub use error::{Error, Result};
pub use event::{Event, MAX_PENDING_EVENTS};
pub use market::{MarketConfig, MarketParticipant, MarketService};
pub use membership::{MAX_LOOKUPS, Membership, PlugAndPlay, Services};
pub use p2p::{BuyOrder, CONTRACT_PARAM, MAX_NEGOTIATIONS, P2pBuyer, P2pSeller};
pub use service::AclService;
pub use settings::OwnerSettings;
pub use te_node::{TeNode, TeNotice};
pub use transactions::{DECISION_GRACE, MAX_TRANSACTIONS, Tracked, Transactions};
