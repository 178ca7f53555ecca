//! The `Expression` of the string representation (FIPA SC00070 clause 2.1): the value of `:language`,
//! `:encoding`, `:ontology`, `:conversation-id`, `:reply-with`, `:in-reply-to` and of user-defined
//! parameters — a word, a string, a number, a date-time or a parenthesised list of expressions.

use crate::datetime::DateTime;
use std::borrow::Cow;
use std::fmt;

/// An expression as the string representation carries it (SC00070 `Expression`). It is kept as it was
/// written — a string stays a string and a list a list — so a message is written back the way it came.
///
/// From text ([`From<&str>`]): a word when the text is one (SC00070 `Word`), else a string; that is how
/// identifiers such as conversation ids are made.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Expression {
    /// A word.
    Word(String),
    /// A string (quoted or byte-length encoded): bytes, not necessarily UTF-8.
    String(Vec<u8>),
    /// A number, as written.
    Number(String),
    /// A date-time.
    DateTime(DateTime),
    /// A parenthesised list of expressions.
    List(Vec<Expression>),
}

impl Expression {
    /// Its value as text when it has one: a word or a number as written, a string's characters (when
    /// UTF-8), a date-time in its FIPA form; `None` for a list or a string that is not UTF-8. Two
    /// expressions with the same text may still differ (the word `abc` and the string `"abc"`).
    pub fn as_text(&self) -> Option<Cow<'_, str>> {
        match self {
            Expression::Word(w) | Expression::Number(w) => Some(Cow::Borrowed(w)),
            Expression::String(s) => std::str::from_utf8(s).ok().map(Cow::Borrowed),
            Expression::DateTime(t) => Some(Cow::Owned(t.to_string())),
            Expression::List(_) => None,
        }
    }

    /// Whether its text (see [`Expression::as_text`]) is `text`.
    pub fn is_text(&self, text: &str) -> bool {
        self.as_text().is_some_and(|t| t == text)
    }
}

impl From<&str> for Expression {
    fn from(text: &str) -> Expression {
        if crate::string::is_word(text) {
            Expression::Word(text.to_owned())
        } else {
            Expression::String(text.as_bytes().to_vec())
        }
    }
}

impl From<String> for Expression {
    fn from(text: String) -> Expression {
        if crate::string::is_word(&text) {
            Expression::Word(text)
        } else {
            Expression::String(text.into_bytes())
        }
    }
}

impl From<&String> for Expression {
    fn from(text: &String) -> Expression {
        Expression::from(text.as_str())
    }
}

/// The string representation of the expression (a word or number that is not one is written as a string).
impl fmt::Display for Expression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Vec::new();
        crate::string::write_expression_lenient(self, &mut out);
        f.write_str(&String::from_utf8_lossy(&out))
    }
}
