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

/// `check` with the test CA as the system's trusted roots, as a private CA installed
/// system-wide: a leaf it issued is then complete on its own.
fn check_trusting(pki: &Pki, args: &[&str]) -> Output {
    let ca = pki.write("system-roots.pem", &pki.ca_pem);
    Command::new(BIN)
        .arg("check")
        .args(args)
        .env("SSL_CERT_FILE", ca)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap()
}

#[test]
fn check_prints_what_would_be_served_and_exits_0() {
    let pki = Pki::new();
    pki.leaf("example", &["example.com"]);
    let path = pki.write("config.toml", &config("matrix.example.com"));
    let out = check_trusting(&pki, &["--config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        format!(
            "warning: domain[0].server: `matrix.example.com` has no port: remote servers will look up SRV records for it, then connect to port 8448; write `matrix.example.com:443` if it listens on 443\n\
             {}: OK, 1 warning\n",
            path.display()
        )
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
        "1 domain(s), 2 listener(s)".into(),
        format!("certificate tls: {dir}/example.crt"),
        "  names: example.com".into(),
        "  issuer: wellknownd test CA".into(),
        "  chain: 1 certificate(s)".into(),
        format!("  key: matches ({dir}/example.key)"),
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "missing line {line:?} in:\n{stdout}"
        );
    }
    // rcgen's default notAfter.
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("  expires: 4096-01-01T00:00:00Z (")
                && l.ends_with(" days left)")),
        "{stdout}"
    );
}

/// Exit 3: the daemon would start, but clients would refuse the certificate. Each of the
/// three ways, with its line.
#[test]
fn check_exits_3_when_clients_would_refuse_the_certificate() {
    let pki = Pki::new();
    let expired = rcgen::CertificateParams::new(vec!["example.com".to_owned()]).unwrap();
    let mut expired = expired;
    expired.not_before = rcgen::date_time_ymd(2020, 1, 1);
    expired.not_after = rcgen::date_time_ymd(2021, 1, 1);
    pki.leaf_with("old", expired, rcgen::KeyPair::generate().unwrap());
    pki.leaf("other", &["other.example"]);
    pki.leaf("example", &["example.com"]);
    let dir = pki.dir.path().display();
    let cases = [
        (
            "old",
            true,
            format!(
                "tls.certificate: {dir}/old.crt EXPIRED at 2021-01-01T00:00:00Z: clients will refuse it"
            ),
        ),
        (
            "other",
            true,
            format!(
                "domain[0]: the certificate {dir}/other.crt does not cover `example.com`: clients will refuse TLS for it"
            ),
        ),
        (
            "example",
            false,
            format!(
                "tls.certificate: {dir}/example.crt holds the leaf alone, and its issuer `wellknownd test CA` is not a root this system trusts: clients will not complete the chain. Serve the full chain (certbot's fullchain.pem, not cert.pem); with a private CA, every client must trust `wellknownd test CA`"
            ),
        ),
    ];
    for (stem, trusted, line) in cases {
        let text_ = config("matrix.example.com:443")
            .replace("example.crt", &format!("{stem}.crt"))
            .replace("example.key", &format!("{stem}.key"));
        let path = pki.write("config.toml", &text_);
        let args = ["--quiet", "--config", path.to_str().unwrap()];
        let out = match trusted {
            true => check_trusting(&pki, &args),
            false => Command::new(BIN)
                .arg("check")
                .args(args)
                .env("SSL_CERT_FILE", pki.write("empty.pem", ""))
                .output()
                .unwrap(),
        };
        assert_eq!(out.status.code(), Some(3), "{stem}: {}", text(&out.stderr));
        assert_eq!(
            text(&out.stderr),
            format!(
                "clients would refuse: {line}\n{}: FAILED for clients, 1 problem, 0 warnings: the daemon would start, but clients would refuse what it serves\n",
                path.display()
            )
        );
    }
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
            "error: {p}: domain[0].server: `https://matrix.example.com` contains a scheme (`https://`): m.server is a host and port only; write `matrix.example.com:443`\n\
             {p}: FAILED, 1 error: the daemon would not start\n",
            p = path.display()
        )
    );
    assert_eq!(text(&out.stdout), "");

    let missing = pki.path("nope.toml");
    let out = wellknownd(&["check", "--config", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!(
            "error: {p}: cannot read: No such file or directory (os error 2)\n\
             {p}: FAILED, 1 error: the daemon would not start\n",
            p = missing.display()
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
    assert!(
        text(&out.stdout)
            .contains("wellknownd check [--no-tls] [--credentials DIR] [--quiet] [--config PATH]")
    );
    let out = wellknownd(&["--frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "wellknownd: unexpected argument `--frobnicate` (see --help)\n"
    );
}

/// `wellknownd probe ...` runs the `wellknownd-probe` beside the binary with the arguments
/// after `probe`, and its exit status is the probe's; without one, exit 2 and a line saying
/// what to install. (The probe is another package of the workspace, so a stand-in script
/// plays it here: the probe's own tests run the real one.)
#[test]
fn probe_runs_the_probe_binary_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = dir.path().join("wellknownd");
    std::fs::copy(BIN, &daemon).unwrap();
    // PATH holds only the directory, so no installed wellknownd-probe stands in.
    let run = || {
        Command::new(&daemon)
            .args(["probe", "x.test", "--json"])
            .env("PATH", dir.path())
            .output()
            .unwrap()
    };
    let out = run();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).starts_with("wellknownd probe: cannot run wellknownd-probe: ")
            && text(&out.stderr).contains("cargo install --path probe"),
        "{}",
        text(&out.stderr)
    );
    let stand_in = dir.path().join("wellknownd-probe");
    std::fs::write(&stand_in, "#!/bin/sh\necho \"probed: $*\"\nexit 7\n").unwrap();
    let mut mode = std::fs::metadata(&stand_in).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut mode, 0o755);
    std::fs::set_permissions(&stand_in, mode).unwrap();
    let out = run();
    assert_eq!(
        (out.status.code(), text(&out.stdout)),
        (Some(7), "probed: x.test --json\n")
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
