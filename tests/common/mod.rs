//! Test harness: a private CA minted per test, the daemon's own `serve` on 127.0.0.1:0, and
//! a real HTTP client (hyper over tokio-rustls) for HTTP/1.1, HTTP/2 and plain HTTP.
//! Every await is bounded by [`within`]; servers stop through their shutdown channel.
#![allow(dead_code)]

pub mod acme;
pub mod dns;
pub mod front;
pub mod pebble;
pub mod raw;
mod rsa_only;

/// The build's crypto provider with its own defaults, for the tests' clients and servers.
pub use wellknownd_shared::default_provider as provider;

pub use rsa_only::client as rsa_only_client;

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, mpsc};
use std::time::Duration;
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, Request, Version};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use wellknownd::build::Built;
use wellknownd::metrics::Metrics;
use wellknownd::server::{self, Current, Shared, Shutdown};
use wellknownd::tls::Certs;

/// Bound on every await in the tests: far above anything loopback needs, short enough that a
/// hang fails the test instead of the CI run.
pub const TIMEOUT: Duration = Duration::from_secs(10);

pub async fn within<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(TIMEOUT, f).await.expect("timed out")
}

/// The headers every response carries.
pub const COMMON: [(&str, &str); 4] = [
    ("access-control-allow-origin", "*"),
    ("access-control-allow-methods", "GET, HEAD, OPTIONS"),
    (
        "access-control-allow-headers",
        "X-Requested-With, Content-Type, Authorization",
    ),
    ("x-content-type-options", "nosniff"),
];

/// A throw-away CA and a directory for the files the daemon reads.
pub struct Pki {
    pub dir: tempfile::TempDir,
    issuer: Issuer<'static, KeyPair>,
    pub ca: CertificateDer<'static>,
    /// The CA certificate as PEM, for `--ca`.
    pub ca_pem: String,
}

impl Pki {
    pub fn new() -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "wellknownd test CA");
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Pki {
            dir: tempfile::tempdir().unwrap(),
            ca: cert.der().clone(),
            ca_pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    pub fn write(&self, file: &str, contents: &str) -> PathBuf {
        let p = self.path(file);
        std::fs::write(&p, contents).unwrap();
        p
    }

    /// `<stem>.crt` and `<stem>.key` (PKCS#8), an ECDSA P-256 leaf for `names`.
    pub fn leaf(&self, stem: &str, names: &[&str]) -> (PathBuf, PathBuf) {
        let params =
            CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap();
        self.leaf_with(stem, params, KeyPair::generate().unwrap())
    }

    /// `<stem>.crt` and `<stem>.key`, an RSA-2048 leaf for `names` (the key from `openssl`:
    /// *ring*, which rcgen signs with here, cannot generate RSA keys).
    pub fn rsa_leaf(&self, stem: &str, names: &[&str]) -> (PathBuf, PathBuf) {
        let generated = self.path(&format!("{stem}.generated.key"));
        let status = Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
            ])
            .arg(&generated)
            .stderr(Stdio::null())
            .status()
            .expect("openssl must be installed (.ci/run installs it)");
        assert!(status.success());
        let key = KeyPair::from_pem(&std::fs::read_to_string(&generated).unwrap()).unwrap();
        let names = names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        self.leaf_with(stem, CertificateParams::new(names).unwrap(), key)
    }

    pub fn leaf_with(
        &self,
        stem: &str,
        params: CertificateParams,
        key: KeyPair,
    ) -> (PathBuf, PathBuf) {
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let c = self.write(&format!("{stem}.crt"), &cert.pem());
        let k = self.write(&format!("{stem}.key"), &key.serialize_pem());
        (c, k)
    }
}

/// A rustls server config with a fresh leaf for `names`, for test-only servers.
pub fn server_tls(pki: &Pki, names: &[&str]) -> Arc<rustls::ServerConfig> {
    let params =
        CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &pki.issuer).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap();
    let provider = Arc::new(provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key)
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// The daemon's `serve` on every listener of a config, stopped through its channel.
pub struct TestServer {
    pub https: Vec<SocketAddr>,
    pub http: Vec<SocketAddr>,
    /// What a reload would swap: the generation serving and the certificates.
    pub current: Current,
    pub certs: Certs,
    pub metrics: Arc<Metrics>,
    /// The ACME challenges the listeners answer.
    pub challenges: wellknownd::challenges::Pending,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl TestServer {
    /// Writes `config` to `config.toml` in the PKI directory, loads it as the daemon does and
    /// serves it. Listen addresses should use port 0.
    pub async fn start(pki: &Pki, config: &str) -> TestServer {
        let built = load(pki, config);
        let listeners = wellknownd::run::bind(&built.config).unwrap();
        TestServer::start_on(built, listeners)
    }

    /// Serves `built` on listeners the test bound itself.
    pub fn start_on(built: Built, listeners: Vec<server::Listener>) -> TestServer {
        let (current, certs) = (built.generation().current(), built.certs.shared());
        let metrics = Arc::<Metrics>::default();
        let shared = Shared::new(current.clone(), certs.clone(), metrics.clone()).unwrap();
        let (stop, shutdown) = Shutdown::channel();
        let (mut https, mut http, mut tasks) = (vec![], vec![], vec![]);
        for l in listeners {
            let addr = l.tcp.local_addr().unwrap();
            match l.proto {
                server::Proto::Https => https.push(addr),
                server::Proto::Http | server::Proto::Redirect => http.push(addr),
            }
            tasks.push(tokio::spawn(server::serve(
                l,
                shared.clone(),
                shutdown.clone(),
            )));
        }
        TestServer {
            https,
            http,
            current,
            certs,
            metrics,
            challenges: shared.challenges.clone(),
            stop,
            tasks,
        }
    }

    pub fn tls(&self) -> SocketAddr {
        self.https[0]
    }

    pub fn plain(&self) -> SocketAddr {
        self.http[0]
    }

    /// Signals shutdown and waits for every listener to drain.
    pub async fn stop(self) {
        self.stop.send(true).unwrap();
        for t in self.tasks {
            within(t).await.unwrap();
        }
    }
}

/// Writes `config` to `config.toml` in the PKI directory and loads it as the daemon does.
pub fn load(pki: &Pki, config: &str) -> Built {
    let path = pki.write("config.toml", config);
    let loaded = wellknownd::config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    Built::new(loaded.config).unwrap_or_else(|e| panic!("{e}"))
}

/// How the client talks to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    H1,
    H2,
    Plain,
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub version: Version,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// The leaf certificate the server presented (TLS only).
    pub peer: Option<CertificateDer<'static>>,
}

impl Reply {
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }

    /// Asserts the exact set of headers: each expected one present exactly once with that
    /// value, nothing else but one `date`.
    pub fn assert_headers(&self, expected: &[(&str, &str)]) {
        let mut want: Vec<(String, String)> = expected
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        want.sort();
        let mut got: Vec<(String, String)> = self
            .headers
            .iter()
            .filter(|(k, _)| k.as_str() != "date")
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
            .collect();
        got.sort();
        assert_eq!(got, want, "headers of a {} response", self.status);
        assert_eq!(
            self.headers.get_all("date").iter().count(),
            1,
            "one date header"
        );
    }
}

/// A request for `path` on `host`, with extra headers.
pub fn request(
    method: &str,
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Request<Empty<Bytes>> {
    let mut b = Request::builder()
        .method(method)
        .uri(format!("https://{host}{path}"));
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(Empty::new()).unwrap()
}

/// Sends one request on a fresh connection. `sni` is the TLS server name (a DNS name, or an
/// IP address, for which rustls sends no SNI).
pub async fn send(
    pki: &Pki,
    addr: SocketAddr,
    via: Via,
    sni: &str,
    req: Request<Empty<Bytes>>,
) -> Reply {
    let tcp = within(TcpStream::connect(addr)).await.unwrap();
    if via == Via::Plain {
        return exchange(TokioIo::new(tcp), via, None, req).await;
    }
    let alpn: &[u8] = if via == Via::H2 { b"h2" } else { b"http/1.1" };
    let config = client_config(pki, rustls::ALL_VERSIONS, alpn);
    let name = ServerName::try_from(sni.to_string()).unwrap();
    let tls = within(tokio_rustls::TlsConnector::from(config).connect(name, tcp))
        .await
        .unwrap();
    let peer = tls.get_ref().1.peer_certificates().map(|c| c[0].clone());
    exchange(TokioIo::new(tls), via, peer, req).await
}

/// A client trusting only the test CA, offering `versions` and one ALPN protocol.
pub fn client_config(
    pki: &Pki,
    versions: &[&'static rustls::SupportedProtocolVersion],
    alpn: &[u8],
) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca.clone()).unwrap();
    let provider = Arc::new(provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![alpn.to_vec()];
    Arc::new(config)
}

pub async fn exchange<IO>(
    io: IO,
    via: Via,
    peer: Option<CertificateDer<'static>>,
    mut req: Request<Empty<Bytes>>,
) -> Reply
where
    IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let res = if via == Via::H2 {
        let (mut sender, conn) = within(hyper::client::conn::http2::handshake(
            TokioExecutor::new(),
            io,
        ))
        .await
        .unwrap();
        tokio::spawn(conn);
        within(sender.send_request(req)).await.unwrap()
    } else {
        if !req.headers().contains_key("host") {
            let host = req
                .uri()
                .authority()
                .map(|a| a.to_string())
                .unwrap_or_default();
            req.headers_mut().insert("host", host.parse().unwrap());
        }
        if req.uri().authority().is_some() {
            *req.uri_mut() = req
                .uri()
                .path_and_query()
                .unwrap()
                .as_str()
                .parse()
                .unwrap();
        }
        let (mut sender, conn) = within(hyper::client::conn::http1::handshake(io))
            .await
            .unwrap();
        tokio::spawn(conn);
        within(sender.send_request(req)).await.unwrap()
    };
    let (parts, body) = res.into_parts();
    let body = within(body.collect()).await.unwrap().to_bytes().to_vec();
    Reply {
        status: parts.status.as_u16(),
        version: parts.version,
        headers: parts.headers,
        body,
        peer,
    }
}

/// GET/HEAD/... `path` with `Host: host`, SNI `host`.
pub async fn call(
    pki: &Pki,
    addr: SocketAddr,
    via: Via,
    method: &str,
    host: &str,
    path: &str,
) -> Reply {
    send(pki, addr, via, host, request(method, host, path, &[])).await
}

/// GET `/.well-known/matrix/server` for `host`: status and body.
pub async fn server_document(pki: &Pki, addr: SocketAddr, via: Via, host: &str) -> (u16, String) {
    let r = call(pki, addr, via, "GET", host, "/.well-known/matrix/server").await;
    (r.status, r.text().to_owned())
}

/// The daemon's stderr, line by line, from a reader thread.
pub struct Daemon {
    pub child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    /// Lines read by [`Daemon::line_keeping`] past which [`Daemon::line`] still looks.
    kept: std::collections::VecDeque<String>,
}

impl Daemon {
    /// Spawns `command` (the binary with its arguments and environment) with stderr piped.
    pub fn start(command: &mut Command) -> Daemon {
        let mut child = command.stderr(Stdio::piped()).spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        Daemon::reading(child, stderr)
    }

    /// Follows `child` whose stderr the test set up itself and reads from `stderr`.
    pub fn reading(child: Child, stderr: impl std::io::Read + Send + 'static) -> Daemon {
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Daemon {
            child,
            lines,
            seen: Vec::new(),
            kept: Default::default(),
        }
    }

    /// Waits for a log line containing `needle` and returns it.
    pub fn line(&mut self, needle: &str) -> String {
        self.line_within(needle, TIMEOUT)
    }

    /// [`Daemon::line`], waiting up to `timeout`.
    pub fn line_within(&mut self, needle: &str, timeout: Duration) -> String {
        while let Some(line) = self.kept.pop_front() {
            if line.contains(needle) {
                return line;
            }
        }
        let deadline = Instant::now() + timeout;
        loop {
            let line = self.next(deadline, needle);
            if line.contains(needle) {
                return line;
            }
        }
    }

    /// The next line before `deadline`; a test failure naming `needle` and every line so far
    /// if none comes.
    fn next(&mut self, deadline: Instant, needle: &str) -> String {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = self
            .lines
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no `{needle}` in {:#?}", self.seen));
        self.seen.push(line.clone());
        line
    }

    /// Waits for a line containing `needle` like [`Daemon::line`], but the lines before it
    /// stay for the next `line` to find: for a start-up line that others may precede.
    pub fn line_keeping(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let line = self.next(deadline, needle);
            if line.contains(needle) {
                return line;
            }
            self.kept.push_back(line);
        }
    }

    /// Every line read so far, and any still buffered.
    pub fn seen_lines(&mut self) -> Vec<String> {
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
        self.seen.clone()
    }

    /// Polls for the exit status, bounded.
    pub fn wait(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "daemon did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The socket address in a `listening on https://ADDR ...` log line.
pub fn address(line: &str) -> std::net::SocketAddr {
    let after = line
        .split("://")
        .nth(1)
        .unwrap_or_else(|| panic!("no address in {line}"));
    let end = after.find([' ', '/']).unwrap_or(after.len());
    after[..end]
        .parse()
        .unwrap_or_else(|_| panic!("no address in {line}"))
}

/// An HTTP/2 connection kept open for many requests (a keep-alive client).
pub async fn h2_session(
    pki: &Pki,
    addr: SocketAddr,
    sni: &str,
) -> hyper::client::conn::http2::SendRequest<Empty<Bytes>> {
    let tcp = within(TcpStream::connect(addr)).await.unwrap();
    let config = client_config(pki, rustls::ALL_VERSIONS, b"h2");
    let name = ServerName::try_from(sni.to_string()).unwrap();
    let tls = within(tokio_rustls::TlsConnector::from(config).connect(name, tcp))
        .await
        .unwrap();
    let (sender, conn) = within(hyper::client::conn::http2::handshake(
        TokioExecutor::new(),
        TokioIo::new(tls),
    ))
    .await
    .unwrap();
    tokio::spawn(conn);
    sender
}

/// One request on a kept-open HTTP/2 connection: status and body.
pub async fn session_get(
    session: &mut hyper::client::conn::http2::SendRequest<Empty<Bytes>>,
    host: &str,
    path: &str,
) -> (u16, String) {
    within(session.ready()).await.unwrap();
    let res = within(session.send_request(request("GET", host, path, &[])))
        .await
        .unwrap();
    let status = res.status().as_u16();
    let body = within(res.into_body().collect()).await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

/// Sends `signal` (e.g. "HUP") to `pid` with kill(1).
pub fn kill(signal: &str, pid: u32) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success());
}
