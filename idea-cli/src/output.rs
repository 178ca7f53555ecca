//! What every subcommand prints with: pretty JSON, progress on a terminal, input from a file or standard input.

use std::io::Write;

/// Runs `work`, showing `label` and the time elapsed on standard error while it runs — only when standard
/// error is a terminal and the work takes more than half a second; piped output stays clean.
pub(crate) fn with_progress<T: Send>(label: &str, work: impl FnOnce() -> T + Send) -> T {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return work();
    }
    let started = std::time::Instant::now();
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let shown = scope.spawn(|| {
            let mut shown = false;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_millis(100));
                let elapsed = started.elapsed();
                if elapsed.as_millis() >= 500 && !done.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = write!(
                        std::io::stderr(),
                        "\r{label}: {:.1} s",
                        elapsed.as_secs_f64()
                    );
                    shown = true;
                }
            }
            shown
        });
        let result = work();
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        if shown.join().unwrap_or(false) {
            // Clear the progress line.
            let _ = write!(
                std::io::stderr(),
                "\r{}\r",
                " ".repeat(label.len().saturating_add(16))
            );
        }
        result
    })
}

/// Pretty JSON with a final newline.
pub(crate) fn pretty(value: &impl serde::Serialize) -> Result<String, String> {
    serde_json::to_string_pretty(value)
        .map(|s| s + "\n")
        .map_err(|e| e.to_string())
}

/// The bytes of `file`, or of standard input for `-`.
pub(crate) fn read_input(file: &str) -> Result<Vec<u8>, String> {
    if file == "-" {
        let mut buffer = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buffer)
            .map_err(|e| format!("standard input: {e}"))?;
        Ok(buffer)
    } else {
        std::fs::read(file).map_err(|e| format!("{file}: {e}"))
    }
}
