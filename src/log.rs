//! One line per event on stderr. On a terminal or in a file: a UTC timestamp and a level.
//! In the journal: a syslog priority prefix (`<3>`, `<4>`, `<6>`) and no timestamp, which
//! journald adds itself.
//!
//! Once the daemon serves, lines go through a bounded queue to a writer thread of their own
//! ([`start_writer`]): a write to stderr blocks when journald (or a full pipe) pushes back,
//! and a blocked write must never stall the runtime. When the queue is full, lines are
//! dropped and counted ([`dropped`], in the metrics), and the writer says how many once it
//! can write again. Before the writer starts, and after [`flush`], lines are written directly.

use std::fmt::Display;
use std::io::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::time::Duration;

/// Lines waiting for the writer at most: enough for a burst of access-log lines while
/// journald catches up, a bounded amount of memory (a few hundred KiB) when it never does.
const QUEUE_LINES: usize = 4096;

/// How long [`flush`] waits for the writer at exit: a stuck stderr must not keep a stopping
/// daemon alive past its grace period.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(1);

static JOURNAL: OnceLock<bool> = OnceLock::new();
static QUEUE: OnceLock<SyncSender<Message>> = OnceLock::new();
static DROPPED: AtomicU64 = AtomicU64::new(0);

enum Message {
    Line(String),
    /// Answered once every line queued before it is written.
    Flush(SyncSender<()>),
}

/// Decides the line format once: `journal` when stderr is the journal stream systemd set up.
/// Later calls change nothing.
pub fn init(journal: bool) {
    JOURNAL.get_or_init(|| journal);
}

/// From now on lines go through the queue to a writer thread. Once per process; later calls
/// change nothing. If the thread cannot be started, the queue has no reader and lines keep
/// being written directly.
pub fn start_writer() {
    QUEUE.get_or_init(|| {
        let (tx, rx) = mpsc::sync_channel(QUEUE_LINES);
        let _ = std::thread::Builder::new()
            .name("log".into())
            .spawn(move || write_queued(rx));
        tx
    });
}

/// Lines dropped since start because the queue was full.
pub fn dropped() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

/// Waits (bounded) until every queued line is written: before the process exits.
pub fn flush() {
    let Some(queue) = QUEUE.get() else { return };
    let (tx, rx) = mpsc::sync_channel(1);
    if queue.try_send(Message::Flush(tx)).is_ok() {
        let _ = rx.recv_timeout(FLUSH_TIMEOUT);
    }
}

fn write_queued(rx: Receiver<Message>) {
    let mut reported = 0;
    for message in rx {
        match message {
            Message::Line(line) => write(&line),
            Message::Flush(done) => {
                let _ = done.send(());
            }
        }
        let dropped = dropped();
        if dropped != reported {
            write(&format_line(
                Level::Warning,
                format_args!(
                    "{} log line(s) dropped: stderr could not keep up",
                    dropped - reported
                ),
            ));
            reported = dropped;
        }
    }
}

/// A full or closed stderr is no reason to stop serving: the line is lost.
fn write(line: &str) {
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

#[derive(Debug, Clone, Copy)]
enum Level {
    Error,
    Warning,
    Info,
}

fn format_line(level: Level, message: impl Display) -> String {
    let (priority, name) = match level {
        Level::Error => (3, "error"),
        Level::Warning => (4, "warning"),
        Level::Info => (6, "info"),
    };
    if *JOURNAL.get().unwrap_or(&false) {
        format!("<{priority}>{message}\n")
    } else {
        let now = crate::civil::format_utc(crate::civil::now_secs());
        format!("{now} {name}: {message}\n")
    }
}

fn line(level: Level, message: impl Display) {
    let line = format_line(level, message);
    let Some(queue) = QUEUE.get() else {
        return write(&line);
    };
    match queue.try_send(Message::Line(line)) {
        Ok(()) => {}
        Err(TrySendError::Full(_)) => {
            DROPPED.fetch_add(1, Ordering::Relaxed);
        }
        Err(TrySendError::Disconnected(Message::Line(line))) => write(&line),
        Err(TrySendError::Disconnected(_)) => {}
    }
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
