//! Running the probe in-process against test servers, with DNS as a fixed table, and the
//! assertions its tests share.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use wellknownd_probe::consumers::Verdict;
use wellknownd_probe::dns::{Dns, Override, Resolve, Srv};
use wellknownd_probe::report::{Check, Report, Status};
use wellknownd_probe::{Probe, fetch, probe};
use wellknownd_shared::roots;

use super::fake::{Canned, FakeServer};
use crate::common::{Pki, within};

pub const DOMAIN: &str = "example.test";
pub const HS: &str = "matrix.example.test";
/// 2100-01-01 and 2001-09-09, in milliseconds.
pub const FUTURE_MS: i64 = 4_102_444_800_000;
pub const PAST_MS: i64 = 1_000_000_000_000;

/// DNS as a fixed table: no server is asked.
#[derive(Default)]
pub struct FakeDns {
    pub srv: HashMap<String, Vec<Srv>>,
    pub ips: HashMap<String, Vec<IpAddr>>,
    /// Every SRV look-up fails with this, as with a DNS server that does not answer.
    pub srv_error: Option<String>,
}

impl Resolve for FakeDns {
    async fn srv(&self, name: &str) -> Result<Vec<Srv>, String> {
        if let Some(e) = &self.srv_error {
            return Err(e.clone());
        }
        Ok(self.srv.get(name).cloned().unwrap_or_default())
    }

    async fn ips(&self, host: &str) -> Result<Vec<IpAddr>, String> {
        Ok(self.ips.get(host).cloned().unwrap_or_default())
    }
}

pub fn at(host: &str, port: u16, addrs: &[SocketAddr]) -> Override {
    let list: Vec<String> = addrs.iter().map(ToString::to_string).collect();
    format!("{host}:{port}:{}", list.join(",")).parse().unwrap()
}

pub async fn run(pki: &Pki, overrides: Vec<Override>, dns: FakeDns) -> Report {
    run_with(pki, Dns::new(dns, overrides)).await
}

/// The probe of [`DOMAIN`] trusting the test CA, with `dns`.
pub async fn run_with<R: Resolve + Send + Sync + 'static>(pki: &Pki, dns: Dns<R>) -> Report {
    let ca = pki.write("ca.pem", &pki.ca_pem);
    let client = fetch::Client {
        tls: roots::client_config(Some(&ca)).unwrap(),
        timeout: Duration::from_secs(5),
    };
    within(probe(Probe {
        domain: DOMAIN.into(),
        client,
        dns,
    }))
    .await
}

/// One fake server for both names (well-known and homeserver) with `routes`, probed.
pub async fn probe_fake(routes: HashMap<String, Canned>) -> Report {
    let pki = Pki::new();
    let fake = FakeServer::start(&pki, &[DOMAIN, HS], routes).await;
    let overrides = vec![at(DOMAIN, 443, &[fake.addr]), at(HS, 443, &[fake.addr])];
    run(&pki, overrides, FakeDns::default()).await
}

pub fn check<'a>(report: &'a Report, id: &str) -> &'a Check {
    report
        .checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no check {id} in {report:#?}"))
}

pub fn check_consumer<'a>(report: &'a Report, id: &str) -> &'a Verdict {
    report
        .consumers
        .iter()
        .find(|v| v.id == id)
        .unwrap_or_else(|| panic!("no verdict {id} in {:#?}", report.consumers))
}

/// Check `id` failed saying `detail`, with `hint`, and the report exits 1.
pub fn assert_fails(report: &Report, id: &str, detail: &str, hint: &str) {
    let c = check(report, id);
    assert_eq!(c.status, Status::Fail, "{c:#?}");
    assert!(c.detail.contains(detail), "{id} detail: {}", c.detail);
    let h = c.hint.as_deref().unwrap_or_default();
    assert!(h.contains(hint), "{id} hint: {h}");
    assert_eq!(report.exit_code(), 1);
    assert_eq!(report.verdict, Status::Fail);
}

/// Every check but those in `except` passed.
pub fn assert_passes_but(report: &Report, except: &[&str]) {
    for c in report
        .checks
        .iter()
        .filter(|c| !except.contains(&c.id.as_str()))
    {
        assert_eq!(c.status, Status::Pass, "{c:#?}");
    }
}
