//! TLS identities and trust anchors from PEM (feature `pem`): the one PEM loader of the workspace, shared by
//! the TLS adapters of `iec104` (IEC 62351-3) and `ieee2030-5` (clause 6.11). Each builds its rustls
//! configuration from what this reads; errors are sentences that name what did not parse, and, for files, the
//! file.
//!
//! ```
//! let refused = idea_proto::pem::certificates(b"not a certificate").unwrap_err();
//! assert!(refused.contains("no certificate"), "{refused}");
//! ```

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;

/// Every certificate in `pem`, in order (a chain: its own certificate first); at least one.
pub fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("certificate: {e}"))?;
    if certificates.is_empty() {
        return Err("no certificate in the PEM".to_owned());
    }
    Ok(certificates)
}

/// The private key in `pem`: PKCS #8, SEC 1 or PKCS #1.
pub fn private_key(pem: &[u8]) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| format!("private key: {e}"))
}

/// The bytes of the PEM file at `path`; the error names the file.
pub fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}
