//! Helpers shared by the tests that serve simulated devices.
#![allow(dead_code, clippy::unwrap_used)]

use modbus_profiles::server::Server;
use modbus_profiles::simulator::{Profile, SimulatedDevice};
use modbus_profiles::sunspec::Catalog;
use std::sync::{Arc, Mutex};

/// A server core for the shipped profile `name`, its map at 40000, answering as unit 1.
pub(crate) fn shared(name: &str) -> Arc<Mutex<Server<SimulatedDevice>>> {
    let catalog = Catalog::builtin().unwrap();
    Arc::new(Mutex::new(Server::new(
        1,
        SimulatedDevice::new(Profile::builtin(name).unwrap(), &catalog, 40000).unwrap(),
    )))
}

/// The scaled value of point `path` (`704.WSet`) the device behind `server` holds now.
pub(crate) fn scaled(server: &Mutex<Server<SimulatedDevice>>, path: &str) -> Option<f64> {
    server.lock().unwrap().registers().scaled(path).unwrap()
}
