//! Library log records (refused handshakes, failed accepts, connections with `--verbose`) as lines on standard
//! error.

use std::io::Write;

/// Log records of the libraries (refused handshakes, failed accepts, connections with `--verbose`) as lines on
/// standard error.
pub(crate) struct StderrLog;

impl log::Log for StderrLog {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        // The embedded MQTT broker reports every client that drops its connection as an error: its chatter
        // shows with --verbose only.
        let broker = metadata.target().starts_with("rumqtt");
        metadata.level() <= log::max_level()
            && (!broker || log::max_level() >= log::LevelFilter::Info)
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
