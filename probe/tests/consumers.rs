//! The consumers' verdicts against deliberately broken deployments on loopback: for each
//! consumer, a server it rejects, and one it accepts while another consumer rejects it.
//! Each case lists the consumers that do not pass; every other one must pass.

#[path = "../../tests/common/mod.rs"]
mod common;
mod support;

use std::collections::HashMap;

use serde_json::json;
use support::fake::{Canned, healthy};
use support::probe::*;
use wellknownd_probe::report::{Report, Status};

const SERVER: &str = "GET /.well-known/matrix/server";
const CLIENT: &str = "GET /.well-known/matrix/client";

/// Every consumer passes but those in `others`, which have the status and detail given.
fn assert_verdicts(report: &Report, others: &[(&str, Status, &str)]) {
    assert_eq!(report.consumers.len(), 7, "{:#?}", report.consumers);
    for v in &report.consumers {
        match others.iter().find(|(id, _, _)| *id == v.id) {
            Some((_, status, detail)) => {
                assert_eq!(v.status, *status, "{v:#?}");
                assert!(v.detail.contains(detail), "{}: {}", v.id, v.detail);
                assert!(v.hint.is_some(), "{v:#?}");
            }
            None => assert_eq!(v.status, Status::Pass, "{v:#?}"),
        }
    }
    let worst = others
        .iter()
        .map(|(_, s, _)| *s)
        .max()
        .unwrap_or(Status::Pass);
    assert!(report.verdict >= worst);
}

/// A server document padded to `bytes` (when longer than the bare one) with an extra key,
/// which every consumer ignores.
fn server_of(bytes: usize) -> Canned {
    let doc =
        |pad: usize| json!({"m.server": format!("{HS}:443"), "org.example.pad": "x".repeat(pad)});
    let base = serde_json::to_vec(&doc(0)).unwrap().len();
    Canned::json(&doc(bytes.saturating_sub(base)))
}

fn with(route: &str, canned: Canned) -> HashMap<String, Canned> {
    let mut routes = healthy(DOMAIN, FUTURE_MS);
    routes.insert(route.into(), canned);
    routes
}

/// A redirect with CORS (so only the consumers' own rules decide).
fn redirect(status: u16, to: &str) -> Canned {
    Canned {
        status,
        headers: vec![
            ("location", to.into()),
            ("access-control-allow-origin", "*".into()),
        ],
        body: vec![],
    }
}

#[tokio::test]
async fn a_healthy_deployment_is_accepted_by_every_consumer() {
    let report = probe_fake(healthy(DOMAIN, FUTURE_MS)).await;
    assert_verdicts(&report, &[]);
    let synapse = check_consumer(&report, "synapse");
    assert_eq!(
        synapse.detail,
        format!("uses the delegation: m.server `{HS}:443` (status 200, 38 bytes)")
    );
}

/// Element X parses with ruma and rejects the whole document for one malformed focus,
/// naming it; Element Web reads only the homeserver and passes.
#[tokio::test]
async fn a_malformed_rtc_focus_fails_element_x_only() {
    let doc = json!({
        "m.homeserver": {"base_url": format!("https://{HS}")},
        "org.matrix.msc4143.rtc_foci": [{"livekit_service_url": "https://livekit.example.test"}],
    });
    let report = probe_fake(with(CLIENT, Canned::json(&doc))).await;
    assert_verdicts(
        &report,
        &[(
            "element-x",
            Status::Fail,
            "rejects the client document: org.matrix.msc4143.rtc_foci[0]: missing field `type`; it logs in to https://example.test directly",
        )],
    );
    assert_eq!(report.exit_code(), 1);
}

/// Synapse (Twisted's RedirectAgent) does not follow 308; every other homeserver does.
#[tokio::test]
async fn a_308_on_the_server_document_fails_synapse_only() {
    let mut routes = with(SERVER, redirect(308, "/moved/server"));
    routes.insert("GET /moved/server".into(), server_of(0));
    let report = probe_fake(routes).await;
    assert_verdicts(
        &report,
        &[(
            "synapse",
            Status::Fail,
            "Synapse ignores the server document: it does not follow the 308 from https://example.test/.well-known/matrix/server; it falls back to SRV records for example.test, then port 8448 on it",
        )],
    );
    assert!(
        check_consumer(&report, "tuwunel")
            .detail
            .ends_with("after 1 redirect(s))")
    );
}

/// 11 KiB: over continuwuity's 8 KiB, under tuwunel's 12 KiB and Synapse's 50 KiB.
#[tokio::test]
async fn an_11_kib_server_document_fails_continuwuity_only() {
    let report = probe_fake(with(SERVER, server_of(11 * 1024))).await;
    assert_verdicts(
        &report,
        &[(
            "continuwuity",
            Status::Fail,
            "11264 bytes, and it reads at most 8192",
        )],
    );
}

/// 13 KiB: over tuwunel's cap too (and the probe's own size check), under Dendrite's.
#[tokio::test]
async fn a_13_kib_server_document_fails_tuwunel_and_continuwuity() {
    let report = probe_fake(with(SERVER, server_of(13 * 1024))).await;
    assert_verdicts(
        &report,
        &[
            (
                "tuwunel",
                Status::Fail,
                "13312 bytes, and it reads at most 12288",
            ),
            ("continuwuity", Status::Fail, "13312 bytes"),
        ],
    );
    assert_eq!(check(&report, "server.size").status, Status::Fail);
}

/// 60 KiB: over Synapse's and Dendrite's 50 KiB, under mautrix-go's 64 KiB.
#[tokio::test]
async fn a_60_kib_server_document_passes_only_mautrix() {
    let report = probe_fake(with(SERVER, server_of(60 * 1024))).await;
    let over = "61440 bytes, and it reads at most";
    assert_verdicts(
        &report,
        &[
            ("synapse", Status::Fail, over),
            (
                "dendrite",
                Status::Fail,
                "61440 bytes, and it reads at most 51200",
            ),
            ("tuwunel", Status::Fail, over),
            ("continuwuity", Status::Fail, over),
        ],
    );
}

/// Past 64 KiB even mautrix-go stops reading.
#[tokio::test]
async fn a_70_kib_server_document_fails_every_homeserver() {
    let report = probe_fake(with(SERVER, server_of(70 * 1024))).await;
    let more = "more than 65536 bytes";
    let all = ["synapse", "tuwunel", "continuwuity", "dendrite", "mautrix"];
    let others: Vec<(&str, Status, &str)> =
        all.iter().map(|id| (*id, Status::Fail, more)).collect();
    assert_verdicts(&report, &others);
}

/// tuwunel and continuwuity take any 2xx; Synapse, Dendrite and mautrix-go only 200.
#[tokio::test]
async fn a_203_server_document_passes_only_the_conduwuit_forks() {
    let mut canned = server_of(0);
    canned.status = 203;
    let report = probe_fake(with(SERVER, canned)).await;
    let status = "ignores the server document: status 203";
    assert_verdicts(
        &report,
        &[
            ("synapse", Status::Fail, status),
            ("dendrite", Status::Fail, status),
            ("mautrix", Status::Fail, status),
        ],
    );
}

/// Five redirects: past tuwunel's and continuwuity's 4, within Synapse's and Go's.
#[tokio::test]
async fn five_redirects_fail_the_conduwuit_forks() {
    let mut routes = with(SERVER, redirect(302, "/r1"));
    for i in 1..5 {
        routes.insert(format!("GET /r{i}"), redirect(302, &format!("/r{}", i + 1)));
    }
    routes.insert("GET /r5".into(), server_of(0));
    let report = probe_fake(routes).await;
    let why = "5 redirects, and it follows at most 4";
    assert_verdicts(
        &report,
        &[
            ("tuwunel", Status::Fail, why),
            ("continuwuity", Status::Fail, why),
        ],
    );
}

/// No CORS on the client document: the browser hides it from Element Web; Element X, an
/// app, does not care.
#[tokio::test]
async fn a_client_document_without_cors_fails_element_web_only() {
    let mut routes = healthy(DOMAIN, FUTURE_MS);
    routes.insert(
        CLIENT.into(),
        routes[CLIENT]
            .clone()
            .without("access-control-allow-origin"),
    );
    let report = probe_fake(routes).await;
    assert_verdicts(
        &report,
        &[(
            "element-web",
            Status::Fail,
            "cannot use the client document: the 200 has no Access-Control-Allow-Origin",
        )],
    );
}

/// An identity server that does not answer: Element Web's discovery fails (FAIL_ERROR);
/// Element X does not check it. Once it answers, both pass.
#[tokio::test]
async fn an_identity_server_that_does_not_answer_fails_element_web() {
    let doc = json!({
        "m.homeserver": {"base_url": format!("https://{HS}")},
        "m.identity_server": {"base_url": format!("https://{HS}")},
    });
    let mut routes = with(CLIENT, Canned::json(&doc));
    let report = probe_fake(routes.clone()).await;
    assert_verdicts(
        &report,
        &[(
            "element-web",
            Status::Fail,
            "the identity server check fails: https://matrix.example.test/_matrix/identity/v2: status 404",
        )],
    );
    routes.insert("GET /_matrix/identity/v2".into(), Canned::json(&json!({})));
    assert_verdicts(&probe_fake(routes).await, &[]);
}

/// `"m.identity_server": {}` breaks both: ruma needs `base_url`, and so does matrix-js-sdk.
#[tokio::test]
async fn an_empty_identity_server_fails_both_clients() {
    let doc = json!({
        "m.homeserver": {"base_url": format!("https://{HS}")},
        "m.identity_server": {},
    });
    let report = probe_fake(with(CLIENT, Canned::json(&doc))).await;
    assert_verdicts(
        &report,
        &[
            (
                "element-web",
                Status::Fail,
                "m.identity_server.base_url: no `base_url` string",
            ),
            (
                "element-x",
                Status::Fail,
                "m.identity_server: missing field `base_url`",
            ),
        ],
    );
}

/// No client document: Element Web asks the user (a warning); Element X falls back to the
/// domain's own /versions, a warning when that answers and a failure when it does not.
#[tokio::test]
async fn no_client_document_is_a_warning_while_the_fallback_answers() {
    let gone = Canned {
        status: 404,
        headers: vec![("access-control-allow-origin", "*".into())],
        body: vec![],
    };
    let mut routes = with(CLIENT, gone);
    let report = probe_fake(routes.clone()).await;
    assert_verdicts(
        &report,
        &[
            (
                "element-web",
                Status::Warn,
                "no client document (404): users must type",
            ),
            (
                "element-x",
                Status::Warn,
                "no usable client document (status 404); it logs in to https://example.test directly",
            ),
        ],
    );
    routes.remove("GET /_matrix/client/versions");
    let report = probe_fake(routes).await;
    assert_verdicts(
        &report,
        &[
            ("element-web", Status::Warn, "no client document (404)"),
            (
                "element-x",
                Status::Fail,
                "its fallback fails too: https://example.test/_matrix/client/versions: status 404",
            ),
        ],
    );
}

/// A redirect without CORS on the way to the client document: the browser stops at it.
#[tokio::test]
async fn a_redirect_without_cors_fails_element_web_only() {
    let mut routes = with(
        CLIENT,
        redirect(302, "/moved/client").without("access-control-allow-origin"),
    );
    routes.insert(
        "GET /moved/client".into(),
        healthy(DOMAIN, FUTURE_MS)[CLIENT].clone(),
    );
    let report = probe_fake(routes).await;
    assert_verdicts(
        &report,
        &[(
            "element-web",
            Status::Fail,
            "the 302 from https://example.test/.well-known/matrix/client has no CORS header",
        )],
    );
}
