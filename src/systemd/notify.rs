//! The `sd_notify` protocol: datagrams to `$NOTIFY_SOCKET` telling systemd that we are ready,
//! reloading, stopping, alive (watchdog), and how we are (`STATUS=`). Without
//! `NOTIFY_SOCKET` every call is a no-op.

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::sync::Arc;
use std::time::Duration;

use crate::log;

#[derive(Clone, Default)]
pub struct Notifier {
    target: Option<Arc<(UnixDatagram, SocketAddr)>>,
}

impl Notifier {
    /// Reads `NOTIFY_SOCKET` (a path, or `@name` for the abstract namespace).
    pub fn from_env() -> Notifier {
        let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
            return Notifier::default();
        };
        let path = path.to_string_lossy().into_owned();
        let addr = match path.strip_prefix('@') {
            Some(name) => SocketAddr::from_abstract_name(name.as_bytes()),
            None => SocketAddr::from_pathname(&path),
        };
        match (UnixDatagram::unbound(), addr) {
            (Ok(socket), Ok(addr)) => Notifier {
                target: Some(Arc::new((socket, addr))),
            },
            (Err(e), _) | (_, Err(e)) => {
                log::warn(format_args!(
                    "NOTIFY_SOCKET={path}: {e}; systemd will not hear from us"
                ));
                Notifier::default()
            }
        }
    }

    fn send(&self, message: &str) {
        if let Some(target) = &self.target {
            let (socket, addr) = &**target;
            if let Err(e) = socket.send_to_addr(message.as_bytes(), addr) {
                log::warn(format_args!("sd_notify: {e}"));
            }
        }
    }

    /// Every listener bound, every certificate loaded, crypto warmed up.
    pub fn ready(&self, status: &str) {
        self.send(&format!("READY=1\nSTATUS={status}"));
    }

    /// A reload starts; `MONOTONIC_USEC` lets systemd 253+ (`Type=notify-reload`) match it
    /// to the reload it asked for.
    pub fn reloading(&self) {
        let usec = crate::sys::monotonic_usec().unwrap_or(0);
        self.send(&format!(
            "RELOADING=1\nMONOTONIC_USEC={usec}\nSTATUS=reloading"
        ));
    }

    pub fn status(&self, status: &str) {
        self.send(&format!("STATUS={status}"));
    }

    pub fn stopping(&self) {
        self.send("STOPPING=1\nSTATUS=stopping: finishing requests in flight");
    }

    pub fn watchdog(&self) {
        self.send("WATCHDOG=1");
    }

    /// How often to send `WATCHDOG=1`: half of `WATCHDOG_USEC`, when systemd set it for us.
    pub fn watchdog_interval(&self) -> Option<Duration> {
        self.target.as_ref()?;
        if let Some(pid) = std::env::var("WATCHDOG_PID")
            .ok()
            .and_then(|p| p.parse::<u32>().ok())
            && pid != std::process::id()
        {
            return None;
        }
        let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
        (usec > 0).then(|| Duration::from_micros(usec / 2))
    }
}
