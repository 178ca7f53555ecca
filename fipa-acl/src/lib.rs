//! FIPA-ACL for IDEA agents (AG-09): messages (FIPA SC00061) with all 22 performatives (SC00037), agent
//! identifiers (SC00023), and the string representation (SC00070) written from its grammar.
//!
//! What it does: decodes and encodes the string representation exactly — case-insensitive keywords with case
//! kept in values, quoted strings where only `\"` is an escape, byte-length strings `#N"…` where N counts
//! bytes (any byte inside, NUL and invalid UTF-8 included), numbers, date-times (absolute, local and relative),
//! nested expressions, sets and sequences. Content is bytes. The encoder picks, per value, a form that decodes
//! back to the same bytes. Decoders never panic and bound size and nesting ([`Limits`]); errors carry the byte
//! offset and the parameter. [`AclMessage::reply`] fills receivers, conversation and `in-reply-to`.
//!
//! It also reads and writes the XML representation (SC00071) and the bit-efficient one (SC00069, the `0xFA`
//! form without code tables, including user-defined message types, [`MessageType::UserDefined`]); every field
//! survives conversion between the three, and what one cannot carry (binary content in XML, for example) is
//! refused, never altered. [`Representation`] tells them apart by their first byte.
//!
//! Around the messages: [`sl0`] parses and prints SL0 content (SC00008); [`energy`] is the `idea-energy`
//! ontology (every `idea-proto` message as SL0 frames or as protobuf in a byte-length string); [`protocol`]
//! holds the interaction protocols (Request, Query, Propose, Subscribe, Contract Net, Iterated Contract Net) as
//! sans-IO machines driven by explicit time; [`directory`] is the agent directory (DF and AMS, SC00023) and its
//! facilitator agent; `mqtt` (feature `mqtt`) carries messages between agents over an MQTT broker, with rumqttd
//! embedded for tests and demonstrations.
//!
//! Content is a [`Bytes`]: decoding from a shared buffer ([`AclMessage::decode_shared`], what the MQTT
//! transport does with each payload) leaves verbatim content in that buffer instead of copying it.
//!
//! What it does not do: the bit-efficient code tables (`0xFB`/`0xFC`), SL1/SL2 content, the HTTP message
//! transport (SC00084).
//!
//! ```
//! use fipa_acl::{AclMessage, AgentIdentifier, Performative};
//! let cfp = AclMessage::new(Performative::Cfp)
//!     .from(AgentIdentifier::new("buyer@cell-7"))
//!     .to(AgentIdentifier::new("seller@cell-3"))
//!     .content("(offer (energy 12 kWh))");
//! let mut wire = Vec::new();
//! cfp.encode_string(&mut wire)?;
//! let (back, used) = AclMessage::decode_string(&wire)?;
//! assert_eq!((back, used), (cfp.clone(), wire.len()));
//! let answer = cfp.reply(Performative::Propose, AgentIdentifier::new("seller@cell-3"));
//! assert_eq!(answer.receivers, [AgentIdentifier::new("buyer@cell-7")]);
//! # Ok::<(), fipa_acl::Error>(())
//! ```
#![forbid(unsafe_code)]

mod bit_efficient;
mod datetime;
pub mod directory;
pub mod energy;
mod energy_de;
mod error;
mod expression;
mod message;
#[cfg(feature = "mqtt")]
pub mod mqtt;
mod performative;
pub mod protocol;
mod representation;
pub mod sl0;
mod string;
pub mod view;
mod xml;

pub use bytes::Bytes;
pub use datetime::DateTime;
pub use error::Error;
pub use message::{AclMessage, AgentIdentifier, Expression};
pub use performative::{MessageType, Performative};
pub use representation::Representation;
pub use string::Limits;
