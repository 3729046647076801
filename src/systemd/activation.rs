//! Socket activation: listening sockets passed by systemd (`LISTEN_PID`, `LISTEN_FDS`,
//! `LISTEN_FDNAMES`). systemd keeps its own copy of each, so a restart queues new
//! connections in the kernel instead of refusing them. We only ever close our copy, never
//! `shutdown()` it: that would stop the socket for PID 1 too.

use socket2::{Socket, Type};
use tokio::net::TcpListener;

use crate::server::{Listener, Proto};

/// The first passed descriptor (`SD_LISTEN_FDS_START`).
const FIRST_FD: i32 = 3;

/// The sockets systemd passed to this process, if any. A socket named `http` (systemd's
/// `FileDescriptorName=http`) is plain HTTP; every other name, and none, means TLS, so a
/// typo never serves plain text where TLS was meant. `http-proxy` and `https-proxy` expect a
/// PROXY protocol header first.
pub fn listeners() -> Result<Vec<Listener>, String> {
    let pid_matches = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        == Some(std::process::id());
    let Some(count) = std::env::var("LISTEN_FDS").ok().filter(|_| pid_matches) else {
        return Ok(Vec::new());
    };
    let count: i32 = count
        .parse()
        .map_err(|_| format!("LISTEN_FDS={count} is not a number"))?;
    let names = std::env::var("LISTEN_FDNAMES").unwrap_or_default();
    let mut names = names.split(':');
    (0..count)
        .map(|i| {
            let (proto, proxy) = match names.next() {
                Some("http") => (Proto::Http, false),
                Some("http-proxy") => (Proto::Http, true),
                Some("https-proxy") => (Proto::Https, true),
                _ => (Proto::Https, false),
            };
            take(FIRST_FD + i, proto, proxy)
        })
        .collect()
}

fn take(fd: i32, proto: Proto, proxy_protocol: bool) -> Result<Listener, String> {
    let owned = crate::sys::take_inherited_fd(fd)
        .ok_or_else(|| format!("socket activation: descriptor {fd} is not open"))?;
    let socket = Socket::from(owned);
    let is_stream = socket.r#type().map(|t| t == Type::STREAM).unwrap_or(false);
    if !is_stream
        || socket
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket())
            .is_none()
    {
        return Err(format!(
            "socket activation: descriptor {fd} is not a TCP socket (use ListenStream= with an IP address)"
        ));
    }
    // tokio requires non-blocking sockets; systemd passes them blocking.
    socket
        .set_nonblocking(true)
        .map_err(|e| format!("socket activation: descriptor {fd}: {e}"))?;
    let tcp = TcpListener::from_std(socket.into())
        .map_err(|e| format!("socket activation: descriptor {fd}: {e}"))?;
    Ok(Listener {
        tcp,
        proto,
        proxy_protocol,
    })
}
