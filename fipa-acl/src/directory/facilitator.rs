//! The directory facilitator agent: FIPA Request (SC00026) with SL0 content in the `FIPA-Agent-Management`
//! ontology (SC00023) — `register`, `deregister`, `modify` and `search` of `df-agent-description`s and
//! `ams-agent-description`s — answered with `agree` then `inform` (`done` or `result`), or `refuse` /
//! `failure` with the SC00023 exception propositions.

use super::description::{AmsAgentDescription, DfAgentDescription};
use super::registry::Directory;
use crate::error::Error;
use crate::message::{AclMessage, AgentIdentifier};
use crate::performative::Performative;
use crate::protocol::{Responder, Timestamp, not_understood};
use crate::sl0::{Content, ContentElement, Formula, Term};

/// Who may register, modify or deregister a description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Authorisation {
    /// Only the agent a description names (the sender must be that agent). The default.
    SelfOnly,
    /// Any agent, for any agent but the facilitator itself (JADE's behaviour).
    Open,
}

/// The directory facilitator (and AMS) agent.
#[derive(Debug, Clone)]
pub struct DirectoryFacilitator {
    me: AgentIdentifier,
    directory: Directory,
    authorisation: Authorisation,
}

/// A description of either kind.
enum Description {
    Df(DfAgentDescription),
    Ams(AmsAgentDescription),
}

impl Description {
    fn name(&self) -> Option<&AgentIdentifier> {
        match self {
            Description::Df(d) => d.name.as_ref(),
            Description::Ams(d) => d.name.as_ref(),
        }
    }
}

/// An SL0 proposition `(symbol args…)`.
fn proposition(symbol: &str, args: Vec<Term>) -> ContentElement {
    ContentElement::Formula(Formula::Predicate {
        symbol: symbol.to_owned(),
        args,
    })
}

/// The FIPA Request asking directory `df` to perform `act` (`(register (df-agent-description …))`,
/// `(search (df-agent-description …) (search-constraints …))`, …): SL0 content in the
/// `FIPA-Agent-Management` ontology, ready for a [`crate::protocol::Initiator`].
pub fn request(df: &AgentIdentifier, act: Term) -> AclMessage {
    let content = Content::one(ContentElement::Action(crate::sl0::Action {
        actor: Term::agent_identifier(df),
        act,
    }));
    let mut m = AclMessage::new(Performative::Request).content(content.to_bytes());
    m.language = Some("fipa-sl0".into());
    m.ontology = Some("FIPA-Agent-Management".into());
    m
}

impl DirectoryFacilitator {
    /// A facilitator named `me` over an empty directory, with [`Authorisation::SelfOnly`].
    pub fn new(me: AgentIdentifier) -> DirectoryFacilitator {
        DirectoryFacilitator {
            me,
            directory: Directory::new(),
            authorisation: Authorisation::SelfOnly,
        }
    }

    /// With another authorisation policy.
    pub fn with_authorisation(mut self, authorisation: Authorisation) -> DirectoryFacilitator {
        self.authorisation = authorisation;
        self
    }

    /// The directory.
    pub fn directory(&self) -> &Directory {
        &self.directory
    }

    /// The directory, to change by hand (a lease that ran out is taken out by the application that keeps
    /// the time).
    pub fn directory_mut(&mut self) -> &mut Directory {
        &mut self.directory
    }

    /// The facilitator's identifier.
    pub fn identifier(&self) -> &AgentIdentifier {
        &self.me
    }

    /// Answers one request; returns the messages to send (`agree` and `inform`/`failure`, or one `refuse`
    /// or `not-understood`).
    pub fn handle(&mut self, m: AclMessage, now: Timestamp) -> Vec<AclMessage> {
        if m.performative != Performative::Request {
            if m.performative == Performative::NotUnderstood {
                return Vec::new();
            }
            return vec![not_understood(
                &m,
                &self.me,
                "the directory answers requests",
            )];
        }
        let mut responder = match Responder::new(self.me.clone(), m.clone(), now) {
            Ok(r) => r,
            Err(e) => return vec![not_understood(&m, &self.me, &e.to_string())],
        };
        let answered = self.answer(&mut responder, &m);
        if let Err(e) = answered {
            return vec![not_understood(&m, &self.me, &e.to_string())];
        }
        std::iter::from_fn(|| responder.poll_transmit())
            .map(|mut reply| {
                reply.language = m.language.clone();
                reply.ontology = m.ontology.clone();
                reply
            })
            .collect()
    }

    fn refuse(responder: &mut Responder, content: Content) -> Result<(), Error> {
        responder.refuse(content.to_bytes())
    }

    fn answer(&mut self, responder: &mut Responder, m: &AclMessage) -> Result<(), Error> {
        let text = m.content.as_deref().unwrap_or_default();
        let content = match Content::parse(text) {
            Ok(c) => c,
            Err(Error::MissingValue {
                function,
                parameter,
                ..
            }) => {
                let reason = proposition(
                    "missing-parameter",
                    vec![Term::word(function), Term::word(parameter)],
                );
                return DirectoryFacilitator::refuse(responder, Content::one(reason));
            }
            Err(e) => return Err(e),
        };
        let [ContentElement::Action(action)] = &content.0[..] else {
            return Err(Error::Invalid {
                field: "content",
                reason: "expected one action".into(),
            });
        };
        let refuse_with = |responder: &mut Responder, reason: &str, args: Vec<Term>| {
            DirectoryFacilitator::refuse(
                responder,
                Content(vec![
                    ContentElement::Action(action.clone()),
                    proposition(reason, args),
                ]),
            )
        };
        let Some(function) = action.act.symbol().map(str::to_ascii_lowercase) else {
            return refuse_with(responder, "unrecognised-value", vec![Term::word("action")]);
        };
        if !["register", "deregister", "modify", "search"].contains(&function.as_str()) {
            return refuse_with(
                responder,
                "unsupported-function",
                vec![Term::word(function)],
            );
        }
        let args: &[Term] = match &action.act {
            Term::Function { args, .. } => args,
            _ => &[],
        };
        let description = match args.first() {
            None => return refuse_with(responder, "missing-argument", vec![Term::word(function)]),
            Some(t) => match (
                DfAgentDescription::from_term(t),
                AmsAgentDescription::from_term(t),
            ) {
                (Some(d), _) => Description::Df(d),
                (_, Some(d)) => Description::Ams(d),
                _ => {
                    let what = t.symbol().unwrap_or("description").to_owned();
                    return refuse_with(responder, "unrecognised-value", vec![Term::word(what)]);
                }
            },
        };
        if function != "search" {
            let Some(name) = description.name() else {
                let frame = match description {
                    Description::Df(_) => "df-agent-description",
                    Description::Ams(_) => "ams-agent-description",
                };
                return refuse_with(
                    responder,
                    "missing-parameter",
                    vec![Term::word(frame), Term::word("name")],
                );
            };
            let sender = m.sender.as_ref().map(|s| s.name.as_str());
            let allowed = name.name != self.me.name
                && (self.authorisation == Authorisation::Open
                    || sender == Some(name.name.as_str()));
            if !allowed {
                return refuse_with(responder, "unauthorised", vec![]);
            }
        }
        responder.agree()?;
        let max_results = args
            .get(1)
            .and_then(|c| c.param("max-results"))
            .and_then(Term::as_text)
            .and_then(|n| n.parse::<i64>().ok())
            .and_then(|n| usize::try_from(n).ok());
        let result = match (function.as_str(), description) {
            ("search", Description::Df(t)) => Ok(Some(
                self.directory
                    .search(&t, max_results)
                    .iter()
                    .map(DfAgentDescription::to_term)
                    .collect(),
            )),
            ("search", Description::Ams(t)) => Ok(Some(
                self.directory
                    .search_agents(&t, max_results)
                    .iter()
                    .map(AmsAgentDescription::to_term)
                    .collect(),
            )),
            ("register", Description::Df(d)) => self.directory.register(d).map(|()| None),
            ("register", Description::Ams(d)) => self.directory.register_agent(d).map(|()| None),
            ("deregister", Description::Df(d)) => self.directory.deregister(&d).map(|()| None),
            ("deregister", Description::Ams(d)) => {
                self.directory.deregister_agent(&d).map(|()| None)
            }
            // The remaining function, checked above, is modify.
            (_, Description::Df(d)) => self.directory.modify(d).map(|()| None),
            (_, Description::Ams(d)) => self.directory.modify_agent(d).map(|()| None),
        };
        let action = action.clone();
        match result {
            Ok(Some(found)) => responder.inform(
                Content::one(ContentElement::Formula(Formula::Result(
                    Term::Action(Box::new(action)),
                    Term::Sequence(found),
                )))
                .to_bytes(),
            ),
            Ok(None) => responder
                .inform(Content::one(ContentElement::Formula(Formula::Done(action))).to_bytes()),
            Err(e) => responder.failure(
                Content(vec![
                    ContentElement::Action(action),
                    proposition(e.proposition(), vec![]),
                ])
                .to_bytes(),
            ),
        }
    }
}
