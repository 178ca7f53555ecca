//! The MATPOWER case format (version 2) as text: `mpc.baseMVA = …;` and the `mpc.bus`, `mpc.gen`,
//! `mpc.branch` matrices. Other `mpc.` fields (gencost, bus names, areas) are read past; any statement that is
//! not a plain `mpc.field = value` assignment is refused with its line, because case files sometimes carry
//! MATLAB code that converts units in place and ignoring it would silently change the network.

use super::{Branch, Bus, BusType, Case, Generator};
use crate::error::{Error, Result};
use std::fmt::Write as _;

/// The largest case file accepted, in bytes.
pub const MAX_CASE_BYTES: usize = 64 << 20;

struct Scanner<'a> {
    text: &'a [u8],
    pos: usize,
    line: usize,
}

enum Value {
    Number(f64),
    Text,
    Matrix(Vec<Vec<f64>>),
    Cell,
}

impl<'a> Scanner<'a> {
    fn error<T>(&self, reason: impl Into<String>) -> Result<T> {
        Err(Error::CaseSyntax {
            line: self.line,
            reason: reason.into(),
        })
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.pos = self.pos.saturating_add(1);
        if c == b'\n' {
            self.line = self.line.saturating_add(1);
        }
        Some(c)
    }

    fn skip_to_line_end(&mut self) {
        while let Some(c) = self.peek() {
            if c == b'\n' {
                break;
            }
            self.bump();
        }
    }

    /// Skips blanks and comments; newlines too when `newlines` is set.
    fn skip_space(&mut self, newlines: bool) {
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\t' | b'\r' => {
                    self.bump();
                }
                b'\n' if newlines => {
                    self.bump();
                }
                b'%' => self.skip_to_line_end(),
                b'.' if self.text.get(self.pos..self.pos.saturating_add(3)) == Some(b"...") => {
                    // Line continuation: the rest of the line and the newline.
                    self.skip_to_line_end();
                    self.bump();
                }
                _ => break,
            }
        }
    }

    fn word(&mut self) -> &'a str {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
        {
            self.bump();
        }
        std::str::from_utf8(self.text.get(start..self.pos).unwrap_or_default()).unwrap_or_default()
    }

    fn number(&mut self) -> Result<f64> {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'+' | b'-'))
        {
            self.bump();
        }
        let token = std::str::from_utf8(self.text.get(start..self.pos).unwrap_or_default())
            .unwrap_or_default();
        match token {
            "Inf" | "inf" | "+Inf" => Ok(f64::INFINITY),
            "-Inf" | "-inf" => Ok(f64::NEG_INFINITY),
            _ if token
                .chars()
                .any(|c| c.is_ascii_alphabetic() && !matches!(c, 'e' | 'E')) =>
            {
                self.error(format!("{token:?} is not a number"))
            }
            _ => token
                .parse::<f64>()
                .or_else(|_| self.error(format!("{token:?} is not a number"))),
        }
    }

    fn matrix(&mut self) -> Result<Vec<Vec<f64>>> {
        let mut rows: Vec<Vec<f64>> = Vec::new();
        let mut row = Vec::new();
        loop {
            self.skip_space(false);
            match self.peek() {
                None => return self.error("the matrix is not closed with ]"),
                Some(b']') => {
                    self.bump();
                    break;
                }
                Some(b';' | b'\n') => {
                    self.bump();
                    if !row.is_empty() {
                        rows.push(std::mem::take(&mut row));
                    }
                }
                Some(b',') => {
                    self.bump();
                }
                Some(_) => {
                    if rows.len() >= 10_000_000 {
                        return self.error("more than 10,000,000 rows");
                    }
                    row.push(self.number()?);
                }
            }
        }
        if !row.is_empty() {
            rows.push(row);
        }
        Ok(rows)
    }

    fn skip_cell(&mut self) -> Result<()> {
        let mut depth = 0usize;
        while let Some(c) = self.bump() {
            match c {
                b'{' => depth = depth.saturating_add(1),
                b'}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return Ok(());
                    }
                }
                b'\'' => self.skip_string()?,
                _ => {}
            }
        }
        self.error("the cell array is not closed with }")
    }

    fn skip_string(&mut self) -> Result<()> {
        while let Some(c) = self.bump() {
            match c {
                b'\'' if self.peek() == Some(b'\'') => {
                    self.bump();
                }
                b'\'' => return Ok(()),
                b'\n' => return self.error("a string runs past the end of its line"),
                _ => {}
            }
        }
        self.error("a string is not closed")
    }

    fn value(&mut self) -> Result<Value> {
        self.skip_space(false);
        match self.peek() {
            Some(b'[') => {
                self.bump();
                self.matrix().map(Value::Matrix)
            }
            Some(b'{') => {
                self.skip_cell()?;
                Ok(Value::Cell)
            }
            Some(b'\'') => {
                self.bump();
                self.skip_string()?;
                Ok(Value::Text)
            }
            Some(_) => self.number().map(Value::Number),
            None => self.error("a value is missing"),
        }
    }
}

struct Tables {
    base_mva: Option<f64>,
    bus: Option<Vec<Vec<f64>>>,
    generators: Option<Vec<Vec<f64>>>,
    branch: Option<Vec<Vec<f64>>>,
}

pub(super) fn parse(text: &str) -> Result<Case> {
    if text.len() > MAX_CASE_BYTES {
        return Err(Error::CaseSyntax {
            line: 1,
            reason: format!("larger than {MAX_CASE_BYTES} bytes"),
        });
    }
    let mut s = Scanner {
        text: text.as_bytes(),
        pos: 0,
        line: 1,
    };
    let mut t = Tables {
        base_mva: None,
        bus: None,
        generators: None,
        branch: None,
    };
    loop {
        s.skip_space(true);
        if s.peek().is_none() {
            break;
        }
        if s.peek() == Some(b';') {
            s.bump();
            continue;
        }
        let line = s.line;
        let head = s.word();
        if head == "function" {
            s.skip_to_line_end();
            continue;
        }
        if head != "mpc" || s.peek() != Some(b'.') {
            return s.error("only `function …` and `mpc.field = value;` statements are supported");
        }
        s.bump();
        let field = s.word();
        s.skip_space(false);
        if s.peek() != Some(b'=') {
            return s.error(format!(
                "mpc.{field} is modified in place; give the case in standard MATPOWER units instead"
            ));
        }
        s.bump();
        let value = s.value()?;
        let wrong = |what: &str| {
            Err(Error::CaseSyntax {
                line,
                reason: format!("mpc.{field} must be {what}"),
            })
        };
        match (field, value) {
            ("baseMVA", Value::Number(n)) => t.base_mva = Some(n),
            ("baseMVA", _) => return wrong("a number"),
            ("bus", Value::Matrix(m)) => t.bus = Some(check_width(m, 13, "bus", line)?),
            ("gen", Value::Matrix(m)) => t.generators = Some(check_width(m, 8, "gen", line)?),
            ("branch", Value::Matrix(m)) => t.branch = Some(check_width(m, 11, "branch", line)?),
            ("bus" | "gen" | "branch", _) => return wrong("a matrix"),
            _ => {}
        }
        s.skip_space(false);
        if s.peek() == Some(b';') {
            s.bump();
        }
    }
    let missing = |what: &str| Error::CaseData(format!("the case has no {what}"));
    let case = Case {
        base_mva: t.base_mva.ok_or_else(|| missing("mpc.baseMVA"))?,
        buses: t
            .bus
            .ok_or_else(|| missing("mpc.bus"))?
            .iter()
            .enumerate()
            .map(|(i, r)| bus(i, r))
            .collect::<Result<_>>()?,
        generators: t
            .generators
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(i, r)| generator(i, r))
            .collect::<Result<_>>()?,
        branches: t
            .branch
            .ok_or_else(|| missing("mpc.branch"))?
            .iter()
            .enumerate()
            .map(|(i, r)| branch(i, r))
            .collect::<Result<_>>()?,
    };
    case.validate()?;
    Ok(case)
}

fn check_width(m: Vec<Vec<f64>>, width: usize, name: &str, line: usize) -> Result<Vec<Vec<f64>>> {
    if let Some((i, r)) = m.iter().enumerate().find(|(_, r)| r.len() < width) {
        return Err(Error::CaseSyntax {
            line,
            reason: format!(
                "mpc.{name} row {} has {} columns, at least {width} are needed",
                i + 1,
                r.len()
            ),
        });
    }
    Ok(m)
}

fn col(row: &[f64], i: usize) -> f64 {
    row.get(i).copied().unwrap_or(0.0)
}

fn bus_number(value: f64, what: &str) -> Result<u32> {
    if value.fract() == 0.0 && value >= 1.0 && value <= f64::from(u32::MAX) {
        // Checked integral and in range just above.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Ok(value as u32)
    } else {
        Err(Error::CaseData(format!(
            "{what}: {value} is not a bus number"
        )))
    }
}

fn bus(i: usize, r: &[f64]) -> Result<Bus> {
    let id = bus_number(col(r, 0), &format!("bus row {}", i + 1))?;
    let bus_type = match col(r, 1) {
        1.0 => BusType::Pq,
        2.0 => BusType::Pv,
        3.0 => BusType::Reference,
        4.0 => BusType::Isolated,
        t => {
            return Err(Error::CaseData(format!(
                "bus {id}: type {t} is not 1, 2, 3 or 4"
            )));
        }
    };
    Ok(Bus {
        id,
        bus_type,
        pd_mw: col(r, 2),
        qd_mvar: col(r, 3),
        gs_mw: col(r, 4),
        bs_mvar: col(r, 5),
        vm_pu: col(r, 7),
        va_deg: col(r, 8),
        base_kv: col(r, 9),
        vmax_pu: col(r, 11),
        vmin_pu: col(r, 12),
    })
}

fn generator(i: usize, r: &[f64]) -> Result<Generator> {
    Ok(Generator {
        bus: bus_number(col(r, 0), &format!("gen row {}", i + 1))?,
        pg_mw: col(r, 1),
        qg_mvar: col(r, 2),
        vg_pu: col(r, 5),
        in_service: col(r, 7) > 0.0,
    })
}

fn branch(i: usize, r: &[f64]) -> Result<Branch> {
    let what = format!("branch row {}", i + 1);
    Ok(Branch {
        from: bus_number(col(r, 0), &what)?,
        to: bus_number(col(r, 1), &what)?,
        r_pu: col(r, 2),
        x_pu: col(r, 3),
        b_pu: col(r, 4),
        rate_a_mva: col(r, 5),
        ratio: col(r, 8),
        shift_deg: col(r, 9),
        in_service: col(r, 10) > 0.0,
    })
}

pub(super) fn write(case: &Case, name: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "function mpc = {name}\nmpc.version = '2';\nmpc.baseMVA = {};",
        case.base_mva
    );
    out.push_str("%% bus: bus_i type Pd Qd Gs Bs area Vm Va baseKV zone Vmax Vmin\nmpc.bus = [\n");
    for b in &case.buses {
        let t = match b.bus_type {
            BusType::Pq => 1,
            BusType::Pv => 2,
            BusType::Reference => 3,
            BusType::Isolated => 4,
        };
        let _ = writeln!(
            out,
            "\t{}\t{t}\t{}\t{}\t{}\t{}\t1\t{}\t{}\t{}\t1\t{}\t{};",
            b.id,
            b.pd_mw,
            b.qd_mvar,
            b.gs_mw,
            b.bs_mvar,
            b.vm_pu,
            b.va_deg,
            b.base_kv,
            b.vmax_pu,
            b.vmin_pu
        );
    }
    out.push_str("];\n%% gen: bus Pg Qg Qmax Qmin Vg mBase status Pmax Pmin\nmpc.gen = [\n");
    for g in &case.generators {
        let _ = writeln!(
            out,
            "\t{}\t{}\t{}\t9999\t-9999\t{}\t{}\t{}\t9999\t-9999;",
            g.bus,
            g.pg_mw,
            g.qg_mvar,
            g.vg_pu,
            case.base_mva,
            u8::from(g.in_service)
        );
    }
    out.push_str("];\n%% branch: fbus tbus r x b rateA rateB rateC ratio angle status angmin angmax\nmpc.branch = [\n");
    for br in &case.branches {
        let _ = writeln!(
            out,
            "\t{}\t{}\t{}\t{}\t{}\t{}\t0\t0\t{}\t{}\t{}\t-360\t360;",
            br.from,
            br.to,
            br.r_pu,
            br.x_pu,
            br.b_pu,
            br.rate_a_mva,
            br.ratio,
            br.shift_deg,
            u8::from(br.in_service)
        );
    }
    out.push_str("];\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = "function mpc = small\n% a comment\nmpc.version = '2';\nmpc.baseMVA = 100;\n\
        mpc.bus = [\n 1 3 0 0 0 0 1 1 0 12.66 1 1 1;\n 2 1 1.5 0.5 0 0 1 1 0 12.66 1 1.1 0.9 % load\n];\n\
        mpc.gen = [1 0 0 10 -10 1 100 1 10 0];\n\
        mpc.branch = [1, 2, 0.01, 0.02, 0, 0, 0, 0, 0, 0, 1, -360, 360];\n\
        mpc.bus_name = { 'one'; 'two' };\nmpc.gencost = [2 0 0 3 0 20 0];\n";

    #[test]
    fn reads_and_writes_the_standard_format() {
        let case = parse(SMALL).unwrap();
        assert_eq!(case.base_mva, 100.0);
        assert_eq!(case.buses.len(), 2);
        assert_eq!(case.buses[1].pd_mw, 1.5);
        assert_eq!(case.buses[0].bus_type, BusType::Reference);
        assert_eq!(case.branches[0].x_pu, 0.02);
        let again = parse(&write(&case, "small")).unwrap();
        assert_eq!(again, case);
    }

    #[test]
    fn in_place_conversions_are_refused_with_their_line() {
        let text = format!("{SMALL}mpc.branch(:, [3 4]) = mpc.branch(:, [3 4]) / 16;\n");
        let err = parse(&text).unwrap_err();
        assert_eq!(
            err,
            Error::CaseSyntax {
                line: 13,
                reason: "mpc.branch is modified in place; give the case in standard MATPOWER units instead".into()
            }
        );
        let err = parse(&format!("{SMALL}Vbase = 12.66e3;\n")).unwrap_err();
        assert!(matches!(err, Error::CaseSyntax { line: 13, .. }), "{err}");
    }

    #[test]
    fn malformed_cases_are_clear_errors() {
        let cases = [
            (
                "mpc.baseMVA = 100;\nmpc.bus = [1 3 0 0 0 0 1 1 0 12 1 1 1;\n",
                "not closed",
            ),
            ("mpc.baseMVA = x1;\n", "not a number"),
            (
                "mpc.baseMVA = 100;\nmpc.bus = [1 3 0];\nmpc.branch = [];\n",
                "at least 13 are needed",
            ),
            (
                "mpc.bus = [1 3 0 0 0 0 1 1 0 12 1 1 1];\nmpc.branch = [];\n",
                "no mpc.baseMVA",
            ),
            (
                "mpc.baseMVA = 100;\nmpc.bus = [1.5 3 0 0 0 0 1 1 0 12 1 1 1];\nmpc.branch = [];\n",
                "not a bus number",
            ),
            (
                "mpc.baseMVA = 100;\nmpc.bus = [1 7 0 0 0 0 1 1 0 12 1 1 1];\nmpc.branch = [];\n",
                "type 7",
            ),
            (
                "mpc.baseMVA = 100;\nmpc.bus = [1 3 0 0 0 0 1 1 0 12 1 1 1];\nmpc.branch = [1 9 0 1 0 0 0 0 0 0 1];\n",
                "unknown bus 9",
            ),
            ("mpc.baseMVA = 'x;\n", "past the end of its line"),
        ];
        for (text, expected) in cases {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(expected), "{text:?}: {err}");
        }
    }
}
