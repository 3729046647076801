//! The benchmark issue's reference design: a plain hyper + tokio-rustls server that answers
//! every request with one fixed body and a header map prepared at start and cloned per
//! request. No config, no routing, no timeouts, no limits, no logging: what is left is hyper,
//! rustls and tokio, so its CPU per operation is the floor any server built on them can reach
//! on the machine the benchmark runs on.
//!
//! `baseline TLS_ADDR PLAIN_ADDR CERT KEY [ring|aws-lc-rs] [nginx|wellknownd]`; runs until
//! killed. The header set is the nginx snippet's (`Content-Type`, `Access-Control-Allow-Origin`;
//! the default) or the one wellknownd sends with this document (the full CORS set, `nosniff`,
//! `Cache-Control`): with the latter, what differs from wellknownd is only wellknownd's own
//! work (routing, timeouts, parking, counting).
//!
//! rustls is configured as its defaults give, plus what resumption needs and wellknownd also
//! has: ALPN h2 and http/1.1, a stateful session cache (the default 256 entries) for TLS 1.2
//! session IDs and the provider's ticketer for tickets. The runtime is current-thread, like
//! wellknownd's on one CPU.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::ProducesTickets;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

const BODY: &[u8] = br#"{"m.server":"matrix.example.com:443"}"#;

type Error = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    let [_, tls_addr, plain_addr, cert, key, rest @ ..] = args.as_slice() else {
        return Err(
            "usage: baseline TLS_ADDR PLAIN_ADDR CERT KEY [ring|aws-lc-rs] [nginx|wellknownd]"
                .into(),
        );
    };
    let (provider, ticketer) = provider(rest.first().map_or("ring", String::as_str))?;
    let headers = Arc::new(headers(rest.get(1).map_or("nginx", String::as_str))?);
    let tls = tls_config(provider, ticketer, cert, key)?;
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?
        .block_on(async {
            let tls_listener = TcpListener::bind(tls_addr).await?;
            let plain_listener = TcpListener::bind(plain_addr).await?;
            tokio::spawn(accept(plain_listener, None, headers.clone()));
            let tls = Some(TlsAcceptor::from(Arc::new(tls)));
            accept(tls_listener, tls, headers).await
        })
}

type Tickets = Arc<dyn ProducesTickets>;

fn provider(name: &str) -> Result<(Arc<CryptoProvider>, Tickets), Error> {
    match name {
        "ring" => Ok((
            Arc::new(rustls::crypto::ring::default_provider()),
            rustls::crypto::ring::Ticketer::new()?,
        )),
        #[cfg(feature = "aws-lc")]
        "aws-lc-rs" => Ok((
            Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
            rustls::crypto::aws_lc_rs::Ticketer::new()?,
        )),
        other => Err(format!("provider {other}: not built in").into()),
    }
}

fn tls_config(
    provider: Arc<CryptoProvider>,
    ticketer: Tickets,
    cert: &str,
    key: &str,
) -> Result<ServerConfig, Error> {
    let certs = CertificateDer::pem_file_iter(cert)?.collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_file(key)?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    config.ticketer = ticketer;
    Ok(config)
}

async fn accept(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    headers: Arc<HeaderMap>,
) -> Result<(), Error> {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let tls = tls.clone();
        let headers = headers.clone();
        tokio::spawn(async move {
            let builder = Builder::new(TokioExecutor::new());
            let service = hyper::service::service_fn(move |_: Request<Incoming>| {
                let mut response = Response::new(Full::new(Bytes::from_static(BODY)));
                *response.headers_mut() = HeaderMap::clone(&headers);
                std::future::ready(Ok::<_, Infallible>(response))
            });
            let _ = match tls {
                Some(tls) => match tls.accept(tcp).await {
                    Ok(stream) => {
                        builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await
                    }
                    Err(_) => return,
                },
                None => builder.serve_connection(TokioIo::new(tcp), service).await,
            };
        });
    }
}

fn headers(set: &str) -> Result<HeaderMap, Error> {
    let mut h = HeaderMap::with_capacity(8);
    let mut add = |name, value| h.insert(name, HeaderValue::from_static(value));
    add(header::CONTENT_TYPE, "application/json");
    add(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*");
    match set {
        "nginx" => {}
        "wellknownd" => {
            add(header::ACCESS_CONTROL_ALLOW_METHODS, "GET, HEAD, OPTIONS");
            let allowed = "X-Requested-With, Content-Type, Authorization";
            add(header::ACCESS_CONTROL_ALLOW_HEADERS, allowed);
            add(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
            add(header::CACHE_CONTROL, "public, max-age=14400");
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(BODY.len()));
        }
        other => return Err(format!("header set {other}: nginx or wellknownd").into()),
    }
    Ok(h)
}
