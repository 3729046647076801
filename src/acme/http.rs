//! The ACME client's HTTPS: one short connection per request over tokio-rustls with the one
//! crypto provider, trusting `acme.ca_certificate` or the system's CA bundle
//! ([`crate::tls::roots`]). Every request
//! is bounded in time and size, so a CA that hangs or floods stalls one order attempt (which
//! backs off), never the process.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Request, Uri};
use http_body_util::{BodyExt, Limited};
use hyper_util::rt::TokioIo;
use instant_acme::{BodyWrapper, BytesResponse, Error, HttpClient};
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Connect, TLS, request and the whole response: a CA that accepts the connection and then
/// says nothing would otherwise hold the order for ever.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// ACME responses are small JSON documents and PEM chains (a few KiB); more is not a CA.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

pub struct Client {
    tls: TlsConnector,
}

impl Client {
    /// Trusting the CAs in `ca_file`, else the system's bundle.
    pub fn new(ca_file: Option<&Path>) -> Result<Client, String> {
        let config = crate::tls::roots::client_config(ca_file)?;
        Ok(Client {
            tls: TlsConnector::from(config),
        })
    }
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
