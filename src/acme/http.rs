//! The ACME client's HTTPS: one short connection per request over tokio-rustls with the one
//! crypto provider, trusting `acme.ca_certificate` or the system's CA bundle. Every request
//! is bounded in time and size, so a CA that hangs or floods stalls one order attempt (which
//! backs off), never the process.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Request, Uri};
use http_body_util::{BodyExt, Limited};
use hyper_util::rt::TokioIo;
use instant_acme::{BodyWrapper, BytesResponse, Error, HttpClient};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Connect, TLS, request and the whole response: a CA that accepts the connection and then
/// says nothing would otherwise hold the order for ever.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// ACME responses are small JSON documents and PEM chains (a few KiB); more is not a CA.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// Where Debian, Fedora/RHEL and Alpine/BSD keep the system's trusted CAs
/// (`SSL_CERT_FILE` first, as OpenSSL does).
const SYSTEM_BUNDLES: [&str; 3] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
];

pub struct Client {
    tls: TlsConnector,
}

impl Client {
    /// Trusting the CAs in `ca_file`, else the system's bundle.
    pub fn new(ca_file: Option<&Path>) -> Result<Client, String> {
        let roots = roots(ca_file)?;
        let mut config = ClientConfig::builder_with_provider(crate::tls::certs::provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Client {
            tls: TlsConnector::from(Arc::new(config)),
        })
    }
}

fn roots(ca_file: Option<&Path>) -> Result<RootCertStore, String> {
    let from_env = std::env::var_os("SSL_CERT_FILE").map(std::path::PathBuf::from);
    let path = match (ca_file, &from_env) {
        (Some(p), _) => p.to_owned(),
        (None, Some(p)) => p.clone(),
        (None, None) => SYSTEM_BUNDLES
            .iter()
            .map(Path::new)
            .find(|p| p.exists())
            .ok_or(
                "no system CA bundle found (install ca-certificates, or set acme.ca_certificate)",
            )?
            .to_owned(),
    };
    let certs = CertificateDer::pem_file_iter(&path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(format!("{}: no CA certificate in it", path.display()));
    }
    Ok(roots)
}

impl HttpClient for Client {
    fn request(
        &self,
        req: Request<BodyWrapper<Bytes>>,
    ) -> Pin<Box<dyn Future<Output = Result<BytesResponse, Error>> + Send>> {
        let tls = self.tls.clone();
        Box::pin(async move {
            match tokio::time::timeout(REQUEST_TIMEOUT, send(tls, req)).await {
                Ok(result) => result,
                Err(_) => Err(other(format!(
                    "no complete answer within {}s",
                    REQUEST_TIMEOUT.as_secs()
                ))),
            }
        })
    }
}

async fn send(tls: TlsConnector, req: Request<BodyWrapper<Bytes>>) -> Result<BytesResponse, Error> {
    let (mut parts, body) = req.into_parts();
    let uri = parts.uri.clone();
    if uri.scheme_str() != Some("https") {
        return Err(other(format!(
            "{uri}: the CA sent a URL that is not https://"
        )));
    }
    let host = uri.host().ok_or_else(|| other(format!("{uri}: no host")))?;
    let port = uri.port_u16().unwrap_or(443);
    let tcp = TcpStream::connect((host.trim_matches(['[', ']']), port))
        .await
        .map_err(|e| other(format!("{host}:{port}: cannot connect: {e}")))?;
    let name = ServerName::try_from(host.trim_matches(['[', ']']).to_owned())
        .map_err(|e| other(format!("{host}: {e}")))?;
    let stream = tls
        .connect(name, tcp)
        .await
        .map_err(|e| other(format!("{host}:{port}: TLS: {e}")))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| other(e.to_string()))?;
    // Ends when the response is read and the sender dropped.
    tokio::spawn(connection);
    let authority = uri.authority().map_or(host, |a| a.as_str());
    let host_value = HeaderValue::try_from(authority).map_err(|e| other(e.to_string()))?;
    parts.headers.insert(header::HOST, host_value);
    parts.uri = uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .parse::<Uri>()
        .map_err(|e| other(e.to_string()))?;
    let response = sender
        .send_request(Request::from_parts(parts, body))
        .await
        .map_err(|e| other(format!("{uri}: {e}")))?;
    let (parts, body) = response.into_parts();
    let body = Limited::new(body, MAX_RESPONSE_BYTES)
        .collect()
        .await
        .map_err(|e| other(format!("{uri}: reading the answer: {e}")))?
        .to_bytes();
    Ok(BytesResponse {
        parts,
        body: Box::new(body),
    })
}

fn other(message: String) -> Error {
    Error::Other(message.into())
}
