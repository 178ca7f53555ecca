/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The requirement catalogue is not valid TOML or misses a field.
    #[error("requirement catalogue {file}: {message}")]
    CatalogueSyntax {
        /// The catalogue file.
        file: String,
        /// What the TOML parser reported, with the line and column.
        message: String,
    },
    /// The catalogue parses but breaks one of its own rules (duplicate ID, unknown area, bad ID form).
    #[error("requirement catalogue {file}: requirement {id}: {reason}")]
    CatalogueRule {
        /// The catalogue file.
        file: String,
        /// The requirement at fault.
        id: String,
        /// Which rule it breaks.
        reason: String,
    },
    /// A PICS is missing, not valid TOML, or lacks what the suite needs.
    #[error("PICS {file}: {reason}")]
    Pics {
        /// The file (or what was given).
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// The selection (`--only`, `--skip`) leaves no case, or names a suite that does not exist.
    #[error("{0}")]
    Selection(String),
}
