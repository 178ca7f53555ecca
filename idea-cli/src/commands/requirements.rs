//! `idea requirements`: the requirement catalogue as a table or JSON.

use idea_conformance::{Catalogue, render};

/// Lists the catalogue, or one area of it.
pub(crate) fn run(json: bool, area: Option<String>) -> Result<String, String> {
    let catalogue = Catalogue::builtin().map_err(|e| e.to_string())?;
    let selected = match &area {
        Some(area) if !catalogue.has_area(area) => {
            let known: Vec<&str> = catalogue.areas.iter().map(|a| a.id.as_str()).collect();
            return Err(format!(
                "unknown area {area:?}; known areas: {}",
                known.join(", ")
            ));
        }
        Some(area) => catalogue.in_area(area),
        None => catalogue.all(),
    };
    if json {
        Ok(render::json(&selected) + "\n")
    } else {
        Ok(render::table(&selected, 100))
    }
}
