//! The binary as an operator runs it: `check` and its exit codes, `--version`, `--help`, and
//! the daemon itself started, answering over TLS, and stopped by SIGTERM.

mod common;

use std::process::{Command, Output};

use common::{Daemon, Pki, Via, call, server_document, within};

const BIN: &str = env!("CARGO_BIN_EXE_wellknownd");

fn config(server: &str) -> String {
    format!(
        "[listen]\nhttps = [\"127.0.0.1:0\"]\nhttp = [\"127.0.0.1:0\"]\n[tls]\ncertificate = \"example.crt\"\nprivate_key = \"example.key\"\n\
         [[domain]]\nname = \"example.com\"\nserver = \"{server}\"\n[domain.client]\nhomeserver = \"https://matrix.example.com\"\n"
    )
}

fn wellknownd(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap()
}

#[test]
fn check_prints_what_would_be_served_and_exits_0() {
    let pki = Pki::new();
    pki.leaf("example", &["example.com"]);
    let path = pki.write("config.toml", &config("matrix.example.com"));
    let out = wellknownd(&["check", "--config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        "warning: domain[0].server: `matrix.example.com` has no port: remote servers will look up SRV records for it, then connect to port 8448; write `matrix.example.com:443` if it listens on 443\n"
    );
    let stdout = text(&out.stdout);
    let dir = pki.dir.path().display();
    for line in [
        "listen https://127.0.0.1:0".to_string(),
        "listen http://127.0.0.1:0".into(),
        "domain example.com".into(),
        "  GET /.well-known/matrix/server".into(),
        "    200 OK".into(),
        "    content-type: application/json".into(),
        "    cache-control: public, max-age=14400".into(),
        "    access-control-allow-origin: *".into(),
        "    {\"m.server\":\"matrix.example.com\"}".into(),
        "    {\"m.homeserver\":{\"base_url\":\"https://matrix.example.com\"}}".into(),
        "  /.well-known/matrix/support: not configured, answers 404".into(),
        format!("{dir}/config.toml: OK, 1 domain(s), 2 listener(s)"),
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "missing line {line:?} in:\n{stdout}"
        );
    }
    // rcgen's default notAfter.
    let cert = format!("certificate tls: {dir}/example.crt (expires 4096-01-01T00:00:00Z)");
    assert!(stdout.lines().any(|l| l == cert), "{stdout}");
}

#[test]
fn check_exits_1_with_one_line_naming_file_and_key() {
    let pki = Pki::new();
    pki.leaf("example", &["example.com"]);
    let path = pki.write("config.toml", &config("https://matrix.example.com"));
    let out = wellknownd(&["check", "--config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!(
            "error: {}: domain[0].server: `https://matrix.example.com` contains a scheme (`https://`): m.server is a host and port only; write `matrix.example.com:443`\n",
            path.display()
        )
    );
    assert_eq!(text(&out.stdout), "");

    let missing = pki.path("nope.toml");
    let out = wellknownd(&["check", "--config", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!(
            "error: {}: cannot read: No such file or directory (os error 2)\n",
            missing.display()
        )
    );

    std::fs::remove_file(pki.path("example.key")).unwrap();
    let out = wellknownd(&["check", "--config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn check_no_tls_validates_without_reading_certificates() {
    let pki = Pki::new();
    let path = pki.write("config.toml", &config("matrix.example.com:443"));
    let out = wellknownd(&["check", "--config", path.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "certificates are read without --no-tls"
    );
    let out = wellknownd(&["check", "--no-tls", "--config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("    {\"m.server\":\"matrix.example.com:443\"}\n"));
    let out = wellknownd(&[
        "check",
        "--no-tls",
        "--quiet",
        "--config",
        path.to_str().unwrap(),
    ]);
    assert_eq!(
        (out.status.code(), text(&out.stdout), text(&out.stderr)),
        (Some(0), "", "")
    );
    let bad = pki.write("bad.toml", &config("matrix.example.com:99999"));
    let out = wellknownd(&["check", "--no-tls", "--config", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn version_help_and_bad_arguments() {
    let out = wellknownd(&["--version"]);
    assert_eq!(
        (out.status.code(), text(&out.stdout)),
        (
            Some(0),
            concat!("wellknownd ", env!("CARGO_PKG_VERSION"), "\n")
        )
    );
    let out = wellknownd(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("wellknownd check [--no-tls] [--quiet] [--config PATH]"));
    let out = wellknownd(&["--frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "wellknownd: unexpected argument `--frobnicate` (see --help)\n"
    );
}

#[tokio::test]
async fn the_daemon_serves_and_stops_cleanly_on_sigterm() {
    let pki = Pki::new();
    pki.leaf("example", &["example.com"]);
    let path = pki.write("config.toml", &config("matrix.example.com:443"));
    let mut daemon = Daemon::start(Command::new(BIN).arg("--config").arg(&path));
    assert!(
        daemon
            .line("domain example.com")
            .ends_with("info: domain example.com: server, client, m.server matrix.example.com:443")
    );
    let https = common::address(&daemon.line("listening on https://"));
    let http = common::address(&daemon.line("listening on http://"));
    assert_eq!(
        server_document(&pki, https, Via::H2, "example.com").await,
        (200, r#"{"m.server":"matrix.example.com:443"}"#.to_string())
    );
    let r = call(
        &pki,
        http,
        Via::Plain,
        "GET",
        "example.com",
        "/.well-known/matrix/client",
    )
    .await;
    assert_eq!(
        (r.status, r.text()),
        (
            200,
            r#"{"m.homeserver":{"base_url":"https://matrix.example.com"}}"#
        )
    );

    let kill = within(
        tokio::process::Command::new("kill")
            .arg("-TERM")
            .arg(daemon.child.id().to_string())
            .status(),
    );
    assert!(kill.await.unwrap().success());
    daemon.line("stopping: finishing requests in flight");
    daemon.line("info: stopped");
    assert_eq!(daemon.wait().code(), Some(0));
}

#[test]
fn the_daemon_refuses_to_start_on_a_bad_config() {
    let pki = Pki::new();
    let path = pki.write("config.toml", &config("matrix.example.com:443"));
    let mut daemon = Daemon::start(Command::new(BIN).arg("--config").arg(&path));
    let line = daemon.line("error:");
    let dir = pki.dir.path().display();
    assert!(
        line.ends_with(&format!("error: {dir}/config.toml: tls.certificate: {dir}/example.crt: cannot read: No such file or directory (os error 2)")),
        "{line}"
    );
    assert_eq!(daemon.wait().code(), Some(1));
}
