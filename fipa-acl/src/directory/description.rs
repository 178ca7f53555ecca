//! The descriptions the directory holds, as values and as SL0 frames (SC00023 §6).

use crate::datetime::DateTime;
use crate::message::AgentIdentifier;
use crate::sl0::Term;

/// A `service-description`: one service an agent offers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ServiceDescription {
    /// `:name`.
    pub name: Option<String>,
    /// `:type`, for example `idea-energy-router`.
    pub service_type: Option<String>,
    /// `:protocols` the service speaks.
    pub protocols: Vec<String>,
    /// `:ontologies`.
    pub ontologies: Vec<String>,
    /// `:languages`.
    pub languages: Vec<String>,
    /// `:ownership`.
    pub ownership: Option<String>,
    /// `:properties`: `(property :name n :value v)` pairs.
    pub properties: Vec<(String, Term)>,
}

/// A `df-agent-description`: an agent and the services it offers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct DfAgentDescription {
    /// `:name`, the agent (absent in a search template that matches any agent).
    pub name: Option<AgentIdentifier>,
    /// `:services`.
    pub services: Vec<ServiceDescription>,
    /// `:protocols`.
    pub protocols: Vec<String>,
    /// `:ontologies`.
    pub ontologies: Vec<String>,
    /// `:languages`.
    pub languages: Vec<String>,
    /// `:lease-time`: until when the registration holds, absolute or relative to its arrival (`+…`); none:
    /// until the agent deregisters (SC00023 §6.1.2).
    pub lease_time: Option<DateTime>,
}

/// The life-cycle state of an agent on its platform (SC00023 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AgentState {
    /// `initiated`.
    Initiated,
    /// `active`.
    Active,
    /// `suspended`.
    Suspended,
    /// `waiting`.
    Waiting,
    /// `transit`.
    Transit,
}

impl AgentState {
    const NAMES: [(AgentState, &'static str); 5] = [
        (AgentState::Initiated, "initiated"),
        (AgentState::Active, "active"),
        (AgentState::Suspended, "suspended"),
        (AgentState::Waiting, "waiting"),
        (AgentState::Transit, "transit"),
    ];

    /// The SL name.
    pub fn name(self) -> &'static str {
        AgentState::NAMES
            .iter()
            .find(|(s, _)| *s == self)
            .map_or("active", |(_, n)| n)
    }

    /// The state named `name`, ignoring case.
    pub fn from_name(name: &str) -> Option<AgentState> {
        AgentState::NAMES
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(name))
            .map(|(s, _)| *s)
    }
}

/// An `ams-agent-description`: an agent on the platform.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct AmsAgentDescription {
    /// `:name`.
    pub name: Option<AgentIdentifier>,
    /// `:ownership`.
    pub ownership: Option<String>,
    /// `:state`.
    pub state: Option<AgentState>,
}

fn words(items: &[String]) -> Term {
    Term::Set(items.iter().map(|s| Term::word(s.clone())).collect())
}

fn texts(term: Option<&Term>) -> Vec<String> {
    term.and_then(Term::members)
        .map(|items| {
            items
                .iter()
                .filter_map(|t| t.as_text().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn text(term: Option<&Term>) -> Option<String> {
    term.and_then(Term::as_text).map(str::to_owned)
}

fn push_text(params: &mut Vec<(String, Term)>, name: &str, value: &Option<String>) {
    if let Some(v) = value {
        params.push((name.to_owned(), Term::word(v.clone())));
    }
}

fn push_set(params: &mut Vec<(String, Term)>, name: &str, items: &[String]) {
    if !items.is_empty() {
        params.push((name.to_owned(), words(items)));
    }
}

impl ServiceDescription {
    /// The `service-description` frame.
    pub fn to_term(&self) -> Term {
        let mut params = Vec::new();
        push_text(&mut params, "name", &self.name);
        push_text(&mut params, "type", &self.service_type);
        push_set(&mut params, "protocols", &self.protocols);
        push_set(&mut params, "ontologies", &self.ontologies);
        push_set(&mut params, "languages", &self.languages);
        push_text(&mut params, "ownership", &self.ownership);
        if !self.properties.is_empty() {
            let properties = self
                .properties
                .iter()
                .map(|(n, v)| {
                    Term::frame(
                        "property",
                        [("name", Term::word(n.clone())), ("value", v.clone())],
                    )
                })
                .collect();
            params.push(("properties".to_owned(), Term::Set(properties)));
        }
        Term::Frame {
            symbol: "service-description".into(),
            params,
        }
    }

    /// From a `service-description` frame.
    pub fn from_term(term: &Term) -> Option<ServiceDescription> {
        if !term.symbol()?.eq_ignore_ascii_case("service-description") {
            return None;
        }
        let properties = term
            .param("properties")
            .and_then(Term::members)
            .unwrap_or_default()
            .iter()
            .filter_map(|p| Some((text(p.param("name"))?, p.param("value")?.clone())))
            .collect();
        Some(ServiceDescription {
            name: text(term.param("name")),
            service_type: text(term.param("type")),
            protocols: texts(term.param("protocols")),
            ontologies: texts(term.param("ontologies")),
            languages: texts(term.param("languages")),
            ownership: text(term.param("ownership")),
            properties,
        })
    }
}

impl DfAgentDescription {
    /// The `df-agent-description` frame.
    pub fn to_term(&self) -> Term {
        let mut params = Vec::new();
        if let Some(name) = &self.name {
            params.push(("name".to_owned(), Term::agent_identifier(name)));
        }
        if !self.services.is_empty() {
            params.push((
                "services".to_owned(),
                Term::Set(
                    self.services
                        .iter()
                        .map(ServiceDescription::to_term)
                        .collect(),
                ),
            ));
        }
        push_set(&mut params, "protocols", &self.protocols);
        push_set(&mut params, "ontologies", &self.ontologies);
        push_set(&mut params, "languages", &self.languages);
        if let Some(lease) = self.lease_time {
            params.push(("lease-time".to_owned(), Term::DateTime(lease)));
        }
        Term::Frame {
            symbol: "df-agent-description".into(),
            params,
        }
    }

    /// Whether this description matches `template` (SC00023 §6.1.4: every value the template gives is
    /// present here; a set in the template is a subset) — what a search or a subscription selects.
    pub fn matches(&self, template: &DfAgentDescription) -> bool {
        super::registry::df_matches(template, self)
    }

    /// From a `df-agent-description` frame (or the bare `(df-agent-description)` of an empty template).
    pub fn from_term(term: &Term) -> Option<DfAgentDescription> {
        if !term.symbol()?.eq_ignore_ascii_case("df-agent-description") {
            return None;
        }
        let services = term
            .param("services")
            .and_then(Term::members)
            .unwrap_or_default()
            .iter()
            .map(ServiceDescription::from_term)
            .collect::<Option<Vec<_>>>()?;
        let lease_time = match term.param("lease-time") {
            None => None,
            Some(Term::DateTime(lease)) => Some(*lease),
            Some(_) => return None,
        };
        Some(DfAgentDescription {
            name: term.param("name").and_then(Term::to_agent_identifier),
            services,
            protocols: texts(term.param("protocols")),
            ontologies: texts(term.param("ontologies")),
            languages: texts(term.param("languages")),
            lease_time,
        })
    }
}

impl AmsAgentDescription {
    /// The `ams-agent-description` frame.
    pub fn to_term(&self) -> Term {
        let mut params = Vec::new();
        if let Some(name) = &self.name {
            params.push(("name".to_owned(), Term::agent_identifier(name)));
        }
        push_text(&mut params, "ownership", &self.ownership);
        if let Some(state) = self.state {
            params.push(("state".to_owned(), Term::word(state.name())));
        }
        Term::Frame {
            symbol: "ams-agent-description".into(),
            params,
        }
    }

    /// From an `ams-agent-description` frame.
    pub fn from_term(term: &Term) -> Option<AmsAgentDescription> {
        if !term.symbol()?.eq_ignore_ascii_case("ams-agent-description") {
            return None;
        }
        let state = match term.param("state") {
            None => None,
            Some(s) => Some(AgentState::from_name(s.as_text()?)?),
        };
        Some(AmsAgentDescription {
            name: term.param("name").and_then(Term::to_agent_identifier),
            ownership: text(term.param("ownership")),
            state,
        })
    }
}
