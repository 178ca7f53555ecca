//! What a client for people needs to reach a server over mutual TLS: its certificate files and the name the
//! server must prove, shared by the IEC 104 and IEEE 2030.5 clients.

use std::path::PathBuf;

/// The TLS files of a client.
#[derive(Debug, Clone)]
pub struct ClientTlsFiles {
    /// Its certificate chain (PEM).
    pub cert: PathBuf,
    /// Its private key (PEM).
    pub key: PathBuf,
    /// The CA that certifies the server (PEM).
    pub server_ca: PathBuf,
    /// The name the server's certificate must carry in its subject alternative names; `None`: the host of
    /// the address.
    pub server_name: Option<String>,
}

/// The host part of `HOST:PORT` (a DNS name or an IP address, without brackets).
pub fn host_of(address: &str) -> &str {
    let host = address.rsplit_once(':').map_or(address, |(host, _)| host);
    host.trim_start_matches('[').trim_end_matches(']')
}

#[cfg(test)]
mod tests {
    use super::host_of;

    #[test]
    fn hosts_of_names_and_addresses() {
        assert_eq!(host_of("localhost:2404"), "localhost");
        assert_eq!(host_of("127.0.0.1:1"), "127.0.0.1");
        assert_eq!(host_of("[::1]:8443"), "::1");
    }
}
