//! Binding listening sockets.

use std::fmt;
use std::net::SocketAddr;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpListener;

use crate::config::ListenOptions;

/// What a listener speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    /// TLS, then HTTP/2 or HTTP/1.1 by ALPN.
    Https,
    /// Plain HTTP/1.1, behind a load balancer that terminates TLS.
    Http,
    /// Plain HTTP/1.1 on port 80: ACME HTTP-01 answers and 308s to `https://`.
    Redirect,
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Proto::Https => "https",
            Proto::Http => "http",
            Proto::Redirect => "redirect_http",
        })
    }
}

#[derive(Debug)]
pub struct Listener {
    pub tcp: TcpListener,
    pub proto: Proto,
    pub options: ListenOptions,
}

/// Pending connections the kernel queues per listener before we accept them: enough for a
/// burst of handshakes, small enough not to hide an overloaded daemon.
const BACKLOG: i32 = 1024;

impl Listener {
    /// Binds `addr`. IPv6 sockets are v6-only, so `0.0.0.0:443` and `[::]:443` can both be
    /// listed; SO_REUSEADDR lets a restart bind while old connections sit in TIME_WAIT.
    pub fn bind(
        addr: SocketAddr,
        proto: Proto,
        options: ListenOptions,
    ) -> std::io::Result<Listener> {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        if addr.is_ipv6() {
            socket.set_only_v6(true)?;
        }
        socket.set_reuse_address(true)?;
        socket.set_nonblocking(true)?;
        socket.bind(&addr.into())?;
        socket.listen(BACKLOG)?;
        let tcp = TcpListener::from_std(socket.into())?;
        Ok(Listener {
            tcp,
            proto,
            options,
        })
    }

    /// A listening socket made elsewhere (socket activation), by its name: `http` is plain
    /// HTTP, `redirect-http` the port-80 redirect, every other name (and none) TLS, so a typo
    /// never serves plain text where TLS was meant; `http-proxy` and `https-proxy` expect a
    /// PROXY protocol header first.
    pub fn adopt(listener: std::net::TcpListener, name: &str) -> std::io::Result<Listener> {
        let (proto, proxy_protocol) = match name {
            "http" => (Proto::Http, false),
            "redirect-http" => (Proto::Redirect, false),
            "http-proxy" => (Proto::Http, true),
            "https-proxy" => (Proto::Https, true),
            _ => (Proto::Https, false),
        };
        // tokio requires non-blocking sockets; systemd passes them blocking.
        listener.set_nonblocking(true)?;
        Ok(Listener {
            tcp: TcpListener::from_std(listener)?,
            proto,
            options: ListenOptions {
                proxy_protocol,
                ..ListenOptions::default()
            },
        })
    }

    /// The bound address (with the real port when bound to port 0), for logs.
    pub fn address(&self) -> String {
        let suffix = self.options.suffix();
        match self.tcp.local_addr() {
            Ok(a) => format!("{}://{a}{suffix}", self.proto),
            Err(_) => format!("{}://?{suffix}", self.proto),
        }
    }
}
