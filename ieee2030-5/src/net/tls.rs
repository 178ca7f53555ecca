//! TLS for IEEE 2030.5 on rustls: both ends authenticate with X.509 certificates (clause 6.11), and the
//! client's identity is the LFDI of its certificate (clause 6.3.4).
//!
//! The configurations offer, in this order of preference, the TLS 1.3 AES-GCM suites,
//! `TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256` and `…_AES_256_GCM_SHA384`, and the suite IEEE 2030.5 makes
//! mandatory, `TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8` (TLS 1.2; not in stock rustls — it is
//! [`super::tls_ecdhe_ecdsa_with_aes_128_ccm_8`], on RustCrypto's AES-CCM). A device or server that offers
//! only CCM-8 connects with CCM-8; any peer that also offers AES-GCM gets its full 16-byte tag.

use crate::Error;
use crate::identity::lfdi;
use crate::primitives::HexBinary160;
use rustls::crypto::{CryptoProvider, ring};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
/// The rustls configurations [`server_config`] and [`client_config`] make, named for those who hold them.
pub use rustls::{ClientConfig, ServerConfig};
use rustls::{RootCertStore, SupportedCipherSuite};
use std::sync::Arc;

fn tls_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Transport(format!("TLS {what}: {e}"))
}

/// A certificate chain (own certificate first) and its private key.
#[derive(Debug)]
pub struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl Identity {
    /// From PEM: the certificate chain and a PKCS #8, SEC 1 or PKCS #1 private key.
    ///
    /// # Errors
    /// [`Error::Transport`] if either does not parse or the chain is empty.
    pub fn from_pem(chain: &[u8], key: &[u8]) -> Result<Identity, Error> {
        let chain =
            idea_proto::pem::certificates(chain).map_err(|e| tls_error("certificate chain", e))?;
        let key = idea_proto::pem::private_key(key).map_err(|e| tls_error("private key", e))?;
        Ok(Identity { chain, key })
    }

    /// The LFDI of this identity's own certificate.
    pub fn lfdi(&self) -> HexBinary160 {
        self.chain
            .first()
            .map_or_else(HexBinary160::default, |c| lfdi(c))
    }
}

/// Trust anchors (CA certificates) from PEM.
///
/// # Errors
/// [`Error::Transport`] if a certificate does not parse or there is none.
pub fn trust_anchors(pem: &[u8]) -> Result<RootCertStore, Error> {
    let mut roots = RootCertStore::empty();
    for cert in idea_proto::pem::certificates(pem).map_err(|e| tls_error("trust anchors", e))? {
        roots.add(cert).map_err(|e| tls_error("trust anchor", e))?;
    }
    Ok(roots)
}

/// ECDHE with ECDSA certificates: AES-GCM first, then the mandatory CCM-8.
fn suites() -> Vec<SupportedCipherSuite> {
    use rustls::CipherSuite as S;
    let allowed = [
        S::TLS13_AES_128_GCM_SHA256,
        S::TLS13_AES_256_GCM_SHA384,
        S::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        S::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    ];
    ring::DEFAULT_CIPHER_SUITES
        .iter()
        .filter(|s| allowed.contains(&s.suite()))
        .copied()
        .chain([super::tls_ecdhe_ecdsa_with_aes_128_ccm_8()])
        .collect()
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(CryptoProvider {
        cipher_suites: suites(),
        ..ring::default_provider()
    })
}

/// A server configuration that requires a client certificate chaining to `client_anchors`.
///
/// # Errors
/// [`Error::Transport`] if the identity's key does not fit its certificate or the anchors are unusable.
pub fn server_config(
    identity: Identity,
    client_anchors: RootCertStore,
) -> Result<rustls::ServerConfig, Error> {
    let provider = provider();
    let verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(client_anchors), provider.clone())
            .build()
            .map_err(|e| tls_error("client verifier", e))?;
    rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error("versions", e))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(identity.chain, identity.key)
        .map_err(|e| tls_error("server certificate", e))
}

/// A client configuration presenting `identity` and trusting servers certified by `server_anchors`.
///
/// # Errors
/// [`Error::Transport`] if the identity's key does not fit its certificate.
pub fn client_config(
    identity: Identity,
    server_anchors: RootCertStore,
) -> Result<rustls::ClientConfig, Error> {
    rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error("versions", e))?
        .with_root_certificates(server_anchors)
        .with_client_auth_cert(identity.chain, identity.key)
        .map_err(|e| tls_error("client certificate", e))
}

/// The LFDI of the certificate the peer presented on `connection`.
pub fn peer_lfdi(connection: &rustls::CommonState) -> Option<HexBinary160> {
    connection
        .peer_certificates()
        .and_then(|chain| chain.first())
        .map(|c| lfdi(c))
}
