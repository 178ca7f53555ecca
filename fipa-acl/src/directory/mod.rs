//! The agent directory (FIPA SC00023): the directory facilitator's `df-agent-description`s with their
//! `service-description`s, the AMS's `ams-agent-description`s, template search, and the facilitator agent
//! that answers `register`, `deregister`, `modify` and `search` requests in SL0 over FIPA Request — the
//! plug & play discovery of a new power cell (PROP-02): a cell's agent registers the services it offers,
//! and peers find it by service type, ontology or protocol.
//!
//! Descriptions convert to and from their SL0 frames; parameters this crate does not model (JADE also
//! writes `:protocol`, `:ontology` and `:language` next to their plural forms) are ignored on input.

mod description;
mod facilitator;
mod registry;

pub use description::{AgentState, AmsAgentDescription, DfAgentDescription, ServiceDescription};
pub use facilitator::{Authorisation, DirectoryFacilitator, request};
pub use registry::{Directory, RegistryError};
