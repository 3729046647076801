//! The only unsafe code in wellknownd: the system interfaces that std does not wrap.
#![allow(unsafe_code)]

use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// CLOCK_MONOTONIC in microseconds, for systemd's `MONOTONIC_USEC=` (std's `Instant` does
/// not reveal its value).
pub fn monotonic_usec() -> Option<u64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec that outlives the call; clock_gettime
    // writes nothing else.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    let secs = u64::try_from(ts.tv_sec).ok()?;
    let nanos = u64::try_from(ts.tv_nsec).ok()?;
    (rc == 0).then_some(secs * 1_000_000 + nanos / 1_000)
}

/// Takes ownership of descriptor `fd` if it is a listening TCP socket; otherwise leaves it
/// alone (open, and owned by whoever owns it) and says what it is not. Only for the sockets
/// systemd passes (socket activation), each taken once at start-up: a wrong `LISTEN_FDS`
/// count must not make us adopt, and then close, a descriptor something else owns (the
/// notify socket, a log pipe).
pub fn take_listening_socket(fd: RawFd) -> Result<OwnedFd, &'static str> {
    // SAFETY: F_GETFD only reads the descriptor flags; on a closed descriptor it fails with
    // EBADF and touches nothing.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
        return Err("is not open");
    }
    // SAFETY: `fd` is open (checked above) and stays open while `borrowed` lives: nothing in
    // this function closes it, and the borrow ends before ownership is taken.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    let socket = socket2::SockRef::from(&borrowed);
    let listening = socket.r#type().ok() == Some(socket2::Type::STREAM)
        && socket.is_listener().unwrap_or(false)
        && socket
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket())
            .is_some();
    if !listening {
        return Err("is not a listening TCP socket (use ListenStream= with an IP address)");
    }
    // SAFETY: `fd` is open and a listening TCP socket that systemd handed to this process
    // (LISTEN_PID matched); nothing else in the process uses or closes listening sockets it
    // did not make, and the caller takes each descriptor once, so the OwnedFd is its only
    // owner.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Gives the free pages inside glibc's heap back to the kernel. glibc returns only the top of
/// the heap by itself, so the buffers of parked HTTP/1.1 connections, freed in the middle of
/// it, would stay resident until reused. No effect on other C libraries.
pub fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointers and may be called at any time from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsRawFd;

    use super::take_listening_socket;

    #[test]
    fn only_listening_tcp_sockets_are_taken() {
        let datagram = std::os::unix::net::UnixDatagram::unbound().unwrap();
        assert!(take_listening_socket(datagram.as_raw_fd()).is_err());
        // The refused descriptor is still open, still the datagram socket it was.
        assert!(datagram.local_addr().is_ok());
        let connected = std::net::TcpStream::connect(
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap(),
        );
        if let Ok(stream) = &connected {
            assert!(take_listening_socket(stream.as_raw_fd()).is_err());
        }
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let fd = std::os::fd::IntoRawFd::into_raw_fd(listener);
        let owned = take_listening_socket(fd).unwrap();
        assert_eq!(owned.as_raw_fd(), fd);
        assert!(take_listening_socket(i32::MAX).is_err());
    }
}
