//! Renders requirement lists for a terminal or as JSON.

use crate::Requirement;
use std::fmt::Write as _;

/// A plain-text table: ID, check, how many test cases check it, requirement text wrapped to `width` columns.
pub fn table(requirements: &[&Requirement], width: usize) -> String {
    let id_width = requirements
        .iter()
        .map(|r| r.id.len())
        .max()
        .unwrap_or(2)
        .max(2);
    let check_width = "declared".len();
    let cases_width = "CASES".len();
    let text_width = width
        .saturating_sub(
            id_width
                .saturating_add(check_width)
                .saturating_add(cases_width)
                .saturating_add(6),
        )
        .max(20);
    let coverage = crate::coverage::cases_by_requirement();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:id_width$}  {:check_width$}  {:>cases_width$}  REQUIREMENT",
        "ID", "CHECK", "CASES"
    );
    for r in requirements {
        let lines = wrap(&r.text, text_width);
        let cases = coverage.get(&r.id).map_or(0, Vec::len);
        for (i, line) in lines.iter().enumerate() {
            if i == 0 {
                let _ = writeln!(
                    out,
                    "{:id_width$}  {:check_width$}  {cases:>cases_width$}  {line}",
                    r.id,
                    r.check.as_str()
                );
            } else {
                let _ = writeln!(
                    out,
                    "{:id_width$}  {:check_width$}  {:>cases_width$}  {line}",
                    "", "", ""
                );
            }
        }
    }
    let tested = requirements
        .iter()
        .filter(|r| r.check == crate::Check::Test)
        .count();
    let _ = writeln!(
        out,
        "{} requirements: {} checked by test, {} declared",
        requirements.len(),
        tested,
        requirements.len().saturating_sub(tested)
    );
    out
}

/// A requirement with the cases that check it, for JSON.
#[derive(serde::Serialize)]
struct Covered<'a> {
    #[serde(flatten)]
    requirement: &'a Requirement,
    cases: &'a [String],
}

/// A JSON array of requirement objects with keys `id`, `area`, `text`, `source`, `check` and `cases` (the IDs
/// of the test cases that check it).
pub fn json(requirements: &[&Requirement]) -> String {
    let coverage = crate::coverage::cases_by_requirement();
    let covered: Vec<Covered<'_>> = requirements
        .iter()
        .map(|r| Covered {
            requirement: r,
            cases: coverage.get(&r.id).map_or(&[], Vec::as_slice),
        })
        .collect();
    // Serialising plain strings and enums cannot fail.
    serde_json::to_string_pretty(&covered).unwrap_or_else(|_| String::from("[]"))
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let last = lines.last_mut().map(|l| l.len()).unwrap_or(0);
        if last > 0 && last.saturating_add(1).saturating_add(word.len()) > width {
            lines.push(String::new());
        }
        if let Some(line) = lines.last_mut() {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_keeps_every_word_within_width() {
        let text = "one two three four five six seven eight nine ten";
        let lines = wrap(text, 12);
        assert!(lines.iter().all(|l| l.len() <= 12), "{lines:?}");
        assert_eq!(lines.join(" "), text);
    }
}
