//! TLS for the stations (feature `tls`), on rustls, to the IEC 62351-3 profile: both ends authenticate with
//! X.509 certificates (the controlled station requires a client certificate from its own trust anchors), TLS
//! 1.2 and 1.3 only, and only ECDHE key exchange with AES-GCM (`TLS_ECDHE_{ECDSA,RSA}_WITH_AES_{128,256}_GCM_*`
//! for TLS 1.2, `TLS_AES_{128,256}_GCM_*` for TLS 1.3), the suites the IEC 62351-3 profile recommends.
//!
//! Not done here: TLS 1.2 renegotiation for session key renewal (rustls does not renegotiate; with TLS 1.3
//! it renews keys with KeyUpdate), certificate revocation lists and OCSP (pass a verifier through
//! [`rustls::ServerConfig`] / [`rustls::ClientConfig`] directly for those), and the security event logging of
//! IEC 62351-14.

use crate::error::Error;
use rustls::crypto::{CryptoProvider, ring};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, SupportedCipherSuite};
use std::sync::Arc;

fn tls_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Transport(format!("TLS {what}: {e}"))
}

/// A station's certificate chain (its own first) and private key.
#[derive(Debug)]
pub struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl Identity {
    /// From PEM: the certificate chain and a PKCS #8, SEC 1 or PKCS #1 private key.
    pub fn from_pem(chain: &[u8], key: &[u8]) -> Result<Identity, Error> {
        let chain =
            idea_proto::pem::certificates(chain).map_err(|e| tls_error("certificate chain", e))?;
        let key = idea_proto::pem::private_key(key).map_err(|e| tls_error("private key", e))?;
        Ok(Identity { chain, key })
    }

    /// From PEM files: the certificate chain at `chain` and the private key at `key`; errors name the file.
    pub fn from_pem_files(
        chain: &std::path::Path,
        key: &std::path::Path,
    ) -> Result<Identity, Error> {
        Identity::from_pem(&read_file(chain)?, &read_file(key)?)
            .map_err(|e| Error::Transport(format!("{} / {}: {e}", chain.display(), key.display())))
    }
}

/// Trust anchors (CA certificates) from a PEM file; errors name the file.
pub fn trust_anchors_file(path: &std::path::Path) -> Result<RootCertStore, Error> {
    trust_anchors(&read_file(path)?)
        .map_err(|e| Error::Transport(format!("{}: {e}", path.display())))
}

fn read_file(path: &std::path::Path) -> Result<Vec<u8>, Error> {
    idea_proto::pem::read(path).map_err(Error::Transport)
}

/// Trust anchors (CA certificates) from PEM.
pub fn trust_anchors(pem: &[u8]) -> Result<RootCertStore, Error> {
    let mut roots = RootCertStore::empty();
    for cert in idea_proto::pem::certificates(pem).map_err(|e| tls_error("trust anchors", e))? {
        roots.add(cert).map_err(|e| tls_error("trust anchor", e))?;
    }
    Ok(roots)
}

/// The cipher suites of the profile: ECDHE (every rustls TLS 1.2 suite is ECDHE) with AES-GCM.
fn profile_suites() -> Vec<SupportedCipherSuite> {
    use rustls::CipherSuite as S;
    let allowed = [
        S::TLS13_AES_128_GCM_SHA256,
        S::TLS13_AES_256_GCM_SHA384,
        S::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        S::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        S::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        S::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    ];
    ring::DEFAULT_CIPHER_SUITES
        .iter()
        .filter(|s| allowed.contains(&s.suite()))
        .copied()
        .collect()
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(CryptoProvider {
        cipher_suites: profile_suites(),
        ..ring::default_provider()
    })
}

const VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// The controlled station's TLS settings: its identity, and the trust anchors its clients' certificates must
/// chain to (a client without a valid certificate is refused during the handshake).
pub fn server_config(
    identity: Identity,
    client_anchors: RootCertStore,
) -> Result<Arc<rustls::ServerConfig>, Error> {
    let provider = provider();
    let verifier = WebPkiClientVerifier::builder_with_provider(
        Arc::new(client_anchors),
        Arc::clone(&provider),
    )
    .build()
    .map_err(|e| tls_error("client verifier", e))?;
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(VERSIONS)
        .map_err(|e| tls_error("versions", e))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(identity.chain, identity.key)
        .map_err(|e| tls_error("server certificate", e))?;
    Ok(Arc::new(config))
}

/// The controlling station's TLS settings: how it names and verifies the controlled station, and its own
/// identity.
#[derive(Clone)]
pub struct ClientTls {
    /// The rustls configuration.
    pub config: Arc<rustls::ClientConfig>,
    /// The name (DNS name or IP address) the controlled station's certificate must carry.
    pub server_name: ServerName<'static>,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

impl ClientTls {
    /// Verifies the controlled station `server_name` against `server_anchors` and authenticates with
    /// `identity`.
    pub fn new(
        identity: Identity,
        server_anchors: RootCertStore,
        server_name: &str,
    ) -> Result<ClientTls, Error> {
        let config = rustls::ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(VERSIONS)
            .map_err(|e| tls_error("versions", e))?
            .with_root_certificates(server_anchors)
            .with_client_auth_cert(identity.chain, identity.key)
            .map_err(|e| tls_error("client certificate", e))?;
        let server_name = ServerName::try_from(server_name.to_owned())
            .map_err(|e| tls_error("server name", e))?;
        Ok(ClientTls {
            config: Arc::new(config),
            server_name,
        })
    }
}

impl PartialEq for ClientTls {
    fn eq(&self, other: &ClientTls) -> bool {
        Arc::ptr_eq(&self.config, &other.config) && self.server_name == other.server_name
    }
}

impl Eq for ClientTls {}

/// Why the controlled station refused a TLS handshake; each refusal is logged with the peer's address (target
/// `iec104::net`, level warn) so an operator can tell an attack from a misconfigured master.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeRefusal {
    /// The client sent no certificate (IEC 62351-3 requires mutual authentication).
    NoCertificate,
    /// The client's certificate does not chain to the configured trust anchors.
    UnknownCa,
    /// The client's certificate is not for client authentication (its extended key usage lacks clientAuth).
    WrongKeyUsage,
    /// The client's certificate is expired or not yet valid.
    OutsideValidity,
    /// The client's certificate is otherwise invalid (bad signature, encoding, revoked, …).
    InvalidCertificate(String),
    /// The bytes were not TLS: most often a plain IEC 104 master talking to a TLS port.
    NotTls,
    /// No TLS version or cipher suite of the profile in common.
    NoCommonParameters(String),
    /// The client refused our certificate (it sent a fatal alert: unknown CA, bad certificate, …).
    RefusedByClient(String),
    /// The handshake did not complete in time (t0).
    Timeout,
    /// The peer closed the connection during the handshake.
    Closed,
    /// Any other failure.
    Other(String),
}

impl HandshakeRefusal {
    /// Classifies the error a TLS accept ended with.
    pub fn classify(error: &std::io::Error) -> HandshakeRefusal {
        use rustls::CertificateError as C;
        let Some(tls) = error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        else {
            return match error.kind() {
                std::io::ErrorKind::UnexpectedEof
                | std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::BrokenPipe => HandshakeRefusal::Closed,
                std::io::ErrorKind::TimedOut => HandshakeRefusal::Timeout,
                _ => HandshakeRefusal::Other(error.to_string()),
            };
        };
        match tls {
            rustls::Error::NoCertificatesPresented => HandshakeRefusal::NoCertificate,
            rustls::Error::InvalidCertificate(C::UnknownIssuer) => HandshakeRefusal::UnknownCa,
            rustls::Error::InvalidCertificate(
                C::InvalidPurpose | C::InvalidPurposeContext { .. },
            ) => HandshakeRefusal::WrongKeyUsage,
            rustls::Error::InvalidCertificate(
                C::Expired
                | C::ExpiredContext { .. }
                | C::NotValidYet
                | C::NotValidYetContext { .. },
            ) => HandshakeRefusal::OutsideValidity,
            rustls::Error::InvalidCertificate(other) => {
                HandshakeRefusal::InvalidCertificate(format!("{other:?}"))
            }
            rustls::Error::InvalidMessage(_)
            | rustls::Error::InappropriateMessage { .. }
            | rustls::Error::InappropriateHandshakeMessage { .. } => HandshakeRefusal::NotTls,
            rustls::Error::AlertReceived(alert) => {
                HandshakeRefusal::RefusedByClient(format!("{alert:?}"))
            }
            rustls::Error::PeerIncompatible(why) => {
                HandshakeRefusal::NoCommonParameters(format!("{why:?}"))
            }
            other => HandshakeRefusal::Other(other.to_string()),
        }
    }
}

impl std::fmt::Display for HandshakeRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HandshakeRefusal::NoCertificate => f.write_str("no client certificate"),
            HandshakeRefusal::UnknownCa => {
                f.write_str("client certificate from an unknown CA (not the configured --client-ca)")
            }
            HandshakeRefusal::WrongKeyUsage => f.write_str(
                "wrong key usage: the client certificate is not for client authentication (no clientAuth)",
            ),
            HandshakeRefusal::OutsideValidity => {
                f.write_str("client certificate expired or not yet valid")
            }
            HandshakeRefusal::InvalidCertificate(why) => write!(f, "invalid client certificate: {why}"),
            HandshakeRefusal::NotTls => f.write_str("not TLS (a plain IEC 104 client?)"),
            HandshakeRefusal::NoCommonParameters(why) => {
                write!(f, "no TLS version or cipher suite of the profile in common: {why}")
            }
            HandshakeRefusal::RefusedByClient(alert) => {
                write!(f, "the client refused our certificate (alert {alert})")
            }
            HandshakeRefusal::Timeout => f.write_str("handshake not completed within t0"),
            HandshakeRefusal::Closed => f.write_str("the peer closed the connection during the handshake"),
            HandshakeRefusal::Other(why) => f.write_str(why),
        }
    }
}
