//! Bytes on the wire, for requests no HTTP client library would send: written as they are,
//! and everything the server sends back until it closes.

use std::net::SocketAddr;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{Pki, client_config, within};

/// Reads until the server closes; what it sent before.
pub async fn until_closed<S: AsyncRead + Unpin>(stream: &mut S) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = within(stream.read_to_end(&mut out)).await;
    out
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(mut s: S, bytes: &[u8]) -> String {
    within(s.write_all(bytes)).await.unwrap();
    String::from_utf8_lossy(&until_closed(&mut s).await).into_owned()
}

/// Writes `bytes` on a plain connection to `addr`; what comes back until it closes.
pub async fn request(addr: SocketAddr, bytes: &[u8]) -> String {
    exchange(within(TcpStream::connect(addr)).await.unwrap(), bytes).await
}

/// The same over TLS (ALPN `http/1.1`, SNI `example.com`).
pub async fn tls_request(pki: &Pki, addr: SocketAddr, bytes: &[u8]) -> String {
    let tcp = within(TcpStream::connect(addr)).await.unwrap();
    let config = client_config(pki, rustls::ALL_VERSIONS, b"http/1.1");
    let name = rustls::pki_types::ServerName::try_from("example.com").unwrap();
    let tls = within(tokio_rustls::TlsConnector::from(config).connect(name, tcp))
        .await
        .unwrap();
    exchange(tls, bytes).await
}
