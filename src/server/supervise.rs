//! The connection supervisor: one loop, for HTTP/1.1 and HTTP/2 alike, that decides when a
//! connection ends, from what its requests do and never from bytes moved (a client that
//! sends an HTTP/2 PING a second moves bytes for ever and asks for nothing).
//!
//! On a coarse tick it samples the connection's [`Requests`]:
//! - **idle**: no request in flight and none started for `limits.idle_timeout` (HTTP/1.1
//!   between requests, HTTP/2 with no open stream): end gracefully (HTTP/2 GOAWAY).
//! - **stalled**: requests in flight but none finished for the idle timeout (a client that
//!   stopped reading, or set its HTTP/2 window to zero): cut.
//! - **aged**: open for `limits.max_connection_age`: end gracefully however busy, so no
//!   client holds a slot for days (HTTP/2 GOAWAY, HTTP/1.1 `Connection: close` on the next
//!   response); responses under way are finished, never cut.
//! - **quiet** (HTTP/1.1 only, once it served a request): idle for one tick: park it (see
//!   [`super::h1`]).
//! - **slow** (HTTP/1.1 only): a request head still incomplete `limits.header_timeout` after
//!   the connection opened, or after a parked connection's next bytes arrived (slowloris):
//!   cut. A head that starts between requests is parked at the next tick and so resumed
//!   with its first bytes: the deadline runs from (within a tick of) its first byte.
//!
//! hyper's own header timer would do the last, but it arms a timer for every request; this
//! costs a counter comparison per tick.

use std::future::poll_fn;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::shared::Shutdown;
use super::track::{Requests, Sample};
use crate::config::Limits;

/// A connection the supervisor can drive and end gracefully.
pub(super) trait Supervised {
    /// Drives the connection; ready with `true` when it ended cleanly, `false` on an error.
    fn poll_run(&mut self, cx: &mut Context<'_>) -> Poll<bool>;
    /// HTTP/2: GOAWAY. HTTP/1.1: close when idle, else after the response under way (with
    /// `Connection: close`).
    fn graceful(&mut self);
    /// Past `limits.max_connection_age`. HTTP/2: GOAWAY. HTTP/1.1: `Connection: close` on
    /// the next response (closing between requests would race a request on the wire).
    /// Whether the connection is closing now.
    fn aged(&mut self) -> bool {
        self.graceful();
        true
    }
}

/// How a supervised connection ended.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// The connection is over (client left, or ended gracefully).
    Ended,
    /// HTTP/1.1 ended between requests to be parked; the stream is still open.
    Parked,
    /// Stalled, or idle again after a graceful end the client ignored: drop it.
    Cut,
}

/// What is due on a connection.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Due {
    Quiet,
    Idle,
    Stalled,
    Aged,
    Slow,
    /// The daemon is stopping: end gracefully.
    Stopping,
}

/// Drives `conn` until it ends or the supervisor ends it. `park`: end it between requests
/// once it is quiet, to be parked.
pub(super) async fn supervise(
    conn: &mut impl Supervised,
    watch: &mut Watch<'_>,
    park: bool,
    shutdown: &mut Shutdown,
) -> Verdict {
    let (mut closing, mut parking) = (false, false);
    loop {
        // Two branches only: every wake-up of a busy connection polls each of them.
        tokio::select! {
            ok = poll_fn(|cx| conn.poll_run(cx)) => {
                return if parking && ok { Verdict::Parked } else { Verdict::Ended };
            }
            due = watch.next(park && !closing, shutdown) => match due {
                Due::Stalled | Due::Slow => return Verdict::Cut,
                Due::Idle if closing => return Verdict::Cut,
                Due::Aged => closing |= conn.aged(),
                Due::Stopping if closing => {}
                Due::Quiet | Due::Idle | Due::Stopping => {
                    conn.graceful();
                    parking = due == Due::Quiet;
                    closing = true;
                }
            },
        }
    }
}

/// How often a connection's rules are checked: a quarter of the shortest timeout, between
/// 250 ms and 1 s. Everything fires within one tick of its due time; in exchange a request
/// costs no clock read and no timer, and a connection one wake-up per tick at most (none
/// while parked).
pub(super) fn tick(limits: &Limits) -> Duration {
    (limits.header_timeout.min(limits.idle_timeout) / 4)
        .clamp(Duration::from_millis(250), Duration::from_secs(1))
}

/// One connection's clock and counters, kept across parking.
pub(super) struct Watch<'a> {
    limits: &'a Limits,
    requests: &'a Requests,
    tick: Duration,
    opened: Instant,
    last: Sample,
    idle_for: Duration,
    stalled_for: Duration,
    /// HTTP/1.1: how long the head this hyper connection waits for has been coming.
    head_for: Duration,
    /// HTTP/1.1, whose heads have a deadline; HTTP/2 has its own limits on streams.
    heads: bool,
    /// `started` when the current hyper connection began: it parks only after one request.
    begun_at: u64,
    aged: bool,
    stopping: bool,
}

impl<'a> Watch<'a> {
    /// `heads`: HTTP/1.1, whose request heads have a deadline.
    pub fn new(limits: &'a Limits, requests: &'a Requests, heads: bool) -> Watch<'a> {
        Watch {
            limits,
            requests,
            tick: tick(limits),
            opened: Instant::now(),
            last: Sample::default(),
            idle_for: Duration::ZERO,
            stalled_for: Duration::ZERO,
            head_for: Duration::ZERO,
            heads,
            begun_at: 0,
            aged: false,
            stopping: false,
        }
    }

    /// A new hyper connection takes over (after parking, with the client's next bytes): the
    /// head they start has until the header timeout.
    pub fn begin(&mut self) {
        self.last = self.requests.sample();
        self.begun_at = self.last.started;
        self.idle_for = Duration::ZERO;
        self.head_for = Duration::ZERO;
    }

    /// Past `limits.max_connection_age` (a parked connection resumed after it: its first
    /// response should close it, not one a tick later).
    pub fn past_age(&self) -> bool {
        self.opened.elapsed() >= self.limits.max_connection_age
    }

    /// How long a parked connection may wait for its client: what is left of the idle
    /// timeout. (Past its age, its next response closes it.)
    pub fn parked_for(&self) -> Duration {
        self.limits.idle_timeout.saturating_sub(self.idle_for)
    }

    /// Sleeps tick by tick until something is due. Shutdown is looked at on the tick too (a
    /// stopping daemon ends busy connections within a tick), rather than polled as a future
    /// of its own on every wake-up of every connection.
    pub async fn next(&mut self, park: bool, shutdown: &Shutdown) -> Due {
        loop {
            tokio::time::sleep(self.tick).await;
            if !self.stopping && shutdown.requested() {
                self.stopping = true;
                return Due::Stopping;
            }
            let now = self.requests.sample();
            if let Some(due) = self.update(now, self.opened.elapsed(), park) {
                return due;
            }
        }
    }

    /// One tick's judgement, from the counters now and the connection's age.
    fn update(&mut self, now: Sample, age: Duration, park: bool) -> Option<Due> {
        let busy = now.in_flight() || now.started != self.last.started;
        self.idle_for = if busy {
            Duration::ZERO
        } else {
            self.idle_for + self.tick
        };
        self.stalled_for = if now.in_flight() && now.finished == self.last.finished {
            self.stalled_for + self.tick
        } else {
            Duration::ZERO
        };
        self.head_for = if self.heads && now.started == self.begun_at {
            self.head_for + self.tick
        } else {
            Duration::ZERO
        };
        self.last = now;
        if self.head_for > self.limits.header_timeout {
            return Some(Due::Slow);
        }
        if !self.aged && age >= self.limits.max_connection_age {
            self.aged = true;
            return Some(Due::Aged);
        }
        if self.stalled_for >= self.limits.idle_timeout {
            return Some(Due::Stalled);
        }
        if self.idle_for >= self.limits.idle_timeout {
            return Some(Due::Idle);
        }
        let served = now.started > self.begun_at;
        (park && served && self.idle_for >= self.tick).then_some(Due::Quiet)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            handshake_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(4),
            idle_timeout: Duration::from_secs(4),
            max_connection_age: Duration::from_secs(10),
            max_header_bytes: 8192,
            max_connections: 10,
            max_connections_per_ip: 10,
        }
    }

    fn at(started: u64, finished: u64) -> Sample {
        Sample { started, finished }
    }

    /// Feeds one sample per tick (of 1 s) and returns what became due at each; `park`: an
    /// HTTP/1.1 connection that parks.
    fn run(samples: &[Sample], park: bool) -> Vec<Option<Due>> {
        let (limits, requests) = (limits(), Requests::default());
        let mut w = Watch::new(&limits, &requests, park);
        (1..)
            .zip(samples)
            .map(|(s, now)| w.update(*now, Duration::from_secs(s), park))
            .collect()
    }

    #[test]
    fn idle_means_no_request_in_flight() {
        let quiet = [at(0, 0); 4];
        assert_eq!(run(&quiet, false), [None, None, None, Some(Due::Idle)]);
        let mut requests = vec![at(1, 1), at(2, 2), at(3, 3)];
        requests.extend([at(3, 3); 4]);
        assert_eq!(run(&requests, false).last(), Some(&Some(Due::Idle)));
        assert!(run(&requests[..6], false).iter().all(Option::is_none));
    }

    #[test]
    fn a_request_in_flight_is_not_idle_but_stalls_without_progress() {
        let held = [at(1, 0); 4];
        assert_eq!(run(&held, false), [None, None, None, Some(Due::Stalled)]);
        let progressing = [at(2, 0), at(3, 1), at(4, 2), at(5, 3)];
        assert!(run(&progressing, false).iter().all(Option::is_none));
    }

    #[test]
    fn age_ends_even_a_busy_connection_once() {
        let busy: Vec<Sample> = (1..=12).map(|n| at(n, n - 1)).collect();
        let due = run(&busy, false);
        assert_eq!(due[9], Some(Due::Aged));
        assert!(due.iter().filter(|d| d.is_some()).count() == 1);
    }

    #[test]
    fn an_http1_head_must_come_within_the_header_timeout() {
        let slow = [at(0, 0); 5];
        assert_eq!(run(&slow, true)[4], Some(Due::Slow));
        assert!(run(&slow, false)[..3].iter().all(Option::is_none));
        let served = [at(0, 0), at(0, 0), at(0, 0), at(1, 1), at(1, 1)];
        assert_eq!(run(&served, true)[4], Some(Due::Quiet));
    }

    #[test]
    fn parks_only_after_serving_a_request() {
        assert_eq!(run(&[at(0, 0), at(0, 0)], true), [None, None]);
        assert_eq!(run(&[at(1, 1), at(1, 1)], true), [None, Some(Due::Quiet)]);
        assert_eq!(run(&[at(1, 0), at(1, 0)], true), [None, None]);
    }
}
