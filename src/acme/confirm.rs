//! Before the CA is told to validate, the client checks through the daemon's own listener
//! that the challenge is answered: a CA's failed validation counts against its rate limits
//! (Let's Encrypt: 5 failures per name per hour), while a failed local check costs nothing.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::challenges::ACME_TLS_ALPN;
use crate::config::{Config, ListenAddr};

/// The server picks new challenge files up within a second (its poll); this leaves room for
/// a loaded machine before the attempt is given up (and retried with back-off).
const CONFIRM_FOR: Duration = Duration::from_secs(15);
const CONFIRM_EVERY: Duration = Duration::from_millis(250);
/// One local check: connect, handshake or request, answer.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);
/// A key authorization answer is well under 1 KiB with its headers.
const MAX_ANSWER_BYTES: usize = 16 * 1024;

/// Where the daemon's listeners are reached from this machine.
#[derive(Debug, Clone, Copy)]
pub struct Listeners {
    pub https: SocketAddr,
    pub http: Option<SocketAddr>,
}

impl Listeners {
    /// From the config: its first https and redirect listeners, a wildcard address as
    /// loopback; port 443 on loopback when the sockets come from systemd.
    pub fn from_config(config: &Config) -> Listeners {
        let local = |l: &ListenAddr| Listeners::local(l.address);
        let https = config.listen.https.first().map(local);
        Listeners {
            https: https.unwrap_or(SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 443)),
            http: config.listen.redirect_http.first().map(local),
        }
    }
}

impl Listeners {
    /// `addr` as reached from this machine: a wildcard address is loopback.
    pub fn local(addr: SocketAddr) -> SocketAddr {
        SocketAddr::new(loopback(addr.ip()), addr.port())
    }
}

fn loopback(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) if v4.is_unspecified() => Ipv4Addr::LOCALHOST.into(),
        IpAddr::V6(v6) if v6.is_unspecified() => Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    }
}

/// Waits until the listener at `addr` serves `expected` as the `acme-tls/1` certificate for
/// `name`.
pub async fn alpn(
    addr: SocketAddr,
    name: &str,
    expected: &CertificateDer<'_>,
) -> Result<(), String> {
    let connector = TlsConnector::from(alpn_client()?);
    let name = ServerName::try_from(name.to_owned()).map_err(|e| e.to_string())?;
    retry(addr, || async {
        let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let tls = connector
            .connect(name.clone(), tcp)
            .await
            .map_err(|e| e.to_string())?;
        match tls.get_ref().1.peer_certificates().and_then(|c| c.first()) {
            Some(leaf) if leaf == expected => Ok(()),
            _ => Err("another certificate is served".to_owned()),
        }
    })
    .await
}

/// Waits until the listener at `addr` answers the token URL with `key_authorization`.
pub async fn http(
    addr: SocketAddr,
    name: &str,
    token: &str,
    key_authorization: &str,
) -> Result<(), String> {
    let request = format!(
        "GET /.well-known/acme-challenge/{token} HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n"
    );
    retry(addr, || async {
        let mut tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        tcp.write_all(request.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut answer = Vec::new();
        let mut limited = (&mut tcp).take(MAX_ANSWER_BYTES as u64);
        limited
            .read_to_end(&mut answer)
            .await
            .map_err(|e| e.to_string())?;
        let answer = String::from_utf8_lossy(&answer);
        match answer.starts_with("HTTP/1.1 200 ") && answer.ends_with(key_authorization) {
            true => Ok(()),
            false => Err(answer.lines().next().unwrap_or("no answer").to_owned()),
        }
    })
    .await
}

async fn retry<F, Fut>(addr: SocketAddr, check: F) -> Result<(), String>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let deadline = tokio::time::Instant::now() + CONFIRM_FOR;
    loop {
        let last = match tokio::time::timeout(CHECK_TIMEOUT, check()).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) => e,
            Err(_) => format!("no answer within {}s", CHECK_TIMEOUT.as_secs()),
        };
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "the challenge is not answered through {addr} ({last}): is wellknownd running and listening there?"
            ));
        }
        tokio::time::sleep(CONFIRM_EVERY).await;
    }
}

fn alpn_client() -> Result<Arc<ClientConfig>, String> {
    let provider = crate::tls::certs::provider();
    let verifier = Arc::new(AnyCertificate(provider.clone()));
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![ACME_TLS_ALPN.to_vec()];
    Ok(Arc::new(config))
}

/// The challenge certificate is self-signed, and its critical acmeIdentifier extension makes
/// webpki refuse to parse it at all, so neither it nor the handshake signature made with it
/// can be verified: it is compared byte for byte after the handshake instead. This is a
/// self-check of our own listener; the CA validates for real.
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
