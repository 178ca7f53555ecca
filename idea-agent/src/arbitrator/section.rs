//! A section's model as the arbitrator reads it (data, not code): a TOML file naming the MATPOWER case of the
//! section, its limits, and where each cell sits — the bus it injects at and, for a nested cell, the branch
//! that connects it with its import and export limits.
//!
//! ```toml
//! case = "case33bw.m"          # relative to the TOML file
//! max_loading_percent = 100.0  # optional, default 100
//! voltage_band = true          # optional, default true
//!
//! [[site]]
//! cell = "district"
//! bus = 26
//! connection = { branch = 24, bus = 26 }  # optional: the branch (index) and the bus on the cell's side
//! max_import_w = 1000000.0
//! max_export_w = 1000000.0
//! ```

use super::Arbitrator;
use ng_control::Case;
use ng_control::pool::{CellSite, Limits};
use serde::Deserialize;

/// The most cells a section file places.
pub const MAX_SITES: usize = 4096;

/// A section file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SectionConfig {
    /// The MATPOWER case file, relative to the section file.
    pub case: String,
    /// Largest branch loading, % of rate A.
    #[serde(default)]
    pub max_loading_percent: Option<f64>,
    /// Whether bus voltages must stay within each bus's band.
    #[serde(default)]
    pub voltage_band: Option<bool>,
    /// Where each cell sits.
    #[serde(default, rename = "site")]
    pub sites: Vec<SiteConfig>,
}

/// Where one cell sits.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    /// The cell.
    pub cell: String,
    /// Its bus.
    pub bus: u32,
    /// The branch that connects it, for a nested cell.
    #[serde(default)]
    pub connection: Option<Connection>,
    /// Largest import through the connection, W.
    pub max_import_w: f64,
    /// Largest export through the connection, W.
    pub max_export_w: f64,
}

/// The branch that connects a nested cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Connection {
    /// Its index in the case's branches.
    pub branch: usize,
    /// The bus on the cell's side.
    pub bus: u32,
}

impl SectionConfig {
    /// Reads a section file.
    ///
    /// # Errors
    /// [`crate::Error::Settings`] naming what is wrong.
    pub fn from_toml(text: &str) -> crate::Result<SectionConfig> {
        let config: SectionConfig =
            toml::from_str(text).map_err(|e| crate::Error::settings("section", e.to_string()))?;
        if config.sites.len() > MAX_SITES {
            return Err(crate::Error::settings(
                "site",
                format!("more than {MAX_SITES} cells"),
            ));
        }
        Ok(config)
    }

    /// The arbitrator of this section, over `case` (the MATPOWER text of [`SectionConfig::case`]).
    ///
    /// # Errors
    /// [`crate::Error::Settings`] for a case that does not parse, a cell name that is not one, a bus or
    /// branch the case does not have, or a limit that is not a number of watts.
    pub fn arbitrator(&self, case: &str) -> crate::Result<Arbitrator> {
        let case =
            Case::from_matpower(case).map_err(|e| crate::Error::settings("case", e.to_string()))?;
        let mut sites = Vec::with_capacity(self.sites.len());
        for s in &self.sites {
            let field = |what: &str| format!("site {}: {what}", s.cell);
            let cell = idea_proto::CellId::new(s.cell.as_str())
                .map_err(|e| crate::Error::settings("site.cell", e.to_string()))?;
            if !case.buses.iter().any(|b| b.id == s.bus) {
                return Err(crate::Error::settings(
                    "site.bus",
                    field(&format!("the case has no bus {}", s.bus)),
                ));
            }
            if let Some(c) = s.connection
                && case.branches.get(c.branch).is_none()
            {
                return Err(crate::Error::settings(
                    "site.connection",
                    field(&format!("the case has no branch {}", c.branch)),
                ));
            }
            for (name, w) in [
                ("max_import_w", s.max_import_w),
                ("max_export_w", s.max_export_w),
            ] {
                if !w.is_finite() || w < 0.0 {
                    return Err(crate::Error::settings(
                        "site",
                        field(&format!("{name} is not a number of watts")),
                    ));
                }
            }
            sites.push(CellSite {
                cell,
                bus: s.bus,
                connection: s.connection.map(|c| (c.branch, c.bus)),
                max_import_w: s.max_import_w,
                max_export_w: s.max_export_w,
            });
        }
        let defaults = Limits::default();
        let limits = Limits {
            max_loading_percent: self
                .max_loading_percent
                .unwrap_or(defaults.max_loading_percent),
            voltage_band: self.voltage_band.unwrap_or(defaults.voltage_band),
        };
        Ok(Arbitrator::new(case, sites, limits))
    }
}
