//! HTTP over TLS for IEEE 2030.5 (feature `net`): the [`server`](crate::server) core behind hyper and
//! rustls, and a DER client that walks a server and runs the [`scheduler`](crate::scheduler).
//!
//! What it does: mutual TLS with the client identified by the LFDI of its certificate ([`tls`]); a server
//! loop ([`serve`]) and a per-connection function that takes any stream ([`serve_connection`]);
//! notification delivery ([`deliver_notifications`]); an
//! HTTP/1.1 client connection over any [`Connector`]; the [`DerClient`].
//!
//! The TLS configurations ([`tls`]) include the suite the standard makes mandatory,
//! `TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8` ([`tls_ecdhe_ecdsa_with_aes_128_ccm_8`], a rustls TLS 1.2 suite on
//! RustCrypto's AES-CCM).
//!
//! What it does not do: HTTP/2, EXI, or DNS-SD discovery. Notifications the core queues are delivered by [`deliver_notifications`].
//!
//! ```no_run
//! # async fn run() -> Result<(), ieee2030_5::Error> {
//! use ieee2030_5::net::{ClientConfig, Connection, DerClient, RustlsConnector, tls};
//! use ieee2030_5::scheduler::ModeSet;
//! use std::sync::Arc;
//!
//! let identity = tls::Identity::from_pem(&std::fs::read("device.pem").unwrap(), &std::fs::read("device.key").unwrap())?;
//! let lfdi = identity.lfdi();
//! let config = tls::client_config(identity, tls::trust_anchors(&std::fs::read("ca.pem").unwrap())?)?;
//! let connector = RustlsConnector {
//!     address: "utility.example:443".into(),
//!     server_name: "utility.example".try_into().unwrap(),
//!     config: Arc::new(config),
//! };
//! let mut client = DerClient::new(
//!     Connection::new(connector, "utility.example"),
//!     ClientConfig { lfdi, pin: Some(111_115), dcap: "/dcap".into(), server: "utility".into(),
//!                    device_category: None, supported: ModeSet::all(), seed: 42 },
//! );
//! let now = 1_800_000_000;
//! let wake = client.step(now).await?;
//! println!("max power {:?}, next step at {wake}", client.active().base().op_mod_max_lim_w);
//! # Ok(()) }
//! ```

mod ccm8;
mod client;
mod http;
mod idle;
mod server;
pub mod tls;

pub use ccm8::tls_ecdhe_ecdsa_with_aes_128_ccm_8;
pub use client::{ClientConfig, DerClient};
pub use http::{
    Answer, Connecting, Connection, Connector, REQUEST_TIMEOUT, RustlsConnector, Stream,
    TcpConnector,
};
pub use server::{
    RETRY_AT_MOST, RETRY_FOR, RETRY_QUEUE, ServeLimits, SharedServer, deliver_notifications, serve,
    serve_connection, serve_with,
};

use std::sync::Arc;

/// The server's clock: Unix seconds.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The largest body either side reads (the XML reader's own limit is 4 MiB).
pub(crate) const BODY_LIMIT: usize = 4 << 20;

/// The system clock, for production use.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    })
}
