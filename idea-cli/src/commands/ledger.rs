//! `idea ledger verify`: a Transactive Energy ledger file checked read-only.

use crate::failure::Failure;
use crate::output::pretty;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub(crate) enum LedgerCommand {
    /// Walk a ledger (SQLite file, opened read-only): every link and hash, every key recorded once, time
    /// order, every entry of a known kind, every signature against the registry rebuilt from the registrar's
    /// key, every checkpoint the registrar signed, and the anchor (--head or --checkpoint) when given.
    /// Exits 1 at the first fault or for a file that is not a ledger, 2 for bad arguments.
    Verify {
        /// The ledger database.
        file: std::path::PathBuf,
        /// The deployment its objects were signed for.
        #[arg(long)]
        deployment: String,
        /// The registrar's avatar id (32 hex digits).
        #[arg(long)]
        registrar: String,
        /// The registrar's ed25519 public key (64 hex digits).
        #[arg(long)]
        registrar_key: String,
        /// When the registry began (RFC 3339).
        #[arg(long)]
        genesis: String,
        /// The head the chain must hold, SEQ:HASH (as an earlier verification printed it): finds entries
        /// removed from the end or rewritten.
        #[arg(long, conflicts_with = "checkpoint")]
        head: Option<String>,
        /// The operator's latest signed checkpoint, kept outside the ledger (a file of its bytes).
        #[arg(long)]
        checkpoint: Option<std::path::PathBuf>,
        /// Print JSON (entries, signatures, head, checkpoints, last_checkpoint, unanchored) instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Runs one `idea ledger` subcommand.
pub(crate) fn run(command: LedgerCommand) -> Result<String, Failure> {
    match command {
        LedgerCommand::Verify {
            file,
            deployment,
            registrar,
            registrar_key,
            genesis,
            head,
            checkpoint,
            json,
        } => verify_ledger(
            &idea_cli::ledger_check::LedgerCheck {
                file,
                deployment,
                registrar,
                registrar_key,
                genesis,
                head,
                checkpoint,
            },
            json,
        ),
    }
}

/// `idea ledger verify`: prints the report.
fn verify_ledger(
    check: &idea_cli::ledger_check::LedgerCheck,
    json: bool,
) -> Result<String, Failure> {
    use idea_cli::ledger_check::{LedgerCheckFailure, verify_ledger_file_with_progress};
    let bar = crate::output::progress_bar(&format!("verifying {}", check.file.display()), 0);
    let report = verify_ledger_file_with_progress(check, &mut |read, total| {
        bar.set_length(total);
        bar.set_position(read);
    });
    bar.finish_and_clear();
    let report = report.map_err(|e| match e {
        LedgerCheckFailure::Failed(why) => Failure::Check(why),
        other => Failure::Usage(other.to_string()),
    })?;
    let head = |h: Option<te_contract::ledger::ChainHead>| {
        h.map(|h| format!("{}:{}", h.seq, idea_proto::hex::encode(&h.hash)))
    };
    let anchored = check.head.is_some() || check.checkpoint.is_some();
    if json {
        return Ok(pretty(&serde_json::json!({
            "entries": report.entries,
            "signatures": report.signatures,
            "head": head(report.head),
            "checkpoints": report.checkpoints,
            "last_checkpoint": head(report.last_checkpoint),
            "unanchored": report.unanchored,
            "anchored": anchored,
        }))?);
    }
    let file = check.file.display();
    let Some(h) = head(report.head) else {
        return Ok(format!("{file}: empty ledger\n"));
    };
    let mut out = format!(
        "{file}: {} entries and {} signatures verified; head {h}\n",
        report.entries, report.signatures
    );
    match head(report.last_checkpoint) {
        Some(c) => out.push_str(&format!(
            "{} checkpoints by the operator, the last over entry {c}; {} entries after it\n",
            report.checkpoints, report.unanchored
        )),
        None => out.push_str("no checkpoint by the operator in the chain\n"),
    }
    if !anchored {
        out.push_str(
            "not anchored: entries removed from the end, or rewritten after the last checkpoint, cannot be \
             told without --head or --checkpoint\n",
        );
    }
    Ok(out)
}
