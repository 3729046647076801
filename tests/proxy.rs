//! wellknownd behind the proxy an operator already runs: nginx, Caddy, Apache and HAProxy
//! (Debian's packages) with the README's recipes in front of the daemon's plain listener
//! ([`common::front`]); and `listen.trusted_proxies`, which names the client behind them in
//! the access log and spares them the per-address cap.

mod common;

use std::net::SocketAddr;
use std::process::Command;

use common::front::{self, Front};
use common::{Daemon, Pki, TestServer, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

async fn through(proxy: &str) {
    let pki = Pki::new();
    let server = TestServer::start(&pki, front::CONFIG).await;
    let front = Front::start(proxy, &pki, server.plain()).await;
    front::assert_through(&pki, front.addr).await;
    drop(front);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_nginx_with_the_readme_recipe_clients_see_what_the_daemon_sends() {
    through("nginx").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_caddy_with_the_readme_recipe_clients_see_what_the_daemon_sends() {
    through("caddy").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_apache_with_the_readme_recipe_clients_see_what_the_daemon_sends() {
    through("apache").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_haproxy_with_the_readme_recipe_clients_see_what_the_daemon_sends() {
    through("haproxy").await;
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
    let nginx = Front::start("nginx", &pki, upstream).await;
    let tcp = connect_from("127.0.0.2", nginx.addr).await;
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
