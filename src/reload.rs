//! Replacing the serving state while serving: on SIGHUP (config and certificates re-read) and
//! when certificate files change on disk (certbot renewal). The new state is built and
//! validated completely, then swapped in with one `send`; connections in flight keep the
//! state they hold, new handshakes and requests see the new one. Anything that fails leaves
//! the current state serving.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::watch;

use crate::config::{self, Config};
use crate::log;
use crate::metrics::Metrics;
use crate::state::{Built, State};
use crate::systemd::Notifier;
use crate::tls::certs::Stamp;

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

pub struct Reloader {
    path: PathBuf,
    state: watch::Sender<Arc<State>>,
    notify: Notifier,
    metrics: Arc<Metrics>,
    /// The outcome of the last reload, for systemd's status line.
    last: String,
    /// Certificate files of a renewal that could not be loaded (say, a new certificate beside
    /// the old key): not retried, nor warned about again, until they change once more.
    failed: Option<Vec<[Option<Stamp>; 2]>>,
}

impl Reloader {
    pub fn new(
        path: PathBuf,
        state: watch::Sender<Arc<State>>,
        notify: Notifier,
        metrics: Arc<Metrics>,
    ) -> Reloader {
        Reloader {
            path,
            state,
            notify,
            metrics,
            last: format!("started {}", now()),
            failed: None,
        }
    }

    pub fn current(&self) -> Arc<State> {
        self.state.borrow().clone()
    }

    fn swap(&mut self, state: State) {
        self.state.send_replace(Arc::new(state));
        self.metrics.new_generation();
    }

    /// Shutting down: keep serving, but let the health endpoint say 503.
    pub fn drain(&mut self) {
        let draining = self.current().draining();
        self.state.send_replace(Arc::new(draining));
    }

    /// One line for `systemctl status`: what is served and how the last reload went.
    pub fn status(&self) -> String {
        let state = self.current();
        let names: Vec<&str> = state.sites.iter().map(|s| &*s.name).collect();
        format!("serving {}; {}", names.join(", "), self.last)
    }

    /// SIGHUP: re-read the config and every certificate.
    pub fn reload(&mut self) {
        self.notify.reloading();
        log::info(format_args!("reloading {}", self.path.display()));
        match self.try_reload() {
            Ok(()) => {
                self.metrics.reloaded(true);
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
    }

    fn try_reload(&mut self) -> Result<(), ReloadError> {
        let loaded = config::load(&self.path)?;
        let old = self.current();
        restart_not_needed(&old.config, &loaded.config)?;
        let Built { state, warnings } = State::build(loaded.config)?;
        for w in loaded.warnings.iter().chain(&warnings) {
            log::warn(w);
        }
        warn_delegation_changes(&old.config, &state.config);
        self.failed = None;
        self.swap(state);
        Ok(())
    }

    /// Periodic: if a certificate or key file changed on disk, load every pair again and,
    /// if all are complete and consistent, swap them in.
    pub fn check_certificates(&mut self) {
        let current = self.current();
        if !current.pairs.iter().any(|p| p.changed_on_disk()) {
            return;
        }
        let stamps: Vec<_> = current.pairs.iter().map(|p| p.stamps_now()).collect();
        if self.failed.as_ref() == Some(&stamps) {
            return;
        }
        match State::build(current.config.clone()) {
            Ok(Built { state, warnings }) => {
                let renewed: Vec<String> = state
                    .pairs
                    .iter()
                    .filter(|p| !current.pairs.iter().any(|o| o.stamps == p.stamps))
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
                    .collect();
                self.failed = None;
                // Swapped before it is logged: whoever reads the line gets the new pair.
                self.swap(state);
                renewed.iter().for_each(log::info);
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
    let secs = crate::civil::now_secs();
    crate::civil::format_utc(secs)
}
