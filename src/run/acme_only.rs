//! `wellknownd acme`: the ACME client without the server, for `wellknownd-acme.service`
//! beside a daemon that has no network of its own. It confirms challenges through the
//! daemon's listeners (from the config; 127.0.0.1:443 when the sockets come from systemd)
//! and leaves everything in `acme.state_dir`.

use std::path::Path;

use super::{Signals, StartError, in_runtime};
use crate::acme::{self, Listeners};
use crate::config;
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
