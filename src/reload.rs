//! Building what a config serves ([`Built`]) and replacing it while serving: on SIGHUP or
//! `wellknownd reload` (config and certificates re-read) and when certificate files change
//! on disk (certbot renewal). The new generation is built and validated completely, then
//! swapped in (certificates, then routes); connections in flight keep what they hold, new
//! handshakes and requests see the new one. Anything that fails leaves the current one
//! serving.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::build::Built;
use crate::challenges::Pending;
use crate::config::TlsPaths;
use crate::config::{self, Config};
use crate::log;
use crate::metrics::Metrics;
use crate::server::{Current, Generation};
use crate::systemd::Notifier;
use crate::tls::certs::Stamp;
use crate::tls::{Certs, Pair};
use crate::watch::{Watch, expiries, renewed};

/// Why a reload changed nothing.
#[derive(Debug)]
pub enum ReloadError {
    Config(config::Error),
    /// Listeners are bound once and the connection limit sized once; changing either needs
    /// a restart.
    Restart {
        path: PathBuf,
        what: String,
    },
}

impl fmt::Display for ReloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReloadError::Config(e) => e.fmt(f),
            ReloadError::Restart { path, what } => write!(
                f,
                "{}: {what}; that takes a restart (systemctl restart wellknownd)",
                path.display()
            ),
        }
    }
}

impl From<config::Error> for ReloadError {
    fn from(e: config::Error) -> Self {
        ReloadError::Config(e)
    }
}

/// Where a reloaded generation goes: what connections and handshakes read.
pub struct Serving {
    pub current: Current,
    pub certs: Certs,
    pub metrics: Arc<Metrics>,
    pub challenges: Pending,
    /// Some listener speaks TLS, so every domain needs a certificate in any config reloaded.
    pub tls_listeners: bool,
}

pub struct Reloader {
    path: PathBuf,
    serving: Serving,
    config: Config,
    pairs: Vec<Pair>,
    /// ACME domains without a certificate yet.
    waiting: Vec<TlsPaths>,
    /// The waiting certificates' files when last looked at: a file that appeared but cannot
    /// be used is not loaded again until it changes.
    waiting_seen: Vec<Option<Stamp>>,
    watch: Watch,
    notify: Notifier,
    /// The outcome of the last reload, for systemd's status line.
    last: String,
    /// Certificate files of a renewal that could not be loaded (say, a new certificate beside
    /// the old key): not retried, nor warned about again, until they change once more.
    failed: Option<Vec<[Option<Stamp>; 2]>>,
}

impl Reloader {
    /// Takes over `built`, which `serving` serves already.
    pub fn new(path: PathBuf, built: Built, serving: Serving, notify: Notifier) -> Reloader {
        serving.metrics.set_certificates(expiries(&built.pairs));
        serving.metrics.set_delegations(delegations(&built.config));
        let mut watch = Watch::new(&built.config);
        watch.expiry(&built.pairs);
        for note in watch.status_notes(&built.config, &[], &built.waiting) {
            log::info(format_args!(
                "{note}; until it arrives, handshakes for that name fail"
            ));
        }
        Reloader {
            path,
            serving,
            watch,
            config: built.config,
            pairs: built.pairs,
            waiting_seen: stamps_of(&built.waiting),
            waiting: built.waiting,
            notify,
            last: format!("started {}", now()),
            failed: None,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    fn swap(&mut self, built: Built) {
        self.serving.certs.store(Arc::new(built.certs));
        let generation = Generation::new(built.router, &built.config);
        self.serving.current.store(Arc::new(generation));
        self.serving
            .metrics
            .set_certificates(expiries(&built.pairs));
        self.serving
            .metrics
            .set_delegations(delegations(&built.config));
        self.serving.metrics.new_generation();
        self.watch.configure(&built.config);
        self.config = built.config;
        self.pairs = built.pairs;
        self.waiting_seen = stamps_of(&built.waiting);
        self.waiting = built.waiting;
    }

    /// Shutting down: keep serving, but let the health endpoint say 503.
    pub fn drain(&mut self) {
        let draining = self.serving.current.load().draining();
        self.serving.current.store(Arc::new(draining));
    }

    /// One line for `systemctl status`: what is served and how the last reload went.
    pub fn status(&self) -> String {
        let names: Vec<&str> = self
            .config
            .domains
            .iter()
            .map(|d| d.name.as_str())
            .collect();
        let mut status = format!("serving {}; {}", names.join(", "), self.last);
        for note in self
            .watch
            .status_notes(&self.config, &self.pairs, &self.waiting)
        {
            status.push_str("; ");
            status.push_str(&note);
        }
        status
    }

    /// Every second while `[acme]` is configured: pending challenges, and the client's
    /// status, whose change means a certificate may have arrived.
    pub fn poll_acme(&mut self) {
        if !self.watch.is_acme() {
            return;
        }
        self.watch.poll_challenges(&self.serving.challenges);
        if self.watch.poll_status(&self.serving.metrics) {
            self.check_certificates();
            self.notify.status(&self.status());
        }
    }

    /// Re-reads the config and every certificate; the outcome is logged, counted, told to
    /// systemd, and returned (for `wellknownd reload`).
    pub fn reload(&mut self) -> Result<(), ReloadError> {
        self.notify.reloading();
        log::info(format_args!("reloading {}", self.path.display()));
        let result = self.try_reload();
        self.serving.metrics.reloaded(result.is_ok());
        match &result {
            Ok(()) => {
                self.last = format!("reloaded {}", now());
                log::info("reloaded: new requests and handshakes see the new config");
            }
            Err(e) => {
                log::error(format_args!(
                    "reload failed, still serving the previous config: {e}"
                ));
                self.last = format!(
                    "last reload FAILED {} ({e}); serving the previous config",
                    now()
                );
            }
        }
        self.notify.ready(&self.status());
        result
    }

    fn try_reload(&mut self) -> Result<(), ReloadError> {
        let loaded = config::load(&self.path)?;
        restart_not_needed(&self.config, &loaded.config)?;
        if self.serving.tls_listeners {
            loaded.config.require_certificates()?;
        }
        let built = Built::new(loaded.config)?;
        for w in loaded
            .warnings
            .iter()
            .chain(&built.warnings)
            .chain(&built.refused)
        {
            log::warn(w);
        }
        warn_delegation_changes(&self.config, &built.config);
        self.failed = None;
        self.swap(built);
        Ok(())
    }

    /// Periodic: if a certificate or key file changed on disk, load every pair again and,
    /// if all are complete and consistent, swap them in.
    pub fn check_certificates(&mut self) {
        self.watch.expiry(&self.pairs);
        let waiting_now = stamps_of(&self.waiting);
        let arrived = waiting_now != self.waiting_seen;
        self.waiting_seen = waiting_now;
        let tickets = self
            .serving
            .certs
            .load()
            .tickets
            .as_ref()
            .map(|t| (Stamp::of(&t.path), t.stamp.clone()));
        let rotated = tickets.as_ref().is_some_and(|(now, read)| now != read);
        if !self.pairs.iter().any(Pair::changed_on_disk) && !arrived && !rotated {
            return;
        }
        let mut stamps: Vec<_> = self.pairs.iter().map(Pair::stamps_now).collect();
        stamps.extend(tickets.map(|(now, _)| [now, None]));
        if self.failed.as_ref() == Some(&stamps) {
            return;
        }
        match Built::new(self.config.clone()) {
            Ok(mut built) => {
                let renewed = renewed(&self.pairs, &built.pairs);
                let mut warnings = std::mem::take(&mut built.warnings);
                warnings.append(&mut built.refused);
                self.failed = None;
                // Swapped before it is logged: whoever reads the line gets the new pair.
                self.swap(built);
                renewed.iter().for_each(log::info);
                if rotated {
                    log::info(
                        "tls.ticket_key_file changed: new tickets are sealed with its first key",
                    );
                }
                warnings.iter().for_each(log::warn);
                self.notify.status(&self.status());
            }
            Err(e) => {
                log::warn(format_args!(
                    "certificate files changed but cannot be used yet; keeping the current ones, retrying when they change again: {e}"
                ));
                self.failed = Some(stamps);
            }
        }
    }
}

fn stamps_of(waiting: &[TlsPaths]) -> Vec<Option<Stamp>> {
    waiting.iter().map(|w| Stamp::of(&w.certificate)).collect()
}

fn restart_not_needed(old: &Config, new: &Config) -> Result<(), ReloadError> {
    let describe = |c: &Config| format!("[{}]", c.listen.describe().join(", "));
    let (a, b) = (old.limits.max_connections, new.limits.max_connections);
    let what = if old.listen != new.listen {
        format!(
            "listen: changed from {} to {}",
            describe(old),
            describe(new)
        )
    } else if a != b {
        format!("limits.max_connections: changed from {a} to {b}")
    } else {
        return Ok(());
    };
    Err(ReloadError::Restart {
        path: new.path.clone(),
        what,
    })
}

/// Each domain with the `m.server` and `m.homeserver.base_url` it serves ("" for none).
fn delegations(config: &Config) -> impl Iterator<Item = [&str; 3]> {
    config.domains.iter().map(|d| {
        let base_url = d
            .document(crate::config::Document::Client)
            .and_then(|c| c.get("m.homeserver")?.get("base_url")?.as_str());
        [
            d.name.as_str(),
            d.server().unwrap_or(""),
            base_url.unwrap_or(""),
        ]
    })
}

/// Delegation must essentially never change once users federate: remote servers cache it
/// and route federation by it, so an unintended change redirects federation traffic.
fn warn_delegation_changes(old: &Config, new: &Config) {
    for d in &new.domains {
        let before = old
            .domains
            .iter()
            .find(|o| o.name == d.name)
            .and_then(|o| o.server());
        if let Some(before) = before
            && d.server() != Some(before)
        {
            let after = d.server().unwrap_or("(none: 404)");
            log::warn(format_args!(
                "DELEGATION CHANGED for {}: m.server was {before}, is now {after}; remote servers will send federation traffic there. If you did not intend this, restore the config and reload now",
                d.name
            ));
        }
    }
}

fn now() -> String {
    crate::civil::format_utc(crate::civil::now_secs())
}
