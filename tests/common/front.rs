//! Reverse proxies in front of the daemon, as operators run them: Debian's nginx, Caddy,
//! Apache and HAProxy, each on loopback with a directory of its own, terminating TLS for
//! example.com and configured with the README's recipe (read from README.md, so the two
//! cannot drift), every other path answered "website". Killed when dropped.

use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::pebble::free_port;
use super::{Pki, Reply, TIMEOUT, Via, call};

pub struct Front {
    child: Child,
    pub addr: SocketAddr,
}

impl Drop for Front {
    /// Kills the proxy's whole process group: nginx's and Apache's workers outlive a killed
    /// master, and left behind they hold threads of `nobody` until RLIMIT_NPROC refuses
    /// that user a process (as the container test, whose daemon runs as nobody, found).
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.wait();
    }
}

/// The README's recipe for `proxy`: its first ```` ```proxy ```` block that passes to
/// wellknownd's plain listener (`127.0.0.1:8080`, replaced by `UPSTREAM`).
pub fn recipe(proxy: &str) -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let fence = format!("```{proxy}\n");
    readme
        .split(fence.as_str())
        .skip(1)
        .filter_map(|after| after.split("```").next())
        .find(|block| block.contains("127.0.0.1:8080"))
        .unwrap_or_else(|| panic!("no {proxy} recipe in README.md"))
        .replace("127.0.0.1:8080", "UPSTREAM")
}

impl Front {
    /// `proxy` (nginx, caddy, apache or haproxy) in front of the daemon's plain listener
    /// `upstream`, ready to accept.
    pub async fn start(proxy: &str, pki: &Pki, upstream: SocketAddr) -> Front {
        let port = free_port();
        let (cert, key) = pki.leaf(proxy, &["example.com"]);
        let dir = pki.path(proxy);
        std::fs::create_dir_all(&dir).unwrap();
        let block = recipe(proxy).replace("UPSTREAM", &upstream.to_string());
        let mut command = match proxy {
            "nginx" => nginx(&dir, port, &cert, &key, &block),
            "caddy" => caddy(&dir, port, &cert, &key, &block),
            "apache" => apache(&dir, port, &cert, &key, &block),
            "haproxy" => haproxy(&dir, port, &cert, &key, &block),
            other => panic!("no proxy {other}"),
        };
        let child = command
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{proxy}: {e} (see .ci/run for the packages)"));
        let front = Front {
            child,
            addr: format!("127.0.0.1:{port}").parse().unwrap(),
        };
        let deadline = Instant::now() + TIMEOUT;
        while tokio::net::TcpStream::connect(front.addr).await.is_err() {
            assert!(
                Instant::now() < deadline,
                "{proxy} did not start (logs in {})",
                dir.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        front
    }
}

fn write(dir: &Path, file: &str, text: &str) -> String {
    let path = dir.join(file);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn nginx(dir: &Path, port: u16, cert: &Path, key: &Path, block: &str) -> Command {
    let d = dir.display();
    let conf = format!(
        "daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{}}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
         fastcgi_temp_path {d}/fcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
         server {{\n    listen 127.0.0.1:{port} ssl;\n    server_name example.com;\n\
         ssl_certificate {};\n    ssl_certificate_key {};\n\
         location / {{\n      default_type text/html;\n      return 200 \"website\";\n    }}\n\
         location ~* \\.json$ {{\n      add_header X-Site json;\n      return 403;\n    }}\n{block}\n  }}\n}}\n",
        cert.display(),
        key.display()
    );
    let path = write(dir, "nginx.conf", &conf);
    let mut c = Command::new("nginx");
    c.args([
        "-e",
        &format!("{d}/error.log"),
        "-p",
        &d.to_string(),
        "-c",
        &path,
    ]);
    c
}

fn caddy(dir: &Path, port: u16, cert: &Path, key: &Path, block: &str) -> Command {
    // The site address gets the test's port, and the certificate files instead of ACME; the
    // website answers the paths the recipe does not handle.
    let site = block.replacen(
        "example.com {",
        &format!(
            "example.com:{port} {{\n\ttls {} {}\n\thandle {{\n\t\trespond \"website\" 200\n\t}}",
            cert.display(),
            key.display()
        ),
        1,
    );
    let conf = format!(
        "{{\n\tadmin off\n\tauto_https disable_redirects\n\tstorage file_system {}/data\n}}\n{site}",
        dir.display()
    );
    let path = write(dir, "Caddyfile", &conf);
    let mut c = Command::new("caddy");
    c.args(["run", "--adapter", "caddyfile", "--config", &path]);
    c.env("HOME", dir)
        .env("XDG_DATA_HOME", dir)
        .env("XDG_CONFIG_HOME", dir);
    c
}

fn apache(dir: &Path, port: u16, cert: &Path, key: &Path, block: &str) -> Command {
    let d = dir.display();
    let m = "/usr/lib/apache2/modules";
    let www = dir.join("www");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(www.join("about"), "website").unwrap();
    let modules = [
        "mpm_event",
        "authz_core",
        "proxy",
        "proxy_http",
        "ssl",
        "socache_shmcb",
    ];
    let load: String = modules
        .iter()
        .map(|n| format!("LoadModule {n}_module {m}/mod_{n}.so\n"))
        .collect();
    let conf = format!(
        "{load}ServerName example.com\nServerRoot {d}\nPidFile {d}/apache.pid\nErrorLog {d}/error.log\n\
         DefaultRuntimeDir {d}\nMutex file:{d} default\nUser nobody\nGroup nogroup\nListen 127.0.0.1:{port}\n\
         <VirtualHost 127.0.0.1:{port}>\n  ServerName example.com\n  SSLEngine on\n\
         SSLCertificateFile {}\n  SSLCertificateKeyFile {}\n  DocumentRoot {}\n\
         <Directory {}>\n    Require all granted\n  </Directory>\n{block}</VirtualHost>\n",
        cert.display(),
        key.display(),
        www.display(),
        www.display()
    );
    // `nobody` must reach the website's file.
    let _ = Command::new("chmod").args(["-R", "a+rX"]).arg(dir).status();
    let path = write(dir, "apache.conf", &conf);
    let mut c = Command::new("apache2");
    c.args(["-f", &path, "-DFOREGROUND"]);
    c
}

fn haproxy(dir: &Path, port: u16, cert: &Path, key: &Path, block: &str) -> Command {
    let pem = format!(
        "{}{}",
        std::fs::read_to_string(cert).unwrap(),
        std::fs::read_to_string(key).unwrap()
    );
    let pem = write(dir, "example.com.pem", &pem);
    let frontend = block
        .replace("bind :443", &format!("bind 127.0.0.1:{port}"))
        .replace("/etc/haproxy/example.com.pem", &pem);
    let conf = format!(
        "global\n    maxconn 100\ndefaults\n    timeout connect 5s\n    timeout client 10s\n    timeout server 10s\n\
         {frontend}\nbackend website\n    mode http\n    http-request return status 200 content-type text/html string website\n"
    );
    let path = write(dir, "haproxy.cfg", &conf);
    let mut c = Command::new("haproxy");
    c.args(["-db", "-f", &path]);
    c
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

const CORS: [&str; 3] = [
    "access-control-allow-origin",
    "access-control-allow-methods",
    "access-control-allow-headers",
];

/// What a client must see through a proxy with the README's recipe (the daemon serving
/// example.com with a client document, and example.org, so that `Host` matters): the
/// documents with every header once, the preflight, 404 and 405 with CORS, the website's
/// other paths untouched.
pub async fn assert_through(pki: &Pki, front: SocketAddr) {
    let get = |method: &'static str, path: &'static str| {
        call(pki, front, Via::H1, method, "example.com", path)
    };
    let r = get("GET", "/.well-known/matrix/client").await;
    assert_eq!(r.status, 200, "{:?}", r.headers);
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
    once(&r, &CORS);
    let r = get("GET", "/.well-known/matrix/server").await;
    assert_eq!(
        (r.status, r.text()),
        (200, r#"{"m.server":"matrix.example.com:443"}"#)
    );
    let r = get("OPTIONS", "/.well-known/matrix/client").await;
    assert_eq!(r.status, 204);
    assert_eq!(r.headers["access-control-max-age"], "7200");
    once(&r, &CORS);
    let r = get("GET", "/.well-known/matrix/nothing").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.headers["content-type"], "application/json");
    assert!(r.text().contains("M_UNRECOGNIZED"), "{}", r.text());
    once(&r, &CORS);
    // Element's path reaches the daemon too (its 404 until element.json is configured, not
    // the proxy's own page, nor the site's rule for *.json that the nginx harness has).
    let r = get("GET", "/.well-known/element/element.json").await;
    assert_eq!(r.status, 404, "{:?}", r.headers);
    assert!(r.text().contains("M_UNRECOGNIZED"), "{}", r.text());
    assert!(r.headers.get("x-site").is_none());
    once(&r, &CORS);
    let r = get("POST", "/.well-known/matrix/server").await;
    assert_eq!(r.status, 405);
    assert_eq!(r.headers["allow"], "GET, HEAD, OPTIONS");
    once(&r, &CORS);
    let r = get("GET", "/about").await;
    assert_eq!(
        (r.status, r.text()),
        (200, "website"),
        "the website's paths stay the proxy's"
    );
    assert!(r.headers.get("access-control-allow-origin").is_none());
}

/// The daemon's config for [`assert_through`].
pub const CONFIG: &str = "[listen]\nhttp = [\"127.0.0.1:0\"]\n\
    [[domain]]\nname = \"example.com\"\nserver = \"matrix.example.com:443\"\n\
    [domain.client]\nhomeserver = \"https://matrix.example.com\"\n\
    [[domain]]\nname = \"example.org\"\nserver = \"matrix.example.org:443\"\n";
