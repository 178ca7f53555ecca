//! Library log records (refused handshakes, failed accepts, connections with `--verbose`) as lines on standard
//! error.

use std::io::Write;

/// Log records of the libraries (refused handshakes, failed accepts, connections with `--verbose`) as lines on
/// standard error.
pub(crate) struct StderrLog;

impl log::Log for StderrLog {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let level = record.level().as_str().to_ascii_lowercase();
            let _ = writeln!(std::io::stderr(), "idea: {level}: {}", record.args());
        }
    }

    fn flush(&self) {}
}

pub(crate) static LOG: StderrLog = StderrLog;
