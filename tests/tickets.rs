//! Session tickets shared by several instances (`tls.ticket_key_file`): a ticket one instance
//! issued resumes on another; without the file it does not; after a rotation (a new first
//! key, the old one kept) yesterday's ticket still resumes, and the running daemon picks up
//! a changed file by itself. Mistakes in the file are refused with the line and the fix.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use common::{Daemon, Pki, TestServer, address, within};
use rustls::HandshakeKind;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

const BIN: &str = env!("CARGO_BIN_EXE_wellknownd");

fn config(tickets: Option<&Path>, top: &str) -> String {
    let file = tickets.map_or(String::new(), |p| {
        format!("ticket_key_file = \"{}\"\n", p.display())
    });
    format!(
        "{top}[listen]\nhttps = [\"127.0.0.1:0\"]\n[tls]\ncertificate = \"example.crt\"\nprivate_key = \"example.key\"\n{file}\
         [[domain]]\nname = \"example.com\"\nserver = \"matrix.example.com:443\"\n"
    )
}

/// One new key line, as README tells operators to make one.
fn new_key() -> String {
    let out = Command::new("openssl")
        .args(["rand", "-base64", "48"])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

fn write_keys(pki: &Pki, keys: &[&str]) -> PathBuf {
    let path = pki.write("tickets.keys", &keys.concat());
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// A TLS 1.3 client that keeps its tickets across connections (rustls' in-memory store).
fn client(pki: &Pki) -> Arc<rustls::ClientConfig> {
    common::client_config(pki, &[&rustls::version::TLS13], b"http/1.1")
}

/// One request to `addr`; how the handshake went. Reading the whole answer makes the client
/// take the ticket the server sends after the handshake.
async fn visit(client: &Arc<rustls::ClientConfig>, addr: std::net::SocketAddr) -> HandshakeKind {
    let tcp = within(TcpStream::connect(addr)).await.unwrap();
    let name = ServerName::try_from("example.com").unwrap();
    let mut tls = within(TlsConnector::from(client.clone()).connect(name, tcp))
        .await
        .unwrap();
    let kind = tls.get_ref().1.handshake_kind().unwrap();
    let request = b"GET /.well-known/matrix/server HTTP/1.1\r\nhost: example.com\r\nconnection: close\r\n\r\n";
    within(tls.write_all(request)).await.unwrap();
    let mut answer = Vec::new();
    within(tls.read_to_end(&mut answer)).await.unwrap();
    assert!(answer.starts_with(b"HTTP/1.1 200 OK\r\n"));
    kind
}

#[tokio::test]
async fn a_ticket_from_one_instance_resumes_on_another_sharing_the_key_file() {
    let pki = Pki::new();
    pki.leaf("example", &["example.com"]);
    let (k1, k2) = (new_key(), new_key());
    let keys = write_keys(&pki, &[&k1]);
    let a = TestServer::start(&pki, &config(Some(&keys), "")).await;
    let b = TestServer::start(&pki, &config(Some(&keys), "")).await;
    let client = client(&pki);
    assert_eq!(visit(&client, a.tls()).await, HandshakeKind::Full);
    assert_eq!(
        visit(&client, b.tls()).await,
        HandshakeKind::Resumed,
        "A's ticket on B"
    );

    // Rotated: a new first key, the old one kept. C seals with k2 and still opens k1's.
    let a_ticket = client_with_ticket(&pki, a.tls()).await;
    let rotated = pki.write("rotated.keys", &[k2.as_str(), k1.as_str()].concat());
    std::fs::set_permissions(&rotated, std::fs::Permissions::from_mode(0o600)).unwrap();
    let c = TestServer::start(&pki, &config(Some(&rotated), "")).await;
    assert_eq!(
        visit(&a_ticket, c.tls()).await,
        HandshakeKind::Resumed,
        "k1's ticket after rotation"
    );
    // C's own tickets are sealed with k2, which A does not hold.
    let c_ticket = client_with_ticket(&pki, c.tls()).await;
    assert_eq!(
        visit(&c_ticket, a.tls()).await,
        HandshakeKind::Full,
        "k2's ticket on a k1 server"
    );
    for s in [a, b, c] {
        s.stop().await;
    }
}

/// A fresh client holding one ticket from `addr`.
async fn client_with_ticket(pki: &Pki, addr: std::net::SocketAddr) -> Arc<rustls::ClientConfig> {
    let client = client(pki);
    visit(&client, addr).await;
    client
}

#[tokio::test]
async fn without_the_file_each_instance_has_its_own_keys() {
    let pki = Pki::new();
    pki.leaf("example", &["example.com"]);
    let a = TestServer::start(&pki, &config(None, "")).await;
    let b = TestServer::start(&pki, &config(None, "")).await;
    let client = client(&pki);
    assert_eq!(visit(&client, a.tls()).await, HandshakeKind::Full);
    assert_eq!(
        visit(&client, a.tls()).await,
        HandshakeKind::Resumed,
        "A resumes its own"
    );
    assert_eq!(
        visit(&client, b.tls()).await,
        HandshakeKind::Full,
        "B cannot open A's ticket"
    );
    a.stop().await;
    b.stop().await;
}

/// The running daemon re-reads a changed file at its next certificate check: with k1 dropped,
/// k1's ticket no longer resumes, and the new key's tickets do.
#[tokio::test]
async fn the_daemon_rereads_a_rotated_file() {
    let pki = Pki::new();
    pki.leaf("example", &["example.com"]);
    let (k1, k2) = (new_key(), new_key());
    let keys = write_keys(&pki, &[&k1]);
    let path = pki.write(
        "config.toml",
        &config(Some(&keys), "certificate_check_secs = 1\n"),
    );
    let mut d = Daemon::start(Command::new(BIN).arg("--config").arg(&path));
    let https = address(&d.line("listening on https://"));
    let client = client(&pki);
    assert_eq!(visit(&client, https).await, HandshakeKind::Full);
    assert_eq!(visit(&client, https).await, HandshakeKind::Resumed);
    write_keys(&pki, &[&k2]);
    d.line("tls.ticket_key_file changed");
    let fresh = client_with_ticket(&pki, https).await;
    assert_eq!(
        visit(&client, https).await,
        HandshakeKind::Full,
        "k1 is gone"
    );
    assert_eq!(
        visit(&fresh, https).await,
        HandshakeKind::Resumed,
        "k2's ticket"
    );
    drop(d);
}

#[test]
fn a_bad_key_file_is_refused_with_the_fix() {
    let pki = Pki::new();
    pki.leaf("example", &["example.com"]);
    let refused = |keys: &str, mode: u32| {
        let path = pki.write("tickets.keys", keys);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        let config = pki.write("config.toml", &config(Some(&path), ""));
        let loaded = wellknownd::config::load(&config).unwrap();
        wellknownd::build::Built::new(loaded.config)
            .unwrap_err()
            .to_string()
    };
    let key = new_key();
    let e = refused(&key, 0o644);
    assert!(
        e.contains("tls.ticket_key_file: ")
            && e.contains("is readable or writable by others (mode 0644)"),
        "{e}"
    );
    assert!(
        e.ends_with(&format!(
            "`chmod 600 {}`",
            pki.path("tickets.keys").display()
        )),
        "{e}"
    );
    let e = refused(&format!("# keys\n{key}c2hvcnQ\n"), 0o600);
    assert!(
        e.ends_with("line 3: 5 bytes, not 48: write `openssl rand -base64 48`"),
        "{e}"
    );
    let e = refused("# none yet\n", 0o600);
    assert!(
        e.ends_with("holds no key: write one line of `openssl rand -base64 48`"),
        "{e}"
    );
    let path = pki.write("config.toml", "[listen]\nhttps = [\"127.0.0.1:0\"]\n[[domain]]\nname = \"example.com\"\nserver = \"m.example.com:443\"\n[domain.tls]\ncertificate = \"example.crt\"\nprivate_key = \"example.key\"\nticket_key_file = \"k\"\n");
    let e = wellknownd::config::load(&path).unwrap_err().to_string();
    assert!(
        e.contains("domain[0].tls.ticket_key_file: belongs in the top-level [tls]"),
        "{e}"
    );
    // With every certificate in [domain.tls], the top-level [tls] may hold the keys alone.
    let keys = write_keys(&pki, &[&key]);
    let text = format!(
        "[listen]\nhttps = [\"127.0.0.1:0\"]\n[tls]\nticket_key_file = \"{}\"\n[[domain]]\nname = \"example.com\"\n\
         server = \"m.example.com:443\"\n[domain.tls]\ncertificate = \"example.crt\"\nprivate_key = \"example.key\"\n",
        keys.display()
    );
    let path = pki.write("config.toml", &text);
    let loaded = wellknownd::config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let built = wellknownd::build::Built::new(loaded.config).unwrap_or_else(|e| panic!("{e}"));
    assert!(built.certs.tickets.is_some());
}
