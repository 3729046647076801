//! `wellknownd probe` as an operator runs it: the binary against wellknownd itself and a
//! fake homeserver, both output formats, and the exit statuses 0, 1 and 2.

#[path = "../../tests/common/mod.rs"]
mod common;
mod support;

use common::{Pki, TestServer, within};
use serde_json::Value;
use support::fake::{FakeServer, healthy};
use support::probe::{DOMAIN, FUTURE_MS, HS};

const BIN: &str = env!("CARGO_BIN_EXE_wellknownd-probe");

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
    assert_eq!(checks.len(), 37);
    for c in checks {
        assert_eq!(c["status"], "pass", "{c}");
        assert!(c["group"].is_string() && c["detail"].is_string() && c["hint"].is_null());
    }
    let consumers = json["consumers"].as_array().unwrap();
    let ids: Vec<&str> = consumers
        .iter()
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "synapse",
            "element-web",
            "element-x",
            "tuwunel",
            "continuwuity",
            "dendrite",
            "mautrix"
        ]
    );
    for v in consumers {
        assert_eq!(v["status"], "pass", "{v}");
        assert!(v["detail"].is_string() && v["hint"].is_null());
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
        "Who accepts it (each consumer's own rules)",
        &format!(
            "  PASS  synapse               uses the delegation: m.server `{HS}:443` (status 200, 38 bytes)"
        ),
        &format!(
            "  PASS  {:20}  logs in to https://{HS} (client API up to v1.12)",
            "element-x"
        ),
        "PASS  example.test: everything checked works (44 passed, 0 warnings, 0 failed)",
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
    assert!(
        text.contains("  FAIL  element-web           cannot use the client document: the 200 has no Access-Control-Allow-Origin, so the browser hides it\n"),
        "{text}"
    );
    assert!(text.ends_with("FAIL  example.test: 2 failed: fix the FAIL lines above (42 passed, 0 warnings, 2 failed)\n"), "{text}");

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
