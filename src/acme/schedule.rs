//! When to order: pure arithmetic on seconds since the epoch, unit-tested without a CA.

/// After a failed attempt, the next waits 1 minute, doubling up to 6 hours: quick recovery
/// from a blip, and far below any CA's rate limit when the failure lasts (Let's Encrypt
/// allows 5 failed validations per name per hour).
const FIRST_RETRY_SECS: i64 = 60;
const MAX_RETRY_SECS: i64 = 6 * 3600;
/// A certificate this process just obtained is not renewed again for this long, however the
/// schedule is configured: `renew_before_days` above the CA's validity would otherwise order
/// in a loop.
pub const MIN_RENEWAL_INTERVAL_SECS: i64 = 3600;

/// When a certificate valid until `not_after` is due for renewal: `renew_before_days` ahead,
/// or at the CA's suggested time (ARI) if that is earlier; never within
/// [`MIN_RENEWAL_INTERVAL_SECS`] of its issuance by this process (`issued_here`).
pub fn renewal_due(
    not_after: i64,
    renew_before_days: u32,
    ari: Option<i64>,
    issued_here: Option<i64>,
) -> i64 {
    let by_days = not_after - i64::from(renew_before_days) * 86_400;
    let due = ari.map_or(by_days, |a| a.min(by_days));
    match issued_here {
        Some(at) => due.max(at + MIN_RENEWAL_INTERVAL_SECS),
        None => due,
    }
}

/// The next attempt after `failures` consecutive failures (1 for the first), at `now`: the
/// back-off, or the CA's `Retry-After` if later.
pub fn retry_at(now: i64, failures: u32, retry_after: Option<i64>) -> i64 {
    let doublings = failures.saturating_sub(1).min(16);
    let delay = (FIRST_RETRY_SECS << doublings).min(MAX_RETRY_SECS);
    retry_after.map_or(now + delay, |at| at.max(now + delay))
}

/// A point in the CA's suggested window `[start, end)`, spread by `seed` so that many
/// servers do not all renew at its start (RFC 9773 §4.2).
pub fn in_window(start: i64, end: i64, seed: u64) -> i64 {
    let width = (end - start).max(1) as u64;
    start + (seed % width) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renews_the_configured_days_ahead_or_earlier_by_ari() {
        let day = 86_400;
        assert_eq!(renewal_due(90 * day, 30, None, None), 60 * day);
        assert_eq!(renewal_due(90 * day, 30, Some(50 * day), None), 50 * day);
        assert_eq!(renewal_due(90 * day, 30, Some(70 * day), None), 60 * day);
    }

    #[test]
    fn a_certificate_just_issued_is_not_renewed_in_a_loop() {
        // renew_before_days above the validity: due at once, but not again within the hour.
        assert_eq!(renewal_due(86_400, 30, None, None), 86_400 - 30 * 86_400);
        assert_eq!(renewal_due(86_400, 30, None, Some(1_000)), 1_000 + 3_600);
    }

    #[test]
    fn backs_off_from_a_minute_doubling_to_six_hours() {
        assert_eq!(retry_at(0, 1, None), 60);
        assert_eq!(retry_at(0, 2, None), 120);
        assert_eq!(retry_at(0, 4, None), 480);
        assert_eq!(retry_at(0, 30, None), 6 * 3600);
        assert_eq!(retry_at(0, 1, Some(600)), 600);
        assert_eq!(retry_at(0, 3, Some(10)), 240);
    }

    #[test]
    fn window_points_stay_inside() {
        assert_eq!(in_window(100, 200, 0), 100);
        assert_eq!(in_window(100, 200, 99), 199);
        assert_eq!(in_window(100, 200, 100), 100);
        assert_eq!(in_window(100, 100, 7), 100);
    }
}
