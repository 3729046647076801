//! `wellknownd probe` on the documents, the browser preflight and every address, against
//! fake deployments on loopback: a healthy one passes everything; each broken one gives the
//! right FAIL, its hint and exit status 1.

#[path = "../../tests/common/mod.rs"]
mod common;
mod support;

use common::Pki;
use serde_json::json;
use support::fake::{Canned, FakeServer, healthy};
use support::probe::*;
use wellknownd_probe::report::Status;

#[tokio::test]
async fn a_healthy_fake_deployment_passes_every_check() {
    let report = probe_fake(healthy(DOMAIN, FUTURE_MS)).await;
    assert_passes_but(&report, &[]);
    assert_eq!(report.exit_code(), 0);
    assert_eq!(report.checks.len(), 37);
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

/// A base URL ending in /_matrix fails as the daemon refuses it: clients append
/// /_matrix/client/... themselves.
#[tokio::test]
async fn a_base_url_ending_in_matrix_fails_with_what_to_write() {
    let mut routes = healthy(DOMAIN, FUTURE_MS);
    routes.insert(
        "GET /.well-known/matrix/client".into(),
        Canned::json(
            &json!({"m.homeserver": {"base_url": "https://matrix.example.test/_matrix/"}}),
        ),
    );
    let report = probe_fake(routes).await;
    assert_fails(
        &report,
        "client.shape",
        "m.homeserver.base_url `https://matrix.example.test/_matrix/` ends in /_matrix",
        "clients append /_matrix/client/... themselves: write `https://matrix.example.test`",
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
        "1 redirect(s): 302 https://example.test/.well-known/matrix/client (no CORS)",
        "the 302 from https://example.test/.well-known/matrix/client has no Access-Control-Allow-Origin",
    );
    assert_eq!(check(&report, "client.status").status, Status::Pass);
    assert_eq!(
        check(&report, "client.status").detail,
        "200 from https://example.test/moved/client"
    );
    // With CORS on the redirect, it passes, and the hop says so.
    let mut routes = healthy(DOMAIN, FUTURE_MS);
    let target = routes["GET /.well-known/matrix/client"].clone();
    routes.insert("GET /moved/client".into(), target);
    let moved = Canned {
        status: 308,
        headers: vec![("location", "/moved/client".into())],
        body: vec![],
    };
    routes.insert(
        "GET /.well-known/matrix/client".into(),
        moved.with("access-control-allow-origin", "*"),
    );
    let report = probe_fake(routes).await;
    let c = check(&report, "client.redirects");
    assert_eq!(c.status, Status::Pass);
    assert_eq!(
        c.detail,
        "1 redirect(s): 308 https://example.test/.well-known/matrix/client (with CORS)"
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

/// No support document, answered by a 404 without CORS (nginx's error page): optional, so
/// a warning, but the missing CORS header on the 404 is still a failure.
#[tokio::test]
async fn a_404_without_cors_fails_even_where_the_document_is_optional() {
    let mut routes = healthy(DOMAIN, FUTURE_MS);
    routes.remove("GET /.well-known/matrix/support");
    let report = probe_fake(routes).await;
    let status = check(&report, "support.status");
    assert_eq!(status.status, Status::Warn);
    assert_eq!(
        status.detail,
        "404 from https://example.test/.well-known/matrix/support: no support document (optional)"
    );
    assert_fails(
        &report,
        "support.cors",
        "no Access-Control-Allow-Origin on the 404",
        "send `Access-Control-Allow-Origin: *` on every response, errors included",
    );
    for id in ["support.content_type", "support.json", "support.shape"] {
        assert_eq!(check(&report, id).status, Status::Skip, "{id}");
    }
    assert_passes_but(
        &report,
        &[
            "support.status",
            "support.cors",
            "support.content_type",
            "support.cache",
            "support.size",
            "support.json",
            "support.shape",
        ],
    );
}

/// A `--resolve` for a port the probe never connects to warns, naming the port it used.
#[tokio::test]
async fn a_resolve_for_another_port_warns_that_it_was_never_used() {
    let pki = Pki::new();
    let fake = FakeServer::start(&pki, &[DOMAIN, HS], healthy(DOMAIN, FUTURE_MS)).await;
    let overrides = vec![
        at(DOMAIN, 443, &[fake.addr]),
        at(HS, 443, &[fake.addr]),
        at(DOMAIN, 8443, &[fake.addr]),
    ];
    let report = run(&pki, overrides, FakeDns::default()).await;
    let c = check(&report, "probe.resolve");
    assert_eq!(c.status, Status::Warn);
    assert_eq!(
        c.detail,
        format!(
            "--resolve {DOMAIN}:8443 was never used: connections to `{DOMAIN}` went to port 443"
        )
    );
    assert_passes_but(&report, &["probe.resolve"]);
    assert_eq!(report.exit_code(), 0);
    let text = report.human(false);
    assert!(
        text.contains("\nThe probe's options\n  WARN  probe.resolve "),
        "{text}"
    );
}

/// A certificate for another name on the domain: one FAIL that says which names it covers,
/// with a hint about the certificate (not DNS or the firewall); every other check that
/// failed the same way is SKIP, pointing at it.
#[tokio::test]
async fn a_wrong_certificate_on_the_domain_is_reported_once() {
    let pki = Pki::new();
    let fake = FakeServer::start(&pki, &["other.test", HS], healthy(DOMAIN, FUTURE_MS)).await;
    let overrides = vec![at(DOMAIN, 443, &[fake.addr]), at(HS, 443, &[fake.addr])];
    let report = run(&pki, overrides, FakeDns::default()).await;
    let failed: Vec<_> = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Fail && c.detail.contains("TLS: "))
        .collect();
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert_eq!(failed[0].id, "server.status");
    assert!(
        failed[0]
            .detail
            .ends_with("TLS: the certificate does not cover `example.test`: it covers `other.test`, `matrix.example.test`"),
        "{}",
        failed[0].detail
    );
    assert_eq!(
        failed[0].hint.as_deref(),
        Some(
            "serve a certificate for `example.test` from a public CA, with its intermediate (certbot's fullchain.pem)"
        )
    );
    for v in &report.consumers {
        assert!(!v.detail.contains("TLS: "), "repeated: {v:#?}");
    }
    assert!(check_consumer(&report, "synapse").detail.contains(
        "ignores the server document: the TLS handshake fails: see the first TLS FAIL above"
    ));
    let client = check(&report, "client.status");
    assert_eq!(client.status, Status::Skip);
    assert!(
        client.detail.ends_with("(see server.status)"),
        "{}",
        client.detail
    );
}

/// The delegated host serving its own, different client document (a migration's leftover):
/// a WARN naming both; the same copy, or none, passes.
#[tokio::test]
async fn a_different_copy_on_the_delegated_host_warns() {
    let pki = Pki::new();
    let wk = FakeServer::start(&pki, &[DOMAIN], healthy(DOMAIN, FUTURE_MS)).await;
    let mut old = healthy(DOMAIN, FUTURE_MS);
    old.insert(
        "GET /.well-known/matrix/client".into(),
        Canned::json(&json!({"m.homeserver": {"base_url": "https://old.example.test"}})),
    );
    let hs = FakeServer::start(&pki, &[HS], old).await;
    let overrides = vec![at(DOMAIN, 443, &[wk.addr]), at(HS, 443, &[hs.addr])];
    let report = run(&pki, overrides, FakeDns::default()).await;
    let c = check(&report, "client.drift");
    assert_eq!(c.status, Status::Warn);
    assert_eq!(
        c.detail,
        format!(
            "https://{HS}/.well-known/matrix/client differs from {DOMAIN}'s: {{\"m.homeserver\":{{\"base_url\":\"https://old.example.test\"}}}}"
        )
    );
    assert!(
        c.hint
            .as_deref()
            .unwrap_or_default()
            .starts_with("a leftover from a migration?")
    );
    assert_eq!(check(&report, "server.drift").status, Status::Pass);
    assert_eq!(
        check(&report, "server.drift").detail,
        format!("{HS} serves the same")
    );
}

/// element.json and the policy server document, when published, are checked by the
/// daemon's own rules; a 404 on either is one PASS (they are optional).
#[tokio::test]
async fn element_json_and_the_policy_server_document_are_checked_when_published() {
    let report = probe_fake(healthy(DOMAIN, FUTURE_MS)).await;
    for doc in ["element", "policy_server"] {
        let c = check(&report, &format!("{doc}.status"));
        assert_eq!(c.status, Status::Pass);
        assert!(
            c.detail.ends_with(": not published (optional)"),
            "{}",
            c.detail
        );
    }
    let mut routes = healthy(DOMAIN, FUTURE_MS);
    routes.insert(
        "GET /.well-known/element/element.json".into(),
        Canned::json(&json!({"brand_color": "green", "rageshake_url": "https://r.example.test"})),
    );
    routes.insert(
        "GET /.well-known/matrix/policy_server".into(),
        Canned::json(
            &json!({"public_keys": {"ed25519": "-_8AAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0"}}),
        ),
    );
    let report = probe_fake(routes).await;
    assert_fails(
        &report,
        "element.shape",
        "element.json.brand_color: `green` is not a colour written `#rrggbb`, e.g. `#0dbd8b`",
        "Element X ignores or misreads it",
    );
    let policy = check(&report, "policy_server.shape");
    assert_eq!(policy.status, Status::Warn);
    assert_eq!(
        policy.hint.as_deref(),
        Some(
            "some consumers expect standard base64: `+/8AAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0`"
        )
    );
    assert_eq!(check(&report, "element.cors").status, Status::Pass);
}
