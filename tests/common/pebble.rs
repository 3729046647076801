//! Debian's `pebble`, a test ACME CA, on loopback for one test: its HTTPS with a certificate
//! from the test's CA, names resolved by a DNS server of ours (every name: 127.0.0.1), and
//! its validation ports pointed at the daemon's listeners. Killed when dropped.

use std::net::SocketAddr;
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;

use super::dns::{DnsServer, Zone};
use super::{Pki, TIMEOUT, raw, within};

pub struct Pebble {
    child: Option<Child>,
    command: Vec<String>,
    env: Vec<(String, String)>,
    pub listen: SocketAddr,
    pub management: SocketAddr,
    _dns: DnsServer,
}

/// A port the OS just handed out and that is free again: pebble and the daemon need theirs
/// before either starts (pebble is told the daemon's), so they cannot bind port 0.
/// Never the same port twice in one test binary (the OS may hand a released port out again).
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap();
    loop {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

impl Pebble {
    /// A pebble validating HTTP-01 on `http_port` and TLS-ALPN-01 on `tls_port`, issuing
    /// certificates valid for `validity_secs`, with `env` on top of PEBBLE_VA_NOSLEEP=1 and
    /// PEBBLE_WFE_NONCEREJECT=0.
    pub async fn start(
        pki: &Pki,
        names: &[&str],
        http_port: u16,
        tls_port: u16,
        validity_secs: u64,
        env: &[(&str, &str)],
    ) -> Pebble {
        let mut zone = Zone::default();
        for n in names {
            zone.ips
                .insert(n.to_string(), vec!["127.0.0.1".parse().unwrap()]);
        }
        let dns = DnsServer::start(zone).await;
        let (cert, key) = pki.leaf("pebble", &["127.0.0.1", "example.com"]);
        let listen: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let management: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let config = serde_json::json!({ "pebble": {
            "listenAddress": listen.to_string(),
            "managementListenAddress": management.to_string(),
            "certificate": cert, "privateKey": key,
            "httpPort": http_port, "tlsPort": tls_port,
            "ocspResponderURL": "", "externalAccountBindingRequired": false,
            "certificateValidityPeriod": validity_secs,
        }});
        let path = pki.write("pebble.json", &config.to_string());
        let mut all_env = vec![
            ("PEBBLE_VA_NOSLEEP".to_string(), "1".to_string()),
            ("PEBBLE_WFE_NONCEREJECT".to_string(), "0".to_string()),
        ];
        all_env.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let command = vec![
            "pebble".to_string(),
            "-config".to_string(),
            path.display().to_string(),
            "-dnsserver".to_string(),
            dns.addr.to_string(),
        ];
        let mut pebble = Pebble {
            child: None,
            command,
            env: all_env,
            listen,
            management,
            _dns: dns,
        };
        pebble.restart().await;
        pebble
    }

    /// The ACME directory URL.
    pub fn directory(&self) -> String {
        format!("https://{}/dir", self.listen)
    }

    /// Starts pebble (again), waiting until it accepts connections.
    pub async fn restart(&mut self) {
        self.stop();
        let child = Command::new(&self.command[0])
            .args(&self.command[1..])
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("pebble (apt-get install pebble)");
        self.child = Some(child);
        let deadline = Instant::now() + TIMEOUT;
        while TcpStream::connect(self.management).await.is_err()
            || TcpStream::connect(self.listen).await.is_err()
        {
            assert!(Instant::now() < deadline, "pebble did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The root that pebble's certificates chain to (new on every pebble start).
    pub async fn root(&self, pki: &Pki) -> CertificateDer<'static> {
        let get = b"GET /roots/0 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
        let answer = raw::tls_request(pki, self.management, get).await;
        let (_, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
        CertificateDer::from_pem_slice(body.as_bytes()).expect("a PEM root")
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        self.stop();
    }
}

/// GET `path` from `host` at `addr` over TLS, trusting only `root`: status, body and the leaf
/// served; `Err` when the handshake fails (no certificate yet, or not one `root` issued).
pub async fn get(
    root: &CertificateDer<'static>,
    addr: SocketAddr,
    host: &str,
    path: &str,
) -> Result<(u16, String, CertificateDer<'static>), String> {
    get_as(root, addr, host, path, false).await
}

/// [`get`], as a client that verifies only RSA signatures when `rsa_only`.
pub async fn get_as(
    root: &CertificateDer<'static>,
    addr: SocketAddr,
    host: &str,
    path: &str,
    rsa_only: bool,
) -> Result<(u16, String, CertificateDer<'static>), String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(root.clone()).unwrap();
    let provider = Arc::new(super::provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap();
    let mut config = super::rsa_only_client(builder, roots, provider, rsa_only);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let tcp = within(TcpStream::connect(addr))
        .await
        .map_err(|e| e.to_string())?;
    let name = ServerName::try_from(host.to_string()).unwrap();
    let tls = within(tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp))
        .await
        .map_err(|e| e.to_string())?;
    let leaf = tls.get_ref().1.peer_certificates().unwrap()[0].clone();
    let (mut sender, conn) = within(hyper::client::conn::http1::handshake(TokioIo::new(tls)))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let req = http::Request::get(path)
        .header("host", host)
        .body(Empty::<Bytes>::new())
        .unwrap();
    let res = within(sender.send_request(req))
        .await
        .map_err(|e| e.to_string())?;
    let status = res.status().as_u16();
    let body = within(res.into_body().collect())
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned(), leaf))
}

/// Polls [`get`] until it succeeds, for at most `TIMEOUT * 3` (an order takes a few seconds).
pub async fn until_served(
    root: &CertificateDer<'static>,
    addr: SocketAddr,
    host: &str,
    path: &str,
) -> (u16, String, CertificateDer<'static>) {
    until_served_as(root, addr, host, path, false).await
}

/// [`until_served`], as a client that verifies only RSA signatures when `rsa_only`.
pub async fn until_served_as(
    root: &CertificateDer<'static>,
    addr: SocketAddr,
    host: &str,
    path: &str,
    rsa_only: bool,
) -> (u16, String, CertificateDer<'static>) {
    let deadline = Instant::now() + TIMEOUT * 3;
    loop {
        match get_as(root, addr, host, path, rsa_only).await {
            Ok(r) => return r,
            Err(e) => assert!(
                Instant::now() < deadline,
                "{host} never served with pebble's certificate: {e}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
