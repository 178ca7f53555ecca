//! `idea ledger verify`: a Transactive Energy ledger file checked read-only against the registrar's key and an
//! anchor (a head known by other means, or the operator's latest checkpoint kept outside the ledger).

use std::path::{Path, PathBuf};
use te_contract::audit::verify;
use te_contract::ledger::{
    Anchor, ChainHead, Checkpoint, LedgerStore, SqliteStore, StoredEntry, VerifyReport,
};
use te_contract::{AvatarId, Codec, DeploymentId, Signed};

/// What to verify a ledger file against.
#[derive(Debug, Clone)]
pub struct LedgerCheck {
    /// The ledger (an SQLite file); opened read-only.
    pub file: PathBuf,
    /// The deployment its objects were signed for.
    pub deployment: String,
    /// The registrar's avatar id (32 hex digits).
    pub registrar: String,
    /// The registrar's ed25519 public key (64 hex digits).
    pub registrar_key: String,
    /// When the registry began (RFC 3339).
    pub genesis: String,
    /// A head known by other means, `SEQ:HASH` (64 hex digits).
    pub head: Option<String>,
    /// A checkpoint file (a signed checkpoint's bytes, as `Ledger::checkpoint` returns them).
    pub checkpoint: Option<PathBuf>,
}

/// Why a ledger was not verified.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerCheckFailure {
    /// Bad input: an argument that does not parse, a file that cannot be read.
    #[error("{0}")]
    Input(String),
    /// The ledger failed verification, or is not a ledger.
    #[error("{0}")]
    Failed(String),
}

fn input(what: &str, e: impl std::fmt::Display) -> LedgerCheckFailure {
    LedgerCheckFailure::Input(format!("{what}: {e}"))
}

/// `SEQ:HASH` as a chain head.
pub fn parse_head(text: &str) -> Result<ChainHead, String> {
    let (seq, hash) = text
        .split_once(':')
        .ok_or("expected SEQ:HASH, e.g. 42:9f86…")?;
    let seq = seq.parse().map_err(|e| format!("sequence number: {e}"))?;
    let hash = idea_proto::hex::decode(hash)?
        .try_into()
        .map_err(|_| "the hash is 64 hex digits".to_owned())?;
    Ok(ChainHead { seq, hash })
}

fn read_checkpoint(path: &Path) -> Result<Signed<Checkpoint>, LedgerCheckFailure> {
    let bytes = std::fs::read(path).map_err(|e| input(&path.display().to_string(), e))?;
    Signed::<Checkpoint>::decode_exact(&bytes)
        .map_err(|e| input(&format!("{} (checkpoint)", path.display()), e))
}

/// A store whose scan reports how far it has come: `(entries read, entries in the chain)`.
struct Watched<'a, S> {
    store: &'a S,
    total: u64,
    progress: std::cell::RefCell<&'a mut dyn FnMut(u64, u64)>,
}

impl<S: LedgerStore> LedgerStore for Watched<'_, S> {
    fn head(&self) -> te_contract::Result<Option<ChainHead>> {
        self.store.head()
    }

    fn contains(&self, kind: u16, key: &[u8; 24]) -> te_contract::Result<bool> {
        self.store.contains(kind, key)
    }

    fn append(&mut self, _entries: &[StoredEntry]) -> te_contract::Result<()> {
        Err(te_contract::Error::Store(
            "verification reads the ledger; it never writes".into(),
        ))
    }

    fn scan(
        &self,
        from: u64,
        f: &mut dyn FnMut(StoredEntry) -> te_contract::Result<()>,
    ) -> te_contract::Result<()> {
        let mut read = 0u64;
        self.store.scan(from, &mut |entry| {
            read = read.saturating_add(1);
            if read.trailing_zeros() >= 10
                && let Ok(mut progress) = self.progress.try_borrow_mut()
            {
                progress(read, self.total);
            }
            f(entry)
        })
    }
}

/// Verifies the ledger file: read-only (the file is left byte for byte as it was, nothing is created beside
/// it), refusing a file that is not a ledger.
pub fn verify_ledger_file(check: &LedgerCheck) -> Result<VerifyReport, LedgerCheckFailure> {
    verify_ledger_file_with_progress(check, &mut |_, _| {})
}

/// [`verify_ledger_file`], telling `progress` `(entries verified, entries in the chain)` as it goes.
pub fn verify_ledger_file_with_progress(
    check: &LedgerCheck,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<VerifyReport, LedgerCheckFailure> {
    let deployment = DeploymentId::new(&check.deployment).map_err(|e| input("--deployment", e))?;
    let registrar: AvatarId = check
        .registrar
        .parse()
        .map_err(|e: te_contract::Error| input("--registrar", e))?;
    let key: idea_proto::PublicKey = check
        .registrar_key
        .parse()
        .map_err(|e: idea_proto::Error| input("--registrar-key", e))?;
    let genesis: idea_proto::Timestamp = check
        .genesis
        .parse()
        .map_err(|e: idea_proto::Error| input("--genesis", e))?;
    let anchor = match (&check.head, &check.checkpoint) {
        (Some(head), None) => Anchor::Head(parse_head(head).map_err(|e| input("--head", e))?),
        (None, Some(path)) => Anchor::Checkpoint(read_checkpoint(path)?),
        (None, None) => Anchor::None,
        (Some(_), Some(_)) => {
            return Err(LedgerCheckFailure::Input(
                "--head and --checkpoint: give one anchor".into(),
            ));
        }
    };
    let file = check.file.display();
    if !check.file.is_file() {
        return Err(LedgerCheckFailure::Input(format!("{file}: no such file")));
    }
    let store = SqliteStore::open_read_only(&check.file)
        .map_err(|e| LedgerCheckFailure::Failed(format!("{file}: {e}")))?;
    let total = store
        .head()
        .map_err(|e| LedgerCheckFailure::Failed(format!("{file}: {e}")))?
        .map_or(0, |h| h.seq);
    let watched = Watched {
        store: &store,
        total,
        progress: std::cell::RefCell::new(progress),
    };
    verify(&watched, &deployment, registrar, key, genesis, &anchor)
        .map_err(|e| LedgerCheckFailure::Failed(format!("{file}: {e}")))
}
