//! What every subcommand prints with: pretty JSON, progress on a terminal, input from a file or standard input.

/// Runs `work`, showing `label`, a spinner and the time elapsed on standard error while it runs (indicatif)
/// — only when standard error is a terminal; piped output stays clean. The line is cleared at the end.
pub(crate) fn with_progress<T>(label: &str, work: impl FnOnce() -> T) -> T {
    let spinner =
        indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
    spinner.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg}: {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    spinner.set_message(label.to_owned());
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let result = work();
    spinner.finish_and_clear();
    result
}

/// A progress bar over `total` units of `label`'s work on standard error — drawn only on a terminal, so piped
/// output stays clean. Callers `set_position` as they go and `finish_and_clear` at the end.
pub(crate) fn progress_bar(label: &str, total: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(total),
        indicatif::ProgressDrawTarget::stderr(),
    );
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:30}] {percent:>3}% {elapsed} (eta {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(label.to_owned());
    bar
}

pub(crate) use idea_cli::wall_clock;

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
