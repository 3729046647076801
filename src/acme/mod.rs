//! The ACME client (RFC 8555): for every domain whose certificate comes from `[acme]`, and
//! each of `acme.key_types`, order a certificate when there is none, renew it
//! `renew_before_days` ahead (or when the CA's renewal information says), retry failures
//! with back-off. Everything it produces goes into
//! `state_dir` ([`store`]): certificates, pending challenges and [`Status`]. The server
//! serves from there, whether this runs inside the daemon (the standalone unit) or as
//! `wellknownd acme` in a unit of its own (the socket-activated daemon has no network).
//!
//! [`account`] keeps the account, [`order`] runs one order after [`confirm`]ing through the
//! daemon's listener that its challenge is answered, [`schedule`] says when, [`http`] is the
//! bounded HTTPS client. Imports `config`, `tls` (the crypto provider, certificate facts) and
//! `log`; nothing imports it but `run` and `cli`.

mod account;
mod confirm;
mod http;
mod order;
pub mod schedule;
pub mod status;
mod store;

use std::future::Future;
use std::time::Duration;

use instant_acme::{Account, CertificateIdentifier};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::civil::{format_utc, now_secs};
use crate::config::{Acme, Config, KeyType};
use crate::log;
use crate::tls::x509::{self, Facts};
pub use confirm::Listeners;
pub use status::{DomainStatus, Status};
use store::Store;

/// Even with nothing due, look again this often: the certificate file may have been removed,
/// the CA's renewal window may have moved.
const RECHECK_SECS: i64 = 6 * 3600;
/// The state directory could not be opened (permissions, a full disk): try again after this.
const STORE_RETRY: Duration = Duration::from_secs(60);

/// Runs the client for `config`'s ACME domains until `stop` completes.
pub async fn run(config: &Config, listeners: Listeners, stop: impl Future<Output = ()>) {
    let Some(acme) = config.acme.clone() else {
        return;
    };
    let domains = config.domains.iter().filter(|d| d.acme);
    let managed: Vec<Managed> = domains
        .flat_map(|d| acme.key_types.iter().map(|k| Managed::new(&d.name, *k)))
        .collect();
    if managed.is_empty() {
        return;
    }
    tokio::select! {
        () = manage(acme, managed, listeners) => {}
        () = stop => {}
    }
}

/// One certificate's schedule (a domain's, of one key type) as this process knows it.
struct Managed {
    name: String,
    key: KeyType,
    /// [`Acme::status_key`]: the domain's name, with the key type unless ECDSA; what the
    /// logs call it too.
    label: String,
    failures: u32,
    retry_at: Option<i64>,
    issued_here: Option<i64>,
    /// The CA's suggested renewal time, and when to ask again.
    ari: Option<(i64, i64)>,
}

async fn manage(acme: Acme, mut managed: Vec<Managed>, listeners: Listeners) {
    let store = loop {
        match Store::open(&acme).await {
            Ok(store) => break store,
            Err(e) => {
                log::error(format_args!(
                    "acme: cannot use {}: {e}; retrying in {}s",
                    acme.state_dir.display(),
                    STORE_RETRY.as_secs()
                ));
                tokio::time::sleep(STORE_RETRY).await;
            }
        }
    };
    let mut status = Status::read(&acme.status());
    status.directory = acme.directory.clone();
    status
        .domains
        .retain(|label, _| managed.iter().any(|d| &d.label == label));
    let mut account = None;
    loop {
        let mut next = now_secs() + RECHECK_SECS;
        for d in &mut managed {
            let entry = status.domains.entry(d.label.clone()).or_default();
            d.step(&store, &mut account, listeners, entry).await;
            next = next.min(entry.next_attempt.unwrap_or(next));
            if let Err(e) = status.write(&acme.status()) {
                log::warn(format_args!("acme: {}: {e}", acme.status().display()));
            }
        }
        let wait = (next - now_secs()).clamp(1, RECHECK_SECS);
        tokio::time::sleep(Duration::from_secs(wait as u64)).await;
    }
}

impl Managed {
    fn new(name: &str, key: KeyType) -> Managed {
        Managed {
            name: name.to_owned(),
            key,
            label: Acme::status_key(name, key),
            failures: 0,
            retry_at: None,
            issued_here: None,
            ari: None,
        }
    }

    /// Orders if due; updates `entry` with what is stored and when the next attempt is.
    async fn step(
        &mut self,
        store: &Store,
        account: &mut Option<Account>,
        listeners: Listeners,
        entry: &mut DomainStatus,
    ) {
        let acme = store.acme();
        let mut current = stored(acme, &self.name, self.key);
        if let (Some(facts), Some(account)) = (&current, account.as_ref()) {
            self.ask_ari(account, facts).await;
        }
        let now = now_secs();
        let mut obtained = false;
        if self.due(current.as_ref(), acme, now) <= now {
            obtained = self
                .attempt(store, account, listeners, current.is_some(), entry)
                .await;
            current = stored(acme, &self.name, self.key);
        }
        entry.next_attempt = match (&current, obtained) {
            // Issued but not readable back: look again at the next recheck, not at once.
            (None, true) => None,
            _ => Some(self.due(current.as_ref(), acme, now_secs())),
        };
        entry.issued = current.as_ref().map(|f| f.not_before);
        entry.expires = current.as_ref().map(|f| f.not_after);
    }

    /// When the next order is due: at once without a certificate, else its renewal time;
    /// after a failure, not before the retry.
    fn due(&self, current: Option<&Facts>, acme: &Acme, now: i64) -> i64 {
        let due = current.map_or(now, |f| {
            let ari = self.ari.map(|(at, _)| at);
            schedule::renewal_due(f.not_after, acme.renew_before_days, ari, self.issued_here)
        });
        self.retry_at.map_or(due, |r| r.max(due))
    }

    /// One order; whether it ended with a certificate saved.
    async fn attempt(
        &mut self,
        store: &Store,
        account: &mut Option<Account>,
        listeners: Listeners,
        renewal: bool,
        entry: &mut DomainStatus,
    ) -> bool {
        let (name, directory) = (&self.label, &store.acme().directory);
        let what = if renewal { "renewing" } else { "ordering" };
        log::info(format_args!(
            "acme: {what} a certificate for {name} from {directory}"
        ));
        let wanted = order::Wanted {
            name: &self.name,
            key: self.key,
        };
        let result = match account {
            Some(account) => order::order(account, store, wanted, listeners).await,
            None => match account::open(store).await {
                Ok(opened) => order::order(account.insert(opened), store, wanted, listeners).await,
                Err(e) => Err(order::Failure::now(e)),
            },
        };
        let now = now_secs();
        let saved = result.and_then(|issued| {
            store
                .put_certificate(&self.name, self.key, &issued.chain, &issued.key)
                .map_err(|e| order::Failure::now(format!("saving the certificate: {e}")))
        });
        match saved {
            Ok(()) => {
                self.failures = 0;
                self.retry_at = None;
                self.issued_here = Some(now);
                self.ari = None;
                entry.orders_ok += 1;
                entry.last_error = None;
                let expires = stored(store.acme(), &self.name, self.key)
                    .map_or("?".into(), |f| format_utc(f.not_after));
                log::info(format_args!(
                    "acme: obtained a certificate for {name} (expires {expires}); the server picks it up without a reload"
                ));
                true
            }
            Err(failure) => {
                self.failures += 1;
                let at = schedule::retry_at(now, self.failures, failure.retry_after);
                self.retry_at = Some(at);
                entry.orders_failed += 1;
                entry.last_error = Some(failure.message.clone());
                let keeps = if renewal {
                    "the current certificate keeps serving"
                } else {
                    "still waiting for the first certificate"
                };
                log::warn(format_args!(
                    "acme: {what} for {name} failed (attempt {}): {}; retrying at {}; {keeps}",
                    self.failures,
                    failure.message,
                    format_utc(at)
                ));
                false
            }
        }
    }

    /// Asks the CA's renewal information (RFC 9773) when it offers it and the last answer
    /// has expired; a CA without it, or a failed request, leaves the days-ahead schedule.
    async fn ask_ari(&mut self, account: &Account, facts: &Facts) {
        let now = now_secs();
        if self.ari.is_some_and(|(_, refresh)| refresh > now) {
            return;
        }
        let Some(aki) = &facts.authority_key_id else {
            return;
        };
        let id = CertificateIdentifier::new(aki.as_slice().into(), facts.serial.as_slice().into());
        match account.renewal_info(&id).await {
            Ok((info, again)) => {
                let window = info.suggested_window;
                let seed = facts
                    .serial
                    .iter()
                    .fold(0u64, |h, b| h.rotate_left(5) ^ u64::from(*b));
                let at = schedule::in_window(
                    window.start.unix_timestamp(),
                    window.end.unix_timestamp(),
                    seed,
                );
                let again = i64::try_from(again.as_secs())
                    .unwrap_or(RECHECK_SECS)
                    .clamp(60, RECHECK_SECS);
                self.ari = Some((at, now + again));
            }
            Err(_) => self.ari = Some((i64::MAX, now + RECHECK_SECS)),
        }
    }
}

/// The leaf of the certificate stored for `name` with `key`, if there is one that can be read.
fn stored(acme: &Acme, name: &str, key: KeyType) -> Option<Facts> {
    let leaf = CertificateDer::from_pem_file(acme.certificate(name, key).certificate).ok()?;
    x509::facts(&leaf)
}
