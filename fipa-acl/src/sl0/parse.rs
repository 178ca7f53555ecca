//! From SL0 text to [`Content`], on the string representation's tokenizer.

use super::{Action, Content, ContentElement, Formula, Term};
use crate::error::Error;
use crate::string::Limits;
use crate::string::tree::{Kind, Node, Parser};

fn error(at: usize, field: &'static str, reason: impl Into<String>) -> Error {
    Error::Decode {
        offset: at,
        field,
        reason: reason.into(),
    }
}

fn keyword(node: &Node) -> Option<&str> {
    match &node.kind {
        Kind::Word(w) if w.len() > 1 => w.strip_prefix(':'),
        _ => None,
    }
}

fn symbol(node: &Node, field: &'static str) -> Result<String, Error> {
    match &node.kind {
        Kind::Word(w) if !w.starts_with([':', '?']) => Ok(w.clone()),
        _ => Err(error(node.at, field, "expected a symbol")),
    }
}

fn terms(nodes: impl IntoIterator<Item = Node>) -> Result<Vec<Term>, Error> {
    nodes.into_iter().map(term).collect()
}

/// `(action agent act)`, the `action` word already taken.
fn action(at: usize, mut rest: std::vec::IntoIter<Node>) -> Result<Action, Error> {
    match (rest.next(), rest.next(), rest.next()) {
        (Some(actor), Some(act), None) => Ok(Action {
            actor: term(actor)?,
            act: term(act)?,
        }),
        _ => Err(error(at, "sl0 action", "expected (action agent term)")),
    }
}

fn term(node: Node) -> Result<Term, Error> {
    let at = node.at;
    Ok(match node.kind {
        Kind::Word(w) => match w.strip_prefix('?') {
            Some(name) if !name.is_empty() => Term::Variable(name.to_owned()),
            _ if w.starts_with(':') => {
                return Err(error(
                    at,
                    "sl0 term",
                    format!("parameter name {w} out of place"),
                ));
            }
            _ => Term::Word(w),
        },
        Kind::String(s) => Term::String(s),
        Kind::Number(n) => Term::Number(n),
        Kind::DateTime(t) => Term::DateTime(t),
        Kind::List(items) => {
            let mut items = items.into_iter();
            let head = items
                .next()
                .ok_or_else(|| error(at, "sl0 term", "empty parentheses"))?;
            let head = symbol(&head, "sl0 function symbol")?;
            let rest: Vec<Node> = items.collect();
            if head.eq_ignore_ascii_case("set") {
                Term::Set(terms(rest)?)
            } else if head.eq_ignore_ascii_case("sequence") {
                Term::Sequence(terms(rest)?)
            } else if head.eq_ignore_ascii_case("action") {
                Term::Action(Box::new(action(at, rest.into_iter())?))
            } else if rest.first().is_some_and(|n| keyword(n).is_some()) {
                frame(head, rest)?
            } else {
                Term::Function {
                    symbol: head,
                    args: terms(rest)?,
                }
            }
        }
    })
}

/// `(f :p v …)`: every parameter name followed by a value.
fn frame(symbol: String, rest: Vec<Node>) -> Result<Term, Error> {
    let mut params = Vec::with_capacity(rest.len() / 2);
    let mut rest = rest.into_iter().peekable();
    while let Some(name) = rest.next() {
        let Some(key) = keyword(&name) else {
            return Err(error(
                name.at,
                "sl0 parameter",
                format!("{symbol}: expected a parameter name, found a positional argument"),
            ));
        };
        let key = key.to_owned();
        match rest.peek() {
            Some(value) if keyword(value).is_none() => {
                let value = rest.next().map(term).transpose()?;
                if let Some(value) = value {
                    params.push((key, value));
                }
            }
            _ => {
                return Err(Error::MissingValue {
                    offset: name.at,
                    function: symbol,
                    parameter: key,
                });
            }
        }
    }
    Ok(Term::Frame { symbol, params })
}

fn element(node: Node) -> Result<ContentElement, Error> {
    let at = node.at;
    match node.kind {
        Kind::Word(w) if w.eq_ignore_ascii_case("true") => {
            Ok(ContentElement::Formula(Formula::True))
        }
        Kind::Word(w) if w.eq_ignore_ascii_case("false") => {
            Ok(ContentElement::Formula(Formula::False))
        }
        Kind::Word(w) if !w.starts_with([':', '?']) => {
            Ok(ContentElement::Formula(Formula::Symbol(w)))
        }
        Kind::List(items) => {
            let mut items = items.into_iter();
            let head = items
                .next()
                .ok_or_else(|| error(at, "sl0 content", "empty parentheses"))?;
            let head = symbol(&head, "sl0 content")?;
            let rest: Vec<Node> = items.collect();
            if head.eq_ignore_ascii_case("action") {
                return action(at, rest.into_iter()).map(ContentElement::Action);
            }
            let formula = if head.eq_ignore_ascii_case("done") {
                let mut rest = rest.into_iter();
                match (rest.next(), rest.next()) {
                    (
                        Some(Node {
                            at,
                            kind: Kind::List(inner),
                        }),
                        None,
                    ) => {
                        let mut inner = inner.into_iter();
                        match inner.next() {
                            Some(Node {
                                kind: Kind::Word(w),
                                ..
                            }) if w.eq_ignore_ascii_case("action") => {
                                Formula::Done(action(at, inner.collect::<Vec<_>>().into_iter())?)
                            }
                            _ => return Err(error(at, "sl0 done", "expected (done (action …))")),
                        }
                    }
                    _ => return Err(error(at, "sl0 done", "expected (done (action …))")),
                }
            } else if head.eq_ignore_ascii_case("result") {
                let mut rest = rest.into_iter();
                match (rest.next(), rest.next(), rest.next()) {
                    (Some(a), Some(b), None) => Formula::Result(term(a)?, term(b)?),
                    _ => return Err(error(at, "sl0 result", "expected (result term term)")),
                }
            } else {
                Formula::Predicate {
                    symbol: head,
                    args: terms(rest)?,
                }
            };
            Ok(ContentElement::Formula(formula))
        }
        _ => Err(error(
            at,
            "sl0 content",
            "expected an action or a proposition",
        )),
    }
}

/// Parses SL0 content with `limits`.
pub(super) fn content(text: &[u8], limits: &Limits) -> Result<Content, Error> {
    if text.len() > limits.max_size {
        return Err(Error::Limit {
            offset: limits.max_size,
            what: "content size",
        });
    }
    let mut parser = Parser::new(text, limits);
    let root = parser.node(0)?;
    parser.skip_space();
    if parser.position() != text.len() {
        return Err(error(
            parser.position(),
            "sl0 content",
            "text after the content",
        ));
    }
    let Kind::List(items) = root.kind else {
        return Err(error(
            root.at,
            "sl0 content",
            "expected ( content expressions )",
        ));
    };
    if items.is_empty() {
        return Err(error(root.at, "sl0 content", "no content expression"));
    }
    items
        .into_iter()
        .map(element)
        .collect::<Result<_, _>>()
        .map(Content)
}
