//! The set of model definitions a scanner or a device knows, by model id.

use super::model::ModelDef;
use crate::Error;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// The official SunSpec models shipped in `models/sunspec/` (Apache-2.0, see the README there).
const SHIPPED: &[(&str, &str)] = &[
    (
        "model_1.json",
        include_str!("../../models/sunspec/model_1.json"),
    ),
    (
        "model_101.json",
        include_str!("../../models/sunspec/model_101.json"),
    ),
    (
        "model_103.json",
        include_str!("../../models/sunspec/model_103.json"),
    ),
    (
        "model_124.json",
        include_str!("../../models/sunspec/model_124.json"),
    ),
    (
        "model_201.json",
        include_str!("../../models/sunspec/model_201.json"),
    ),
    (
        "model_202.json",
        include_str!("../../models/sunspec/model_202.json"),
    ),
    (
        "model_203.json",
        include_str!("../../models/sunspec/model_203.json"),
    ),
    (
        "model_204.json",
        include_str!("../../models/sunspec/model_204.json"),
    ),
    (
        "model_701.json",
        include_str!("../../models/sunspec/model_701.json"),
    ),
    (
        "model_702.json",
        include_str!("../../models/sunspec/model_702.json"),
    ),
    (
        "model_703.json",
        include_str!("../../models/sunspec/model_703.json"),
    ),
    (
        "model_704.json",
        include_str!("../../models/sunspec/model_704.json"),
    ),
    (
        "model_705.json",
        include_str!("../../models/sunspec/model_705.json"),
    ),
    (
        "model_706.json",
        include_str!("../../models/sunspec/model_706.json"),
    ),
    (
        "model_707.json",
        include_str!("../../models/sunspec/model_707.json"),
    ),
    (
        "model_708.json",
        include_str!("../../models/sunspec/model_708.json"),
    ),
    (
        "model_709.json",
        include_str!("../../models/sunspec/model_709.json"),
    ),
    (
        "model_710.json",
        include_str!("../../models/sunspec/model_710.json"),
    ),
    (
        "model_711.json",
        include_str!("../../models/sunspec/model_711.json"),
    ),
    (
        "model_712.json",
        include_str!("../../models/sunspec/model_712.json"),
    ),
    (
        "model_713.json",
        include_str!("../../models/sunspec/model_713.json"),
    ),
    (
        "model_714.json",
        include_str!("../../models/sunspec/model_714.json"),
    ),
    (
        "model_715.json",
        include_str!("../../models/sunspec/model_715.json"),
    ),
    (
        "model_802.json",
        include_str!("../../models/sunspec/model_802.json"),
    ),
    (
        "model_64900.json",
        include_str!("../../models/idea/model_64900.json"),
    ),
    (
        "model_64901.json",
        include_str!("../../models/idea/model_64901.json"),
    ),
    (
        "model_64902.json",
        include_str!("../../models/idea/model_64902.json"),
    ),
    (
        "model_64903.json",
        include_str!("../../models/idea/model_64903.json"),
    ),
    (
        "model_64904.json",
        include_str!("../../models/idea/model_64904.json"),
    ),
];

/// Model definitions by id.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    models: BTreeMap<u16, Arc<ModelDef>>,
}

impl Catalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Self::default()
    }

    /// The models compiled into this crate: SunSpec 1, 101, 103, 124, 201–204, 701–715, 802 and the IDEA
    /// vendor models 64900–64904.
    ///
    /// # Errors
    /// Never for the shipped files (a test reads them all); the signature keeps the reading honest.
    pub fn builtin() -> Result<Self, Error> {
        // Parsed once per process: every simulated device and scanner starts from it, and the models are
        // shared (`Arc`), so a copy costs a map of pointers, not the JSON again.
        static BUILTIN: std::sync::OnceLock<Result<Catalog, Error>> = std::sync::OnceLock::new();
        BUILTIN
            .get_or_init(|| {
                let mut catalog = Self::new();
                for (file, text) in SHIPPED {
                    catalog.insert(ModelDef::from_json(file, text)?);
                }
                Ok(catalog)
            })
            .clone()
    }

    /// Adds every `model_*.json` file of a directory (the SunSpec repository's `json/` layout).
    ///
    /// # Errors
    /// [`Error::Model`] for a file that cannot be read or is malformed, naming it.
    pub fn load_dir(&mut self, dir: &Path) -> Result<usize, Error> {
        let io = |file: &Path, e: std::io::Error| Error::Model {
            file: file.display().to_string(),
            point: "(file)".into(),
            reason: e.to_string(),
        };
        let mut added = 0usize;
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| io(dir, e))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("model_") && n.ends_with(".json"))
            })
            .collect();
        entries.sort();
        for path in entries {
            let text = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
            self.insert(ModelDef::from_json(&path.display().to_string(), &text)?);
            added = added.saturating_add(1);
        }
        Ok(added)
    }

    /// Adds (or replaces) one definition.
    pub fn insert(&mut self, def: ModelDef) {
        self.models.insert(def.id, Arc::new(def));
    }

    /// The definition of model `id`.
    pub fn get(&self, id: u16) -> Option<&Arc<ModelDef>> {
        self.models.get(&id)
    }

    /// The ids known, ascending.
    pub fn ids(&self) -> impl Iterator<Item = u16> + '_ {
        self.models.keys().copied()
    }

    /// How many definitions.
    pub fn len(&self) -> usize {
        self.models.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.models.is_empty()
    }
}
