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
}
