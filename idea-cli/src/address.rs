//! Addresses as people type them: `HOST:PORT` with a host name (`localhost:1502`) or an IP address
//! (`127.0.0.1:2404`, `[::1]:2404`), read one way wherever the command line takes one to listen on.

use std::net::{SocketAddr, ToSocketAddrs};

/// The first socket address `text` resolves to.
pub(crate) fn socket_address(text: &str) -> Result<SocketAddr, String> {
    let mut addresses = text.to_socket_addrs().map_err(|e| {
        format!("{text}: {e} (expected HOST:PORT, e.g. localhost:1502 or 127.0.0.1:2404)")
    })?;
    addresses
        .next()
        .ok_or_else(|| format!("{text}: the host has no address"))
}
