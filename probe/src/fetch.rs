//! One HTTP/1.1 request to one address, over TLS with the certificate verified, bounded in
//! time and in how much of the body is read.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use rustls::{CertificateError, ClientConfig};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Read at most this much of a body. The largest cap any consumer applies is mautrix's 64 KiB;
/// a server that streams forever must not hold the probe or fill its memory.
pub const BODY_CAP: usize = 64 * 1024;

/// What one request returned.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The body went on past [`BODY_CAP`].
    pub truncated: bool,
}

impl Reply {
    /// Every value of header `name`, as text.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect()
    }

    pub fn one(&self, name: &str) -> Option<String> {
        self.all(name).into_iter().next()
    }
}

/// Who a request is for, whichever address serves it: the name TLS verifies (and sends as
/// SNI) and the `Host` header.
#[derive(Debug, Clone)]
pub struct Site {
    pub tls: bool,
    pub name: String,
    pub host_header: String,
}

/// Why a request got no response, in the operator's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    Resolve(String),
    Connect(SocketAddr, String),
    Tls(String),
    Http(String),
    Timeout(Duration),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Resolve(e) => write!(f, "DNS: {e}"),
            Error::Connect(addr, e) => write!(f, "cannot connect to {addr}: {e}"),
            Error::Tls(e) => write!(f, "TLS: {e}"),
            Error::Http(e) => write!(f, "HTTP: {e}"),
            Error::Timeout(t) => write!(f, "no answer within {} s", t.as_secs_f32()),
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    /// The error for a line that is not the first to meet it: a TLS failure is told in full
    /// once, by the check that met it first, so other lines point at it instead.
    pub fn briefly(&self) -> String {
        match self {
            Error::Tls(_) => "the TLS handshake fails: see the first TLS FAIL above".into(),
            e => e.to_string(),
        }
    }
}

/// The TLS settings and per-request time limit shared by every request of a probe.
#[derive(Clone)]
pub struct Client {
    pub tls: Arc<ClientConfig>,
    pub timeout: Duration,
}

impl Client {
    /// `method path` to `to` at `addr` with `headers`, the whole exchange within the timeout.
    pub async fn request(
        &self,
        addr: SocketAddr,
        to: &Site,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<Reply, Error> {
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header("host", &to.host_header)
            .header(
                "user-agent",
                concat!("wellknownd-probe/", env!("CARGO_PKG_VERSION")),
            );
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let request = builder
            .body(Empty::<Bytes>::new())
            .map_err(|e| Error::Http(e.to_string()))?;
        tokio::time::timeout(self.timeout, self.exchange(addr, to, request))
            .await
            .map_err(|_| Error::Timeout(self.timeout))?
    }

    async fn exchange(
        &self,
        addr: SocketAddr,
        to: &Site,
        request: Request<Empty<Bytes>>,
    ) -> Result<Reply, Error> {
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(|e| Error::Connect(addr, e.to_string()))?;
        if !to.tls {
            return send(tcp, request).await;
        }
        let bare = to.name.trim_start_matches('[').trim_end_matches(']');
        let name = ServerName::try_from(bare.to_owned())
            .map_err(|_| Error::Tls(format!("`{}` is not a valid TLS server name", to.name)))?;
        let tls = TlsConnector::from(self.tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| Error::Tls(tls_message(&e, &to.name)))?;
        send(tls, request).await
    }
}

/// Kills the connection task when the request is done or abandoned.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn send<IO>(io: IO, request: Request<Empty<Bytes>>) -> Result<Reply, Error>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let http = |e: hyper::Error| Error::Http(e.to_string());
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(http)?;
    let _driver = AbortOnDrop(tokio::spawn(async move {
        let _ = conn.await;
    }));
    let response = sender.send_request(request).await.map_err(http)?;
    let (parts, mut body) = response.into_parts();
    let mut buf = BytesMut::new();
    let mut truncated = false;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.map_err(http)?.into_data() {
            let room = BODY_CAP - buf.len();
            if data.len() > room {
                buf.extend_from_slice(&data[..room]);
                truncated = true;
                break;
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(Reply {
        status: parts.status,
        headers: parts.headers,
        body: buf.freeze(),
        truncated,
    })
}

/// The certificate problems an operator can fix, said plainly; anything else as rustls says it.
fn tls_message(e: &std::io::Error, name: &str) -> String {
    use rustls::Error as R;
    let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<R>()) else {
        return e.to_string();
    };
    match inner {
        R::InvalidCertificate(CertificateError::NotValidForNameContext { presented, .. }) => {
            // rustls words each as `DnsName("a.example")` or `IpAddress(...)`.
            let bare = |n: &str| {
                let inner = n.split_once('(').map_or(n, |(_, r)| r.trim_end_matches(')'));
                inner.trim_matches('"').to_owned()
            };
            let names: Vec<String> = presented.iter().map(|n| format!("`{}`", bare(n))).collect();
            format!("the certificate does not cover `{name}`: it covers {}", names.join(", "))
        }
        R::InvalidCertificate(CertificateError::NotValidForName) => {
            format!("the certificate does not cover `{name}`")
        }
        R::InvalidCertificate(CertificateError::ExpiredContext { time, not_after }) => {
            let (now, end) = (time.as_secs() as i64, not_after.as_secs() as i64);
            format!(
                "the certificate expired on {}, {} days ago",
                wellknownd_shared::civil::format_utc(end),
                (now - end).div_euclid(86_400)
            )
        }
        R::InvalidCertificate(CertificateError::Expired) => "the certificate has expired".into(),
        R::InvalidCertificate(CertificateError::UnknownIssuer) => {
            "the certificate is not signed by a trusted CA (self-signed, or the chain lacks its intermediate)".into()
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rustls::pki_types::UnixTime;
    use rustls::{CertificateError, Error};

    #[test]
    fn an_expired_certificate_is_told_in_dates_not_timestamps() {
        let at = |days: u64| UnixTime::since_unix_epoch(Duration::from_secs(days * 86_400));
        let expired = Error::InvalidCertificate(CertificateError::ExpiredContext {
            time: at(20_423),
            not_after: at(20_393),
        });
        let e = std::io::Error::other(expired);
        assert_eq!(
            super::tls_message(&e, "example.com"),
            "the certificate expired on 2025-11-01T00:00:00Z, 30 days ago"
        );
    }
}
