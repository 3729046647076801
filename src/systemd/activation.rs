//! Socket activation: listening sockets passed by systemd (`LISTEN_PID`, `LISTEN_FDS`,
//! `LISTEN_FDNAMES`). systemd keeps its own copy of each, so a restart queues new
//! connections in the kernel instead of refusing them. We only ever close our copy, never
//! `shutdown()` it: that would stop the socket for PID 1 too.

/// The first passed descriptor (`SD_LISTEN_FDS_START`).
const FIRST_FD: i32 = 3;
/// More passed sockets than this is a broken environment, not a configuration.
const MAX_FDS: i32 = 64;

/// A socket systemd passed, with its `FileDescriptorName=` (empty if it has none).
#[derive(Debug)]
pub struct Activated {
    pub listener: std::net::TcpListener,
    pub name: String,
}

/// The sockets systemd passed to this process, if any. Call it before opening any descriptor
/// of our own, so that descriptors from 3 on are systemd's. Each is checked to be a listening
/// TCP socket before it is taken.
pub fn listeners() -> Result<Vec<Activated>, String> {
    let pid_matches = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        == Some(std::process::id());
    let Some(count) = std::env::var("LISTEN_FDS").ok().filter(|_| pid_matches) else {
        return Ok(Vec::new());
    };
    let count: i32 = match count.parse() {
        Ok(n) if (0..=MAX_FDS).contains(&n) => n,
        _ => {
            return Err(format!(
                "socket activation: LISTEN_FDS={count} is not a number from 0 to {MAX_FDS}"
            ));
        }
    };
    let names = std::env::var("LISTEN_FDNAMES").unwrap_or_default();
    let mut names = names.split(':');
    (FIRST_FD..FIRST_FD + count)
        .map(|fd| {
            let name = names.next().unwrap_or_default().to_owned();
            let owned = crate::sys::take_listening_socket(fd)
                .map_err(|why| format!("socket activation: descriptor {fd} {why}"))?;
            Ok(Activated {
                listener: owned.into(),
                name,
            })
        })
        .collect()
}
