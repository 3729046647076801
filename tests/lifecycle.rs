//! The real binary as systemd runs it: reload on SIGHUP under load, renewed certificate files
//! picked up without a signal, bad reloads that change nothing, SIGTERM with a request in
//! flight, sd_notify messages, and sockets passed by socket activation.

mod common;

use std::os::fd::OwnedFd;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use common::{
    Daemon, Pki, TIMEOUT, Via, address, call, h2_session, kill, server_document, session_get,
    within,
};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BIN: &str = env!("CARGO_BIN_EXE_wellknownd");
const SERVER: &str = "/.well-known/matrix/server";

fn config(server: &str, top: &str) -> String {
    format!(
        "{top}\n[listen]\nhttps = [\"127.0.0.1:0\"]\n[tls]\ncertificate = \"example.crt\"\nprivate_key = \"example.key\"\n\
         [[domain]]\nname = \"example.com\"\nserver = \"{server}\"\n"
    )
}

fn body(server: &str) -> String {
    format!(r#"{{"m.server":"{server}"}}"#)
}

fn daemon(config: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.arg("--config").arg(config);
    c
}

/// Starts the daemon on `config.toml` and returns it with its TLS address.
fn start(pki: &Pki, text: &str) -> (Daemon, std::net::SocketAddr) {
    pki.leaf("example", &["example.com"]);
    let path = pki.write("config.toml", text);
    let mut d = Daemon::start(&mut daemon(&path));
    let https = address(&d.line("listening on https://"));
    (d, https)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_reloads_under_load_fail_no_request() {
    let pki = Arc::new(Pki::new());
    let (mut d, https) = start(&pki, &config("a.example.com:443", ""));
    let bodies = [body("a.example.com:443"), body("b.example.com:443")];
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicUsize::new(0));
    // Two bounded clients: a kept-open HTTP/2 connection, and a new connection per request.
    let kept = {
        let (pki, stop, bodies, done) = (pki.clone(), stop.clone(), bodies.clone(), done.clone());
        tokio::spawn(async move {
            let mut session = h2_session(&pki, https, "example.com").await;
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) && n < 50_000 {
                let (status, text) = session_get(&mut session, "example.com", SERVER).await;
                assert!(status == 200 && bodies.contains(&text), "{status} {text}");
                n += 1;
                done.fetch_add(1, Ordering::Relaxed);
            }
            n
        })
    };
    let fresh = {
        let (pki, stop, bodies, done) = (pki.clone(), stop.clone(), bodies.clone(), done.clone());
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) && n < 5_000 {
                let via = if n % 2 == 0 { Via::H1 } else { Via::H2 };
                let (status, text) = server_document(&pki, https, via, "example.com").await;
                assert!(status == 200 && bodies.contains(&text), "{status} {text}");
                n += 1;
                done.fetch_add(1, Ordering::Relaxed);
            }
            n
        })
    };
    for i in 1..=10 {
        // Let the clients run across every reload: wait (polling) for 50 more answers.
        let target = done.load(Ordering::Relaxed) + 50;
        within(async {
            while done.load(Ordering::Relaxed) < target {
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
        })
        .await;
        let server = if i % 2 == 1 {
            "b.example.com:443"
        } else {
            "a.example.com:443"
        };
        pki.write("config.toml", &config(server, ""));
        kill("HUP", d.child.id());
        d.line("reloaded: new requests and handshakes see the new config");
        assert_eq!(
            server_document(&pki, https, Via::H2, "example.com").await,
            (200, body(server))
        );
    }
    stop.store(true, Ordering::Relaxed);
    let (kept, fresh) = (within(kept).await.unwrap(), within(fresh).await.unwrap());
    eprintln!("load during reloads: {kept} requests kept-alive, {fresh} on fresh connections");
    assert!(kept > 0 && fresh > 0);
    kill("TERM", d.child.id());
    assert_eq!(d.wait().code(), Some(0));
}

#[tokio::test]
async fn a_bad_reload_changes_nothing_and_a_delegation_change_is_loud() {
    let pki = Pki::new();
    let (mut d, https) = start(&pki, &config("a.example.com:443", ""));
    let path = pki.path("config.toml");
    pki.write("config.toml", &config("https://b.example.com", ""));
    kill("HUP", d.child.id());
    let line = d.line("reload failed");
    assert!(line.ends_with(&format!(
        "error: reload failed, still serving the previous config: {}: domain[0].server: `https://b.example.com` contains a scheme (`https://`): m.server is a host and port only; write `b.example.com:443`",
        path.display()
    )), "{line}");
    assert_eq!(
        server_document(&pki, https, Via::H1, "example.com").await,
        (200, body("a.example.com:443"))
    );

    pki.write(
        "config.toml",
        &config("b.example.com:443", "").replace("127.0.0.1:0", "127.0.0.1:1"),
    );
    kill("HUP", d.child.id());
    let line = d.line("reload failed");
    assert!(line.contains("listen: changed from [https://127.0.0.1:0] to [https://127.0.0.1:1]; that takes a restart (systemctl restart wellknownd)"), "{line}");
    assert_eq!(
        server_document(&pki, https, Via::H1, "example.com").await,
        (200, body("a.example.com:443"))
    );

    pki.write("config.toml", &config("b.example.com:443", ""));
    kill("HUP", d.child.id());
    let line = d.line("DELEGATION CHANGED");
    assert!(line.contains("warning: DELEGATION CHANGED for example.com: m.server was a.example.com:443, is now b.example.com:443"), "{line}");
    d.line("reloaded");
    assert_eq!(
        server_document(&pki, https, Via::H1, "example.com").await,
        (200, body("b.example.com:443"))
    );
}

/// certbot renews by writing new files under archive/ and re-pointing the live/ symlinks,
/// certificate first, key second.
#[tokio::test]
async fn renewed_certificate_files_are_picked_up_without_a_signal() {
    let pki = Pki::new();
    for dir in ["live", "archive"] {
        std::fs::create_dir(pki.path(dir)).unwrap();
    }
    let point = |link: &str, target: &str| {
        let tmp = pki.path(&format!("{link}.new"));
        std::os::unix::fs::symlink(target, &tmp).unwrap();
        std::fs::rename(&tmp, pki.path(link)).unwrap();
    };
    pki.leaf("archive/cert1", &["example.com"]);
    pki.leaf("archive/cert2", &["example.com"]);
    point("live/fullchain.pem", "../archive/cert1.crt");
    point("live/privkey.pem", "../archive/cert1.key");
    let text = config("m.example.com:443", "certificate_check_secs = 1")
        .replace("example.crt", "live/fullchain.pem")
        .replace("example.key", "live/privkey.pem");
    let path = pki.write("config.toml", &text);
    let mut d = Daemon::start(&mut daemon(&path));
    let https = address(&d.line("listening on https://"));
    let cert =
        |n: u8| CertificateDer::from_pem_file(pki.path(&format!("archive/cert{n}.crt"))).unwrap();
    let peer = async || {
        call(&pki, https, Via::H2, "GET", "example.com", SERVER)
            .await
            .peer
            .unwrap()
    };
    assert_eq!(peer().await, cert(1));

    point("live/fullchain.pem", "../archive/cert2.crt");
    let line = d.line("certificate files changed but cannot be used yet");
    assert!(
        line.contains("tls.private_key") && line.contains("is not the key of"),
        "{line}"
    );
    assert_eq!(
        peer().await,
        cert(1),
        "a half-renewed pair keeps the old one serving"
    );

    point("live/privkey.pem", "../archive/cert2.key");
    let line = d.line("loaded renewed");
    assert!(
        line.contains(&format!(
            "tls: loaded renewed {}/live/fullchain.pem (expires 4096-01-01T00:00:00Z)",
            pki.dir.path().display()
        )),
        "{line}"
    );
    assert_eq!(peer().await, cert(2));
}

#[tokio::test]
async fn sigterm_lets_a_request_in_flight_complete() {
    let pki = Pki::new();
    let (mut d, https) = start(&pki, &config("m.example.com:443", ""));
    let tcp = within(tokio::net::TcpStream::connect(https)).await.unwrap();
    let tls_config = common::client_config(&pki, rustls::ALL_VERSIONS, b"http/1.1");
    let name = rustls::pki_types::ServerName::try_from("example.com").unwrap();
    let mut tls = within(tokio_rustls::TlsConnector::from(tls_config).connect(name, tcp))
        .await
        .unwrap();
    within(tls.write_all(b"GET /.well-known/matrix/server HTTP/1.1\r\nHost: example.com\r\n"))
        .await
        .unwrap();
    within(tls.flush()).await.unwrap();
    kill("TERM", d.child.id());
    d.line("stopping: finishing requests in flight");
    within(tls.write_all(b"\r\n")).await.unwrap();
    let mut response = String::new();
    within(tls.read_to_string(&mut response)).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(response.ends_with(&body("m.example.com:443")), "{response}");
    d.line("info: stopped");
    assert_eq!(d.wait().code(), Some(0));
}

fn receive(socket: &UnixDatagram, wanted: &str, seen: &mut Vec<String>) -> String {
    let mut buf = [0u8; 4096];
    loop {
        let n = socket
            .recv(&mut buf)
            .unwrap_or_else(|e| panic!("no `{wanted}` after {seen:?}: {e}"));
        let message = String::from_utf8_lossy(&buf[..n]).into_owned();
        seen.push(message.clone());
        if message.contains(wanted) {
            return message;
        }
    }
}

#[test]
fn systemd_hears_ready_reloading_watchdog_and_stopping() {
    let pki = Pki::new();
    pki.leaf("example", &["example.com"]);
    let path = pki.write("config.toml", &config("m.example.com:443", ""));
    let socket_path = pki.path("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut d = Daemon::start(
        daemon(&path)
            .env("NOTIFY_SOCKET", &socket_path)
            .env("WATCHDOG_USEC", "200000"),
    );
    let mut seen = Vec::new();
    let ready = receive(&socket, "READY=1", &mut seen);
    assert!(
        ready.starts_with("READY=1\nSTATUS=serving example.com; started 2"),
        "{ready}"
    );
    d.line("listening on https://");
    receive(&socket, "WATCHDOG=1", &mut seen);
    kill("HUP", d.child.id());
    let reloading = receive(&socket, "RELOADING=1", &mut seen);
    let usec: u64 = reloading
        .strip_prefix("RELOADING=1\nMONOTONIC_USEC=")
        .and_then(|r| r.split('\n').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(usec > 0, "{reloading}");
    let ready = receive(&socket, "READY=1", &mut seen);
    assert!(
        ready.contains("STATUS=serving example.com; reloaded 2"),
        "{ready}"
    );
    kill("TERM", d.child.id());
    assert!(receive(&socket, "STOPPING=1", &mut seen).starts_with("STOPPING=1"));
    assert_eq!(d.wait().code(), Some(0));
}

/// Socket activation: the sockets arrive as descriptors 3 and 4 with LISTEN_PID set to the
/// daemon's own PID. The shell moves them from stdin/stdout to 3/4 and execs, keeping its PID.
#[tokio::test]
async fn sockets_passed_by_systemd_are_served_and_never_shut_down() {
    let pki = Pki::new();
    pki.leaf("example", &["example.com"]);
    let text = config("m.example.com:443", "").replace("[listen]\nhttps = [\"127.0.0.1:0\"]\n", "");
    let path = pki.write("config.toml", &text);
    let tls = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let plain = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let (tls_addr, plain_addr) = (tls.local_addr().unwrap(), plain.local_addr().unwrap());
    let kept = tls.try_clone().unwrap(); // systemd keeps its copy too
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(r#"exec 3<&0 4<&1 0</dev/null 1>/dev/null; export LISTEN_PID=$$ LISTEN_FDS=2 LISTEN_FDNAMES=https:http; exec "$0" "$@""#)
        .arg(BIN)
        .arg("--config")
        .arg(&path)
        .stdin(Stdio::from(OwnedFd::from(tls)))
        .stdout(Stdio::from(OwnedFd::from(plain)));
    let mut d = Daemon::start(&mut command);
    assert_eq!(address(&d.line("listening on https://")), tls_addr);
    assert_eq!(address(&d.line("listening on http://")), plain_addr);
    let expected = (200, body("m.example.com:443"));
    assert_eq!(
        server_document(&pki, tls_addr, Via::H2, "example.com").await,
        expected
    );
    assert_eq!(
        server_document(&pki, plain_addr, Via::Plain, "example.com").await,
        expected
    );
    kill("TERM", d.child.id());
    assert_eq!(d.wait().code(), Some(0));
    // The daemon closed its copy without shutdown(): the socket still takes connections.
    assert!(std::net::TcpStream::connect(tls_addr).is_ok());
    drop(kept);
}

/// Under systemd, stderr is the journal stream named by JOURNAL_STREAM: lines then carry
/// syslog priorities instead of timestamps, so `journalctl -p warning` filters them.
#[test]
fn logs_to_the_journal_carry_priorities() {
    use std::os::unix::fs::MetadataExt;
    let pki = Pki::new();
    pki.leaf("example", &["example.com"]);
    let path = pki.write("config.toml", &config("m.example.com", ""));
    let (reader, writer) = std::io::pipe().unwrap();
    let meta = std::fs::File::from(OwnedFd::from(writer.try_clone().unwrap()))
        .metadata()
        .unwrap();
    let child = daemon(&path)
        .env("JOURNAL_STREAM", format!("{}:{}", meta.dev(), meta.ino()))
        .stderr(Stdio::from(writer))
        .spawn()
        .unwrap();
    let mut d = Daemon::reading(child, reader);
    assert!(
        d.line("has no port")
            .starts_with("<4>domain[0].server: `m.example.com` has no port")
    );
    assert_eq!(
        d.line("domain example.com"),
        "<6>domain example.com: server, m.server m.example.com"
    );
    assert!(
        d.line("listening on")
            .starts_with("<6>listening on https://127.0.0.1:")
    );
    kill("TERM", d.child.id());
    assert_eq!(d.line("stopped"), "<6>stopped");
    assert_eq!(d.wait().code(), Some(0));
}
