//! Signed certificates: what was tested (tool, suite, PICS, target), the verdicts with their requirement IDs,
//! and the SHA-256 of every evidence file, signed with the lab's ed25519 key. [`verify`] checks the signature
//! and, given the evidence directory, every hash; nothing else is trusted.

use crate::pics::Pics;
use crate::runner::Report;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

/// The certificate format this version writes and reads.
pub const FORMAT: &str = "idea-conformance-certificate/1";

/// What the signature is bound to besides the body (a signature over a certificate is no signature over
/// anything else the lab signs).
const DOMAIN: &[u8] = b"IDEA-SDK/conformance-certificate/v1\0";

/// One case as certified.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertifiedCase {
    /// The case ID.
    pub id: String,
    /// Its verdict's name.
    pub verdict: String,
    /// The requirement IDs it checks.
    pub requirements: Vec<String>,
}

/// One evidence file and its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceHash {
    /// Its path under the report directory.
    pub file: String,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
}

/// What a certificate states.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateBody {
    /// [`FORMAT`].
    pub format: String,
    /// The tool and its version.
    pub tool: String,
    /// The suite.
    pub suite: String,
    /// The suite's version.
    pub suite_version: String,
    /// The device's address.
    pub target: String,
    /// The run's seed.
    pub seed: u64,
    /// When it was issued, ms since the Unix epoch.
    pub issued_unix_ms: u64,
    /// The vendor's declaration the run used.
    pub pics: Pics,
    /// Whether the device passed.
    pub passed: bool,
    /// Every case run.
    pub cases: Vec<CertifiedCase>,
    /// Every evidence file.
    pub evidence: Vec<EvidenceHash>,
    /// The lab's ed25519 public key, hex.
    pub lab_key: String,
}

/// A certificate: its body and the lab's signature over it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Certificate {
    /// What it states.
    pub body: CertificateBody,
    /// The ed25519 signature of the domain and the body's JSON, hex.
    pub signature: String,
}

/// Why a certificate does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateFault {
    /// The file is not a certificate of this format.
    #[error("not a conformance certificate: {0}")]
    Malformed(String),
    /// The signature does not verify under the key it names.
    #[error("the signature does not verify under lab key {0}")]
    BadSignature(String),
    /// An evidence file is missing.
    #[error("evidence {0} is missing")]
    EvidenceMissing(String),
    /// An evidence file's bytes are not those certified.
    #[error("evidence {file} was altered: SHA-256 {found}, certified {certified}")]
    EvidenceAltered {
        /// The file.
        file: String,
        /// Its hash now.
        found: String,
        /// The hash certified.
        certified: String,
    },
}

fn sha256_hex(bytes: &[u8]) -> String {
    idea_proto::hex::encode(&Sha256::digest(bytes))
}

fn signed_bytes(body: &CertificateBody) -> Vec<u8> {
    let mut message = DOMAIN.to_vec();
    message.extend(serde_json::to_vec(body).unwrap_or_default());
    message
}

/// The lab's key from its 32 secret bytes.
pub fn lab_key(secret: &[u8; 32]) -> (SigningKey, String) {
    let key = SigningKey::from_bytes(secret);
    let public = idea_proto::hex::encode(key.verifying_key().as_bytes());
    (key, public)
}

/// Issues the certificate of `report` and its evidence `files`, signed with the lab's `secret`.
pub fn issue(
    report: &Report,
    files: &[(String, Vec<u8>)],
    secret: &[u8; 32],
    issued_unix_ms: u64,
) -> Certificate {
    let (key, public) = lab_key(secret);
    let body = CertificateBody {
        format: FORMAT.to_owned(),
        tool: report.tool.clone(),
        suite: report.suite.clone(),
        suite_version: report.suite_version.clone(),
        target: report.target.clone(),
        seed: report.seed,
        issued_unix_ms,
        pics: report.pics.clone(),
        passed: report.passed,
        cases: report
            .results
            .iter()
            .map(|r| CertifiedCase {
                id: r.case.id.clone(),
                verdict: r.verdict.name().to_owned(),
                requirements: r.case.requirements.clone(),
            })
            .collect(),
        evidence: files
            .iter()
            .map(|(file, bytes)| EvidenceHash {
                file: file.clone(),
                sha256: sha256_hex(bytes),
            })
            .collect(),
        lab_key: public,
    };
    let signature = idea_proto::hex::encode(&key.sign(&signed_bytes(&body)).to_bytes());
    Certificate { body, signature }
}

/// Checks a certificate's signature and, with `evidence`, that every evidence file it lists is there with
/// the certified hash. Gives what it states.
pub fn verify(text: &str, evidence: Option<&Path>) -> Result<CertificateBody, CertificateFault> {
    let cert: Certificate =
        serde_json::from_str(text).map_err(|e| CertificateFault::Malformed(e.to_string()))?;
    if cert.body.format != FORMAT {
        return Err(CertificateFault::Malformed(format!(
            "format {:?}, this tool reads {FORMAT}",
            cert.body.format
        )));
    }
    let key_bytes: [u8; 32] = idea_proto::hex::decode(&cert.body.lab_key)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| CertificateFault::Malformed("lab_key is not 32 bytes of hex".into()))?;
    let signature: [u8; 64] = idea_proto::hex::decode(&cert.signature)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| CertificateFault::Malformed("signature is not 64 bytes of hex".into()))?;
    let key = VerifyingKey::from_bytes(&key_bytes)
        .map_err(|_| CertificateFault::BadSignature(cert.body.lab_key.clone()))?;
    key.verify_strict(
        &signed_bytes(&cert.body),
        &ed25519_dalek::Signature::from_bytes(&signature),
    )
    .map_err(|_| CertificateFault::BadSignature(cert.body.lab_key.clone()))?;
    if let Some(dir) = evidence {
        for e in &cert.body.evidence {
            if e.file.contains("..") || Path::new(&e.file).is_absolute() {
                return Err(CertificateFault::Malformed(format!(
                    "evidence path {:?}",
                    e.file
                )));
            }
            let bytes = std::fs::read(dir.join(&e.file))
                .map_err(|_| CertificateFault::EvidenceMissing(e.file.clone()))?;
            let found = sha256_hex(&bytes);
            if found != e.sha256 {
                return Err(CertificateFault::EvidenceAltered {
                    file: e.file.clone(),
                    found,
                    certified: e.sha256.clone(),
                });
            }
        }
    }
    Ok(cert.body)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::runner::{Selection, Summary};

    fn report() -> Report {
        Report {
            tool: "idea-conformance test".into(),
            suite: "iec104-outstation".into(),
            suite_version: "0.1".into(),
            target: "127.0.0.1:2404".into(),
            seed: 1,
            selection: Selection::default(),
            pics: Pics::from_toml(
                "t",
                "[device]\nvendor = \"v\"\nmodel = \"m\"\nversion = \"1\"\n[iec104]\nt1_s = 0.1\nsetpoint_value = 0.1\n",
            )
            .unwrap(),
            results: Vec::new(),
            summary: Summary::default(),
            passed: true,
        }
    }

    #[test]
    fn a_certificate_verifies_and_any_change_is_caught() {
        let dir = std::env::temp_dir().join(format!("idea-cert-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let files = vec![("report.json".to_owned(), b"{}".to_vec())];
        std::fs::write(dir.join("report.json"), b"{}").unwrap();
        let cert = issue(&report(), &files, &[7; 32], 1_796_300_000_000);
        let text = serde_json::to_string_pretty(&cert).unwrap();
        let body = verify(&text, Some(&dir)).unwrap();
        assert_eq!((body.passed, body.evidence.len()), (true, 1));

        // A verdict changed after signing.
        let forged = text.replace("\"passed\": true", "\"passed\": false");
        assert!(matches!(
            verify(&forged, None),
            Err(CertificateFault::BadSignature(_))
        ));
        // Evidence altered, or gone.
        std::fs::write(dir.join("report.json"), b"{ }").unwrap();
        assert!(matches!(
            verify(&text, Some(&dir)),
            Err(CertificateFault::EvidenceAltered { ref file, .. }) if file == "report.json"
        ));
        std::fs::remove_file(dir.join("report.json")).unwrap();
        assert_eq!(
            verify(&text, Some(&dir)),
            Err(CertificateFault::EvidenceMissing("report.json".into()))
        );
        // Another lab's key in place of the signer's.
        let other = lab_key(&[8; 32]).1;
        let swapped = text.replace(&cert.body.lab_key, &other);
        assert!(matches!(
            verify(&swapped, None),
            Err(CertificateFault::BadSignature(_))
        ));
        assert!(matches!(
            verify("{}", None),
            Err(CertificateFault::Malformed(_))
        ));
    }
}
