//! The directory's store and its template matching (SC00023 §6.1.4: a description matches a template when
//! every value the template gives is present in the description; a set in the template is a subset).

use super::description::{AmsAgentDescription, DfAgentDescription, ServiceDescription};
use std::collections::BTreeMap;

/// Why a directory operation failed: the FIPA `failure` reasons of SC00023.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RegistryError {
    /// `already-registered`.
    AlreadyRegistered,
    /// `not-registered`.
    NotRegistered,
    /// The description has no `:name`.
    MissingName,
}

impl RegistryError {
    /// The SL0 proposition naming the reason.
    pub fn proposition(self) -> &'static str {
        match self {
            RegistryError::AlreadyRegistered => "already-registered",
            RegistryError::NotRegistered => "not-registered",
            RegistryError::MissingName => "missing-parameter",
        }
    }
}

fn subset(template: &[String], of: &[String]) -> bool {
    template.iter().all(|t| of.contains(t))
}

fn same<T: PartialEq>(template: &Option<T>, value: &Option<T>) -> bool {
    template.is_none() || template == value
}

fn service_matches(template: &ServiceDescription, s: &ServiceDescription) -> bool {
    same(&template.name, &s.name)
        && same(&template.service_type, &s.service_type)
        && same(&template.ownership, &s.ownership)
        && subset(&template.protocols, &s.protocols)
        && subset(&template.ontologies, &s.ontologies)
        && subset(&template.languages, &s.languages)
        && template.properties.iter().all(|p| s.properties.contains(p))
}

/// Whether `d` matches `template`.
pub(crate) fn df_matches(template: &DfAgentDescription, d: &DfAgentDescription) -> bool {
    template
        .name
        .as_ref()
        .is_none_or(|n| d.name.as_ref().is_some_and(|m| m.name == n.name))
        && subset(&template.protocols, &d.protocols)
        && subset(&template.ontologies, &d.ontologies)
        && subset(&template.languages, &d.languages)
        && template
            .services
            .iter()
            .all(|t| d.services.iter().any(|s| service_matches(t, s)))
}

fn ams_matches(template: &AmsAgentDescription, d: &AmsAgentDescription) -> bool {
    template
        .name
        .as_ref()
        .is_none_or(|n| d.name.as_ref().is_some_and(|m| m.name == n.name))
        && same(&template.ownership, &d.ownership)
        && same(&template.state, &d.state)
}

/// A description the directory files under its agent's name.
trait Named {
    fn agent(&self) -> Option<&crate::AgentIdentifier>;
}

impl Named for DfAgentDescription {
    fn agent(&self) -> Option<&crate::AgentIdentifier> {
        self.name.as_ref()
    }
}

impl Named for AmsAgentDescription {
    fn agent(&self) -> Option<&crate::AgentIdentifier> {
        self.name.as_ref()
    }
}

/// Descriptions of one kind, keyed by agent name.
#[derive(Debug, Clone)]
struct Table<D>(BTreeMap<String, D>);

impl<D> Default for Table<D> {
    fn default() -> Table<D> {
        Table(BTreeMap::new())
    }
}

impl<D: Named + Clone> Table<D> {
    fn key(d: &D) -> Result<String, RegistryError> {
        d.agent()
            .map(|n| n.name.clone())
            .ok_or(RegistryError::MissingName)
    }

    fn register(&mut self, d: D) -> Result<(), RegistryError> {
        let key = Table::key(&d)?;
        if self.0.contains_key(&key) {
            return Err(RegistryError::AlreadyRegistered);
        }
        self.0.insert(key, d);
        Ok(())
    }

    fn deregister(&mut self, d: &D) -> Result<(), RegistryError> {
        self.0
            .remove(&Table::key(d)?)
            .map(|_| ())
            .ok_or(RegistryError::NotRegistered)
    }

    fn modify(&mut self, d: D) -> Result<(), RegistryError> {
        let entry = self
            .0
            .get_mut(&Table::key(&d)?)
            .ok_or(RegistryError::NotRegistered)?;
        *entry = d;
        Ok(())
    }

    /// The descriptions `matches` takes, at most `max_results`; a template naming an agent (`name`) looks
    /// only at that agent's entry.
    fn search(
        &self,
        name: Option<&str>,
        matches: impl Fn(&D) -> bool,
        max_results: Option<usize>,
    ) -> Vec<D> {
        if let Some(name) = name {
            return self
                .0
                .get(name)
                .filter(|d| matches(d) && max_results != Some(0))
                .cloned()
                .into_iter()
                .collect();
        }
        self.0
            .values()
            .filter(|d| matches(d))
            .take(max_results.unwrap_or(usize::MAX))
            .cloned()
            .collect()
    }
}

/// The directory facilitator's and the AMS's registrations, keyed by agent name.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    df: Table<DfAgentDescription>,
    ams: Table<AmsAgentDescription>,
}

impl Directory {
    /// An empty directory.
    pub fn new() -> Directory {
        Directory::default()
    }

    /// Registers `d` with the DF.
    pub fn register(&mut self, d: DfAgentDescription) -> Result<(), RegistryError> {
        self.df.register(d)
    }

    /// Removes the DF registration of the agent `d` names.
    pub fn deregister(&mut self, d: &DfAgentDescription) -> Result<(), RegistryError> {
        self.df.deregister(d)
    }

    /// Replaces the DF registration of the agent `d` names.
    pub fn modify(&mut self, d: DfAgentDescription) -> Result<(), RegistryError> {
        self.df.modify(d)
    }

    /// The DF registration of the agent named `name`.
    pub fn df_description(&self, name: &str) -> Option<&DfAgentDescription> {
        self.df.0.get(name)
    }

    /// The DF registrations matching `template`, at most `max_results` of them, in agent-name order.
    pub fn search(
        &self,
        template: &DfAgentDescription,
        max_results: Option<usize>,
    ) -> Vec<DfAgentDescription> {
        let name = template.name.as_ref().map(|n| n.name.as_str());
        self.df
            .search(name, |d| df_matches(template, d), max_results)
    }

    /// Registers an agent with the AMS.
    pub fn register_agent(&mut self, d: AmsAgentDescription) -> Result<(), RegistryError> {
        self.ams.register(d)
    }

    /// Removes an agent from the AMS.
    pub fn deregister_agent(&mut self, d: &AmsAgentDescription) -> Result<(), RegistryError> {
        self.ams.deregister(d)
    }

    /// Replaces an agent's AMS description.
    pub fn modify_agent(&mut self, d: AmsAgentDescription) -> Result<(), RegistryError> {
        self.ams.modify(d)
    }

    /// The AMS descriptions matching `template`.
    pub fn search_agents(
        &self,
        template: &AmsAgentDescription,
        max_results: Option<usize>,
    ) -> Vec<AmsAgentDescription> {
        let name = template.name.as_ref().map(|n| n.name.as_str());
        self.ams
            .search(name, |d| ams_matches(template, d), max_results)
    }

    /// How many DF registrations there are.
    pub fn len(&self) -> usize {
        self.df.0.len()
    }

    /// Whether the DF has no registrations.
    pub fn is_empty(&self) -> bool {
        self.df.0.is_empty()
    }
}
