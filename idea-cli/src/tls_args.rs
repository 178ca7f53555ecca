//! The options of a client that connects over mutual TLS: `--cert`, `--key`, `--server-ca`, `--server-name`.

use idea_cli::client_tls::ClientTlsFiles;

/// Mutual TLS for a client; without `--cert` the client connects in the clear.
#[derive(Debug, clap::Args)]
pub(crate) struct ClientTlsArgs {
    /// Our certificate chain (PEM): with --key and --server-ca, connect over mutual TLS (IEC 62351-3 for
    /// IEC 104, clause 6.11 for IEEE 2030.5).
    #[arg(long, requires_all = ["key", "server_ca"])]
    cert: Option<std::path::PathBuf>,
    /// Our private key (PEM).
    #[arg(long, requires = "cert")]
    key: Option<std::path::PathBuf>,
    /// The CA certifying the server (PEM).
    #[arg(long, requires = "cert")]
    server_ca: Option<std::path::PathBuf>,
    /// The name the server's certificate must carry in its subject alternative names [default: the host
    /// of the address].
    #[arg(long, requires = "cert")]
    server_name: Option<String>,
}

impl ClientTlsArgs {
    /// The files, when TLS was asked for.
    pub(crate) fn files(&self) -> Option<ClientTlsFiles> {
        match (&self.cert, &self.key, &self.server_ca) {
            (Some(cert), Some(key), Some(server_ca)) => Some(ClientTlsFiles {
                cert: cert.clone(),
                key: key.clone(),
                server_ca: server_ca.clone(),
                server_name: self.server_name.clone(),
            }),
            _ => None,
        }
    }
}
