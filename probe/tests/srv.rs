//! SRV discovery as remote servers do it: every record in priority and weight order, a `.`
//! target that says there is no service, and DNS that fails, which is not "no record".

#[path = "../../tests/common/mod.rs"]
mod common;
mod support;

use common::Pki;
use serde_json::json;
use support::fake::FakeServer;
use support::fake::{Canned, healthy};
use support::probe::*;
use wellknownd_probe::dns::Srv;
use wellknownd_probe::report::{Report, Status};

/// The fake deployment with `m.server` without a port (so SRV decides), probed with `dns`.
async fn probe_srv(dns: impl FnOnce(u16) -> FakeDns) -> Report {
    let pki = Pki::new();
    let mut routes = healthy(DOMAIN, FUTURE_MS);
    routes.insert(
        "GET /.well-known/matrix/server".into(),
        Canned::json(&json!({ "m.server": HS })),
    );
    let fake = FakeServer::start(&pki, &[DOMAIN, HS], routes).await;
    let mut dns = dns(fake.addr.port());
    dns.ips
        .insert("backend.example.test".into(), vec![fake.addr.ip()]);
    let overrides = vec![at(DOMAIN, 443, &[fake.addr]), at(HS, 443, &[fake.addr])];
    run(&pki, overrides, dns).await
}

fn srv(priority: u16, weight: u16, port: u16, target: &str) -> Srv {
    Srv {
        priority,
        weight,
        port,
        target: target.into(),
    }
}

#[tokio::test]
async fn every_srv_record_is_tried_in_order_when_the_first_has_no_address() {
    let report = probe_srv(|port| {
        let mut dns = FakeDns::default();
        dns.srv.insert(
            format!("_matrix-fed._tcp.{HS}"),
            vec![
                srv(20, 0, port, "backend.example.test"),
                srv(10, 0, port, "gone.example.test"),
            ],
        );
        dns
    })
    .await;
    // Lowest priority first, as remote servers try them.
    let path = &report.federation_path;
    assert!(
        path[1].starts_with(&format!("SRV _matrix-fed._tcp.{HS} -> gone.example.test:")),
        "{path:?}"
    );
    assert!(
        path[2].starts_with(&format!(
            "SRV _matrix-fed._tcp.{HS} -> backend.example.test:"
        )),
        "{path:?}"
    );
    assert_eq!(check(&report, "federation.resolve").status, Status::Pass);
    assert_eq!(check(&report, "federation.keys").status, Status::Pass);
    assert_passes_but(&report, &["server.shape"]);
}

#[tokio::test]
async fn a_dot_target_says_there_is_no_federation_service() {
    let report = probe_srv(|_| {
        let mut dns = FakeDns::default();
        dns.srv
            .insert(format!("_matrix-fed._tcp.{HS}"), vec![srv(0, 0, 0, "")]);
        dns
    })
    .await;
    assert_eq!(
        report.federation_path[1],
        format!("SRV _matrix-fed._tcp.{HS}: target `.`, no service")
    );
    assert_fails(
        &report,
        "federation.resolve",
        "has the target `.`: federation is decidedly not available here",
        "remote servers stop at this record",
    );
    assert_eq!(check(&report, "federation.keys").status, Status::Skip);
}

#[tokio::test]
async fn failing_dns_is_said_and_not_taken_for_a_missing_record() {
    let report = probe_srv(|_| FakeDns {
        srv_error: Some("no answer from 127.0.0.53:53".into()),
        ..FakeDns::default()
    })
    .await;
    assert_eq!(
        report.federation_path.last().map(String::as_str),
        Some("DNS failed: remote servers cannot tell whether an SRV record exists")
    );
    assert!(
        !report.federation_path.iter().any(|l| l.contains("8448")),
        "{:?}",
        report.federation_path
    );
    assert_fails(
        &report,
        "federation.resolve",
        &format!("DNS failed for _matrix-fed._tcp.{HS}: no answer from 127.0.0.53:53"),
        "remote servers retry a failed look-up instead of falling back to port 8448",
    );
}
