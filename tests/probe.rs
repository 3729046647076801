//! `wellknownd probe` against real servers on loopback: wellknownd itself with a fake
//! homeserver (all PASS, exit 0), and deliberately broken deployments, each of which must
//! give the right FAIL, its hint and exit status 1. DNS is a fixed table or `--resolve`.

mod common;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use common::fake::{Canned, FakeServer, healthy};
use common::{Pki, TestServer, within};
use serde_json::{Value, json};
use wellknownd::probe::dns::{Dns, Override, Resolve, Srv};
use wellknownd::probe::report::{Check, Report, Status};
use wellknownd::probe::{Probe, fetch, probe, roots};

const BIN: &str = env!("CARGO_BIN_EXE_wellknownd");
const DOMAIN: &str = "example.test";
const HS: &str = "matrix.example.test";
/// 2100-01-01 and 2001-09-09, in milliseconds.
const FUTURE_MS: i64 = 4_102_444_800_000;
const PAST_MS: i64 = 1_000_000_000_000;

/// DNS as a fixed table: no server is asked.
#[derive(Default)]
struct FakeDns {
    srv: HashMap<String, Vec<Srv>>,
    ips: HashMap<String, Vec<IpAddr>>,
}

impl Resolve for FakeDns {
    async fn srv(&self, name: &str) -> Result<Vec<Srv>, String> {
        Ok(self.srv.get(name).cloned().unwrap_or_default())
    }

    async fn ips(&self, host: &str) -> Result<Vec<IpAddr>, String> {
        Ok(self.ips.get(host).cloned().unwrap_or_default())
    }
}

fn at(host: &str, port: u16, addrs: &[SocketAddr]) -> Override {
    let list: Vec<String> = addrs.iter().map(ToString::to_string).collect();
    format!("{host}:{port}:{}", list.join(",")).parse().unwrap()
}

async fn run(pki: &Pki, overrides: Vec<Override>, dns: FakeDns) -> Report {
    let ca = pki.write("ca.pem", &pki.ca_pem);
    let client = fetch::Client {
        tls: roots::client_config(Some(&ca)).unwrap(),
        timeout: Duration::from_secs(5),
    };
    let dns = Dns {
        resolver: dns,
        overrides,
    };
    within(probe(Probe {
        domain: DOMAIN.into(),
        client,
        dns,
    }))
    .await
}

/// One fake server for both names (well-known and homeserver) with `routes`, probed.
async fn probe_fake(routes: HashMap<String, Canned>) -> Report {
    let pki = Pki::new();
    let fake = FakeServer::start(&pki, &[DOMAIN, HS], routes).await;
    let overrides = vec![at(DOMAIN, 443, &[fake.addr]), at(HS, 443, &[fake.addr])];
    run(&pki, overrides, FakeDns::default()).await
}

fn check<'a>(report: &'a Report, id: &str) -> &'a Check {
    report
        .checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no check {id} in {report:#?}"))
}

/// Check `id` failed saying `detail`, with `hint`, and the report exits 1.
fn assert_fails(report: &Report, id: &str, detail: &str, hint: &str) {
    let c = check(report, id);
    assert_eq!(c.status, Status::Fail, "{c:#?}");
    assert!(c.detail.contains(detail), "{id} detail: {}", c.detail);
    let h = c.hint.as_deref().unwrap_or_default();
    assert!(h.contains(hint), "{id} hint: {h}");
    assert_eq!(report.exit_code(), 1);
    assert_eq!(report.verdict, Status::Fail);
}

/// Every check but those in `except` passed.
fn assert_passes_but(report: &Report, except: &[&str]) {
    for c in report
        .checks
        .iter()
        .filter(|c| !except.contains(&c.id.as_str()))
    {
        assert_eq!(c.status, Status::Pass, "{c:#?}");
    }
}

#[tokio::test]
async fn a_healthy_fake_deployment_passes_every_check() {
    let report = probe_fake(healthy(DOMAIN, FUTURE_MS)).await;
    assert_passes_but(&report, &[]);
    assert_eq!(report.exit_code(), 0);
    assert_eq!(report.checks.len(), 33);
    assert_eq!(
        report.federation_path,
        [
            "well-known: m.server is `matrix.example.test:443`",
            "explicit port: connect to matrix.example.test:443"
        ]
    );
    assert!(check(&report, "federation.keys").detail.starts_with(
        "signed by ed25519:fake1 for `example.test`, valid until 2100-01-01T00:00:00Z"
    ));
    assert_eq!(
        check(&report, "federation.version").detail,
        "FakeServer 0.1"
    );
}

#[tokio::test]
async fn no_cors_fails_with_the_element_hint() {
    let mut routes = healthy(DOMAIN, FUTURE_MS);
    let path = "GET /.well-known/matrix/client";
    routes.insert(
        path.into(),
        routes[path].clone().without("access-control-allow-origin"),
    );
    let report = probe_fake(routes).await;
    assert_fails(
        &report,
        "client.cors",
        "no Access-Control-Allow-Origin on the 200",
        "Element Web in a browser will not be able to log in",
    );
    assert_passes_but(&report, &["client.cors"]);
}

#[tokio::test]
async fn two_content_types_and_text_plain_fail() {
    let mut routes = healthy(DOMAIN, FUTURE_MS);
    let (client, server) = (
        "GET /.well-known/matrix/client",
        "GET /.well-known/matrix/server",
    );
    routes.insert(
        client.into(),
        routes[client]
            .clone()
            .with("content-type", "application/octet-stream"),
    );
    routes.insert(
        server.into(),
        routes[server]
            .clone()
            .without("content-type")
            .with("content-type", "text/plain"),
    );
    let report = probe_fake(routes).await;
    assert_fails(
        &report,
        "client.content_type",
        "2 Content-Type headers: application/json | application/octet-stream",
        "`default_type application/json;` instead of `add_header Content-Type",
    );
    assert_fails(
        &report,
        "server.content_type",
        "Content-Type: text/plain",
        "send `Content-Type: application/json`",
    );
    assert_passes_but(&report, &["client.content_type", "server.content_type"]);
}

#[tokio::test]
async fn invalid_json_fails_and_federation_falls_back() {
    let mut routes = healthy(DOMAIN, FUTURE_MS);
    let mut broken = Canned::json(&json!({}));
    broken.body = br#"{"m.server": "matrix.example.test:443",}"#.to_vec();
    routes.insert("GET /.well-known/matrix/server".into(), broken);
    let report = probe_fake(routes).await;
    assert_fails(
        &report,
        "server.json",
        "invalid JSON: trailing comma",
        "Synapse treats invalid JSON as a failure",
    );
    assert_eq!(check(&report, "server.shape").status, Status::Skip);
    // Without a usable well-known, remote servers go to example.test:8448, which the
    // fixed DNS does not know.
    assert_eq!(
        report.federation_path.last().unwrap(),
        "no port and no SRV record: connect to example.test:8448"
    );
    assert_fails(
        &report,
        "federation.resolve",
        "example.test:8448",
        "no port in m.server and no SRV record: remote servers will connect to port 8448",
    );
}

#[tokio::test]
async fn a_scheme_in_m_server_fails_with_what_to_write() {
    let mut routes = healthy(DOMAIN, FUTURE_MS);
    routes.insert(
        "GET /.well-known/matrix/server".into(),
        Canned::json(&json!({"m.server": "https://matrix.example.test"})),
    );
    let report = probe_fake(routes).await;
    assert_fails(
        &report,
        "server.shape",
        "m.server `https://matrix.example.test` contains `https://`",
        "m.server contains a scheme: write `matrix.example.test:443`, not `https://matrix.example.test`",
    );
    assert_eq!(
        report.federation_path[0],
        "well-known: m.server `https://matrix.example.test` is invalid, so remote servers ignore it"
    );
}

#[tokio::test]
async fn a_redirect_without_cors_fails() {
    let mut routes = healthy(DOMAIN, FUTURE_MS);
    let target = routes["GET /.well-known/matrix/client"].clone();
    routes.insert("GET /moved/client".into(), target);
    routes.insert(
        "GET /.well-known/matrix/client".into(),
        Canned {
            status: 302,
            headers: vec![("location", "/moved/client".into())],
            body: vec![],
        },
    );
    let report = probe_fake(routes).await;
    assert_fails(
        &report,
        "client.redirects",
        "1 redirect(s): 302 https://example.test/.well-known/matrix/client",
        "the 302 from https://example.test/.well-known/matrix/client has no Access-Control-Allow-Origin",
    );
    assert_eq!(check(&report, "client.status").status, Status::Pass);
    assert_eq!(
        check(&report, "client.status").detail,
        "200 from https://example.test/moved/client"
    );
}

#[tokio::test]
async fn a_wrong_name_certificate_fails_federation_tls() {
    let pki = Pki::new();
    let wk = FakeServer::start(&pki, &[DOMAIN], healthy(DOMAIN, FUTURE_MS)).await;
    let hs = FakeServer::start(&pki, &["other.test"], healthy(DOMAIN, FUTURE_MS)).await;
    let overrides = vec![at(DOMAIN, 443, &[wk.addr]), at(HS, 443, &[hs.addr])];
    let report = run(&pki, overrides, FakeDns::default()).await;
    assert_fails(
        &report,
        "federation.tls",
        "the certificate does not cover `matrix.example.test`",
        "must cover `matrix.example.test`",
    );
    assert_eq!(check(&report, "federation.keys").status, Status::Skip);
    assert_fails(
        &report,
        "client.versions",
        "the certificate does not cover",
        "the certificate at matrix.example.test must cover `matrix.example.test`",
    );
}

#[tokio::test]
async fn expired_keys_fail() {
    let report = probe_fake(healthy(DOMAIN, PAST_MS)).await;
    assert_fails(
        &report,
        "federation.keys",
        "valid_until_ts is in the past (2001-09-09T01:46:40Z)",
        "remote servers fetch the signing keys here",
    );
    assert_passes_but(&report, &["federation.keys"]);
}

#[tokio::test]
async fn keys_for_another_server_name_fail() {
    let mut routes = healthy(DOMAIN, FUTURE_MS);
    routes.insert(
        "GET /_matrix/key/v2/server".into(),
        Canned::json(&common::fake::signed_keys("other.test", FUTURE_MS)),
    );
    let report = probe_fake(routes).await;
    assert_fails(
        &report,
        "federation.keys",
        "server_name is `other.test`, not `example.test`",
        "server_name must be `example.test`",
    );
}

#[tokio::test]
async fn a_broken_preflight_fails() {
    let mut routes = healthy(DOMAIN, FUTURE_MS);
    let path = "OPTIONS /.well-known/matrix/client";
    routes.insert(
        path.into(),
        routes[path]
            .clone()
            .without("access-control-allow-headers")
            .with("access-control-allow-headers", "*"),
    );
    let report = probe_fake(routes).await;
    assert_fails(
        &report,
        "cors.preflight",
        "lacks Authorization (`*` does not cover it)",
        "answer OPTIONS with 204",
    );
}

#[tokio::test]
async fn split_brain_and_a_dead_address_fail() {
    let pki = Pki::new();
    let hs = FakeServer::start(&pki, &[HS], healthy(DOMAIN, FUTURE_MS)).await;
    let a = FakeServer::start(&pki, &[DOMAIN], healthy(DOMAIN, FUTURE_MS)).await;
    let mut other = healthy(DOMAIN, FUTURE_MS);
    other.insert(
        "GET /.well-known/matrix/server".into(),
        Canned::json(&json!({"m.server": "old.example.test:8448"})),
    );
    let b = FakeServer::start(&pki, &[DOMAIN], other).await;
    let overrides = vec![at(DOMAIN, 443, &[a.addr, b.addr]), at(HS, 443, &[hs.addr])];
    let report = run(&pki, overrides.clone(), FakeDns::default()).await;
    assert_fails(
        &report,
        "addresses.agree",
        &format!(
            "split brain: the load balancer's backends disagree: {} and {} serve different server documents",
            a.addr, b.addr
        ),
        "every backend must serve the same documents",
    );
    assert_eq!(check(&report, "addresses.reachable").status, Status::Pass);

    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let overrides = vec![at(DOMAIN, 443, &[a.addr, dead]), at(HS, 443, &[hs.addr])];
    let report = run(&pki, overrides, FakeDns::default()).await;
    assert_fails(
        &report,
        "addresses.reachable",
        &format!("1 of 2 address(es) fail: cannot connect to {dead}: "),
        "remove its address from DNS",
    );
    // Clients try the next address, as the probe's document checks do.
    assert_eq!(check(&report, "server.status").status, Status::Pass);
}

#[tokio::test]
async fn srv_discovery_connects_to_the_target_with_the_delegated_name() {
    let pki = Pki::new();
    let mut routes = healthy(DOMAIN, FUTURE_MS);
    routes.insert(
        "GET /.well-known/matrix/server".into(),
        Canned::json(&json!({"m.server": HS})),
    );
    let fake = FakeServer::start(&pki, &[DOMAIN, HS], routes).await;
    let mut dns = FakeDns::default();
    dns.srv.insert(
        format!("_matrix-fed._tcp.{HS}"),
        vec![Srv {
            priority: 10,
            weight: 5,
            port: fake.addr.port(),
            target: "backend.example.test".into(),
        }],
    );
    dns.ips
        .insert("backend.example.test".into(), vec![fake.addr.ip()]);
    let overrides = vec![at(DOMAIN, 443, &[fake.addr]), at(HS, 443, &[fake.addr])];
    let report = run(&pki, overrides, dns).await;
    assert_eq!(
        report.federation_path,
        [
            "well-known: m.server is `matrix.example.test`".to_string(),
            format!(
                "SRV _matrix-fed._tcp.matrix.example.test -> backend.example.test:{}",
                fake.addr.port()
            ),
        ]
    );
    assert_eq!(
        check(&report, "federation.tls").detail,
        "certificate valid for `matrix.example.test`"
    );
    assert_passes_but(&report, &[]);
}

/// The binary against wellknownd itself (and the fake homeserver), as an operator runs it.
#[tokio::test]
async fn the_binary_passes_wellknownd_and_prints_both_formats() {
    let pki = Pki::new();
    pki.leaf("example", &[DOMAIN]);
    let config = format!(
        "[listen]\nhttps = [\"127.0.0.1:0\"]\n[tls]\ncertificate = \"example.crt\"\nprivate_key = \"example.key\"\n\
         [[domain]]\nname = \"{DOMAIN}\"\nserver = \"{HS}:443\"\n[domain.client]\nhomeserver = \"https://{HS}\"\n\
         [domain.support]\npage = \"https://{DOMAIN}/help\"\n"
    );
    let daemon = TestServer::start(&pki, &config).await;
    let hs = FakeServer::start(&pki, &[HS], healthy(DOMAIN, FUTURE_MS)).await;
    let ca = pki.write("ca.pem", &pki.ca_pem);
    let wk = format!("{DOMAIN}:443:{}", daemon.tls());
    let hs_at = format!("{HS}:443:{}", hs.addr);
    let args = |extra: &[&str]| {
        let mut a = vec!["probe", DOMAIN, "--ca", ca.to_str().unwrap()];
        a.extend(["--resolve", &wk, "--resolve", &hs_at]);
        a.extend(extra);
        a.iter().map(ToString::to_string).collect::<Vec<_>>()
    };

    let out = wellknownd(&args(&["--json"])).await;
    assert_eq!(out.status.code(), Some(0));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["schema"], 1);
    assert_eq!(json["domain"], DOMAIN);
    assert_eq!(json["verdict"], "pass");
    let checks = json["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 33);
    for c in checks {
        assert_eq!(c["status"], "pass", "{c}");
        assert!(c["group"].is_string() && c["detail"].is_string() && c["hint"].is_null());
    }

    let out = wellknownd(&args(&[])).await;
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains('\x1b'), "no colour when not a terminal");
    for line in [
        "wellknownd probe example.test",
        "Well-known documents",
        "  PASS  server.content_type   Content-Type: application/json",
        "  PASS  server.cache          Cache-Control: public, max-age=14400: Synapse caches it for 4 h",
        "  path  explicit port: connect to matrix.example.test:443",
        "  PASS  federation.version    FakeServer 0.1",
        "PASS  example.test: everything checked works (33 passed, 0 warnings, 0 failed)",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "no line {line:?} in\n{text}"
        );
    }
    daemon.stop().await;
}

#[tokio::test]
async fn the_binary_exits_1_on_a_failure_and_2_when_it_cannot_run() {
    let pki = Pki::new();
    let mut routes = healthy(DOMAIN, FUTURE_MS);
    let path = "GET /.well-known/matrix/client";
    routes.insert(
        path.into(),
        routes[path].clone().without("access-control-allow-origin"),
    );
    let fake = FakeServer::start(&pki, &[DOMAIN, HS], routes).await;
    let ca = pki.write("ca.pem", &pki.ca_pem);
    let ca = ca.to_str().unwrap();
    let wk = format!("{DOMAIN}:443:{}", fake.addr);
    let hs = format!("{HS}:443:{}", fake.addr);
    let base = [
        "probe",
        DOMAIN,
        "--ca",
        ca,
        "--resolve",
        &wk,
        "--resolve",
        &hs,
    ];
    let out = wellknownd(&base).await;
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("  FAIL  client.cors "), "{text}");
    assert!(
        text.contains("hint: no CORS header: Element Web in a browser will not be able to log in")
    );
    assert!(text.ends_with("FAIL  example.test: 1 failed: fix the FAIL lines above (32 passed, 0 warnings, 1 failed)\n"), "{text}");

    let missing = pki.path("missing.pem");
    let out = wellknownd(&["probe", DOMAIN, "--ca", missing.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("wellknownd probe: "));
    let out = wellknownd(&["probe", "https://example.test/"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("must be a bare DNS name"));
}

async fn wellknownd(args: &[impl AsRef<std::ffi::OsStr>]) -> std::process::Output {
    let child = tokio::process::Command::new(BIN)
        .args(args)
        .env_remove("NO_COLOR")
        .kill_on_drop(true)
        .output();
    within(child).await.unwrap()
}
