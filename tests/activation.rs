//! Certificates under socket activation, where the config cannot say what systemd passes:
//! behind a proxy the socket is `http` and no certificate is needed (README, "3. Behind the
//! proxy you already run"); an `https` socket needs one for every domain, at start and in
//! every reload.

mod common;

use std::net::{SocketAddr, TcpListener};
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{Daemon, Pki, Via, kill, server_document};

const BIN: &str = env!("CARGO_BIN_EXE_wellknownd");
const DOMAIN: &str = "[[domain]]\nname = \"example.com\"\nserver = \"m.example.com:443\"\n";
const TLS: &str = "[tls]\ncertificate = \"example.crt\"\nprivate_key = \"example.key\"\n";

/// The daemon with `socket` as descriptor 3 named `name`, as systemd passes it (the shell
/// moves it from stdin and execs, keeping its PID for LISTEN_PID).
fn activated(config: &Path, socket: TcpListener, name: &str) -> Command {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(r#"exec 3<&0 0</dev/null; export LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=$1; shift; exec "$0" "$@""#)
        .arg(BIN)
        .arg(name)
        .arg("--config")
        .arg(config)
        .stdin(Stdio::from(OwnedFd::from(socket)));
    command
}

fn socket() -> (TcpListener, SocketAddr) {
    let socket = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    (socket, addr)
}

#[tokio::test]
async fn an_http_socket_alone_needs_no_certificate() {
    let pki = Pki::new();
    let path = pki.write("config.toml", DOMAIN);
    let (socket, addr) = socket();
    let mut d = Daemon::start(&mut activated(&path, socket, "http"));
    d.line("listening on http://");
    assert_eq!(
        server_document(&pki, addr, Via::Plain, "example.com").await,
        (200, r#"{"m.server":"m.example.com:443"}"#.to_owned())
    );
    kill("TERM", d.child.id());
    assert_eq!(d.wait().code(), Some(0));

    // `check` cannot see the sockets: it passes and says what an https socket would need.
    let out = Command::new(BIN)
        .args(["check", "-c"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no certificate for domain[0] (`example.com`), which a TLS listener needs")
            && stderr.contains(
                "Under socket activation that is right only if systemd passes `http` sockets alone"
            ),
        "{stderr}"
    );
}

#[test]
fn an_https_socket_without_a_certificate_stops_the_start_with_the_reason() {
    let pki = Pki::new();
    let path = pki.write("config.toml", DOMAIN);
    let (socket, _) = socket();
    let mut d = Daemon::start(&mut activated(&path, socket, "https"));
    let line = d.line("no certificate");
    assert!(
        line.contains(&format!(
            "{}: tls: no certificate for domain[0] (`example.com`), which a TLS listener needs: \
             add a top-level [tls], a [domain[0].tls] or [acme]",
            path.display()
        )),
        "{line}"
    );
    assert_eq!(d.wait().code(), Some(1));
}

// Multi-threaded: the test blocks in `wait()` while the client's connection must still
// answer the daemon's GOAWAY, or the daemon waits out its grace period for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_dropping_the_certificate_of_an_https_socket_is_refused() {
    let pki = Pki::new();
    pki.leaf("example", &["example.com"]);
    let path = pki.write("config.toml", &format!("{TLS}{DOMAIN}"));
    let (socket, addr) = socket();
    let mut d = Daemon::start(&mut activated(&path, socket, "https"));
    d.line("listening on https://");
    pki.write(
        "config.toml",
        &DOMAIN.replace("m.example.com", "other.example.com"),
    );
    kill("HUP", d.child.id());
    let refused = d.line("which a TLS listener needs");
    assert!(
        refused
            .contains("no certificate for domain[0] (`example.com`), which a TLS listener needs"),
        "{refused}"
    );
    assert_eq!(
        server_document(&pki, addr, Via::H2, "example.com").await,
        (200, r#"{"m.server":"m.example.com:443"}"#.to_owned())
    );
    kill("TERM", d.child.id());
    assert_eq!(d.wait().code(), Some(0));
}
