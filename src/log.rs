//! One line per event on stderr. On a terminal or in a file: a UTC timestamp and a level.
//! In the journal: a syslog priority prefix (`<3>`, `<4>`, `<6>`) and no timestamp, which
//! journald adds itself.

use std::fmt::Display;
use std::io::Write;
use std::sync::OnceLock;

static JOURNAL: OnceLock<bool> = OnceLock::new();

/// Decides the line format once, from the environment; later calls change nothing.
pub fn init() {
    JOURNAL.get_or_init(crate::systemd::journal_stderr);
}

#[derive(Debug, Clone, Copy)]
enum Level {
    Error,
    Warning,
    Info,
}

fn line(level: Level, message: impl Display) {
    let (priority, name) = match level {
        Level::Error => (3, "error"),
        Level::Warning => (4, "warning"),
        Level::Info => (6, "info"),
    };
    let mut err = std::io::stderr().lock();
    // A full or closed stderr is no reason to stop serving: the line is dropped.
    let _ = if *JOURNAL.get().unwrap_or(&false) {
        writeln!(err, "<{priority}>{message}")
    } else {
        let now = crate::civil::now_secs();
        writeln!(err, "{} {name}: {message}", crate::civil::format_utc(now))
    };
}

pub fn error(message: impl Display) {
    line(Level::Error, message);
}

pub fn warn(message: impl Display) {
    line(Level::Warning, message);
}

pub fn info(message: impl Display) {
    line(Level::Info, message);
}
