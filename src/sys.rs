//! The only unsafe code in wellknownd: three system interfaces that std does not wrap.
#![allow(unsafe_code)]

use std::os::fd::{FromRawFd, OwnedFd, RawFd};

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

/// Takes ownership of descriptor `fd` if it is open. Only for the sockets systemd passes
/// (socket activation), each taken once at start-up.
pub fn take_inherited_fd(fd: RawFd) -> Option<OwnedFd> {
    // SAFETY: F_GETFD only reads the descriptor flags; on a closed descriptor it fails with
    // EBADF and touches nothing.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
        return None;
    }
    // SAFETY: `fd` is open (checked above) and was handed to this process by systemd
    // (LISTEN_PID matched); nothing else in the process owns or closes it, and the caller
    // takes each descriptor once, so the OwnedFd is its only owner.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
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
