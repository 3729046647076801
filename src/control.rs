//! `wellknownd reload`, answered: a Unix socket at `$RUNTIME_DIRECTORY/control` (systemd's
//! `RuntimeDirectory=wellknownd`) on which the daemon takes a reload request and answers
//! with its verdict once the reload is done. A SIGHUP cannot carry an answer, so
//! `ExecReload=kill -HUP` makes `systemctl reload` succeed even when the daemon refuses the
//! new config or certificates; `ExecReload=wellknownd reload` fails then, with the reason.
//!
//! The protocol is one line each way: `reload\n`, then `ok <status>\n` or `failed <why>\n`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};

use crate::log;

/// A request line is a dozen bytes; a peer that sends more, or nothing, is not `wellknownd
/// reload`, and must not hold the control task.
const REQUEST_MAX: u64 = 64;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How long `wellknownd reload` waits for the verdict: a reload reads a few files, but
/// under a loaded host that can take a while; systemd's own ExecReload= timeout is 90 s.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// The control socket's path, from systemd's `$RUNTIME_DIRECTORY` (the first, if several).
pub fn socket_path() -> Option<PathBuf> {
    let dirs = std::env::var_os("RUNTIME_DIRECTORY")?;
    let first = dirs.to_string_lossy().split(':').next()?.to_owned();
    (!first.is_empty()).then(|| Path::new(&first).join("control"))
}

/// A reload asked for on the control socket; answer it with [`Request::answer`].
pub struct Request(oneshot::Sender<Result<String, String>>);

impl Request {
    pub fn answer(self, verdict: Result<String, String>) {
        let _ = self.0.send(verdict);
    }
}

/// Binds the control socket (replacing a stale one) and accepts on it in a task of its own;
/// requests arrive on the returned channel. `None` without `$RUNTIME_DIRECTORY`.
pub fn listen() -> std::io::Result<Option<mpsc::Receiver<Request>>> {
    let Some(path) = socket_path() else {
        return Ok(None);
    };
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path)?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    log::info(format_args!("control socket {}", path.display()));
    let (tx, rx) = mpsc::channel(1);
    tokio::spawn(accept(listener, tx));
    Ok(Some(rx))
}

async fn accept(listener: UnixListener, requests: mpsc::Sender<Request>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(crate::server::ACCEPT_BACKOFF).await;
            continue;
        };
        // One at a time: reloads are serialised by the main loop anyway.
        let _ = tokio::time::timeout(ANSWER_TIMEOUT, serve(stream, &requests)).await;
    }
}

async fn serve(stream: UnixStream, requests: &mpsc::Sender<Request>) {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    let mut reader = BufReader::new(tokio::io::AsyncReadExt::take(read, REQUEST_MAX));
    let read = tokio::time::timeout(REQUEST_TIMEOUT, reader.read_line(&mut line)).await;
    let answer = match (read, line.trim_end()) {
        (Ok(Ok(_)), "reload") => {
            let (tx, rx) = oneshot::channel();
            match requests.send(Request(tx)).await {
                Ok(()) => rx
                    .await
                    .unwrap_or_else(|_| Err("the daemon is stopping".into())),
                Err(_) => Err("the daemon is stopping".into()),
            }
        }
        (Ok(Ok(_)), other) => Err(format!(
            "unknown request `{other}`; the only one is `reload`"
        )),
        _ => return,
    };
    let line = match answer {
        Ok(status) => format!("ok {status}\n"),
        Err(why) => format!("failed {}\n", why.replace('\n', " ")),
    };
    let _ = write.write_all(line.as_bytes()).await;
}

/// Why `wellknownd reload` did not report success.
#[derive(Debug)]
pub enum ReloadError {
    /// The daemon refused the new state and serves the previous one.
    Refused(String),
    /// No answer: no control socket, or no daemon behind it.
    Unreachable(String),
}

/// Asks the daemon behind `path` to reload and waits for its verdict: the status line on
/// success.
pub fn request_reload(path: &Path) -> Result<String, ReloadError> {
    let unreachable = |e: std::io::Error| {
        ReloadError::Unreachable(format!("{}: {e}; is wellknownd running?", path.display()))
    };
    let mut stream = std::os::unix::net::UnixStream::connect(path).map_err(unreachable)?;
    stream
        .set_read_timeout(Some(ANSWER_TIMEOUT))
        .map_err(unreachable)?;
    stream.write_all(b"reload\n").map_err(unreachable)?;
    let mut answer = String::new();
    stream
        .take(64 * 1024)
        .read_to_string(&mut answer)
        .map_err(unreachable)?;
    let answer = answer.trim_end();
    if let Some(status) = answer.strip_prefix("ok ") {
        return Ok(status.to_owned());
    }
    match answer.strip_prefix("failed ") {
        Some(why) => Err(ReloadError::Refused(why.to_owned())),
        None => Err(ReloadError::Unreachable(format!(
            "{}: no verdict from the daemon (it may have stopped mid-reload)",
            path.display()
        ))),
    }
}
