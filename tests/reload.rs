//! Asking the real binary to reload, and what must not stop it meanwhile: `wellknownd
//! reload`'s verdict over the control socket (0 served, 1 refused with the reason, 2 no
//! daemon), a SIGHUP while the config is still being read, and a stderr nobody reads.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{Daemon, Pki, TIMEOUT, Via, address, call, kill, server_document, within};
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;

const BIN: &str = env!("CARGO_BIN_EXE_wellknownd");
const SERVER: &str = r#"{"m.server":"matrix.example.com:443"}"#;

fn config(cert: &str, top: &str) -> String {
    format!(
        "[listen]\nhttps = [\"127.0.0.1:0\"]\nhttp = [\"127.0.0.1:0\"]\n{top}\n[tls]\ncertificate = \"{cert}.crt\"\nprivate_key = \"example.key\"\n\
         [[domain]]\nname = \"example.com\"\nserver = \"matrix.example.com:443\"\n"
    )
}

fn reload(runtime: &Path) -> Output {
    Command::new(BIN)
        .arg("reload")
        .env("RUNTIME_DIRECTORY", runtime)
        .output()
        .unwrap()
}

/// `wellknownd reload` waits for the daemon's verdict: 0 and the status when it serves the
/// new state, 1 and the reason when it refused it (the old state serving on), 2 when there is
/// no daemon to ask. (Two workers: the clients' connections must answer the daemon's GOAWAY
/// while this thread waits for it to exit.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wellknownd_reload_reports_the_daemons_verdict() {
    let pki = Pki::new();
    pki.leaf("example", &["example.com"]);
    pki.leaf("other", &["example.com"]);
    let runtime = pki.dir.path().join("run");
    std::fs::create_dir(&runtime).unwrap();
    let path = pki.write("config.toml", &config("example", ""));
    let mut d = Daemon::start(
        Command::new(BIN)
            .arg("--config")
            .arg(&path)
            .env("RUNTIME_DIRECTORY", &runtime),
    );
    d.line("control socket");
    let https = address(&d.line("listening on https://"));
    let ok = reload(&runtime);
    assert_eq!(ok.status.code(), Some(0), "{ok:?}");
    let status = String::from_utf8_lossy(&ok.stdout);
    assert!(
        status.starts_with("serving example.com; reloaded "),
        "{status}"
    );

    let document = async || {
        call(
            &pki,
            https,
            Via::H2,
            "GET",
            "example.com",
            "/.well-known/matrix/server",
        )
        .await
    };
    let before = document().await;
    // other.crt beside example.key: a certificate that does not match its key.
    pki.write("config.toml", &config("other", ""));
    let refused = reload(&runtime);
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(
        why.contains("refused, still serving the previous state")
            && why.contains("tls.private_key")
            && why.contains("is not the key of"),
        "{why}"
    );
    let after = document().await;
    assert_eq!((after.status, after.text()), (200, SERVER));
    assert_eq!(after.peer, before.peer, "the old certificate serves on");

    kill("TERM", d.child.id());
    assert_eq!(d.wait().code(), Some(0));
    let gone = reload(&runtime);
    assert_eq!(gone.status.code(), Some(2), "{gone:?}");
    let none = Command::new(BIN)
        .arg("reload")
        .env_remove("RUNTIME_DIRECTORY")
        .output()
        .unwrap();
    assert_eq!(none.status.code(), Some(2), "{none:?}");
}

/// A SIGHUP that arrives while the daemon is still reading its config (here: a FIFO the
/// test writes slowly) does not kill it (SIGHUP's default action); it reloads once serving.
#[tokio::test]
async fn a_sighup_during_start_up_is_a_reload_not_a_kill() {
    let pki = Pki::new();
    pki.leaf("example", &["example.com"]);
    let fifo = pki.path("config.toml");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let mut d = Daemon::start(Command::new(BIN).arg("--config").arg(&fifo));
    // Opening the FIFO for writing returns once the daemon opened it to read its config.
    let (fifo_path, text) = (fifo.clone(), config("example", ""));
    let writer =
        std::thread::spawn(move || std::fs::OpenOptions::new().write(true).open(fifo_path));
    let deadline = Instant::now() + TIMEOUT;
    while !writer.is_finished() {
        assert!(
            Instant::now() < deadline,
            "the daemon never opened its config"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut writer = writer.join().unwrap().unwrap();
    kill("HUP", d.child.id());
    // Reloads read the path again: a regular file by then.
    let regular = pki.write("config.regular", &text);
    std::fs::rename(&regular, &fifo).unwrap();
    writer.write_all(text.as_bytes()).unwrap();
    drop(writer);
    let http = address(&d.line("listening on http://"));
    d.line("reloaded");
    let (status, body) = server_document(&pki, http, Via::Plain, "example.com").await;
    assert_eq!((status, body.as_str()), (200, SERVER));
    assert_eq!(d.child.try_wait().unwrap(), None, "still running");
}

/// With the access log on and stderr a pipe nobody reads, requests keep being answered:
/// log lines queue, then are dropped and counted, and the writer says how many once stderr
/// drains.
#[tokio::test]
async fn a_stderr_nobody_reads_never_blocks_a_request() {
    let pki = Pki::new();
    pki.leaf("example", &["example.com"]);
    let path = pki.write(
        "config.toml",
        &config(
            "example",
            "[log]\naccess = true\n[metrics]\nlisten = \"127.0.0.1:0\"",
        ),
    );
    let mut child = Killed(
        Command::new(BIN)
            .arg("--config")
            .arg(&path)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut stderr = BufReader::new(child.0.stderr.take().unwrap());
    let (mut metrics, mut http) = (None, None);
    let mut line = String::new();
    while http.is_none() {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "daemon exited");
        if line.contains("metrics on http://") {
            metrics = Some(address(line.trim_end()));
        } else if line.contains("listening on http://") {
            http = Some(address(line.trim_end()));
        }
    }
    let (metrics, http) = (metrics.unwrap(), http.unwrap());
    // Far more access-log lines than the pipe (64 KiB) and the queue (4096 lines) hold.
    let tcp = within(tokio::net::TcpStream::connect(http)).await.unwrap();
    let (mut sender, conn) = within(hyper::client::conn::http1::handshake(TokioIo::new(tcp)))
        .await
        .unwrap();
    tokio::spawn(conn);
    for _ in 0..8000 {
        within(sender.ready()).await.unwrap();
        let req = http::Request::get("/.well-known/matrix/server")
            .header("host", "example.com")
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .unwrap();
        let r = within(sender.send_request(req)).await.unwrap();
        assert_eq!(r.status(), 200);
        within(r.into_body().collect()).await.unwrap();
    }
    let r = call(&pki, metrics, Via::Plain, "GET", "127.0.0.1", "/metrics").await;
    let dropped: u64 = r
        .text()
        .lines()
        .find_map(|l| l.strip_prefix("wellknownd_log_lines_dropped_total "))
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(dropped > 0, "{}", r.text());
    let reader = std::thread::spawn(move || {
        stderr
            .lines()
            .map_while(Result::ok)
            .find(|l| l.contains("log line(s) dropped: stderr could not keep up"))
    });
    let deadline = Instant::now() + TIMEOUT;
    while !reader.is_finished() {
        assert!(Instant::now() < deadline, "no line about the dropped ones");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(reader.join().unwrap().is_some());
}

/// A child process killed when the test ends, however it ends.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
