//! The wire trace of a case: every unit sent and received, with its time, its bytes and what it is.

use serde::Serialize;

/// Which way a unit went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// From the runner to the device.
    Sent,
    /// From the device to the runner.
    Received,
    /// What the runner noted (a connection opened or closed, a wait that ran out).
    Note,
}

/// One line of a trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TraceEntry {
    /// Milliseconds since the case started.
    pub at_ms: u64,
    /// Which way.
    pub direction: Direction,
    /// The bytes, in hex (empty for a note).
    pub hex: String,
    /// What they are (`STARTDT_ACT`, `I(0,0) C_IC_NA_1 act CA 1 …`), or the note.
    pub summary: String,
}

/// A trace being recorded: its entries, when it started, and the connection's two ends once known.
#[derive(Debug, Clone)]
pub struct Trace {
    start: std::time::Instant,
    start_unix_ms: u64,
    endpoints: Option<(std::net::SocketAddr, std::net::SocketAddr)>,
    entries: Vec<TraceEntry>,
}

/// Most entries kept per case: a device that floods the runner cannot exhaust its memory.
pub const MAX_TRACE_ENTRIES: usize = 10_000;

impl Trace {
    /// An empty trace starting now.
    pub fn new() -> Trace {
        let start_unix_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        Trace {
            start: std::time::Instant::now(),
            start_unix_ms,
            endpoints: None,
            entries: Vec::new(),
        }
    }

    /// Records the connection's ends: the runner's address and the device's.
    pub fn set_endpoints(&mut self, runner: std::net::SocketAddr, device: std::net::SocketAddr) {
        self.endpoints = Some((runner, device));
    }

    /// The runner's and the device's addresses, once connected.
    pub fn endpoints(&self) -> Option<(std::net::SocketAddr, std::net::SocketAddr)> {
        self.endpoints
    }

    /// When the trace started, milliseconds since the Unix epoch (wall clock).
    pub fn start_unix_ms(&self) -> u64 {
        self.start_unix_ms
    }

    /// Records a unit or a note.
    pub fn record(&mut self, direction: Direction, bytes: &[u8], summary: impl Into<String>) {
        if self.entries.len() >= MAX_TRACE_ENTRIES {
            return;
        }
        let at_ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.entries.push(TraceEntry {
            at_ms,
            direction,
            hex: idea_proto::hex::encode(bytes),
            summary: summary.into(),
        });
    }

    /// The entries so far.
    pub fn entries(&self) -> &[TraceEntry] {
        &self.entries
    }

    /// The entries, taken.
    pub fn into_entries(self) -> Vec<TraceEntry> {
        self.entries
    }
}

impl Default for Trace {
    fn default() -> Trace {
        Trace::new()
    }
}
