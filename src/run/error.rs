//! Why the daemon could not start: the one error of `run`, each message something an
//! operator can act on.

use std::fmt;
use std::net::SocketAddr;

use crate::config;
use crate::server::Proto;

/// Why the daemon could not start.
#[derive(Debug)]
pub enum StartError {
    Config(config::Error),
    Tls(rustls::Error),
    Bind {
        address: SocketAddr,
        proto: Proto,
        source: std::io::Error,
    },
    Activation(String),
    Control(std::io::Error),
    NoListeners,
    /// `wellknownd acme` with a config that has no `[acme]`.
    NoAcme,
    Signals(std::io::Error),
    Runtime(std::io::Error),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Config(e) => e.fmt(f),
            StartError::Tls(e) => write!(f, "cannot set up TLS: {e}"),
            StartError::Bind { address, proto, source } => {
                write!(f, "listen.{proto}: cannot listen on {address}: {source}")?;
                if source.kind() == std::io::ErrorKind::PermissionDenied && address.port() < 1024 {
                    f.write_str(" (ports below 1024 need root or CAP_NET_BIND_SERVICE)")?;
                }
                Ok(())
            }
            StartError::Activation(e) => f.write_str(e),
            StartError::Control(e) => write!(f, "cannot open the control socket in $RUNTIME_DIRECTORY: {e}"),
            StartError::NoListeners => {
                f.write_str("no listeners: add an address to listen.https or listen.http, or start from a systemd socket")
            }
            StartError::NoAcme => f.write_str("the config has no [acme] section: there is nothing to order"),
            StartError::Signals(e) => write!(f, "cannot install signal handlers: {e}"),
            StartError::Runtime(e) => write!(f, "cannot start the async runtime: {e}"),
        }
    }
}

impl From<config::Error> for StartError {
    fn from(e: config::Error) -> Self {
        StartError::Config(e)
    }
}
