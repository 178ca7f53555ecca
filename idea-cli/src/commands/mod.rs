//! One module per subcommand: its arguments and what it runs.

pub(crate) mod conform;
pub(crate) mod decode;
pub(crate) mod demo;
pub(crate) mod iec104;
pub(crate) mod ledger;
pub(crate) mod modbus;
pub(crate) mod ng;
pub(crate) mod requirements;
pub(crate) mod sep2;
pub(crate) mod serve;
pub(crate) mod serve_service;
pub(crate) mod sim;
pub(crate) mod sunspec;
pub(crate) mod verify_certificate;
