//! FIPA SL0 content (SC00008, the SL0 subset): content expressions as typed values, parsed from the same
//! lexical tokens as the string representation and printed back canonically.
//!
//! SL0 has actions (`(action agent term)`), the `done` and `result` formulae, predicates, `true`/`false`,
//! proposition symbols, and terms: constants (words, strings, numbers, date-times), variables (`?x`), sets,
//! sequences and functional terms — with positional arguments (`(search d c)`) or named parameters
//! (`(agent-identifier :name a)`). Agent identifiers convert to and from their SL0 frames.
//!
//! Not supported: the connectives and quantifiers of SL1/SL2 (`and`, `or`, `not`, `forall`, …), identifying
//! expressions (`iota`, `any`, `all`) and modal operators; they parse as predicates or are refused where SL0
//! does not allow them.
//!
//! ```
//! use fipa_acl::sl0::{Content, ContentElement, Term};
//! let content = Content::parse(b"((action (agent-identifier :name df@p) (search (df-agent-description) (search-constraints))))")?;
//! let ContentElement::Action(action) = &content.0[0] else { unreachable!() };
//! assert_eq!(action.actor.to_agent_identifier().unwrap().name, "df@p");
//! assert_eq!(action.act.symbol(), Some("search"));
//! assert_eq!(Content::parse(&content.to_bytes())?, content);
//! # Ok::<(), fipa_acl::Error>(())
//! ```

mod parse;
mod print;

use crate::datetime::DateTime;
use crate::message::AgentIdentifier;

/// An SL0 term.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Term {
    /// A variable, `?name` (the name without `?`).
    Variable(String),
    /// A constant written as a word.
    Word(String),
    /// A string constant (quoted or byte-length): bytes.
    String(Vec<u8>),
    /// A numerical constant, as written.
    Number(String),
    /// A date-time constant.
    DateTime(DateTime),
    /// `(set t…)`.
    Set(Vec<Term>),
    /// `(sequence t…)`.
    Sequence(Vec<Term>),
    /// A functional term with positional arguments, `(f t…)`.
    Function {
        /// The function symbol.
        symbol: String,
        /// The arguments.
        args: Vec<Term>,
    },
    /// A functional term with named parameters, `(f :p v …)` — how ontologies write concepts.
    Frame {
        /// The function symbol.
        symbol: String,
        /// Parameters in order, names without `:`.
        params: Vec<(String, Term)>,
    },
    /// An action expression used as a term.
    Action(Box<Action>),
}

/// `(action agent act)`: `actor` performs `act`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Action {
    /// The agent, normally an `agent-identifier` frame.
    pub actor: Term,
    /// The act, normally a functional term.
    pub act: Term,
}

/// An SL0 well-formed formula.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Formula {
    /// `true`.
    True,
    /// `false`.
    False,
    /// A proposition symbol.
    Symbol(String),
    /// `(p t…)`.
    Predicate {
        /// The predicate symbol.
        symbol: String,
        /// Its arguments.
        args: Vec<Term>,
    },
    /// `(result term term)`: the first evaluates to the second.
    Result(Term, Term),
    /// `(done action)`: the action has been done.
    Done(Action),
}

/// One content expression.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ContentElement {
    /// An action expression (the content of a `request`).
    Action(Action),
    /// A proposition (the content of an `inform`).
    Formula(Formula),
}

/// SL0 content: `(` content expressions `)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Content(pub Vec<ContentElement>);

impl Term {
    /// A word constant.
    pub fn word(w: impl Into<String>) -> Term {
        Term::Word(w.into())
    }

    /// A frame `(symbol :name value …)`.
    pub fn frame<N: Into<String>>(
        symbol: &str,
        params: impl IntoIterator<Item = (N, Term)>,
    ) -> Term {
        Term::Frame {
            symbol: symbol.to_owned(),
            params: params.into_iter().map(|(n, v)| (n.into(), v)).collect(),
        }
    }

    /// The function symbol of a functional term or frame.
    pub fn symbol(&self) -> Option<&str> {
        match self {
            Term::Function { symbol, .. } | Term::Frame { symbol, .. } => Some(symbol),
            _ => None,
        }
    }

    /// Parameter `name` of a frame (names compare ignoring case, as SL keywords do).
    pub fn param(&self, name: &str) -> Option<&Term> {
        match self {
            Term::Frame { params, .. } => params
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The text of a word or UTF-8 string constant.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Term::Word(w) | Term::Number(w) => Some(w),
            Term::String(s) => std::str::from_utf8(s).ok(),
            _ => None,
        }
    }

    /// The members of a set or sequence.
    pub fn members(&self) -> Option<&[Term]> {
        match self {
            Term::Set(items) | Term::Sequence(items) => Some(items),
            _ => None,
        }
    }

    /// The `agent-identifier` frame of `aid` (SC00023).
    pub fn agent_identifier(aid: &AgentIdentifier) -> Term {
        let mut params = vec![("name".to_owned(), text_term(&aid.name))];
        if !aid.addresses.is_empty() {
            params.push((
                "addresses".to_owned(),
                Term::Sequence(aid.addresses.iter().map(|a| text_term(a)).collect()),
            ));
        }
        if !aid.resolvers.is_empty() {
            params.push((
                "resolvers".to_owned(),
                Term::Sequence(aid.resolvers.iter().map(Term::agent_identifier).collect()),
            ));
        }
        Term::Frame {
            symbol: "agent-identifier".to_owned(),
            params,
        }
    }

    /// This term as an agent identifier, if it is an `agent-identifier` frame with a name.
    pub fn to_agent_identifier(&self) -> Option<AgentIdentifier> {
        if !self.symbol()?.eq_ignore_ascii_case("agent-identifier") {
            return None;
        }
        let mut aid = AgentIdentifier::new(self.param("name")?.as_text()?);
        if let Some(addresses) = self.param("addresses").and_then(Term::members) {
            aid.addresses = addresses
                .iter()
                .filter_map(|a| a.as_text().map(str::to_owned))
                .collect();
        }
        if let Some(resolvers) = self.param("resolvers").and_then(Term::members) {
            aid.resolvers = resolvers
                .iter()
                .filter_map(Term::to_agent_identifier)
                .collect();
        }
        Some(aid)
    }
}

/// A word where `text` is one, else a string.
fn text_term(text: &str) -> Term {
    if crate::string::is_word(text) && !text.starts_with(['?', ':']) {
        Term::Word(text.to_owned())
    } else {
        Term::String(text.as_bytes().to_vec())
    }
}

impl Content {
    /// Parses SL0 content (`(` expressions `)`) with the default [`crate::Limits`].
    pub fn parse(text: &[u8]) -> Result<Content, crate::Error> {
        parse::content(text, &crate::Limits::default())
    }

    /// As [`Content::parse`], with explicit limits.
    pub fn parse_with(text: &[u8], limits: &crate::Limits) -> Result<Content, crate::Error> {
        parse::content(text, limits)
    }

    /// One content expression.
    pub fn one(element: ContentElement) -> Content {
        Content(vec![element])
    }

    /// The printed content as bytes, ready for `:content`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out);
        out
    }
}
