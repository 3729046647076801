//! The benchmark issue's reference design: a plain hyper + tokio-rustls server that answers
//! every request with one fixed body and the headers of the nginx snippet (`Content-Type:
//! application/json`, `Access-Control-Allow-Origin: *`). No config, no routing, no timeouts,
//! no limits, no logging: what is left is hyper, rustls and tokio, so its CPU per operation is
//! the floor any server built on them can reach on the machine the benchmark runs on.
//!
//! `baseline TLS_ADDR PLAIN_ADDR CERT KEY [ring|aws-lc-rs]`; runs until killed.
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
        return Err("usage: baseline TLS_ADDR PLAIN_ADDR CERT KEY [ring|aws-lc-rs]".into());
    };
    let (provider, ticketer) = provider(rest.first().map_or("ring", String::as_str))?;
    let tls = tls_config(provider, ticketer, cert, key)?;
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?
        .block_on(async {
            let tls_listener = TcpListener::bind(tls_addr).await?;
            let plain_listener = TcpListener::bind(plain_addr).await?;
            tokio::spawn(accept(plain_listener, None));
            accept(tls_listener, Some(TlsAcceptor::from(Arc::new(tls)))).await
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

async fn accept(listener: TcpListener, tls: Option<TlsAcceptor>) -> Result<(), Error> {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let tls = tls.clone();
        tokio::spawn(async move {
            let builder = Builder::new(TokioExecutor::new());
            let service = hyper::service::service_fn(answer);
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

async fn answer(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut response = Response::new(Full::new(Bytes::from_static(BODY)));
    let headers = response.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    headers.insert(
        hyper::header::ACCESS_CONTROL_ALLOW_ORIGIN,
        hyper::header::HeaderValue::from_static("*"),
    );
    Ok(response)
}
