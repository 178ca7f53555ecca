//! From [`Content`] to SL0 text: canonical, single-spaced, each value in a form that parses back the same.
//! Printing is to bytes (a string constant may hold any bytes, written as `#N"…`); `Display` shows the same
//! text, with bytes that are not UTF-8 replaced.

use super::{Action, Content, ContentElement, Formula, Term};
use std::fmt::{self, Display, Formatter};

fn string(bytes: &[u8], out: &mut Vec<u8>) {
    crate::string::write_string(bytes, out);
}

fn list(head: &str, items: &[Term], out: &mut Vec<u8>) {
    out.push(b'(');
    out.extend_from_slice(head.as_bytes());
    for item in items {
        out.push(b' ');
        item.write(out);
    }
    out.push(b')');
}

impl Term {
    /// Appends the term's SL0 text to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            Term::Variable(v) => {
                out.push(b'?');
                out.extend_from_slice(v.as_bytes());
            }
            Term::Word(w) if crate::string::is_word(w) => out.extend_from_slice(w.as_bytes()),
            Term::Word(w) => string(w.as_bytes(), out),
            Term::String(s) => string(s, out),
            Term::Number(n) => out.extend_from_slice(n.as_bytes()),
            Term::DateTime(t) => out.extend_from_slice(t.to_string().as_bytes()),
            Term::Set(items) => list("set", items, out),
            Term::Sequence(items) => list("sequence", items, out),
            Term::Function { symbol, args } => list(symbol, args, out),
            Term::Frame { symbol, params } => {
                out.push(b'(');
                out.extend_from_slice(symbol.as_bytes());
                for (name, value) in params {
                    out.extend_from_slice(b" :");
                    out.extend_from_slice(name.as_bytes());
                    out.push(b' ');
                    value.write(out);
                }
                out.push(b')');
            }
            Term::Action(a) => a.write(out),
        }
    }
}

impl Action {
    /// Appends `(action actor act)` to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"(action ");
        self.actor.write(out);
        out.push(b' ');
        self.act.write(out);
        out.push(b')');
    }
}

impl Formula {
    /// Appends the formula's SL0 text to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            Formula::True => out.extend_from_slice(b"true"),
            Formula::False => out.extend_from_slice(b"false"),
            Formula::Symbol(s) => out.extend_from_slice(s.as_bytes()),
            Formula::Predicate { symbol, args } => list(symbol, args, out),
            Formula::Result(a, b) => {
                out.extend_from_slice(b"(result ");
                a.write(out);
                out.push(b' ');
                b.write(out);
                out.push(b')');
            }
            Formula::Done(a) => {
                out.extend_from_slice(b"(done ");
                a.write(out);
                out.push(b')');
            }
        }
    }
}

impl ContentElement {
    /// Appends the expression's SL0 text to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            ContentElement::Action(a) => a.write(out),
            ContentElement::Formula(p) => p.write(out),
        }
    }
}

impl Content {
    /// Appends `(` expressions `)` to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.push(b'(');
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            e.write(out);
        }
        out.push(b')');
    }
}

macro_rules! display_by_write {
    ($($t:ty),+) => {$(
        impl Display for $t {
            fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
                let mut out = Vec::new();
                self.write(&mut out);
                f.write_str(&String::from_utf8_lossy(&out))
            }
        }
    )+};
}

display_by_write!(Term, Action, Formula, ContentElement, Content);
