//! Living under systemd: readiness and watchdog notifications ([`notify`]), sockets it passes
//! ([`activation`]), and whether stderr goes to the journal ([`journal_stderr`]).

pub mod activation;
pub mod notify;

use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;

pub use notify::Notifier;

/// Whether stderr is the journal stream systemd set up (`JOURNAL_STREAM=dev:inode` matches
/// stderr's own device and inode). Then log lines carry `<N>` priority prefixes instead of
/// timestamps, and `journalctl -p warning` works.
pub fn journal_stderr() -> bool {
    let Some(expected) = std::env::var("JOURNAL_STREAM").ok() else {
        return false;
    };
    let Ok(fd) = std::io::stderr().as_fd().try_clone_to_owned() else {
        return false;
    };
    let Ok(meta) = std::fs::File::from(fd).metadata() else {
        return false;
    };
    expected == format!("{}:{}", meta.dev(), meta.ino())
}
