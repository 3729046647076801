//! `wellknownd probe` as a command: its options, and running it to an exit status.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use super::dns::{Dns, Override, System};
use super::{Probe, fetch};
use crate::config::names;

/// Per request, as Element's discovery allows (5 s).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// The whole run ends after this many per-request timeouts at most. The longest chain of
/// dependent steps is a document behind 10 redirects (11 look-ups and 11 requests) and then
/// discovery (2 SRV look-ups, 1 A/AAAA, 1 request): 26; a hung resolver or server must not
/// hold a script that runs the probe forever.
const RUN_BOUND: u32 = 30;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub domain: String,
    pub json: bool,
    pub timeout: Duration,
    pub ca: Option<PathBuf>,
    pub resolve: Vec<Override>,
}

/// Runs the probe and prints the report: 0 all passed (warnings allowed), 1 something
/// failed, 2 the probe itself could not run.
pub fn run(o: &Options) -> u8 {
    match run_checked(o) {
        Ok(report) => {
            let colour = std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
            match o.json {
                true => print!("{}", report.json()),
                false => print!("{}", report.human(colour)),
            }
            report.exit_code()
        }
        Err(e) => {
            eprintln!("wellknownd probe: {e}");
            2
        }
    }
}

fn run_checked(o: &Options) -> Result<super::report::Report, String> {
    let domain = names::domain_name(&o.domain)?;
    let tls = crate::tls::roots::client_config(o.ca.as_deref())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let bound = o.timeout * RUN_BOUND;
    runtime.block_on(async {
        let probe = Probe {
            domain,
            client: fetch::Client {
                tls,
                timeout: o.timeout,
            },
            dns: Dns::new(System::default(), o.resolve.clone()),
        };
        tokio::time::timeout(bound, super::probe(probe))
            .await
            .map_err(|_| format!("did not finish within {} s", bound.as_secs()))
    })
}
