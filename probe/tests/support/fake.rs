//! Test-only servers for the probe: a fake homeserver answering the federation and client
//! endpoints with a real ed25519 signature, and the well-known documents as a broken proxy
//! might serve them. Each route is `"METHOD path"` to a canned response; stopped by a channel.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;
use wellknownd_shared::crypto::rand::SystemRandom;
use wellknownd_shared::crypto::signature::{Ed25519KeyPair, KeyPair};

use crate::common::{Pki, server_tls};

/// A canned response.
#[derive(Clone, Debug)]
pub struct Canned {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Canned {
    /// 200 with a JSON body and the headers wellknownd sends.
    pub fn json(body: &Value) -> Canned {
        Canned {
            status: 200,
            headers: vec![
                ("content-type", "application/json".into()),
                ("access-control-allow-origin", "*".into()),
                ("cache-control", "public, max-age=14400".into()),
            ],
            body: serde_json::to_vec(body).unwrap(),
        }
    }

    pub fn without(mut self, header: &str) -> Canned {
        self.headers.retain(|(k, _)| *k != header);
        self
    }

    pub fn with(mut self, header: &'static str, value: &str) -> Canned {
        self.headers.push((header, value.into()));
        self
    }
}

/// The routes of a healthy deployment of `domain`: documents delegating to
/// `matrix.<domain>:443`, the federation endpoints signed for `domain` with keys valid until
/// `valid_until_ms`, the client endpoint, and the CORS preflight.
pub fn healthy(domain: &str, valid_until_ms: i64) -> HashMap<String, Canned> {
    let hs = format!("matrix.{domain}");
    let mut routes = HashMap::new();
    let mut add = |route: &str, c: Canned| routes.insert(route.to_owned(), c);
    add(
        "GET /.well-known/matrix/server",
        Canned::json(&json!({"m.server": format!("{hs}:443")})),
    );
    add(
        "GET /.well-known/matrix/client",
        Canned::json(&json!({"m.homeserver": {"base_url": format!("https://{hs}")}})),
    );
    add(
        "GET /.well-known/matrix/support",
        Canned::json(
            &json!({"contacts": [{"role": "m.role.admin", "email_address": format!("admin@{domain}")}]}),
        ),
    );
    add(
        "OPTIONS /.well-known/matrix/client",
        Canned {
            status: 204,
            headers: vec![
                ("access-control-allow-origin", "*".into()),
                ("access-control-allow-methods", "GET, HEAD, OPTIONS".into()),
                (
                    "access-control-allow-headers",
                    "X-Requested-With, Content-Type, Authorization".into(),
                ),
            ],
            body: vec![],
        },
    );
    add(
        "GET /_matrix/federation/v1/version",
        Canned::json(&json!({"server": {"name": "FakeServer", "version": "0.1"}})),
    );
    add(
        "GET /_matrix/key/v2/server",
        Canned::json(&signed_keys(domain, valid_until_ms)),
    );
    add(
        "GET /_matrix/client/versions",
        Canned::json(&json!({"versions": ["v1.11", "v1.12"]})),
    );
    routes
}

/// A key response signed as a homeserver signs it: canonical JSON, fresh ed25519 key.
pub fn signed_keys(server: &str, valid_until_ms: i64) -> Value {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    let mut doc = json!({
        "server_name": server,
        "valid_until_ts": valid_until_ms,
        "verify_keys": {"ed25519:fake1": {"key": wellknownd_shared::base64::encode(pair.public_key().as_ref())}},
        "old_verify_keys": {},
    });
    let signature = pair.sign(&wellknownd_probe::keys::canonical(&doc));
    doc["signatures"] = json!({ server: { "ed25519:fake1": wellknownd_shared::base64::encode(signature.as_ref()) } });
    doc
}

/// A TLS server on 127.0.0.1:0 answering from its routes, 404 (no CORS) otherwise.
pub struct FakeServer {
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
}

impl FakeServer {
    pub async fn start(pki: &Pki, names: &[&str], routes: HashMap<String, Canned>) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(server_tls(pki, names));
        let routes = Arc::new(routes);
        let (stop, mut stopped) = watch::channel(false);
        tokio::spawn(async move {
            loop {
                let tcp = tokio::select! {
                    accepted = listener.accept() => match accepted { Ok((tcp, _)) => tcp, Err(_) => continue },
                    _ = stopped.changed() => return,
                };
                let (acceptor, routes) = (acceptor.clone(), routes.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = service_fn(move |req| {
                        let routes = routes.clone();
                        async move { Ok::<_, hyper::Error>(answer(&routes, &req)) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        FakeServer { addr, stop }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

fn answer(routes: &HashMap<String, Canned>, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let key = format!("{} {}", req.method(), req.uri().path());
    let canned = routes.get(&key).cloned().unwrap_or(Canned {
        status: 404,
        headers: vec![],
        body: b"not found".to_vec(),
    });
    let mut response = Response::builder().status(canned.status);
    for (k, v) in &canned.headers {
        response = response.header(*k, v);
    }
    response.body(Full::new(Bytes::from(canned.body))).unwrap()
}
