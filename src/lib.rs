//! wellknownd serves the Matrix delegation documents (`/.well-known/matrix/server`, `client`,
//! `support`, `policy_server`) over TLS from one TOML config.
//!
//! # Where things are
//!
//! Data flows in one direction, and the modules follow it:
//!
//! 1. [`config`]: the TOML file ([`config::file`]), its validation, and the validated
//!    [`config::model`] in which every document is already JSON. Errors name file and key.
//! 2. [`state`]: one config generation ready to serve: the certificates ([`tls`]) and every
//!    response prepared as bytes and headers ([`http::site`], [`http::prepared`]).
//! 3. [`http::route()`]: the pure function from a request and the state to a response. All
//!    behaviour a client can observe is decided here, and unit tests call it without sockets.
//! 4. [`server`]: listening sockets and connections. [`server::serve`] is the one entry point
//!    that `main`, the tests and socket activation use: it accepts (at most
//!    `limits.max_connections`), reads a PROXY header where enabled ([`server::proxy`]), does
//!    the TLS handshake, speaks HTTP/1.1 (parking idle keep-alive connections) or HTTP/2,
//!    answers with [`http::route()`], and closes slow, idle or draining connections. Inside
//!    `server`: `conn` (one connection's life), `io` (the byte stream), `h1` (parking),
//!    `service` (the per-request handler).
//! 5. [`run`]: the daemon's life (load, bind, serve, reload on SIGHUP, stop on SIGTERM);
//!    [`reload`]: building and swapping in a new state (config reload, renewed
//!    certificates); [`systemd`]: readiness, watchdog, socket activation, journal logging;
//!    [`metrics`]: the Prometheus counters and their listener;
//!    [`check`]: the `wellknownd check` report; [`cli`]: the command line.
//! 6. [`probe`]: `wellknownd probe DOMAIN`, the outside check of a deployment (documents,
//!    CORS, every address, federation discovery and signed keys, the client API). It is a
//!    client, built into its own binary (`src/bin/wellknownd-probe.rs`) so the daemon links
//!    none of it.
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
//! let state = wellknownd::state::State::without_certs(config);
//! let request = http::Request::get("/.well-known/matrix/server").body(()).unwrap();
//! let response = wellknownd::http::route(&state, &request);
//! assert_eq!(response.status(), 200);
//! assert_eq!(response.headers()["content-type"], "application/json");
//! assert_eq!(response.headers()["cache-control"], "public, max-age=14400");
//! ```
//!
//! Small helpers: [`log`] (one line per event on stderr), [`civil`] (dates without a date
//! crate), [`base64`] (Matrix's unpadded base64), `sys` (the only unsafe code: two system
//! calls std does not wrap).
// Unsafe code is refused everywhere but `sys`, which holds the two system calls std lacks.
#![deny(unsafe_code)]

pub mod base64;
pub mod check;
pub mod civil;
pub mod cli;
pub mod config;
pub mod http;
pub mod log;
pub mod metrics;
pub mod probe;
pub mod reload;
pub mod run;
pub mod server;
pub mod state;
mod sys;
pub mod systemd;
pub mod tls;
