//! The SunSpec model engine: model definitions as data (the official JSON files), discovery, layout of
//! fixed and variable-length models, typed and scaled point access, and device maps for servers.
//!
//! ```
//! use modbus_profiles::sunspec::{Catalog, Device, Model, Scanner, Value};
//! let catalog = Catalog::builtin()?;
//! // A device: Common (1) and volt-var (705) with 2 curves of 4 points.
//! let mut common = Model::new(catalog.get(1).unwrap().clone(), 0, &[])?;
//! common.put("Mn", &Value::Text("IDEA".into()))?;
//! let mut volt_var = Model::new(catalog.get(705).unwrap().clone(), 0, &[("NCrv", 2), ("NPt", 4)])?;
//! volt_var.put("V_SF", &Value::Int(-1))?;
//! volt_var.put_scaled("Crv[1].Pt[3].V", 253.0)?;
//! let device = Device::new(40000, vec![common, volt_var])?;
//! let map = device.registers();
//!
//! // Scan it: the scanner asks for reads, we answer from the map.
//! let mut scanner = Scanner::new(catalog);
//! while let Some(read) = scanner.poll_read() {
//!     let from = usize::from(read.address - 40000);
//!     scanner.handle_registers(&map[from..from + usize::from(read.count)])?;
//! }
//! let found = scanner.finish()?;
//! assert_eq!(found.model(705).unwrap().get_scaled("Crv[1].Pt[3].V")?, Some(253.0));
//! # Ok::<(), modbus_profiles::Error>(())
//! ```

mod catalog;
mod curve;
mod device;
mod instance;
mod model;
mod scan;
mod value;

pub use catalog::Catalog;
pub use curve::curve_at;
pub use device::{BASES, Device, END_MODEL, SUNS};
pub use instance::{MAX_WRITE, Model, Point, PointSlot, RegisterWrite};
pub use model::{
    Access, GroupCount, GroupDef, MAX_GROUP_DEPTH, ModelDef, PointDef, PointType, ScaleFactor,
    Symbol,
};
pub use scan::{MAX_MODELS, MAX_READ, ReadFailure, ReadRequest, Scanner};
pub use value::{Value, absent, decode, encode};
