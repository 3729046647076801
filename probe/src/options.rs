//! `wellknownd probe` as a command: its options, and running it to an exit status.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use super::dns::{Dns, Override, System};
use super::{Probe, fetch};
use wellknownd_shared::names;

pub const USAGE: &str = "\
wellknownd-probe: checks a Matrix deployment from the outside, as remote servers, Element and
browsers use it, and says what to fix

Usage:
  wellknownd probe DOMAIN [--json] [--timeout SECS] [--ca FILE] [--resolve HOST:PORT:ADDR[,ADDR]]...
  wellknownd-probe DOMAIN [the same options]
                                      exit 0 if all passed (warnings allowed), 1 if a check
                                      failed, 2 if the probe could not run.
                                      --json: machine-readable report; --timeout: per request
                                      (default 5); --ca: trust only these PEM certificates
                                      instead of the system's; --resolve: connect to ADDR for
                                      HOST:PORT instead of asking DNS (ADDR may be IP:PORT)
  wellknownd-probe --help
";

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
    let tls = wellknownd_shared::roots::client_config(o.ca.as_deref())?;
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

/// Parses the arguments of `wellknownd probe` (after `probe`).
pub fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut o = Options {
        domain: String::new(),
        json: false,
        timeout: DEFAULT_TIMEOUT,
        ca: None,
        resolve: vec![],
    };
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--json" => o.json = true,
            "--timeout" => o.timeout = timeout(&value()?)?,
            "--ca" => o.ca = Some(value()?.into()),
            "--resolve" => o.resolve.push(value()?.parse()?),
            _ if !arg.starts_with('-') && o.domain.is_empty() => o.domain = arg,
            _ => return Err(format!("unexpected argument `{arg}` (see --help)")),
        }
    }
    if o.domain.is_empty() {
        return Err("probe needs a DOMAIN, e.g. `wellknownd probe example.com`".into());
    }
    Ok(o)
}

/// Seconds, fractions allowed, from 0.1 to 300.
fn timeout(s: &str) -> Result<Duration, String> {
    match s.parse::<f64>() {
        Ok(n) if (0.1..=300.0).contains(&n) => Ok(Duration::from_secs_f64(n)),
        _ => Err(format!(
            "--timeout `{s}` is not a number of seconds from 0.1 to 300"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_options() {
        let pp = |args: &[&str]| parse(args.iter().map(|s| s.to_string()));
        let Ok(o) = pp(&[
            "example.com",
            "--json",
            "--timeout=2.5",
            "--ca",
            "ca.pem",
            "--resolve",
            "example.com:443:127.0.0.1",
        ]) else {
            panic!("does not parse")
        };
        assert_eq!(o.domain, "example.com");
        assert!(o.json);
        assert_eq!(o.timeout, Duration::from_millis(2500));
        assert_eq!(o.ca, Some("ca.pem".into()));
        assert_eq!(o.resolve[0].addrs, vec!["127.0.0.1:443".parse().unwrap()]);
        assert!(pp(&[]).unwrap_err().contains("needs a DOMAIN"));
        assert!(pp(&["a.test", "--timeout", "0"]).is_err());
        assert!(pp(&["a.test", "b.test"]).is_err());
        assert!(
            pp(&["a.test", "--resolve"])
                .unwrap_err()
                .contains("needs a value")
        );
    }
}
