//! wellknownd serves the Matrix delegation documents (`/.well-known/matrix/server`, `client`,
//! `support`, `policy_server`, and Element's `/.well-known/element/element.json`) over TLS
//! from one TOML config.
//!
//! # Where things are
//!
//! Data flows in one direction, and the modules follow it (each imports only those above it):
//!
//! 1. [`config`]: the TOML file ([`config::file`]), its validation, and the validated
//!    [`config::model`] in which every document is already JSON. Plain data; errors name
//!    file and key, and one run reports all of them. The keys clients parse strictly (the
//!    client document's extras, element.json) are checked for the shapes their readers
//!    parse (`config::shapes`), which `tests/ruma.rs` holds against ruma.
//! 2. [`http`]: the model prepared as responses (bytes and header values, [`http::site`],
//!    [`http::prepared`]), held by a [`http::Router`], and the pure [`http::route()`] from a
//!    request to one of them. All behaviour a client can observe is decided there, and unit
//!    tests call it without sockets.
//!    [`http::route_plain()`] is the port-80 listeners' (`listen.redirect_http`): ACME
//!    HTTP-01 answers and 308s to `https://`.
//! 3. [`tls`]: certificate files (configured, or an ACME domain's in `state_dir`) loaded into
//!    a [`tls::CertStore`], which the SNI resolver reads on each handshake through a
//!    lock-free handle ([`tls::Certs`]); a hello offering only `acme-tls/1` gets the pending
//!    TLS-ALPN-01 certificate from [`challenges`] instead.
//! 4. [`acme`]: the ACME client (account, orders, renewal schedule with back-off and ARI),
//!    which writes certificates, challenges and its status into `state_dir`, in the daemon
//!    (standalone) or as `wellknownd acme` beside a daemon without network.
//! 5. [`server`]: listening sockets and connections. [`server::serve`] is the one entry point
//!    that `main`, the tests and socket activation use: accept, per-address limit,
//!    connection limit, PROXY header, TLS, HTTP/1.1 (parked when idle) or HTTP/2, each
//!    request answered by `route()` from the current [`server::Generation`] (one lock-free
//!    load), each connection ended by one supervisor (idle, stalled, aged, draining).
//!    [`server::scrape`] serves the [`metrics`] (counters and their text only).
//! 6. [`build`]: everything a config yields ([`build::Built`]: the router, the certificate
//!    store); [`reload`]: building a new one and swapping it in while serving, and [`watch`]:
//!    what it polls between reloads (challenges, the ACME status, expiry); [`run`]: the
//!    daemon's life (signals, load, bind, serve, reload on SIGHUP or [`control`] request,
//!    the in-process ACME client, stop on SIGTERM); [`check`]: the `wellknownd check` report
//!    and its verdict (with [`tls::report`], what clients would make of each certificate);
//!    [`cli`]: the command line.
//! 7. Not here: the probe (`wellknownd probe DOMAIN`, the outside check of a deployment) is
//!    the crate `probe/` of this workspace, with a binary of its own that `wellknownd probe`
//!    runs, so the daemon compiles and links none of it. What both read (the server-name
//!    grammar, the documents' paths and shapes, base64, dates, the TLS client roots and the
//!    crypto provider) is the crate `shared/`, re-exported here where the daemon has always
//!    had it ([`config::names`], [`base64`], [`civil`], [`tls::roots`]).
//!
//! The whole request path in five lines, without sockets:
//!
//! ```
//! use std::path::Path;
//! let text = r#"
//!     [listen]
//!     http = ["127.0.0.1:8080"]
//!     [[domain]]
//!     name = "example.com"
//!     server = "matrix.example.com:443"
//! "#;
//! let config = wellknownd::config::parse(Path::new("example.toml"), text).unwrap().config;
//! let router = wellknownd::http::Router::new(&config);
//! let request = http::Request::get("/.well-known/matrix/server")
//!     .header("host", "example.com")
//!     .body(())
//!     .unwrap();
//! let response = wellknownd::http::route(&router, &request);
//! assert_eq!(response.status(), 200);
//! assert_eq!(response.headers()["content-type"], "application/json");
//! assert_eq!(response.headers()["cache-control"], "public, max-age=14400");
//! ```
//!
//! Leaf helpers, importing nothing above: [`challenges`] (the pending ACME challenges, read
//! from `state_dir`), [`log`] (one line per event on stderr, through a
//! bounded queue that never blocks the runtime), [`systemd`] (readiness, watchdog, socket
//! activation, the journal), `sys` (the only unsafe code: the system calls std does not wrap).
// Unsafe code is refused everywhere but `sys`, which holds the two system calls std lacks.
#![deny(unsafe_code)]

pub mod acme;
pub use wellknownd_shared::{base64, civil};
pub mod build;
pub mod challenges;
pub mod check;
pub mod cli;
pub mod config;
pub mod control;
pub mod http;
pub mod log;
pub mod metrics;
pub mod reload;
pub mod run;
pub mod server;
mod sys;
pub mod systemd;
pub mod tls;
pub mod watch;
