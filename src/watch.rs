//! What the daemon keeps an eye on between reloads, beyond certificate files: the ACME
//! challenges to answer, the ACME client's status (for `STATUS=`, the metrics, and to pick up
//! a new certificate at once), and every certificate's expiry, told once a day when it nears.

use std::path::PathBuf;

use crate::acme::Status;
use crate::challenges::{Pending, Watcher};
use crate::civil::{format_utc, now_secs};
use crate::config::{Acme, Config, TlsPaths};
use crate::log;
use crate::metrics::{CertificateExpiry, Metrics};
use crate::tls::Pair;
use crate::tls::certs::{EXPIRY_WARNING_SECS, Stamp};

/// Expiry warnings are repeated this often while they hold: once a day is enough to be
/// seen in the journal without flooding it.
const WARN_EVERY_SECS: i64 = 86_400;

#[derive(Debug, Default)]
pub struct Watch {
    challenges: Option<Watcher>,
    status_path: Option<PathBuf>,
    status_stamp: Option<Stamp>,
    status: Status,
    warned_at: Option<i64>,
}

impl Watch {
    pub fn new(config: &Config) -> Watch {
        let mut watch = Watch::default();
        watch.configure(config);
        watch
    }

    /// Follows a reloaded config's `[acme]` (or its absence).
    pub fn configure(&mut self, config: &Config) {
        let status_path = config.acme.as_ref().map(|a| a.status());
        if status_path != self.status_path {
            self.challenges = config.acme.as_ref().map(|a| Watcher::new(a.challenges()));
            self.status_path = status_path;
            self.status_stamp = None;
            self.status = Status::default();
        }
    }

    pub fn is_acme(&self) -> bool {
        self.status_path.is_some()
    }

    pub fn poll_challenges(&mut self, pending: &Pending) {
        if let Some(w) = &mut self.challenges {
            w.poll(pending, &crate::tls::certs::provider());
        }
    }

    /// Re-reads the ACME status if the client wrote it; whether it changed.
    pub fn poll_status(&mut self, metrics: &Metrics) -> bool {
        let Some(path) = &self.status_path else {
            return false;
        };
        let stamp = Stamp::of(path);
        if stamp == self.status_stamp {
            return false;
        }
        self.status_stamp = stamp;
        self.status = Status::read(path);
        let orders = self.status.domains.iter();
        let orders = orders.map(|(d, s)| (d.clone(), s.orders_ok, s.orders_failed));
        metrics.set_acme_orders(orders.collect());
        true
    }

    /// Logs every certificate under [`EXPIRY_WARNING_SECS`] (or expired), once a day.
    pub fn expiry(&mut self, pairs: &[Pair]) {
        for (expired, line) in self.expiry_due(pairs, now_secs()) {
            match expired {
                true => log::error(&line),
                false => log::warn(&line),
            }
        }
    }

    /// The expiry lines to log at `now` (and whether each is for an expired certificate):
    /// all of them once a day while any holds, none in between.
    fn expiry_due(&mut self, pairs: &[Pair], now: i64) -> Vec<(bool, String)> {
        if self.warned_at.is_some_and(|at| now - at < WARN_EVERY_SECS) {
            return Vec::new();
        }
        let lines: Vec<(bool, String)> =
            pairs.iter().filter_map(|p| p.expiry_warning(now)).collect();
        if !lines.is_empty() {
            self.warned_at = Some(now);
        }
        lines
    }

    /// What `STATUS=` adds to "serving ...": domains waiting for their first certificate,
    /// certificates near expiry.
    pub fn status_notes(
        &self,
        config: &Config,
        pairs: &[Pair],
        waiting: &[TlsPaths],
    ) -> Vec<String> {
        let directory = config.acme.as_ref().map_or("", |a| a.directory.as_str());
        let labels = waiting.iter().filter_map(Acme::status_key_of);
        let mut notes: Vec<String> = labels
            .map(|label| {
                let status = self.status.domains.get(label);
                let error = status.and_then(|s| s.last_error.as_deref());
                let error = error
                    .map(|e| format!(" (last attempt: {e})"))
                    .unwrap_or_default();
                format!("waiting for a certificate for {label} from {directory}{error}")
            })
            .collect();
        let now = now_secs();
        for p in pairs {
            if let Some(t) = p.not_after.filter(|t| t - now < EXPIRY_WARNING_SECS) {
                let verb = if t <= now { "EXPIRED" } else { "expires" };
                notes.push(format!("{} {verb} {}", p.paths.key, format_utc(t)));
            }
        }
        notes
    }
}

/// A line for each pair in `new` that was not loaded from the same files before.
pub fn renewed(old: &[Pair], new: &[Pair]) -> Vec<String> {
    new.iter()
        .filter(|p| !old.iter().any(|o| o.stamps == p.stamps))
        .map(|p| {
            let expiry = p
                .not_after
                .map_or("unknown".into(), crate::civil::format_utc);
            format!(
                "{}: loaded renewed {} (expires {expiry})",
                p.paths.key,
                p.paths.certificate.display()
            )
        })
        .collect()
}

pub fn expiries(pairs: &[Pair]) -> Vec<CertificateExpiry> {
    pairs
        .iter()
        .filter_map(|p| {
            Some(CertificateExpiry {
                key: p.paths.key.clone(),
                path: p.paths.certificate.display().to_string(),
                not_after: p.not_after?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::Arc;

    use super::*;
    use crate::config::TlsPaths;

    /// A pair whose certificate expires at `not_after` (the certificate itself is a stand-in).
    fn pair(not_after: i64) -> Pair {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["a.test".to_owned()]).unwrap();
        let cert = params.self_signed(&key).unwrap();
        let der = rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap();
        let provider = crate::tls::certs::provider();
        let certified =
            rustls::sign::CertifiedKey::from_der(vec![cert.der().clone()], der, &provider);
        Pair {
            key: Arc::new(certified.unwrap()),
            paths: TlsPaths {
                key: "tls".into(),
                certificate: PathBuf::from("/c.pem"),
                private_key: PathBuf::from("/k.pem"),
            },
            not_after: Some(not_after),
            stamps: [None, None],
        }
    }

    #[test]
    fn expiry_is_told_once_a_day_while_it_holds_and_expired_is_an_error() {
        let day = 86_400;
        let now = 1_000 * day;
        let (soon, expired, fine) = (pair(now + 5 * day), pair(now - day), pair(now + 60 * day));
        let mut watch = Watch::default();
        let lines = watch.expiry_due(&[soon.clone(), expired.clone(), fine.clone()], now);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            !lines[0].0 && lines[0].1.contains("expires at") && lines[0].1.contains("in 5 days")
        );
        assert!(lines[1].0 && lines[1].1.contains("EXPIRED"));
        assert!(
            watch
                .expiry_due(std::slice::from_ref(&soon), now + day - 1)
                .is_empty(),
            "not twice a day"
        );
        assert_eq!(
            watch
                .expiry_due(std::slice::from_ref(&soon), now + day)
                .len(),
            1,
            "again the next day"
        );
        let mut quiet = Watch::default();
        assert!(quiet.expiry_due(&[fine], now).is_empty());
    }

    #[test]
    fn the_status_line_names_certificates_near_expiry() {
        let day = 86_400;
        let now = now_secs();
        let text = "[listen]\nhttp = [\"127.0.0.1:0\"]\n[[domain]]\nname = \"a.test\"\nserver = \"m.a.test:443\"\n";
        let config = crate::config::parse(std::path::Path::new("t.toml"), text)
            .unwrap()
            .config;
        let watch = Watch::new(&config);
        let notes = watch.status_notes(&config, &[pair(now + 3 * day), pair(now + 90 * day)], &[]);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].starts_with("tls expires "), "{notes:?}");
    }
}
