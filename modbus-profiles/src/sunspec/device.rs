//! A SunSpec device: the "SunS" marker at a base address, then models chained `[ID, L, body]` up to the end
//! marker `0xFFFF` (SunSpec Device Information Model Specification, "Device Modbus map").

use super::instance::Model;
use crate::Error;

/// "SunS" as two registers.
pub const SUNS: [u16; 2] = [0x5375, 0x6e53];
/// The model id that ends the chain.
pub const END_MODEL: u16 = 0xFFFF;
/// The base addresses a scan tries, in this order.
pub const BASES: [u16; 3] = [40000, 0, 50000];

/// A device's models at a base address.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    base: u16,
    models: Vec<Model>,
}

impl Device {
    /// A device made of `models`, placed one after the other from `base + 2`.
    ///
    /// # Errors
    /// [`Error::Invalid`] when the first model is not model 1 (Common) or the map would run past register
    /// 65535.
    pub fn new(base: u16, models: Vec<Model>) -> Result<Self, Error> {
        let invalid = |reason: String| Error::Invalid {
            field: "device",
            reason,
        };
        if models.first().map(Model::id) != Some(1) {
            return Err(invalid("the first model must be model 1 (Common)".into()));
        }
        let mut address = usize::from(base).saturating_add(2);
        let mut placed = Vec::with_capacity(models.len());
        for mut model in models {
            let at = u16::try_from(address)
                .map_err(|_| invalid("the map runs past register 65535".into()))?;
            model.relocate(at);
            address = address.saturating_add(model.registers().len());
            placed.push(model);
        }
        // The end marker's two registers must fit too.
        if address.saturating_add(2) > 0x1_0000 {
            return Err(invalid("the map runs past register 65535".into()));
        }
        Ok(Self {
            base,
            models: placed,
        })
    }

    /// A device as scanned: models at the addresses they were read from.
    pub(crate) fn scanned(base: u16, models: Vec<Model>) -> Self {
        Self { base, models }
    }

    /// The base address ("SunS" is here).
    pub fn base(&self) -> u16 {
        self.base
    }

    /// The models in map order.
    pub fn models(&self) -> &[Model] {
        &self.models
    }

    /// The models, mutable (a simulated device changes its points).
    pub fn models_mut(&mut self) -> &mut [Model] {
        &mut self.models
    }

    /// The first model with this id.
    pub fn model(&self, id: u16) -> Option<&Model> {
        self.models.iter().find(|m| m.id() == id)
    }

    /// The first model with this id, mutable.
    pub fn model_mut(&mut self, id: u16) -> Option<&mut Model> {
        self.models.iter_mut().find(|m| m.id() == id)
    }

    /// The whole map from `base`: "SunS", every model, `0xFFFF`, `0`.
    pub fn registers(&self) -> Vec<u16> {
        let mut regs = SUNS.to_vec();
        for model in &self.models {
            regs.extend_from_slice(model.registers());
        }
        regs.extend_from_slice(&[END_MODEL, 0]);
        regs
    }

    /// The device as JSON: base address and models.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "base": self.base,
            "models": self.models.iter().map(Model::to_json).collect::<Vec<_>>(),
        })
    }
}
