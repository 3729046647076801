//! `wellknownd probe` on federation: discovery through SRV, and what breaks a remote
//! server's connection (a certificate for the wrong name, expired or foreign signing keys).

#[path = "../../tests/common/mod.rs"]
mod common;
mod support;

use common::{Pki, within};
use serde_json::json;
use support::fake::{Canned, FakeServer, healthy};
use support::probe::*;
use wellknownd_probe::dns::Srv;
use wellknownd_probe::report::Status;

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
        "TLS: the certificate does not cover `matrix.example.test`: it covers `other.test`",
        "must cover `matrix.example.test`",
    );
    assert_eq!(check(&report, "federation.keys").status, Status::Skip);
    // The same failure on the same host is reported once; the client API check points at it.
    let versions = check(&report, "client.versions");
    assert_eq!(versions.status, Status::Skip);
    assert_eq!(
        versions.detail,
        "not checked: TLS: the certificate does not cover `matrix.example.test`: it covers `other.test` (see federation.tls)"
    );
    let tls = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Fail && c.detail.contains("TLS: "));
    assert_eq!(tls.count(), 1);
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
        Canned::json(&support::fake::signed_keys("other.test", FUTURE_MS)),
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
async fn srv_discovery_connects_to_the_target_with_the_delegated_name() {
    let pki = Pki::new();
    let routes = delegating_without_port();
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
    // No port in m.server: the probe warns as `check` does, with the same consequence.
    let shape = check(&report, "server.shape");
    assert_eq!(shape.status, Status::Warn);
    assert_eq!(shape.detail, "m.server `matrix.example.test` has no port");
    assert_eq!(
        shape.hint.as_deref(),
        Some(
            "remote servers will look up SRV records for it, then connect to port 8448; write `matrix.example.test:443` if it listens on 443"
        )
    );
    assert_passes_but(&report, &["server.shape"]);
}

/// The same discovery through the system resolver's code (hickory), asking a DNS server on
/// loopback: SRV answers are read, sorted and followed, a missing record is no error.
#[tokio::test]
async fn srv_discovery_through_a_dns_server() {
    use common::dns::{DnsServer, Zone};
    use wellknownd_probe::dns::{Dns, Resolve, System};
    let pki = Pki::new();
    let routes = delegating_without_port();
    let fake = FakeServer::start(&pki, &[DOMAIN, HS], routes).await;
    let mut zone = Zone::default();
    let port = fake.addr.port();
    zone.srv.insert(
        format!("_matrix-fed._tcp.{HS}"),
        vec![
            (20, 0, 9, "backup.example.test".into()),
            (10, 5, port, "backend.example.test".into()),
        ],
    );
    zone.ips
        .insert("backend.example.test".into(), vec![fake.addr.ip()]);
    let dns = DnsServer::start(zone).await;
    let system = System::with_nameserver(dns.addr);
    assert_eq!(
        within(system.srv("_matrix._tcp.nothing.test")).await,
        Ok(vec![])
    );
    assert_eq!(
        within(system.ips("backend.example.test")).await,
        Ok(vec![fake.addr.ip()])
    );
    let overrides = vec![at(DOMAIN, 443, &[fake.addr]), at(HS, 443, &[fake.addr])];
    let dns = Dns::new(system, overrides);
    let report = run_with(&pki, dns).await;
    assert_eq!(
        report.federation_path[1],
        format!("SRV _matrix-fed._tcp.matrix.example.test -> backend.example.test:{port}")
    );
    assert_passes_but(&report, &["server.shape"]);
}

/// Only the deprecated `_matrix._tcp` record: followed, with a warning; an IP literal with a
/// port in m.server: connected to as it is, the certificate checked for the address.
#[tokio::test]
async fn deprecated_srv_warns_and_ip_literals_are_used_as_they_are() {
    let pki = Pki::new();
    let mut routes = delegating_without_port();
    let fake = FakeServer::start(&pki, &[DOMAIN, HS, "127.0.0.1"], routes.clone()).await;
    let mut dns = FakeDns::default();
    let srv = Srv {
        priority: 0,
        weight: 0,
        port: fake.addr.port(),
        target: HS.into(),
    };
    dns.srv.insert(format!("_matrix._tcp.{HS}"), vec![srv]);
    dns.ips.insert(HS.into(), vec![fake.addr.ip()]);
    let overrides = vec![at(DOMAIN, 443, &[fake.addr]), at(HS, 443, &[fake.addr])];
    let report = run(&pki, overrides, dns).await;
    assert_eq!(
        report.federation_path[1],
        "SRV _matrix-fed._tcp.matrix.example.test: no record"
    );
    let resolve = check(&report, "federation.resolve");
    assert_eq!(resolve.status, Status::Warn);
    assert!(
        resolve
            .hint
            .as_deref()
            .unwrap()
            .contains("add the same record as _matrix-fed._tcp")
    );
    assert_eq!(report.exit_code(), 0, "warnings pass");
    let literal = fake.addr.to_string();
    routes.insert(
        "GET /.well-known/matrix/server".into(),
        Canned::json(&json!({ "m.server": literal })),
    );
    let fake = FakeServer::start(&pki, &[DOMAIN, HS, "127.0.0.1"], routes).await;
    let overrides = vec![at(DOMAIN, 443, &[fake.addr]), at(HS, 443, &[fake.addr])];
    let report = run(&pki, overrides, FakeDns::default()).await;
    assert_eq!(
        report.federation_path[1],
        format!("IP literal: connect to {literal}")
    );
    assert_eq!(
        check(&report, "federation.tls").detail,
        "certificate valid for `127.0.0.1`"
    );
    assert_eq!(check(&report, "federation.version").status, Status::Pass);
}

/// A healthy deployment whose m.server names the homeserver without a port.
fn delegating_without_port() -> std::collections::HashMap<String, Canned> {
    let mut routes = healthy(DOMAIN, FUTURE_MS);
    routes.insert(
        "GET /.well-known/matrix/server".into(),
        Canned::json(&json!({ "m.server": HS })),
    );
    routes
}
