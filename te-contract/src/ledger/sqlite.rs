//! The SQLite ledger store: one table, one transaction per group commit, write-ahead log with full sync, so a
//! committed group survives a crash and an interrupted one leaves no trace.

use super::{ChainHead, Entry, LedgerStore, StoredEntry};
use crate::error::{Error, Result};
use idea_proto::Timestamp;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::HashSet;
use std::path::Path;

/// Keys looked up per query by [`LedgerStore::first_stored`] (two parameters each, well under SQLite's
/// limit).
const LOOKUP_CHUNK: usize = 500;

/// A chain in an SQLite database file.
#[derive(Debug)]
pub struct SqliteStore {
    db: Connection,
}

fn store_error(e: rusqlite::Error) -> Error {
    Error::Store(e.to_string())
}

fn array<const N: usize>(bytes: Vec<u8>, column: &str) -> Result<[u8; N]> {
    bytes
        .try_into()
        .map_err(|_| Error::Store(format!("column {column} does not hold {N} bytes")))
}

impl SqliteStore {
    /// Opens (or creates) the database at `path`.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        let db = Connection::open(path).map_err(store_error)?;
        SqliteStore::init(db)
    }

    /// Opens an existing ledger at `path` for reading only — for verification, which must never change
    /// the evidence it checks: nothing is created or written (no table, no journal setting). A file that is
    /// not an SQLite database, or a database without the ledger's table, is refused as
    /// [`LedgerFault::NotALedger`](crate::LedgerFault::NotALedger).
    pub fn open_read_only(path: &Path) -> Result<SqliteStore> {
        use rusqlite::OpenFlags;
        let not_a_ledger = |why: String| Error::Ledger {
            seq: 0,
            fault: crate::LedgerFault::NotALedger(why),
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if !path.is_file() {
            return Err(Error::Store(format!("{}: no such file", path.display())));
        }
        // Without a write-ahead log beside it (the writer closed cleanly) the whole ledger is in the file:
        // open it as immutable, so SQLite creates no -wal or -shm file either. With one (the writer is
        // running, or crashed), its committed groups are part of the ledger: read them through the log.
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        let db = if std::path::Path::new(&wal).exists() {
            Connection::open_with_flags(path, flags)
        } else {
            Connection::open_with_flags(
                format!("file:{}?immutable=1", uri_path(path)),
                flags | OpenFlags::SQLITE_OPEN_URI,
            )
        }
        .map_err(store_error)?;
        let columns: Vec<String> = db
            .prepare("SELECT name FROM pragma_table_info('entries') ORDER BY cid")
            .and_then(|mut statement| {
                statement
                    .query_map([], |row| row.get::<_, String>(0))?
                    .collect::<std::result::Result<Vec<_>, _>>()
            })
            .map_err(|e| not_a_ledger(e.to_string()))?;
        let expected = ["seq", "kind", "key", "at", "body", "prev", "hash"];
        if columns != expected {
            return Err(not_a_ledger(if columns.is_empty() {
                "no entries table".into()
            } else {
                format!("the entries table has columns {columns:?}")
            }));
        }
        Ok(SqliteStore { db })
    }

    /// A database in memory (tests).
    pub fn in_memory() -> Result<SqliteStore> {
        SqliteStore::init(Connection::open_in_memory().map_err(store_error)?)
    }

    fn init(db: Connection) -> Result<SqliteStore> {
        db.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             CREATE TABLE IF NOT EXISTS entries (
                 seq  INTEGER PRIMARY KEY,
                 kind INTEGER NOT NULL,
                 key  BLOB NOT NULL,
                 at   INTEGER NOT NULL,
                 body BLOB NOT NULL,
                 prev BLOB NOT NULL,
                 hash BLOB NOT NULL,
                 UNIQUE (kind, key)
             );",
        )
        .map_err(store_error)?;
        Ok(SqliteStore { db })
    }
}

/// `path` for an SQLite `file:` URI: the characters a URI gives a meaning escaped.
fn uri_path(path: &Path) -> String {
    let mut out = String::new();
    for c in path.to_string_lossy().chars() {
        match c {
            '%' => out.push_str("%25"),
            '?' => out.push_str("%3f"),
            '#' => out.push_str("%23"),
            c => out.push(c),
        }
    }
    out
}

impl LedgerStore for SqliteStore {
    fn head(&self) -> Result<Option<ChainHead>> {
        let row = self
            .db
            .query_row(
                "SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)),
            )
            .optional()
            .map_err(store_error)?;
        row.map(|(seq, hash)| {
            Ok(ChainHead {
                seq: u64::try_from(seq).map_err(|_| Error::Store("negative seq".into()))?,
                hash: array(hash, "hash")?,
            })
        })
        .transpose()
    }

    fn contains(&self, kind: u16, key: &[u8; 24]) -> Result<bool> {
        let mut statement = self
            .db
            .prepare_cached("SELECT 1 FROM entries WHERE kind = ?1 AND key = ?2")
            .map_err(store_error)?;
        statement
            .exists(params![kind, &key[..]])
            .map_err(store_error)
    }

    fn first_stored(&self, ids: &[(u16, [u8; 24])]) -> Result<Option<usize>> {
        let mut found = HashSet::new();
        for chunk in ids.chunks(LOOKUP_CHUNK) {
            let rows = vec!["(?, ?)"; chunk.len()].join(", ");
            let mut statement = self
                .db
                .prepare_cached(&format!(
                    "SELECT kind, key FROM entries WHERE (kind, key) IN (VALUES {rows})"
                ))
                .map_err(store_error)?;
            let values = chunk.iter().flat_map(|(kind, key)| {
                [Value::Integer(i64::from(*kind)), Value::Blob(key.to_vec())]
            });
            let mut rows = statement
                .query(rusqlite::params_from_iter(values))
                .map_err(store_error)?;
            while let Some(row) = rows.next().map_err(store_error)? {
                let kind: u16 = row.get(0).map_err(store_error)?;
                found.insert((kind, array::<24>(row.get(1).map_err(store_error)?, "key")?));
            }
        }
        Ok(ids.iter().position(|id| found.contains(id)))
    }

    fn append(&mut self, entries: &[StoredEntry]) -> Result<()> {
        let tx = self.db.transaction().map_err(store_error)?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO entries (seq, kind, key, at, body, prev, hash)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(store_error)?;
            for e in entries {
                let seq = i64::try_from(e.seq).map_err(|_| Error::Overflow("ledger sequence"))?;
                insert
                    .execute(params![
                        seq,
                        e.entry.kind,
                        &e.entry.key[..],
                        e.entry.at.unix_ms(),
                        &e.entry.body,
                        &e.prev[..],
                        &e.hash[..],
                    ])
                    .map_err(store_error)?;
            }
        }
        tx.commit().map_err(store_error)
    }

    fn scan(&self, from: u64, f: &mut dyn FnMut(StoredEntry) -> Result<()>) -> Result<()> {
        let from = i64::try_from(from).unwrap_or(i64::MAX);
        let mut statement = self
            .db
            .prepare("SELECT seq, kind, key, at, body, prev, hash FROM entries WHERE seq >= ?1 ORDER BY seq")
            .map_err(store_error)?;
        let mut rows = statement.query(params![from]).map_err(store_error)?;
        while let Some(row) = rows.next().map_err(store_error)? {
            let seq: i64 = row.get(0).map_err(store_error)?;
            let at: i64 = row.get(3).map_err(store_error)?;
            let stored = StoredEntry {
                seq: u64::try_from(seq).map_err(|_| Error::Store("negative seq".into()))?,
                entry: Entry {
                    kind: row.get(1).map_err(store_error)?,
                    key: array(row.get(2).map_err(store_error)?, "key")?,
                    at: Timestamp::from_unix_ms(at)?,
                    body: row.get(4).map_err(store_error)?,
                },
                prev: array(row.get(5).map_err(store_error)?, "prev")?,
                hash: array(row.get(6).map_err(store_error)?, "hash")?,
            };
            f(stored)?;
        }
        Ok(())
    }
}
