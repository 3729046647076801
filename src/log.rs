//! One line per event on stderr, prefixed with a UTC timestamp and a level.

use std::fmt::Display;
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy)]
enum Level {
    Error,
    Warning,
    Info,
}

fn line(level: Level, message: impl Display) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let level = match level {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Info => "info",
    };
    // A full stderr is no reason to stop serving: drop the line.
    let _ = writeln!(
        std::io::stderr().lock(),
        "{} {level}: {message}",
        crate::civil::format_utc(now)
    );
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
