//! IDEA device profiles (data files in `profiles/`) and simulated devices serving them: the energy router,
//! hub, port, rectiverter, smart meter, controlled relay and a DER with the IEEE 1547 functions.
//!
//! A profile lists SunSpec (and IDEA vendor, 64900–64904) models with their initial values, and the
//! behaviour behind the registers: measurements that follow setpoints within limits, bounds a write must
//! respect (or exception 3), a reversion timeout returning setpoints to defaults, integrations over time.
//!
//! ```
//! use modbus_profiles::server::{Registers, Table};
//! use modbus_profiles::simulator::{Profile, SimulatedDevice};
//! use modbus_profiles::sunspec::Catalog;
//! let mut port = SimulatedDevice::new(Profile::builtin("modbus-port")?, &Catalog::builtin()?, 40000)?;
//! let mut marker = [0u16; 2];
//! port.read(Table::Holding, 40000, &mut marker).unwrap();
//! assert_eq!(marker, [0x5375, 0x6e53]); // "SunS"
//! # Ok::<(), modbus_profiles::Error>(())
//! ```

mod device;
mod profile;

pub use device::{DeviceSlot, SimulatedDevice};
pub use profile::{
    Bound, Follow, Integrate, Limit, ModelSpec, PointRef, Profile, Reversion, SHIPPED,
};
