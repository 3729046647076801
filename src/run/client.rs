//! The ACME client's two homes: inside the daemon ([`InProcess`], following reloads), or
//! alone as `wellknownd acme` ([`acme`]) for `wellknownd-acme.service` beside a daemon that
//! has no network of its own. Alone, it confirms challenges through the daemon's listeners
//! from the config (127.0.0.1:443 when the sockets come from systemd). Either way everything
//! it makes goes to `acme.state_dir`.

use std::path::Path;

use tokio::sync::oneshot;

use super::{Signals, StartError, in_runtime};
use crate::acme::{self, Listeners};
use crate::config::{self, Acme, Config};
use crate::log;
use crate::systemd::Notifier;

pub fn acme(path: &Path) -> Result<(), StartError> {
    in_runtime(client(path))
}

async fn client(path: &Path) -> Result<(), StartError> {
    let mut signals = Signals::install()?;
    let loaded = config::load(path)?;
    for w in &loaded.warnings {
        log::warn(w);
    }
    let config = loaded.config;
    let Some(directory) = config.acme.as_ref().map(|a| a.directory.clone()) else {
        return Err(StartError::NoAcme);
    };
    let names: Vec<&str> = config
        .domains
        .iter()
        .filter(|d| d.acme)
        .map(|d| d.name.as_str())
        .collect();
    let through = Listeners::from_config(&config);
    log::info(format_args!(
        "acme: certificates for {} from {directory}, challenges confirmed through {}",
        names.join(", "),
        through.https
    ));
    log::start_writer();
    Notifier::from_env().ready(&format!(
        "ordering and renewing certificates for {}",
        names.join(", ")
    ));
    let stop = async {
        tokio::select! {
            _ = signals.term.recv() => {}
            _ = signals.int.recv() => {}
        }
    };
    acme::run(&config, through, stop).await;
    log::info("acme: stopped");
    Ok(())
}

/// What the in-process client was started for: it is restarted when a reload changes it.
type Wanted = (Acme, Vec<String>);

/// The client inside the daemon, unless systemd passed the sockets: the socket-activated
/// unit runs without network (`PrivateNetwork=yes`), and `wellknownd-acme.service` orders
/// for it. It runs on a thread of its own with a runtime of its own: its fsyncs, key
/// generation and CA requests never occupy a worker that serves requests.
pub(super) struct InProcess {
    confirm: Listeners,
    socket_activated: bool,
    /// What runs, and the sender whose drop stops it.
    running: Option<(Wanted, oneshot::Sender<()>)>,
}

impl InProcess {
    pub(super) fn new(confirm: Listeners, socket_activated: bool) -> InProcess {
        InProcess {
            confirm,
            socket_activated,
            running: None,
        }
    }

    /// Starts, restarts or stops the client to match `config`. Stopping it mid-order is
    /// safe: every file it writes is written whole, and the CA forgets abandoned orders.
    pub(super) fn follow(&mut self, config: &Config) {
        let names = config
            .domains
            .iter()
            .filter(|d| d.acme)
            .map(|d| d.name.clone());
        let wanted = config.acme.clone().map(|a| (a, names.collect::<Vec<_>>()));
        if self.running.as_ref().map(|(w, _)| w) == wanted.as_ref() {
            return;
        }
        // Dropping the sender stops the running client.
        self.running = None;
        let Some(wanted) = wanted else { return };
        if self.socket_activated {
            log::info(
                "acme: sockets from systemd, so certificates are ordered by `wellknownd acme` (wellknownd-acme.service); this process serves them from the state directory",
            );
            return;
        }
        let (config, confirm) = (config.clone(), self.confirm);
        let (stop, stopped) = oneshot::channel::<()>();
        let spawned = std::thread::Builder::new()
            .name("acme".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                match runtime {
                    Ok(r) => r.block_on(acme::run(&config, confirm, async {
                        let _ = stopped.await;
                    })),
                    Err(e) => log::error(format_args!("acme: cannot start its runtime: {e}")),
                }
            });
        match spawned {
            Ok(_) => self.running = Some((wanted, stop)),
            Err(e) => log::error(format_args!("acme: cannot start its thread: {e}")),
        }
    }
}
