//! A ledger store in memory, for tests and simulations.

use super::{ChainHead, LedgerStore, StoredEntry};
use crate::error::Result;
use std::collections::HashSet;

/// Keeps the chain in a vector.
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    entries: Vec<StoredEntry>,
    keys: HashSet<(u16, [u8; 24])>,
}

impl MemoryStore {
    /// An empty chain.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// Every entry, for tests that tamper with them.
    pub fn entries_mut(&mut self) -> &mut Vec<StoredEntry> {
        &mut self.entries
    }
}

impl LedgerStore for MemoryStore {
    fn head(&self) -> Result<Option<ChainHead>> {
        Ok(self.entries.last().map(|e| ChainHead {
            seq: e.seq,
            hash: e.hash,
        }))
    }

    fn contains(&self, kind: u16, key: &[u8; 24]) -> Result<bool> {
        Ok(self.keys.contains(&(kind, *key)))
    }

    fn append(&mut self, entries: &[StoredEntry]) -> Result<()> {
        self.keys
            .extend(entries.iter().map(|e| (e.entry.kind, e.entry.key)));
        self.entries.extend_from_slice(entries);
        Ok(())
    }

    fn scan(&self, from: u64, f: &mut dyn FnMut(StoredEntry) -> Result<()>) -> Result<()> {
        for e in self.entries.iter().filter(|e| e.seq >= from) {
            f(e.clone())?;
        }
        Ok(())
    }
}
