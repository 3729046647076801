//! wellknownd behind the nginx an operator already runs: Debian's nginx, on loopback with a
//! prefix of its own, terminating TLS and passing `/.well-known/matrix/` to the daemon's
//! plain listener with the README's recipe (read from README.md, so the two cannot drift).
//! What a client sees through it: every header once, the preflight, errors with CORS, and the
//! website's other paths left alone.

mod common;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::pebble::free_port;
use common::{Daemon, Pki, Reply, TIMEOUT, TestServer, Via, call, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// The README's nginx block, `location /.well-known/matrix/ { ... }`.
fn recipe() -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme
        .find("location /.well-known/matrix/ {")
        .expect("the recipe in README.md");
    let end = start + readme[start..].find("\n}").expect("its closing brace") + 2;
    readme[start..end].to_owned()
}

struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// nginx on `port` with TLS for example.com, the recipe pointed at `upstream`, and a website
/// answering every other path.
async fn nginx(pki: &Pki, port: u16, upstream: SocketAddr) -> Nginx {
    let (cert, key) = pki.leaf("nginx", &["example.com"]);
    let dir = pki.dir.path().display();
    let location = recipe().replace("127.0.0.1:8080", &upstream.to_string());
    let conf = format!(
        "daemon off;\nworker_processes 1;\npid {dir}/nginx.pid;\nerror_log {dir}/nginx-error.log;\n\
         events {{}}\nhttp {{\n  access_log off;\n  client_body_temp_path {dir}/t-body;\n  proxy_temp_path {dir}/t-proxy;\n\
         fastcgi_temp_path {dir}/t-fcgi;\n  uwsgi_temp_path {dir}/t-uwsgi;\n  scgi_temp_path {dir}/t-scgi;\n\
         server {{\n    listen 127.0.0.1:{port} ssl;\n    server_name example.com;\n\
         ssl_certificate {};\n    ssl_certificate_key {};\n\
         location / {{\n      default_type text/html;\n      return 200 \"website\";\n    }}\n\
         {location}\n  }}\n}}\n",
        cert.display(),
        key.display()
    );
    let path = pki.write("nginx.conf", &conf);
    let child = Command::new("nginx")
        .args([
            "-e",
            &format!("{dir}/nginx-error.log"),
            "-p",
            &dir.to_string(),
            "-c",
        ])
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nginx (apt-get install nginx-light)");
    let nginx = Nginx(child);
    let deadline = Instant::now() + TIMEOUT;
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "nginx did not start: {}",
            std::fs::read_to_string(format!("{dir}/nginx-error.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    nginx
}

/// Each header named exactly once.
fn once(r: &Reply, names: &[&str]) {
    for name in names {
        assert_eq!(
            r.headers.get_all(*name).iter().count(),
            1,
            "{name} in {:?}",
            r.headers
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_nginx_with_the_readme_recipe_clients_see_what_the_daemon_sends() {
    let pki = Pki::new();
    let config = "[listen]\nhttp = [\"127.0.0.1:0\"]\n\
        [[domain]]\nname = \"example.com\"\nserver = \"matrix.example.com:443\"\n\
        [domain.client]\nhomeserver = \"https://matrix.example.com\"\n\
        [[domain]]\nname = \"example.org\"\nserver = \"matrix.example.org:443\"\n";
    let server = TestServer::start(&pki, config).await;
    let port = free_port();
    let _nginx = nginx(&pki, port, server.plain()).await;
    let front: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let cors = [
        "access-control-allow-origin",
        "access-control-allow-methods",
        "access-control-allow-headers",
    ];

    let r = call(
        &pki,
        front,
        Via::H1,
        "GET",
        "example.com",
        "/.well-known/matrix/client",
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.text(),
        r#"{"m.homeserver":{"base_url":"https://matrix.example.com"}}"#
    );
    assert_eq!(r.headers["content-type"], "application/json");
    assert_eq!(r.headers["access-control-allow-origin"], "*");
    assert_eq!(r.headers["cache-control"], "public, max-age=14400");
    assert_eq!(r.headers["x-content-type-options"], "nosniff");
    once(
        &r,
        &["content-type", "cache-control", "x-content-type-options"],
    );
    once(&r, &cors);

    let r = call(
        &pki,
        front,
        Via::H1,
        "GET",
        "example.com",
        "/.well-known/matrix/server",
    )
    .await;
    assert_eq!(
        (r.status, r.text()),
        (200, r#"{"m.server":"matrix.example.com:443"}"#)
    );

    let r = call(
        &pki,
        front,
        Via::H1,
        "OPTIONS",
        "example.com",
        "/.well-known/matrix/client",
    )
    .await;
    assert_eq!(r.status, 204);
    assert_eq!(r.headers["access-control-max-age"], "7200");
    once(&r, &cors);

    let r = call(
        &pki,
        front,
        Via::H1,
        "GET",
        "example.com",
        "/.well-known/matrix/nothing",
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.headers["content-type"], "application/json");
    assert!(r.text().contains("M_UNRECOGNIZED"), "{}", r.text());
    once(&r, &cors);

    let r = call(
        &pki,
        front,
        Via::H1,
        "POST",
        "example.com",
        "/.well-known/matrix/server",
    )
    .await;
    assert_eq!(r.status, 405);
    assert_eq!(r.headers["allow"], "GET, HEAD, OPTIONS");
    once(&r, &cors);

    let r = call(&pki, front, Via::H1, "GET", "example.com", "/about").await;
    assert_eq!(
        (r.status, r.text()),
        (200, "website"),
        "the website's paths stay nginx's"
    );
    assert!(r.headers.get("access-control-allow-origin").is_none());
    server.stop().await;
}

/// A connection to `to` from the loopback address `from` (127.0.0.2 is not 127.0.0.1).
async fn connect_from(from: &str, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    within(socket.connect(to)).await.unwrap()
}

/// Whether `stream` gets an answer to a request for the server document.
async fn answered(mut stream: TcpStream) -> bool {
    let get = b"GET /.well-known/matrix/server HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n";
    if stream.write_all(get).await.is_err() {
        return false;
    }
    let mut answer = Vec::new();
    let _ = within(stream.read_to_end(&mut answer)).await;
    answer.starts_with(b"HTTP/1.1 200 OK")
}

/// `limits.max_connections_per_ip = 1`: a trusted proxy's connections are not capped (each
/// carries clients of its own), an untrusted address gets one.
#[tokio::test]
async fn a_trusted_proxy_is_not_capped_per_address_and_anyone_else_is() {
    let pki = Pki::new();
    let config = "[listen]\nhttp = [\"127.0.0.1:0\"]\ntrusted_proxies = [\"127.0.0.1\"]\n\
        [limits]\nmax_connections_per_ip = 1\n\
        [[domain]]\nname = \"example.com\"\nserver = \"matrix.example.com:443\"\n";
    let server = TestServer::start(&pki, config).await;
    let mut proxy = Vec::new();
    for _ in 0..3 {
        proxy.push(connect_from("127.0.0.1", server.plain()).await);
    }
    let (first, second) = (
        connect_from("127.0.0.2", server.plain()).await,
        connect_from("127.0.0.2", server.plain()).await,
    );
    for stream in proxy {
        assert!(
            answered(stream).await,
            "a connection from the trusted proxy was refused"
        );
    }
    assert!(answered(first).await);
    assert!(
        !answered(second).await,
        "a second connection from 127.0.0.2 was let in"
    );
    server.stop().await;
}

/// The access log names the client nginx forwarded for, not nginx, and not what the client
/// itself wrote into X-Forwarded-For.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_access_log_names_the_client_behind_the_trusted_proxy() {
    let pki = Pki::new();
    let config = pki.write(
        "config.toml",
        "[listen]\nhttp = [\"127.0.0.1:0\"]\ntrusted_proxies = [\"127.0.0.1\"]\n[log]\naccess = true\n\
         [[domain]]\nname = \"example.com\"\nserver = \"matrix.example.com:443\"\n",
    );
    let bin = env!("CARGO_BIN_EXE_wellknownd");
    let mut daemon = Daemon::start(Command::new(bin).arg("--config").arg(&config));
    let upstream = common::address(&daemon.line("listening on http://"));
    let port = free_port();
    let _nginx = nginx(&pki, port, upstream).await;
    let tcp = connect_from("127.0.0.2", format!("127.0.0.1:{port}").parse().unwrap()).await;
    let tls_config = common::client_config(&pki, rustls::ALL_VERSIONS, b"http/1.1");
    let name = rustls::pki_types::ServerName::try_from("example.com").unwrap();
    let mut tls = within(tokio_rustls::TlsConnector::from(tls_config).connect(name, tcp))
        .await
        .unwrap();
    let get = "GET /.well-known/matrix/server HTTP/1.1\r\nHost: example.com\r\nX-Forwarded-For: 203.0.113.7\r\nConnection: close\r\n\r\n";
    within(tls.write_all(get.as_bytes())).await.unwrap();
    let answer = String::from_utf8_lossy(&common::raw::until_closed(&mut tls).await).into_owned();
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    let line = daemon.line("access ");
    assert!(
        line.contains(" access 127.0.0.2 example.com \"GET /.well-known/matrix/server\" 200 "),
        "{line}"
    );
}
