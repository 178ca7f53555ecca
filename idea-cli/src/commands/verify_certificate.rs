//! `idea verify-certificate FILE [--evidence DIR]`: checks a conformance certificate's signature and, with the
//! evidence directory, the SHA-256 of every evidence file it lists. Exit 0 when it holds, 1 when it does not.

use crate::failure::Failure;
use idea_conformance::certificate::{self, CertificateFault};
use std::fmt::Write as _;
use std::path::PathBuf;

/// Arguments of `idea verify-certificate`.
#[derive(Debug, clap::Args)]
pub(crate) struct VerifyCertificateArgs {
    /// The certificate (certificate.json of `idea conform --lab-key`).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// The report directory holding the evidence it lists: every file's hash is checked.
    #[arg(long, value_name = "DIR")]
    evidence: Option<PathBuf>,
    /// Print what the certificate states as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `idea verify-certificate`.
pub(crate) fn run(args: VerifyCertificateArgs) -> Result<String, Failure> {
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| Failure::Usage(format!("{}: {e}", args.file.display())))?;
    let body = match certificate::verify(&text, args.evidence.as_deref()) {
        Ok(body) => body,
        Err(fault @ CertificateFault::Malformed(_)) => {
            return Err(Failure::Usage(fault.to_string()));
        }
        Err(fault) => return Err(Failure::Check(fault.to_string())),
    };
    if args.json {
        return Ok(serde_json::to_string_pretty(&body).unwrap_or_default() + "\n");
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "valid: {} {} of {} ({} {}), {} cases, {}; signed by lab key {}",
        body.suite,
        body.suite_version,
        body.target,
        body.pics.device.vendor,
        body.pics.device.model,
        body.cases.len(),
        if body.passed { "PASSED" } else { "NOT PASSED" },
        body.lab_key
    );
    let _ = writeln!(
        out,
        "{} evidence files {}",
        body.evidence.len(),
        if args.evidence.is_some() {
            "match their certified SHA-256"
        } else {
            "listed (give --evidence DIR to check them)"
        }
    );
    Ok(out)
}
