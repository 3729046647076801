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
use common::{Pki, Reply, TIMEOUT, TestServer, Via, call};

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
