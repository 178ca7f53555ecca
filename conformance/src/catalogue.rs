//! The requirement catalogue: `data/requirements.toml`, compiled into the binary and checked on load.

use crate::Error;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

const BUILTIN_FILE: &str = "conformance/data/requirements.toml";
const BUILTIN: &str = include_str!("../data/requirements.toml");

/// How a requirement is verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Check {
    /// A machine can check it: conformance test cases cover it.
    Test,
    /// Only the vendor's statement (PICS) covers it.
    Declared,
}

impl Check {
    /// The lower-case name used in the data file and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Check::Test => "test",
            Check::Declared => "declared",
        }
    }
}

/// A group of requirements (ARCH, AG, UC, …) and its title.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Area {
    /// Short upper-case prefix of the IDs in this area.
    pub id: String,
    /// The section of the architecture the area comes from.
    pub title: String,
}

/// One numbered requirement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    /// Stable identifier quoted by reports and certificates, e.g. `TE-08`.
    pub id: String,
    /// The area prefix, e.g. `TE`.
    pub area: String,
    /// The requirement, as the catalogue states it.
    pub text: String,
    /// The section of the source document it comes from.
    pub source: String,
    /// Whether a test or a declaration verifies it.
    pub check: Check,
}

/// The whole catalogue, in document order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    /// The areas, in document order.
    #[serde(rename = "area")]
    pub areas: Vec<Area>,
    /// The requirements, in document order.
    #[serde(rename = "requirement")]
    pub requirements: Vec<Requirement>,
}

impl Catalogue {
    /// The catalogue shipped with this crate. It is checked by this crate's tests, so loading it cannot fail
    /// in a released build; should it ever, the error names the rule that broke.
    pub fn builtin() -> Result<Catalogue, Error> {
        Catalogue::parse(BUILTIN_FILE, BUILTIN)
    }

    /// Parses and validates a catalogue in the TOML form of `data/requirements.toml`.
    pub fn parse(file: &str, text: &str) -> Result<Catalogue, Error> {
        let catalogue: Catalogue = toml::from_str(text).map_err(|e| Error::CatalogueSyntax {
            file: file.to_owned(),
            message: e.to_string(),
        })?;
        catalogue.validate(file)?;
        Ok(catalogue)
    }

    fn validate(&self, file: &str) -> Result<(), Error> {
        let areas: BTreeSet<&str> = self.areas.iter().map(|a| a.id.as_str()).collect();
        let mut seen = BTreeSet::new();
        for r in &self.requirements {
            let rule = |reason: String| Error::CatalogueRule {
                file: file.to_owned(),
                id: r.id.clone(),
                reason,
            };
            if !is_requirement_id(&r.id) {
                return Err(rule("the ID is not of the form AREA-N or AREA-XN".into()));
            }
            if !seen.insert(r.id.as_str()) {
                return Err(rule("the ID appears twice".into()));
            }
            if !areas.contains(r.area.as_str()) {
                return Err(rule(format!("area {} is not declared", r.area)));
            }
            if !r.id.starts_with(&format!("{}-", r.area)) {
                return Err(rule(format!(
                    "the ID does not start with its area {}",
                    r.area
                )));
            }
            if r.text.trim().is_empty() {
                return Err(rule("the text is empty".into()));
            }
        }
        Ok(())
    }

    /// The requirements of one area (case-insensitive: `te` and `TE` are the same), in document order.
    pub fn in_area(&self, area: &str) -> Vec<&Requirement> {
        self.requirements
            .iter()
            .filter(|r| r.area.eq_ignore_ascii_case(area))
            .collect()
    }

    /// Every requirement, in document order.
    pub fn all(&self) -> Vec<&Requirement> {
        self.requirements.iter().collect()
    }

    /// Looks a requirement up by its exact ID.
    pub fn get(&self, id: &str) -> Option<&Requirement> {
        self.requirements.iter().find(|r| r.id == id)
    }

    /// Whether an area of that name (case-insensitive) exists.
    pub fn has_area(&self, area: &str) -> bool {
        self.areas.iter().any(|a| a.id.eq_ignore_ascii_case(area))
    }
}

/// `AREA-N` or `AREA-XN`: upper-case letters, a dash, an optional upper-case letter, then digits.
fn is_requirement_id(id: &str) -> bool {
    let Some((area, number)) = id.split_once('-') else {
        return false;
    };
    let digits = number.trim_start_matches(|c: char| c.is_ascii_uppercase());
    !area.is_empty()
        && area.chars().all(|c| c.is_ascii_uppercase())
        && number.len().saturating_sub(digits.len()) <= 1
        && !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_form() {
        for ok in ["ARCH-01", "NG-R1", "DEMO-S3", "SEC-01"] {
            assert!(is_requirement_id(ok), "{ok}");
        }
        for bad in ["arch-01", "ARCH01", "NG-RR1", "NG-", "-1", "NG-R"] {
            assert!(!is_requirement_id(bad), "{bad}");
        }
    }

    #[test]
    fn duplicate_id_is_refused() {
        let text = r#"
[[area]]
id = "TE"
title = "TE"
[[requirement]]
id = "TE-01"
area = "TE"
text = "a"
source = "s"
check = "test"
[[requirement]]
id = "TE-01"
area = "TE"
text = "b"
source = "s"
check = "declared"
"#;
        let err = Catalogue::parse("x.toml", text).unwrap_err();
        assert!(
            err.to_string().contains("TE-01: the ID appears twice"),
            "{err}"
        );
    }

    #[test]
    fn unknown_area_is_refused() {
        let text = "[[area]]\nid = \"TE\"\ntitle = \"TE\"\n[[requirement]]\nid = \"NG-01\"\narea = \"NG\"\n\
                    text = \"a\"\nsource = \"s\"\ncheck = \"test\"\n";
        let err = Catalogue::parse("x.toml", text).unwrap_err();
        assert!(err.to_string().contains("area NG is not declared"), "{err}");
    }

    #[test]
    fn area_filter_is_case_insensitive() {
        let c = Catalogue::builtin().unwrap();
        assert_eq!(c.in_area("ng"), c.in_area("NG"));
        assert!(c.in_area("NG").iter().any(|r| r.id == "NG-R6"));
        assert!(c.in_area("nope").is_empty());
    }
}
