//! Where an agent keeps its debt payment channels across restarts (TE-09): every channel the TE node recorded,
//! every state both sides signed and every proposal of its own, each made durable before the agent relies on
//! it or hands it out ([`te_contract::channel::ChannelStore`]'s rule), and the channels closed. A restarted
//! agent reads them back ([`crate::ChannelKeeper::with_journal`]) and goes on from the latest state both
//! signed.
//!
//! [`FileJournal`] appends one line per entry to a file and syncs it before returning: `open HEX`, `state HEX`
//! (the objects' canonical bytes, hex) or `closed CHANNEL`. Reading it back, a line that does not decode is
//! skipped and reported; it never hides the lines after it.

use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use te_contract::channel::{ChannelOpen, ChannelState};
use te_contract::{ChannelId, Codec, Signed};

/// One entry of a channel journal.
#[derive(Debug, Clone, PartialEq)]
pub enum JournalEntry {
    /// A channel both sides signed and the TE node recorded.
    Open(Box<Signed<ChannelOpen>>),
    /// A state both sides signed, or a proposal of this side's (signed by it alone).
    State(Box<Signed<ChannelState>>),
    /// A channel the TE node closed: its entries are no longer needed.
    Closed(ChannelId),
}

/// What a journal held, as read back: its entries and the lines it could not read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JournalContents {
    /// The entries, in the order they were written.
    pub entries: Vec<JournalEntry>,
    /// A sentence for each line that could not be read.
    pub problems: Vec<String>,
}

/// A journal of an agent's channels.
pub trait ChannelJournal: std::fmt::Debug + Send {
    /// Makes `entry` durable; returns only when it is.
    ///
    /// # Errors
    /// Why it could not be written.
    fn append(&mut self, entry: &JournalEntry) -> Result<(), String>;
    /// Everything written so far.
    ///
    /// # Errors
    /// Why the journal could not be read at all.
    fn read(&self) -> Result<JournalContents, String>;
}

/// A journal in memory: for tests and simulations, and for an agent that keeps nothing across restarts.
#[derive(Debug, Clone, Default)]
pub struct MemoryJournal {
    /// The entries written.
    pub entries: Vec<JournalEntry>,
}

impl ChannelJournal for MemoryJournal {
    fn append(&mut self, entry: &JournalEntry) -> Result<(), String> {
        self.entries.push(entry.clone());
        Ok(())
    }

    fn read(&self) -> Result<JournalContents, String> {
        Ok(JournalContents {
            entries: self.entries.clone(),
            problems: Vec::new(),
        })
    }
}

/// The most bytes of one journal line read back (a state carries at most a bounded number of debts).
const MAX_LINE: usize = 1 << 20;

/// A journal file, appended to and synced entry by entry.
#[derive(Debug)]
pub struct FileJournal {
    path: PathBuf,
    file: std::fs::File,
}

impl FileJournal {
    /// Opens (or creates) the journal at `path` for appending.
    ///
    /// # Errors
    /// The file's.
    pub fn open(path: &Path) -> Result<FileJournal, String> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(FileJournal {
            path: path.to_owned(),
            file,
        })
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn line_of(entry: &JournalEntry) -> String {
    match entry {
        JournalEntry::Open(open) => format!("open {}\n", idea_proto::hex::encode(&open.to_bytes())),
        JournalEntry::State(state) => {
            format!("state {}\n", idea_proto::hex::encode(&state.to_bytes()))
        }
        JournalEntry::Closed(channel) => format!("closed {channel}\n"),
    }
}

fn entry_of(line: &str) -> Result<JournalEntry, String> {
    let (kind, rest) = line.split_once(' ').ok_or("no entry kind")?;
    let bytes = || idea_proto::hex::decode(rest.trim());
    match kind {
        "open" => Signed::<ChannelOpen>::decode_exact(&bytes()?)
            .map(|o| JournalEntry::Open(Box::new(o)))
            .map_err(|e| e.to_string()),
        "state" => Signed::<ChannelState>::decode_exact(&bytes()?)
            .map(|s| JournalEntry::State(Box::new(s)))
            .map_err(|e| e.to_string()),
        "closed" => rest
            .trim()
            .parse::<ChannelId>()
            .map(JournalEntry::Closed)
            .map_err(|e| e.to_string()),
        other => Err(format!("unknown entry kind {other:?}")),
    }
}

impl ChannelJournal for FileJournal {
    fn append(&mut self, entry: &JournalEntry) -> Result<(), String> {
        let line = line_of(entry);
        self.file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.sync_data())
            .map_err(|e| format!("{}: {e}", self.path.display()))
    }

    fn read(&self) -> Result<JournalContents, String> {
        let file =
            std::fs::File::open(&self.path).map_err(|e| format!("{}: {e}", self.path.display()))?;
        let mut contents = JournalContents::default();
        let mut reader = std::io::BufReader::new(file);
        let mut line = String::new();
        let mut number = 0usize;
        loop {
            line.clear();
            number = number.saturating_add(1);
            let read = Read::by_ref(&mut reader)
                .take(u64::try_from(MAX_LINE).unwrap_or(u64::MAX))
                .read_line(&mut line);
            match read {
                Ok(0) => break,
                Ok(_) if !line.ends_with('\n') && line.len() >= MAX_LINE => {
                    contents
                        .problems
                        .push(format!("line {number}: longer than {MAX_LINE} bytes"));
                    // Skip the rest of the overlong line.
                    let mut rest = Vec::new();
                    let _ = reader.read_until(b'\n', &mut rest);
                }
                // A last line cut short by a crash mid-write was never acknowledged: skipped, said.
                Ok(_) => match entry_of(line.trim_end()) {
                    Ok(entry) => contents.entries.push(entry),
                    Err(e) => contents.problems.push(format!("line {number}: {e}")),
                },
                Err(e) => {
                    contents.problems.push(format!("line {number}: {e}"));
                    break;
                }
            }
        }
        Ok(contents)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[test]
    fn a_bad_line_is_reported_and_hides_nothing_after_it() {
        let dir = std::env::temp_dir().join(format!("idea-journal-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("channels.journal");
        let _ = std::fs::remove_file(&path);
        let channel = ChannelId::from_bytes([7; 16]);
        {
            let mut j = FileJournal::open(&path).unwrap();
            j.append(&JournalEntry::Closed(channel)).unwrap();
        }
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("state 00zz\nbogus\n");
        text.push_str(&line_of(&JournalEntry::Closed(channel)));
        text.push_str("closed 0102"); // cut short by a crash
        std::fs::write(&path, text).unwrap();
        let read = FileJournal::open(&path).unwrap().read().unwrap();
        assert_eq!(
            read.entries,
            vec![JournalEntry::Closed(channel), JournalEntry::Closed(channel)]
        );
        assert_eq!(read.problems.len(), 3, "{:?}", read.problems);
        assert!(
            read.problems[0].starts_with("line 2:"),
            "{:?}",
            read.problems
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
